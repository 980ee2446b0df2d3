//! A deployment's logs: BUILD (every line of fetch and build) and RUNTIME (the app's
//! output). Lines are written in batches (one INSERT per batch), cut to a maximum
//! length, and each log keeps only its newest `log_max_lines` lines.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use chrono::Utc;
use entities::projects::{deployment_log, enums::LogKind};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::ExprTrait,
};
use tokio::{
    io::{AsyncRead, BufReader},
    sync::Mutex,
};

use crate::events::Event;

/// Longest line kept, in bytes; longer lines are cut (at a character boundary); of an
/// output line longer than this, the rest is read and dropped.
pub const MAX_LINE: usize = 4096;
/// Lines remembered in memory for error messages.
const TAIL: usize = 20;

/// Appends to one log of one deployment. Cheap to clone.
#[derive(Clone)]
pub struct LogSink {
    db: DatabaseConnection,
    deployment_id: i32,
    kind: LogKind,
    max_lines: u64,
    events: crate::events::Events,
    state: Arc<Mutex<SinkState>>,
}

#[derive(Default)]
struct SinkState {
    written: u64,
    tail: VecDeque<String>,
}

impl LogSink {
    pub fn new(
        db: DatabaseConnection,
        deployment_id: i32,
        kind: LogKind,
        max_lines: u64,
        events: crate::events::Events,
    ) -> Self {
        Self {
            db,
            deployment_id,
            kind,
            max_lines: Ord::max(max_lines, 1),
            events,
            state: Arc::new(Mutex::new(SinkState::default())),
        }
    }

    /// Writes `lines` in one statement, then drops the oldest beyond the maximum. A
    /// database error is logged, never fatal: losing a log line must not fail a deploy.
    pub async fn write(&self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let now = Utc::now();
        let rows: Vec<deployment_log::ActiveModel> = lines
            .iter()
            .map(|line| deployment_log::ActiveModel {
                deployment_id: Set(self.deployment_id),
                kind: Set(self.kind),
                line: Set(cut(line)),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        let mut state = self.state.lock().await;
        for line in &lines {
            if state.tail.len() == TAIL {
                state.tail.pop_front();
            }
            state.tail.push_back(cut(line));
        }
        if let Err(error) = deployment_log::Entity::insert_many(rows)
            .exec(&self.db)
            .await
        {
            tracing::warn!(%error, deployment = self.deployment_id, "cannot write log lines");
            return;
        }
        state.written += lines.len() as u64;
        if state.written > self.max_lines {
            if let Err(error) = self.trim().await {
                tracing::warn!(%error, deployment = self.deployment_id, "cannot trim the log");
            }
            state.written = self.max_lines;
        }
        drop(state);
        self.events.send(Event::Logged {
            deployment_id: self.deployment_id,
            kind: self.kind,
        });
    }

    pub async fn line(&self, line: impl Into<String>) {
        self.write(vec![line.into()]).await;
    }

    async fn trim(&self) -> Result<(), sea_orm::DbErr> {
        let filter = deployment_log::Column::DeploymentId
            .eq(self.deployment_id)
            .and(deployment_log::Column::Kind.eq(self.kind));
        let cutoff = deployment_log::Entity::find()
            .filter(filter.clone())
            .order_by_desc(deployment_log::Column::Id)
            .offset(self.max_lines - 1)
            .limit(1)
            .one(&self.db)
            .await?;
        if let Some(cutoff) = cutoff {
            deployment_log::Entity::delete_many()
                .filter(filter)
                .filter(deployment_log::Column::Id.lt(cutoff.id))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }

    /// The last lines written, oldest first.
    pub async fn tail(&self, n: usize) -> Vec<String> {
        let state = self.state.lock().await;
        let skip = state.tail.len().saturating_sub(n);
        state.tail.iter().skip(skip).cloned().collect()
    }

    /// Copies `stdout` and `stderr` into the log line by line, a batch at a time, until
    /// both end; a line is cut to [`MAX_LINE`] while it is read (never buffered whole).
    pub async fn pump(
        &self,
        stdout: impl AsyncRead + Unpin + Send + 'static,
        stderr: impl AsyncRead + Unpin + Send + 'static,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
        for stream in [
            Box::new(stdout) as Box<dyn AsyncRead + Unpin + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                while let Ok(Some(line)) = next_line(&mut reader, MAX_LINE - CUT.len()).await {
                    if tx.send(line).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut batch = Vec::new();
        loop {
            let next = if batch.is_empty() {
                rx.recv().await
            } else {
                match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.write(std::mem::take(&mut batch)).await;
                        continue;
                    }
                }
            };
            match next {
                Some(line) => {
                    batch.push(line);
                    if batch.len() >= 256 {
                        self.write(std::mem::take(&mut batch)).await;
                    }
                }
                None => break,
            }
        }
        self.write(batch).await;
    }
}

fn cut(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_owned();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// What ends a line cut at the bound.
pub const CUT: &str = " [line cut]";

/// The next line of `reader` (without its end), at most `max` bytes of it kept:
/// however long a line is, no more than `max` plus one buffer is ever held.
pub async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<String>> {
    use tokio::io::AsyncBufReadExt;
    let mut kept: Vec<u8> = Vec::new();
    let mut cut = false;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let (chunk, used, ends) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..at], at + 1, true),
            None => (available, available.len(), false),
        };
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        cut |= chunk.len() > room;
        reader.consume(used);
        if ends {
            break;
        }
    }
    let mut line = String::from_utf8_lossy(&kept).trim_end().to_owned();
    if cut {
        line.push_str(CUT);
    }
    Ok(Some(line))
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_line_is_cut_while_it_is_read_and_the_next_line_survives() {
        let mut input = vec![b'x'; 5 * 1024 * 1024];
        input.extend_from_slice(b"\nnext\r\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(4096, &input[..]);
        let first = next_line(&mut reader, 100)
            .await
            .expect("read")
            .expect("a line");
        assert_eq!(first.len(), 100 + CUT.len());
        assert!(first.ends_with(CUT));
        assert_eq!(
            next_line(&mut reader, 100).await.expect("read").as_deref(),
            Some("next")
        );
        assert_eq!(
            next_line(&mut reader, 100).await.expect("read").as_deref(),
            Some("last")
        );
        assert_eq!(next_line(&mut reader, 100).await.expect("read"), None);
    }
}

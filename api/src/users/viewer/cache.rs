//! Who a token belongs to, kept in process between requests: the viewer's row and roles
//! cost a round trip on nearly every request, and change rarely.
//!
//! A cached viewer is used only while (a) the token's version matches the cached row's,
//! (b) it is younger than VIEWER_CACHE_SECS, and (c) nothing said that user changed.
//! Changes made through this gateway forget the user before the mutation answers (so
//! the next request reads the row again); on PostgreSQL, a trigger on `users` and
//! `user_roles` NOTIFYs `viewer_changed` with the user's id when any writer commits, and
//! every replica forgets that user when it hears it (all users, if it lost the channel).
//!
//! A read that started before a change must not put the old row back after it: each
//! change moves a generation on, and a row is cached only if no change came between
//! the start of its read and its insertion.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::sqlx::postgres::PgListener;

use super::Viewer;

/// The NOTIFY channel the users migration's trigger sends on.
pub const CHANNEL: &str = "viewer_changed";

/// Most viewers kept: past it, expired ones are dropped, then all.
const CAPACITY: usize = 10_000;

pub struct ViewerCache {
    ttl: Duration,
    /// Off while changes could go unheard (PostgreSQL, channel down).
    keeping: AtomicBool,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves on with every change heard.
    generation: u64,
    viewers: HashMap<i32, (Arc<Viewer>, Instant)>,
}

/// Where a read of the database started, to cache its result only if still current.
#[derive(Clone, Copy, Debug)]
pub struct ReadStart(u64);

impl ViewerCache {
    /// A cache keeping viewers `ttl` long (a zero `ttl` keeps none), from the start or
    /// only once [`listen`] hears changes (`keeping`).
    pub fn new(ttl: Duration, keeping: bool) -> Self {
        Self {
            ttl,
            keeping: AtomicBool::new(keeping),
            inner: RwLock::new(Inner::default()),
        }
    }

    /// Starts or stops keeping viewers; either way, forgets every one kept so far.
    pub fn keep(&self, keeping: bool) {
        self.keeping.store(keeping, Ordering::SeqCst);
        self.forget_all();
    }

    /// The cached viewer of `user_id` if its token `version` is the cached row's and it
    /// is fresh; otherwise where a read of the database starts.
    pub fn get(&self, user_id: i32, version: i32) -> Result<Arc<Viewer>, ReadStart> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match inner.viewers.get(&user_id) {
            Some((viewer, at))
                if viewer.user.token_version == version && at.elapsed() < self.ttl =>
            {
                Ok(viewer.clone())
            }
            _ => Err(ReadStart(inner.generation)),
        }
    }

    /// Keeps `viewer`, read from the database since `start`, unless a change was heard
    /// meanwhile (the row may predate it).
    pub fn put(&self, viewer: &Arc<Viewer>, start: ReadStart) {
        if self.ttl.is_zero() || !self.keeping.load(Ordering::SeqCst) {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != start.0 {
            return;
        }
        if inner.viewers.len() >= CAPACITY {
            let ttl = self.ttl;
            inner.viewers.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.viewers.len() >= CAPACITY {
                inner.viewers.clear();
            }
        }
        inner
            .viewers
            .insert(viewer.id(), (viewer.clone(), Instant::now()));
    }

    /// `user_id` changed: read them again on their next request.
    pub fn forget(&self, user_id: i32) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.generation += 1;
        inner.viewers.remove(&user_id);
    }

    /// Anyone may have changed (many users at once, or changes were missed).
    pub fn forget_all(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.generation += 1;
        inner.viewers.clear();
    }

    /// How many viewers are kept now.
    pub fn len(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.viewers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A listener on [`CHANNEL`]; none (and a warning) when PostgreSQL refuses it.
pub async fn subscribe(db: &sea_orm::DatabaseConnection) -> Option<PgListener> {
    let pool = db.get_postgres_connection_pool();
    let listening = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    listening
        .await
        .inspect_err(|error| {
            tracing::warn!(%error, "cannot listen for user changes; caching no viewer until it can");
        })
        .ok()
}

/// Forgets every user whose change PostgreSQL announces on [`CHANNEL`], until `stop`.
/// The cache keeps viewers only while a listener is up (a change could be missed
/// otherwise); a lost one is replaced every second, and the cache starts afresh.
pub async fn listen(
    cache: Arc<ViewerCache>,
    db: sea_orm::DatabaseConnection,
    first: Option<PgListener>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut listener = first;
    loop {
        if let Some(mut up) = listener.take() {
            cache.keep(true);
            follow(&cache, &mut up, &stop).await;
            cache.keep(false);
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        listener = subscribe(&db).await;
    }
}

/// Forgets each user announced, until the connection is lost or `stop`.
async fn follow(
    cache: &ViewerCache,
    listener: &mut PgListener,
    stop: &tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => match notification.payload().parse() {
                    Ok(user_id) => cache.forget(user_id),
                    Err(_) => cache.forget_all(),
                },
                Ok(None) => {
                    tracing::warn!("lost the user changes channel; caching no viewer until it is back");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "user changes channel failed; caching no viewer until it is back");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use entities::users::user;

    use super::*;

    fn viewer(id: i32, token_version: i32) -> Arc<Viewer> {
        Arc::new(Viewer {
            user: user::Model {
                id,
                email: format!("u{id}@uni.edu"),
                google_id: None,
                username: format!("u{id}"),
                first_name: "U".into(),
                last_name: "U".into(),
                picture_url: None,
                is_active: true,
                has_db_account: false,
                token_version,
                created_at: chrono::Utc::now(),
                last_login_at: None,
            },
            roles: Vec::new(),
        })
    }

    #[test]
    fn a_viewer_is_kept_for_its_token_version_until_forgotten() {
        let cache = ViewerCache::new(Duration::from_secs(60), true);
        let start = cache.get(7, 0).expect_err("nothing kept yet");
        cache.put(&viewer(7, 0), start);
        assert_eq!(cache.get(7, 0).map(|v| v.id()).ok(), Some(7));
        assert!(
            cache.get(7, 1).is_err(),
            "another token version reads again"
        );
        cache.forget(7);
        assert!(cache.get(7, 0).is_err());
    }

    #[test]
    fn a_read_that_started_before_a_change_is_not_kept() {
        let cache = ViewerCache::new(Duration::from_secs(60), true);
        let start = cache.get(7, 0).expect_err("nothing kept yet");
        // The row was read, then the user changed before it was put: it may be old.
        cache.forget(8);
        cache.put(&viewer(7, 0), start);
        assert!(cache.get(7, 0).is_err(), "an old row came back");
        assert!(cache.is_empty());
    }

    #[test]
    fn nothing_is_kept_while_changes_could_go_unheard_or_with_no_lifetime() {
        for cache in [
            ViewerCache::new(Duration::from_secs(60), false),
            ViewerCache::new(Duration::ZERO, true),
        ] {
            let start = cache.get(7, 0).expect_err("nothing kept");
            cache.put(&viewer(7, 0), start);
            assert!(cache.is_empty());
        }
        let cache = ViewerCache::new(Duration::from_secs(60), true);
        let start = cache.get(7, 0).expect_err("nothing kept yet");
        cache.put(&viewer(7, 0), start);
        cache.keep(false);
        assert!(cache.is_empty(), "stopping forgets what was kept");
    }
}

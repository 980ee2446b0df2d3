//! The processes a deploy leaves, read from /proc: by uid and by process group.

/// A live process, from /proc: its pid, real uid and process group.
struct Process {
    pid: i32,
    uid: Option<u32>,
    pgid: Option<i32>,
}

fn live_processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|rest| rest.trim().to_owned())
            };
            if field("State:").is_some_and(|state| state.starts_with('Z')) {
                return None;
            }
            let uid = field("Uid:")
                .and_then(|l| l.split_whitespace().next().map(str::to_owned))
                .and_then(|u| u.parse().ok());
            let pgid = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(2)?
                        .parse()
                        .ok()
                });
            Some(Process { pid, uid, pgid })
        })
        .collect()
}

/// Live processes whose real uid is `uid`, with their process groups.
pub fn processes_of(uid: u32) -> Vec<(i32, i32)> {
    live_processes()
        .into_iter()
        .filter(|p| p.uid == Some(uid))
        .map(|p| (p.pid, p.pgid.unwrap_or(-1)))
        .collect()
}

/// Waits (up to 10 s) until no live process runs as `uid`.
pub async fn no_process_left(uid: u32) -> bool {
    for _ in 0..200 {
        if processes_of(uid).is_empty() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Live processes in any of `groups`.
pub fn processes_in_groups(groups: &[i32]) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|p| p.pgid.is_some_and(|g| groups.contains(&g)))
        .map(|p| p.pid)
        .collect()
}

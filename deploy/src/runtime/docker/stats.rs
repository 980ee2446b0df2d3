//! What the docker engine says of running containers: resource use (`docker stats`) and
//! how a container ended (`docker inspect`), for the statistics and liveness routines.

use std::{collections::HashMap, process::Stdio};

/// One container's resource use at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub cpu_percent: f64,
    pub memory_used: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
}

/// `docker stats --no-stream` of `containers`, in one command; by container name.
/// Blocking.
pub fn stats(containers: &[String]) -> HashMap<String, Usage> {
    if containers.is_empty() {
        return HashMap::new();
    }
    let output = std::process::Command::new("docker")
        .args(["stats", "--no-stream", "--format", "{{json .}}"])
        .args(containers)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_stats_line)
            .collect(),
        Err(_) => HashMap::new(),
    }
}

/// One line of `docker stats --format '{{json .}}'`.
fn parse_stats_line(line: &str) -> Option<(String, Usage)> {
    let row: serde_json::Value = serde_json::from_str(line).ok()?;
    let field = |name: &str| row.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    let pair = |name: &str| {
        let (a, b) = field(name).split_once('/')?;
        Some((bytes(a)?, bytes(b)?))
    };
    let (block_read, block_write) = pair("BlockIO").unwrap_or_default();
    let (net_rx, net_tx) = pair("NetIO").unwrap_or_default();
    let memory_used = field("MemUsage")
        .split_once('/')
        .and_then(|(used, _)| bytes(used))
        .unwrap_or_default();
    Some((
        field("Name").to_owned(),
        Usage {
            cpu_percent: field("CPUPerc")
                .trim_end_matches('%')
                .parse()
                .unwrap_or(0.0),
            memory_used,
            block_read,
            block_write,
            net_rx,
            net_tx,
        },
    ))
}

/// A size as docker prints it: `12.3MiB` (binary units) or `4.5kB` (decimal units).
fn bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor).round() as u64)
}

/// How a stopped container ended, from `docker inspect`: "exited with code N", "killed:
/// out of memory", or `None` if docker does not know it. Blocking.
pub fn ended(container: &str) -> Option<String> {
    let out = std::process::Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{.State.ExitCode}} {{.State.OOMKilled}}",
            container,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    describe_state(&String::from_utf8_lossy(&out.stdout))
}

fn describe_state(state: &str) -> Option<String> {
    let mut parts = state.split_whitespace();
    let code: i32 = parts.next()?.parse().ok()?;
    let oom = parts.next() == Some("true");
    Some(if oom {
        "killed: out of memory".to_owned()
    } else if code > 128 {
        format!("killed by signal {}", code - 128)
    } else {
        format!("exited with code {code}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stats_line_gives_cpu_memory_and_io_in_bytes() {
        let line = r#"{"BlockIO":"4.1MB / 12.3kB","CPUPerc":"12.50%","Container":"abc","ID":"abc","MemPerc":"3.00%","MemUsage":"15.5MiB / 512MiB","Name":"sp-my-app-7","NetIO":"1.2kB / 648B","PIDs":"3"}"#;
        let (name, usage) = parse_stats_line(line).expect("parses");
        assert_eq!(name, "sp-my-app-7");
        assert_eq!(
            usage,
            Usage {
                cpu_percent: 12.5,
                memory_used: 16_252_928,
                block_read: 4_100_000,
                block_write: 12_300,
                net_rx: 1_200,
                net_tx: 648,
            }
        );
        assert_eq!(parse_stats_line("not json"), None);
    }

    #[test]
    fn sizes_read_in_both_unit_systems() {
        assert_eq!(bytes("0B"), Some(0));
        assert_eq!(bytes("1KiB"), Some(1024));
        assert_eq!(bytes(" 2.5GB "), Some(2_500_000_000));
        assert_eq!(bytes("3 parsecs"), None);
    }

    #[test]
    fn an_ended_container_says_how() {
        assert_eq!(
            describe_state("3 false\n").as_deref(),
            Some("exited with code 3")
        );
        assert_eq!(
            describe_state("137 true").as_deref(),
            Some("killed: out of memory")
        );
        assert_eq!(
            describe_state("143 false").as_deref(),
            Some("killed by signal 15")
        );
        assert_eq!(describe_state(""), None);
    }
}

//! A network of its own for every build and app: a network namespace made by the
//! gateway (as root, so the unprivileged code inside can change none of its routes),
//! joined to the outside by `pasta` (passt's user-mode network stack) with the gateway
//! address not mapped to the host. Inside, only `lo` and pasta's interface exist:
//!
//! - the host's loopback is not there at all; only the ports named are forwarded to it
//!   (the student database servers on this host) and, for an app, its own port from the
//!   host's loopback in;
//! - routing rules make private, shared, link-local and reserved ranges and every subnet
//!   of the host's own interfaces unreachable (a route lookup finds no route; no packet
//!   leaves), but for the student database servers' addresses;
//! - public addresses are reached through pasta, unless egress is off.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr, ToSocketAddrs},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// What pasta's side of the namespace looks like from inside.
const ADDRESS: &str = "10.0.2.100";
const GATEWAY: &str = "10.0.2.2";
/// Where DNS queries go inside: pasta forwards them to the host's resolver.
pub const DNS: &str = "10.0.2.3";

/// Ranges nobody inside reaches (RFC 6890's special-purpose table and multicast): the
/// host's networks and a cloud's metadata address are among them.
const BLOCKED: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// The fixed blocked ranges (for tests that look each one up from inside).
pub fn blocked_ranges() -> &'static [(Ipv4Addr, u8)] {
    &BLOCKED
}

/// A service on the host the sandbox may reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reachable {
    pub host: String,
    pub port: u16,
}

/// How every sandbox's network is laid out on this host, worked out once.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Host loopback ports forwarded into the namespace (same number inside).
    loopback_ports: Vec<u16>,
    /// Addresses reachable although they fall in a blocked range.
    allowed: Vec<Ipv4Addr>,
    /// Blocked ranges: the fixed ones and the host's own subnets.
    blocked: Vec<(Ipv4Addr, u8)>,
}

impl Plan {
    /// The plan for servers `reachable` (the student database servers).
    pub fn new(reachable: &[Reachable]) -> Self {
        let mut plan = Plan {
            blocked: BLOCKED.to_vec(),
            ..Plan::default()
        };
        for subnet in host_subnets() {
            if !plan.blocked.contains(&subnet) {
                plan.blocked.push(subnet);
            }
        }
        for server in reachable {
            let Ok(addresses) = (server.host.as_str(), server.port).to_socket_addrs() else {
                tracing::warn!(host = %server.host, "a student database server does not resolve; apps will not reach it");
                continue;
            };
            for address in addresses {
                match address.ip() {
                    ip if ip.is_loopback() => {
                        if !plan.loopback_ports.contains(&server.port) {
                            plan.loopback_ports.push(server.port);
                        }
                    }
                    IpAddr::V4(ip) => plan.allowed.push(ip),
                    IpAddr::V6(_) => {}
                }
            }
        }
        plan
    }

    /// The `ip -batch` lines of a namespace's routing rules.
    fn rules(&self, egress: bool) -> String {
        let mut lines = String::new();
        let mut allow = self.allowed.clone();
        if egress {
            allow.push(DNS.parse().unwrap_or(Ipv4Addr::UNSPECIFIED));
        }
        for ip in allow {
            lines.push_str(&format!("rule add to {ip}/32 lookup main pref 90\n"));
        }
        for (net, prefix) in &self.blocked {
            lines.push_str(&format!(
                "rule add to {net}/{prefix} unreachable pref 100\n"
            ));
        }
        if !egress {
            lines.push_str("rule add unreachable pref 110\n");
        }
        lines
    }
}

/// The IPv4 subnets of the host's interfaces (its own addresses and its neighbours).
fn host_subnets() -> Vec<(Ipv4Addr, u8)> {
    let Ok(output) = Command::new("ip")
        .args(["-j", "-4", "addr", "show"])
        .output()
    else {
        return Vec::new();
    };
    let Ok(interfaces) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
        return Vec::new();
    };
    let mut subnets = Vec::new();
    for interface in interfaces.as_array().into_iter().flatten() {
        for info in interface["addr_info"].as_array().into_iter().flatten() {
            let (Some(local), Some(prefix)) = (info["local"].as_str(), info["prefixlen"].as_u64())
            else {
                continue;
            };
            let (Ok(ip), Ok(prefix)) = (local.parse::<Ipv4Addr>(), u8::try_from(prefix)) else {
                continue;
            };
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            subnets.push((Ipv4Addr::from(u32::from(ip) & mask), prefix));
            subnets.push((ip, 32));
        }
    }
    subnets
}

/// The folder whose files hold the sandboxes' network namespaces, one for the host (the
/// names carry the gateway's pid, as the cgroups' do). Not `ip netns`'s `/run/netns`:
/// that is a shared mount, so a namespace removed there is unmounted, by propagation,
/// from the copy bubblewrap is binding read-only at that moment, and bubblewrap fails.
/// This one is a private mount: another sandbox's copy of it never changes under it.
pub const DIR: &str = "/run/students-project/netns";

/// Makes [`DIR`] (a private mount of its own), once per process.
pub fn prepare_dir() -> Result<PathBuf, String> {
    static PREPARED: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    PREPARED.get_or_init(make_private_dir).clone()
}

fn make_private_dir() -> Result<PathBuf, String> {
    let dir = PathBuf::from(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let target = dir.display().to_string();
    let mounted = mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(target.as_str()));
    if !mounted {
        run(Command::new("mount").args(["--bind", &target, &target]))?;
    }
    run(Command::new("mount").args(["--make-private", &target]))?;
    Ok(dir)
}

/// One sandbox's network namespace, removed (and its pasta with it) by [`Netns::remove`].
#[derive(Clone, Debug)]
pub struct Netns {
    path: PathBuf,
    /// The host loopback port forwarded to the app's `PORT` inside (an app's).
    host_port: Option<u16>,
}

impl Netns {
    /// The namespace that a sandbox named `name` left in `dir`, to remove it.
    pub fn existing(dir: &Path, name: &str) -> Self {
        Self {
            path: dir.join(name),
            host_port: None,
        }
    }

    /// Where on the host's loopback the app inside is reached (an app's namespace).
    pub fn host_port(&self) -> Option<u16> {
        self.host_port
    }

    /// `ip` inside the namespace.
    fn ip(&self) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net={}", self.path.display()))
            .args(["--", "ip"]);
        command
    }

    /// A fresh namespace `name` laid out by `plan`, with `port` of the host's loopback
    /// forwarded in (an app's), and public egress or none.
    pub fn create(
        (dir, name): (&Path, &str),
        plan: &Plan,
        port: Option<u16>,
        egress: bool,
    ) -> Result<Self, String> {
        let mut netns = Self::existing(dir, name);
        // One a crashed run of the same name left.
        netns.remove();
        std::fs::File::create(&netns.path).map_err(|e| format!("{}: {e}", netns.path.display()))?;
        let path = netns.path.display().to_string();
        run(Command::new("unshare")
            .arg(format!("--net={path}"))
            .arg("true"))?;
        let made = netns.connect(plan, port, egress);
        if made.is_err() {
            netns.remove();
        }
        made.map(|()| netns)
    }

    fn connect(&mut self, plan: &Plan, port: Option<u16>, egress: bool) -> Result<(), String> {
        run(self.ip().args(["link", "set", "lo", "up"]))?;
        // The app's port on the host is taken at bind time: another process may have
        // taken a free port since it was picked, so another is picked (the app's own
        // `PORT` inside stays the same).
        let mut host = port;
        let mut attempt = 0;
        loop {
            self.host_port = host;
            match run(&mut self.pasta(plan, port.map(|p| (host.unwrap_or(p), p)), egress)) {
                Ok(()) => break,
                Err(error) if error.contains("bind") && port.is_some() && attempt < 5 => {
                    attempt += 1;
                    host = Some(free_port()?);
                }
                Err(error) => return Err(error),
            }
        }
        let mut batch = self.ip();
        batch
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = batch.spawn().map_err(|e| format!("ip: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(plan.rules(egress).as_bytes())
                .map_err(|e| format!("ip -batch: {e}"))?;
        }
        let output = child.wait_with_output().map_err(|e| format!("ip: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "ip rule: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(())
    }

    /// pasta, attached to the namespace: the app's port in, the database ports out.
    fn pasta(&self, plan: &Plan, port: Option<(u16, u16)>, egress: bool) -> Command {
        let forward_in = port.map_or("none".to_owned(), |(host, inside)| {
            format!("127.0.0.1/{host}:{inside}")
        });
        let forward_out = if plan.loopback_ports.is_empty() {
            "none".to_owned()
        } else {
            plan.loopback_ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let path = self.path.display().to_string();
        // pasta runs as root because the namespace belongs to the host's user namespace;
        // it returns once the interface is configured, and quits when the namespace's
        // file goes.
        let mut pasta = Command::new("pasta");
        pasta.args([
            "--quiet",
            "--runas",
            "0:0",
            "--netns",
            &path,
            "--config-net",
            "--ipv4-only",
            "--no-map-gw",
            "--address",
            ADDRESS,
            "--netmask",
            "24",
            "--gateway",
            GATEWAY,
            "--tcp-ports",
            &forward_in,
            "--udp-ports",
            "none",
            "--tcp-ns",
            &forward_out,
            "--udp-ns",
            "none",
            "--no-dhcp",
            "--no-ndp",
            "--no-dhcpv6",
            "--no-ra",
        ]);
        if egress {
            pasta.args(["--dns-forward", DNS]);
        } else {
            pasta.arg("--no-icmp");
        }
        pasta
    }

    /// The file that holds the namespace, which `nsenter --net=` joins.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the namespace (its processes are gone by now); pasta sees its file go and
    /// quits. Detached, since pasta still holds the file open.
    pub fn remove(&self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The namespaces in `dir` whose names `dead` picks (left by dead gateways).
pub fn sweep(dir: &Path, dead: impl Fn(&str) -> bool) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut swept = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if dead(&name) {
            Netns::existing(dir, &name).remove();
            swept += 1;
        }
    }
    swept
}

/// A loopback port free now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Runs `command`; its standard error is the error.
pub(super) fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_are_forwarded_and_others_allowed_past_the_blocks() {
        let plan = Plan::new(&[
            Reachable {
                host: "127.0.0.1".into(),
                port: 15432,
            },
            Reachable {
                host: "10.9.8.7".into(),
                port: 3306,
            },
        ]);
        assert_eq!(plan.loopback_ports, vec![15432]);
        assert_eq!(plan.allowed, vec![Ipv4Addr::new(10, 9, 8, 7)]);
        let rules = plan.rules(false);
        assert!(rules.starts_with("rule add to 10.9.8.7/32 lookup main pref 90\n"));
        assert!(rules.contains("rule add to 169.254.0.0/16 unreachable pref 100\n"));
        assert!(rules.ends_with("rule add unreachable pref 110\n"));
        assert!(
            plan.rules(true)
                .contains(&format!("rule add to {DNS}/32 lookup main"))
        );
        assert!(!plan.rules(true).contains("pref 110"));
    }
}

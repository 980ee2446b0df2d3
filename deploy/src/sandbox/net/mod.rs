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
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

mod plan;

pub use self::plan::{Plan, Reachable, blocked_ranges};

/// What pasta's side of the namespace looks like from inside.
const ADDRESS: &str = "10.0.2.100";
const GATEWAY: &str = "10.0.2.2";
/// Where DNS queries go inside: pasta forwards them to the host's resolver.
pub const DNS: &str = "10.0.2.3";

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

//! What every sandbox's network is laid out as on this host: the blocked ranges (fixed
//! and the host's own subnets), the student database servers let through, and the
//! routing rules that say so.

use std::{
    net::{IpAddr, Ipv4Addr, ToSocketAddrs},
    process::Command,
};

use super::DNS;

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
    pub(super) loopback_ports: Vec<u16>,
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
    pub(super) fn rules(&self, egress: bool) -> String {
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

//! What `user` mode needs of the machine, and the refusal that says what is missing.

use std::path::{Path, PathBuf};

use crate::config::SandboxMode;

/// The tools `user` mode runs student code through.
pub(super) const TOOLS: [(&str, &str); 9] = [
    ("setpriv", "util-linux"),
    ("setsid", "util-linux"),
    ("prlimit", "util-linux"),
    ("nsenter", "util-linux"),
    ("bwrap", "bubblewrap"),
    ("pasta", "passt"),
    ("ip", "iproute2"),
    ("mount", "mount"),
    ("mkfs.ext4", "e2fsprogs"),
];

pub(super) fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
}

/// Why `mode` cannot isolate student code here, if it cannot.
pub(super) fn refusal_for(
    mode: SandboxMode,
    root: bool,
    missing: &[(&str, &str)],
) -> Option<String> {
    match mode {
        SandboxMode::None => None,
        SandboxMode::User if !root => Some(
            "deploys are refused: the gateway cannot run student code as another user, in \
             its own network and filesystem view (it is not running as root). Start it as \
             root, or set DEPLOY_SANDBOX=none on a development machine (student code then \
             runs as the gateway's user, on its network)"
                .into(),
        ),
        SandboxMode::User if !missing.is_empty() => {
            let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
            packages.dedup();
            Some(format!(
                "deploys are refused: isolating student code needs {} on this machine \
                 (install the packages {})",
                missing
                    .iter()
                    .map(|(t, _)| *t)
                    .collect::<Vec<_>>()
                    .join(", "),
                packages.join(", ")
            ))
        }
        SandboxMode::User => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mode_refuses_deploys_it_cannot_isolate_and_says_why() {
        let not_root = refusal_for(SandboxMode::User, false, &[]).expect("refused");
        assert!(not_root.contains("not running as root"), "{not_root}");
        let missing = refusal_for(
            SandboxMode::User,
            true,
            &[("bwrap", "bubblewrap"), ("pasta", "passt")],
        )
        .expect("refused");
        assert!(
            missing.contains("bwrap, pasta") && missing.contains("bubblewrap, passt"),
            "{missing}"
        );
        assert_eq!(refusal_for(SandboxMode::User, true, &[]), None);
        assert_eq!(
            refusal_for(SandboxMode::None, false, &[("bwrap", "x")]),
            None
        );
    }
}

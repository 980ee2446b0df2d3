//! A disk of its own per project: `DEPLOY_DIR/<project>` is an ext4 file system in a
//! sparse image (`DEPLOY_DIR/disks/<project>.img`, `DEPLOY_DISK_MB` large), loop-mounted
//! `nosuid,nodev`. Its checkouts, builds, caches and whatever its app writes live there:
//! past the size, writes fail with "no space" inside the sandbox while the disk that
//! holds the gateway's data keeps its room. (A mounted image survives a gateway restart;
//! deleting the project unmounts and removes it.)

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use super::net::run;

#[derive(Clone, Debug)]
pub struct Disks {
    images: PathBuf,
    megabytes: u64,
}

/// Whether `dir` is a mount point (its absolute path is a mount's target).
fn mounted(dir: &Path) -> bool {
    let Ok(absolute) = std::path::absolute(dir) else {
        return false;
    };
    let target = absolute.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(target.as_str()))
}

impl Disks {
    /// Disks of `megabytes` each, their images under `deploy_dir/disks`; `None` for 0.
    pub fn new(deploy_dir: &Path, megabytes: u64) -> Option<Self> {
        (megabytes > 0).then(|| Self {
            images: deploy_dir.join("disks"),
            megabytes,
        })
    }

    fn image(&self, project_id: i32) -> PathBuf {
        self.images.join(format!("{project_id}.img"))
    }

    /// Makes and mounts the project's disk at `project_dir` unless it is there already.
    pub fn ensure(&self, project_dir: &Path, project_id: i32) -> Result<(), String> {
        if mounted(project_dir) {
            return Ok(());
        }
        std::fs::create_dir_all(&self.images).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&self.images, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        let image = self.image(project_id);
        if !image.exists() {
            let file = std::fs::File::create(&image).map_err(|e| e.to_string())?;
            file.set_len(self.megabytes * 1024 * 1024)
                .map_err(|e| e.to_string())?;
            let made = run(Command::new("mkfs.ext4")
                .args(["-q", "-F", "-m", "0", "-E", "lazy_itable_init=1"])
                .arg(&image));
            if let Err(error) = made {
                let _ = std::fs::remove_file(&image);
                return Err(error);
            }
        }
        std::fs::create_dir_all(project_dir).map_err(|e| e.to_string())?;
        run(Command::new("mount")
            .args(["-o", "loop,nosuid,nodev,noatime"])
            .arg(&image)
            .arg(project_dir))?;
        // Its root is the gateway's: the project's code may enter, never rename.
        std::fs::set_permissions(project_dir, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| e.to_string())
    }

    /// Unmounts the project's disk (detached: a process of it may linger a moment) and
    /// removes its image.
    pub fn release(&self, project_dir: &Path, project_id: i32) {
        if mounted(project_dir) {
            let _ = nix::mount::umount2(project_dir, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_file(self.image(project_id));
    }
}

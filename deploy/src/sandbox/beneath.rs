//! Opening files beneath a directory without following a symlink anywhere on the way,
//! for whatever the gateway reads with its own (root) rights below a folder that student
//! code could have touched: `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` where the
//! kernel has it (Linux 5.6+), else one `openat(O_NOFOLLOW)` per component. A path that
//! names a symlink, `..`, or leaves the directory is refused, never resolved.

use std::{
    fs::File,
    io::{self, Read},
    os::fd::{AsFd, OwnedFd},
    path::{Component, Path},
};

use rustix::fs::{Mode, OFlags, ResolveFlags};

const READ: OFlags = OFlags::RDONLY
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NOCTTY);

/// The directory `path` itself, opened without following a final symlink.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        READ | OFlags::DIRECTORY,
        Mode::empty(),
    )?)
}

/// `relative` (plain names only) opened beneath `root`.
pub fn open<Fd: AsFd>(root: Fd, relative: &Path) -> io::Result<File> {
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the path leaves its folder",
        ));
    }
    let target = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match rustix::fs::openat2(root.as_fd(), target, READ, Mode::empty(), resolve) {
        Ok(fd) => Ok(File::from(fd)),
        // No openat2 here (old kernel, or a seccomp filter that refuses it).
        Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => walk(root, target),
        Err(error) => Err(error.into()),
    }
}

/// One component at a time, none of them a symlink.
fn walk<Fd: AsFd>(root: Fd, relative: &Path) -> io::Result<File> {
    let mut current = rustix::fs::openat(root.as_fd(), ".", READ, Mode::empty())?;
    for component in relative.components() {
        if let Component::Normal(name) = component {
            current = rustix::fs::openat(current.as_fd(), name, READ, Mode::empty())?;
        }
    }
    Ok(File::from(current))
}

/// Reads at most `limit` bytes of `relative` beneath `root`, which must be a regular
/// file; `Ok(None)` when it does not exist.
pub fn read_limited(root: &Path, relative: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let dir = open_root(root)?;
    let file = match open(&dir, relative) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(Some(bytes))
}

/// Whether an error means the path crossed a symlink (or tried to leave its folder).
pub fn is_refused(error: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(error),
        Some(rustix::io::Errno::LOOP | rustix::io::Errno::XDEV | rustix::io::Errno::NOTDIR)
    ) || error.kind() == io::ErrorKind::PermissionDenied
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir_all(dir.path().join("public/css")).expect("folders");
        std::fs::write(dir.path().join("public/css/site.css"), "body{}").expect("a file");
        std::fs::write(dir.path().join("secret"), "s3cr3t").expect("a file");
        symlink(dir.path().join("secret"), dir.path().join("public/link")).expect("a link");
        symlink(dir.path(), dir.path().join("public/up")).expect("a link");
        dir
    }

    #[test]
    fn a_file_beneath_opens_and_no_symlink_is_followed_on_the_way() {
        let dir = tree();
        let root = open_root(&dir.path().join("public")).expect("root");
        let mut text = String::new();
        open(&root, Path::new("css/site.css"))
            .expect("opens")
            .read_to_string(&mut text)
            .expect("reads");
        assert_eq!(text, "body{}");
        for refused in ["link", "up/secret", "../secret", "/etc/passwd"] {
            let error = open(&root, Path::new(refused)).expect_err(refused);
            assert!(is_refused(&error), "{refused}: {error}");
        }
    }

    #[test]
    fn the_component_walk_refuses_symlinks_too() {
        let dir = tree();
        let root = open_root(&dir.path().join("public")).expect("root");
        assert!(walk(&root, Path::new("css/site.css")).is_ok());
        assert!(walk(&root, Path::new("link")).is_err());
        assert!(walk(&root, Path::new("up/secret")).is_err());
    }

    #[test]
    fn a_root_that_is_a_symlink_is_refused() {
        let dir = tree();
        assert!(open_root(&dir.path().join("public/up")).is_err());
    }

    #[test]
    fn reading_stops_at_the_limit_and_needs_a_regular_file() {
        let dir = tree();
        let public = dir.path().join("public");
        assert_eq!(
            read_limited(&public, Path::new("css/site.css"), 100).expect("read"),
            Some(b"body{}".to_vec())
        );
        assert!(read_limited(&public, Path::new("css/site.css"), 3).is_err());
        assert!(read_limited(&public, Path::new("css"), 100).is_err());
        assert!(read_limited(&public, Path::new("link"), 100).is_err());
        assert_eq!(
            read_limited(&public, Path::new("none.toml"), 100).expect("read"),
            None
        );
    }
}

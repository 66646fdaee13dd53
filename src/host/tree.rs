//! Owner and mode changes on directory trees that never follow a symbolic link: every
//! walk works on directory file descriptors, each component opened with
//! `O_NOFOLLOW | O_DIRECTORY` relative to its parent, owners set with `fchown` /
//! `chownat(AT_SYMLINK_NOFOLLOW)`, modes with `fchmod`, and a symbolic link never
//! descended into (`phases::mattermost::dirs` decides which trees). Paths here are
//! real paths, opened from `/`.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

fn io(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Opens the directory `path` one component at a time from `/`, never following a
/// symbolic link; with `create`, missing components are made (mode 0755 less the umask, root;
/// the caller sets the last one's mode).
pub fn open_dir(path: &Path, create: bool) -> std::io::Result<OwnedFd> {
    let mut fd = rustix::fs::open("/", DIR_FLAGS, Mode::empty()).map_err(io)?;
    for c in path.components() {
        let Component::Normal(name) = c else {
            if c == Component::RootDir {
                continue;
            }
            return Err(std::io::Error::other(format!(
                "{} is not a normalised absolute path",
                path.display()
            )));
        };
        fd = match rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(next) => next,
            Err(Errno::NOENT) if create => {
                match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io(e)),
                }
                rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty()).map_err(io)?
            }
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return Err(std::io::Error::other(format!(
                    "a component of {} is a symbolic link or not a directory; not followed",
                    path.display()
                )));
            }
            Err(e) => return Err(io(e)),
        };
    }
    Ok(fd)
}

/// The mode bits of an open directory.
pub fn mode_of(fd: impl AsFd) -> std::io::Result<u32> {
    Ok(rustix::fs::fstat(fd).map_err(io)?.st_mode & 0o7777)
}

/// Sets the mode of an open directory.
pub fn set_mode(fd: impl AsFd, mode: u32) -> std::io::Result<()> {
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(io)
}

/// What a tree walk changed and what it left alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chowned {
    pub fixed: usize,
    /// Files with more than one hard link, left alone (they may be another file's).
    pub skipped_links: Vec<PathBuf>,
}

/// Gives `root` and everything under it to `uid:gid`, touching only entries that
/// differ. Never follows a symbolic link (links themselves are re-owned, their
/// targets never), never descends into one, and leaves files with several hard
/// links alone.
pub fn chown_tree(root: &Path, uid: u32, gid: u32) -> std::io::Result<Chowned> {
    let fd = open_dir(root, false)?;
    let mut out = Chowned::default();
    chown_dir(&fd, root, uid, gid, &mut out)?;
    Ok(out)
}

fn chown_dir(
    fd: &OwnedFd,
    path: &Path,
    uid: u32,
    gid: u32,
    out: &mut Chowned,
) -> std::io::Result<()> {
    let (u, g) = (
        rustix::fs::Uid::from_raw(uid),
        rustix::fs::Gid::from_raw(gid),
    );
    let st = rustix::fs::fstat(fd).map_err(io)?;
    if (st.st_uid, st.st_gid) != (uid, gid) {
        rustix::fs::fchown(fd, Some(u), Some(g)).map_err(io)?;
        out.fixed += 1;
    }
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(fd).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_owned();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name);
        }
    }
    for name in names {
        let st = match rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(io(e)),
        };
        let child = path.join(std::ffi::OsStr::new(&*name.to_string_lossy()));
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            match rustix::fs::openat(fd, &name, DIR_FLAGS, Mode::empty()) {
                Ok(sub) => chown_dir(&sub, &child, uid, gid, out)?,
                // Swapped for a link (or removed) since the stat: not followed.
                Err(Errno::LOOP | Errno::NOTDIR | Errno::NOENT) => {}
                Err(e) => return Err(io(e)),
            }
            continue;
        }
        if (st.st_uid, st.st_gid) == (uid, gid) {
            continue;
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink && st.st_nlink > 1 {
            out.skipped_links.push(child);
            continue;
        }
        match rustix::fs::chownat(fd, &name, Some(u), Some(g), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(()) => out.fixed += 1,
            Err(Errno::NOENT) => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

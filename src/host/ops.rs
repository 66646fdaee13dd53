//! The file operations the rest of the crate asks [`Host`] for: rename, remove,
//! mkdir, chmod, chown, symlink, copy, open for writing. Each takes a path on the box
//! (mapped through [`Host::path`], so a test host rooted in a temp dir never touches
//! the real `/`), notes what it changed in the run log (paths and modes only, never
//! content), and returns the plain `std::io::Result` so callers keep their own error
//! messages.
//!
//! [`Host::bulk`] gives the same operations without a log line each: for copying a
//! data tree file by file, where the caller logs a summary instead.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::Host;

/// File operations on the box through a [`Host`]; see the module docs.
#[derive(Clone, Copy)]
pub struct Ops<'h> {
    host: &'h Host,
    loud: bool,
}

impl Host {
    /// The file operations without a log line each (copies of data trees).
    pub fn bulk(&self) -> Ops<'_> {
        Ops {
            host: self,
            loud: false,
        }
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            host: self,
            loud: true,
        }
    }

    /// `rename(2)` of a box path to another on the same file system.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.ops().rename(from, to)
    }

    pub fn remove_file(&self, p: &Path) -> io::Result<()> {
        self.ops().remove_file(p)
    }

    /// Removes an empty directory.
    pub fn remove_dir(&self, p: &Path) -> io::Result<()> {
        self.ops().remove_dir(p)
    }

    /// Removes a directory and everything under it (symbolic links not followed).
    pub fn remove_dir_all(&self, p: &Path) -> io::Result<()> {
        self.ops().remove_dir_all(p)
    }

    pub fn create_dir(&self, p: &Path) -> io::Result<()> {
        self.ops().create_dir(p)
    }

    /// `mkdir -p`; the directories made get the process's default mode.
    pub fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        self.ops().create_dir_all(p)
    }

    /// `mkdir -p`, then sets `mode` on the last directory.
    pub fn create_dir_all_mode(&self, p: &Path, mode: u32) -> io::Result<()> {
        self.ops().create_dir_all(p)?;
        self.ops().set_mode(p, mode)
    }

    /// `chmod` (follows a symbolic link, as `std::fs::set_permissions` does).
    pub fn set_mode(&self, p: &Path, mode: u32) -> io::Result<()> {
        self.ops().set_mode(p, mode)
    }

    /// `chown` (follows a symbolic link).
    pub fn chown(&self, p: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.ops().chown(p, uid, gid)
    }

    /// `lchown`: a symbolic link itself, never what it points to.
    pub fn lchown(&self, p: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.ops().lchown(p, uid, gid)
    }

    /// Makes `link` a symbolic link to `target`; `target` is written as given (a path
    /// as the box sees it), only `link` is mapped.
    pub fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.ops().symlink(target, link)
    }

    /// Copies a file's content and permission bits; returns the bytes copied.
    pub fn copy(&self, from: &Path, to: &Path) -> io::Result<u64> {
        self.ops().copy(from, to)
    }

    /// Puts back the copy [`Host::write_file`] saved (`backup`, the real path its
    /// [`super::WriteOutcome::Updated`] names) at the box path `path`.
    pub fn restore_backup(&self, backup: &Path, path: &Path) -> io::Result<u64> {
        let n = fs::copy(backup, self.path(path))?;
        self.note_quiet(&format!(
            "fs: copied {} to {}",
            backup.display(),
            path.display()
        ));
        Ok(n)
    }

    /// Creates (or truncates) a file for writing, with `mode` when it is created.
    pub fn create_file(&self, p: &Path, mode: u32) -> io::Result<File> {
        self.ops().create_file(p, mode)
    }

    /// Creates a file for writing that must not exist yet, with `mode`.
    pub fn create_new_file(&self, p: &Path, mode: u32) -> io::Result<File> {
        self.ops().create_new_file(p, mode)
    }

    /// Opens a file for appending, creating it with `mode` when missing.
    pub fn open_append(&self, p: &Path, mode: u32) -> io::Result<File> {
        self.ops().open_append(p, mode)
    }

    /// Opens a file for reading and writing, creating it when missing and keeping
    /// what it holds (a download to continue).
    pub fn open_resume(&self, p: &Path) -> io::Result<File> {
        self.ops().open_resume(p)
    }

    /// Opens an existing file for writing (never creates it, never truncates it).
    pub fn open_write(&self, p: &Path) -> io::Result<File> {
        self.ops().open_write(p)
    }

    /// A new private directory (0700) named `<prefix>…` inside the box directory
    /// `dir`, removed with everything in it when the value is dropped.
    pub fn temp_dir_in(&self, dir: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
        let tmp = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(self.path(dir))?;
        self.note_quiet(&format!(
            "fs: created the temporary directory {}",
            self.on_box(tmp.path()).display()
        ));
        Ok(tmp)
    }

    /// Writes a small file of the tool's own in place (no backup, not atomic): for
    /// content nothing else reads while it is written (keys, markers, caches).
    pub fn write_own(&self, p: &Path, content: &[u8]) -> io::Result<()> {
        self.ops().write(p, content)
    }
}

impl Ops<'_> {
    fn note(&self, text: impl FnOnce() -> String) {
        if self.loud {
            self.host.note_quiet(&format!("fs: {}", text()));
        }
    }

    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(self.host.path(from), self.host.path(to))?;
        self.note(|| format!("renamed {} to {}", from.display(), to.display()));
        Ok(())
    }

    pub fn remove_file(&self, p: &Path) -> io::Result<()> {
        fs::remove_file(self.host.path(p))?;
        self.note(|| format!("removed {}", p.display()));
        Ok(())
    }

    pub fn remove_dir(&self, p: &Path) -> io::Result<()> {
        fs::remove_dir(self.host.path(p))?;
        self.note(|| format!("removed directory {}", p.display()));
        Ok(())
    }

    pub fn remove_dir_all(&self, p: &Path) -> io::Result<()> {
        fs::remove_dir_all(self.host.path(p))?;
        self.note(|| format!("removed directory {} and its content", p.display()));
        Ok(())
    }

    pub fn create_dir(&self, p: &Path) -> io::Result<()> {
        fs::create_dir(self.host.path(p))?;
        self.note(|| format!("created directory {}", p.display()));
        Ok(())
    }

    pub fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        let real = self.host.path(p);
        if real.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&real)?;
        self.note(|| format!("created directory {}", p.display()));
        Ok(())
    }

    pub fn set_mode(&self, p: &Path, mode: u32) -> io::Result<()> {
        fs::set_permissions(self.host.path(p), fs::Permissions::from_mode(mode))?;
        self.note(|| format!("mode of {} set to {mode:o}", p.display()));
        Ok(())
    }

    pub fn chown(&self, p: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        std::os::unix::fs::chown(self.host.path(p), uid, gid)?;
        self.note(|| format!("owner of {} set to {uid:?}:{gid:?}", p.display()));
        Ok(())
    }

    pub fn lchown(&self, p: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        std::os::unix::fs::lchown(self.host.path(p), uid, gid)?;
        self.note(|| format!("owner of {} set to {uid:?}:{gid:?}", p.display()));
        Ok(())
    }

    pub fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, self.host.path(link))?;
        self.note(|| format!("linked {} to {}", link.display(), target.display()));
        Ok(())
    }

    pub fn copy(&self, from: &Path, to: &Path) -> io::Result<u64> {
        let n = fs::copy(self.host.path(from), self.host.path(to))?;
        self.note(|| format!("copied {} to {}", from.display(), to.display()));
        Ok(n)
    }

    pub fn create_file(&self, p: &Path, mode: u32) -> io::Result<File> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(self.host.path(p))?;
        self.note(|| format!("writing {}", p.display()));
        Ok(f)
    }

    pub fn create_new_file(&self, p: &Path, mode: u32) -> io::Result<File> {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(self.host.path(p))?;
        self.note(|| format!("writing {} (new, mode {mode:o})", p.display()));
        Ok(f)
    }

    pub fn open_append(&self, p: &Path, mode: u32) -> io::Result<File> {
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(mode)
            .open(self.host.path(p))?;
        self.note(|| format!("appending to {}", p.display()));
        Ok(f)
    }

    pub fn open_resume(&self, p: &Path) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.host.path(p))?;
        self.note(|| format!("writing {} (resuming)", p.display()));
        Ok(f)
    }

    pub fn open_write(&self, p: &Path) -> io::Result<File> {
        let f = OpenOptions::new().write(true).open(self.host.path(p))?;
        self.note(|| format!("writing {} in place", p.display()));
        Ok(f)
    }

    /// Creates (or truncates) a file for writing with `mode` when created, refusing
    /// to follow a symbolic link at `p`.
    pub fn create_file_nofollow(&self, p: &Path, mode: u32) -> io::Result<File> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0))
            .mode(mode)
            .open(self.host.path(p))?;
        self.note(|| format!("writing {}", p.display()));
        Ok(f)
    }

    /// `fchown` of an open file (named `p` in the log).
    pub fn chown_file(&self, f: &File, p: &Path, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::fchown(f, Some(uid), Some(gid))?;
        self.note(|| format!("owner of {} set to {uid}:{gid}", p.display()));
        Ok(())
    }

    /// Writes a tar entry at the box path `dest` (what `tar::Entry::unpack` does:
    /// its mode, time and link as the archive says).
    pub fn unpack_entry<R: io::Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        dest: &Path,
    ) -> io::Result<()> {
        entry.unpack(self.host.path(dest))?;
        self.note(|| format!("unpacked {}", dest.display()));
        Ok(())
    }

    /// Writes a tar entry under the box directory `dir`, refusing an entry that
    /// would leave it (`tar::Entry::unpack_in`).
    pub fn unpack_entry_in<R: io::Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        dir: &Path,
    ) -> io::Result<bool> {
        let done = entry.unpack_in(self.host.path(dir))?;
        self.note(|| format!("unpacked an entry into {}", dir.display()));
        Ok(done)
    }

    pub fn write(&self, p: &Path, content: &[u8]) -> io::Result<()> {
        fs::write(self.host.path(p), content)?;
        self.note(|| format!("wrote {} ({} bytes)", p.display(), content.len()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn box_paths_map_under_the_root_and_changes_are_logged_without_content() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("box");
        fs::create_dir(&root).unwrap();
        let host = crate::state::test_host::host(&root);
        let dir = Path::new("/etc/app");
        host.create_dir_all_mode(dir, 0o750).unwrap();
        assert_eq!(
            fs::metadata(root.join("etc/app")).unwrap().mode() & 0o7777,
            0o750
        );
        host.write_own(&dir.join("key"), b"s3cret-content").unwrap();
        host.rename(&dir.join("key"), &dir.join("key2")).unwrap();
        assert_eq!(
            fs::read(root.join("etc/app/key2")).unwrap(),
            b"s3cret-content"
        );
        // A link's target is written as the box sees it; only the link is mapped.
        host.symlink(&dir.join("key2"), &dir.join("link")).unwrap();
        assert_eq!(
            fs::read_link(root.join("etc/app/link")).unwrap(),
            Path::new("/etc/app/key2")
        );
        let (uid, gid) = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        host.lchown(&dir.join("link"), Some(uid), Some(gid))
            .unwrap();
        host.copy(&dir.join("key2"), &dir.join("copy")).unwrap();
        {
            use std::io::Write as _;
            let mut f = host.create_new_file(&dir.join("new"), 0o600).unwrap();
            f.write_all(b"x").unwrap();
        }
        assert_eq!(
            fs::metadata(root.join("etc/app/new")).unwrap().mode() & 0o777,
            0o600
        );
        assert!(host.create_new_file(&dir.join("new"), 0o600).is_err());
        // Without a log line per file, the same operations.
        host.bulk().remove_file(&dir.join("copy")).unwrap();
        host.remove_dir_all(dir).unwrap();
        assert!(!root.join("etc/app").exists());
        assert!(root.join("etc").is_dir(), "only the directory named goes");
        // Nothing escaped the root.
        assert!(!Path::new("/etc/app/key2").exists());
        assert_eq!(host.on_box(&root.join("etc/app")), Path::new("/etc/app"));

        let log = fs::read_to_string(host.log_path()).unwrap();
        for line in [
            "fs: created directory /etc/app",
            "fs: mode of /etc/app set to 750",
            "fs: wrote /etc/app/key (14 bytes)",
            "fs: renamed /etc/app/key to /etc/app/key2",
            "fs: linked /etc/app/link to /etc/app/key2",
            "fs: copied /etc/app/key2 to /etc/app/copy",
            "fs: removed directory /etc/app and its content",
        ] {
            assert!(log.contains(line), "{line:?} not logged:\n{log}");
        }
        assert!(
            !log.contains("removed /etc/app/copy"),
            "bulk logged:\n{log}"
        );
        assert!(!log.contains("s3cret"), "content in the log:\n{log}");
    }
}

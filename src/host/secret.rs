//! Files that hold a secret for the length of one command: a database password
//! for one client call (see `phases::database::credentials`). The file is created with
//! mode 0600 and `O_EXCL` in a fresh directory of mode 0700, so no other user can read
//! it at any instant, and both are removed when the guard is dropped.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::{OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// A password file that exists while this value lives.
#[derive(Debug)]
pub struct PasswordFile {
    path: PathBuf,
    /// Removed (with the file) on drop.
    _dir: tempfile::TempDir,
}

impl PasswordFile {
    /// Writes `contents` to a new 0600 file in a new 0700 directory under `parent`.
    pub fn create(parent: &Path, contents: &[u8]) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(".mattermost-setup-")
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(parent)?;
        let path = dir.path().join("password");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(contents)?;
        f.sync_all()?;
        Ok(Self { path, _dir: dir })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

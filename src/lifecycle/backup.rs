//! `backup`: one archive per run with everything a restore needs — a consistent
//! database dump taken while Mattermost keeps serving (PostgreSQL `pg_dump -Fc`;
//! MariaDB/MySQL `--single-transaction`), the data directory, `plugins` and
//! `client/plugins`, `config.json`, the saved answers, and last a manifest with the
//! size and SHA-256 of every member.
//!
//! Choices:
//! - A plain tar (no compression): the bulk of a data directory is uploads that are
//!   compressed already, and compressing would make a 2-core server's backup
//!   CPU-bound; `gzip`/`zstd` the archive afterwards if wanted.
//! - Files are streamed into the archive (hashed as they go): no second copy of the
//!   data. The database dump is made first into a private 0700 directory beside the
//!   archive (the dump tools write a file; it is removed once in the archive).
//! - The archive is written as `<name>.part`, flushed, then renamed: an interrupted
//!   backup never leaves a half archive under the final name, and the next backup
//!   removes what an interrupted one left. It is 0600: it holds the database
//!   password and everything users uploaded.
//! - Files still change while Mattermost serves. A file that disappears is skipped;
//!   one that changes size is archived at the size it had when its header was
//!   written (cut, or padded with zeros) and listed in the manifest as `changed` —
//!   the database dump is the consistent part, taken first.

use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::answers::{Answers, DbEngine, SAVED_ANSWERS};
use crate::events::Event;
use crate::host::Host;
use crate::phases::{PhaseError, PhaseId};

/// Where archives go unless `--to` says otherwise.
pub const DEFAULT_DIR: &str = "/var/backups/mattermost-setup";
/// The archive's top directory; members are below it.
const TOP: &str = "mattermost-backup";
const MANIFEST: &str = "mattermost-backup/manifest.json";
const P: PhaseId = PhaseId::Mattermost;
/// Archives are named `mattermost-backup-<UTC stamp>.tar`.
const PREFIX: &str = "mattermost-backup-";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The file changed while it was being archived (see the module's text).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created: String,
    pub tool_version: String,
    pub mattermost_version: Option<String>,
    /// The SHA-256 of that release's tarball as verified at its install: a restore
    /// installs the same bytes even when a newer releases table no longer lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mattermost_sha256: Option<String>,
    pub domain: String,
    pub db_engine: DbEngine,
    pub db_name: String,
    /// The member holding the database dump.
    pub database: String,
    pub members: Vec<Member>,
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.members.iter().map(|m| m.size).sum()
    }
}

/// What a finished backup made.
#[derive(Debug)]
pub struct Made {
    pub archive: PathBuf,
    pub manifest: Manifest,
    pub removed_old: Vec<PathBuf>,
}

fn err(what: &str, p: &Path) -> impl FnOnce(std::io::Error) -> PhaseError {
    let msg = format!("{what} {}", p.display());
    move |e| PhaseError::new(format!("{msg}: {e}"))
}

use crate::phases::mattermost::fetch::hex;

/// Bytes below `dir` (links not followed); 0 when it does not exist.
fn du(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => du(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A reader that yields exactly `len` bytes of `inner` — cut, or padded with zeros
/// when the file shrank — hashing what it yields.
struct Exact<R> {
    inner: R,
    left: u64,
    hash: Sha256,
    short: bool,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let mut n = if self.short {
            0
        } else {
            self.inner.read(&mut buf[..want])?
        };
        if n == 0 {
            // The file ended early: pad, and say so.
            self.short = true;
            buf[..want].fill(0);
            n = want;
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

struct Writer<'h> {
    host: &'h Host,
    tar: tar::Builder<BufWriter<File>>,
    members: Vec<Member>,
    done: u64,
    total: u64,
    reported: u64,
}

impl Writer<'_> {
    fn header(meta: &fs::Metadata, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(meta.mode() & 0o7777);
        h.set_uid(u64::from(meta.uid()));
        h.set_gid(u64::from(meta.gid()));
        h.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        h
    }

    /// One regular file, streamed and hashed.
    fn file(&mut self, src: &Path, name: &str) -> Result<(), PhaseError> {
        let (f, meta) = match File::open(src).and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.host.note(&format!(
                    "[backup] {} went away while backing up: skipped",
                    src.display()
                ));
                return Ok(());
            }
            Err(e) => return Err(err("cannot read", src)(e)),
        };
        let len = meta.len();
        let mut header = Self::header(&meta, len);
        header.set_entry_type(tar::EntryType::Regular);
        let mut data = Exact {
            inner: f.take(len + 1),
            left: len,
            hash: Sha256::new(),
            short: false,
        };
        self.tar
            .append_data(&mut header, name, &mut data)
            .map_err(err("cannot write the archive while adding", src))?;
        // A file that grew has more than `len` bytes: it changed too.
        let grew = !data.short && data.inner.read(&mut [0u8; 1]).is_ok_and(|n| n > 0);
        self.members.push(Member {
            path: name.to_owned(),
            size: len,
            sha256: hex(&data.hash.finalize()),
            changed: data.short || grew,
        });
        self.done += len;
        if self.done - self.reported >= 64 << 20 {
            self.reported = self.done;
            (self.host.events())(Event::Progress {
                phase: P,
                label: "backup".into(),
                done: self.done,
                total: Some(self.total),
            });
        }
        Ok(())
    }

    /// A directory tree below `name` (links archived as links, never followed).
    fn tree(&mut self, src: &Path, name: &str) -> Result<(), PhaseError> {
        let meta = fs::symlink_metadata(src).map_err(err("cannot read", src))?;
        let mut h = Self::header(&meta, 0);
        h.set_entry_type(tar::EntryType::Directory);
        self.tar
            .append_data(&mut h, format!("{name}/"), std::io::empty())
            .map_err(err("cannot write the archive while adding", src))?;
        let mut entries: Vec<_> = fs::read_dir(src)
            .map_err(err("cannot read", src))?
            .flatten()
            .collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let path = e.path();
            let child = format!("{name}/{}", e.file_name().to_string_lossy());
            let Ok(m) = fs::symlink_metadata(&path) else {
                continue;
            };
            let t = m.file_type();
            if t.is_dir() {
                self.tree(&path, &child)?;
            } else if t.is_file() {
                self.file(&path, &child)?;
            } else if t.is_symlink() {
                let target = fs::read_link(&path).map_err(err("cannot read", &path))?;
                let mut h = Self::header(&m, 0);
                h.set_entry_type(tar::EntryType::Symlink);
                self.tar
                    .append_link(&mut h, &child, &target)
                    .map_err(err("cannot write the archive while adding", &path))?;
            }
        }
        Ok(())
    }
}

/// Removes what interrupted backups left in `dir`: `*.tar.part` archives and dump
/// staging directories (both only under the names this module gives them).
fn clean_leftovers(host: &Host, dir: &Path) {
    let Ok(rd) = fs::read_dir(host.path(dir)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let p = e.path();
        if name.starts_with(PREFIX) && name.ends_with(".tar.part") {
            host.note(&format!(
                "[backup] removing {} left by an interrupted backup",
                p.display()
            ));
            let _ = host.remove_file(&dir.join(&name));
        } else if name.starts_with(&format!(".{PREFIX}"))
            && Path::new(&name).extension().is_some_and(|x| x == "dump")
        {
            host.note(&format!(
                "[backup] removing {} left by an interrupted backup",
                p.display()
            ));
            let _ = host.remove_dir_all(&dir.join(&name));
        }
    }
}

/// Takes a backup of the install described by `a` into `to`; keeps the newest `keep`
/// archives there when asked.
pub fn backup(
    host: &Host,
    a: &Answers,
    to: &Path,
    keep: Option<usize>,
) -> Result<Made, PhaseError> {
    let real_to = host.path(to);
    let fresh = !real_to.exists();
    host.create_dir_all(to).map_err(err("cannot create", to))?;
    if fresh {
        // A directory the backup made holds secrets: root's only. An operator's
        // existing directory keeps its mode; the archive itself is 0600 either way.
        host.set_mode(to, 0o700).map_err(err("cannot chmod", to))?;
    }
    clean_leftovers(host, to);
    let install = &a.install_dir;
    let trees: Vec<(PathBuf, String)> = vec![
        (a.data_dir.clone(), format!("{TOP}/data")),
        (install.join("plugins"), format!("{TOP}/plugins")),
        (
            install.join("client/plugins"),
            format!("{TOP}/client-plugins"),
        ),
    ];
    let files_total: u64 = trees.iter().map(|(p, _)| du(&host.path(p))).sum();
    let free =
        rustix::fs::statvfs(&real_to).map_or(u64::MAX, |s| s.f_bavail.saturating_mul(s.f_frsize));
    if free < files_total + (64 << 20) {
        return Err(PhaseError::new(format!(
            "{} has {} MB free; the files alone are {} MB",
            to.display(),
            free >> 20,
            files_total >> 20
        ))
        .fix("free space there, or give another directory with --to"));
    }

    let stamp = crate::host::now_stamp();
    let name = format!("{PREFIX}{stamp}.tar");
    let archive = to.join(&name);
    let part_box = to.join(format!("{name}.part"));
    let part = host.path(&part_box);
    let staging = to.join(format!(".{PREFIX}{stamp}.dump"));

    // The database first: the consistent point of the backup.
    let version = crate::state::installed::version(host, a);
    host.note(&format!(
        "[backup] dumping the database {} ({:?})",
        a.db_name, a.db_engine
    ));
    let dump = crate::lifecycle::upgrade::dump_database(
        host,
        a,
        &staging,
        version.unwrap_or(crate::releases::Version::new(0, 0, 0)),
    );
    let result = dump.and_then(|dump| {
        let dump_real = host.path(&dump);
        let dump_size = fs::metadata(&dump_real).map_or(0, |m| m.len());
        let free = rustix::fs::statvfs(&real_to)
            .map_or(u64::MAX, |s| s.f_bavail.saturating_mul(s.f_frsize));
        if free < files_total + dump_size + (64 << 20) {
            return Err(PhaseError::new(format!(
                "{} has {} MB free; the files and the dump need {} MB",
                to.display(),
                free >> 20,
                (files_total + dump_size) >> 20
            ))
            .fix("free space there, or give another directory with --to"));
        }
        let out = host
            .create_new_file(&part_box, 0o600)
            .map_err(err("cannot create", &part))?;
        let mut w = Writer {
            host,
            tar: tar::Builder::new(BufWriter::with_capacity(1 << 20, out)),
            members: Vec::new(),
            done: 0,
            total: files_total + dump_size,
            reported: 0,
        };
        w.tar.follow_symlinks(false);
        let db_member = format!(
            "{TOP}/database/{}",
            dump.file_name()
                .map_or_else(|| "dump".into(), |n| n.to_string_lossy().into_owned())
        );
        w.file(&dump_real, &db_member)?;
        for (path, member) in [
            (PathBuf::from(SAVED_ANSWERS), format!("{TOP}/answers.json")),
            (
                install.join("config/config.json"),
                format!("{TOP}/config.json"),
            ),
        ] {
            let real = host.path(&path);
            if real.exists() {
                w.file(&real, &member)?;
            }
        }
        for (path, member) in &trees {
            let real = host.path(path);
            if real.is_dir() {
                host.note(&format!("[backup] adding {}", path.display()));
                w.tree(&real, member)?;
            }
        }
        (host.events())(Event::Progress {
            phase: P,
            label: "backup".into(),
            done: w.total,
            total: Some(w.total),
        });
        let manifest = Manifest {
            format: FORMAT,
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            mattermost_version: version.map(|v| v.to_string()),
            mattermost_sha256: crate::state::installed::record(host)
                .filter(|r| {
                    r.install_dir == a.install_dir
                        && r.edition == a.edition.name()
                        && !r.sha256.is_empty()
                })
                .map(|r| r.sha256),
            domain: a.domain.clone(),
            db_engine: a.db_engine,
            db_name: a.db_name.clone(),
            database: db_member,
            members: std::mem::take(&mut w.members),
        };
        let text =
            serde_json::to_vec_pretty(&manifest).map_err(|e| PhaseError::new(e.to_string()))?;
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        w.tar
            .append_data(&mut h, MANIFEST, text.as_slice())
            .map_err(err("cannot write", &part))?;
        let file = w
            .tar
            .into_inner()
            .and_then(|b| b.into_inner().map_err(std::io::IntoInnerError::into_error))
            .map_err(err("cannot write", &part))?;
        file.sync_all().map_err(err("cannot flush", &part))?;
        Ok(manifest)
    });
    let _ = host.remove_dir_all(&staging);
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = host.remove_file(&part_box);
            return Err(e);
        }
    };
    host.rename(&part_box, &archive)
        .map_err(err("cannot rename", &part))?;
    if let Ok(d) = File::open(&real_to) {
        let _ = d.sync_all();
    }
    let removed_old = keep.map_or_else(Vec::new, |n| prune(host, to, n.max(1)));
    for p in &removed_old {
        host.note(&format!(
            "[backup] removed the older archive {}",
            p.display()
        ));
    }
    host.note(&format!(
        "[backup] wrote {} ({} members, {} bytes)",
        archive.display(),
        manifest.members.len(),
        manifest.total_bytes()
    ));
    Ok(Made {
        archive,
        manifest,
        removed_old,
    })
}

/// Deletes the oldest archives beyond `keep` (names this module gives only).
fn prune(host: &Host, to: &Path, keep: usize) -> Vec<PathBuf> {
    let dir = host.path(to);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(PREFIX) && Path::new(n).extension().is_some_and(|x| x == "tar"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    names
        .into_iter()
        .take(excess)
        .filter_map(|n| {
            let p = dir.join(&n);
            host.remove_file(&to.join(n)).ok().map(|()| p)
        })
        .collect()
}

/// Reads one small member of an archive, seeking over the others.
pub fn read_member(archive: &Path, name: &str) -> Result<Option<Vec<u8>>, std::io::Error> {
    let mut ar = tar::Archive::new(std::io::BufReader::with_capacity(
        1 << 16,
        File::open(archive)?,
    ));
    for entry in ar.entries_with_seek()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == name {
            let mut out = Vec::new();
            entry.read_to_end(&mut out)?;
            return Ok(Some(out));
        }
    }
    Ok(None)
}

/// An archive's manifest as it says, unchecked (for menus and listings; `verify`
/// checks it).
pub fn peek_manifest(archive: &Path) -> Option<Manifest> {
    let text = read_member(archive, MANIFEST).ok()??;
    serde_json::from_slice(&text).ok()
}

/// The archives this tool's backups are named as, in `dirs`, newest first (by name:
/// the names carry the UTC time).
pub fn archives_in(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| fs::read_dir(d).into_iter().flatten().flatten())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(PREFIX) && Path::new(&n).extension().is_some_and(|x| x == "tar")
        })
        .map(|e| e.path())
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.file_name().map(std::ffi::OsStr::to_os_string)));
    found.dedup();
    found
}

/// Why an archive does not match its manifest.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The tar stream itself breaks off or is not tar: read as far as it goes.
    #[error(
        "{path} is not a whole tar archive ({source}): cut short, or not made by mattermost-setup backup"
    )]
    NotTar {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} has no manifest (an interrupted or foreign archive)")]
    NoManifest(PathBuf),
    #[error("the manifest of {path} is damaged: {why}")]
    BadManifest { path: PathBuf, why: String },
    #[error("{count} member(s) do not match the manifest: {list}")]
    Mismatch { count: usize, list: String },
}

/// Reads the whole archive, hashing every member, and compares with its manifest.
pub fn verify(path: &Path) -> Result<Manifest, VerifyError> {
    let read = |source| VerifyError::Read {
        path: path.to_owned(),
        source,
    };
    let not_tar = |source| VerifyError::NotTar {
        path: path.to_owned(),
        source,
    };
    let f = File::open(path).map_err(read)?;
    let mut ar = tar::Archive::new(std::io::BufReader::with_capacity(1 << 20, f));
    let mut seen: Vec<(String, u64, String)> = Vec::new();
    let mut manifest: Option<Vec<u8>> = None;
    for entry in ar.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().map_err(read)?.to_string_lossy().into_owned();
        if name == MANIFEST {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(read)?;
            manifest = Some(text);
            continue;
        }
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(read)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        seen.push((name, size, hex(&h.finalize())));
    }
    let text = manifest.ok_or_else(|| VerifyError::NoManifest(path.to_owned()))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| VerifyError::BadManifest {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    let mut bad = Vec::new();
    for want in &m.members {
        match seen.iter().find(|(n, _, _)| *n == want.path) {
            None => bad.push(format!("{} (missing)", want.path)),
            Some((_, size, sum)) if *size != want.size || *sum != want.sha256 => {
                bad.push(format!("{} (differs)", want.path));
            }
            Some(_) => {}
        }
    }
    for (n, _, _) in &seen {
        if !m.members.iter().any(|w| w.path == *n) {
            bad.push(format!("{n} (not in the manifest)"));
        }
    }
    if bad.is_empty() {
        Ok(m)
    } else {
        Err(VerifyError::Mismatch {
            count: bad.len(),
            list: bad.iter().take(10).cloned().collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Cmd, Output, RunLog, Runner};

    /// Answers dumps as the real tools do: the dump on stdout (here into the file
    /// the command names).
    struct Dumper {
        fail: bool,
    }

    impl Runner for Dumper {
        fn run(&self, cmd: &Cmd, _: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
            let ok = |code| Output {
                code: Some(code),
                stdout: String::new(),
                stderr: if code == 0 {
                    String::new()
                } else {
                    "pg_dump: error: connection refused".into()
                },
            };
            if self.fail {
                return Ok(ok(1));
            }
            if let Some(f) = &cmd.stdout_file {
                fs::write(f, b"PGDMP fake custom-format dump").unwrap();
            }
            Ok(ok(0))
        }
    }

    fn installed(fail: bool) -> (tempfile::TempDir, Host, Answers) {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let host = Host::new(
            r.to_owned(),
            RunLog::create(&r.join("log")),
            crate::events::discard(),
            Box::new(Dumper { fail }),
        );
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let data = host.path(&a.data_dir);
        fs::create_dir_all(data.join("teams/t1")).unwrap();
        for i in 0..50 {
            fs::write(
                data.join(format!("teams/t1/f{i}")),
                vec![u8::try_from(i).unwrap(); 1000 * i],
            )
            .unwrap();
        }
        std::os::unix::fs::symlink("teams", data.join("link")).unwrap();
        fs::create_dir_all(host.path(&a.install_dir).join("plugins/p1")).unwrap();
        fs::write(
            host.path(&a.install_dir).join("plugins/p1/plugin.json"),
            "{}",
        )
        .unwrap();
        fs::create_dir_all(host.path(&a.install_dir).join("config")).unwrap();
        fs::write(
            host.path(&a.install_dir).join("config/config.json"),
            "{\"x\":1}",
        )
        .unwrap();
        fs::create_dir_all(host.path(Path::new("/etc/mattermost-setup"))).unwrap();
        fs::write(
            host.path(Path::new(SAVED_ANSWERS)),
            a.to_json_with_secrets(),
        )
        .unwrap();
        (t, host, a)
    }

    #[test]
    fn a_backup_holds_everything_and_verifies_and_a_changed_byte_is_named() {
        let (_t, host, a) = installed(false);
        let made = backup(&host, &a, Path::new("/backups"), None).unwrap();
        let real = host.path(&made.archive);
        let mode = fs::metadata(&real).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let m = verify(&real).unwrap();
        assert_eq!(m, made.manifest);
        let names: Vec<&str> = m.members.iter().map(|x| x.path.as_str()).collect();
        for want in [
            "mattermost-backup/database/mattermost-0.0.0.pgdump",
            "mattermost-backup/answers.json",
            "mattermost-backup/config.json",
            "mattermost-backup/data/teams/t1/f49",
            "mattermost-backup/plugins/p1/plugin.json",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        // No staging or part file is left beside it.
        let left: Vec<String> = fs::read_dir(host.path(Path::new("/backups")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");

        // One byte changed inside a member: named.
        let mut bytes = fs::read(&real).unwrap();
        let at = bytes.windows(5).position(|w| w == b"PGDMP").unwrap();
        bytes[at] = b'X';
        fs::write(&real, &bytes).unwrap();
        let e = verify(&real).unwrap_err().to_string();
        assert!(
            e.contains("database/mattermost-0.0.0.pgdump (differs)"),
            "{e}"
        );
        // Cut short: the manifest (last) is gone.
        fs::write(&real, &bytes[..bytes.len() / 2]).unwrap();
        assert!(verify(&real).is_err());
        // Not tar at all: said so, with the path.
        fs::write(&real, b"hello").unwrap();
        let e = verify(&real).unwrap_err();
        assert!(matches!(e, VerifyError::NotTar { .. }), "{e}");
        assert!(e.to_string().contains("is not a whole tar archive"), "{e}");
    }

    #[test]
    fn a_failed_dump_leaves_no_archive_and_keep_prunes_only_archives() {
        let (_t, host, a) = installed(true);
        let e = backup(&host, &a, Path::new("/backups"), None).unwrap_err();
        assert!(e.cause.contains("pg_dump"), "{}", e.cause);
        let dir = host.path(Path::new("/backups"));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "something was left");

        let (_t, host, a) = installed(false);
        let dir = host.path(Path::new("/backups"));
        fs::create_dir_all(&dir).unwrap();
        for old in [
            "mattermost-backup-2020-01-01T000000Z.tar",
            "mattermost-backup-2020-01-02T000000Z.tar",
            "notes.txt",
        ] {
            fs::write(dir.join(old), "old").unwrap();
        }
        fs::write(
            dir.join("mattermost-backup-2020-01-03T000000Z.tar.part"),
            "half",
        )
        .unwrap();
        let made = backup(&host, &a, Path::new("/backups"), Some(2)).unwrap();
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let newest = made
            .archive
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            left,
            [
                "mattermost-backup-2020-01-02T000000Z.tar".to_owned(),
                newest,
                "notes.txt".into()
            ]
        );
    }

    #[test]
    fn a_file_that_shrinks_while_archived_is_padded_and_marked_changed() {
        let mut r = Exact {
            inner: std::io::Cursor::new(vec![1u8; 10]).take(101),
            left: 100,
            hash: Sha256::new(),
            short: false,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100);
        assert!(r.short);
        assert_eq!(&out[..10], &[1u8; 10]);
        assert!(out[10..].iter().all(|b| *b == 0));
    }
}

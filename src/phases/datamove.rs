//! Moving the data directory (`reconfigure` with a new `data_dir`), with Mattermost
//! stopped. On one filesystem: one rename. Across filesystems: a copy that a later
//! run continues, checked before anything points at it, the old copy kept.
//!
//! The copy, file by file: a file whose copy has the source's size and modification
//! time is skipped (the time is set last, so a file cut short by a kill never
//! matches); owners, modes and times are kept; symbolic links are copied as links,
//! never followed. Then every file is read back on both sides and compared by
//! SHA-256 — all of them, not a sample: these are the files users uploaded, a silent
//! difference is not acceptable, and the cost is one more read of each side. Only
//! then is the old directory renamed aside (`<old>.moved-to-<new>`, kept until the
//! operator deletes it; `status` names it) and the answers switched.
//!
//! The record [`MOVE_RECORD`] says where a move stands: a run killed during the copy
//! leaves it at `copying` and the next `reconfigure` with the same `data_dir`
//! continues; until then the saved answers still name the old directory, so a
//! `repair` serves from the old, complete copy — never from a partial one.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::events::Event;
use crate::host::{Cmd, FileSpec, Host};
use crate::phases::{Check, Ctx, Phase, PhaseError, PhaseId};

/// Where a data move stands (and, once done, which old copy it kept).
pub const MOVE_RECORD: &str = "/var/lib/mattermost-setup/data-move.json";
const P: PhaseId = PhaseId::Data;
/// A progress line at least every this many files or bytes.
const REPORT_FILES: u64 = 2_000;
const REPORT_BYTES: u64 = 256 << 20;
/// Room left on the target beyond the data itself (directories, a margin).
const SPACE_MARGIN: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The copy is under way (or was interrupted): `to` is partial.
    Copying,
    /// Every file compared equal; the old directory is being set aside.
    Verified,
    /// Finished; `kept` is the old copy, left for the operator.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub from: PathBuf,
    pub to: PathBuf,
    pub stage: Stage,
    #[serde(default)]
    pub kept: Option<PathBuf>,
}

/// The record, if any. A damaged record is an error naming the file: it decides
/// which copy is complete, so it is never guessed.
pub fn record(host: &Host) -> Result<Option<MoveRecord>, PhaseError> {
    let Some(bytes) = host.read(Path::new(MOVE_RECORD))? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        PhaseError::new(format!("{MOVE_RECORD} is damaged: {e}")).fix(
            "compare the old and new data directories by hand; delete the record once the \
             one Mattermost's config.json names (FileSettings.Directory) is complete",
        )
    })
}

fn save(host: &Host, r: &MoveRecord) -> Result<(), PhaseError> {
    let text = serde_json::to_string_pretty(r).map_err(|e| PhaseError::new(e.to_string()))?;
    host.write_file(&FileSpec {
        path: PathBuf::from(MOVE_RECORD),
        content: format!("{text}\n").into_bytes(),
        mode: 0o600,
        owner: Some((0, 0)),
    })
    .map_err(|e| crate::state::StateError::Write(e).into())
    .map(|_| ())
}

/// A move whose copy is not finished, for the engine: it must be continued (or
/// named) before anything else changes.
pub fn unfinished(host: &Host) -> Result<Option<MoveRecord>, PhaseError> {
    Ok(record(host)?.filter(|r| r.stage != Stage::Done))
}

/// What `status` says: an unfinished move (an error, with the way on) and a kept
/// old copy (a warning, while it exists).
pub fn checks(host: &Host) -> Vec<Check> {
    match record(host) {
        Err(e) => vec![Check::fail(P, "data directory move", e.cause)],
        Ok(None) => vec![],
        Ok(Some(r)) if r.stage == Stage::Done => r
            .kept
            .filter(|k| host.path(k).exists())
            .map(|k| {
                Check::warn(
                    P,
                    format!("kept {}", k.display()),
                    format!("the data directory as it was before it moved to {}", r.to.display()),
                )
                .with_fix("delete it once you are satisfied with the moved data")
            })
            .into_iter()
            .collect(),
        Ok(Some(r)) => vec![
            Check::fail(
                P,
                "data directory move",
                format!(
                    "the move from {} to {} stopped at stage {:?}; Mattermost serves from {}",
                    r.from.display(),
                    r.to.display(),
                    r.stage,
                    r.from.display()
                ),
            )
            .with_fix(format!(
                "run `mattermost-setup reconfigure` with {{\"data_dir\": \"{}\"}} again: it continues the copy \
                 (to stay on {} instead, delete the partial copy {} and {MOVE_RECORD})",
                r.to.display(),
                r.from.display(),
                r.to.display()
            )),
        ],
    }
}

/// The device of `p`, or of its nearest existing ancestor (links followed: a
/// `/srv` that links to another disk counts as that disk).
fn device(p: &Path) -> Option<u64> {
    p.ancestors()
        .find_map(|a| fs::metadata(a).ok())
        .map(|m| m.dev())
}

/// Refuses, before anything changes, a target without room for the data.
fn check_space(from: &Path, to: &Path, src: &Path, dst: &Path) -> Result<(), PhaseError> {
    let (bytes, files) =
        usage(src).map_err(|e| PhaseError::new(format!("cannot read {}: {e}", from.display())))?;
    space_verdict(from, to, bytes, files, free_space(dst))
}

/// Room for `bytes` in `files` files (a block per file for directories and tails,
/// and a margin) on a filesystem with `free` bytes free.
fn space_verdict(
    from: &Path,
    to: &Path,
    bytes: u64,
    files: u64,
    free: Option<u64>,
) -> Result<(), PhaseError> {
    let need = bytes + files * 4096 + SPACE_MARGIN;
    match free {
        Some(free) if free < need => Err(PhaseError::new(format!(
            "{} has {} free; moving {} ({} in {files} files) needs about {}",
            to.display(),
            human(free),
            from.display(),
            human(bytes),
            human(need)
        ))
        .fix("free space on the new disk or choose another data_dir; nothing was changed")),
        _ => Ok(()),
    }
}

/// Bytes and files below `dir` (links not followed).
fn usage(dir: &Path) -> std::io::Result<(u64, u64)> {
    let (mut bytes, mut files) = (0, 0);
    for e in fs::read_dir(dir)? {
        let e = e?;
        let m = e.metadata()?;
        if m.is_dir() {
            let (b, f) = usage(&e.path())?;
            bytes += b;
            files += f;
        } else {
            bytes += m.len();
            files += 1;
        }
    }
    Ok((bytes, files))
}

/// Free bytes for an unprivileged writer on the filesystem of `p` (or its nearest
/// existing ancestor).
fn free_space(p: &Path) -> Option<u64> {
    let existing = p.ancestors().find(|a| a.exists())?;
    let s = rustix::fs::statvfs(existing).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Moves the data from `from` to `to` (see the module's text). Returns what was done,
/// in words.
pub fn move_data(host: &Host, from: &Path, to: &Path) -> Result<String, PhaseError> {
    let (src, dst) = (host.path(from), host.path(to));
    let pending = record(host)?.filter(|r| r.stage != Stage::Done);
    if let Some(r) = &pending {
        if r.from != from || r.to != to {
            return Err(PhaseError::new(format!(
                "an earlier move of the data directory from {} to {} is unfinished",
                r.from.display(),
                r.to.display()
            ))
            .fix(format!(
                "finish it first: `mattermost-setup reconfigure` with {{\"data_dir\": \"{}\"}}",
                r.to.display()
            )));
        }
    } else {
        if !src.exists() {
            return Ok(format!(
                "{} does not exist; nothing to move",
                from.display()
            ));
        }
        if dst.exists() && fs::read_dir(&dst).map_or(true, |mut d| d.next().is_some()) {
            return Err(PhaseError::new(format!(
                "{} already exists and is not empty",
                to.display()
            ))
            .fix("choose an empty or new directory for data_dir, or move the data yourself"));
        }
    }
    let mut across = device(&src) != device(&dst);
    if across && pending.is_none() {
        check_space(from, to, &src, &dst)?;
    }

    // The new directory is the tool's, recorded before the move: the mattermost
    // phase sets its owner and mode (it takes only directories it manages).
    if pending.is_none() {
        let mut own = crate::state::Ownership::load(host);
        let key = to.to_string_lossy();
        if dst.exists() {
            own.found("directory", &key);
            own.take_over(&key);
        } else {
            own.created("directory", &key);
        }
        own.save(host)?;
    }
    host.run(&Cmd::new("systemctl", &["stop", "mattermost.service"]))?;
    if let Some(parent) = to.parent() {
        host.create_dir_all(parent).map_err(|e| {
            PhaseError::new(format!(
                "cannot create {}: {e}",
                host.path(parent).display()
            ))
        })?;
    }
    if !across && pending.is_none() {
        if dst.exists() {
            let _ = host.remove_dir(to);
        }
        match host.rename(from, to) {
            Ok(()) => {
                host.note(&format!(
                    "[reconfigure] moved {} to {}",
                    from.display(),
                    to.display()
                ));
                return Ok(format!("moved {} to {}", from.display(), to.display()));
            }
            // Two mounts of one filesystem (a bind mount) still refuse a rename.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) => {
                across = true;
                check_space(from, to, &src, &dst)?;
            }
            Err(e) => {
                return Err(PhaseError::new(format!(
                    "cannot move {} to {}: {e}",
                    from.display(),
                    to.display()
                )));
            }
        }
    }
    debug_assert!(across || pending.is_some());

    let mut r = pending.unwrap_or(MoveRecord {
        from: from.to_owned(),
        to: to.to_owned(),
        stage: Stage::Copying,
        kept: None,
    });
    let kept = PathBuf::from(format!(
        "{}.moved-to-{}",
        from.display(),
        to.to_string_lossy()
            .trim_start_matches('/')
            .replace('/', "_")
    ));
    if r.stage == Stage::Copying {
        save(host, &r)?;
        let mut copy = Copy::new(host);
        copy.tree(from, to).map_err(|e| {
            PhaseError::new(format!(
                "copying {} to {}: {e}",
                from.display(),
                to.display()
            ))
            .fix("run the same command again: the copy continues where it stopped")
        })?;
        rustix::fs::syncfs(File::open(&dst).map_err(|e| PhaseError::new(e.to_string()))?)
            .map_err(|e| PhaseError::new(format!("cannot flush {}: {e}", to.display())))?;
        host.note(&format!(
            "[reconfigure] copied {} files ({}; {} already there), verifying every file by SHA-256",
            copy.files,
            human(copy.bytes),
            copy.skipped
        ));
        let checked = verify(host, to, &src, &dst).map_err(|e| {
            PhaseError::new(format!(
                "the copy of {} in {} differs: {e}; Mattermost still uses {}",
                from.display(),
                to.display(),
                from.display()
            ))
            .fix("run the same command again: files that differ are copied again")
        })?;
        host.note(&format!(
            "[reconfigure] verified: {} files and {} equal on both sides",
            checked.0,
            human(checked.1)
        ));
        r.stage = Stage::Verified;
        save(host, &r)?;
    }
    if host.path(from).exists() {
        host.rename(from, &kept)
            .map_err(|e| PhaseError::new(format!("cannot rename {}: {e}", from.display())))?;
    }
    r.stage = Stage::Done;
    r.kept = Some(kept.clone());
    save(host, &r)?;
    Ok(format!(
        "copied {} to {} and verified every file by SHA-256; the old copy is kept as {} (delete it once you are satisfied)",
        from.display(),
        to.display(),
        kept.display()
    ))
}

fn human(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

/// One copy pass, with its counts and progress reports.
struct Copy<'h> {
    host: &'h Host,
    files: u64,
    skipped: u64,
    bytes: u64,
    reported: (u64, u64),
}

impl<'h> Copy<'h> {
    fn new(host: &'h Host) -> Self {
        Self {
            host,
            files: 0,
            skipped: 0,
            bytes: 0,
            reported: (0, 0),
        }
    }

    /// A line per [`REPORT_FILES`] files or [`REPORT_BYTES`] bytes copied in this
    /// pass (files found already copied do not count).
    fn report(&mut self) {
        let copied = self.files - self.skipped;
        if copied - self.reported.0 >= REPORT_FILES || self.bytes - self.reported.1 >= REPORT_BYTES
        {
            self.reported = (copied, self.bytes);
            self.host.note(&format!(
                "[reconfigure] copying: {} files, {} ({} already there)",
                self.files,
                human(self.bytes),
                self.skipped
            ));
            (self.host.events())(Event::Progress {
                phase: P,
                label: "copying the data directory".into(),
                done: self.bytes,
                total: None,
            });
        }
    }

    /// Copies the box path `src` to the box path `dst`, one file at a time.
    fn tree(&mut self, src: &Path, dst: &Path) -> std::io::Result<()> {
        let ops = self.host.bulk();
        let (real_src, real_dst) = (self.host.path(src), self.host.path(dst));
        let meta = fs::symlink_metadata(&real_src)?;
        match fs::symlink_metadata(&real_dst) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => ops.remove_file(dst)?,
            Err(_) => ops.create_dir(dst)?,
        }
        for entry in fs::read_dir(&real_src)? {
            let entry = entry?;
            let (from, to) = (src.join(entry.file_name()), dst.join(entry.file_name()));
            let (real_from, real_to) = (entry.path(), real_dst.join(entry.file_name()));
            let m = fs::symlink_metadata(&real_from)?;
            let kind = m.file_type();
            if kind.is_dir() {
                self.tree(&from, &to)?;
            } else if kind.is_file() {
                self.file(&from, &to, &m)?;
            } else if kind.is_symlink() {
                let target = fs::read_link(&real_from)?;
                if fs::read_link(&real_to).ok().as_ref() != Some(&target) {
                    if fs::symlink_metadata(&real_to).is_ok() {
                        ops.remove_file(&to)?;
                    }
                    ops.symlink(&target, &to)?;
                }
                ops.lchown(&to, Some(m.uid()), Some(m.gid()))?;
            } else {
                self.host.note(&format!(
                    "[reconfigure] skipped {} (not a file, directory or link)",
                    real_from.display()
                ));
            }
        }
        // The directory's own metadata last: its times change as entries are added.
        ops.chown(dst, Some(meta.uid()), Some(meta.gid()))?;
        ops.set_mode(dst, meta.mode() & 0o7777)?;
        let times = fs::FileTimes::new()
            .set_accessed(meta.accessed()?)
            .set_modified(meta.modified()?);
        File::open(&real_dst)?.set_times(times)?;
        Ok(())
    }

    /// Copies the box path `s` to the box path `d`.
    fn file(&mut self, s: &Path, d: &Path, m: &fs::Metadata) -> std::io::Result<()> {
        let ops = self.host.bulk();
        self.files += 1;
        if let Ok(dm) = fs::symlink_metadata(self.host.path(d)) {
            if dm.is_file()
                && dm.len() == m.len()
                && dm.mtime() == m.mtime()
                && dm.mtime_nsec() == m.mtime_nsec()
            {
                self.skipped += 1;
                return Ok(());
            }
            if !dm.is_file() {
                ops.remove_file(d)?;
            }
        }
        let mut input = File::open(self.host.path(s))?;
        let mut out = ops.create_file_nofollow(d, 0o600)?;
        let n = std::io::copy(&mut input, &mut out)?;
        out.flush()?;
        self.bytes += n;
        ops.chown_file(&out, d, m.uid(), m.gid())?;
        out.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
        // The time last: a copy cut short before this line never looks complete.
        out.set_times(
            fs::FileTimes::new()
                .set_accessed(m.accessed()?)
                .set_modified(m.modified()?),
        )?;
        self.report();
        Ok(())
    }
}

fn sha256(p: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().to_vec());
        }
        h.update(&buf[..n]);
    }
}

/// Every file under `src` has an equal copy under `dst` (size and SHA-256), every
/// directory and link is there. Files that differ have their copy's time cleared, so
/// the next pass copies them again. Returns (files, bytes) compared.
/// `to` is `dst` as the box names it.
fn verify(host: &Host, to: &Path, src: &Path, dst: &Path) -> std::io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    let mut differ = Vec::new();
    walk_verify(src, dst, &mut files, &mut bytes, &mut differ)?;
    if differ.is_empty() {
        return Ok((files, bytes));
    }
    for d in &differ {
        // The copy must not be skipped next time.
        let Ok(rel) = d.strip_prefix(dst) else {
            continue;
        };
        let _ = host
            .bulk()
            .open_write(&to.join(rel))
            .and_then(|f| f.set_modified(std::time::UNIX_EPOCH));
    }
    let shown: Vec<String> = differ
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    Err(std::io::Error::other(format!(
        "{} file(s) differ or are missing, e.g. {}",
        differ.len(),
        shown.join(", ")
    )))
}

fn walk_verify(
    src: &Path,
    dst: &Path,
    files: &mut u64,
    bytes: &mut u64,
    differ: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for e in fs::read_dir(src)? {
        let e = e?;
        let (s, d) = (e.path(), dst.join(e.file_name()));
        let m = fs::symlink_metadata(&s)?;
        let dm = fs::symlink_metadata(&d).ok();
        if m.is_dir() {
            if dm.as_ref().is_some_and(fs::Metadata::is_dir) {
                walk_verify(&s, &d, files, bytes, differ)?;
            } else {
                differ.push(d);
            }
        } else if m.is_file() {
            *files += 1;
            *bytes += m.len();
            let same = dm.is_some_and(|dm| dm.is_file() && dm.len() == m.len())
                && sha256(&s)? == sha256(&d)?;
            if !same {
                differ.push(d);
            }
        } else if m.file_type().is_symlink() && fs::read_link(&d).ok() != Some(fs::read_link(&s)?) {
            differ.push(d);
        }
    }
    Ok(())
}

/// The data phase: before anything is installed, moves the data when the saved
/// answers name another data directory that still exists on disk, or continues a
/// move an earlier run left unfinished for this data directory (never deletes: see
/// the module doc). Answers that stay on the old directory leave an unfinished move
/// waiting (`status` names it, through [`checks`]); Mattermost serves the old copy.
pub struct DataMove;

/// The move these answers ask for, if any: `(from, to)`.
fn pending(ctx: &Ctx) -> Result<Option<(PathBuf, PathBuf)>, PhaseError> {
    let (host, answers) = (ctx.host, ctx.answers);
    if let Some(r) = unfinished(host)? {
        return Ok((r.to == answers.data_dir).then_some((r.from, r.to)));
    }
    let Some(text) = host.read(Path::new(crate::answers::SAVED_ANSWERS))? else {
        return Ok(None);
    };
    let Ok(saved) = crate::answers::from_saved_json(&String::from_utf8_lossy(&text)) else {
        return Ok(None);
    };
    if saved.data_dir == answers.data_dir || !host.path(&saved.data_dir).exists() {
        return Ok(None);
    }
    Ok(Some((saved.data_dir, answers.data_dir.clone())))
}

impl Phase for DataMove {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_mattermost()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let name = "data directory in place";
        Ok(vec![match pending(ctx)? {
            None => Check::ok(P, name, ctx.answers.data_dir.display().to_string()),
            Some((from, to)) => Check::fail(
                P,
                name,
                format!(
                    "moves from {} to {} (Mattermost is stopped meanwhile)",
                    from.display(),
                    to.display()
                ),
            ),
        }])
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        if let Some((from, to)) = pending(ctx)? {
            let said = move_data(ctx.host, &from, &to)?;
            ctx.step(P, said);
            // The move records its new directory as the tool's.
            ctx.own = crate::state::Ownership::load(ctx.host);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with nested directories, odd modes, a link and a large-ish file.
    fn seed(dir: &Path) {
        fs::create_dir_all(dir.join("teams/t1/channels")).unwrap();
        fs::create_dir_all(dir.join("users/u1")).unwrap();
        for i in 0..300 {
            fs::write(
                dir.join(format!("teams/t1/channels/f{i}.txt")),
                format!("file {i}\n").repeat(i + 1),
            )
            .unwrap();
        }
        fs::write(dir.join("users/u1/big.bin"), vec![7u8; 3 << 20]).unwrap();
        fs::set_permissions(dir.join("users/u1"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(
            dir.join("users/u1/big.bin"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::os::unix::fs::symlink("../teams", dir.join("users/link")).unwrap();
    }

    fn listing(dir: &Path) -> Vec<(String, u32, u64, Option<PathBuf>)> {
        fn go(base: &Path, d: &Path, out: &mut Vec<(String, u32, u64, Option<PathBuf>)>) {
            for e in fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                let m = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                let link = fs::read_link(&p).ok();
                let len = if m.is_file() { m.len() } else { 0 };
                out.push((rel, m.mode() & 0o7777, len, link));
                if m.is_dir() {
                    go(base, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        go(dir, dir, &mut out);
        out.sort();
        out
    }

    #[test]
    fn a_copy_cut_short_is_finished_by_the_next_pass_and_verifies() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("old"), t.path().join("new"));
        seed(&src);
        let host = crate::state::test_host::host(t.path());
        // A first pass cut short: half the files copied, one of them truncated (as a
        // kill in the middle of a file leaves it).
        let mut c = Copy::new(&host);
        c.tree(Path::new("/old"), Path::new("/new")).unwrap();
        let victim = dst.join("users/u1/big.bin");
        fs::OpenOptions::new()
            .write(true)
            .open(&victim)
            .unwrap()
            .set_len(1000)
            .unwrap();
        for i in 0..150 {
            fs::remove_file(dst.join(format!("teams/t1/channels/f{i}.txt"))).unwrap();
        }
        assert!(
            verify(&host, Path::new("/new"), &src, &dst).is_err(),
            "a partial copy verified"
        );
        let mut c = Copy::new(&host);
        c.tree(Path::new("/old"), Path::new("/new")).unwrap();
        assert_eq!(c.files, 301);
        assert_eq!(c.skipped, 150, "the files already there must be skipped");
        assert_eq!(verify(&host, Path::new("/new"), &src, &dst).unwrap().0, 301);
        assert_eq!(listing(&src), listing(&dst));
    }

    #[test]
    fn a_copy_that_differs_with_the_same_size_and_time_is_caught_and_recopied() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("old"), tmp.path().join("new"));
        seed(&src);
        let host = crate::state::test_host::host(tmp.path());
        Copy::new(&host)
            .tree(Path::new("/old"), Path::new("/new"))
            .unwrap();
        // Bit rot: same size, same time, other bytes.
        let victim = dst.join("teams/t1/channels/f10.txt");
        let meta = fs::metadata(&victim).unwrap();
        let mut bytes = fs::read(&victim).unwrap();
        bytes[0] ^= 1;
        fs::write(&victim, bytes).unwrap();
        File::options()
            .write(true)
            .open(&victim)
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        let why = verify(&host, Path::new("/new"), &src, &dst)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("1 file(s) differ") && why.contains("f10.txt"),
            "{why}"
        );
        // The next pass copies it again, and then it verifies.
        let mut c = Copy::new(&host);
        c.tree(Path::new("/old"), Path::new("/new")).unwrap();
        assert_eq!(c.files - c.skipped, 1);
        verify(&host, Path::new("/new"), &src, &dst).unwrap();
    }

    #[test]
    fn a_link_is_copied_as_a_link_and_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("old"), t.path().join("new"));
        fs::create_dir_all(&src).unwrap();
        let outside = t.path().join("outside");
        fs::write(&outside, "operator's file").unwrap();
        std::os::unix::fs::symlink(&outside, src.join("l")).unwrap();
        // A planted link where a file's copy goes must not be written through.
        fs::write(src.join("f"), "data").unwrap();
        fs::create_dir_all(&dst).unwrap();
        std::os::unix::fs::symlink(&outside, dst.join("f")).unwrap();
        let host = crate::state::test_host::host(t.path());
        Copy::new(&host)
            .tree(Path::new("/old"), Path::new("/new"))
            .unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "operator's file");
        assert_eq!(fs::read_link(dst.join("l")).unwrap(), outside);
        assert_eq!(fs::read_to_string(dst.join("f")).unwrap(), "data");
        verify(&host, Path::new("/new"), &src, &dst).unwrap();
    }

    /// A box rooted in a temp dir on the disk whose `/mnt` links to a directory on
    /// another filesystem (/dev/shm, a tmpfs), and whose `systemctl` only answers.
    fn two_disk_box() -> (tempfile::TempDir, tempfile::TempDir, Host) {
        struct Quiet;
        impl crate::host::Runner for Quiet {
            fn run(
                &self,
                cmd: &Cmd,
                _: Option<&mut dyn FnMut(&str)>,
            ) -> std::io::Result<crate::host::Output> {
                assert_eq!(cmd.program, "systemctl", "{}", cmd.display());
                Ok(crate::host::Output {
                    code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                })
            }
        }
        let root = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
        let other = tempfile::tempdir_in("/dev/shm").unwrap();
        std::os::unix::fs::symlink(other.path(), root.path().join("mnt")).unwrap();
        fs::create_dir_all(root.path().join("var/lib/mattermost-setup")).unwrap();
        let host = Host::new(
            root.path().to_owned(),
            crate::host::RunLog::create(&root.path().join("log")),
            crate::events::discard(),
            Box::new(Quiet),
        );
        (root, other, host)
    }

    #[test]
    fn a_move_to_another_disk_copies_verifies_and_keeps_the_old_copy() {
        let (root, _other, host) = two_disk_box();
        let (from, to) = (Path::new("/opt/mattermost/data"), Path::new("/mnt/mmdata"));
        seed(&host.path(from));
        let before = listing(&host.path(from));
        assert_ne!(device(&host.path(from)), device(&host.path(to)));
        let msg = move_data(&host, from, to).unwrap();
        assert!(msg.contains("verified every file by SHA-256"), "{msg}");
        assert_eq!(listing(&host.path(to)), before);
        let kept = root.path().join("opt/mattermost/data.moved-to-mnt_mmdata");
        assert_eq!(listing(&kept), before, "the old copy must be kept whole");
        assert!(!host.path(from).exists());
        let r = record(&host).unwrap().unwrap();
        assert_eq!(r.stage, Stage::Done);
        assert_eq!(
            r.kept.as_deref(),
            Some(Path::new("/opt/mattermost/data.moved-to-mnt_mmdata"))
        );
        // The new directory is recorded as the tool's.
        assert!(crate::state::Ownership::load(&host).did_create("directory", "/mnt/mmdata"));
    }

    #[test]
    fn an_interrupted_move_is_continued_and_another_target_waits_for_it() {
        let (_root, _other, host) = two_disk_box();
        let (from, to) = (Path::new("/opt/mattermost/data"), Path::new("/mnt/mmdata"));
        seed(&host.path(from));
        // As a run killed during the copy leaves it: the record at `copying`, a part
        // of the files there.
        save(
            &host,
            &MoveRecord {
                from: from.into(),
                to: to.into(),
                stage: Stage::Copying,
                kept: None,
            },
        )
        .unwrap();
        fs::create_dir_all(host.path(to).join("teams/t1/channels")).unwrap();
        fs::write(host.path(to).join("teams/t1/channels/f3.txt"), "cut sh").unwrap();
        let e = move_data(&host, from, Path::new("/mnt/elsewhere")).unwrap_err();
        assert!(e.cause.contains("is unfinished"), "{}", e.cause);
        assert!(unfinished(&host).unwrap().is_some());
        let before = listing(&host.path(from));
        move_data(&host, from, to).unwrap();
        assert_eq!(listing(&host.path(to)), before);
        assert!(unfinished(&host).unwrap().is_none());
    }

    #[test]
    fn a_target_without_room_is_refused_naming_the_sizes() {
        let (from, to) = (Path::new("/opt/mattermost/data"), Path::new("/mnt/new"));
        let e = space_verdict(from, to, 5_000_000_000, 20_000, Some(3_000_000_000)).unwrap_err();
        assert!(e.cause.contains("/mnt/new has 3.0 GB free"), "{}", e.cause);
        assert!(e.cause.contains("5.0 GB in 20000 files"), "{}", e.cause);
        assert!(e.fix.unwrap().contains("nothing was changed"));
        space_verdict(from, to, 1_000_000_000, 20_000, Some(3_000_000_000)).unwrap();
        // Unknown free space (statvfs refused) does not block.
        space_verdict(from, to, 5_000_000_000, 1, None).unwrap();
    }

    #[test]
    fn status_names_an_unfinished_move_and_a_kept_copy() {
        let t = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(t.path());
        assert!(checks(&host).is_empty());
        let mut r = MoveRecord {
            from: "/opt/mattermost/data".into(),
            to: "/srv/mm".into(),
            stage: Stage::Copying,
            kept: None,
        };
        fs::create_dir_all(t.path().join("var/lib/mattermost-setup")).unwrap();
        save(&host, &r).unwrap();
        let c = checks(&host);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].level, crate::phases::Level::Fail);
        assert!(
            c[0].fix
                .as_deref()
                .unwrap_or("")
                .contains("\"data_dir\": \"/srv/mm\""),
            "{c:?}"
        );
        r.stage = Stage::Done;
        r.kept = Some("/opt/mattermost/data.moved-to-srv_mm".into());
        save(&host, &r).unwrap();
        assert!(
            checks(&host).is_empty(),
            "a kept copy that is gone is not named"
        );
        fs::create_dir_all(t.path().join("opt/mattermost/data.moved-to-srv_mm")).unwrap();
        let c = checks(&host);
        assert_eq!(c[0].level, crate::phases::Level::Warn);
        assert!(c[0].name.contains("data.moved-to-srv_mm"), "{c:?}");
        fs::write(
            t.path().join("var/lib/mattermost-setup/data-move.json"),
            "{",
        )
        .unwrap();
        assert_eq!(checks(&host)[0].level, crate::phases::Level::Fail);
    }
}

//! `restore FILE`: a backup archive (see [`super::backup`]) made into a working
//! server, here or on a new machine.
//!
//! Steps, journaled in [`RESTORE_RECORD`] so that a run killed at any point is
//! finished by the next `restore` (or refused commands point at it):
//! 1. **Check** (nothing changes yet): the whole archive is read and every member
//!    compared with its manifest; the answers are the archive's with the operator's
//!    changes laid over them (domain, data directory, passwords, proxy, TLS...). The
//!    database engine, name and user travel inside the dump and cannot change. A box
//!    that already has an install is refused unless `--replace`; then a backup of
//!    that install is taken first (named in the output) — nothing is lost.
//! 2. **Install** the archive's Mattermost release with those answers, as `install`
//!    does (without the first admin and team: they come back with the database).
//! 3. **Data**: Mattermost stopped; one pass through the archive puts the dump in a
//!    private 0700 staging directory, the files under the data, plugins and
//!    client/plugins directories (owned by the service user; a member that would
//!    land outside them, or below a symlink, is refused), and config.json in place
//!    with the old domain replaced by the new one; then the database is restored
//!    from the dump (dropped and loaded, as the upgrade's rollback does).
//! 4. **Verify**: the normal converge (config.json's managed keys, service,
//!    proxy, TLS, first admin) and its acceptance checks.
//!
//! Choices: the archive is read twice (the check, then the data) so that a damaged
//! archive is refused before anything changes — the price is one more sequential
//! read. A re-run in stage 3 starts that stage over: every step of it puts the
//! same bytes in place again. After stage 3 it is never repeated, so what users
//! post once the server is back is never overwritten by a re-run.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::backup::{self, Manifest, VerifyError};
use crate::answers::validate::Invalid;
use crate::answers::{self, Answers, SAVED_ANSWERS};
use crate::engine::{self, Cancel, InstallError, PhaseReport};
use crate::events::Event;
use crate::host::{Cmd, Host};
use crate::phases::{PhaseError, PhaseId};
use crate::plan::Plan;

/// Where a restore in progress is recorded (0600: it holds the answers' secrets).
pub const RESTORE_RECORD: &str = "/var/lib/mattermost-setup/restore.json";
/// The dump waits here while it is restored (0700, removed after).
const STAGING: &str = "/var/lib/mattermost-setup/restore-staging";
const P: PhaseId = PhaseId::Mattermost;

/// How far a restore got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The archive's release is being installed (empty database).
    Install,
    /// Mattermost is stopped; the database and files are being put back.
    Data,
    /// Database and files are back: converge and verify.
    Verify,
}

/// The journal of a restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreRecord {
    pub archive: PathBuf,
    /// SHA-256 of the archive's manifest: a re-run must restore the same archive.
    pub manifest_sha256: String,
    pub stage: Stage,
    /// The answers being restored (the archive's with the operator's changes).
    pub answers: Value,
    /// The domain the archive was taken on.
    pub old_domain: String,
    /// The backup of the install `--replace` replaced.
    #[serde(default)]
    pub safety_backup: Option<PathBuf>,
}

/// What a finished restore did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub answers: Answers,
    pub safety_backup: Option<PathBuf>,
    pub reports: Vec<PhaseReport>,
    /// config.json keys whose value named the old domain.
    pub renamed_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The archive fails its manifest: nothing was changed.
    #[error("{0}")]
    Archive(#[from] VerifyError),
    /// The archive's answers with the changes are not valid: nothing was changed.
    #[error("answers: {0}")]
    Answers(Invalid),
    /// Refused before anything changed.
    #[error("{}", .0.cause)]
    Refused(PhaseError),
    /// The install (stage 2) or the final converge (stage 4) stopped.
    #[error("{0}")]
    Install(Box<InstallError>),
    /// Putting the database or the files back stopped.
    #[error("{}", .0.cause)]
    Data(PhaseError),
}

impl RestoreError {
    /// What the operator does about it.
    pub fn fix(&self) -> Option<String> {
        match self {
            Self::Archive(_) => Some(
                "take another archive (mattermost-setup backup --verify FILE checks one); nothing was changed"
                    .into(),
            ),
            Self::Answers(_) => Some("fix the changes given; nothing was changed".into()),
            Self::Refused(e) => e.fix.clone(),
            Self::Install(e) => Some(e.error.fix.clone().map_or_else(
                || "fix the cause, then run the same restore command again: it continues".into(),
                |f| format!("{f}; then run the same restore command again: it continues"),
            )),
            Self::Data(e) => Some(e.fix.clone().map_or_else(
                || "fix the cause, then run the same restore command again: it continues".into(),
                |f| format!("{f}; then run the same restore command again: it continues"),
            )),
        }
    }

    /// Whether the box is as it was before the command.
    pub fn changed_nothing(&self) -> bool {
        matches!(self, Self::Archive(_) | Self::Answers(_) | Self::Refused(_))
    }
}

/// The restore an earlier run left unfinished, if any.
pub fn unfinished(host: &Host) -> Option<RestoreRecord> {
    let bytes = host.read(Path::new(RESTORE_RECORD)).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// `status`: an unfinished restore fails, with the command that finishes it.
pub fn checks(host: &Host) -> Vec<crate::phases::Check> {
    unfinished(host)
        .map(|r| {
            crate::phases::Check::fail(
                P,
                "restore",
                format!(
                    "the restore of {} stopped at stage {:?}",
                    r.archive.display(),
                    r.stage
                ),
            )
            .with_fix(format!(
                "run `mattermost-setup restore {}` again: it continues",
                r.archive.display()
            ))
        })
        .into_iter()
        .collect()
}

/// The refusal of a command other than `restore` while a restore is unfinished:
/// it would work on a half-restored server.
pub fn refusal(host: &Host, command: &str) -> Option<String> {
    unfinished(host).map(|r| {
        format!(
            "{command}: the restore of {} is unfinished (stopped at stage {:?}); \
             run `mattermost-setup restore {}` to finish it first. Nothing was changed.",
            r.archive.display(),
            r.stage,
            r.archive.display()
        )
    })
}

fn save(host: &Host, r: &RestoreRecord) -> Result<(), PhaseError> {
    crate::state::save_json(host, RESTORE_RECORD, r).map_err(PhaseError::from)
}

fn manifest_sha(m: &Manifest) -> String {
    crate::state::sha256_hex(&serde_json::to_vec(m).unwrap_or_default())
}

/// The answers a restore installs with: the archive's, the operator's `changes`
/// (a JSON object of answers keys) laid over them, pinned to the archive's release.
pub fn restored_answers(
    archive_answers: &str,
    manifest: &Manifest,
    changes: &str,
) -> Result<Answers, RestoreError> {
    let saved = answers::from_saved_json(archive_answers).map_err(RestoreError::Answers)?;
    let mut over: Value = serde_json::from_str(changes).map_err(|e| {
        RestoreError::Answers(Invalid::single(
            "answers",
            format!("is not valid JSON: {e}"),
            "fix the JSON syntax",
        ))
    })?;
    let Some(o) = over.as_object_mut() else {
        return Err(RestoreError::Answers(Invalid::single(
            "answers",
            "must be a JSON object",
            "write {\"domain\": \"...\"}",
        )));
    };
    for key in ["db_engine", "db_name", "db_user"] {
        if o.contains_key(key) {
            return Err(RestoreError::Answers(Invalid::single(
                key,
                "comes from the archive: its database dump holds that database and user",
                format!("leave {key} out of the changes"),
            )));
        }
    }
    // The release the dump was made by: a newer one would have to migrate it, which
    // is `upgrade`'s work, after the restore.
    if let Some(v) = &manifest.mattermost_version {
        if !o.contains_key("version") {
            o.insert("version".into(), Value::from(v.clone()));
            if let Some(sum) = &manifest.mattermost_sha256 {
                o.insert("sha256".into(), Value::from(sum.clone()));
            }
        }
    }
    let a = super::reconfigure::merge(&saved, &over.to_string()).map_err(RestoreError::Answers)?;
    if a.db_engine != manifest.db_engine || a.db_name != manifest.db_name {
        return Err(RestoreError::Answers(Invalid::single(
            "db_engine",
            format!(
                "the archive's answers name {:?} database {}, its dump {:?} database {}",
                a.db_engine, a.db_name, manifest.db_engine, manifest.db_name
            ),
            "take an archive made by mattermost-setup backup",
        )));
    }
    Ok(a)
}

/// Replaces the old domain by the new one in every string of config.json where it
/// stands as a host name (not inside a longer name); returns the keys changed.
pub fn rename_domain(cfg: &mut Value, old: &str, new: &str) -> Vec<String> {
    fn host_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '-'
    }
    fn replace(s: &str, old: &str, new: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        let mut changed = false;
        let mut prev: Option<char> = None;
        while let Some(i) = rest.find(old) {
            let before = rest[..i].chars().next_back().or(prev);
            let after_s = &rest[i + old.len()..];
            let mut after = after_s.chars();
            let next = after.next();
            // "old.example.com.evil" continues the name; "old.example.com." ends it.
            let continues = next.is_some_and(host_char)
                || (next == Some('.') && after.next().is_some_and(host_char));
            let starts_inside = before.is_some_and(|c| host_char(c) || c == '.');
            out.push_str(&rest[..i]);
            if continues || starts_inside {
                out.push_str(old);
            } else {
                out.push_str(new);
                changed = true;
            }
            prev = old.chars().next_back();
            rest = after_s;
        }
        out.push_str(rest);
        changed.then_some(out)
    }
    fn walk(v: &mut Value, path: &str, old: &str, new: &str, keys: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(r) = replace(s, old, new) {
                    *s = r;
                    keys.push(path.to_owned());
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, &format!("{path}[{i}]"), old, new, keys);
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(item, &p, old, new, keys);
                }
            }
            _ => {}
        }
    }
    let mut keys = Vec::new();
    if !old.is_empty() && old != new {
        walk(cfg, "", old, new, &mut keys);
    }
    keys
}

/// Where a member below `rel` goes under `root`: `None` for a path that would
/// leave `root` (`..`, absolute) or pass through a symlink already on disk.
fn safe_dest(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut dest = root.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for (i, c) in comps.iter().enumerate() {
        let Component::Normal(part) = c else {
            return None;
        };
        dest.push(part);
        let last = i + 1 == comps.len();
        if !last && fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
            return None;
        }
    }
    (!comps.is_empty()).then_some(dest)
}

/// What stage 3 found in the archive.
#[derive(Debug)]
struct PutBack {
    dump: Option<PathBuf>,
    config: Option<Vec<u8>>,
    files: u64,
}

fn data_err(what: &str, p: &Path) -> impl FnOnce(std::io::Error) -> PhaseError {
    let msg = format!("{what} {}", p.display());
    move |e| PhaseError::new(format!("{msg}: {e}"))
}

/// One pass through the archive: the dump into `staging` (a box path), the files in
/// place (owned by `owner`), config.json kept aside.
fn put_back_files(
    host: &Host,
    archive: &Path,
    manifest: &Manifest,
    a: &Answers,
    staging: &Path,
    owner: (u32, u32),
) -> Result<PutBack, PhaseError> {
    // (member prefix, the directory as a real path, the same on the box)
    let roots: [(&str, PathBuf, PathBuf); 3] = [
        ("mattermost-backup/data/", a.data_dir.clone()),
        ("mattermost-backup/plugins/", a.install_dir.join("plugins")),
        (
            "mattermost-backup/client-plugins/",
            a.install_dir.join("client/plugins"),
        ),
    ]
    .map(|(prefix, dir)| (prefix, host.path(&dir), dir));
    for (_, root, box_root) in &roots {
        if !root.is_dir() {
            host.create_dir_all(box_root)
                .map_err(data_err("cannot create", root))?;
            host.chown(box_root, Some(owner.0), Some(owner.1))
                .map_err(data_err("cannot chown", root))?;
        }
    }
    let f = File::open(archive).map_err(data_err("cannot read", archive))?;
    let mut ar = tar::Archive::new(BufReader::with_capacity(1 << 20, f));
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_unpack_xattrs(false);
    let total = manifest.total_bytes();
    let (mut done, mut reported) = (0u64, 0u64);
    let mut out = PutBack {
        dump: None,
        config: None,
        files: 0,
    };
    let read = |e: std::io::Error| data_err("cannot read", archive)(e);
    for entry in ar.entries().map_err(read)? {
        let mut entry = entry.map_err(read)?;
        let name = entry.path().map_err(read)?.to_string_lossy().into_owned();
        let size = entry.header().size().unwrap_or(0);
        if name == manifest.database {
            let box_file = staging.join(
                Path::new(&name)
                    .file_name()
                    .unwrap_or_else(|| std::ffi::OsStr::new("dump")),
            );
            let file = host.path(&box_file);
            let mut w = host
                .create_file(&box_file, 0o600)
                .map_err(data_err("cannot create", &file))?;
            std::io::copy(&mut entry, &mut w).map_err(data_err("cannot write", &file))?;
            w.sync_all().map_err(data_err("cannot write", &file))?;
            out.dump = Some(file);
        } else if name == "mattermost-backup/config.json" {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut text).map_err(read)?;
            out.config = Some(text);
        } else if let Some((prefix, root, box_root)) = roots
            .iter()
            .find(|(prefix, _, _)| name.starts_with(prefix) || format!("{name}/") == *prefix)
        {
            let rel = name.strip_prefix(prefix).unwrap_or("");
            if rel.trim_end_matches('/').is_empty() {
                continue;
            }
            let dest = safe_dest(root, Path::new(rel)).ok_or_else(|| {
                PhaseError::new(format!(
                    "the archive member {name} would be written outside {} or through a symlink",
                    root.display()
                ))
                .fix("this archive was not made by mattermost-setup backup, or was altered; restore another")
            })?;
            let box_dest = box_root.join(dest.strip_prefix(root).unwrap_or(Path::new(rel)));
            // A file or link in the way is replaced (never followed): the archive's
            // copy is the one being restored.
            if let Ok(m) = fs::symlink_metadata(&dest) {
                if !m.is_dir() || entry.header().entry_type() != tar::EntryType::Directory {
                    if m.is_dir() {
                        return Err(PhaseError::new(format!(
                            "{} is a directory; the archive has a file there",
                            dest.display()
                        ))
                        .fix("move that directory away, then run the restore again"));
                    }
                    host.bulk()
                        .remove_file(&box_dest)
                        .map_err(data_err("cannot replace", &dest))?;
                }
            }
            if let (Some(parent), Some(box_parent)) = (dest.parent(), box_dest.parent()) {
                host.bulk()
                    .create_dir_all(box_parent)
                    .map_err(data_err("cannot create", parent))?;
            }
            host.bulk()
                .unpack_entry(&mut entry, &box_dest)
                .map_err(data_err("cannot write", &dest))?;
            host.bulk()
                .lchown(&box_dest, Some(owner.0), Some(owner.1))
                .map_err(data_err("cannot chown", &dest))?;
            out.files += 1;
        }
        done += size;
        if done - reported >= 64 << 20 || done == total {
            reported = done;
            (host.events())(Event::Progress {
                phase: P,
                label: "restore".into(),
                done,
                total: Some(total),
            });
        }
    }
    Ok(out)
}

/// Stage 3: Mattermost stopped, files and config.json in place, database restored.
fn put_back(
    host: &Host,
    rec: &RestoreRecord,
    manifest: &Manifest,
    a: &Answers,
) -> Result<Vec<String>, PhaseError> {
    host.run(&Cmd::new("systemctl", &["stop", "mattermost.service"]))?;
    let owner = host.lookup_user(crate::plan::SERVICE_USER).ok_or_else(|| {
        PhaseError::new("the system user mattermost is missing after the install")
    })?;
    let box_staging = Path::new(STAGING);
    let staging = host.path(box_staging);
    let _ = host.remove_dir_all(box_staging);
    host.create_dir_all(box_staging)
        .map_err(data_err("cannot create", &staging))?;
    host.set_mode(box_staging, 0o700)
        .map_err(data_err("cannot chmod", &staging))?;
    host.note(&format!(
        "[restore] putting back the files and the database from {}",
        rec.archive.display()
    ));
    let result = put_back_files(
        host,
        &host.path(&rec.archive),
        manifest,
        a,
        box_staging,
        owner,
    )
    .and_then(|found| {
        host.note(&format!("[restore] {} files put back", found.files));
        let dump = found.dump.ok_or_else(|| {
            PhaseError::new(format!(
                "the archive has no database dump ({})",
                manifest.database
            ))
        })?;
        host.note(&format!(
            "[restore] restoring the database {} from the archive's dump",
            a.db_name
        ));
        super::upgrade::restore_database(host, a.db_engine, &a.db_name, &dump)
            .map_err(|e| PhaseError::new(format!("restoring the database: {e}")))?;
        Ok(found.config)
    });
    let _ = host.remove_dir_all(box_staging);
    let mut renamed = Vec::new();
    if let Some(text) = result? {
        let mut cfg: Value = serde_json::from_slice(&text).map_err(|e| {
            PhaseError::new(format!("the archive's config.json is not valid JSON: {e}"))
        })?;
        renamed = rename_domain(&mut cfg, &rec.old_domain, &a.domain);
        if !renamed.is_empty() {
            host.note(&format!(
                "[restore] {} -> {} in config.json: {}",
                rec.old_domain,
                a.domain,
                renamed.join(", ")
            ));
        }
        host.write_file(&crate::host::FileSpec {
            path: a.config_json(),
            content: crate::plan::config_to_string(&cfg).into_bytes(),
            mode: 0o600,
            owner: Some(owner),
        })?;
    }
    Ok(renamed)
}

/// Restores `archive` with `changes` (a JSON object of answers keys), or finishes
/// the restore of it an earlier run left unfinished.
pub fn restore(
    host: &Host,
    archive: &Path,
    changes: &str,
    replace: bool,
    cancel: &Cancel,
) -> Result<Restored, RestoreError> {
    let real = host.path(archive);
    let pending = unfinished(host);
    if let Some(p) = &pending {
        if p.archive != archive {
            return Err(RestoreError::Refused(
                PhaseError::new(format!(
                    "the restore of {} is unfinished ({RESTORE_RECORD})",
                    p.archive.display()
                ))
                .fix(format!(
                    "finish it first: mattermost-setup restore {}",
                    p.archive.display()
                )),
            ));
        }
    }
    // Past the data stage the archive is not read again: its manifest is enough to
    // know it is the same one (the whole read already passed).
    let manifest = match &pending {
        Some(p) if p.stage == Stage::Verify => backup::peek_manifest(&real)
            .ok_or_else(|| VerifyError::NoManifest(archive.to_owned()))?,
        _ => {
            host.note(&format!(
                "[restore] checking {} against its manifest",
                archive.display()
            ));
            backup::verify(&real)?
        }
    };
    let mut rec = match pending {
        Some(p) => {
            if p.manifest_sha256 != manifest_sha(&manifest) {
                return Err(RestoreError::Refused(
                    PhaseError::new(format!(
                        "{} is not the archive the unfinished restore began with",
                        archive.display()
                    ))
                    .fix(format!("put that archive back at {}", archive.display())),
                ));
            }
            (host.events())(Event::Warning {
                message: format!(
                    "finishing the restore of {} an earlier run left unfinished (stage {:?})",
                    archive.display(),
                    p.stage
                ),
            });
            p
        }
        None => begin(host, &real, archive, &manifest, changes, replace)?,
    };
    let a = answers::from_saved_json(&rec.answers.to_string()).map_err(RestoreError::Answers)?;
    engine::register_secrets(host, &a);
    let plan =
        |a: &Answers| Plan::on_box(host, a).map_err(|e| RestoreError::Refused(PhaseError::from(e)));
    if rec.stage == Stage::Install {
        // The first admin and team come back with the database.
        let mut first = a.clone();
        first.admin = None;
        first.team_name = None;
        engine::install_with(host, &first, &plan(&first)?, cancel, super::UNFINISHED)
            .map_err(|e| RestoreError::Install(Box::new(e)))?;
        rec.stage = Stage::Data;
        save(host, &rec).map_err(RestoreError::Data)?;
    }
    let mut renamed_keys = Vec::new();
    if rec.stage == Stage::Data {
        renamed_keys = put_back(host, &rec, &manifest, &a).map_err(RestoreError::Data)?;
        rec.stage = Stage::Verify;
        save(host, &rec).map_err(RestoreError::Data)?;
    }
    let reports = engine::install_with(host, &a, &plan(&a)?, cancel, super::UNFINISHED)
        .map_err(|e| RestoreError::Install(Box::new(e)))?;
    let _ = host.remove_file(Path::new(RESTORE_RECORD));
    host.note(&format!("[restore] {} restored", archive.display()));
    Ok(Restored {
        manifest,
        answers: a,
        safety_backup: rec.safety_backup,
        reports,
        renamed_keys,
    })
}

/// Stage 1 of a new restore: the answers, the refusal of an installed box (or its
/// backup with `replace`), the record.
fn begin(
    host: &Host,
    real: &Path,
    archive: &Path,
    manifest: &Manifest,
    changes: &str,
    replace: bool,
) -> Result<RestoreRecord, RestoreError> {
    let text = backup::read_member(real, "mattermost-backup/answers.json")
        .map_err(|e| {
            RestoreError::Refused(PhaseError::new(format!(
                "cannot read {}: {e}",
                archive.display()
            )))
        })?
        .ok_or_else(|| {
            RestoreError::Refused(
                PhaseError::new(format!(
                    "{} holds no answers (mattermost-backup/answers.json)",
                    archive.display()
                ))
                .fix("take an archive made by mattermost-setup backup"),
            )
        })?;
    let a = restored_answers(&String::from_utf8_lossy(&text), manifest, changes)?;
    let existing = host
        .read(Path::new(SAVED_ANSWERS))
        .ok()
        .flatten()
        .and_then(|t| answers::from_saved_json(&String::from_utf8_lossy(&t)).ok());
    let mut safety_backup = None;
    if let Some(current) = existing {
        if !replace {
            return Err(RestoreError::Refused(
                PhaseError::new(format!(
                    "this box already has a Mattermost install ({}, {})",
                    current.domain, SAVED_ANSWERS
                ))
                .fix("add --replace to replace it (a backup of it is taken first), or restore on a fresh box"),
            ));
        }
        host.note("[restore] --replace: taking a backup of the current install first");
        engine::register_secrets(host, &current);
        let made =
            backup::backup(host, &current, Path::new(backup::DEFAULT_DIR), None).map_err(|e| {
                RestoreError::Refused(PhaseError {
                    cause: format!("the backup of the current install failed: {}", e.cause),
                    ..e
                })
            })?;
        safety_backup = Some(made.archive);
    }
    let rec = RestoreRecord {
        archive: archive.to_owned(),
        manifest_sha256: manifest_sha(manifest),
        stage: Stage::Install,
        answers: serde_json::from_str(&a.to_json_with_secrets()).unwrap_or(Value::Null),
        old_domain: manifest.domain.clone(),
        safety_backup,
    };
    save(host, &rec).map_err(RestoreError::Refused)?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_old_domain_is_renamed_where_it_stands_as_a_host_name() {
        let mut cfg = serde_json::json!({
            "ServiceSettings": {
                "SiteURL": "https://old.example.com",
                "AllowCorsFrom": "https://old.example.com:8443 old.example.com.evil.net xold.example.com",
                "Other": "old.example.com."
            },
            "List": ["old.example.com", 3],
            "Untouched": "nothing here"
        });
        let keys = rename_domain(&mut cfg, "old.example.com", "new.example.org");
        assert_eq!(cfg["ServiceSettings"]["SiteURL"], "https://new.example.org");
        assert_eq!(
            cfg["ServiceSettings"]["AllowCorsFrom"],
            "https://new.example.org:8443 old.example.com.evil.net xold.example.com"
        );
        assert_eq!(cfg["ServiceSettings"]["Other"], "new.example.org.");
        assert_eq!(cfg["List"][0], "new.example.org");
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            [
                "List[0]",
                "ServiceSettings.AllowCorsFrom",
                "ServiceSettings.Other",
                "ServiceSettings.SiteURL"
            ]
        );
        // Same domain: nothing.
        assert!(rename_domain(&mut cfg, "new.example.org", "new.example.org").is_empty());
    }

    #[test]
    fn members_cannot_leave_their_directory_or_pass_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("data");
        fs::create_dir_all(root.join("teams")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert_eq!(
            safe_dest(&root, Path::new("teams/f.txt")),
            Some(root.join("teams/f.txt"))
        );
        assert_eq!(safe_dest(&root, Path::new("../etc/passwd")), None);
        assert_eq!(safe_dest(&root, Path::new("/etc/passwd")), None);
        assert_eq!(safe_dest(&root, Path::new("link/passwd")), None);
        // The link itself may be replaced (it is removed, never followed).
        assert_eq!(safe_dest(&root, Path::new("link")), Some(root.join("link")));
        assert_eq!(safe_dest(&root, Path::new("")), None);
    }

    fn manifest() -> Manifest {
        Manifest {
            format: 1,
            created: "2026-11-29T00:00:00Z".into(),
            tool_version: "0".into(),
            mattermost_version: Some("11.7.90".into()),
            mattermost_sha256: Some("ab".repeat(32)),
            domain: "old.example.com".into(),
            db_engine: answers::DbEngine::Postgresql,
            db_name: "mattermost".into(),
            database: "mattermost-backup/database/mattermost-11.7.90.pgdump".into(),
            members: vec![],
        }
    }

    #[test]
    fn the_archive_answers_with_changes_are_pinned_to_the_archive_release() {
        let archived =
            r#"{"domain": "old.example.com", "db_password": "first secret", "version": "esr"}"#;
        let a = restored_answers(
            archived,
            &manifest(),
            r#"{"domain": "new.example.org", "data_dir": "/srv/mm-data"}"#,
        )
        .unwrap();
        assert_eq!(a.domain, "new.example.org");
        assert_eq!(a.data_dir, Path::new("/srv/mm-data"));
        assert_eq!(a.db_password.expose(), "first secret");
        assert_eq!(a.version.to_string(), "11.7.90");
        assert_eq!(a.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        let a =
            restored_answers(archived, &manifest(), r#"{"db_password": "second secret"}"#).unwrap();
        assert_eq!(a.db_password.expose(), "second secret");
        assert_eq!(a.domain, "old.example.com");

        for (changes, key) in [
            (r#"{"db_name": "other"}"#, "db_name"),
            (r#"{"db_user": "other"}"#, "db_user"),
            (r#"{"db_engine": "mariadb"}"#, "db_engine"),
            (r#"{"domain": "bad domain"}"#, "domain"),
            (r"[1]", "answers"),
        ] {
            let e = restored_answers(archived, &manifest(), changes).unwrap_err();
            assert!(matches!(e, RestoreError::Answers(_)), "{changes}: {e}");
            assert!(e.to_string().contains(key), "{changes}: {e}");
            assert!(e.changed_nothing());
        }
        // The archive's answers name another database than its dump: refused.
        let other =
            r#"{"domain": "old.example.com", "db_password": "x-secret-1", "db_name": "chat"}"#;
        assert!(restored_answers(other, &manifest(), "{}").is_err());
    }

    /// An archive laid out as `backup` makes one, from (name, kind, bytes).
    fn archive(path: &Path, members: &[(&str, char, &[u8])]) {
        let mut b = tar::Builder::new(File::create(path).unwrap());
        for (name, kind, bytes) in members {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o640);
            h.set_mtime(1_700_000_000);
            match kind {
                'd' => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    b.append_data(&mut h, name, std::io::empty()).unwrap();
                }
                'l' => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, name, std::str::from_utf8(bytes).unwrap())
                        .unwrap();
                }
                _ => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(bytes.len() as u64);
                    b.append_data(&mut h, name, *bytes).unwrap();
                }
            }
        }
        b.finish().unwrap();
    }

    #[test]
    fn the_files_go_back_in_place_and_a_member_through_a_symlink_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("box");
        fs::create_dir_all(&root).unwrap();
        let host = crate::state::test_host::host(&root);
        let a = answers::from_json(
            r#"{"domain": "new.example.org", "db_password": "x-secret-1"}"#,
            None,
        )
        .unwrap();
        let me = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        // Something already in the data directory (made by the first start): a file
        // the archive has is replaced, a link in the way is removed, not followed.
        let data = host.path(&a.data_dir);
        fs::create_dir_all(data.join("teams")).unwrap();
        fs::write(data.join("teams/a.txt"), "older").unwrap();
        fs::write(t.path().join("outside.txt"), "operator's").unwrap();
        std::os::unix::fs::symlink(t.path().join("outside.txt"), data.join("teams/b.txt")).unwrap();
        let ar = t.path().join("a.tar");
        archive(
            &ar,
            &[
                (
                    "mattermost-backup/database/mattermost-11.7.90.pgdump",
                    'f',
                    b"PGDMP dump",
                ),
                ("mattermost-backup/answers.json", 'f', b"{}"),
                (
                    "mattermost-backup/config.json",
                    'f',
                    b"{\"ServiceSettings\": {}}",
                ),
                ("mattermost-backup/data/", 'd', b""),
                ("mattermost-backup/data/teams/", 'd', b""),
                ("mattermost-backup/data/teams/a.txt", 'f', b"restored a"),
                ("mattermost-backup/data/teams/b.txt", 'f', b"restored b"),
                ("mattermost-backup/data/users/u1/pic.png", 'f', b"png"),
                ("mattermost-backup/plugins/p1/plugin.json", 'f', b"{}"),
                ("mattermost-backup/client-plugins/p1/main.js", 'f', b"js"),
                ("mattermost-backup/manifest.json", 'f', b"{}"),
            ],
        );
        let staging = root.join("staging");
        fs::create_dir_all(&staging).unwrap();
        let mut m = manifest();
        m.members = vec![];
        let got = put_back_files(&host, &ar, &m, &a, Path::new("/staging"), me).unwrap();
        assert_eq!(got.files, 6, "the teams directory and 5 files");
        assert_eq!(fs::read(got.dump.as_ref().unwrap()).unwrap(), b"PGDMP dump");
        let mode = fs::metadata(got.dump.unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(got.config.unwrap(), b"{\"ServiceSettings\": {}}");
        assert_eq!(
            fs::read_to_string(data.join("teams/a.txt")).unwrap(),
            "restored a"
        );
        assert_eq!(
            fs::read_to_string(data.join("teams/b.txt")).unwrap(),
            "restored b"
        );
        assert!(
            !fs::symlink_metadata(data.join("teams/b.txt"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(t.path().join("outside.txt")).unwrap(),
            "operator's"
        );
        assert_eq!(
            fs::read_to_string(data.join("users/u1/pic.png")).unwrap(),
            "png"
        );
        let install = host.path(&a.install_dir);
        assert_eq!(
            fs::read_to_string(install.join("plugins/p1/plugin.json")).unwrap(),
            "{}"
        );
        assert_eq!(
            fs::read_to_string(install.join("client/plugins/p1/main.js")).unwrap(),
            "js"
        );

        // An archive that plants a link, then writes through it: refused, and
        // nothing is written where the link points.
        let evil = t.path().join("evil.tar");
        let target = t.path().join("target");
        fs::create_dir_all(&target).unwrap();
        archive(
            &evil,
            &[
                (
                    "mattermost-backup/data/hop",
                    'l',
                    target.to_str().unwrap().as_bytes(),
                ),
                ("mattermost-backup/data/hop/planted", 'f', b"x"),
            ],
        );
        let e = put_back_files(&host, &evil, &m, &a, Path::new("/staging"), me).unwrap_err();
        assert!(
            e.cause.contains("mattermost-backup/data/hop/planted"),
            "{}",
            e.cause
        );
        assert!(e.cause.contains("through a symlink"), "{}", e.cause);
        assert!(!target.join("planted").exists());
    }
}

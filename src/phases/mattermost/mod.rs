//! Mattermost from the official tarball: fetch + verify, unpack beside the install
//! directory and move into place, the system user, directories and ownership, and
//! config.json edited as JSON with every other key kept in order.

pub mod dirs;
pub mod fetch;
pub mod signature;
pub mod unpack;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::thread::ScopedJoinHandle;

use serde_json::Value;

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec};
use crate::plan::{self, SERVICE_USER};
use crate::releases::Version;

const P: PhaseId = PhaseId::Mattermost;
pub use crate::state::installed::{RELEASE_RECORD, ReleaseRecord};

/// The tarball fetched in a background thread while apt works.
pub type Fetch<'a> = ScopedJoinHandle<'a, Result<PathBuf, fetch::FetchError>>;

pub struct Mattermost;

/// The release record, when the tool installed this release here.
fn record(ctx: &Ctx) -> Option<ReleaseRecord> {
    let bytes = ctx.host.read(Path::new(RELEASE_RECORD)).ok()??;
    serde_json::from_slice(&bytes).ok()
}

fn wanted_record(ctx: &Ctx) -> ReleaseRecord {
    let r = &ctx.plan.release;
    ReleaseRecord {
        version: r.version.to_string(),
        edition: r.edition.to_owned(),
        sha256: r.sha256.clone(),
        install_dir: ctx.answers.install_dir.clone(),
    }
}

/// Whether the record is of the wanted release. With no SHA-256 in the plan (the
/// release is verified by its GPG signature), the record's hash is of the tarball
/// that signature verified, and the version, edition and directory decide.
fn same_release(r: &ReleaseRecord, want: &ReleaseRecord) -> bool {
    if want.sha256.is_empty() {
        (&r.version, &r.edition, &r.install_dir)
            == (&want.version, &want.edition, &want.install_dir)
    } else {
        r == want
    }
}

/// `bin/mattermost version` of what is in the install directory.
pub fn binary_version(ctx: &Ctx) -> Option<Version> {
    let bin = ctx.answers.install_path("bin/mattermost");
    if !ctx.host.path(&bin).is_file() {
        return None;
    }
    let bin = bin.to_string_lossy();
    let cmd = if ctx.host.lookup_user(SERVICE_USER).is_some() {
        Cmd::as_user(SERVICE_USER, &bin, &["version"])
    } else {
        Cmd::new(&bin, &["version"])
    };
    let out = ctx.host.probe(&cmd).ok()?;
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether the planned release is what sits in the install directory.
fn release_in_place(ctx: &Ctx) -> (bool, String) {
    let want = ctx.plan.release.version;
    match (record(ctx), binary_version(ctx)) {
        (Some(r), Some(v)) if same_release(&r, &wanted_record(ctx)) && v == want => {
            (true, format!("{v} ({})", r.edition))
        }
        (_, Some(v)) => (
            false,
            format!(
                "{v} is in {}, {want} planned",
                ctx.answers.install_dir.display()
            ),
        ),
        (_, None) => (
            false,
            format!("not installed in {}", ctx.answers.install_dir.display()),
        ),
    }
}

/// Directories that must exist and belong to the service user.
fn owned_dirs(ctx: &Ctx) -> Vec<PathBuf> {
    let mut dirs = vec![ctx.answers.install_dir.clone()];
    dirs.extend(ctx.plan.directories.iter().cloned());
    dirs
}

/// config.json with the plan's edits applied, and whether that differs from now.
fn desired_config(ctx: &Ctx) -> Result<(Value, bool), PhaseError> {
    let path = &ctx.plan.config_json;
    let bytes = ctx
        .host
        .read(path)?
        .ok_or_else(|| PhaseError::new(format!("{} is missing", path.display())))?;
    let mut cfg: Value = serde_json::from_slice(&bytes).map_err(|e| {
        PhaseError::new(format!("{} is not valid JSON: {e}", path.display()))
            .fix("fix the file by hand, or restore it from /var/backups/mattermost-setup")
    })?;
    let changed = plan::apply_config_edits(&mut cfg, &ctx.plan.config_edits);
    Ok((cfg, changed))
}

fn config_spec(ctx: &Ctx, cfg: &Value, owner: Option<(u32, u32)>) -> FileSpec {
    FileSpec {
        path: ctx.plan.config_json.clone(),
        content: plan::config_to_string(cfg).into_bytes(),
        mode: 0o600,
        owner,
    }
}

impl Phase for Mattermost {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_mattermost()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let host = ctx.host;
        let mut checks = Vec::new();
        let (in_place, detail) = release_in_place(ctx);
        checks.push(Check::when(P, in_place, "Mattermost release", detail));
        let user = host.lookup_user(SERVICE_USER);
        checks.push(Check::when(
            P,
            user.is_some(),
            "system user mattermost",
            user.map_or_else(|| "missing".to_owned(), |(u, g)| format!("uid {u} gid {g}")),
        ));
        for dir in owned_dirs(ctx) {
            let meta = std::fs::symlink_metadata(host.path(&dir));
            let (ok, detail) = match (&meta, user) {
                (Ok(m), Some((uid, gid))) if m.is_dir() => (
                    (m.uid(), m.gid()) == (uid, gid)
                        && fixed_mode(ctx, &dir, m.mode() & 0o7777).is_none(),
                    format!(
                        "owner {}:{}, mode {:o}",
                        m.uid(),
                        m.gid(),
                        m.mode() & 0o7777
                    ),
                ),
                (Ok(_), _) => (
                    false,
                    "exists but the service user is missing or it is not a directory".into(),
                ),
                (Err(e), _) => (false, e.to_string()),
            };
            checks.push(
                Check::when(P, ok, format!("directory {}", dir.display()), detail)
                    .with_fix("repair restores owner and mode"),
            );
        }
        if host.path(&ctx.plan.config_json).is_file() {
            let (_, changed) = desired_config(ctx)?;
            let differing: Vec<String> = if changed {
                let current: Value = host
                    .read(&ctx.plan.config_json)?
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                ctx.plan
                    .config_edits
                    .iter()
                    .filter(|e| current.get(e.section).and_then(|s| s.get(e.key)) != Some(&e.value))
                    .map(|e| format!("{}.{}", e.section, e.key))
                    .collect()
            } else {
                vec![]
            };
            checks.push(Check::when(
                P,
                !changed,
                "config.json settings",
                if changed {
                    format!("differs: {}", differing.join(", "))
                } else {
                    "as planned".into()
                },
            ));
            let m = std::fs::metadata(host.path(&ctx.plan.config_json)).ok();
            let meta_ok = m.as_ref().is_some_and(|m| {
                m.mode() & 0o7777 == 0o600 && user.is_none_or(|(u, g)| (m.uid(), m.gid()) == (u, g))
            });
            checks.push(Check::when(
                P,
                meta_ok,
                "config.json mode 600, owner mattermost",
                m.map_or_else(
                    || "missing".into(),
                    |m| {
                        format!(
                            "mode {:o}, owner {}:{}",
                            m.mode() & 0o7777,
                            m.uid(),
                            m.gid()
                        )
                    },
                ),
            ));
        } else {
            checks.push(Check::fail(
                P,
                "config.json settings",
                format!("{} is missing", ctx.plan.config_json.display()),
            ));
        }
        for (spec, what, key) in [
            (license_spec(ctx, user)?, "license file", "license_file"),
            (
                db_ca_spec(ctx, user)?,
                "database CA certificate",
                "db_ca_file",
            ),
        ] {
            let Some(spec) = spec else { continue };
            let state = host.file_state(&spec)?;
            checks.push(
                Check::when(
                    P,
                    state == crate::host::FileState::Same,
                    what,
                    format!("{} ({state:?})", spec.path.display()),
                )
                .with_fix(format!("repair copies the answers' {key} there")),
            );
        }
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let host = ctx.host;
        let a = ctx.answers;
        let (in_place, _) = release_in_place(ctx);
        // The SHA-256 of a tarball verified by signature, for the record.
        let mut verified_sha256 = record(ctx).map(|r| r.sha256).filter(|_| in_place);
        // Only directories that are absent, empty, already ours or adopted are
        // taken (preflight refused the rest before anything changed; judged again
        // here, as nothing may be chowned that was not taken).
        for v in dirs::judge(host, &ctx.own, a) {
            let key = v.path.to_string_lossy().into_owned();
            match &v.take {
                Err((problem, fix)) => {
                    return Err(PhaseError::new(problem.clone()).fix(fix.clone()));
                }
                Ok(dirs::Take::Create) => ctx.claim("directory", &key)?,
                Ok(dirs::Take::Empty | dirs::Take::Adopt(_)) => {
                    ctx.own.found("directory", &key);
                    ctx.own.take_over(&key);
                    ctx.own.save(host)?;
                    host.note(&format!("[mattermost] taking over {key}: {}", v.detail()));
                }
                Ok(dirs::Take::Ours(_)) => {}
            }
        }
        if !in_place {
            if let Some(existing) = binary_version(ctx) {
                if existing != ctx.plan.release.version {
                    return Err(PhaseError::new(format!(
                        "Mattermost {existing} is already installed in {}; {} is planned",
                        a.install_dir.display(),
                        ctx.plan.release.version
                    ))
                    .fix(format!(
                        "set version to \"{existing}\" in the answers to keep it (upgrades arrive with `mattermost-setup upgrade`)"
                    )));
                }
            }
            ctx.collect_fetch(true)?;
            let tarball = match ctx.fetched.take() {
                Some(path) => path,
                None => fetch::fetch(host, &ctx.plan.release, &ctx.cancel)?,
            };
            verified_sha256 = Some(
                signature::recorded_sha256(&ctx.plan.release, &tarball).map_err(|e| {
                    PhaseError::new(format!("cannot read {}: {e}", tarball.display()))
                })?,
            );
            let box_staging = unpack::staging_dir(&a.install_dir);
            let staging = host.path(&box_staging);
            // The tarball's own SHA-256 (for a signature-checked release, computed):
            // an unpack made ahead counts only for this very tarball.
            let this_sha = verified_sha256.clone().unwrap_or_default();
            let top = if let Some(top) = unpack::unpacked_ahead(&staging, &this_sha) {
                host.note(&format!(
                    "[mattermost] using the release unpacked into {} while apt worked",
                    staging.display()
                ));
                top
            } else {
                ctx.step(P, format!("unpacking {}", tarball.display()));
                unpack::unpack(host, &tarball, &box_staging)?
            };
            let box_top = box_staging.join(top.file_name().unwrap_or_default());
            let moved = unpack::merge_no_clobber(host, &box_top, &a.install_dir).map_err(|e| {
                PhaseError::new(format!(
                    "cannot move the new files into {}: {e}",
                    a.install_dir.display()
                ))
            })?;
            host.note(&format!(
                "[mattermost] {moved} entries moved into {}",
                a.install_dir.display()
            ));
            let _ = host.remove_dir_all(&box_staging);
            ctx.restart_mattermost = true;
        }

        if host.lookup_user(SERVICE_USER).is_some() {
            ctx.own.found("user", SERVICE_USER);
        } else {
            ctx.claim("user", SERVICE_USER)?;
            ctx.step(P, "creating the system user mattermost");
            let home = a.install_dir.to_string_lossy();
            host.run(&Cmd::new(
                "useradd",
                &[
                    "--system",
                    "--user-group",
                    "--home-dir",
                    &home,
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVICE_USER,
                ],
            ))?;
        }
        let (uid, gid) = host
            .lookup_user(SERVICE_USER)
            .ok_or_else(|| PhaseError::new("the mattermost user is missing right after useradd"))?;

        for dir in owned_dirs(ctx) {
            let existed = std::fs::symlink_metadata(host.path(&dir)).is_ok();
            let fd = dirs::open_dir(&host.path(&dir), true).map_err(|e| {
                PhaseError::new(format!("cannot create or open {}: {e}", dir.display()))
            })?;
            let mode = dirs::mode_of(&fd).unwrap_or(0);
            let want = if existed {
                fixed_mode(ctx, &dir, mode)
            } else {
                host.note(&format!("[mattermost] created {}", dir.display()));
                Some(0o750).filter(|w| *w != mode)
            };
            if let Some(want) = want {
                dirs::set_mode(&fd, want)
                    .map_err(|e| PhaseError::new(format!("cannot chmod {}: {e}", dir.display())))?;
                if existed {
                    host.note(&format!(
                        "[mattermost] mode of {} set to {want:o} (was {mode:o})",
                        dir.display()
                    ));
                }
            }
        }
        let mut fixed = 0usize;
        let mut roots = vec![a.install_dir.clone()];
        if !a.data_dir.starts_with(&a.install_dir) {
            roots.push(a.data_dir.clone());
        }
        for root in roots {
            let done = dirs::chown_tree(&host.path(&root), uid, gid).map_err(|e| {
                PhaseError::new(format!("cannot set the owner of {}: {e}", root.display()))
            })?;
            fixed += done.fixed;
            for p in done.skipped_links {
                (host.events())(crate::events::Event::Warning {
                    message: format!(
                        "{} has several hard links; its owner was left as it is",
                        p.display()
                    ),
                });
            }
        }
        if fixed > 0 {
            host.note(&format!(
                "[mattermost] ownership set to mattermost on {fixed} entries"
            ));
        }

        for (spec, what) in [
            (license_spec(ctx, Some((uid, gid)))?, "license"),
            (
                db_ca_spec(ctx, Some((uid, gid)))?,
                "database CA certificate",
            ),
        ] {
            let Some(spec) = spec else { continue };
            if host.write_file(&spec)?.changed() {
                ctx.step(P, format!("{what} in {}", spec.path.display()));
                ctx.restart_mattermost = true;
            }
        }

        let (cfg, changed) = desired_config(ctx)?;
        if changed {
            ctx.step(
                P,
                "setting SiteURL, ListenAddress, database, file and plugin paths in config.json",
            );
        }
        if host
            .write_file(&config_spec(ctx, &cfg, Some((uid, gid))))?
            .changed()
        {
            ctx.restart_mattermost = true;
        }

        let mut rec = wanted_record(ctx);
        if rec.sha256.is_empty() {
            rec.sha256 = verified_sha256.unwrap_or_default();
        }
        let rec = serde_json::to_string_pretty(&rec).unwrap_or_default();
        host.write_file(&FileSpec {
            path: PathBuf::from(RELEASE_RECORD),
            content: format!("{rec}\n").into_bytes(),
            mode: 0o644,
            owner: None,
        })?;
        Ok(())
    }
}

/// The copy of the answers' license file Mattermost reads
/// (`ServiceSettings.LicenseFileLocation`): 0600, the service user's.
fn license_spec(ctx: &Ctx, owner: Option<(u32, u32)>) -> Result<Option<FileSpec>, PhaseError> {
    let Some(src) = &ctx.answers.license_file else {
        return Ok(None);
    };
    let content = ctx.host.read(src)?.ok_or_else(|| {
        PhaseError::new(format!("license_file {} does not exist", src.display())).fix(
            "give the path of the Enterprise license file (.mattermost-license) in license_file",
        )
    })?;
    Ok(Some(FileSpec {
        path: crate::plan::license_path(ctx.answers),
        content,
        mode: 0o600,
        owner,
    }))
}

/// The copy of `db_ca_file` Mattermost reads (the DSN's sslrootcert), the service
/// user's: the operator's file may be where that user cannot read.
fn db_ca_spec(ctx: &Ctx, owner: Option<(u32, u32)>) -> Result<Option<FileSpec>, PhaseError> {
    let (Some(copy), Some(src)) = (
        ctx.answers.db_ca_copy(),
        ctx.answers.remote_db().and_then(|r| r.ca_file),
    ) else {
        return Ok(None);
    };
    let content = ctx.host.read(&src)?.ok_or_else(|| {
        PhaseError::new(format!("db_ca_file {} does not exist", src.display()))
            .fix("give the CA certificate (PEM) of the database server in db_ca_file")
    })?;
    Ok(Some(FileSpec {
        path: copy,
        content,
        mode: 0o644,
        owner,
    }))
}

/// The mode a directory should have instead of `mode`, or `None` when it is right:
/// the data directory is 0750 (files of every team live there); the others need
/// rwx for the service user and must not be writable by everyone.
fn fixed_mode(ctx: &Ctx, dir: &Path, mode: u32) -> Option<u32> {
    if dir == ctx.answers.data_dir {
        return (mode != 0o750).then_some(0o750);
    }
    let want = (mode | 0o700) & !0o022;
    (want != mode).then_some(want)
}

//! Upgrade: requirements checked before anything is touched; the database dumped and
//! the config snapshotted first (stop if that fails); the new release unpacked beside
//! the old one; config, logs, plugins, client/plugins and data moved over (renames:
//! not one byte rewritten); switch; health gate; on failure everything is moved back
//! and the previous release runs again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::answers::{Answers, DbEngine};
use crate::engine::Cancel;
use crate::host::{Cmd, Host, now_stamp};
use crate::phases::PhaseError;
use crate::phases::mattermost::{RELEASE_RECORD, ReleaseRecord, fetch, unpack};
use crate::plan::{Plan, SERVICE_USER};
use crate::probes::http;
use crate::releases::Version;

/// Directories that belong to the operator and move to the new release.
pub const PRESERVED: [&str; 5] = ["config", "logs", "plugins", "client/plugins", "data"];
const HEALTH_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Outcome {
    pub from: Version,
    pub to: Version,
    pub dump: PathBuf,
    pub previous_tree: PathBuf,
}

/// Why an upgrade to `to` from `from` cannot go ahead, or `Ok`.
pub fn requirements(
    a: &Answers,
    from: Version,
    to: Version,
    pg_major: Option<u32>,
    config: &serde_json::Value,
) -> Result<(), PhaseError> {
    if to == from {
        return Err(
            PhaseError::new(format!("Mattermost {to} is already installed")).fix("nothing to do"),
        );
    }
    if to < from {
        return Err(PhaseError::new(format!(
            "{to} is older than the installed {from}: downgrades are not supported"
        ))
        .fix("restore the database dump and the previous tree kept by the last upgrade instead"));
    }
    if a.db_engine.is_mysql_family() && !to.supports_mysql() {
        return Err(PhaseError::new(format!(
            "Mattermost {to} does not run on {}: MySQL support ended with 10.11",
            a.db_engine.name()
        ))
        .fix("migrate to PostgreSQL first (Mattermost's migration-assist tool with pgloader: \
              https://docs.mattermost.com/deployment-guide/postgres-migration-assist-tool.html), then upgrade; \
              10.11.x is the last version you can reach on MySQL/MariaDB"));
    }
    if a.db_engine == DbEngine::Postgresql {
        if let Some(pg) = pg_major {
            if pg < to.min_postgresql() {
                return Err(PhaseError::new(format!(
                    "Mattermost {to} needs PostgreSQL {} or newer; this server runs {pg}",
                    to.min_postgresql()
                ))
                .fix("upgrade PostgreSQL first (pg_upgradecluster), then Mattermost"));
            }
        }
    }
    let v7_1 = Version::new(7, 1, 0);
    if from < v7_1 && to > Version::new(7, 1, u32::MAX) {
        return Err(PhaseError::new(format!(
            "from {from} the path goes through the 7.1 ESR first"
        ))
        .fix("upgrade to 7.1.x (e.g. --version 7.1.9), then to the target"));
    }
    if to.major >= 11 && from.major < 11 {
        let flag = |section: &str, key: &str| {
            config
                .get(section)
                .and_then(|s| s.get(key))
                .and_then(serde_json::Value::as_bool)
        };
        if flag("TeamSettings", "ExperimentalViewArchivedChannels") == Some(false) {
            return Err(PhaseError::new("Mattermost 11 refuses to start with TeamSettings.ExperimentalViewArchivedChannels = false")
                .fix("set it to true in config.json (System Console > Site Configuration), then upgrade"));
        }
        if flag("ExperimentalSettings", "ClientSideCertEnable") == Some(true) {
            return Err(PhaseError::new("Mattermost 11 refuses to start with ExperimentalSettings.ClientSideCertEnable = true")
                .fix("turn client-side certificates off, then upgrade"));
        }
    }
    Ok(())
}

fn io(what: &str, p: &Path) -> impl FnOnce(std::io::Error) -> PhaseError {
    let msg = format!("{what} {}", p.display());
    move |e| PhaseError::new(format!("{msg}: {e}"))
}

/// The MariaDB/MySQL dump of `db` as root over the server's socket, on stdout: one
/// consistent snapshot (`--single-transaction`) while Mattermost may still write.
pub fn mysql_dump_cmd(engine: DbEngine, socket: &str, db: &str) -> Cmd {
    let client = if engine == DbEngine::Mysql {
        "mysqldump"
    } else {
        "mariadb-dump"
    };
    Cmd::new(
        client,
        &[
            "--protocol=socket",
            "-S",
            socket,
            "-u",
            "root",
            "--single-transaction",
            "--routines",
            db,
        ],
    )
}

/// Puts `db` back as the dump file has it: dropped, created again (utf8mb4, as the
/// install makes it) and loaded, as root over the server's socket. The dump is opened
/// first, so an unreadable one stops the restore before anything is dropped. The
/// names travel as positional parameters, never spliced into the script.
pub fn mysql_restore_cmd(engine: DbEngine, socket: &str, db: &str, dump: &str) -> Cmd {
    let client = if engine == DbEngine::Mysql {
        "mysql"
    } else {
        "mariadb"
    };
    Cmd::new(
        "sh",
        &[
            "-c",
            "set -e; exec 3< \"$4\"; c=\"$1 --protocol=socket -S $2 -u root\"; \
             $c -e \"DROP DATABASE IF EXISTS \\`$3\\`; CREATE DATABASE \\`$3\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci\"; \
             $c \"$3\" <&3",
            "sh",
            client,
            socket,
            db,
            dump,
        ],
    )
    .timeout(crate::host::DATA_TIMEOUT)
}

/// Dumps the database to `dir` (0700) as root-owned 0600 files.
pub(crate) fn dump_database(
    host: &Host,
    a: &Answers,
    dir: &Path,
    from: Version,
) -> Result<PathBuf, PhaseError> {
    host.create_dir_all(dir).map_err(io("cannot create", dir))?;
    host.set_mode(dir, 0o700).map_err(io("cannot chmod", dir))?;
    let (file, cmd) = match a.db_engine {
        DbEngine::Postgresql => {
            let f = dir.join(format!("{}-{from}.pgdump", a.db_name));
            (
                f.clone(),
                Cmd::as_user("postgres", "pg_dump", &["-Fc", "-d", &a.db_name])
                    .stdout_to(host.path(&f))
                    .timeout(crate::host::DATA_TIMEOUT),
            )
        }
        DbEngine::Mariadb | DbEngine::Mysql => {
            let f = dir.join(format!("{}-{from}.sql", a.db_name));
            (
                f.clone(),
                mysql_dump_cmd(a.db_engine, crate::dsn::MYSQL_SOCKET, &a.db_name)
                    .stdout_to(host.path(&f))
                    .timeout(crate::host::DATA_TIMEOUT),
            )
        }
    };
    host.run(&cmd).map_err(|e| PhaseError::from(e).fix("the upgrade stopped before changing anything; fix the dump (disk space?) and run it again"))?;
    let size = std::fs::metadata(host.path(&file)).map_or(0, |m| m.len());
    if size == 0 {
        return Err(
            PhaseError::new(format!("the database dump {} is empty", file.display()))
                .fix("the upgrade stopped before changing anything; check the log"),
        );
    }
    Ok(file)
}

/// Moves the preserved directories from `from_tree` into `to_tree` (box paths; errors
/// name the real ones). Forward
/// (`replace` true): the release's own copies (an empty logs/, a default config/) are
/// parked as `<dir>.release-default`. Back (`replace` false): a directory already in
/// `to_tree` is the operator's and is never displaced.
fn move_preserved(
    host: &Host,
    from_tree: &Path,
    to_tree: &Path,
    data_inside: bool,
    replace: bool,
) -> Result<Vec<String>, PhaseError> {
    let mut moved = Vec::new();
    for rel in PRESERVED {
        if rel == "data" && !data_inside {
            continue;
        }
        let (box_src, box_dst) = (from_tree.join(rel), to_tree.join(rel));
        let (src, dst) = (host.path(&box_src), host.path(&box_dst));
        if !src.exists() {
            continue;
        }
        if dst.exists() && !replace {
            continue;
        }
        if dst.exists() {
            let parked = to_tree.join(format!("{rel}.release-default"));
            host.rename(&box_dst, &parked)
                .map_err(io("cannot set aside", &dst))?;
        }
        if let (Some(parent), Some(box_parent)) = (dst.parent(), box_dst.parent()) {
            host.create_dir_all(box_parent)
                .map_err(io("cannot create", parent))?;
        }
        host.rename(&box_src, &box_dst)
            .map_err(io("cannot move", &src))?;
        moved.push(rel.to_owned());
    }
    Ok(moved)
}

fn health(expected: Version) -> Result<String, String> {
    let r = http::get(
        crate::plan::UPSTREAM_ADDR,
        "localhost",
        "/api/v4/system/ping",
    )
    .map_err(|e| e.to_string())?;
    let version = r.header("X-Version-ID").unwrap_or("").to_owned();
    let version_ok =
        version == expected.to_string() || version.starts_with(&format!("{expected}."));
    if r.status == 200 && r.body.contains("\"OK\"") && version_ok {
        Ok(format!("ping 200, X-Version-ID {version}"))
    } else {
        Err(format!(
            "ping {} {}, X-Version-ID {version:?}",
            r.status,
            r.body.trim()
        ))
    }
}

/// Starts Mattermost without blocking on systemd (a `Type=notify` start can block for
/// an hour) and waits until the unit runs: a crash ends the wait at once.
fn start_unit(host: &Host, cancel: &Cancel) -> Result<(), String> {
    use crate::phases::service;
    let before = service::queue(host, "start").map_err(|e| e.to_string())?;
    service::wait_up(
        Some(&before),
        service::START_WAIT,
        cancel,
        &mut || service::unit_state(host),
        &mut || Ok(String::new()),
        &mut |line| host.note(&format!("[upgrade] {line}")),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Waits for a healthy ping. A server that does not listen yet gets the whole wait;
/// one that answers, but not OK, gets a few seconds (it is up and unhealthy).
fn wait_healthy(expected: Version, cancel: &Cancel) -> Result<String, String> {
    let deadline = Instant::now() + HEALTH_WAIT;
    let mut answering_since: Option<Instant> = None;
    loop {
        match health(expected) {
            Ok(s) => return Ok(s),
            Err(e) => {
                let answering = e.starts_with("ping ");
                if answering {
                    answering_since.get_or_insert_with(Instant::now);
                }
                let unhealthy_too_long =
                    answering_since.is_some_and(|t| t.elapsed() > Duration::from_secs(10));
                if unhealthy_too_long || Instant::now() > deadline || cancel.is_cancelled() {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// Where an upgrade in progress is recorded.
pub const UPGRADE_RECORD: &str = "/var/lib/mattermost-setup/upgrade.json";

/// How far an upgrade got; the next run finishes it from there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Trees are being moved; the new release never ran: roll back the trees.
    #[default]
    Switching,
    /// The new release was started and may have migrated the database: roll back
    /// the trees and restore the dump.
    Started,
    /// The new release passed its health check: the upgrade is done, only its
    /// bookkeeping (release record, answers) may be unfinished: finish it.
    Committed,
}

/// What a switch in progress needs to be undone or finished.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UpgradeRecord {
    pub from: String,
    pub to: String,
    pub install: PathBuf,
    pub previous: PathBuf,
    pub new_tree: PathBuf,
    pub data_inside: bool,
    #[serde(default)]
    pub stage: Stage,
    /// The dump taken before anything changed.
    #[serde(default)]
    pub dump: Option<PathBuf>,
    #[serde(default)]
    pub db_engine: Option<DbEngine>,
    #[serde(default)]
    pub db_name: Option<String>,
    /// The new release, for the release record written at the commit.
    #[serde(default)]
    pub edition: String,
    #[serde(default)]
    pub sha256: String,
    /// The answers' `version` and `sha256` once the upgrade is committed.
    #[serde(default)]
    pub answers_version: Option<String>,
    #[serde(default)]
    pub answers_sha256: Option<String>,
}

fn upgrade_staging(install: &Path) -> PathBuf {
    let name = install
        .file_name()
        .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned());
    install.with_file_name(format!(".{name}.mattermost-setup-upgrade"))
}

fn write_record(host: &Host, r: &UpgradeRecord) -> Result<(), PhaseError> {
    crate::state::save_json(host, UPGRADE_RECORD, r)
        .map_err(|e| PhaseError::from(crate::state::StateError::Write(e)))
}

fn read_record(host: &Host) -> Result<Option<UpgradeRecord>, PhaseError> {
    let Some(bytes) = host.read(Path::new(UPGRADE_RECORD))? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        PhaseError::new(format!("{UPGRADE_RECORD} is damaged: {e}"))
            .fix("inspect it and the directories it names by hand")
    })
}

fn remove_record(host: &Host) -> Result<(), PhaseError> {
    crate::state::remove_record(host, UPGRADE_RECORD)
        .map_err(|e| PhaseError::from(crate::state::StateError::Write(e)))
}

/// Stops Mattermost; nothing is moved while it might still run.
fn stop_service(host: &Host) -> Result<(), PhaseError> {
    host.run(&Cmd::new("systemctl", &["stop", "mattermost.service"]))
        .map(|_| ())
        .map_err(|e| {
            PhaseError::from(e).fix(
                "nothing was moved while Mattermost might still run: stop it by hand \
                 (`systemctl stop mattermost`), then run the same command again",
            )
        })
}

/// Puts the database back as the dump has it, with Mattermost stopped: the new
/// release may have migrated it, and the previous one must not run on that.
fn restore_dump(host: &Host, r: &UpgradeRecord) -> Result<PathBuf, String> {
    let (Some(dump), Some(engine), Some(db)) = (&r.dump, r.db_engine, &r.db_name) else {
        return Err(format!(
            "{UPGRADE_RECORD} does not name the dump (written by an older mattermost-setup)"
        ));
    };
    if !host.path(dump).is_file() {
        return Err(format!("the dump {} is missing", dump.display()));
    }
    restore_database(host, engine, db, &host.path(dump))?;
    Ok(dump.clone())
}

/// Drops the database `db` and loads it from `dump` (a real path, root's file: the
/// shell running as root opens it and hands it to the client on stdin); the dump
/// is opened before anything is dropped. PostgreSQL's custom-format dump creates the
/// database again with its owner and grants; MariaDB's keeps the user's grants.
pub(crate) fn restore_database(
    host: &Host,
    engine: DbEngine,
    db: &str,
    dump: &Path,
) -> Result<(), String> {
    let real = dump.to_string_lossy().into_owned();
    let cmd = match engine {
        DbEngine::Postgresql => Cmd::new(
            "sh",
            &[
                "-c",
                "exec runuser -u postgres -- pg_restore --clean --if-exists --create --exit-on-error -d postgres < \"$1\"",
                "sh",
                &real,
            ],
        )
        .timeout(crate::host::DATA_TIMEOUT),
        DbEngine::Mariadb | DbEngine::Mysql => {
            mysql_restore_cmd(engine, crate::dsn::MYSQL_SOCKET, db, &real)
        }
    };
    host.run(&cmd).map_err(|e| e.to_string())?;
    Ok(())
}

/// What a rollback did.
struct RolledBack {
    /// The new release's tree (and any unfinished staging), kept for inspection.
    kept: Vec<PathBuf>,
    /// The dump the database was restored from, when the new release had run.
    restored: Option<PathBuf>,
}

fn kept_list(kept: &[PathBuf]) -> String {
    if kept.is_empty() {
        String::new()
    } else {
        format!(
            "; kept for inspection (delete when done): {}",
            kept.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Undoes an upgrade in `r.stage`: Mattermost stopped (or nothing is moved), every
/// preserved directory back in the previous release, the new tree set aside as
/// `<install>-<to>.<why>-<stamp>`, the database restored from the dump when the new
/// release had started, the record removed, the previous release started.
fn roll_back(host: &Host, r: &UpgradeRecord, why: &str) -> Result<RolledBack, PhaseError> {
    stop_service(host)?;
    let (inst, prev, new) = (
        host.path(&r.install),
        host.path(&r.previous),
        host.path(&r.new_tree),
    );
    let mut kept = Vec::new();
    if prev.exists() {
        if inst.exists() {
            // The new release was switched in: give its preserved directories back.
            move_preserved(host, &r.install, &r.previous, r.data_inside, false)?;
            let aside = r.install.with_file_name(format!(
                "{}-{}.{why}-{}",
                r.install
                    .file_name()
                    .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned()),
                r.to,
                now_stamp()
            ));
            host.rename(&r.install, &aside)
                .map_err(io("cannot set aside", &r.install))?;
            kept.push(aside);
        } else if new.exists() {
            move_preserved(host, &r.new_tree, &r.previous, r.data_inside, false)?;
        }
        host.rename(&r.previous, &r.install)
            .map_err(io("cannot restore", &r.previous))?;
    } else if new.exists() {
        // Stopped before the trees were swapped: the old release is still in place.
        move_preserved(host, &r.new_tree, &r.install, r.data_inside, false)?;
    }
    // Whatever is left of the new tree is kept aside (never deleted: after a crash
    // nobody can be sure it holds nothing of the operator's).
    let staging = upgrade_staging(&r.install);
    if r.new_tree != r.install && host.path(&staging).exists() {
        let aside = staging.with_file_name(format!(
            ".{}.mattermost-setup-upgrade.interrupted-{}",
            r.install
                .file_name()
                .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned()),
            now_stamp()
        ));
        host.rename(&staging, &aside)
            .map_err(io("cannot set aside", &staging))?;
        kept.push(aside);
    }
    let restored = if r.stage == Stage::Started {
        match restore_dump(host, r) {
            Ok(d) => {
                host.note(&format!("[upgrade] database restored from {}", d.display()));
                Some(d)
            }
            Err(reason) => {
                remove_record(host)?;
                return Err(PhaseError::new(format!(
                    "the upgrade {} -> {} was rolled back, but {} had started and may have migrated the database, \
                     and the dump could not be restored: {reason}. Mattermost {} is left stopped so it does not run on \
                     a database it does not know{}",
                    r.from, r.to, r.to, r.from, kept_list(&kept)
                ))
                .fix(format!(
                    "restore the dump by hand (PostgreSQL: `pg_restore --clean --if-exists --create -d postgres DUMP` as postgres; \
                     MariaDB/MySQL: recreate the database and load DUMP), then `systemctl start mattermost`; \
                     the dump is {}",
                    r.dump.as_ref().map_or_else(|| "in /var/backups/mattermost-setup".to_owned(), |d| d.display().to_string())
                )));
            }
        }
    } else {
        None
    };
    remove_record(host)?;
    // Started and waited for here (bounded by the command's timeout): a start job
    // still pending when the service phase records the unit's run would be merged
    // with its restart, and that phase would wait for a run that never comes.
    host.run(&Cmd::new("systemctl", &["start", "mattermost.service"]))?;
    Ok(RolledBack { kept, restored })
}

/// The answers once the upgrade is committed: the version as the upgrade was asked
/// for ("esr" stays "esr": the release record says what is installed).
fn committed_answers(host: &Host, r: &UpgradeRecord) -> Result<Option<Answers>, PhaseError> {
    let Some(text) = host.read(Path::new(crate::answers::SAVED_ANSWERS))? else {
        return Ok(None);
    };
    let saved = crate::answers::from_saved_json(&String::from_utf8_lossy(&text))
        .map_err(|e| PhaseError::new(format!("{}: {e}", crate::answers::SAVED_ANSWERS)))?;
    let Some(version) = &r.answers_version else {
        return Ok(None);
    };
    let changes = serde_json::json!({ "version": version, "sha256": r.answers_sha256 });
    let next = super::reconfigure::merge(&saved, &changes.to_string())
        .map_err(|e| PhaseError::new(format!("upgrade: {e}")))?;
    Ok((next != saved).then_some(next))
}

/// The commit's bookkeeping, after the commit point (the record says `committed`).
/// Every step can be redone: a run killed anywhere in here is finished by the next.
fn finish_commit(host: &Host, r: &UpgradeRecord) -> Result<(), PhaseError> {
    let rec = ReleaseRecord {
        version: r.to.clone(),
        edition: r.edition.clone(),
        sha256: r.sha256.clone(),
        install_dir: r.install.clone(),
    };
    host.write_file(&crate::host::FileSpec {
        path: RELEASE_RECORD.into(),
        content: format!(
            "{}\n",
            serde_json::to_string_pretty(&rec).unwrap_or_default()
        )
        .into_bytes(),
        mode: 0o644,
        owner: None,
    })?;
    host.note(&format!(
        "[upgrade] commit 2/3: the release record says {}",
        r.to
    ));
    if let Some(a) = committed_answers(host, r)? {
        crate::engine::save_answers(host, &a)?;
    }
    host.note("[upgrade] commit 3/3: answers saved");
    remove_record(host)?;
    let edition = if r.edition == "team" {
        crate::answers::Edition::Team
    } else {
        crate::answers::Edition::Enterprise
    };
    let keep: Vec<String> = [&r.to, &r.from]
        .iter()
        .filter_map(|v| v.parse::<Version>().ok())
        .map(|v| crate::releases::tarball_name(v, edition))
        .collect();
    super::cache::prune(host, &keep);
    Ok(())
}

/// Finishes an upgrade that was interrupted (kill -9, power loss): one that passed
/// its health check is completed; any other is rolled back — every preserved
/// directory returns to the previous release, the database is restored from the dump
/// when the new release had run, and the previous release runs again. Without an
/// upgrade in progress, removes the unpacked release an upgrade killed during its
/// unpack left beside `install` (nothing of the operator's was in it yet: the record
/// is written before anything moves). Returns what was done.
pub fn recover(host: &Host, install: &Path) -> Result<Option<String>, PhaseError> {
    let done = recover_record(host, install)?;
    if done.is_some() {
        // What the interrupted upgrade's step journal says is settled now.
        crate::state::steps::StepJournal::forget(host, "upgrade")
            .map_err(|e| PhaseError::from(crate::state::StateError::Write(e)))?;
    }
    Ok(done)
}

fn recover_record(host: &Host, install: &Path) -> Result<Option<String>, PhaseError> {
    let Some(r) = read_record(host)? else {
        let staging = upgrade_staging(install);
        if host.path(&staging).exists() {
            host.remove_dir_all(&staging)
                .map_err(io("cannot remove", &staging))?;
            let msg = format!(
                "removed {}: the unpacked release of an upgrade interrupted before its switch (nothing of yours was in it)",
                staging.display()
            );
            host.note(&format!("[upgrade] {msg}"));
            return Ok(Some(msg));
        }
        return Ok(None);
    };
    if r.stage == Stage::Committed {
        host.note(&format!(
            "[upgrade] an upgrade {} -> {} passed its health check but was interrupted in its commit; finishing it",
            r.from, r.to
        ));
        host.run(&Cmd::new("systemctl", &["start", "mattermost.service"]))?;
        finish_commit(host, &r)?;
        return Ok(Some(format!(
            "an interrupted upgrade from {} to {} had passed its health check; its commit was finished: {} runs",
            r.from, r.to, r.to
        )));
    }
    host.note(&format!(
        "[upgrade] an upgrade {} -> {} was interrupted; rolling it back",
        r.from, r.to
    ));
    let done = roll_back(host, &r, "interrupted")?;
    let db = done.restored.map_or_else(String::new, |d| {
        format!(
            " (the database was restored from {}: {} had started)",
            d.display(),
            r.to
        )
    });
    Ok(Some(format!(
        "an interrupted upgrade from {} to {} was rolled back: {} runs again with all its data{db}{}; run the upgrade again when ready",
        r.from,
        r.to,
        r.from,
        kept_list(&done.kept)
    )))
}

/// What an earlier upgrade left beside the install directory, for `status`: an
/// upgrade in progress or interrupted, an unpacked release no record explains (the
/// next install or repair removes it), and kept trees (named, never deleted).
pub fn leftovers(host: &Host, install: &Path) -> Vec<crate::phases::Check> {
    use crate::phases::{Check, PhaseId};
    let p = PhaseId::Mattermost;
    let mut checks = Vec::new();
    let record = read_record(host);
    match &record {
        Ok(Some(r)) => checks.push(
            Check::fail(
                p,
                "upgrade in progress",
                format!("{} -> {} stopped at stage {:?} (or is running now)", r.from, r.to, r.stage),
            )
            .with_fix("when no upgrade runs, `mattermost-setup repair` finishes it (completes a committed one, rolls back any other)"),
        ),
        Err(e) => checks.push(Check::fail(p, "upgrade in progress", e.cause.clone())),
        Ok(None) => {}
    }
    let staging = upgrade_staging(install);
    if matches!(record, Ok(None)) && host.path(&staging).exists() {
        checks.push(
            Check::fail(
                p,
                "unfinished upgrade",
                format!(
                    "{} holds a release unpacked by an interrupted upgrade",
                    staging.display()
                ),
            )
            .with_fix("`mattermost-setup repair` removes it"),
        );
    }
    let name = install
        .file_name()
        .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned());
    let parent = install.parent().unwrap_or(Path::new("/"));
    let mut kept: Vec<String> = std::fs::read_dir(host.path(parent))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            (n.starts_with(&format!("{name}-"))
                && [".previous", ".failed", ".interrupted-"]
                    .iter()
                    .any(|k| n.contains(k)))
                || n.starts_with(&format!(".{name}.mattermost-setup-upgrade.interrupted-"))
        })
        .collect();
    kept.sort();
    for n in kept {
        let what = if n.contains(".previous") {
            "the release before an upgrade"
        } else {
            "a release set aside by a failed or interrupted upgrade"
        };
        checks.push(
            Check::warn(p, format!("kept {}", parent.join(&n).display()), what)
                .with_fix("delete it once you are satisfied with the running release"),
        );
    }
    checks
}

/// The upgrade itself, as [`Upgrade`]'s steps run by the engine. `answers` are the
/// saved answers with `version` set to the target.
pub fn upgrade(host: &Host, answers: &Answers, cancel: &Cancel) -> Result<Outcome, PhaseError> {
    let mut u = Upgrade::new(answers, cancel);
    crate::engine::run_steps(host, &mut u, cancel).map_err(|f| f.error)?;
    u.outcome
        .ok_or_else(|| PhaseError::new("the upgrade ended without committing"))
}

/// The upgrade as a step list: requirements, fetch, dump, stage, switch, health
/// gate, commit. Nothing on the box changes before the switch; from the switch on,
/// the upgrade record (`UPGRADE_RECORD`) says how to undo or finish it, and the next
/// run of any command does ([`recover`]). Each step hands the next what it made.
pub struct Upgrade<'a> {
    answers: &'a Answers,
    cancel: Cancel,
    plan: Option<Plan>,
    from: Option<Version>,
    tarball: Option<PathBuf>,
    dump: Option<PathBuf>,
    /// The unpacked release, in its staging directory.
    staged: Option<(PathBuf, PathBuf)>,
    record: Option<UpgradeRecord>,
    pub outcome: Option<Outcome>,
}

impl<'a> Upgrade<'a> {
    pub fn new(answers: &'a Answers, cancel: &Cancel) -> Self {
        Self {
            answers,
            cancel: cancel.clone(),
            plan: None,
            from: None,
            tarball: None,
            dump: None,
            staged: None,
            record: None,
            outcome: None,
        }
    }

    /// What an earlier step made; missing only if the steps ran out of order.
    fn made<T>(v: Option<T>) -> Result<T, PhaseError> {
        v.ok_or_else(|| PhaseError::new("the upgrade's steps ran out of order"))
    }

    fn plan(&self) -> Result<&Plan, PhaseError> {
        Self::made(self.plan.as_ref())
    }

    fn from(&self) -> Result<Version, PhaseError> {
        Self::made(self.from)
    }

    fn taken<T: Clone>(v: Option<&T>) -> Result<T, PhaseError> {
        Self::made(v.cloned())
    }

    /// Requirements checked before anything is touched; an interrupted upgrade is
    /// finished or rolled back first.
    fn requirements(&mut self, host: &Host) -> Result<(), PhaseError> {
        let answers = self.answers;
        crate::engine::register_secrets(host, answers);
        let install = answers.install_dir.clone();
        if let Some(msg) = recover(host, &install)? {
            (host.events())(crate::events::Event::Warning { message: msg });
        }
        let plan = Plan::on_box(host, answers)?;
        let to = plan.release.version;
        let from = crate::phases::mattermost::binary_version(&crate::phases::Ctx::new(
            host, answers, &plan,
        ))
        .ok_or_else(|| {
            PhaseError::new(format!("no Mattermost found in {}", install.display()))
                .fix("run install first")
        })?;
        let config_path = answers.config_json();
        let config: serde_json::Value = host
            .read(&config_path)?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                PhaseError::new(format!("{} is missing or not JSON", config_path.display()))
            })?;
        let pg_major = if answers.db_engine == DbEngine::Postgresql {
            host.probe(&Cmd::as_user(
                "postgres",
                "psql",
                &["-X", "-A", "-t", "-c", "SHOW server_version_num"],
            ))
            .ok()
            .and_then(|o| o.stdout.trim().parse::<u32>().ok())
            .map(|n| n / 10000)
        } else {
            None
        };
        requirements(answers, from, to, pg_major, &config)?;
        host.note(&format!("[upgrade] {from} -> {to}: requirements met"));
        self.plan = Some(plan);
        self.from = Some(from);
        Ok(())
    }

    /// Nothing changes on the box before the new release is here and verified.
    fn fetch(&mut self, host: &Host) -> Result<(), PhaseError> {
        self.tarball = Some(fetch::fetch(host, &self.plan()?.release, &self.cancel)?);
        Ok(())
    }

    /// The database dumped and the config saved (stop if that fails).
    fn dump(&mut self, host: &Host) -> Result<(), PhaseError> {
        let (from, to) = (self.from()?, self.plan()?.release.version);
        let install = &self.answers.install_dir;
        let backup_dir = PathBuf::from(crate::host::BACKUP_DIR)
            .join(format!("upgrade-{from}-to-{to}-{}", now_stamp()));
        let dump = dump_database(host, self.answers, &backup_dir, from)?;
        host.run(&Cmd::new(
            "cp",
            &[
                "-a",
                "--",
                &host.path(&install.join("config")).to_string_lossy(),
                &host.path(&backup_dir.join("config")).to_string_lossy(),
            ],
        ))?;
        host.note(&format!(
            "[upgrade] database dumped to {}, config saved in {}",
            dump.display(),
            backup_dir.display()
        ));
        self.dump = Some(dump);
        Ok(())
    }

    /// The new release unpacked beside the old one.
    fn stage(&mut self, host: &Host) -> Result<(), PhaseError> {
        let to = self.plan()?.release.version;
        let tarball = Self::taken(self.tarball.as_ref())?;
        let staging_rel = upgrade_staging(&self.answers.install_dir);
        host.note(&format!(
            "[upgrade] unpacking {to} into {}",
            staging_rel.display()
        ));
        let new_tree = unpack::unpack(host, &tarball, &staging_rel)?;
        let box_new_tree = staging_rel.join(new_tree.file_name().unwrap_or_default());
        host.note(&format!("[upgrade] {to} unpacked; switching"));
        self.staged = Some((staging_rel, box_new_tree));
        Ok(())
    }

    /// Stop, move the operator's directories into the new tree, swap trees. The
    /// record goes to disk first: a run killed from here on is rolled back by the
    /// next run ([`recover`]), with every preserved directory put back.
    fn switch(&mut self, host: &Host) -> Result<(), PhaseError> {
        let answers = self.answers;
        let plan = self.plan()?;
        let (from, to) = (self.from()?, plan.release.version);
        let tarball = Self::taken(self.tarball.as_ref())?;
        let dump = Self::taken(self.dump.as_ref())?;
        let (staging_rel, box_new_tree) = Self::taken(self.staged.as_ref())?;
        let install = answers.install_dir.clone();
        let real_install = host.path(&install);
        let data_inside = answers.data_dir.starts_with(&install);
        let previous = install.with_file_name(format!(
            "{}-{from}.previous",
            install
                .file_name()
                .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned())
        ));
        let record = UpgradeRecord {
            from: from.to_string(),
            to: to.to_string(),
            install: install.clone(),
            previous: previous.clone(),
            new_tree: staging_rel.join("mattermost"),
            data_inside,
            stage: Stage::Switching,
            dump: Some(dump),
            db_engine: Some(answers.db_engine),
            db_name: Some(answers.db_name.clone()),
            edition: plan.release.edition.to_owned(),
            sha256: crate::phases::mattermost::signature::recorded_sha256(&plan.release, &tarball)
                .map_err(|e| PhaseError::new(format!("cannot read {}: {e}", tarball.display())))?,
            answers_version: Some(answers.version.to_string()),
            answers_sha256: answers.sha256.clone(),
        };
        write_record(host, &record)?;
        if let Err(e) = stop_service(host) {
            remove_record(host)?;
            return Err(e);
        }
        host.note(
            "[upgrade] moving config, logs, plugins, client/plugins and data into the new release",
        );
        let moved = move_preserved(host, &install, &box_new_tree, data_inside, true)?;
        host.note("[upgrade] preserved directories moved; swapping the release trees");
        if host.path(&previous).exists() {
            let aside = previous.with_extension(format!("previous-{}", now_stamp()));
            host.rename(&previous, &aside)
                .map_err(io("cannot set aside", &previous))?;
        }
        host.rename(&install, &previous)
            .map_err(io("cannot rename", &install))?;
        host.rename(&box_new_tree, &install)
            .map_err(io("cannot move the new release to", &install))?;
        let _ = host.remove_dir_all(&staging_rel);
        let record = UpgradeRecord {
            new_tree: install.clone(),
            ..record
        };
        write_record(host, &record)?;
        host.note(&format!(
            "[upgrade] switched: {} is {to}, {} keeps {from}; moved {}",
            install.display(),
            previous.display(),
            moved.join(", ")
        ));
        if let Some((uid, gid)) = host.lookup_user(SERVICE_USER) {
            // Never through a symbolic link the service account may have planted.
            let done = crate::phases::mattermost::dirs::chown_tree(&real_install, uid, gid)
                .map_err(io("cannot set the owner of", &install))?;
            host.note(&format!(
                "[upgrade] ownership set to mattermost on {} entries",
                done.fixed
            ));
        }
        self.record = Some(record);
        Ok(())
    }

    /// From the start on, the new release may migrate the database: a rollback from
    /// here restores the dump.
    fn health_gate(&mut self, host: &Host) -> Result<(), PhaseError> {
        let (from, to) = (self.from()?, self.plan()?.release.version);
        let record = UpgradeRecord {
            stage: Stage::Started,
            ..Self::taken(self.record.as_ref())?
        };
        write_record(host, &record)?;
        self.record = Some(record.clone());
        host.note(&format!("[upgrade] starting {to}"));
        let cancel = &self.cancel;
        match start_unit(host, cancel).and_then(|()| wait_healthy(to, cancel)) {
            Ok(evidence) => {
                host.note(&format!("[upgrade] {to} is healthy: {evidence}"));
                Ok(())
            }
            Err(why) => {
                host.note(&format!(
                    "[upgrade] {to} failed its health check ({why}); rolling back to {from}"
                ));
                let done = roll_back(host, &record, "failed")?;
                let back = wait_healthy(from, cancel);
                let state = match &back {
                    Ok(ev) => format!("Mattermost {from} is running again ({ev})"),
                    Err(e) => {
                        format!("Mattermost {from} was restored but does not answer yet ({e})")
                    }
                };
                let dump = record.dump.clone().unwrap_or_default();
                let db = done.restored.map_or_else(
                    || format!("the database dump is {}", dump.display()),
                    |d| {
                        format!(
                            "the database was restored from {} (taken before the upgrade)",
                            d.display()
                        )
                    },
                );
                Err(PhaseError::new(format!(
                    "Mattermost {to} failed its health check: {why}. Rolled back: {state}; {db}{}.",
                    kept_list(&done.kept)
                ))
                .fix("read the logs/mattermost.log of the kept release and the log of this run; fix the cause, then run upgrade again"))
            }
        }
    }

    /// The commit point: one atomic write. Before it, the next run rolls the upgrade
    /// back (dump restored); after it, the next run finishes it.
    fn commit(&mut self, host: &Host) -> Result<(), PhaseError> {
        let record = UpgradeRecord {
            stage: Stage::Committed,
            ..Self::taken(self.record.as_ref())?
        };
        write_record(host, &record)?;
        host.note("[upgrade] commit 1/3: the upgrade is recorded as done");
        finish_commit(host, &record)?;
        self.outcome = Some(Outcome {
            from: self.from()?,
            to: self.plan()?.release.version,
            dump: record.dump.clone().unwrap_or_default(),
            previous_tree: record.previous.clone(),
        });
        Ok(())
    }
}

impl crate::engine::Steps for Upgrade<'_> {
    fn command(&self) -> &'static str {
        "upgrade"
    }

    fn steps(&self) -> Vec<&'static str> {
        vec![
            "requirements",
            "fetch",
            "dump",
            "stage",
            "switch",
            "health gate",
            "commit",
        ]
    }

    fn run(&mut self, host: &Host, step: &'static str) -> Result<(), PhaseError> {
        match step {
            "requirements" => self.requirements(host),
            "fetch" => self.fetch(host),
            "dump" => self.dump(host),
            "stage" => self.stage(host),
            "switch" => self.switch(host),
            "health gate" => self.health_gate(host),
            "commit" => self.commit(host),
            other => Err(PhaseError::new(format!("no upgrade step {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(engine: &str) -> Answers {
        crate::answers::from_json(&format!(r#"{{"domain": "chat.example.com", "db_engine": "{engine}", "version": "10.11.23"}}"#), None).unwrap()
    }

    #[test]
    fn requirements_are_checked_before_anything() {
        let cfg = serde_json::json!({});
        let pg = answers("postgresql");
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(requirements(&pg, v("10.11.23"), v("11.7.9"), Some(15), &cfg).is_ok());
        assert!(
            requirements(&pg, v("10.11.23"), v("11.7.9"), Some(13), &cfg)
                .unwrap_err()
                .cause
                .contains("PostgreSQL 14")
        );
        assert!(
            requirements(&pg, v("11.7.9"), v("10.11.23"), Some(15), &cfg)
                .unwrap_err()
                .cause
                .contains("downgrades")
        );
        assert!(
            requirements(&pg, v("6.3.10"), v("9.11.18"), Some(15), &cfg)
                .unwrap_err()
                .cause
                .contains("7.1")
        );
        let maria = answers("mariadb");
        let e = requirements(&maria, v("10.11.23"), v("11.0.0"), None, &cfg).unwrap_err();
        assert!(
            e.cause.contains("MySQL support ended") && e.fix.unwrap().contains("migration-assist")
        );
        let blocker =
            serde_json::json!({"TeamSettings": {"ExperimentalViewArchivedChannels": false}});
        assert!(requirements(&pg, v("10.11.23"), v("11.7.9"), Some(15), &blocker).is_err());
    }

    #[test]
    fn leftovers_are_named_and_unexplained_staging_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let install = Path::new("/opt/mattermost");
        for d in [
            "opt/mattermost/bin",
            "opt/mattermost-11.7.90.previous",
            "opt/mattermost-11.9.90.failed-2026-11-29T010203Z",
            "opt/.mattermost.mattermost-setup-upgrade/mattermost/bin",
            "opt/other-app.previous",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let checks = leftovers(&host, install);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "unfinished upgrade",
                "kept /opt/mattermost-11.7.90.previous",
                "kept /opt/mattermost-11.9.90.failed-2026-11-29T010203Z"
            ]
        );
        assert_eq!(checks[0].level, crate::phases::Level::Fail);
        assert_eq!(checks[1].level, crate::phases::Level::Warn);
        // No upgrade record explains the staging tree: the next run removes it.
        let msg = recover(&host, install).unwrap().unwrap();
        assert!(
            msg.contains("removed /opt/.mattermost.mattermost-setup-upgrade"),
            "{msg}"
        );
        assert!(
            !dir.path()
                .join("opt/.mattermost.mattermost-setup-upgrade")
                .exists()
        );
        assert!(dir.path().join("opt/mattermost-11.7.90.previous").exists());
        assert_eq!(recover(&host, install).unwrap(), None);
    }

    #[test]
    fn old_records_read_as_switching() {
        let old = r#"{"from": "11.7.90", "to": "11.8.90", "install": "/opt/mattermost",
            "previous": "/opt/mattermost-11.7.90.previous", "new_tree": "/opt/mattermost", "data_inside": true}"#;
        let r: UpgradeRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.stage, Stage::Switching);
        assert!(r.dump.is_none());
    }
}

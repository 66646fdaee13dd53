//! Upgrade: requirements checked before anything is touched; the database dumped and
//! the config snapshotted first (stop if that fails); the new release unpacked beside
//! the old one; config, logs, plugins, client/plugins and data moved over (renames:
//! not one byte rewritten); switch; health gate; on failure everything is moved back
//! and the previous release runs again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::answers::{Answers, DbEngine, VersionSpec};
use crate::engine::Cancel;
use crate::host::{Cmd, Host};
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

fn stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "")
}

fn io(what: &str, p: &Path) -> impl FnOnce(std::io::Error) -> PhaseError {
    let msg = format!("{what} {}", p.display());
    move |e| PhaseError::new(format!("{msg}: {e}"))
}

/// Dumps the database to `dir` (0700) as root-owned 0600 files.
fn dump_database(
    host: &Host,
    a: &Answers,
    dir: &Path,
    from: Version,
) -> Result<PathBuf, PhaseError> {
    let real = host.path(dir);
    std::fs::create_dir_all(&real).map_err(io("cannot create", dir))?;
    std::fs::set_permissions(&real, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io("cannot chmod", dir))?;
    let (file, cmd) = match a.db_engine {
        DbEngine::Postgresql => {
            let f = dir.join(format!("{}-{from}.pgdump", a.db_name));
            (
                f.clone(),
                Cmd::as_user("postgres", "pg_dump", &["-Fc", "-d", &a.db_name])
                    .stdout_to(host.path(&f)),
            )
        }
        DbEngine::Mariadb | DbEngine::Mysql => {
            let f = dir.join(format!("{}-{from}.sql", a.db_name));
            let client = if a.db_engine == DbEngine::Mysql {
                "mysqldump"
            } else {
                "mariadb-dump"
            };
            (
                f.clone(),
                Cmd::new(
                    client,
                    &[
                        "--protocol=socket",
                        "-S",
                        crate::dsn::MYSQL_SOCKET,
                        "-u",
                        "root",
                        "--single-transaction",
                        "--routines",
                        &a.db_name,
                    ],
                )
                .stdout_to(host.path(&f)),
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

/// Moves the preserved directories from `from_tree` into `to_tree`. Forward
/// (`replace` true): the release's own copies (an empty logs/, a default config/) are
/// parked as `<dir>.release-default`. Back (`replace` false): a directory already in
/// `to_tree` is the operator's and is never displaced.
fn move_preserved(
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
        let src = from_tree.join(rel);
        if !src.exists() {
            continue;
        }
        let dst = to_tree.join(rel);
        if dst.exists() && !replace {
            continue;
        }
        if dst.exists() {
            let parked = to_tree.join(format!("{rel}.release-default"));
            std::fs::rename(&dst, &parked).map_err(io("cannot set aside", &dst))?;
        }
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        }
        std::fs::rename(&src, &dst).map_err(io("cannot move", &src))?;
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

/// What a switch in progress needs to be undone.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UpgradeRecord {
    pub from: String,
    pub to: String,
    pub install: PathBuf,
    pub previous: PathBuf,
    pub new_tree: PathBuf,
    pub data_inside: bool,
}

fn upgrade_staging(install: &Path) -> PathBuf {
    let name = install
        .file_name()
        .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned());
    install.with_file_name(format!(".{name}.mattermost-setup-upgrade"))
}

fn write_record(host: &Host, r: &UpgradeRecord) -> Result<(), PhaseError> {
    Ok(crate::state::save_json(host, UPGRADE_RECORD, r)?)
}

/// Finishes an upgrade that was interrupted (kill -9, power loss) during its switch
/// by rolling it back: every preserved directory returns to the previous release,
/// which runs again. Returns what was done, or `None` when no upgrade was pending.
pub fn recover(host: &Host) -> Result<Option<String>, PhaseError> {
    let Some(bytes) = host.read(Path::new(UPGRADE_RECORD))? else {
        return Ok(None);
    };
    let r: UpgradeRecord = serde_json::from_slice(&bytes).map_err(|e| {
        PhaseError::new(format!("{UPGRADE_RECORD} is damaged: {e}"))
            .fix("inspect it and the directories it names by hand")
    })?;
    host.note(&format!(
        "[upgrade] an upgrade {} -> {} was interrupted; rolling it back",
        r.from, r.to
    ));
    let _ = host.probe(&Cmd::new("systemctl", &["stop", "mattermost.service"]));
    let (inst, prev, new) = (
        host.path(&r.install),
        host.path(&r.previous),
        host.path(&r.new_tree),
    );
    if prev.exists() {
        if inst.exists() {
            // The new release was switched in: give its preserved directories back.
            move_preserved(&inst, &prev, r.data_inside, false)?;
            let failed = inst.with_file_name(format!(
                "{}-{}.interrupted-{}",
                r.install
                    .file_name()
                    .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned()),
                r.to,
                stamp()
            ));
            std::fs::rename(&inst, &failed).map_err(io("cannot set aside", &r.install))?;
        } else if new.exists() {
            move_preserved(&new, &prev, r.data_inside, false)?;
        }
        std::fs::rename(&prev, &inst).map_err(io("cannot restore", &r.previous))?;
    } else if new.exists() {
        // Killed before the trees were swapped: the old release is still in place.
        move_preserved(&new, &inst, r.data_inside, false)?;
    }
    // Whatever is left of the new tree is kept aside (never deleted: after a crash
    // nobody can be sure it holds nothing of the operator's).
    let staging = host.path(&upgrade_staging(&r.install));
    if r.new_tree != r.install && staging.exists() {
        let aside = staging.with_extension(format!("interrupted-{}", stamp()));
        let _ = std::fs::rename(&staging, &aside);
        host.note(&format!(
            "[upgrade] the unfinished new release is kept in {} for inspection",
            aside.display()
        ));
    }
    let _ = std::fs::remove_file(host.path(Path::new(UPGRADE_RECORD)));
    host.run(&Cmd::new("systemctl", &["start", "mattermost.service"]))?;
    Ok(Some(format!(
        "an interrupted upgrade from {} to {} was rolled back: {} runs again with all its data; run the upgrade again when ready",
        r.from, r.to, r.from
    )))
}

/// The upgrade itself. `answers` are the saved answers with `version` set to the target.
pub fn upgrade(host: &Host, answers: &Answers, cancel: &Cancel) -> Result<Outcome, PhaseError> {
    crate::engine::register_secrets(host, answers);
    if let Some(msg) = recover(host)? {
        (host.events())(crate::events::Event::Warning { message: msg });
    }
    let plan = Plan::new(answers).map_err(PhaseError::new)?;
    let to = plan.release.version;
    let install = answers.install_dir.clone();
    let ctx = crate::phases::Ctx::new(host, answers, &plan);
    let from = crate::phases::mattermost::binary_version(&ctx).ok_or_else(|| {
        PhaseError::new(format!("no Mattermost found in {}", install.display()))
            .fix("run install first")
    })?;
    let config_path = install.join("config/config.json");
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

    // Nothing changes on the box before the new release is here and verified.
    let tarball = fetch::fetch(host, &plan.release, cancel)?;
    let backup_dir =
        PathBuf::from(crate::host::BACKUP_DIR).join(format!("upgrade-{from}-to-{to}-{}", stamp()));
    let dump = dump_database(host, answers, &backup_dir, from)?;
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

    let staging_rel = upgrade_staging(&install);
    let staging = host.path(&staging_rel);
    let new_tree = unpack::unpack(host, &tarball, &staging)?;

    // Switch: stop, move the operator's directories into the new tree, swap trees.
    // The record goes to disk first: a run killed from here on is rolled back by the
    // next run (`recover`), with every preserved directory put back.
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
    };
    write_record(host, &record)?;
    host.run(&Cmd::new("systemctl", &["stop", "mattermost.service"]))?;
    host.note(
        "[upgrade] moving config, logs, plugins, client/plugins and data into the new release",
    );
    let moved = move_preserved(&real_install, &new_tree, data_inside, true)?;
    host.note("[upgrade] preserved directories moved; swapping the release trees");
    let real_previous = host.path(&previous);
    if real_previous.exists() {
        let aside = real_previous.with_extension(format!("previous-{}", stamp()));
        std::fs::rename(&real_previous, &aside).map_err(io("cannot set aside", &previous))?;
    }
    std::fs::rename(&real_install, &real_previous).map_err(io("cannot rename", &install))?;
    std::fs::rename(&new_tree, &real_install)
        .map_err(io("cannot move the new release to", &install))?;
    let _ = std::fs::remove_dir_all(&staging);
    write_record(
        host,
        &UpgradeRecord {
            new_tree: install.clone(),
            ..record
        },
    )?;
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

    // Health gate.
    let started = host.run(&Cmd::new("systemctl", &["start", "mattermost.service"]));
    let gate = started
        .map_err(|e| e.to_string())
        .and_then(|_| wait_healthy(to, cancel));
    match gate {
        Ok(evidence) => {
            host.note(&format!("[upgrade] {to} is healthy: {evidence}"));
            let rec = ReleaseRecord {
                version: to.to_string(),
                edition: plan.release.edition.to_owned(),
                sha256: plan.release.sha256.clone(),
                install_dir: install.clone(),
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
            let mut saved = answers.clone();
            saved.version = VersionSpec::Exact(to);
            crate::engine::save_answers(host, &saved)?;
            let _ = std::fs::remove_file(host.path(Path::new(UPGRADE_RECORD)));
            Ok(Outcome {
                from,
                to,
                dump,
                previous_tree: previous,
            })
        }
        Err(why) => {
            host.note(&format!(
                "[upgrade] {to} failed its health check ({why}); rolling back to {from}"
            ));
            let _ = host.probe(&Cmd::new("systemctl", &["stop", "mattermost.service"]));
            let failed = install.with_file_name(format!(
                "{}-{to}.failed",
                install
                    .file_name()
                    .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned())
            ));
            let real_failed = host.path(&failed);
            if real_failed.exists() {
                let _ = std::fs::rename(
                    &real_failed,
                    real_failed.with_extension(format!("failed-{}", stamp())),
                );
            }
            std::fs::rename(&real_install, &real_failed)
                .map_err(io("cannot set aside", &install))?;
            std::fs::rename(&real_previous, &real_install)
                .map_err(io("cannot restore", &previous))?;
            move_preserved(&real_failed, &real_install, data_inside, false)?;
            let _ = std::fs::remove_file(host.path(Path::new(UPGRADE_RECORD)));
            host.run(&Cmd::new("systemctl", &["start", "mattermost.service"]))?;
            let back = wait_healthy(from, cancel);
            let state = match &back {
                Ok(ev) => format!("Mattermost {from} is running again ({ev})"),
                Err(e) => format!("Mattermost {from} was restored but does not answer yet ({e})"),
            };
            Err(PhaseError::new(format!(
                "Mattermost {to} failed its health check: {why}. Rolled back: {state}. The failed release is kept in {} for inspection; the database dump is {}.",
                failed.display(),
                dump.display()
            ))
            .fix(format!("read {}/logs/mattermost.log and the log of this run; fix the cause, then run upgrade again", install.display())))
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
}

//! Uninstall: removes only what the ownership record says this tool created. Data,
//! config, logs, plugins and the database stay unless the operator confirms their
//! removal by typing the domain. Packages stay (other software may use them).

use std::path::{Path, PathBuf};

use crate::answers::Answers;
use crate::host::{Cmd, Host};
use crate::phases::PhaseError;
use crate::plan::{self, APACHE_SITE};
use crate::state::{Ownership, STATE_DIR};

/// What an uninstall did and what it kept.
#[derive(Debug, Default)]
pub struct Report {
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

/// Entries of the install directory that hold the operator's data, never removed
/// without confirmation.
const PRESERVED: [&str; 4] = ["config", "logs", "plugins", "data"];

/// Uninstalls as [`Uninstall`]'s steps, run by the engine (journaled; a run cut
/// short is continued by the next).
pub fn uninstall(host: &Host, a: &Answers, purge: bool) -> Result<Report, PhaseError> {
    let mut u = Uninstall::new(host, a, purge)?;
    crate::engine::run_steps(host, &mut u, &crate::vocab::Cancel::default())
        .map_err(|f| f.error)?;
    Ok(u.report)
}

/// The uninstall as a step list. Each step removes what is still there of its part
/// and says what it removed or kept; run again, it finds nothing left to remove.
pub struct Uninstall<'a> {
    a: &'a Answers,
    purge: bool,
    own: Ownership,
    pub report: Report,
}

impl<'a> Uninstall<'a> {
    /// Reads the ownership record: a damaged one stops before any step.
    pub fn new(host: &Host, a: &'a Answers, purge: bool) -> Result<Self, PhaseError> {
        Ok(Self {
            a,
            purge,
            own: Ownership::load_checked(host)?,
            report: Report::default(),
        })
    }
}

impl crate::engine::Steps for Uninstall<'_> {
    fn command(&self) -> &'static str {
        "uninstall"
    }

    fn steps(&self) -> Vec<&'static str> {
        vec![
            "retention job",
            "service",
            "proxy site",
            "firewall",
            "files",
            "program files",
            "database",
            "system user",
            "leftovers",
            // Last: the answers and the ownership record say what the steps before
            // it remove, should a run be cut short.
            "bookkeeping",
        ]
    }

    fn run(&mut self, host: &Host, step: &'static str) -> Result<(), PhaseError> {
        let (a, purge, own) = (self.a, self.purge, &self.own);
        let r = &mut self.report;
        match step {
            "retention job" => {
                // The retention job and its copy of this program.
                r.removed
                    .extend(crate::phases::housekeeping::remove(host, own)?);
            }
            "service" => {
                let unit = PathBuf::from(plan::UNIT_PATH);
                // The service (not on the database or proxy machine of several).
                if a.runs_mattermost() {
                    // Said as it happened: a unit that would not stop is not reported as stopped.
                    let out = host.probe(&Cmd::new(
                        "systemctl",
                        &["disable", "--now", "mattermost.service"],
                    ))?;
                    let active = host
                        .probe(&Cmd::new(
                            "systemctl",
                            &["is-active", "--quiet", "mattermost.service"],
                        ))?
                        .success();
                    if active {
                        return Err(PhaseError::new(format!(
                        "mattermost.service did not stop (systemctl disable --now: {}); the service, its unit and the sites were left in place",
                        format!("{}{}", out.stdout, out.stderr).trim()
                    ))
                    .fix("stop it by hand (`systemctl stop mattermost`; `journalctl -u mattermost` says why it does not), then run uninstall again"));
                    }
                    r.removed.push(if out.success() {
                        "mattermost.service stopped and disabled".into()
                    } else {
                        format!(
                            "mattermost.service stopped (disable reported: {})",
                            format!("{}{}", out.stdout, out.stderr).trim()
                        )
                    });
                }
                if own.files.contains_key(&unit) && host.path(&unit).exists() {
                    host.backup(&unit)?;
                    host.remove_file(&unit).map_err(|e| {
                        PhaseError::new(format!("cannot remove {}: {e}", unit.display()))
                    })?;
                    host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
                    r.removed.push(format!("{} (backed up)", unit.display()));
                }
            }
            "proxy site" => {
                // The proxy sites; then the Apache modules the install enabled, unless another
                // site uses them (below).
                if own.did_create("apache_site", APACHE_SITE) {
                    let _ = host.probe(&Cmd::new("a2dissite", &["-q", APACHE_SITE]));
                    r.removed
                        .push(format!("Apache site {APACHE_SITE} disabled"));
                }
                let nginx_link =
                    PathBuf::from(format!("/etc/nginx/sites-enabled/{}", plan::NGINX_SITE));
                if own.did_create("nginx_site", plan::NGINX_SITE)
                    && host.path(&nginx_link).is_symlink()
                {
                    host.remove_file(&nginx_link).map_err(|e| {
                        PhaseError::new(format!("cannot remove {}: {e}", nginx_link.display()))
                    })?;
                    r.removed
                        .push(format!("nginx site {} disabled", plan::NGINX_SITE));
                }
            }
            "firewall" => {
                // The firewall table of a database or app machine: unloaded before its unit goes.
                let firewall = PathBuf::from(crate::plan::firewall::UNIT_PATH);
                if own.files.contains_key(&firewall) && host.path(&firewall).exists() {
                    let _ = host.probe(&Cmd::new(
                        "systemctl",
                        &["disable", "--now", crate::plan::firewall::UNIT],
                    ));
                    r.removed.push(format!(
                        "firewall table inet {} (unloaded)",
                        crate::plan::firewall::TABLE
                    ));
                }
                if a.role() == crate::vocab::Role::Database {
                    r.kept.push(format!(
                    "PostgreSQL's listening and TLS settings, its certificate in {} and the pg_hba.conf block: the app machines still use them",
                    crate::plan::database::CERT_DIR
                ));
                }
            }
            "files" => {
                // Every other whole file the tool wrote (vhosts, nginx site, certbot hook and
                // drop-in, ...): backed up, then removed. Bookkeeping and answers are handled below.
                for path in own.files.keys() {
                    let keep = path.starts_with(STATE_DIR)
                        || path == Path::new(crate::answers::SAVED_ANSWERS);
                    if keep || !host.path(path).is_file() {
                        continue;
                    }
                    host.backup(path)?;
                    host.remove_file(path).map_err(|e| {
                        PhaseError::new(format!("cannot remove {}: {e}", path.display()))
                    })?;
                    r.removed.push(format!("{} (backed up)", path.display()));
                }
                let _ = host.probe(&Cmd::new("systemctl", &["daemon-reload"]));
                if let Some(mods) = own.created.get("apache_module") {
                    let m = crate::phases::proxy::apache::disable_unused(host, mods, &[])?;
                    if !m.disabled.is_empty() {
                        r.removed.push(format!(
                            "Apache modules enabled by the install: {} (disabled)",
                            m.disabled.join(" ")
                        ));
                    }
                    for (module, why) in m.kept {
                        r.kept.push(format!(
                            "Apache module {module} enabled by the install ({why})"
                        ));
                    }
                }
                if host
                    .probe(&Cmd::new("apache2ctl", &["configtest"]))
                    .is_ok_and(|o| o.success())
                {
                    let _ = host.probe(&Cmd::new("systemctl", &["reload", "apache2.service"]));
                }
                if host
                    .probe(&Cmd::new("nginx", &["-t", "-q"]))
                    .is_ok_and(|o| o.success())
                {
                    let _ = host.probe(&Cmd::new("systemctl", &["reload", "nginx.service"]));
                }
                if host
                    .path(Path::new("/etc/letsencrypt/live"))
                    .join(&a.domain)
                    .exists()
                {
                    r.kept.push(format!(
                    "the certificate for {} in /etc/letsencrypt (a later install reuses it; `certbot delete --cert-name {}` removes it)",
                    a.domain, a.domain
                ));
                }
            }
            "program files" => {
                // The program files; the operator's data stays unless purged.
                let install = &a.install_dir;
                let install_key = install.to_string_lossy().into_owned();
                if own.did_create("directory", &install_key) && host.path(install).exists() {
                    if purge {
                        remove_tree(host, install, r)?;
                    } else {
                        remove_program_files(host, install, r)?;
                    }
                } else if purge && own.manages_dir(&install_key) && host.path(install).exists() {
                    empty_tree(host, install, r)?;
                } else {
                    r.kept.push(format!(
                        "{} (it existed before mattermost-setup)",
                        install.display()
                    ));
                }
                let data_key = a.data_dir.to_string_lossy().into_owned();
                if !a.data_dir.starts_with(install) || !purge {
                    if purge && own.did_create("directory", &data_key) {
                        remove_tree(host, &a.data_dir, r)?;
                    } else if purge && own.manages_dir(&data_key) && host.path(&a.data_dir).exists()
                    {
                        empty_tree(host, &a.data_dir, r)?;
                    } else if host.path(&a.data_dir).exists() {
                        r.kept
                            .push(format!("data directory {}", a.data_dir.display()));
                    }
                }
            }
            "database" => {
                // The database.
                if purge {
                    purge_database(host, a, own, r)?;
                } else {
                    r.kept.push(format!(
                        "database {} and its user {} ({})",
                        a.db_name,
                        a.db_user,
                        a.db_engine.name()
                    ));
                }
            }
            "system user" => {
                // The system user owns the kept files: it goes only with them.
                if purge
                    && own.did_create("user", plan::SERVICE_USER)
                    && host.lookup_user(plan::SERVICE_USER).is_some()
                {
                    host.run(&Cmd::new("userdel", &[plan::SERVICE_USER]))?;
                    r.removed
                        .push(format!("system user {}", plan::SERVICE_USER));
                } else if host.lookup_user(plan::SERVICE_USER).is_some() {
                    r.kept.push(format!(
                        "system user {} (owns the kept files)",
                        plan::SERVICE_USER
                    ));
                }
            }
            "bookkeeping" => {
                if let Some(pkgs) = own.created.get("package") {
                    r.kept.push(format!(
                    "packages installed by mattermost-setup: {} (apt-get purge them if nothing else needs them; purging the database server deletes its data)",
                    pkgs.iter().cloned().collect::<Vec<_>>().join(" ")
                ));
                }

                // Bookkeeping: the release is gone; answers stay with the data (they hold the
                // database password) unless purged. An unfinished restore is abandoned with the
                // install it was making.
                for f in ["release.json", "journal.json", "restore.json"] {
                    let p = Path::new(STATE_DIR).join(f);
                    let _ = host.remove_file(&p);
                }
                if purge {
                    let _ = host.remove_file(Path::new(crate::answers::SAVED_ANSWERS));
                    let _ = host.remove_file(Path::new(crate::state::ownership::PATH));
                    let _ = host.remove_file(Path::new(crate::state::ownership::PREVIOUS));
                    r.removed.push(format!(
                        "{} and the ownership record",
                        crate::answers::SAVED_ANSWERS
                    ));
                } else {
                    r.kept.push(format!(
                        "{} (the database password; a later install reuses it)",
                        crate::answers::SAVED_ANSWERS
                    ));
                    r.kept.push(format!(
                        "{} (what mattermost-setup created, for a later install or uninstall)",
                        crate::state::ownership::PATH
                    ));
                }
            }
            "leftovers" => {
                // What upgrades, downloads and changes left behind: backups (some with old
                // passwords), database dumps, the tarball cache, previous and failed release
                // trees. Purged with the data; otherwise listed.
                for (path, what) in leftovers(host, &a.install_dir) {
                    if purge {
                        remove_path(host, &path)?;
                        host.note(&format!("[uninstall] removed {}", path.display()));
                        r.removed.push(format!("{} ({what})", path.display()));
                    } else {
                        r.kept.push(format!("{} ({what})", path.display()));
                    }
                }
                if host.path(Path::new(crate::host::log::LOG_DIR)).exists() {
                    r.kept.push(format!(
                        "{} (the run logs, passwords redacted; this run's log is there too)",
                        crate::host::log::LOG_DIR
                    ));
                }
            }
            other => return Err(PhaseError::new(format!("no uninstall step {other}"))),
        }
        Ok(())
    }

    /// With the data purged: the tool's directories go once nothing else is in them.
    fn after(&mut self, host: &Host) -> Result<(), PhaseError> {
        if self.purge {
            for dir in [STATE_DIR, ANSWERS_DIR] {
                let _ = host.remove_dir(Path::new(dir));
            }
        }
        Ok(())
    }
}

/// Where the saved answers live.
const ANSWERS_DIR: &str = "/etc/mattermost-setup";

/// What the tool left beside the install: `(path, what it is)` for each that exists.
fn leftovers(host: &Host, install: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    for (dir, what) in [
        (
            crate::host::BACKUP_DIR,
            "backups of changed files, some with old passwords, and the upgrades' database dumps",
        ),
        (
            crate::phases::mattermost::fetch::CACHE_DIR,
            "downloaded Mattermost tarballs",
        ),
    ] {
        if host.path(Path::new(dir)).exists() {
            out.push((PathBuf::from(dir), what));
        }
    }
    let (Some(parent), Some(name)) = (install.parent(), install.file_name()) else {
        return out;
    };
    let name = name.to_string_lossy();
    let mut siblings: Vec<(PathBuf, &'static str)> = std::fs::read_dir(host.path(parent))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let what = if let Some(rest) = n.strip_prefix(&format!("{name}-")) {
                if rest.contains(".previous") {
                    "the release before an upgrade"
                } else if rest.contains(".failed") {
                    "a release that failed its upgrade, kept for inspection"
                } else {
                    return None;
                }
            } else if n == format!(".{name}.mattermost-setup-staging")
                || n == format!(".{name}.mattermost-setup-upgrade")
            {
                "an unfinished unpack"
            } else {
                return None;
            };
            Some((parent.join(&n), what))
        })
        .collect();
    siblings.sort();
    out.extend(siblings);
    out
}

/// Removes the program files of the install directory, keeping the preserved
/// directories (and client/plugins).
fn remove_program_files(host: &Host, install: &Path, r: &mut Report) -> Result<(), PhaseError> {
    let real = host.path(install);
    let entries = std::fs::read_dir(&real)
        .map_err(|e| PhaseError::new(format!("cannot list {}: {e}", install.display())))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if PRESERVED.contains(&name.as_str()) {
            r.kept.push(format!("{}/{name}", install.display()));
            continue;
        }
        if name == "client" {
            // client/plugins holds plugin web bundles: keep it, drop the web app.
            for c in std::fs::read_dir(&path)
                .map_err(|e| PhaseError::new(e.to_string()))?
                .flatten()
            {
                if c.file_name() == "plugins" {
                    r.kept.push(format!("{}/client/plugins", install.display()));
                } else {
                    remove_path(host, &install.join("client").join(c.file_name()))?;
                }
            }
            continue;
        }
        remove_path(host, &install.join(&name))?;
    }
    r.removed.push(format!(
        "program files in {} (bin, client, i18n, templates, ...)",
        install.display()
    ));
    host.note(&format!(
        "[uninstall] removed program files in {}",
        install.display()
    ));
    Ok(())
}

/// Removes the box path `p`: a directory with its content, or a file or link.
fn remove_path(host: &Host, box_path: &Path) -> Result<(), PhaseError> {
    let p = host.path(box_path);
    let res = if p.is_dir() && !p.is_symlink() {
        host.remove_dir_all(box_path)
    } else {
        host.remove_file(box_path)
    };
    res.map_err(|e| PhaseError::new(format!("cannot remove {}: {e}", p.display())))
}

fn remove_tree(host: &Host, dir: &Path, r: &mut Report) -> Result<(), PhaseError> {
    remove_path(host, dir)?;
    host.note(&format!("[uninstall] removed {}", dir.display()));
    r.removed.push(format!("{} (with its data)", dir.display()));
    Ok(())
}

/// A directory that existed before the tool and that it took over (empty, or an
/// adopted Mattermost): with the data purged, what is inside goes; the directory
/// itself stays (it may be a mount point).
fn empty_tree(host: &Host, dir: &Path, r: &mut Report) -> Result<(), PhaseError> {
    let real = host.path(dir);
    let entries = std::fs::read_dir(&real)
        .map_err(|e| PhaseError::new(format!("cannot list {}: {e}", dir.display())))?;
    for e in entries.flatten() {
        remove_path(host, &dir.join(e.file_name()))?;
    }
    host.note(&format!("[uninstall] emptied {}", dir.display()));
    r.removed
        .push(format!("everything in {} (with its data)", dir.display()));
    r.kept.push(format!(
        "the empty directory {} (it existed before mattermost-setup)",
        dir.display()
    ));
    Ok(())
}

fn purge_database(
    host: &Host,
    a: &Answers,
    own: &Ownership,
    r: &mut Report,
) -> Result<(), PhaseError> {
    use crate::answers::DbEngine;
    let (db, user) = (&a.db_name, &a.db_user);
    let drop_db = own.did_create("database", db);
    let drop_user = own.did_create("db_role", user);
    match a.db_engine {
        DbEngine::Postgresql => {
            let mut sql = String::new();
            if drop_db {
                sql.push_str(&format!("DROP DATABASE IF EXISTS {db};\n"));
            }
            if drop_user {
                sql.push_str(&format!("DROP ROLE IF EXISTS {user};\n"));
            }
            if !sql.is_empty() {
                host.run(
                    &Cmd::as_user(
                        "postgres",
                        "psql",
                        &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
                    )
                    .stdin(sql),
                )?;
            }
        }
        DbEngine::Mariadb | DbEngine::Mysql => {
            let mut sql = String::new();
            if drop_db {
                sql.push_str(&format!("DROP DATABASE IF EXISTS `{db}`;\n"));
            }
            if drop_user {
                sql.push_str(&format!("DROP USER IF EXISTS '{user}'@'localhost';\n"));
            }
            if !sql.is_empty() {
                let client = if a.db_engine == DbEngine::Mysql {
                    "mysql"
                } else {
                    "mariadb"
                };
                host.run(
                    &Cmd::new(
                        client,
                        &[
                            "--protocol=socket",
                            "-S",
                            crate::dsn::MYSQL_SOCKET,
                            "-u",
                            "root",
                        ],
                    )
                    .stdin(sql),
                )?;
            }
        }
    }
    for (what, did, name) in [
        ("database", drop_db, db),
        ("database user", drop_user, user),
    ] {
        if did {
            r.removed.push(format!("{what} {name}"));
        } else {
            r.kept.push(format!(
                "{what} {name} (it existed before mattermost-setup)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command succeeds with no output; the service stops when told to
    /// (`systemctl is-active` answers 3, inactive).
    struct Ok0;
    impl crate::host::Runner for Ok0 {
        fn run(
            &self,
            cmd: &Cmd,
            _: Option<&mut dyn FnMut(&str)>,
        ) -> std::io::Result<crate::host::Output> {
            let is_active = cmd.program == "systemctl" && cmd.args.iter().any(|a| a == "is-active");
            Ok(crate::host::Output {
                code: Some(if is_active { 3 } else { 0 }),
                ..crate::host::Output::default()
            })
        }
    }

    /// A service that does not stop: `disable --now` fails, `is-active` says active.
    struct Stubborn;
    impl crate::host::Runner for Stubborn {
        fn run(
            &self,
            cmd: &Cmd,
            _: Option<&mut dyn FnMut(&str)>,
        ) -> std::io::Result<crate::host::Output> {
            let has = |w: &str| cmd.args.iter().any(|a| a == w);
            let code = i32::from(cmd.program == "systemctl" && has("--now"));
            Ok(crate::host::Output {
                code: Some(code),
                stderr: if code == 1 {
                    "Job for mattermost.service canceled.".into()
                } else {
                    String::new()
                },
                ..crate::host::Output::default()
            })
        }
    }

    /// Issue 9: the report says what happened. A service that would not stop is an
    /// error naming it, with the unit and the sites left in place.
    #[test]
    fn a_service_that_does_not_stop_is_reported_not_claimed_stopped() {
        let (t, _, a) = installed();
        let root = t.path();
        let host = Host::new(
            root.to_owned(),
            crate::host::RunLog::create(&root.join("var/log/mattermost-setup")),
            crate::events::discard(),
            Box::new(Stubborn),
        );
        let e = uninstall(&host, &a, false).unwrap_err();
        assert!(
            e.cause.contains("did not stop") && e.cause.contains("canceled"),
            "{e:?}"
        );
        assert!(root.join("opt/mattermost/bin").exists());
        let (_t, host, a) = installed();
        let r = uninstall(&host, &a, false).unwrap();
        assert!(
            r.removed
                .iter()
                .any(|l| l == "mattermost.service stopped and disabled"),
            "{:?}",
            r.removed
        );
    }

    /// A box after an install and an upgrade (one failed), under a temp root.
    fn installed() -> (tempfile::TempDir, Host, Answers) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let host = Host::new(
            root.to_owned(),
            crate::host::RunLog::create(&root.join("var/log/mattermost-setup")),
            crate::events::discard(),
            Box::new(Ok0),
        );
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        for d in [
            "opt/mattermost/bin",
            "opt/mattermost/data/teams",
            "opt/mattermost/config",
            "opt/mattermost-10.11.1.previous/bin",
            "opt/mattermost-11.0.0.failed/bin",
            "opt/mattermost-10.11.1.previous.previous-2026-01-01T000000Z",
            "opt/.mattermost.mattermost-setup-staging/mattermost",
            "opt/other-app",
            "var/backups/mattermost-setup/upgrade-10.11.1-to-11.0.0-2026-01-01T000000Z/config",
            "var/backups/mattermost-setup/2026-01-01T000000Z/etc/mattermost-setup",
            "var/cache/mattermost-setup",
            "etc/mattermost-setup",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for (f, text) in [
            ("opt/mattermost/config/config.json", "{}"),
            (
                "var/backups/mattermost-setup/upgrade-10.11.1-to-11.0.0-2026-01-01T000000Z/mattermost-10.11.1.pgdump",
                "dump",
            ),
            (
                "var/backups/mattermost-setup/2026-01-01T000000Z/etc/mattermost-setup/answers.json",
                "old secret",
            ),
            (
                "var/cache/mattermost-setup/mattermost-11.0.0-linux-amd64.tar.gz",
                "tgz",
            ),
            ("etc/mattermost-setup/answers.json", "{}"),
        ] {
            std::fs::write(root.join(f), text).unwrap();
        }
        let mut own = Ownership::default();
        own.created("directory", "/opt/mattermost");
        own.created("directory", "/opt/mattermost/data");
        own.save(&host).unwrap();
        (t, host, a)
    }

    #[test]
    fn purge_removes_backups_dumps_cache_and_old_trees_and_says_what_stays() {
        let (t, host, a) = installed();
        let r = uninstall(&host, &a, true).unwrap();
        let root = t.path();
        for gone in [
            "opt/mattermost",
            "opt/mattermost-10.11.1.previous",
            "opt/mattermost-11.0.0.failed",
            "opt/mattermost-10.11.1.previous.previous-2026-01-01T000000Z",
            "opt/.mattermost.mattermost-setup-staging",
            "var/backups/mattermost-setup",
            "var/cache/mattermost-setup",
            "etc/mattermost-setup",
            "var/lib/mattermost-setup",
        ] {
            assert!(!root.join(gone).exists(), "{gone} is still there");
        }
        assert!(root.join("opt/other-app").exists(), "not ours");
        let removed = r.removed.join("\n");
        for listed in [
            "/var/backups/mattermost-setup (",
            "/var/cache/mattermost-setup (",
            "/opt/mattermost-10.11.1.previous (",
            "/opt/mattermost-11.0.0.failed (",
        ] {
            assert!(removed.contains(listed), "{listed} not in {removed}");
        }
        // What stays is exactly: the database (pre-existing here: not created by
        // the tool), and the run logs.
        let kept = r.kept.join("\n");
        assert!(
            !kept.contains("backups") && !kept.contains("cache") && !kept.contains(".previous"),
            "{kept}"
        );
        assert!(kept.contains("/var/log/mattermost-setup"), "{kept}");
    }

    #[test]
    fn an_adopted_directory_is_emptied_by_purge_but_stays() {
        let (t, host, a) = installed();
        let mut own = Ownership::default();
        own.found("directory", "/opt/mattermost");
        own.take_over("/opt/mattermost");
        own.save(&host).unwrap();
        let r = uninstall(&host, &a, true).unwrap();
        let inst = t.path().join("opt/mattermost");
        assert!(inst.is_dir());
        assert_eq!(std::fs::read_dir(&inst).unwrap().count(), 0);
        assert!(
            r.kept
                .join("\n")
                .contains("the empty directory /opt/mattermost")
        );
        // Without the record, it is not the tool's to empty.
        let (t, host, a) = installed();
        Ownership::default().save(&host).unwrap();
        uninstall(&host, &a, true).unwrap();
        assert!(t.path().join("opt/mattermost/data/teams").exists());
    }

    #[test]
    fn without_purge_every_leftover_is_listed_as_kept() {
        let (t, host, a) = installed();
        let r = uninstall(&host, &a, false).unwrap();
        let kept = r.kept.join("\n");
        for listed in [
            "/var/backups/mattermost-setup (",
            "/var/cache/mattermost-setup (",
            "/opt/mattermost-10.11.1.previous (",
            "/opt/mattermost-11.0.0.failed (",
            "/opt/.mattermost.mattermost-setup-staging (",
            "/etc/mattermost-setup/answers.json",
            "/var/lib/mattermost-setup/ownership.json",
        ] {
            assert!(kept.contains(listed), "{listed} not in {kept}");
        }
        assert!(t.path().join("var/backups/mattermost-setup").exists());
        assert!(t.path().join("opt/mattermost/data/teams").exists());
    }
}

//! PostgreSQL: a login role, a UTF8 database it owns, and (PG 15+) schema public it
//! owns. All SQL goes to psql on stdin, and the login check reads the password from
//! a password file made for the call: the password reaches neither an argv nor an
//! environment.

use std::path::Path;

use super::{P, credentials};
use crate::answers::{Answers, validate};
use crate::host::{Cmd, FileSpec, Host, Output};
use crate::phases::{Check, Ctx, PhaseError};

/// Pins what [`super::literal`] assumes (quotes doubled, backslashes plain) for the
/// session, whatever the server's configuration says: an operator may run with
/// `standard_conforming_strings = off`, where `\` escapes in `'...'`.
pub const SESSION: &str = "SET standard_conforming_strings = on;\n";

/// The plan's script, run as the postgres superuser.
pub fn admin_sql(plan: &crate::plan::Plan, a: &Answers) -> String {
    super::planned_script(plan, a, SESSION, "")
}

/// What the application user sees when it logs in: `user|owner|encoding|public owner|version`.
pub const LOGIN_SQL: &str = "SELECT current_user, pg_catalog.pg_get_userbyid(d.datdba), \
    pg_catalog.pg_encoding_to_char(d.encoding), \
    (SELECT pg_catalog.pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public'), \
    current_setting('server_version_num'), \
    pg_catalog.has_schema_privilege('public', 'CREATE') \
    FROM pg_catalog.pg_database d WHERE d.datname = current_database()";

/// psql as the application user over TCP, the way Mattermost connects; the password
/// is in `passfile` (a libpq password file, see [`credentials::pgpass`]). `-w`: never
/// prompt. The session runs in [`SESSION`] mode, so `sql` may carry [`super::literal`]s.
pub fn login_cmd(a: &Answers, sql: &str, passfile: &Path) -> Cmd {
    let remote = a.remote_db();
    let (host, port) = remote.as_ref().map_or_else(
        || ("localhost".to_owned(), "5432".to_owned()),
        |r| (r.host.clone(), r.port.to_string()),
    );
    let mut cmd = Cmd::new(
        "psql",
        &[
            "-X",
            "-w",
            "-q",
            "-A",
            "-t",
            "-h",
            &host,
            "-p",
            &port,
            "-U",
            &a.db_user,
            "-d",
            &a.db_name,
            "-c",
            &format!("{SESSION}{sql}"),
        ],
    )
    .env("PGPASSFILE", passfile.to_string_lossy())
    .env("PGCONNECT_TIMEOUT", "5");
    if let Some(r) = remote {
        // libpq's sslmode and root certificate, as lib/pq gets them in the DSN.
        cmd = cmd.env("PGSSLMODE", r.sslmode.name());
        if let Some(ca) = &r.ca_file {
            cmd = cmd.env("PGSSLROOTCERT", ca.to_string_lossy());
        }
    }
    cmd
}

/// Runs `sql` as the application user (see [`login_cmd`]).
pub fn login(host: &Host, a: &Answers, sql: &str) -> Result<Output, PhaseError> {
    let file = super::password_file(host, &credentials::pgpass(a.db_password.expose()))?;
    let out = host.probe(&login_cmd(a, sql, file.path()))?;
    drop(file);
    Ok(out)
}

pub fn probe(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let a = ctx.answers;
    // psql applies SASLprep to the password, as the server did when it stored it;
    // Mattermost's driver (lib/pq) does not. A password SASLprep changes logs in
    // with psql and never with Mattermost: the check says so instead of passing.
    // New answers are refused up front (answers::validate::pg_password); this is
    // for a password saved by an older version.
    if let Err(why) = validate::pg_password(a.db_password.expose()) {
        return Ok(vec![
            Check::fail(
                P,
                format!("login as {}", a.db_user),
                format!("Mattermost cannot log in: the saved db_password {why}"),
            )
            .with_fix(
                "set a new password: mattermost-setup reconfigure --answers FILE with \
                 {\"db_password\": \"...\"} (ASCII letters, digits and punctuation always work)",
            ),
        ]);
    }
    let out = login(ctx.host, a, LOGIN_SQL)?;
    if !out.success() {
        let why = ctx.host.redact(out.stderr.trim());
        return Ok(vec![
            Check::fail(P, format!("login as {}", a.db_user), why)
                .with_fix("repair re-creates the role and sets the saved password"),
        ]);
    }
    let f: Vec<&str> = out.stdout.trim().split('|').collect();
    let [user, owner, encoding, public_owner, version, create] = f.as_slice() else {
        return Err(PhaseError::new(format!(
            "unexpected answer from PostgreSQL: {}",
            out.stdout.trim()
        )));
    };
    let version: u32 = version.parse().unwrap_or(0);
    let needed = ctx.plan.release.version.min_postgresql();
    Ok(vec![
        Check::ok(
            P,
            format!("login as {}", a.db_user),
            format!("logged in to {} as {user}", a.db_name),
        ),
        Check::when(
            P,
            version / 10000 >= needed,
            "PostgreSQL version",
            format!(
                "{version}, Mattermost {} needs {needed}+",
                ctx.plan.release.version
            ),
        )
        .with_fix("install a newer PostgreSQL (apt.postgresql.org), or choose Mattermost 10.11"),
        Check::when(
            P,
            *owner == a.db_user,
            format!("database {} owner", a.db_name),
            *owner,
        ),
        Check::when(
            P,
            *encoding == "UTF8",
            format!("database {} encoding", a.db_name),
            *encoding,
        ),
        if a.remote_db().is_some() {
            // A managed database (PostgreSQL 15+ leaves public to pg_database_owner):
            // what Mattermost needs is the right to create its tables there.
            Check::when(
                P,
                *create == "t",
                "may create tables in schema public",
                if *create == "t" { "yes" } else { "no" },
            )
            .with_fix(format!(
                "as the database's administrator: GRANT USAGE, CREATE ON SCHEMA public TO {}",
                a.db_user
            ))
        } else {
            Check::when(
                P,
                *public_owner == a.db_user,
                "schema public owner",
                *public_owner,
            )
        },
    ])
}

/// The plan's crash-restart drop-in for the cluster on port 5432, with its unit;
/// `None` before a cluster exists. The plan names the cluster from `pg_lsclusters`,
/// or before PostgreSQL is installed from what apt will create ([`Facts`]); when apt
/// could not say, or made another cluster, the drop-in follows the cluster that is
/// there, and the log says so.
///
/// [`Facts`]: crate::plan::Facts
fn restart_dropin(ctx: &Ctx) -> Option<(String, FileSpec)> {
    use crate::plan::database;
    let unit = super::cluster_unit(ctx)?;
    // The plan has a drop-in for this cluster exactly when its facts named it.
    let planned = ctx
        .plan
        .file(&database::restart_dropin_path(&unit).to_string_lossy());
    let file = planned.cloned().unwrap_or_else(|| {
        let named = ctx.plan.facts.postgres_unit.as_ref();
        ctx.host.note(&format!(
            "the plan named PostgreSQL cluster {}; the cluster on port 5432 is {unit}: its drop-in follows it",
            named.map_or("(none: apt could not say)", |u| u.name())
        ));
        database::restart_dropin(&unit)
    });
    Some((unit, crate::phases::planned_spec(&file)))
}

/// The crash-restart drop-in, as a check (no check before a cluster exists).
pub fn restart_check(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    match restart_dropin(ctx) {
        Some((_, spec)) => Ok(vec![ctx.managed_check(P, &spec)?]),
        None => Ok(vec![]),
    }
}

/// Writes the crash-restart drop-in when it differs, and reloads systemd then.
pub fn ensure_restart(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let Some((unit, spec)) = restart_dropin(ctx) else {
        return Ok(());
    };
    if ctx.write_managed(P, &spec)?.changed() {
        ctx.step(P, format!("{unit} now restarts after a crash"));
        ctx.host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
    }
    Ok(())
}

/// Whether the role and the database exist, asked as the superuser.
fn existing(ctx: &Ctx) -> Result<(bool, bool), PhaseError> {
    let a = ctx.answers;
    let sql = format!(
        "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = '{}'), (SELECT count(*) FROM pg_database WHERE datname = '{}')",
        a.db_user, a.db_name
    );
    let out = ctx.host.run(&Cmd::as_user(
        "postgres",
        "psql",
        &["-X", "-A", "-t", "-d", "postgres", "-c", &sql],
    ))?;
    let f: Vec<&str> = out.stdout.trim().split('|').collect();
    Ok((f.first() == Some(&"1"), f.get(1) == Some(&"1")))
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let a = ctx.answers;
    let (role, db) = existing(ctx)?;
    for (kind, name, there) in [("db_role", &a.db_user, role), ("database", &a.db_name, db)] {
        if there {
            ctx.own.found(kind, name);
        } else {
            ctx.claim(kind, name)?;
        }
    }
    ctx.step(
        P,
        format!(
            "creating role {} and database {} (owner {})",
            a.db_user, a.db_name, a.db_user
        ),
    );
    let cmd = Cmd::as_user(
        "postgres",
        "psql",
        &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
    )
    .stdin(admin_sql(ctx.plan, a));
    ctx.host.run(&cmd)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::answers::Secret;
    use crate::host::{Output, RunLog, Runner};

    /// A command, the password file it named (read while it ran) and the file's mode.
    type Seen = Vec<(Cmd, Vec<u8>, u32)>;

    /// Answers psql as a healthy server would; records each command.
    struct Psql {
        seen: Arc<Mutex<Seen>>,
    }

    impl Runner for Psql {
        fn run(&self, cmd: &Cmd, _: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
            let (file, mode) = cmd
                .env
                .iter()
                .find(|(k, _)| k == "PGPASSFILE")
                .map(|(_, p)| {
                    let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                    (std::fs::read(p).unwrap(), mode)
                })
                .unwrap_or_default();
            self.seen.lock().unwrap().push((cmd.clone(), file, mode));
            Ok(Output {
                code: Some(0),
                stdout: "mmuser|mmuser|UTF8|mmuser|150004|t\n".into(),
                stderr: String::new(),
            })
        }
    }

    fn probe_with(password: &str) -> (Vec<Check>, Seen) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let host = Host::new(
            dir.path().to_owned(),
            RunLog::create(&dir.path().join("log")),
            crate::events::discard(),
            Box::new(Psql { seen: seen.clone() }),
        );
        let mut a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        // As saved by a version that did not refuse it.
        a.db_password = Secret::new(password);
        let plan = crate::plan::Plan::new(&a).unwrap();
        let checks = probe(&Ctx::new(&host, &a, &plan)).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("run")).unwrap().count(),
            0,
            "the password file is gone"
        );
        let seen = seen.lock().unwrap().clone();
        (checks, seen)
    }

    #[test]
    fn the_login_check_reads_the_password_from_a_private_file() {
        let pw = "p' \"q\\ $x `y @z /w :v %u #t s";
        let (checks, seen) = probe_with(pw);
        assert!(checks.iter().all(Check::passed), "{checks:?}");
        let [(cmd, file, mode)] = seen.as_slice() else {
            panic!("one psql: {seen:?}");
        };
        assert!(!cmd.args.iter().any(|a| a.contains(pw)));
        assert!(
            !cmd.env.iter().any(|(_, v)| v.contains(pw)),
            "{:?}",
            cmd.env
        );
        assert_eq!(*file, credentials::pgpass(pw));
        assert_eq!(*mode, 0o600);
    }

    #[test]
    fn a_saved_password_saslprep_changes_fails_the_login_check() {
        // psql would log in with it (it normalises, as the server did); Mattermost's
        // driver would not.
        let (checks, _) = probe_with("pass\u{a0}word-123");
        let [check] = checks.as_slice() else {
            panic!("{checks:?}");
        };
        assert!(!check.passed());
        assert!(check.detail.contains("U+00A0"), "{check:?}");
        assert!(
            check.fix.as_deref().unwrap_or("").contains("reconfigure"),
            "{check:?}"
        );
    }

    #[test]
    fn the_admin_script_pins_standard_strings() {
        let mut a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        a.db_password = Secret::new("a\\'b");
        let sql = admin_sql(&crate::plan::Plan::new(&a).unwrap(), &a);
        assert!(sql.starts_with(SESSION), "{sql}");
        assert!(sql.contains("PASSWORD 'a\\''b';"), "{sql}");
    }
}

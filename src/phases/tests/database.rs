//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::host::fake::{Scene, ok};
use crate::phases::database::Database;

const DROPIN: &str =
    "/etc/systemd/system/postgresql@15-main.service.d/mattermost-setup-restart.conf";

/// A PostgreSQL 15 cluster as psql and pg_lsclusters show it: the application role
/// logs in once the admin script ran (flag "pg:db").
fn postgres(b: &FakeBox, a: &Answers) {
    b.reply(
        "pg_lsclusters",
        &["--no-header"],
        ok("15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n"),
    );
    let user = a.db_user.clone();
    b.on("psql", &["-X", "-w"], move |_, _, s: &mut Scene| {
        if s.world.flags.contains("pg:db") {
            ok(&format!("{user}|{user}|UTF8|{user}|150004|t\n"))
        } else {
            crate::host::fake::fail(
                2,
                &format!("psql: error: FATAL:  password authentication failed for user \"{user}\""),
            )
        }
    });
    b.on(
        "psql",
        &["-X", "-A", "-t", "-d", "postgres", "-c"],
        |_, _, s| {
            ok(if s.world.flags.contains("pg:db") {
                "1|1\n"
            } else {
                "0|0\n"
            })
        },
    );
    b.on("psql", &["-X", "-q", "-v", "ON_ERROR_STOP=1"], |c, _, s| {
        assert!(c.stdin.is_some(), "the admin SQL goes on stdin");
        s.world.flags.insert("pg:db".into());
        ok("")
    });
}

#[test]
fn an_empty_box_gets_postgres_started_the_role_the_database_and_the_restart_dropin() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    postgres(&b, &a);
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    let f = failing(&found);
    assert!(f.iter().any(|c| c.contains("running")), "{f:#?}");
    let after = after.expect("apply ran");
    assert!(failing(&after).is_empty(), "{after:#?}");
    // The unit was enabled and started; the SQL ran as postgres, with the password
    // on stdin only.
    assert!(
        b.ran("systemctl enable --now postgresql.service"),
        "{:#?}",
        b.lines()
    );
    let admin = b
        .calls()
        .into_iter()
        .find(|c| c.args.contains(&"ON_ERROR_STOP=1".to_owned()))
        .expect("the admin script ran");
    assert_eq!(admin.user.as_deref(), Some("postgres"));
    assert!(admin.has_stdin);
    let pw = a.db_password.expose();
    for c in b.calls() {
        assert!(
            !c.line().contains(pw),
            "password on a command line: {}",
            c.line()
        );
    }
    // The login check as Mattermost does it: over TCP, password in a file.
    let login = b
        .calls()
        .into_iter()
        .find(|c| {
            c.program == "psql"
                && c.args.first().is_some_and(|x| x == "-X")
                && c.args.get(1).is_some_and(|x| x == "-w")
        })
        .unwrap();
    assert!(login.env_keys.contains(&"PGPASSFILE".to_owned()));
    assert!(login.args.windows(2).any(|w| w == ["-h", "localhost"]));
    // The crash-restart drop-in for the cluster on 5432, then daemon-reload.
    let text = b.read(DROPIN).expect("the drop-in");
    assert!(text.contains("Restart=on-failure"), "{text}");
    assert_eq!(b.mode(DROPIN), 0o644);
    assert!(b.ran("systemctl daemon-reload"));
    let own = crate::state::Ownership::load(&b.host);
    assert!(own.did_create("db_role", &a.db_user));
    assert!(own.did_create("database", &a.db_name));
    b.assert_all_scripted();
}

#[test]
fn an_existing_role_and_database_are_found_not_claimed() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    postgres(&b, &a);
    b.start_units(&["postgresql.service"]);
    b.world().flags.insert("pg:db".into());
    // Only the drop-in is missing: the role and database are left alone.
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    assert_eq!(failing(&found).len(), 1, "{found:#?}");
    assert!(failing(&after.unwrap()).is_empty());
    assert!(!b.ran("psql -X -q -v ON_ERROR_STOP=1"), "{:#?}", b.lines());
    assert!(b.exists(DROPIN));
}

#[test]
fn a_converged_database_has_nothing_to_do() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    postgres(&b, &a);
    converge_phase(&b, &a, &p, &Database);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    // Only reads: no systemctl verb that changes anything, no admin SQL.
    for l in b.lines() {
        assert!(
            l.starts_with("systemctl is-")
                || l.starts_with("psql -X -w")
                || l.starts_with("pg_lsclusters"),
            "{l}"
        );
    }
}

#[test]
fn an_old_postgres_fails_the_version_check() {
    let b = FakeBox::empty();
    let a = answers("");
    let p = plan(&a);
    postgres(&b, &a);
    b.start_units(&["postgresql.service"]);
    let user = a.db_user.clone();
    b.reply(
        "psql",
        &["-X", "-w"],
        ok(&format!("{user}|{user}|UTF8|{user}|110009|t\n")),
    );
    let ctx = Ctx::new(&b.host, &a, &p);
    let checks = Database.probe(&ctx).unwrap();
    let f = failing(&checks);
    assert!(
        f.iter().any(|c| c.starts_with("PostgreSQL version")),
        "{f:#?}"
    );
}

/// The drop-in is the plan's: made for the cluster the facts name, written as the
/// plan has it. A plan that named another cluster (apt made a newer one than it
/// said) gets the drop-in for the cluster that is there, and the log says so.
#[test]
fn the_restart_dropin_is_the_plans_for_the_cluster_on_5432() {
    let b = FakeBox::empty();
    let a = answers("");
    postgres(&b, &a);
    b.start_units(&["postgresql.service"]);
    b.world().flags.insert("pg:db".into());
    let facts = crate::plan::Facts::probe(&b.host, &a);
    assert_eq!(
        facts
            .postgres_unit
            .as_ref()
            .map(crate::plan::facts::PostgresUnit::name),
        Some("postgresql@15-main.service")
    );
    let mut p = crate::plan::Plan::for_box(&a, &facts).unwrap();
    let planned = p
        .files
        .iter_mut()
        .find(|f| f.path.to_str() == Some(DROPIN))
        .expect("the plan lists the drop-in");
    planned.content.push_str("# as planned\n");
    let want = planned.content.clone();
    let (_, after) = converge_phase(&b, &a, &p, &Database);
    assert!(failing(&after.unwrap()).is_empty());
    assert_eq!(b.read(DROPIN).unwrap(), want);

    // A plan made when apt said 16: the cluster on the box is 15.
    let b = FakeBox::empty();
    postgres(&b, &a);
    b.start_units(&["postgresql.service"]);
    b.world().flags.insert("pg:db".into());
    let p = crate::plan::Plan::for_box(
        &a,
        &crate::plan::Facts {
            postgres_unit: Some(crate::plan::facts::PostgresUnit::Predicted(
                "postgresql@16-main.service".into(),
            )),
            ..facts
        },
    )
    .unwrap();
    assert!(p.file(DROPIN).is_none());
    let (_, after) = converge_phase(&b, &a, &p, &Database);
    assert!(failing(&after.unwrap()).is_empty());
    assert!(b.exists(DROPIN));
    assert!(
        !b.exists("/etc/systemd/system/postgresql@16-main.service.d/mattermost-setup-restart.conf")
    );
    let log = std::fs::read_to_string(b.host.log_path()).unwrap();
    assert!(
        log.contains("the plan named PostgreSQL cluster postgresql@16-main.service"),
        "{log}"
    );
}

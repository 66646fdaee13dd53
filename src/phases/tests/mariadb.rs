//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! The database phase on MariaDB (Mattermost 10.11): secured like
//! mysql_secure_installation (anonymous account and empty test database dropped),
//! the application user and a utf8mb4 database, the login checked as that user.

use super::*;
use crate::dsn::MYSQL_SOCKET;
use crate::host::fake::{Scene, fail, ok};
use crate::phases::database::Database;

/// A fresh Debian MariaDB as the root client sees it: an anonymous ''@'localhost'
/// account and an empty `test` database until the admin script ran.
fn mariadb(b: &FakeBox, a: &Answers) {
    let (user, db) = (a.db_user.clone(), a.db_name.clone());
    b.on(
        "mariadb",
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "-u",
            "root",
            "-N",
            "-B",
            "-e",
        ],
        move |_, args, s: &mut Scene| {
            let sql = args.last().unwrap();
            let made = s.world.flags.contains("my:db");
            let count = |b: bool| ok(if b { "1\n" } else { "0\n" });
            if sql.starts_with("SELECT HEX(User)") {
                ok(if s.world.flags.contains("my:secured") {
                    ""
                } else {
                    "\t6C6F63616C686F7374\n"
                })
            } else if sql.contains(&format!("mysql.user WHERE User = '{user}'"))
                || (sql.contains(&format!("SCHEMA_NAME = '{db}'")) && sql.contains("COUNT"))
            {
                count(made)
            } else if sql.contains("DEFAULT_CHARACTER_SET_NAME") {
                ok(if made { "utf8mb4\n" } else { "" })
            } else if sql.contains("TABLE_SCHEMA = 'test'") {
                ok("0\n")
            } else if sql.contains("SCHEMA_NAME = 'test'") {
                count(!s.world.flags.contains("my:secured"))
            } else {
                fail(1, &format!("unexpected SQL in the test: {sql}"))
            }
        },
    );
    b.on(
        "mariadb",
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "--default-character-set=utf8mb4",
            "-u",
            "root",
        ],
        |c, _, s| {
            let sql = String::from_utf8(c.stdin.clone().expect("the script on stdin")).unwrap();
            assert!(sql.contains("DROP USER IF EXISTS ''@'localhost';"), "{sql}");
            assert!(sql.contains("DROP DATABASE IF EXISTS test;"), "{sql}");
            s.world.flags.insert("my:db".into());
            s.world.flags.insert("my:secured".into());
            ok("")
        },
    );
    let user = a.db_user.clone();
    // The application user's login: --defaults-file=<a password file made for the call>.
    b.on("mariadb", &[], move |c, args, s| {
        assert!(args[0].starts_with("--defaults-file="), "{:?}", c.args);
        if s.world.flags.contains("my:db") {
            ok(&format!("{user}@localhost\n"))
        } else {
            fail(
                1,
                &format!("ERROR 1045 (28000): Access denied for user '{user}'@'localhost'"),
            )
        }
    });
}

fn setup() -> (FakeBox, Answers) {
    let b = FakeBox::empty();
    let a = answers(r#""db_engine": "mariadb", "version": "10.11.23""#);
    mariadb(&b, &a);
    (b, a)
}

#[test]
fn an_empty_mariadb_is_secured_and_gets_the_user_and_a_utf8mb4_database() {
    let (b, a) = setup();
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    let f = failing(&found);
    assert!(
        f.iter().any(|c| c.starts_with("mariadb.service running")),
        "{f:#?}"
    );
    let after = after.unwrap();
    assert!(failing(&after).is_empty(), "{after:#?}");
    assert!(b.ran("systemctl enable --now mariadb.service"));
    // The password went on stdin only.
    for c in b.calls() {
        assert!(!c.line().contains(a.db_password.expose()), "{}", c.line());
    }
    let own = crate::state::Ownership::load(&b.host);
    assert!(own.did_create("database", &a.db_name));
    assert!(own.did_create("db_role", &a.db_user));
    b.assert_all_scripted();
}

#[test]
fn a_secured_mariadb_with_the_database_has_nothing_to_do() {
    let (b, a) = setup();
    let p = plan(&a);
    converge_phase(&b, &a, &p, &Database);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    assert!(!b.calls().iter().any(|c| c.has_stdin), "{:#?}", b.lines());
}

#[test]
fn an_anonymous_account_is_work_to_do_on_a_box_with_the_database() {
    let (b, a) = setup();
    b.start_units(&["mariadb.service"]);
    b.world().flags.insert("my:db".into());
    let p = plan(&a);
    let ctx = Ctx::new(&b.host, &a, &p);
    let f = failing(&Database.probe(&ctx).unwrap());
    assert_eq!(
        f,
        [
            "no anonymous, remote-root or remote app accounts: ''@'localhost'",
            "no test database: 1 found"
        ]
    );
}

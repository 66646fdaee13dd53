//! MariaDB / MySQL 8 (Mattermost <= 10.11 only): what mysql_secure_installation does,
//! a utf8mb4 database, and the application user @'localhost' only. SQL that both
//! servers accept; the password goes on stdin (root) or in MYSQL_PWD (login check).

use super::P;
use crate::answers::{Answers, DbEngine};
use crate::dsn::MYSQL_SOCKET;
use crate::host::Cmd;
use crate::phases::{Check, Ctx, PhaseError};

/// A string literal for MySQL/MariaDB with backslash escapes on (the default mode).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn client(a: &Answers) -> &'static str {
    if a.db_engine == DbEngine::Mysql {
        "mysql"
    } else {
        "mariadb"
    }
}

/// The client as root over the socket (Debian's root@localhost uses unix_socket auth).
pub fn root_cmd(a: &Answers, sql: &str) -> Cmd {
    Cmd::new(
        client(a),
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "-u",
            "root",
            "-N",
            "-B",
            "-e",
            sql,
        ],
    )
}

/// Accounts that must not exist: anonymous users, root from elsewhere, and the app
/// user from anywhere but localhost. Prints `'user'@'host'` lines.
pub fn unwanted_accounts_sql(a: &Answers) -> String {
    format!(
        "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.user WHERE User = '' \
         OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')) \
         OR (User = '{}' AND Host <> 'localhost') ORDER BY User, Host",
        a.db_user
    )
}

pub const TEST_DB_SQL: &str =
    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'test'";

pub fn charset_sql(a: &Answers) -> String {
    format!(
        "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
        a.db_name
    )
}

/// Idempotent SQL run as root. `drop_accounts` comes from [`unwanted_accounts_sql`].
pub fn admin_sql(a: &Answers, drop_accounts: &[String], drop_test_db: bool) -> String {
    let (db, user) = (&a.db_name, &a.db_user);
    let pw = literal(a.db_password.expose());
    let mut sql = String::new();
    for account in drop_accounts {
        sql.push_str(&format!("DROP USER IF EXISTS {account};\n"));
    }
    if drop_test_db {
        sql.push_str("DROP DATABASE IF EXISTS test;\n");
    }
    sql.push_str("DELETE FROM mysql.db WHERE Db = 'test' OR Db = 'test\\\\_%';\n");
    sql.push_str(&format!(
        "CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n\
         CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY {pw};\n\
         ALTER USER '{user}'@'localhost' IDENTIFIED BY {pw};\n\
         GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';\n\
         FLUSH PRIVILEGES;\n"
    ));
    sql
}

/// The client as the application user over the socket, password in MYSQL_PWD.
pub fn login_cmd(a: &Answers, sql: &str) -> Cmd {
    Cmd::new(
        client(a),
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "-u",
            &a.db_user,
            "-D",
            &a.db_name,
            "-N",
            "-B",
            "-e",
            sql,
        ],
    )
    .env("MYSQL_PWD", a.db_password.expose())
}

fn lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn probe(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let a = ctx.answers;
    let host = ctx.host;
    let mut checks = Vec::new();
    let unwanted = host.run(&root_cmd(a, &unwanted_accounts_sql(a)))?;
    let unwanted = lines(&unwanted.stdout);
    checks.push(
        Check::when(
            P,
            unwanted.is_empty(),
            "no anonymous, remote-root or remote app accounts",
            if unwanted.is_empty() {
                "none".to_owned()
            } else {
                unwanted.join(", ")
            },
        )
        .with_fix("repair drops them"),
    );
    let test = host.run(&root_cmd(a, TEST_DB_SQL))?;
    checks.push(Check::when(
        P,
        test.stdout.trim() == "0",
        "no test database",
        format!("{} found", test.stdout.trim()),
    ));
    let cs = host.run(&root_cmd(a, &charset_sql(a)))?;
    let cs = cs.stdout.trim();
    checks.push(Check::when(
        P,
        cs == "utf8mb4",
        format!("database {} character set", a.db_name),
        if cs.is_empty() { "missing" } else { cs },
    ));
    let login = host.probe(&login_cmd(a, "SELECT CURRENT_USER()"))?;
    let who = login.stdout.trim();
    let expected = format!("{}@localhost", a.db_user);
    checks.push(if login.success() {
        Check::when(P, who == expected, format!("login as {}", a.db_user), who)
    } else {
        Check::fail(
            P,
            format!("login as {}", a.db_user),
            host.redact(login.stderr.trim()),
        )
        .with_fix("repair re-creates the user with the saved password")
    });
    Ok(checks)
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let a = ctx.answers;
    let host = ctx.host;
    let user_sql = format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = '{}' AND Host = 'localhost'",
        a.db_user
    );
    let db_sql = format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
        a.db_name
    );
    let user_there = host.run(&root_cmd(a, &user_sql))?.stdout.trim() != "0";
    let db_there = host.run(&root_cmd(a, &db_sql))?.stdout.trim() != "0";
    for (kind, name, there) in [
        ("db_role", &a.db_user, user_there),
        ("database", &a.db_name, db_there),
    ] {
        if there {
            ctx.own.found(kind, name);
        } else {
            ctx.claim(kind, name)?;
        }
    }
    let unwanted = lines(&host.run(&root_cmd(a, &unwanted_accounts_sql(a)))?.stdout);
    // The test database goes only while it is empty: never user data.
    let test_tables = host.run(&root_cmd(
        a,
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test'",
    ))?;
    let test_exists = host.run(&root_cmd(a, TEST_DB_SQL))?.stdout.trim() != "0";
    let drop_test = test_exists && test_tables.stdout.trim() == "0";
    if test_exists && !drop_test {
        (host.events())(crate::events::Event::Warning {
            message: "the MariaDB `test` database has tables, so it was kept; drop it yourself if it is not used".into(),
        });
    }
    ctx.step(
        P,
        format!(
            "securing the server and creating {} for '{}'@'localhost'",
            a.db_name, a.db_user
        ),
    );
    let cmd = Cmd::new(
        client(a),
        &["--protocol=socket", "-S", MYSQL_SOCKET, "-u", "root"],
    )
    .stdin(admin_sql(a, &unwanted, drop_test));
    host.run(&cmd)?;
    Ok(())
}

//! The upgrade's MariaDB dump and restore, run for real: the commands the upgrade
//! builds (`lifecycle::upgrade::mysql_dump_cmd` / `mysql_restore_cmd`) against a
//! throw-away MariaDB server, as a failed upgrade uses them after the new release
//! migrated the database. (PostgreSQL's pg_dump/pg_restore path is exercised on a
//! fresh box by `freshbox_lifecycle::resilient_across_builds_kills_and_bookkeeping`.)

use mattermost_setup::answers::DbEngine;
use mattermost_setup::host::{Runner, SystemRunner};
use mattermost_setup::lifecycle::upgrade::{mysql_dump_cmd, mysql_restore_cmd};

use crate::support::databases::MariaDb;

#[test]
fn a_migrated_mariadb_database_is_put_back_as_the_dump_has_it() {
    let Some(maria) = MariaDb::start() else {
        return;
    };
    // A database name that needs quoting in SQL (the answers allow '-').
    let db = "mm-prod";
    maria.create_user_and_db("mmuser", "pw-restore-1", db);
    let sql = |q: &str| maria.root_sql(&format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{q}"));
    sql(
        "CREATE TABLE Posts (Id VARCHAR(26) PRIMARY KEY, Message TEXT) CHARACTER SET utf8mb4;\n\
         INSERT INTO Posts VALUES ('a', 'héllo 🎉'), ('b', 'it''s');\n\
         CREATE TABLE Systems (Name VARCHAR(64) PRIMARY KEY, Value TEXT);\n\
         INSERT INTO Systems VALUES ('Version', '10.11.90');",
    );
    let socket = maria.socket.to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("mm-prod-10.11.90.sql");

    let out = SystemRunner
        .run(
            &mysql_dump_cmd(DbEngine::Mariadb, &socket, db).stdout_to(&dump),
            None,
        )
        .unwrap();
    assert!(out.success(), "dump failed: {}", out.stderr);
    assert!(std::fs::metadata(&dump).unwrap().len() > 0, "empty dump");

    // What a new release's migration does: a new table, changed rows, a new version.
    sql("CREATE TABLE WrittenByTheNewRelease (x INT);\n\
         INSERT INTO Posts VALUES ('c', 'after the dump');\n\
         UPDATE Systems SET Value = '10.11.91' WHERE Name = 'Version';");

    let out = SystemRunner
        .run(
            &mysql_restore_cmd(DbEngine::Mariadb, &socket, db, &dump.to_string_lossy()),
            None,
        )
        .unwrap();
    assert!(out.success(), "restore failed: {}", out.stderr);

    assert_eq!(
        sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'WrittenByTheNewRelease';").trim(),
        "0",
        "the new release's table survived the restore"
    );
    assert_eq!(
        sql("SELECT Value FROM Systems WHERE Name = 'Version';").trim(),
        "10.11.90"
    );
    assert_eq!(
        sql("SELECT GROUP_CONCAT(Message ORDER BY Id SEPARATOR '|') FROM Posts;").trim(),
        "héllo 🎉|it's"
    );
    assert_eq!(
        maria
            .root_sql(&format!(
                "SELECT default_character_set_name FROM information_schema.schemata WHERE schema_name = '{db}';"
            ))
            .trim(),
        "utf8mb4"
    );
    // The application user's grants name the database, so they survive the drop.
    let grants = maria.root_sql("SHOW GRANTS FOR 'mmuser'@'localhost';");
    assert!(grants.contains("`mm-prod`.*"), "{grants}");
}

#[test]
fn a_restore_from_a_missing_dump_fails_and_leaves_the_database() {
    let Some(maria) = MariaDb::start() else {
        return;
    };
    let db = "mattermost";
    maria.create_user_and_db("mmuser", "pw-restore-2", db);
    maria.root_sql(&format!(
        "USE `{db}`; CREATE TABLE Posts (Id INT); INSERT INTO Posts VALUES (1);"
    ));
    let socket = maria.socket.to_string_lossy().into_owned();
    let out = SystemRunner
        .run(
            &mysql_restore_cmd(DbEngine::Mariadb, &socket, db, "/nonexistent/dump.sql"),
            None,
        )
        .unwrap();
    assert!(!out.success(), "a restore without its dump passed");
    // The dump is opened before anything is dropped: the database is as it was.
    let left = maria.root_sql(&format!("SELECT COUNT(*) FROM `{db}`.Posts;"));
    assert_eq!(left.trim(), "1", "a failed restore dropped the database");
}

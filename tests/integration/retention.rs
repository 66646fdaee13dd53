//! `mattermost-setup retention` against real PostgreSQL and MariaDB servers started
//! in temp dirs, with Mattermost's real table shapes (standin/schema/*.sql, the same
//! files the stand-in server creates) seeded with old and new posts and everything
//! that hangs off them, and real files in a file store directory.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::databases::{MariaDb, Postgres, encode_all, find_program};
use crate::support::mirror::installer;

const SCHEMA_POSTGRES: &str = include_str!("../../standin/schema/postgres.sql");
const SCHEMA_MYSQL: &str = include_str!("../../standin/schema/mysql.sql");
/// Every character the DSN, SQL and shell layers could trip on.
const PASSWORD: &str = "Pw'q\"r\\s$t`u@v/w:x%y#z a&b?c+d;e=fé";
/// Pieces of the password as they would appear raw or percent-encoded in an argv.
const PASSWORD_FRAGMENTS: [&str; 3] = ["u@v/w:x%y#z", "%40v%2Fw%3Ax", "t`u@v"];
const DAY: i64 = 86_400_000;
const DAYS: u32 = 30;

/// A database under test: its driver, DataSource and a superuser SQL runner.
struct Db<'a> {
    driver: &'static str,
    dsn: String,
    sql: &'a dyn Fn(&str) -> String,
}

impl Db<'_> {
    fn ids(&self, table_sql: &str) -> BTreeSet<String> {
        (self.sql)(table_sql)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// 26-character ids that say what they are.
fn id(name: &str) -> String {
    format!("{name:x<26}")
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A post: (name, age in ms, root name or "", pinned, soft-deleted).
type Post = (&'static str, i64, &'static str, bool, bool);

/// The seed. Old = older than 30 days.
fn posts() -> Vec<Post> {
    vec![
        // An old thread, all old: goes whole, with everything attached.
        ("oldroot", 40 * DAY, "", false, false),
        ("oldreply", 35 * DAY, "oldroot", false, false),
        // Old and pinned: kept by default.
        ("oldpinned", 50 * DAY, "", true, false),
        // An old root whose thread is still active: kept, its old reply goes.
        ("activeroot", 45 * DAY, "", false, false),
        ("activeoldreply", 44 * DAY, "activeroot", false, false),
        ("activenewreply", DAY, "activeroot", false, false),
        // Old and already soft-deleted: goes too.
        ("olddeleted", 33 * DAY, "", false, true),
        // Either side of the cutoff, one minute away.
        ("justold", 30 * DAY + 60_000, "", false, false),
        ("justnew", 30 * DAY - 60_000, "", false, false),
        // New posts with the same kinds of attachments as oldroot.
        ("newroot", DAY, "", false, false),
        ("newreply", DAY / 2, "newroot", false, false),
        // More old posts, so that small batches need several transactions.
        ("bulk1", 60 * DAY, "", false, false),
        ("bulk2", 61 * DAY, "", false, false),
        ("bulk3", 62 * DAY, "", false, false),
        ("bulk4", 63 * DAY, "", false, false),
        ("bulk5", 64 * DAY, "", false, false),
    ]
}

fn kept_posts() -> BTreeSet<String> {
    [
        "oldpinned",
        "activeroot",
        "activenewreply",
        "justnew",
        "newroot",
        "newreply",
    ]
    .iter()
    .map(|n| id(n))
    .collect()
}

/// Files of a file info, relative to the file store.
fn file_paths(name: &str) -> [String; 3] {
    let dir = format!(
        "20240101/teams/noteam/channels/{}/users/{}/{}",
        id("chan"),
        id("user"),
        id(&format!("f{name}"))
    );
    [
        format!("{dir}/{name} photo.png"),
        format!("{dir}/{name} photo_thumb.jpg"),
        format!("{dir}/{name} photo_preview.jpg"),
    ]
}

fn seed_sql(now: i64) -> String {
    let mut s = String::new();
    for (name, age, root, pinned, deleted) in posts() {
        let at = now - age;
        let root_id = if root.is_empty() {
            String::new()
        } else {
            id(root)
        };
        s.push_str(&format!(
            "INSERT INTO Posts (Id, CreateAt, UpdateAt, DeleteAt, UserId, ChannelId, RootId, OriginalId, Message, Type, Props, Hashtags, Filenames, FileIds, HasReactions, EditAt, IsPinned) \
             VALUES ('{}', {at}, {at}, {}, '{}', '{}', '{root_id}', '', 'message {name}', '', '{{}}', '', '[]', '[]', FALSE, 0, {});\n",
            id(name),
            if deleted { at + 1 } else { 0 },
            id("user"),
            id("chan"),
            if pinned { "TRUE" } else { "FALSE" },
        ));
    }
    // Attachments on an old and a new thread root, and on a kept root.
    for post in ["oldroot", "newroot", "oldreply"] {
        let p = id(post);
        let [path, thumb, preview] = file_paths(post);
        s.push_str(&format!(
            "INSERT INTO Reactions (UserId, PostId, EmojiName, CreateAt, UpdateAt, DeleteAt) VALUES ('{}', '{p}', 'smile', {now}, {now}, 0);\n\
             INSERT INTO Reactions (UserId, PostId, EmojiName, CreateAt, UpdateAt, DeleteAt) VALUES ('{}', '{p}', '+1', {now}, {now}, 0);\n\
             INSERT INTO FileInfo (Id, CreatorId, PostId, CreateAt, UpdateAt, DeleteAt, Path, ThumbnailPath, PreviewPath, Name, Extension, Size, MimeType) \
             VALUES ('{}', '{}', '{p}', {now}, {now}, 0, '{path}', '{thumb}', '{preview}', '{post} photo.png', 'png', 1, 'image/png');\n\
             INSERT INTO Preferences (UserId, Category, Name, Value) VALUES ('{}', 'flagged_post', '{p}', 'true');\n",
            id("user"),
            id("user2"),
            id(&format!("f{post}")),
            id("user"),
            id("user"),
        ));
    }
    for root in ["oldroot", "newroot", "activeroot"] {
        let p = id(root);
        s.push_str(&format!(
            "INSERT INTO Threads (PostId, ReplyCount, LastReplyAt, Participants, ChannelId) VALUES ('{p}', 2, {now}, '[]', '{}');\n\
             INSERT INTO ThreadMemberships (PostId, UserId, Following, LastViewed, LastUpdated, UnreadMentions) VALUES ('{p}', '{}', TRUE, 0, 0, 0);\n\
             INSERT INTO ThreadMemberships (PostId, UserId, Following, LastViewed, LastUpdated, UnreadMentions) VALUES ('{p}', '{}', TRUE, 0, 0, 0);\n",
            id("chan"),
            id("user"),
            id("user2"),
        ));
    }
    // A preference with a post id as its name that is not a saved post: untouched.
    s.push_str(&format!(
        "INSERT INTO Preferences (UserId, Category, Name, Value) VALUES ('{}', 'display_settings', '{}', 'x');\n",
        id("user"),
        id("oldroot")
    ));
    s
}

fn write_files(store: &Path) {
    for post in ["oldroot", "newroot", "oldreply"] {
        for rel in file_paths(post) {
            let p = store.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, post).unwrap();
        }
    }
}

/// An install directory with config.json pointing at `db`, and a file store.
fn install_dir(db: &Db) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("retention-")
        .tempdir()
        .unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = serde_json::json!({
        "ServiceSettings": {"SiteURL": "http://chat.example.com"},
        "SqlSettings": {"DriverName": db.driver, "DataSource": db.dsn},
        "FileSettings": {"DriverName": "local", "Directory": "./data/"},
    });
    std::fs::write(dir.path().join("config/config.json"), cfg.to_string()).unwrap();
    write_files(&dir.path().join("data"));
    dir
}

fn retention(config: &Path, extra: &[&str]) -> Output {
    Command::new(installer())
        .arg("retention")
        .arg("--config")
        .arg(config)
        .args(["--days", &DAYS.to_string()])
        .args(extra)
        .output()
        .expect("run mattermost-setup retention")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn report(o: &Output) -> Value {
    assert!(o.status.success(), "retention failed:\n{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)))
}

/// Every table's rows, to prove a run changed nothing.
fn snapshot(db: &Db) -> Vec<BTreeSet<String>> {
    [
        "SELECT Id FROM Posts;",
        "SELECT CONCAT(PostId, UserId, EmojiName) FROM Reactions;",
        "SELECT Id FROM FileInfo;",
        "SELECT CONCAT(PostId, ReplyCount) FROM Threads;",
        "SELECT CONCAT(PostId, UserId) FROM ThreadMemberships;",
        "SELECT CONCAT(Category, Name) FROM Preferences;",
    ]
    .iter()
    .map(|q| db.ids(q))
    .collect()
}

fn files_on_disk(store: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(store, store, &mut out);
    out
}

/// The whole story on one database.
#[allow(clippy::too_many_lines)] // one story, told in order
fn scenario(db: &Db) {
    let now = now_ms();
    (db.sql)(&seed_sql(now));
    let dir = install_dir(db);
    let config = dir.path().join("config/config.json");
    let store = dir.path().join("data");
    let before = snapshot(db);
    let files_before = files_on_disk(&store);
    assert_eq!(files_before.len(), 9);

    // The dry run counts and changes nothing.
    let dry = report(&retention(&config, &["--dry-run", "--json"]));
    let c = &dry["deleted"];
    // oldroot, oldreply, activeoldreply, olddeleted, justold, bulk1..5
    assert_eq!(c["posts"], 10, "{dry:#}");
    assert_eq!(c["reactions"], 4, "{dry:#}");
    assert_eq!(c["file_infos"], 2, "{dry:#}");
    assert_eq!(c["files"], 6, "{dry:#}");
    assert_eq!(c["threads"], 1, "{dry:#}");
    assert_eq!(c["thread_memberships"], 2, "{dry:#}");
    assert_eq!(c["saved_posts"], 2, "{dry:#}");
    assert_eq!(dry["kept_pinned"], 1, "{dry:#}");
    assert_eq!(dry["kept_thread_roots"], 1, "{dry:#}");
    assert_eq!(snapshot(db), before, "the dry run changed the database");
    assert_eq!(
        files_on_disk(&store),
        files_before,
        "the dry run removed files"
    );
    let human = retention(&config, &["--dry-run"]);
    let out = text(&human);
    eprintln!("{}: dry run:\n{out}", db.driver);
    assert!(human.status.success(), "{out}");
    assert!(
        out.contains("dry run: nothing is deleted") && out.contains("would delete"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["posts", "10"]),
        "{out}"
    );

    // The real run, in transactions of 3 posts, watched by strace when available:
    // every execve with its arguments and environment (-v).
    let log = dir.path().join("retention.log");
    let strace = find_program(&["strace"], &[]);
    let trace = dir.path().join("execve.trace");
    let mut cmd = match &strace {
        Some(s) => {
            let mut c = Command::new(s);
            c.args([
                "-f",
                "-qq",
                "-v",
                "-e",
                "trace=execve",
                "-e",
                "signal=none",
                "-s",
                "65535",
                "-o",
            ])
            .arg(&trace)
            .arg(installer());
            c
        }
        None => Command::new(installer()),
    };
    let out = cmd
        .arg("retention")
        .arg("--config")
        .arg(&config)
        .args([
            "--days",
            &DAYS.to_string(),
            "--batch-size",
            "3",
            "--json",
            "--log",
        ])
        .arg(&log)
        .output()
        .unwrap();
    let done = report(&out);
    assert_eq!(
        done["deleted"], dry["deleted"],
        "the run deleted what the dry run counted"
    );
    assert_eq!(
        done["batches"], 4,
        "10 posts in transactions of 3: {done:#}"
    );
    assert_eq!(done["files_missing"], 0);

    // Exactly the old posts went; new and pinned ones and the active root stayed.
    assert_eq!(db.ids("SELECT Id FROM Posts;"), kept_posts());
    assert_eq!(
        db.ids("SELECT DISTINCT PostId FROM Reactions;"),
        BTreeSet::from([id("newroot")])
    );
    assert_eq!(
        db.ids("SELECT PostId FROM FileInfo;"),
        BTreeSet::from([id("newroot")])
    );
    assert_eq!(
        db.ids("SELECT PostId FROM Threads;"),
        BTreeSet::from([id("newroot"), id("activeroot")])
    );
    assert_eq!(
        db.ids("SELECT DISTINCT PostId FROM ThreadMemberships;"),
        BTreeSet::from([id("newroot"), id("activeroot")])
    );
    assert_eq!(
        db.ids("SELECT CONCAT(Category, ':', Name) FROM Preferences;"),
        BTreeSet::from([
            format!("flagged_post:{}", id("newroot")),
            format!("display_settings:{}", id("oldroot")),
        ])
    );
    assert_eq!(
        (db.sql)(&format!(
            "SELECT ReplyCount FROM Threads WHERE PostId = '{}';",
            id("activeroot")
        ))
        .trim(),
        "1",
        "the active thread's reply count is recounted"
    );
    // Files: the new post's are there, the old ones and their directories are gone.
    let left = files_on_disk(&store);
    assert_eq!(
        left,
        file_paths("newroot").into_iter().collect::<BTreeSet<_>>()
    );
    assert!(
        !store
            .join(file_paths("oldroot")[0].as_str())
            .parent()
            .unwrap()
            .exists()
    );
    // The log says what went.
    let logged = std::fs::read_to_string(&log).unwrap();
    eprintln!("{}: retention.log:\n{logged}", db.driver);
    assert!(logged.contains("deleted 10 posts, 4 reactions, 2 file infos (6 files on disk), 1 threads, 2 thread memberships, 2 saved-post preferences"), "{logged}");
    assert!(logged.contains("in 4 transactions"), "{logged}");
    // The password is on no command line the job ran.
    if strace.is_some() {
        let t = std::fs::read_to_string(&trace).unwrap();
        let client = if db.driver == "postgres" {
            "psql"
        } else {
            "mariadb"
        };
        assert!(t.contains(client), "strace saw the client: {t}");
        assert!(t.contains("PATH="), "strace -v shows the environments: {t}");
        for f in PASSWORD_FRAGMENTS {
            assert!(
                !t.contains(f),
                "password fragment {f:?} in an argv or environment:\n{t}"
            );
        }
    } else {
        assert!(
            !crate::support::databases::require_db(),
            "MMS_REQUIRE_DB=1 but strace is not installed (tests/run.sh installs it)"
        );
        eprintln!("\n*** SKIPPING the argv/environment check: strace is not installed ***\n");
    }

    // A second run finds nothing more to delete.
    let again = report(&retention(&config, &["--json"]));
    assert_eq!(again["deleted"]["posts"], 0, "{again:#}");
    assert_eq!(again["deleted"]["files"], 0, "{again:#}");
    assert_eq!(db.ids("SELECT Id FROM Posts;"), kept_posts());

    // Pinned posts go only when asked.
    let unpinned = report(&retention(&config, &["--keep-pinned", "false", "--json"]));
    assert_eq!(
        unpinned["deleted"]["posts"], 1,
        "only the pinned post: {unpinned:#}"
    );
    let mut expected = kept_posts();
    expected.remove(&id("oldpinned"));
    assert_eq!(
        db.ids("SELECT Id FROM Posts;"),
        expected,
        "the active thread's root is still kept"
    );
}

/// A transaction that fails half-way leaves everything as it was, files included.
fn failure_is_atomic(db: &Db, rename: (&str, &str)) {
    let now = now_ms();
    (db.sql)(&seed_sql(now));
    let dir = install_dir(db);
    let config = dir.path().join("config/config.json");
    let before = snapshot(db);
    let files = files_on_disk(&dir.path().join("data"));
    // Preferences are deleted after reactions in the transaction: make that fail.
    (db.sql)(rename.0);
    let out = retention(&config, &[]);
    (db.sql)(rename.1);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("nothing was deleted by the failed transaction"),
        "{}",
        text(&out)
    );
    assert_eq!(snapshot(db), before, "a failed transaction changed rows");
    assert_eq!(files_on_disk(&dir.path().join("data")), files);

    // A wrong password: refused, and the password is not printed.
    let bad = dir.path().join("config/bad.json");
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let dsn = cfg["SqlSettings"]["DataSource"]
        .as_str()
        .unwrap()
        .replace("Pw", "Wrong-Pw");
    let mut cfg = cfg;
    cfg["SqlSettings"]["DataSource"] = dsn.into();
    std::fs::write(&bad, cfg.to_string()).unwrap();
    let out = retention(&bad, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for f in PASSWORD_FRAGMENTS {
        assert!(!text(&out).contains(f), "{}", text(&out));
    }
    (db.sql)(
        "DELETE FROM Posts; DELETE FROM Reactions; DELETE FROM FileInfo; DELETE FROM Threads; DELETE FROM ThreadMemberships; DELETE FROM Preferences;",
    );
}

#[test]
fn retention_on_postgresql() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_user_and_db("mmuser", PASSWORD, "mattermost");
    // Tables owned by the application user, as Mattermost's migrations make them.
    pg.superuser_sql(
        "mattermost",
        &format!("SET ROLE mmuser;\n{SCHEMA_POSTGRES}"),
    );
    let sql = |q: &str| pg.superuser_sql("mattermost", q);
    let db = Db {
        driver: "postgres",
        dsn: format!(
            "postgres://mmuser:{}@127.0.0.1:{}/mattermost?sslmode=disable&connect_timeout=10",
            encode_all(PASSWORD),
            pg.port
        ),
        sql: &sql,
    };
    failure_is_atomic(
        &db,
        (
            "ALTER TABLE preferences RENAME TO preferences_away;",
            "ALTER TABLE preferences_away RENAME TO preferences;",
        ),
    );
    scenario(&db);
}

#[test]
fn retention_on_mariadb() {
    let Some(maria) = MariaDb::start() else {
        return;
    };
    maria.create_user_and_db("mmuser", PASSWORD, "mattermost");
    maria.root_sql(&format!("USE mattermost;\n{SCHEMA_MYSQL}"));
    let sql = |q: &str| maria.root_sql(&format!("USE mattermost;\n{q}"));
    let db = Db {
        driver: "mysql",
        dsn: format!(
            "mmuser:{PASSWORD}@unix({})/mattermost?charset=utf8mb4,utf8&writeTimeout=30s",
            maria.socket.display()
        ),
        sql: &sql,
    };
    failure_is_atomic(
        &db,
        (
            "RENAME TABLE Preferences TO Preferences_away;",
            "RENAME TABLE Preferences_away TO Preferences;",
        ),
    );

    // The hand-run guide's cleanup, evaluated (not run) on the seeded posts: its
    // date-string comparison matches every post, the newest included — it would
    // have emptied the table. The job's numeric cutoff must keep the new ones.
    (db.sql)(&seed_sql(now_ms()));
    let guide = (db.sql)(
        "SELECT COUNT(*) FROM Posts WHERE CreateAt > DATE_FORMAT(NOW() - INTERVAL 30 DAY, \"%Y-%m-%d 00:00:00\");",
    );
    assert_eq!(
        guide.trim(),
        posts().len().to_string(),
        "the guide's SQL matches every post"
    );
    (db.sql)(
        "DELETE FROM Posts; DELETE FROM Reactions; DELETE FROM FileInfo; DELETE FROM Threads; DELETE FROM ThreadMemberships; DELETE FROM Preferences;",
    );

    scenario(&db);
}

#[test]
fn retention_needs_a_period_and_a_readable_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(installer())
        .args(["retention", "--days", "30", "--config"])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("missing.json: cannot read it"),
        "{}",
        text(&out)
    );
    let out = Command::new(installer())
        .args(["retention", "--days", "0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses 0 days: {}",
        text(&out)
    );
}

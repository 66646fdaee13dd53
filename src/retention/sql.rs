//! The SQL of the retention job, per dialect. Pure functions: unit-tested here,
//! run against real database servers in `tests/integration/retention.rs`.
//!
//! The rule, in words: a post is deleted when its `CreateAt` (epoch milliseconds,
//! compared with a number computed by the job, never with a date string) is older
//! than the cutoff — unless it is pinned and pinned posts are kept, or it is the
//! root of a thread that still has a reply being kept (newer, or pinned): deleting
//! that root would orphan the replies. Old replies in an active thread go; the
//! thread's `ReplyCount` is recounted.
//!
//! With each post go, in the same transaction: its reactions, its file infos (the
//! files on disk are removed by the caller once the transaction committed), its
//! thread and thread memberships (when it is a root), and the "saved post"
//! preferences pointing at it (`Preferences.Category = 'flagged_post'`,
//! `Name = post id`).
//!
//! Table names are written in Mattermost's `MySQL` spelling (`Posts`, `FileInfo`...):
//! that server needs the exact case, and Postgres folds unquoted names to the
//! lower-case tables it has.

use std::fmt::Write as _;

use super::target::Dialect;

/// What to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Posts with `CreateAt` strictly below this (epoch ms) are old.
    pub cutoff_ms: i64,
    pub keep_pinned: bool,
}

/// The temporary table holding the ids of one batch.
const BATCH: &str = "mmsetup_retention_batch";

fn pinned(d: Dialect, alias: &str) -> String {
    match d {
        Dialect::Postgres => format!("COALESCE({alias}.IsPinned, FALSE)"),
        Dialect::Mysql => format!("COALESCE({alias}.IsPinned, 0) <> 0"),
    }
}

/// A reply of `p` that is kept.
fn kept_reply(d: Dialect, p: &Policy) -> String {
    let mut kept = format!("r.CreateAt >= {}", p.cutoff_ms);
    if p.keep_pinned {
        kept = format!("{kept} OR {}", pinned(d, "r"));
    }
    format!("SELECT 1 FROM Posts r WHERE r.RootId = p.Id AND ({kept})")
}

/// `WHERE` condition (on `Posts p`) of the posts to delete.
pub fn eligible(d: Dialect, p: &Policy) -> String {
    let mut w = format!("p.CreateAt < {}", p.cutoff_ms);
    if p.keep_pinned {
        w = format!("{w} AND NOT ({})", pinned(d, "p"));
    }
    format!("{w} AND NOT EXISTS ({})", kept_reply(d, p))
}

fn hex(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Postgres => format!("encode(convert_to(COALESCE({expr}, ''), 'UTF8'), 'hex')"),
        Dialect::Mysql => format!("LOWER(HEX(COALESCE({expr}, '')))"),
    }
}

fn file_columns(d: Dialect, alias: &str) -> String {
    format!(
        "'file', {}, {}, {}",
        hex(d, &format!("{alias}.Path")),
        hex(d, &format!("{alias}.ThumbnailPath")),
        hex(d, &format!("{alias}.PreviewPath"))
    )
}

/// Read-only: what a run would delete (`count|NAME|N` lines) and every file path
/// it would remove (`file|HEX|HEX|HEX` lines), in one consistent snapshot.
pub fn dry_run(d: Dialect, p: &Policy) -> String {
    let old = format!("(SELECT p.Id AS id FROM Posts p WHERE {})", eligible(d, p));
    let begin = match d {
        Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
        Dialect::Mysql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;",
    };
    let cutoff = p.cutoff_ms;
    let mut kept_pinned = "SELECT 'count', 'kept_pinned', 0;".to_owned();
    if p.keep_pinned {
        kept_pinned = format!(
            "SELECT 'count', 'kept_pinned', COUNT(*) FROM Posts p WHERE p.CreateAt < {cutoff} AND {};",
            pinned(d, "p")
        );
    }
    let root_kept = format!(
        "SELECT 'count', 'kept_thread_roots', COUNT(*) FROM Posts p WHERE p.CreateAt < {cutoff}{} AND EXISTS ({});",
        if p.keep_pinned {
            format!(" AND NOT ({})", pinned(d, "p"))
        } else {
            String::new()
        },
        kept_reply(d, p)
    );
    format!(
        "{begin}\n\
         SELECT 'count', 'posts', COUNT(*) FROM {old} o;\n\
         SELECT 'count', 'reactions', COUNT(*) FROM Reactions x JOIN {old} o ON x.PostId = o.id;\n\
         SELECT 'count', 'file_infos', COUNT(*) FROM FileInfo x JOIN {old} o ON x.PostId = o.id;\n\
         SELECT 'count', 'threads', COUNT(*) FROM Threads x JOIN {old} o ON x.PostId = o.id;\n\
         SELECT 'count', 'thread_memberships', COUNT(*) FROM ThreadMemberships x JOIN {old} o ON x.PostId = o.id;\n\
         SELECT 'count', 'saved_posts', COUNT(*) FROM Preferences x JOIN {old} o ON x.Name = o.id WHERE x.Category = 'flagged_post';\n\
         {kept_pinned}\n\
         {root_kept}\n\
         SELECT {files} FROM FileInfo x JOIN {old} o ON x.PostId = o.id;\n\
         COMMIT;\n",
        files = file_columns(d, "x"),
    )
}

/// One batch, in one transaction: up to `limit` of the oldest eligible posts and
/// everything that depends on them. Prints `count|TABLE|N` and `file|...` lines,
/// and `committed` as the very last line once COMMIT went through.
pub fn delete_batch(d: Dialect, p: &Policy, limit: u32) -> String {
    let select = format!(
        "SELECT p.Id, p.RootId FROM Posts p WHERE {} ORDER BY p.CreateAt LIMIT {limit}",
        eligible(d, p)
    );
    match d {
        Dialect::Postgres => {
            let del = |table: &str, on: &str, name: &str| {
                format!(
                    "WITH d AS (DELETE FROM {table} x USING {BATCH} o WHERE {on} RETURNING 1) \
                     SELECT 'count', '{name}', COUNT(*) FROM d;\n"
                )
            };
            let mut s = format!(
                "BEGIN;\n\
                 CREATE TEMPORARY TABLE {BATCH} ON COMMIT DROP AS {select};\n"
            );
            s.push_str(&del("Reactions", "x.PostId = o.Id", "reactions"));
            s.push_str(&del(
                "ThreadMemberships",
                "x.PostId = o.Id",
                "thread_memberships",
            ));
            s.push_str(&del("Threads", "x.PostId = o.Id", "threads"));
            s.push_str(&del(
                "Preferences",
                "x.Category = 'flagged_post' AND x.Name = o.Id",
                "saved_posts",
            ));
            let _ = writeln!(
                s,
                "DELETE FROM FileInfo x USING {BATCH} o WHERE x.PostId = o.Id RETURNING {};",
                file_columns(d, "x")
            );
            s.push_str(&del("Posts", "x.Id = o.Id", "posts"));
            s.push_str(&recount());
            s.push_str("COMMIT;\nSELECT 'committed';\n");
            s
        }
        Dialect::Mysql => {
            let del = |table: &str, on: &str, filter: &str, name: &str| {
                format!(
                    "DELETE x FROM {table} x JOIN {BATCH} o ON {on}{filter};\n\
                     SELECT 'count', '{name}', ROW_COUNT();\n"
                )
            };
            // The temporary table copies the column types (and collations) of Posts;
            // creating it before the transaction keeps CREATE out of it.
            let mut s = format!(
                "CREATE TEMPORARY TABLE {BATCH} AS SELECT Id, RootId FROM Posts WHERE 1 = 0;\n\
                 START TRANSACTION;\n\
                 INSERT INTO {BATCH} (Id, RootId) {select};\n"
            );
            s.push_str(&del("Reactions", "x.PostId = o.Id", "", "reactions"));
            s.push_str(&del(
                "ThreadMemberships",
                "x.PostId = o.Id",
                "",
                "thread_memberships",
            ));
            s.push_str(&del("Threads", "x.PostId = o.Id", "", "threads"));
            s.push_str(&del(
                "Preferences",
                "x.Name = o.Id",
                " WHERE x.Category = 'flagged_post'",
                "saved_posts",
            ));
            let _ = writeln!(
                s,
                "SELECT {} FROM FileInfo x JOIN {BATCH} o ON x.PostId = o.Id;",
                file_columns(d, "x")
            );
            s.push_str(&del("FileInfo", "x.PostId = o.Id", "", "file_infos"));
            s.push_str(&del("Posts", "x.Id = o.Id", "", "posts"));
            s.push_str(&recount());
            s.push_str("COMMIT;\nSELECT 'committed';\n");
            s
        }
    }
}

/// Threads whose replies were deleted get their reply count recounted.
fn recount() -> String {
    format!(
        "UPDATE Threads SET ReplyCount = (SELECT COUNT(*) FROM Posts r WHERE r.RootId = Threads.PostId AND r.DeleteAt = 0) \
         WHERE PostId IN (SELECT RootId FROM {BATCH} WHERE RootId <> '');\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        cutoff_ms: 1_700_000_000_000,
        keep_pinned: true,
    };

    #[test]
    fn the_cutoff_is_a_number_and_old_means_less_than() {
        for d in [Dialect::Postgres, Dialect::Mysql] {
            for sql in [
                eligible(d, &POLICY),
                dry_run(d, &POLICY),
                delete_batch(d, &POLICY, 10),
            ] {
                assert!(sql.contains("p.CreateAt < 1700000000000"), "{sql}");
                // The guide's two mistakes: comparing with a date string, and `>`.
                assert!(!sql.contains("CreateAt > "), "{sql}");
                assert!(!sql.contains("CreateAt < '"), "{sql}");
                for forbidden in ["DATE_FORMAT", "NOW()", "INTERVAL", "\""] {
                    assert!(!sql.contains(forbidden), "{forbidden} in {sql}");
                }
            }
        }
    }

    #[test]
    fn pinned_posts_and_roots_of_kept_replies_are_spared() {
        let w = eligible(Dialect::Postgres, &POLICY);
        assert!(w.contains("NOT (COALESCE(p.IsPinned, FALSE))"), "{w}");
        assert!(
            w.contains(
                "r.RootId = p.Id AND (r.CreateAt >= 1700000000000 OR COALESCE(r.IsPinned, FALSE))"
            ),
            "{w}"
        );
        let all = Policy {
            keep_pinned: false,
            ..POLICY
        };
        let w = eligible(Dialect::Mysql, &all);
        assert!(!w.contains("IsPinned"), "{w}");
    }

    #[test]
    fn a_batch_is_one_transaction_that_ends_with_a_marker() {
        for d in [Dialect::Postgres, Dialect::Mysql] {
            let sql = delete_batch(d, &POLICY, 500);
            assert!(sql.contains("LIMIT 500"));
            let begin = sql
                .find("BEGIN;")
                .or_else(|| sql.find("START TRANSACTION;"))
                .unwrap();
            let commit = sql.find("COMMIT;").unwrap();
            for table in [
                "Reactions",
                "ThreadMemberships",
                "Threads",
                "Preferences",
                "FileInfo",
                "Posts",
            ] {
                let at = sql
                    .find(&format!("FROM {table} x"))
                    .unwrap_or_else(|| panic!("{table}: {sql}"));
                assert!(
                    begin < at && at < commit,
                    "{table} is deleted inside the transaction"
                );
            }
            assert!(sql.contains("'flagged_post'"));
            assert!(sql.trim_end().ends_with("SELECT 'committed';"));
        }
    }

    #[test]
    fn the_dry_run_changes_nothing() {
        for d in [Dialect::Postgres, Dialect::Mysql] {
            let sql = dry_run(d, &POLICY).to_uppercase();
            assert!(sql.contains("READ ONLY"));
            for verb in ["DELETE ", "UPDATE ", "INSERT ", "CREATE "] {
                assert!(!sql.contains(verb), "{verb}");
            }
        }
    }
}

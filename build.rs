//! Build facts for `mattermost-setup --version`: the git commit the binary was built
//! from, and the date of the bundled releases table.
//!
//! - `MATTERMOST_SETUP_COMMIT` (environment, at build time) names the commit for
//!   builds outside a git checkout (a source tarball); otherwise `git rev-parse`
//!   answers, and "unknown" when neither does.
//! - The table's date is read from `assets/mattermost-releases.json`: its `"date"` key
//!   when there is one, else the newest `YYYY-MM-DD` in its `"source"` line (the
//!   documentation commit the table was taken from).
//!
//! No dependencies: this runs before anything else is compiled.

use std::path::Path;
use std::process::Command;

const COMMIT_ENV: &str = "MATTERMOST_SETUP_COMMIT";
const TABLE: &str = "assets/mattermost-releases.json";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={COMMIT_ENV}");
    println!("cargo:rerun-if-changed={TABLE}");

    let commit = match std::env::var(COMMIT_ENV) {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=MATTERMOST_SETUP_BUILD_COMMIT={commit}");

    let date = std::fs::read_to_string(TABLE)
        .ok()
        .and_then(|text| table_date(&text))
        .unwrap_or_else(|| {
            println!(
                "cargo:warning={TABLE} names no date (no \"date\" key, no YYYY-MM-DD in \"source\")"
            );
            "unknown".to_owned()
        });
    println!("cargo:rustc-env=MATTERMOST_SETUP_TABLE_DATE={date}");
}

/// `git rev-parse --short=12 HEAD`, and rebuild triggers on the files that move when
/// HEAD does (worktrees keep HEAD apart from the shared refs).
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (!s.is_empty()).then_some(s)
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Only files that exist: Cargo reruns the script on every build for a missing one.
    let watch = |path: &Path| {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch(&Path::new(&dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        let common = Path::new(&common);
        watch(&common.join("packed-refs"));
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(head_ref));
        }
    }
    Some(commit)
}

/// The table's date: a top-level `"date": "YYYY-MM-DD"`, else the newest date in the
/// `"source"` string.
pub(crate) fn table_date(text: &str) -> Option<String> {
    if let Some(d) = string_value(text, "date").filter(|d| is_date(d)) {
        return Some(d.to_owned());
    }
    let source = string_value(text, "source")?;
    (0..source.len().saturating_sub(9))
        .filter_map(|i| source.get(i..i + 10))
        .filter(|s| is_date(s))
        .max()
        .map(str::to_owned)
}

/// The string value of the first `"key": "..."` in the document (no escapes needed
/// for the keys read here).
fn string_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

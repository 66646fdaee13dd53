//! The install and data directories: which ones the tool may take, and owner and
//! mode changes that stay inside them and never follow a symbolic link.
//!
//! A directory is taken only when it is absent (the tool creates it), empty, already
//! the tool's (the ownership record, or the release record of an earlier install),
//! or a Mattermost installation the operator adopts with `adopt_existing`. Anything
//! else — `/usr/local`, a home directory, `/srv` with other files — is refused by
//! preflight, before anything changes, naming the path and the fix.
//!
//! The service account owns the trees afterwards and could swap a directory for a
//! symbolic link at any time, so every walk works on directory file descriptors:
//! each component is opened with `O_NOFOLLOW | O_DIRECTORY` relative to its parent,
//! owners are set with `fchown` / `chownat(AT_SYMLINK_NOFOLLOW)`, modes with
//! `fchmod`, and a symbolic link is never descended into.

use std::path::{Path, PathBuf};

use crate::answers::Answers;
use crate::host::Host;
use crate::state::Ownership;

/// How the tool comes to manage a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// Absent: the tool creates it (and records that first).
    Create,
    /// Exists and is empty: taken over.
    Empty,
    /// Already the tool's (recorded), or inside an install directory that is.
    Ours(String),
    /// A Mattermost installation the operator adopts (`adopt_existing`).
    Adopt(String),
}

/// The judgement on one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `install_dir` or `data_dir`.
    pub key: &'static str,
    pub path: PathBuf,
    /// How it is taken, or why not: `(problem, fix)`.
    pub take: Result<Take, (String, String)>,
    /// It holds a Mattermost installation (or file storage) the tool did not
    /// create: `adopt_existing` decides.
    pub adoptable: bool,
}

impl Verdict {
    /// One line of evidence for a check.
    pub fn detail(&self) -> String {
        match &self.take {
            Ok(Take::Create) => "absent: mattermost-setup creates it".into(),
            Ok(Take::Empty) => "exists and is empty: mattermost-setup takes it".into(),
            Ok(Take::Ours(why) | Take::Adopt(why)) => why.clone(),
            Err((problem, _)) => problem.clone(),
        }
    }
}

fn key(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Entries of a directory, sorted, at most `limit` of them (and whether there are more).
fn entries(real: &Path, limit: usize) -> std::io::Result<(Vec<String>, bool)> {
    let mut names: Vec<String> = std::fs::read_dir(real)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let more = names.len() > limit;
    names.truncate(limit);
    Ok((names, more))
}

/// What in `real` shows an installed Mattermost server (install directory).
fn install_evidence(real: &Path) -> Vec<String> {
    ["bin/mattermost", "config/config.json", "client", "data"]
        .into_iter()
        .filter(|rel| std::fs::symlink_metadata(real.join(rel)).is_ok())
        .map(str::to_owned)
        .collect()
}

/// What in `real` shows Mattermost's file storage (data directory): `users`,
/// `teams`, `plugins`, `brand`, `emoji` or a YYYYMMDD upload directory.
fn data_evidence(real: &Path) -> Vec<String> {
    let Ok((names, _)) = entries(real, 10_000) else {
        return vec![];
    };
    names
        .into_iter()
        .filter(|n| {
            ["users", "teams", "plugins", "brand", "emoji"].contains(&n.as_str())
                || (n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .take(6)
        .collect()
}

/// The release record's install directory, when an earlier run installed there.
fn recorded_install_dir(root: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(root.join(super::RELEASE_RECORD.trim_start_matches('/'))).ok()?;
    serde_json::from_slice::<super::ReleaseRecord>(&bytes)
        .ok()
        .map(|r| r.install_dir)
}

/// `data_inside`: for `install_dir`, the data directory's path below it, when the
/// data directory is inside the install directory.
fn judge_one(
    root: &Path,
    own: &Ownership,
    adopt: bool,
    which: &'static str,
    dir: &Path,
    data_inside: Option<&Path>,
) -> Verdict {
    let verdict = |take| Verdict {
        key: which,
        path: dir.to_owned(),
        take,
        adoptable: false,
    };
    let refuse = |problem: String, fix: String| verdict(Err((problem, fix)));
    let real = root.join(dir.strip_prefix("/").unwrap_or(dir));
    let meta = match std::fs::symlink_metadata(&real) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return verdict(Ok(Take::Create)),
        Err(e) => {
            return refuse(
                format!("{} cannot be inspected: {e}", dir.display()),
                format!(
                    "fix the permissions of {}, or choose another {which}",
                    dir.display()
                ),
            );
        }
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(&real).map_or_else(|_| "?".into(), |t| t.display().to_string());
        return refuse(
            format!("{} is a symbolic link (to {target})", dir.display()),
            format!("set {which} to the real directory, not a link to it"),
        );
    }
    if !meta.is_dir() {
        return refuse(
            format!("{} exists and is not a directory", dir.display()),
            format!("choose another {which}, or move that file away"),
        );
    }
    if own.manages_dir(&key(dir)) {
        return verdict(Ok(Take::Ours(
            "recorded as created (or taken over) by mattermost-setup".into(),
        )));
    }
    if which == "install_dir" && recorded_install_dir(root).as_deref() == Some(dir) {
        return verdict(Ok(Take::Ours(
            "mattermost-setup installed Mattermost here (release record)".into(),
        )));
    }
    let (names, more) = match entries(&real, 5) {
        Ok(x) => x,
        Err(e) => {
            return refuse(
                format!("{} cannot be listed: {e}", dir.display()),
                format!("fix its permissions, or choose another {which}"),
            );
        }
    };
    if names.is_empty() {
        return verdict(Ok(Take::Empty));
    }
    let evidence = if which == "install_dir" {
        install_evidence(&real)
    } else {
        data_evidence(&real)
    };
    let is_mattermost = if which == "install_dir" {
        evidence.first().is_some_and(|e| e == "bin/mattermost")
    } else {
        !evidence.is_empty()
    };
    // An install directory that holds nothing but its data directory, restored
    // from a backup ahead of the install (Mattermost's files in it): adoptable too.
    let restored_data = data_inside
        .filter(|rel| {
            !is_mattermost
                && rel.components().next().is_some_and(|first| {
                    names.len() == 1 && !more && first.as_os_str() == names[0].as_str()
                })
        })
        .map(|rel| data_evidence(&real.join(rel)))
        .filter(|e| !e.is_empty());
    if is_mattermost || restored_data.is_some() {
        let shown = match &restored_data {
            Some(found) => format!(
                "only Mattermost file storage restored ahead of the install ({}: {})",
                names[0],
                found.join(", ")
            ),
            None if which == "install_dir" => {
                format!("a Mattermost installation ({})", evidence.join(", "))
            }
            None => format!("Mattermost file storage ({})", evidence.join(", ")),
        };
        let mut v = if adopt {
            verdict(Ok(Take::Adopt(format!(
                "holds {shown}: adopted (adopt_existing), its files go to the mattermost user"
            ))))
        } else {
            refuse(
                format!(
                    "{} already holds {shown} that mattermost-setup did not create",
                    dir.display()
                ),
                format!(
                    "to take it over — its files then belong to the mattermost user — add \"adopt_existing\": true to the answers (the wizard asks); or choose another {which}"
                ),
            )
        };
        v.adoptable = true;
        return v;
    }
    let listed = format!("{}{}", names.join(", "), if more { ", ..." } else { "" });
    refuse(
        format!(
            "{} is not empty ({listed}) and was not created by mattermost-setup",
            dir.display()
        ),
        format!(
            "choose a new or empty directory for {which} (e.g. {}); mattermost-setup never changes the owner or mode of other files",
            if which == "install_dir" {
                "/opt/mattermost"
            } else {
                "/srv/mattermost/data"
            }
        ),
    )
}

/// The verdicts on `install_dir` and `data_dir`, in that order. Read-only.
pub fn judge(host: &Host, own: &Ownership, a: &Answers) -> Vec<Verdict> {
    judge_at(
        &host.path(Path::new("/")),
        own,
        &a.install_dir,
        &a.data_dir,
        a.adopt_existing,
    )
}

/// [`judge`] for a box whose `/` is `root` (the wizard asks before any `Host`).
pub fn judge_at(
    root: &Path,
    own: &Ownership,
    install_dir: &Path,
    data_dir: &Path,
    adopt: bool,
) -> Vec<Verdict> {
    let inside = data_dir.strip_prefix(install_dir).ok();
    let install = judge_one(root, own, adopt, "install_dir", install_dir, inside);
    let data = if data_dir.starts_with(install_dir) {
        Verdict {
            key: "data_dir",
            path: data_dir.to_owned(),
            take: Ok(match &install.take {
                Ok(Take::Create | Take::Empty) => Take::Create,
                _ => Take::Ours(format!("inside install_dir {}", install_dir.display())),
            }),
            adoptable: false,
        }
    } else {
        judge_one(root, own, adopt, "data_dir", data_dir, None)
    };
    vec![install, data]
}

// The walks on directory file descriptors are the host's (src/host/tree.rs).
pub use crate::host::tree::{Chowned, chown_tree, mode_of, open_dir, set_mode};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn host(root: &Path) -> Host {
        Host::new(
            root.to_owned(),
            crate::host::RunLog::create(&root.join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        )
    }

    fn answers(extra: &str) -> Answers {
        crate::answers::from_json(&format!(r#"{{"domain": "chat.example.com"{extra}}}"#), None)
            .unwrap()
    }

    fn refused(v: &Verdict) -> String {
        match &v.take {
            Err((p, f)) => format!("{p} / {f}"),
            Ok(t) => panic!("{} was accepted: {t:?}", v.path.display()),
        }
    }

    #[test]
    fn absent_empty_and_recorded_directories_are_taken_others_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let box_ = host(tmp.path());
        let mut own = Ownership::default();
        // Fresh box: both absent.
        let a = answers(r#", "install_dir": "/usr/local/mm", "data_dir": "/data/mm""#);
        let verdicts = judge(&box_, &own, &a);
        assert_eq!(verdicts[0].take, Ok(Take::Create));
        assert_eq!(verdicts[1].take, Ok(Take::Create));
        // Empty: taken.
        std::fs::create_dir_all(tmp.path().join("usr/local/mm")).unwrap();
        assert_eq!(judge(&box_, &own, &a)[0].take, Ok(Take::Empty));
        // An operator's files: refused, naming the path and the fix.
        std::fs::create_dir_all(tmp.path().join("data/mm/backups")).unwrap();
        std::fs::write(tmp.path().join("data/mm/notes.txt"), "mine").unwrap();
        let why = refused(&judge(&box_, &own, &a)[1]);
        assert!(
            why.contains("/data/mm is not empty (backups, notes.txt)") && why.contains("data_dir"),
            "{why}"
        );
        // Recorded as ours: taken again (a re-run of the tool's own install).
        own.take_over("/data/mm");
        assert!(matches!(judge(&box_, &own, &a)[1].take, Ok(Take::Ours(_))));
        // A symbolic link is refused.
        std::os::unix::fs::symlink("/etc", tmp.path().join("data/link")).unwrap();
        let a = answers(r#", "install_dir": "/opt/mm", "data_dir": "/data/link""#);
        assert!(refused(&judge(&box_, &own, &a)[1]).contains("symbolic link"));
    }

    /// A backup's data directory restored into the default place before the install:
    /// the install directory holds nothing but it. Adoptable, like an install.
    #[test]
    fn a_data_directory_restored_ahead_of_the_install_is_adoptable() {
        let tmp = tempfile::tempdir().unwrap();
        let box_ = host(tmp.path());
        let own = Ownership::default();
        std::fs::create_dir_all(tmp.path().join("opt/mattermost/data/teams")).unwrap();
        let why = refused(&judge(&box_, &own, &answers(""))[0]);
        assert!(
            why.contains("restored ahead of the install (data: teams)")
                && why.contains("adopt_existing"),
            "{why}"
        );
        let v = judge(&box_, &own, &answers(r#", "adopt_existing": true"#));
        assert!(matches!(v[0].take, Ok(Take::Adopt(_))), "{v:?}");
        // Anything else beside it: the operator's, refused even with adopt_existing.
        std::fs::write(tmp.path().join("opt/mattermost/notes.txt"), "mine").unwrap();
        let v = judge(&box_, &own, &answers(r#", "adopt_existing": true"#));
        assert!(refused(&v[0]).contains("is not empty"), "{v:?}");
    }

    #[test]
    fn an_existing_mattermost_is_refused_unless_adopted() {
        let tmp = tempfile::tempdir().unwrap();
        let box_ = host(tmp.path());
        let own = Ownership::default();
        std::fs::create_dir_all(tmp.path().join("opt/mattermost/bin")).unwrap();
        std::fs::create_dir_all(tmp.path().join("opt/mattermost/config")).unwrap();
        std::fs::write(tmp.path().join("opt/mattermost/bin/mattermost"), "").unwrap();
        std::fs::write(tmp.path().join("opt/mattermost/config/config.json"), "{}").unwrap();
        std::fs::create_dir_all(tmp.path().join("srv/mmdata/20240101")).unwrap();
        let a = answers(r#", "data_dir": "/srv/mmdata""#);
        let verdicts = judge(&box_, &own, &a);
        let why = refused(&verdicts[0]);
        assert!(
            why.contains("a Mattermost installation (bin/mattermost, config/config.json)")
                && why.contains("\"adopt_existing\": true"),
            "{why}"
        );
        assert!(refused(&verdicts[1]).contains("Mattermost file storage (20240101)"));
        let a = answers(r#", "data_dir": "/srv/mmdata", "adopt_existing": true"#);
        let verdicts = judge(&box_, &own, &a);
        assert!(
            matches!(verdicts[0].take, Ok(Take::Adopt(_))),
            "{verdicts:?}"
        );
        assert!(
            matches!(verdicts[1].take, Ok(Take::Adopt(_))),
            "{verdicts:?}"
        );
        // adopt_existing never takes a directory that is not Mattermost's.
        std::fs::write(tmp.path().join("opt/mattermost/bin/mattermost"), "").unwrap();
        std::fs::create_dir_all(tmp.path().join("home/alice/.ssh")).unwrap();
        let a = answers(r#", "install_dir": "/home/alice", "adopt_existing": true"#);
        assert!(refused(&judge(&box_, &own, &a)[0]).contains("not empty (.ssh)"));
    }

    #[test]
    fn the_release_record_marks_an_earlier_install_as_ours() {
        let t = tempfile::tempdir().unwrap();
        let h = host(t.path());
        std::fs::create_dir_all(t.path().join("opt/mattermost/bin")).unwrap();
        std::fs::write(t.path().join("opt/mattermost/bin/mattermost"), "").unwrap();
        std::fs::create_dir_all(t.path().join("var/lib/mattermost-setup")).unwrap();
        std::fs::write(
            t.path().join("var/lib/mattermost-setup/release.json"),
            r#"{"version": "10.11.1", "edition": "team", "sha256": "", "install_dir": "/opt/mattermost"}"#,
        )
        .unwrap();
        let v = judge(&h, &Ownership::default(), &answers(""));
        assert!(matches!(v[0].take, Ok(Take::Ours(_))), "{v:?}");
        assert!(matches!(v[1].take, Ok(Take::Ours(_))), "{v:?}");
    }

    /// Runs only as root (chown needs it); the suite runs as root.
    fn root() -> bool {
        if rustix::process::geteuid().is_root() {
            return true;
        }
        eprintln!("SKIPPED: chown tests need root");
        assert!(
            std::env::var_os("MMS_REQUIRE_ROOT").is_none(),
            "MMS_REQUIRE_ROOT is set but this is not root"
        );
        false
    }

    #[test]
    fn the_tree_walk_never_follows_links_nor_touches_hard_links() {
        if !root() {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let tree = t.path().join("tree");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(tree.join("a/b/file"), "x").unwrap();
        std::fs::write(outside.join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/dirlink")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), tree.join("filelink")).unwrap();
        std::fs::hard_link(outside.join("secret"), tree.join("hard")).unwrap();
        let out = chown_tree(&tree, 4321, 4322).unwrap();
        let owner = |p: &Path| {
            let m = std::fs::symlink_metadata(p).unwrap();
            (m.uid(), m.gid())
        };
        for p in ["", "a", "a/b", "a/b/file", "a/dirlink", "filelink"] {
            assert_eq!(owner(&tree.join(p)), (4321, 4322), "{p}");
        }
        assert_eq!(owner(&outside), (0, 0), "a linked directory was followed");
        assert_eq!(
            owner(&outside.join("secret")),
            (0, 0),
            "a link target was changed"
        );
        assert_eq!(out.skipped_links, [tree.join("hard")]);
        assert_eq!(out.fixed, 6);
        // Nothing left to do the second time.
        assert_eq!(chown_tree(&tree, 4321, 4322).unwrap().fixed, 0);
        // A root that is itself a link is refused, not followed.
        std::os::unix::fs::symlink(&outside, t.path().join("rootlink")).unwrap();
        assert!(chown_tree(&t.path().join("rootlink"), 4321, 4322).is_err());
        assert_eq!(owner(&outside), (0, 0));
    }

    #[test]
    fn open_dir_creates_missing_components_but_never_through_a_link() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().join("inst");
        std::fs::create_dir_all(&base).unwrap();
        let fd = open_dir(&base.join("client/plugins"), true).unwrap();
        set_mode(&fd, 0o750).unwrap();
        assert_eq!(mode_of(&fd).unwrap(), 0o750);
        assert!(base.join("client/plugins").is_dir());
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, base.join("logs")).unwrap();
        assert!(open_dir(&base.join("logs/sub"), true).is_err());
        assert!(!elsewhere.join("sub").exists(), "created through a link");
    }
}

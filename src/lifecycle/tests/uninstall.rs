//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use crate::host::fake::{FakeBox, ok};
use crate::lifecycle::uninstall::uninstall;

fn answers(extra: &str) -> crate::answers::Answers {
    let sep = if extra.is_empty() { "" } else { ", " };
    crate::answers::from_json(
        &format!(r#"{{"domain": "chat.example.com"{sep}{extra}}}"#),
        None,
    )
    .unwrap()
}

/// The commands uninstall may run on a converged box, answered as on a healthy one.
fn script(b: &FakeBox) {
    b.reply("nginx", &["-t", "-q"], ok(""));
    b.reply("apache2ctl", &["configtest"], ok("Syntax OK\n"));
    b.reply("a2dissite", &["-q"], ok(""));
    b.on("a2dismod", &["-q"], |_, args, s| {
        let _ =
            std::fs::remove_file(s.path(&format!("/etc/apache2/mods-enabled/{}.load", args[1])));
        ok("")
    });
    b.reply("psql", &["-X", "-q", "-v", "ON_ERROR_STOP=1"], ok(""));
    b.reply("userdel", &["mattermost"], ok(""));
}

#[test]
fn uninstall_removes_the_program_unit_and_site_and_keeps_data_database_and_answers() {
    let a = answers(r#""proxy": "nginx""#);
    let b = FakeBox::converged(&a);
    script(&b);
    let r = uninstall(&b.host, &a, false).unwrap();
    // Stopped first, then the unit removed (backed up) and systemd reloaded.
    let lines = b.lines();
    assert_eq!(
        lines[0], "systemctl disable --now mattermost.service",
        "{lines:#?}"
    );
    assert!(!b.world().active.contains("mattermost.service"));
    assert!(!b.exists("/etc/systemd/system/mattermost.service"));
    assert!(!b.exists("/etc/nginx/sites-enabled/mattermost"));
    assert!(!b.exists("/etc/nginx/sites-available/mattermost"));
    assert!(b.ran("systemctl daemon-reload"));
    assert!(b.ran("systemctl reload nginx.service"));
    // Program files gone; the operator's data, config, logs and plugins stay.
    assert!(!b.exists("/opt/mattermost/bin/mattermost"));
    assert!(!b.exists("/opt/mattermost/client/root.html"));
    for kept in [
        "/opt/mattermost/data/teams/t1/file.png",
        "/opt/mattermost/config/config.json",
        "/opt/mattermost/logs/mattermost.log",
        "/opt/mattermost/plugins/com.example/plugin.json",
        "/opt/mattermost/client/plugins/com.example/main.js",
        "/etc/mattermost-setup/answers.json",
        "/var/lib/mattermost-setup/ownership.json",
    ] {
        assert!(b.exists(kept), "{kept} was removed");
    }
    assert!(!b.exists("/var/lib/mattermost-setup/release.json"));
    // The database and the user are not touched; packages stay.
    assert!(!b.ran("psql"), "{lines:#?}");
    assert!(!b.ran("userdel"));
    assert!(!b.ran("apt-get"));
    let kept = r.kept.join("\n");
    assert!(kept.contains(&format!("database {}", a.db_name)), "{kept}");
    assert!(
        kept.contains("packages installed by mattermost-setup"),
        "{kept}"
    );
    // The removed files were backed up.
    let backups = b.path("/var/backups/mattermost-setup");
    assert!(
        walk(&backups)
            .iter()
            .any(|p| p.ends_with("etc/systemd/system/mattermost.service"))
    );
    b.assert_all_scripted();
}

#[test]
fn purge_drops_only_the_database_and_role_the_tool_created() {
    let a = answers(r#""proxy": "nginx""#);
    let b = FakeBox::converged(&a);
    script(&b);
    // The role existed before the install: only the database is the tool's.
    let mut own = crate::state::Ownership::load(&b.host);
    own.created.get_mut("db_role").unwrap().clear();
    own.found("db_role", &a.db_user);
    own.save(&b.host).unwrap();
    let r = uninstall(&b.host, &a, true).unwrap();
    let psql = b.calls().into_iter().find(|c| c.program == "psql").unwrap();
    assert_eq!(psql.user.as_deref(), Some("postgres"));
    assert!(psql.has_stdin, "the SQL goes on stdin");
    assert!(
        r.removed.contains(&format!("database {}", a.db_name)),
        "{:?}",
        r.removed
    );
    assert!(
        r.kept
            .iter()
            .any(|k| k.starts_with(&format!("database user {}", a.db_user))),
        "{:?}",
        r.kept
    );
    assert!(!b.exists("/opt/mattermost"));
    assert!(b.ran("userdel mattermost"));
    assert!(!b.exists("/etc/mattermost-setup/answers.json"));
}

#[test]
fn files_and_sites_the_tool_did_not_create_are_left_alone() {
    let a = answers(r#""proxy": "apache""#);
    let b = FakeBox::converged(&a);
    script(&b);
    b.write(
        "/etc/apache2/sites-available/other.conf",
        "<VirtualHost *:80>\n",
    );
    b.write("/etc/systemd/system/other.service", "[Service]\n");
    // An install that found the site and the modules already there.
    let mut own = crate::state::Ownership::load(&b.host);
    own.created.remove("apache_site");
    own.created.remove("apache_module");
    own.save(&b.host).unwrap();
    uninstall(&b.host, &a, false).unwrap();
    assert!(!b.ran("a2dissite"), "{:#?}", b.lines());
    assert!(!b.ran("a2dismod"), "{:#?}", b.lines());
    assert!(b.exists("/etc/apache2/sites-available/other.conf"));
    assert!(b.exists("/etc/systemd/system/other.service"));
    // The planned site was written by the tool: removed (backed up).
    assert!(!b.exists("/etc/apache2/sites-available/mattermost.conf"));
}

#[test]
fn a_damaged_ownership_record_stops_uninstall_before_anything_changes() {
    let a = answers("");
    let b = FakeBox::converged(&a);
    script(&b);
    b.write("/var/lib/mattermost-setup/ownership.json", "{not json");
    let e = uninstall(&b.host, &a, true).unwrap_err();
    assert!(e.cause.contains("damaged"), "{}", e.cause);
    assert!(b.calls().is_empty(), "{:#?}", b.lines());
    assert!(b.exists("/opt/mattermost/bin/mattermost"));
}

/// Uninstall is a step list the engine runs: a purge cut short in a step (here the
/// system user would not go) keeps its journal; the next run says where the last
/// one stopped, goes through the steps again (those done find nothing left) and
/// finishes, its journal and the tool's directories gone.
#[test]
fn a_purge_cut_short_is_continued_by_the_next_run() {
    let a = answers(r#""proxy": "nginx""#);
    let b = FakeBox::converged(&a);
    script(&b);
    b.reply(
        "userdel",
        &["mattermost"],
        crate::host::fake::fail(
            8,
            "userdel: user mattermost is currently used by process 4242",
        ),
    );
    let e = uninstall(&b.host, &a, true).unwrap_err();
    assert!(e.cause.contains("currently used by process"), "{}", e.cause);
    let j = crate::state::steps::StepJournal::load(&b.host).expect("the journal stays");
    assert_eq!(j.command, "uninstall");
    assert!(
        j.stopped().starts_with("in step system user (failed"),
        "{}",
        j.stopped()
    );
    // What came before the step is done; the answers and the record still say what
    // is left.
    assert!(!b.exists("/opt/mattermost"));
    assert!(b.exists("/etc/mattermost-setup/answers.json"));
    assert!(b.exists("/var/lib/mattermost-setup/ownership.json"));

    b.reply("userdel", &["mattermost"], ok(""));
    b.clear_calls();
    let r = uninstall(&b.host, &a, true).unwrap();
    let warned = b.warnings();
    assert!(
        warned.iter().any(|w| w.contains("the previous `uninstall`")
            && w.contains("stopped in step system user")
            && w.contains("this run continues it")),
        "{warned:?}"
    );
    assert!(b.ran("userdel mattermost"));
    // Steps done before find nothing left: the unit file is not removed twice.
    assert!(
        !r.removed
            .iter()
            .any(|l| l.contains("mattermost.service (backed up)")),
        "{:?}",
        r.removed
    );
    assert!(
        r.removed.iter().any(|l| l == "system user mattermost"),
        "{:?}",
        r.removed
    );
    assert!(!b.exists("/var/lib/mattermost-setup/steps.json"));
    assert!(!b.exists("/etc/mattermost-setup/answers.json"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

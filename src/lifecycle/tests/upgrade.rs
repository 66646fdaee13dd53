//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! Upgrade through the fake host: the interrupted stages (`recover`), and a full
//! run whose health gate fails (it is cut short right after the start was queued),
//! rolled back with the dump restored. The passing health gate (ping on the fixed
//! 127.0.0.1:8065 with X-Version-ID) stays covered by the fresh-box upgrade test.

use std::path::{Path, PathBuf};

use crate::host::fake::{FakeBox, ok};
use crate::lifecycle::upgrade::{Stage, UPGRADE_RECORD, UpgradeRecord, recover, upgrade};

const TO: &str = "11.99.0";

fn answers(extra: &str) -> crate::answers::Answers {
    let sep = if extra.is_empty() { "" } else { ", " };
    crate::answers::from_json(
        &format!(r#"{{"domain": "chat.example.com"{sep}{extra}}}"#),
        None,
    )
    .unwrap()
}

/// `systemctl show` as the fake's units stand, a new invocation on every start.
fn show(b: &FakeBox) {
    b.on("systemctl", &["show", "-p"], |_, _, s| {
        let on = s.world.active.contains("mattermost.service");
        let n = s
            .world
            .flags
            .iter()
            .filter(|f| f.starts_with("start"))
            .count();
        ok(&format!(
            "ActiveState={}\nSubState={}\nResult=success\nInvocationID={n}\n",
            if on { "active" } else { "inactive" },
            if on { "running" } else { "dead" }
        ))
    });
    b.on("systemctl", &["start"], |_, args, s| {
        let n = s.world.flags.len();
        s.world.flags.insert(format!("start{n}"));
        s.world.active.insert(args.last().unwrap().clone());
        ok("")
    });
    b.on("sh", &["-c"], |c, _, _| {
        assert!(
            c.args[1].contains("pg_restore --clean --if-exists --create"),
            "{:?}",
            c.args
        );
        ok("")
    });
}

/// A box mid-upgrade: `/opt/mattermost` is the new release with the operator's
/// directories moved in, `/opt/mattermost-FROM.previous` the old one, the dump taken.
fn switched(stage: Stage) -> (FakeBox, crate::answers::Answers, UpgradeRecord) {
    let a = answers("");
    let b = FakeBox::converged(&a);
    show(&b);
    let from = crate::plan::Plan::new(&a)
        .unwrap()
        .release
        .version
        .to_string();
    let previous = PathBuf::from(format!("/opt/mattermost-{from}.previous"));
    // The old release's own files in the previous tree; the new binary in place.
    b.write(&format!("{}/bin/mattermost", previous.display()), "old");
    b.write("/opt/mattermost/bin/mattermost", "new");
    let dump = PathBuf::from(format!(
        "/var/backups/mattermost-setup/upgrade-{from}-to-{TO}-2026-11-29T000000Z/mattermost-{from}.pgdump"
    ));
    b.write(dump.to_str().unwrap(), "PGDMP");
    let r = UpgradeRecord {
        from,
        to: TO.into(),
        install: a.install_dir.clone(),
        previous,
        new_tree: a.install_dir.clone(),
        data_inside: true,
        stage,
        dump: Some(dump),
        db_engine: Some(a.db_engine),
        db_name: Some(a.db_name.clone()),
        edition: "enterprise".into(),
        sha256: "ab".repeat(32),
        answers_version: Some(TO.into()),
        answers_sha256: Some("ab".repeat(32)),
    };
    crate::state::save_json(&b.host, UPGRADE_RECORD, &r).unwrap();
    (b, a, r)
}

fn operator_files_are_in(b: &FakeBox, tree: &Path) {
    for f in [
        "data/teams/t1/file.png",
        "config/config.json",
        "logs/mattermost.log",
        "plugins/com.example/plugin.json",
        "client/plugins/com.example/main.js",
    ] {
        assert!(
            b.host.path(&tree.join(f)).exists(),
            "{f} not in {}",
            tree.display()
        );
    }
}

#[test]
fn switching_is_rolled_back_without_touching_the_database() {
    let (b, _a, r) = switched(Stage::Switching);
    let msg = recover(&b.host, &r.install)
        .unwrap()
        .expect("something was done");
    assert!(msg.contains("rolled back"), "{msg}");
    assert!(!msg.contains("restored from"), "{msg}");
    // The previous release is back in place with every operator directory.
    assert_eq!(b.read("/opt/mattermost/bin/mattermost").unwrap(), "old");
    operator_files_are_in(&b, &r.install);
    assert!(!b.exists(r.previous.to_str().unwrap()));
    // The new tree is kept aside, never deleted.
    let aside: Vec<String> = std::fs::read_dir(b.path("/opt"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("mattermost-{TO}.interrupted-")))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        b.read(&format!("/opt/{}/bin/mattermost", aside[0]))
            .unwrap(),
        "new"
    );
    // Stopped before anything moved, started again after; no restore.
    let lines = b.lines();
    assert_eq!(
        lines.first().unwrap(),
        "systemctl stop mattermost.service",
        "{lines:#?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        "systemctl start mattermost.service",
        "{lines:#?}"
    );
    assert!(!b.ran("sh -c"), "{lines:#?}");
    assert!(!b.exists(UPGRADE_RECORD));
    // A second recover has nothing to do.
    b.clear_calls();
    assert_eq!(recover(&b.host, &r.install).unwrap(), None);
    assert!(b.calls().is_empty());
}

#[test]
fn started_is_rolled_back_and_the_dump_restored_while_mattermost_is_stopped() {
    let (b, _a, r) = switched(Stage::Started);
    // What kill -9 in the health gate leaves in the step journal too.
    let mut j = crate::state::steps::StepJournal::begin("upgrade", b.host.log_path());
    j.record(
        &b.host,
        "health gate",
        crate::state::steps::StepState::Started,
    )
    .unwrap();
    let msg = recover(&b.host, &r.install).unwrap().unwrap();
    assert!(
        crate::state::steps::StepJournal::load(&b.host).is_none(),
        "the rolled-back upgrade's journal is settled"
    );
    assert!(msg.contains("the database was restored from"), "{msg}");
    let lines = b.lines();
    let stop = lines
        .iter()
        .position(|l| l == "systemctl stop mattermost.service")
        .unwrap();
    let restore = lines.iter().position(|l| l.starts_with("sh -c")).unwrap();
    let start = lines
        .iter()
        .position(|l| l == "systemctl start mattermost.service")
        .unwrap();
    assert!(stop < restore && restore < start, "{lines:#?}");
    // The restore reads the dump named in the record (its real path on the box).
    let call = &b.calls()[restore];
    let dump = b.host.path(r.dump.as_ref().unwrap());
    assert_eq!(call.args.last().unwrap(), &dump.to_string_lossy());
    assert_eq!(b.read("/opt/mattermost/bin/mattermost").unwrap(), "old");
    operator_files_are_in(&b, &r.install);
    assert!(!b.exists(UPGRADE_RECORD));
}

#[test]
fn started_with_its_dump_missing_leaves_mattermost_stopped_and_says_so() {
    let (b, _a, r) = switched(Stage::Started);
    std::fs::remove_file(b.host.path(r.dump.as_ref().unwrap())).unwrap();
    let e = recover(&b.host, &r.install).unwrap_err();
    assert!(e.cause.contains("could not be restored"), "{}", e.cause);
    assert!(e.cause.contains("left stopped"), "{}", e.cause);
    assert!(!b.ran("systemctl start"), "{:#?}", b.lines());
    assert!(!b.world().active.contains("mattermost.service"));
    // The trees are back all the same.
    operator_files_are_in(&b, &r.install);
}

#[test]
fn committed_is_finished_not_rolled_back() {
    let (b, _a, r) = switched(Stage::Committed);
    let msg = recover(&b.host, &r.install).unwrap().unwrap();
    assert!(msg.contains("its commit was finished"), "{msg}");
    assert_eq!(b.read("/opt/mattermost/bin/mattermost").unwrap(), "new");
    let rec: serde_json::Value =
        serde_json::from_str(&b.read("/var/lib/mattermost-setup/release.json").unwrap()).unwrap();
    assert_eq!(rec["version"], TO);
    let saved = b.read("/etc/mattermost-setup/answers.json").unwrap();
    assert!(saved.contains(TO), "{saved}");
    assert!(!b.ran("sh -c"));
    assert!(!b.ran("systemctl stop"));
    assert!(b.ran("systemctl start mattermost.service"));
    assert!(!b.exists(UPGRADE_RECORD));
}

#[test]
fn an_unpack_cut_short_before_the_switch_is_removed() {
    let a = answers("");
    let b = FakeBox::converged(&a);
    b.write(
        "/opt/.mattermost.mattermost-setup-upgrade/mattermost/bin/mattermost",
        "new",
    );
    let msg = recover(&b.host, &a.install_dir).unwrap().unwrap();
    assert!(msg.contains("interrupted before its switch"), "{msg}");
    assert!(!b.exists("/opt/.mattermost.mattermost-setup-upgrade"));
    assert!(b.calls().is_empty());
    operator_files_are_in(&b, &a.install_dir);
}

/// A release tarball of `TO` (see phases/tests/mattermost.rs for its layout).
fn tarball(b: &FakeBox) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut t = tar::Builder::new(&mut gz);
        for (path, mode, body) in [
            ("mattermost/bin/mattermost", 0o755, &b"new"[..]),
            ("mattermost/config/config.json", 0o644, &b"{}"[..]),
            ("mattermost/logs/.keep", 0o644, &b""[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(mode);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            t.append_data(&mut h, path, body).unwrap();
        }
        t.finish().unwrap();
    }
    let bytes = gz.finish().unwrap();
    std::fs::create_dir_all(b.path("/srv")).unwrap();
    std::fs::write(b.path("/srv/mattermost-11.99.0.tar.gz"), &bytes).unwrap();
    crate::state::sha256_hex(&bytes)
}

#[test]
fn an_upgrade_whose_new_release_fails_its_gate_is_rolled_back_with_the_dump() {
    let installed = answers("");
    let b = FakeBox::converged(&installed);
    show(&b);
    let sha = tarball(&b);
    let a = answers(&format!(
        r#""version": "{TO}", "sha256": "{sha}", "tarball": "/srv/mattermost-11.99.0.tar.gz""#
    ));
    b.reply(
        "psql",
        &["-X", "-A", "-t", "-c", "SHOW server_version_num"],
        ok("150004\n"),
    );
    b.on("pg_dump", &["-Fc"], |c, _, _| {
        std::fs::write(c.stdout_file.as_ref().unwrap(), "PGDMP").unwrap();
        ok("")
    });
    b.reply("cp", &["-a", "--"], ok(""));
    // The gate fails: the operator stops the wait right after the start was queued.
    let cancel = crate::vocab::Cancel::default();
    let c = cancel.clone();
    b.on("systemctl", &["start", "--no-block"], move |_, _, s| {
        s.world.active.insert("mattermost.service".into());
        c.cancel();
        ok("")
    });
    let e = upgrade(&b.host, &a, &cancel).unwrap_err();
    assert!(e.cause.contains("failed its health check"), "{}", e.cause);
    // The engine ran the upgrade's steps and journaled where it stopped.
    let j = crate::state::steps::StepJournal::load(&b.host).expect("the step journal");
    let steps: Vec<(&str, crate::state::steps::StepState)> =
        j.steps.iter().map(|e| (e.step.as_str(), e.state)).collect();
    {
        use crate::state::steps::StepState::{Done, Failed};
        assert_eq!(
            steps,
            [
                ("requirements", Done),
                ("fetch", Done),
                ("dump", Done),
                ("stage", Done),
                ("switch", Done),
                ("health gate", Failed)
            ]
        );
    }
    assert!(
        e.cause.contains("the database was restored from"),
        "{}",
        e.cause
    );
    let lines = b.lines();
    let at = |p: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(p))
            .unwrap_or_else(|| panic!("{p} not in {lines:#?}"))
    };
    // Dump before the switch; stop before moving; restore before the old release
    // starts again.
    assert!(at("pg_dump") < at("systemctl stop mattermost.service"));
    assert!(at("systemctl start --no-block") < at("sh -c"));
    assert!(at("sh -c") < at("systemctl start mattermost.service"));
    let dump = b
        .calls()
        .into_iter()
        .find(|c| c.program == "pg_dump")
        .unwrap();
    assert_eq!(dump.user.as_deref(), Some("postgres"));
    // The old release runs again with every operator directory; the new tree is
    // kept aside as failed.
    assert_eq!(
        b.read("/opt/mattermost/bin/mattermost").unwrap(),
        "#!/bin/sh\n"
    );
    operator_files_are_in(&b, &a.install_dir);
    assert!(
        std::fs::read_dir(b.path("/opt"))
            .unwrap()
            .flatten()
            .any(|e| e
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("mattermost-{TO}.failed-"))),
    );
    assert!(!b.exists(UPGRADE_RECORD));
    // The release record still says the old release.
    let rec = b.read("/var/lib/mattermost-setup/release.json").unwrap();
    assert!(!rec.contains(TO), "{rec}");
}

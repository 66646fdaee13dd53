//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! The service phase's unit file and systemctl work. Its gate (ping on
//! 127.0.0.1:8065, a fixed address) is not faked here: a listener on that port
//! would collide with real servers on the machine. The wait is cut short by a
//! cancelled run, after the start was queued; the ping itself stays covered by the
//! fresh-box tests and `probes::http`'s own tests.

use super::*;
use crate::host::fake::ok;
use crate::phases::service::Service;
use crate::plan::UNIT_PATH;

fn show(b: &FakeBox) {
    b.on("systemctl", &["show", "-p"], |_, _, s| {
        let active = if s.world.active.contains("mattermost.service") {
            "active"
        } else {
            "inactive"
        };
        ok(&format!(
            "ActiveState={active}\nSubState=running\nResult=success\nInvocationID=1\n"
        ))
    });
}

#[test]
fn an_empty_box_gets_the_unit_written_enabled_and_a_start_queued() {
    let b = FakeBox::empty();
    show(&b);
    let a = answers("");
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Service.probe(&ctx).unwrap();
    let f = failing(&found);
    assert!(
        f.iter().any(|c| c == &format!("file {UNIT_PATH}: missing")),
        "{f:#?}"
    );
    assert!(
        f.iter()
            .any(|c| c.starts_with("mattermost.service running")),
        "{f:#?}"
    );
    // Stop the wait for ping at once: the commands before it are what is tested.
    ctx.cancel.cancel();
    let err = Service.apply(&mut ctx).unwrap_err();
    assert!(
        err.cause.contains("stopped by the operator"),
        "{}",
        err.cause
    );
    let planned = p.file(UNIT_PATH).unwrap();
    assert_eq!(b.read(UNIT_PATH).unwrap(), planned.content);
    assert_eq!(b.mode(UNIT_PATH), 0o644);
    let lines = b.lines();
    let order = [
        "systemctl daemon-reload",
        "systemctl enable mattermost.service",
        "systemctl start --no-block mattermost.service",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|o| {
            lines
                .iter()
                .position(|l| l == o)
                .unwrap_or_else(|| panic!("{o} not in {lines:#?}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{lines:#?}");
    assert!(ctx.own.did_create("unit", "mattermost.service"));
    b.assert_all_scripted();
}

#[test]
fn a_running_service_with_its_unit_in_place_is_not_restarted() {
    let b = FakeBox::empty();
    show(&b);
    let a = answers("");
    let p = plan(&a);
    b.write(UNIT_PATH, &p.file(UNIT_PATH).unwrap().content);
    std::fs::set_permissions(
        b.path(UNIT_PATH),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    b.start_units(&["mattermost.service"]);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Service.probe(&ctx).unwrap();
    // Only the ping can fail here (nothing answers on 8065 in a unit test).
    for c in failing(&found) {
        assert!(c.starts_with("Mattermost answers on"), "{c}");
    }
    ctx.cancel.cancel();
    let _ = Service.apply(&mut ctx);
    assert!(!b.ran("systemctl daemon-reload"), "{:#?}", b.lines());
    assert!(!b.ran("systemctl start"), "{:#?}", b.lines());
    assert!(!b.ran("systemctl restart"), "{:#?}", b.lines());
}

#[test]
fn a_changed_unit_is_rewritten_and_the_running_service_restarted() {
    let b = FakeBox::empty();
    show(&b);
    let a = answers("");
    let p = plan(&a);
    // What an earlier run wrote, from an older plan.
    let old = "[Unit]\nDescription=old\n";
    b.write(UNIT_PATH, old);
    let mut own = crate::state::Ownership::load(&b.host);
    own.wrote(std::path::Path::new(UNIT_PATH), old.as_bytes());
    own.save(&b.host).unwrap();
    b.start_units(&["mattermost.service"]);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Service.probe(&ctx).unwrap();
    assert!(
        failing(&found)
            .iter()
            .any(|c| c.contains("written by an older plan")),
        "{found:#?}"
    );
    ctx.cancel.cancel();
    let _ = Service.apply(&mut ctx);
    assert_eq!(
        b.read(UNIT_PATH).unwrap(),
        p.file(UNIT_PATH).unwrap().content
    );
    assert!(b.ran("systemctl daemon-reload"));
    assert!(
        b.ran("systemctl restart --no-block mattermost.service"),
        "{:#?}",
        b.lines()
    );
    // The old unit was backed up first.
    let backups = b.path("/var/backups/mattermost-setup");
    let found_backup = walk(&backups)
        .into_iter()
        .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t == old));
    assert!(found_backup);
}

#[test]
fn a_unit_edited_by_hand_is_refused_not_overwritten() {
    let b = FakeBox::empty();
    show(&b);
    let a = answers("");
    let p = plan(&a);
    b.write(UNIT_PATH, "[Service]\nExecStart=/bin/true\n");
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let err = Service.apply(&mut ctx).unwrap_err();
    assert!(err.cause.contains("changed by hand"), "{}", err.cause);
    assert_eq!(
        b.read(UNIT_PATH).unwrap(),
        "[Service]\nExecStart=/bin/true\n"
    );
    assert!(!b.ran("systemctl"), "{:#?}", b.lines());
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

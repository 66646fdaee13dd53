//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::host::fake::ok;
use crate::phases::housekeeping::Housekeeping;
use crate::plan::retention_timer::{PROGRAM, SERVICE_PATH, TIMER_PATH, TIMER_UNIT};

fn dry_run(b: &FakeBox) {
    b.reply(
        PROGRAM,
        &["retention", "--dry-run"],
        ok(r#"{"cutoff": "2026-08-31T00:00:00Z", "deleted": {"posts": 12, "files": 3}}"#),
    );
}

#[test]
fn retention_on_an_empty_box_installs_the_program_the_units_and_the_timer() {
    let b = FakeBox::empty();
    dry_run(&b);
    let a = answers(r#""retention_days": 90"#);
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Housekeeping);
    let f = failing(&found);
    assert!(
        f.iter()
            .any(|c| c.contains(&format!("retention program {PROGRAM}: missing"))),
        "{f:#?}"
    );
    assert!(f.iter().any(|c| c.contains(TIMER_PATH)), "{f:#?}");
    let after = after.unwrap();
    assert!(failing(&after).is_empty(), "{after:#?}");
    let dry = after
        .iter()
        .find(|c| c.name.starts_with("retention dry run"))
        .unwrap();
    assert!(dry.detail.contains("12 posts, 3 files"), "{dry:?}");
    assert_eq!(b.mode(PROGRAM), 0o755);
    for path in [SERVICE_PATH, TIMER_PATH] {
        assert_eq!(
            b.read(path).unwrap(),
            p.file(path).unwrap().content,
            "{path}"
        );
    }
    assert!(
        b.read(SERVICE_PATH).unwrap().contains("--days 90")
            || b.read(SERVICE_PATH).unwrap().contains("90")
    );
    assert!(b.ran("systemctl daemon-reload"));
    assert!(b.ran(&format!("systemctl enable --now {TIMER_UNIT}")));
    // The dry run ran as the service user.
    let dry_call = b
        .calls()
        .into_iter()
        .find(|c| c.program == PROGRAM)
        .unwrap();
    assert_eq!(dry_call.user.as_deref(), Some("mattermost"));
    b.assert_all_scripted();
}

#[test]
fn retention_installed_and_running_has_nothing_to_do() {
    let b = FakeBox::empty();
    dry_run(&b);
    let a = answers(r#""retention_days": 90"#);
    let p = plan(&a);
    converge_phase(&b, &a, &p, &Housekeeping);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Housekeeping);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    assert!(
        b.lines().iter().all(|l| l.starts_with("systemctl is-")),
        "{:#?}",
        b.lines()
    );
}

#[test]
fn retention_turned_off_removes_the_timer_the_tool_installed() {
    let b = FakeBox::empty();
    dry_run(&b);
    let on = answers(r#""retention_days": 90"#);
    converge_phase(&b, &on, &plan(&on), &Housekeeping);
    let off = answers("");
    let p = plan(&off);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &off, &p, &Housekeeping);
    assert!(failing(&found)[0].contains("still installed"), "{found:#?}");
    assert!(failing(&after.unwrap()).is_empty());
    assert!(!b.exists(TIMER_PATH));
    assert!(!b.exists(SERVICE_PATH));
    assert!(b.ran(&format!("systemctl disable --now {TIMER_UNIT}")));
    assert!(!b.world().active.contains(TIMER_UNIT));
}

#[test]
fn retention_off_on_an_empty_box_is_nothing_to_do() {
    let b = FakeBox::empty();
    let a = answers("");
    let (found, after) = converge_phase(&b, &a, &plan(&a), &Housekeeping);
    assert!(failing(&found).is_empty());
    assert!(after.is_none());
    assert!(b.calls().is_empty());
}

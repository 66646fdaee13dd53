//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::phases::datamove::DataMove;

/// The answers of an install, saved as the tool saves them.
fn installed(b: &FakeBox, a: &Answers) {
    b.write(crate::answers::SAVED_ANSWERS, &a.to_json_with_secrets());
}

#[test]
fn the_data_phase_moves_what_the_answers_moved_and_then_has_nothing_to_do() {
    let old = answers("");
    let b = FakeBox::converged(&old);
    installed(&b, &old);
    // A converged box: nothing to do.
    let (found, after) = converge_phase(&b, &old, &plan(&old), &DataMove);
    assert!(failing(&found).is_empty() && after.is_none(), "{found:#?}");
    assert!(b.calls().is_empty(), "{:#?}", b.lines());

    // The answers name another data directory: moved (one rename on one
    // filesystem), Mattermost stopped first, the new directory the tool's.
    let new = answers(r#""data_dir": "/srv/mattermost/data""#);
    let p = plan(&new);
    let (found, after) = converge_phase(&b, &new, &p, &DataMove);
    assert_eq!(
        failing(&found),
        [
            "data directory in place: moves from /opt/mattermost/data to /srv/mattermost/data (Mattermost is stopped meanwhile)"
        ]
    );
    let after = after.expect("applied");
    assert!(failing(&after).is_empty(), "{after:#?}");
    assert!(
        b.ran("systemctl stop mattermost.service"),
        "{:#?}",
        b.lines()
    );
    assert!(b.exists("/srv/mattermost/data/teams/t1/file.png"));
    assert!(!b.exists("/opt/mattermost/data/teams/t1/file.png"));
    let own = crate::state::Ownership::load(&b.host);
    assert!(own.did_create("directory", "/srv/mattermost/data"));

    // Once the answers are saved with the new place: nothing to do.
    installed(&b, &new);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &new, &p, &DataMove);
    assert!(failing(&found).is_empty() && after.is_none(), "{found:#?}");
    assert!(b.calls().is_empty(), "{:#?}", b.lines());
}

#[test]
fn no_data_moves_on_machines_without_mattermost() {
    let a = answers(
        r#""db_password": "shared-password-1", "proxy": "nginx", "node": "db1",
           "machines": [
             {"name": "db1", "role": "database", "address": "10.0.0.10"},
             {"name": "app1", "role": "app", "address": "10.0.0.21"},
             {"name": "web", "role": "proxy", "address": "10.0.0.30"}]"#,
    );
    assert!(!DataMove.applies(&a));
    assert!(DataMove.applies(&answers("")));
}

//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! The admin phase's probe: what the database says about the account, the team and
//! the membership, read as the application user. Its apply (local mode on, a
//! restart, the REST API over the local-mode socket, local mode off again) waits
//! for Mattermost's ping on the fixed 127.0.0.1:8065 and stays covered by the
//! fresh-box tests (the socket exchange itself by `admin::local_api`'s tests).

use super::*;
use crate::host::fake::ok;
use crate::phases::admin::Admin;

fn setup(db_answer: &str, local_mode: bool) -> (FakeBox, Answers) {
    let b = FakeBox::empty();
    let a = answers(
        r#""admin_username": "alice", "admin_email": "alice@example.com", "admin_password": "Sup3r-secret-pw!", "team_name": "ops""#,
    );
    let p = plan(&a);
    b.write(
        p.config_json.to_str().unwrap(),
        &format!(r#"{{"ServiceSettings": {{"EnableLocalMode": {local_mode}}}}}"#),
    );
    b.reply("psql", &["-X", "-w"], ok(db_answer));
    (b, a)
}

fn probe(b: &FakeBox, a: &Answers) -> Vec<Check> {
    let p = plan(a);
    let ctx = Ctx::new(&b.host, a, &p);
    Admin.probe(&ctx).unwrap()
}

#[test]
fn an_empty_database_misses_the_account_the_team_and_the_membership() {
    let (b, a) = setup("|-1|-1|-1\n", false);
    let checks = probe(&b, &a);
    assert_eq!(
        failing(&checks),
        [
            "admin account alice: missing",
            "team ops: missing",
            "alice in team ops: not a member"
        ]
    );
    // Asked as the application user, over TCP, the password in a file, the
    // username as a SQL literal.
    let c = b.calls().into_iter().find(|c| c.program == "psql").unwrap();
    assert!(c.env_keys.contains(&"PGPASSFILE".to_owned()));
    assert!(
        c.args.iter().any(|x| x.contains("u.Username = 'alice'")),
        "{c:?}"
    );
    assert!(!c.line().contains("Sup3r-secret-pw!"));
    b.assert_all_scripted();
}

#[test]
fn an_existing_admin_in_its_team_is_nothing_to_do() {
    let (b, a) = setup("system_user system_admin|0|0|0\n", false);
    let checks = probe(&b, &a);
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(checks.len(), 4, "{checks:#?}");
}

#[test]
fn an_operators_account_that_is_not_admin_is_left_alone_with_a_warning() {
    let (b, a) = setup("system_user|0|0|0\n", false);
    let checks = probe(&b, &a);
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    let w = checks
        .iter()
        .find(|c| c.name == "admin account alice")
        .unwrap();
    assert_eq!(w.level, crate::phases::Level::Warn);
    assert!(w.detail.contains("left as it is"), "{w:?}");
}

#[test]
fn local_mode_left_on_is_work_to_do() {
    let (b, a) = setup("system_user system_admin|0|0|0\n", true);
    let f = failing(&probe(&b, &a));
    assert_eq!(
        f,
        ["local mode off in config.json: ServiceSettings.EnableLocalMode is true"]
    );
}

#[test]
fn without_an_admin_in_the_answers_nothing_is_asked() {
    let b = FakeBox::empty();
    let a = answers("");
    let checks = probe(&b, &a);
    assert!(failing(&checks).is_empty());
    assert!(b.calls().is_empty());
}

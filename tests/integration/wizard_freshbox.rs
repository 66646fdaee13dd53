//! The wizard on a fresh Debian 12 box (systemd as PID 1), driven in a
//! pseudo-terminal from the host: every screen with its defaults, Install, the run
//! dashboard, the end screen; and Ctrl-C during the run, then a second run that
//! finishes the install. The stand-in tarball comes from a local mirror, given with
//! the wizard's air-gap flags.
//!
//! `cargo test --test integration wizard -- --nocapture` (root; boxes boot in ~2 s).

use portable_pty::CommandBuilder;

use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V11};
use crate::wizard_pty::{CTRL_C, ENTER, Pty};

const PORT: u16 = 8000;
pub const DOMAIN: &str = "chat.example.com";

/// A box with the installer and the mirror.
pub fn prepared_box(name: &str) -> FreshBox {
    let m = mirror::mirror();
    let b = FreshBox::start(name);
    b.put(&mirror::installer(), "/usr/local/bin/mattermost-setup");
    b.serve(&m.dir, PORT);
    b
}

/// The wizard inside the box, on a terminal of `rows` x `cols` on the host.
pub fn wizard(b: &FreshBox, rows: u16, cols: u16) -> Pty {
    let sha = mirror::mirror().sha256(V11, "enterprise");
    let mut cmd = CommandBuilder::new("bash");
    cmd.arg(freshbox::box_sh());
    cmd.args([
        "exec",
        b.name(),
        &format!(
            "stty rows {rows} cols {cols}; exec mattermost-setup --download-base-url http://127.0.0.1:{PORT} \
             --mattermost-version {V11} --sha256 {sha}"
        ),
    ]);
    cmd.env("TERM", "xterm-256color");
    Pty::spawn(cmd, rows, cols)
}

/// Preflight → every step with its defaults (typing the domain when asked) → review.
pub fn walk_defaults(p: &Pty, domain: Option<&str>) {
    p.wait_for(&["Preflight: is this server ready?", "Enter continue"], 60);
    p.send(ENTER);
    p.wait_for(&["Domain · step 1 of 7"], 10);
    if let Some(d) = domain {
        p.type_text(d);
        p.wait_for(&[d], 10);
    }
    p.send(ENTER);
    p.wait_for(&["Database · step 2 of 7"], 10);
    for _ in 0..4 {
        p.send(ENTER);
    }
    p.wait_for(&["Storage · step 3 of 7"], 10);
    p.send(ENTER);
    p.send(ENTER);
    p.wait_for(
        &[
            "Release · step 4 of 7",
            &format!("installs Mattermost {V11}"),
        ],
        10,
    );
    for _ in 0..3 {
        p.send(ENTER);
    }
    p.wait_for(&["Proxy · step 5 of 7"], 10);
    p.send(ENTER);
    p.send(ENTER);
    p.wait_for(&["Admin · step 6 of 7"], 10);
    p.send(ENTER);
    p.wait_for(&["Review · step 7 of 7", "Packages (apt-get install"], 20);
}

fn status_ok(b: &FreshBox) {
    let out = b.exec("mattermost-setup status");
    assert!(
        out.status.success(),
        "status after the wizard:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        b.exec_ok("systemctl is-active mattermost apache2 postgresql")
            .trim(),
        "active\nactive\nactive"
    );
}

#[test]
fn wizard_installs_through_the_dashboard_on_a_fresh_box() {
    if !freshbox::available_or_skip("wizard_installs_through_the_dashboard_on_a_fresh_box") {
        return;
    }
    let b = prepared_box("wizard");
    let mut p = wizard(&b, 24, 80);
    walk_defaults(&p, Some(DOMAIN));
    assert!(
        b.exec("test -e /etc/mattermost-setup/answers.json || test -e /opt/mattermost")
            .status
            .code()
            == Some(1),
        "nothing may change before Install"
    );
    p.send(ENTER);
    p.wait_for(&["Installing", "Phases", "Log"], 20);
    let end = p.wait_for(&["Mattermost is up", "Open http://chat.example.com"], 600);
    for phase in [
        "preflight",
        "packages",
        "database",
        "mattermost",
        "service",
        "proxy",
        "acceptance",
    ] {
        assert!(
            end.contains(phase),
            "{phase} missing on the end screen:\n{end}"
        );
    }
    assert!(end.contains("/etc/mattermost-setup/answers.json"), "{end}");
    assert!(end.contains("/var/log/mattermost-setup/"), "{end}");
    p.send("q");
    assert_eq!(p.wait_exit(30), 0);
    status_ok(&b);

    // Run again on the installed box: the menu, and its read-only status.
    let mut p = wizard(&b, 24, 80);
    p.wait_for(
        &[
            "Mattermost is installed here",
            "Repair",
            "Upgrade",
            "Uninstall",
        ],
        30,
    );
    p.send(ENTER);
    p.wait_for(&["All checks pass."], 60);
    assert_eq!(p.wait_exit(30), 0);
}

#[test]
fn wizard_ctrl_c_stops_safely_and_a_rerun_completes() {
    if !freshbox::available_or_skip("wizard_ctrl_c_stops_safely_and_a_rerun_completes") {
        return;
    }
    let b = prepared_box("wizard-stop");
    let mut p = wizard(&b, 24, 80);
    walk_defaults(&p, Some(DOMAIN));
    p.send(ENTER);
    p.wait_row(&["packages", "running"], 120);
    p.send(CTRL_C);
    p.wait_for(&["Stop the install?"], 10);
    p.send("y");
    let card = p.wait_for(&["Stopped before", "stopped by the operator"], 600);
    assert!(
        card.lines()
            .any(|l| l.contains("packages") && (l.contains("done") || l.contains("in place"))),
        "{card}"
    );
    p.send("q");
    assert_eq!(p.wait_exit(30), 1, "a stopped install exits 1");
    assert_ne!(
        b.exec("systemctl is-active mattermost").status.code(),
        Some(0),
        "stopped before the service"
    );

    // A second run finds the saved answers, keeps the password, and finishes.
    let mut p = wizard(&b, 24, 80);
    p.wait_for(&["An earlier install was found"], 60);
    walk_defaults(&p, None);
    let review = p.screen();
    assert!(
        review.contains("chat.example.com → http://chat.example.com"),
        "{review}"
    );
    assert!(
        review.contains("(kept)"),
        "the saved password is kept:\n{review}"
    );
    p.send(ENTER);
    p.wait_for(&["Mattermost is up"], 600);
    p.send("q");
    assert_eq!(p.wait_exit(30), 0);
    status_ok(&b);
}

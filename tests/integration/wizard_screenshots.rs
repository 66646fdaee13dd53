//! Not a test: regenerates screenshots/ from the real binary (`scripts/screenshots.sh`
//! runs it). The wizard runs in a fresh box so the pictures show a real preflight, a
//! real install and the end screen; each screen is captured from the vt100 emulation
//! into an SVG with an exact character grid.

use std::path::PathBuf;

use crate::support::freshbox;
use crate::wizard_freshbox::{DOMAIN, prepared_box, wizard};
use crate::wizard_pty::{DOWN, ENTER, LEFT, RIGHT, UP};

#[test]
#[ignore = "generates screenshots/; run scripts/screenshots.sh"]
fn wizard_screenshots() {
    assert!(
        freshbox::available().is_ok(),
        "screenshots need the fresh-box harness (root on Linux)"
    );
    let dir = std::env::var_os("SCREENSHOTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    let shot = |p: &crate::wizard_pty::Pty, name: &str| {
        p.settle(3);
        let path = dir.join(format!("{name}.svg"));
        p.save_svg(&path);
        eprintln!("wrote {}", path.display());
    };
    let b = prepared_box("shots");
    let p = wizard(&b, 30, 100);
    p.wait_for(
        &["Preflight: is this server ready?", "ready: press Enter"],
        60,
    );
    shot(&p, "01-preflight");
    p.send(ENTER);
    p.wait_for(&["Domain · step 1 of 8"], 10);
    p.type_text(DOMAIN);
    p.wait_for(&["DNS A/AAAA for chat.example.com", "this server:"], 30);
    shot(&p, "02-domain");
    p.send(ENTER);
    p.wait_for(&["Machines · step 2 of 8", "(•) This server"], 10);
    // What several machines look like, then back to this server only.
    p.send(RIGHT);
    p.send(DOWN);
    p.type_text(
        "db1 database 10.0.0.10, app1 app 10.0.0.21, app2 app 10.0.0.22, web proxy 10.0.0.30",
    );
    p.send(DOWN);
    p.type_text("app1");
    p.wait_for(&["this server is app1 (app, 10.0.0.21)"], 10);
    shot(&p, "02b-machines");
    for _ in 0..2 {
        p.send(UP);
    }
    p.send(LEFT);
    p.wait_for(&["(•) This server"], 10);
    p.send(ENTER);
    p.wait_for(&["Database · step 3 of 8"], 10);
    for _ in 0..3 {
        p.send(DOWN);
    }
    p.send(RIGHT);
    // Enter goes to the first field that still needs an answer.
    p.send(ENTER);
    p.type_text("correct horse battery");
    p.send(ENTER);
    p.type_text("correct horse battery");
    p.wait_for(&["matches"], 10);
    shot(&p, "03-database");
    p.send(ENTER);
    p.wait_for(&["Storage · step 4 of 8", "free space"], 10);
    shot(&p, "04-storage");
    p.send(ENTER);
    p.wait_for(&["Release · step 5 of 8"], 10);
    shot(&p, "05-release");
    p.send(ENTER);
    p.wait_for(&["Proxy · step 6 of 8"], 10);
    // TLS on by default: the focus starts on the Let's Encrypt e-mail.
    p.type_text("ops@example.com");
    p.send(ENTER);
    p.send(" ");
    p.wait_for(&["(•) I agree"], 10);
    shot(&p, "06-proxy");
    p.send(ENTER);
    p.wait_for(&["Admin · step 7 of 8"], 10);
    p.send(ENTER);
    p.wait_for(&["Review · step 8 of 8", "Packages (apt-get install"], 20);
    shot(&p, "07-review");
    p.send(ENTER);
    p.wait_row(&["packages", "running"], 120);
    p.wait_for(&["apt-get install:"], 300);
    shot(&p, "08-dashboard");
    p.wait_for(&["Mattermost is up"], 600);
    shot(&p, "09-end");
    p.send("q");
}

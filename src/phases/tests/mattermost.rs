//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! The Mattermost phase from a local tarball (`tarball` + `sha256` answers): the
//! same fetch, verify, unpack and config path as a download, without the network.
//! The download itself is covered by `fetch_tests` (a local HTTP server).

use super::*;
use crate::host::fake::{fail, ok};
use crate::phases::mattermost::Mattermost;

const VERSION: &str = "11.99.0";
const TARBALL: &str = "/srv/mattermost-11.99.0-linux-amd64.tar.gz";

/// A release tarball laid out like Mattermost's: mattermost/bin/mattermost,
/// mattermost/config/config.json (the shipped defaults' shape), the web app.
fn tarball(b: &FakeBox) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut t = tar::Builder::new(&mut gz);
        let mut add = |path: &str, mode: u32, body: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(mode);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            t.append_data(&mut h, path, body).unwrap();
        };
        add(
            "mattermost/bin/mattermost",
            0o755,
            b"#!/bin/sh\necho Version: 11.99.0\n",
        );
        add(
            "mattermost/config/config.json",
            0o644,
            br#"{"ServiceSettings": {"SiteURL": "", "ListenAddress": ":8065"}, "SqlSettings": {"DriverName": "postgres", "DataSource": ""}, "FileSettings": {"Directory": "./data/", "MaxFileSize": 104857600}, "PluginSettings": {"Directory": "./plugins", "ClientDirectory": "./client/plugins"}, "LogSettings": {}}"#,
        );
        add("mattermost/client/root.html", 0o644, b"<html></html>");
        t.finish().unwrap();
    }
    let bytes = gz.finish().unwrap();
    let real = b.path(TARBALL);
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(real, &bytes).unwrap();
    crate::state::sha256_hex(&bytes)
}

/// `bin/mattermost version` answers once the binary is in place.
fn binary(b: &FakeBox) {
    b.on("/opt/mattermost/bin/mattermost", &["version"], |_, _, s| {
        if s.path("/opt/mattermost/bin/mattermost").is_file() {
            ok(&format!("Version: {VERSION}\nBuild Number: 1\n"))
        } else {
            fail(127, "No such file or directory")
        }
    });
}

fn setup() -> (FakeBox, Answers) {
    let b = FakeBox::empty();
    let sha = tarball(&b);
    binary(&b);
    let a = answers(&format!(
        r#""version": "{VERSION}", "sha256": "{sha}", "tarball": "{TARBALL}""#
    ));
    (b, a)
}

#[test]
fn an_empty_box_gets_the_release_the_user_the_directories_and_config_json() {
    use std::os::unix::fs::MetadataExt;
    let (b, a) = setup();
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Mattermost);
    let f = failing(&found);
    assert!(
        f.iter()
            .any(|c| c.starts_with("Mattermost release: not installed")),
        "{f:#?}"
    );
    assert!(
        f.iter().any(|c| c == "system user mattermost: missing"),
        "{f:#?}"
    );
    let after = after.unwrap();
    assert!(failing(&after).is_empty(), "{after:#?}");
    // The user was made with useradd, as a system user without a login shell.
    let useradd = b
        .lines()
        .into_iter()
        .find(|l| l.starts_with("useradd"))
        .unwrap();
    assert!(
        useradd.contains("--system") && useradd.contains("/usr/sbin/nologin"),
        "{useradd}"
    );
    let (uid, gid) = b.host.lookup_user("mattermost").unwrap();
    // The release is in place, the tarball in the root-owned cache.
    assert!(b.path("/opt/mattermost/bin/mattermost").is_file());
    assert!(b.path("/opt/mattermost/client/root.html").is_file());
    assert!(b.exists("/var/cache/mattermost-setup/mattermost-11.99.0-linux-amd64.tar.gz"));
    // config.json: 0600, the service user's, with the plan's settings.
    let cfg_path = p.config_json.to_str().unwrap();
    assert_eq!(b.mode(cfg_path), 0o600);
    let m = std::fs::metadata(b.path(cfg_path)).unwrap();
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    let cfg: serde_json::Value = serde_json::from_str(&b.read(cfg_path).unwrap()).unwrap();
    assert_eq!(cfg["ServiceSettings"]["SiteURL"], p.site_url.as_str());
    assert_eq!(cfg["ServiceSettings"]["ListenAddress"], "127.0.0.1:8065");
    let dsn = cfg["SqlSettings"]["DataSource"].as_str().unwrap();
    assert!(dsn.contains(&a.db_user), "{dsn}");
    // The data directory is 0750 and the service user's.
    let data = a.data_dir.to_str().unwrap();
    assert_eq!(b.mode(data), 0o750);
    // The release record.
    let rec: serde_json::Value =
        serde_json::from_str(&b.read("/var/lib/mattermost-setup/release.json").unwrap()).unwrap();
    assert_eq!(rec["version"], VERSION);
    let own = crate::state::Ownership::load(&b.host);
    assert!(own.did_create("user", "mattermost"));
    assert!(own.did_create("directory", "/opt/mattermost"));
    // The secret never reached a command line.
    for l in b.lines() {
        assert!(!l.contains(a.db_password.expose()), "{l}");
    }
    b.assert_all_scripted();
}

#[test]
fn a_converged_release_has_nothing_to_do_and_a_changed_setting_is_put_back() {
    let (b, a) = setup();
    let p = plan(&a);
    converge_phase(&b, &a, &p, &Mattermost);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Mattermost);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    assert!(!b.ran("useradd"));
    // An operator's change to a planned setting: found, put back, the file backed up.
    let cfg_path = p.config_json.to_str().unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&b.read(cfg_path).unwrap()).unwrap();
    cfg["ServiceSettings"]["ListenAddress"] = ":9999".into();
    cfg["TeamSettings"] = serde_json::json!({"SiteName": "Ours"});
    std::fs::write(b.path(cfg_path), cfg.to_string()).unwrap();
    let (found, after) = converge_phase(&b, &a, &p, &Mattermost);
    assert_eq!(
        failing(&found),
        ["config.json settings: differs: ServiceSettings.ListenAddress"]
    );
    assert!(failing(&after.unwrap()).is_empty());
    let cfg: serde_json::Value = serde_json::from_str(&b.read(cfg_path).unwrap()).unwrap();
    assert_eq!(cfg["ServiceSettings"]["ListenAddress"], "127.0.0.1:8065");
    // Settings the plan does not own are kept.
    assert_eq!(cfg["TeamSettings"]["SiteName"], "Ours");
    // No second download or unpack.
    assert!(
        !b.lines().iter().any(|l| l.contains("tar")),
        "{:#?}",
        b.lines()
    );
}

#[test]
fn a_tarball_with_the_wrong_checksum_is_refused_and_nothing_is_installed() {
    let b = FakeBox::empty();
    tarball(&b);
    binary(&b);
    let a = answers(&format!(
        r#""version": "{VERSION}", "sha256": "{}", "tarball": "{TARBALL}""#,
        "0".repeat(64)
    ));
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let err = Mattermost.apply(&mut ctx).unwrap_err();
    assert!(
        err.cause.to_lowercase().contains("sha") || err.cause.contains("checksum"),
        "{}",
        err.cause
    );
    assert!(!b.path("/opt/mattermost/bin/mattermost").exists());
    assert!(!b.ran("useradd"));
}

#[test]
fn another_release_already_in_place_is_not_replaced() {
    let (b, a) = setup();
    b.write("/opt/mattermost/bin/mattermost", "old");
    b.reply(
        "/opt/mattermost/bin/mattermost",
        &["version"],
        ok("Version: 10.11.1\n"),
    );
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Mattermost.probe(&ctx).unwrap();
    assert!(
        failing(&found)
            .iter()
            .any(|c| c.contains("10.11.1 is in /opt/mattermost")),
        "{found:#?}"
    );
    // Not the tool's: refused before anything is taken over.
    let err = Mattermost.apply(&mut ctx).unwrap_err();
    assert!(err.cause.contains("did not create"), "{}", err.cause);
    assert_eq!(b.read("/opt/mattermost/bin/mattermost").unwrap(), "old");
    // The tool's own directory with another release: kept, and upgrade is named.
    let mut own = crate::state::Ownership::default();
    own.created("directory", "/opt/mattermost");
    own.save(&b.host).unwrap();
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let err = Mattermost.apply(&mut ctx).unwrap_err();
    assert!(
        err.cause.contains("10.11.1 is already installed"),
        "{}",
        err.cause
    );
    assert!(err.fix.unwrap().contains("mattermost-setup upgrade"));
    assert_eq!(b.read("/opt/mattermost/bin/mattermost").unwrap(), "old");
    assert!(!b.ran("useradd"));
}

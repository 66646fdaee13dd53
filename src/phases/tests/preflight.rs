//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::phases::preflight::Preflight;

/// The checks that depend on the box under test, not on the machine running the
/// tests (root, architecture and free disk are the test machine's own).
fn box_checks(b: &FakeBox, a: &Answers) -> Vec<Check> {
    let p = plan(a);
    let ctx = Ctx::new(&b.host, a, &p);
    let checks = Preflight.probe(&ctx).expect("probe");
    assert!(
        b.calls().is_empty(),
        "preflight ran commands: {:#?}",
        b.lines()
    );
    checks
        .into_iter()
        .filter(|c| {
            !(c.name == "running as root"
                || c.name == "architecture"
                || c.name.starts_with("free disk"))
        })
        .collect()
}

fn healthy(b: &FakeBox) {
    b.write("/proc/meminfo", "MemTotal:        4026532 kB\n");
    std::fs::create_dir_all(b.path("/run/systemd/system")).unwrap();
}

#[test]
fn a_box_without_systemd_is_refused_before_anything_changes() {
    let b = FakeBox::empty();
    let a = answers("");
    let f = failing(&box_checks(&b, &a));
    assert!(
        f.iter()
            .any(|c| c.starts_with("systemd is the init system")),
        "{f:#?}"
    );
    healthy(&b);
    let checks = box_checks(&b, &a);
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    // Applying preflight changes nothing.
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    Preflight.apply(&mut ctx).unwrap();
    assert!(b.calls().is_empty());
}

#[test]
fn too_little_memory_and_a_foreign_os_fail_with_their_fix() {
    let b = FakeBox::empty();
    healthy(&b);
    b.write("/proc/meminfo", "MemTotal:         524288 kB\n");
    b.write(
        "/etc/os-release",
        "ID=fedora\nVERSION_ID=40\nPRETTY_NAME=\"Fedora Linux 40\"\n",
    );
    let a = answers("");
    let checks = box_checks(&b, &a);
    let f = failing(&checks);
    assert!(f.iter().any(|c| c.starts_with("memory: ")), "{f:#?}");
    assert!(
        f.iter().any(|c| c == "operating system: Fedora Linux 40"),
        "{f:#?}"
    );
    let os = checks
        .iter()
        .find(|c| c.name == "operating system")
        .unwrap();
    assert!(os.fix.as_deref().unwrap().contains("Debian"), "{os:?}");
}

#[test]
fn an_old_debian_is_refused_for_a_release_needing_a_newer_postgres() {
    let b = FakeBox::empty();
    healthy(&b);
    b.write(
        "/etc/os-release",
        "ID=debian\nVERSION_ID=\"11\"\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n",
    );
    let a = answers("");
    let p = plan(&a);
    let f = failing(&box_checks(&b, &a));
    let needs_newer = p.release.version.min_postgresql() > 13;
    assert_eq!(
        f.iter().any(|c| c.starts_with("operating system")),
        needs_newer,
        "{f:#?}"
    );
}

#[test]
fn a_foreign_listener_on_port_80_fails() {
    let b = FakeBox::empty();
    healthy(&b);
    // /proc/net/tcp with a listener on :80 (0050), inode 4242 held by pid 77 (lighttpd).
    b.write(
        "/proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
         \x20  0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n",
    );
    b.write("/proc/77/comm", "lighttpd\n");
    std::fs::create_dir_all(b.path("/proc/77/fd")).unwrap();
    std::os::unix::fs::symlink("socket:[4242]", b.path("/proc/77/fd/3")).unwrap();
    let a = answers("");
    let f = failing(&box_checks(&b, &a));
    assert!(
        f.iter().any(|c| c.starts_with("port 80: used by lighttpd")),
        "{f:#?}"
    );
}

#[test]
fn a_missing_license_file_is_refused_before_anything_changes() {
    let b = FakeBox::empty();
    healthy(&b);
    let a = answers(r#""license_file": "/root/chat.mattermost-license""#);
    let f = failing(&box_checks(&b, &a));
    assert!(
        f.iter().any(|c| c.starts_with("license file")
            && c.contains("/root/chat.mattermost-license is missing")),
        "{f:#?}"
    );
    b.write("/root/chat.mattermost-license", "signed-license-text");
    let checks = box_checks(&b, &a);
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert!(checks.iter().any(|c| c.name == "license file"));
}

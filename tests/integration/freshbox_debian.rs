//! The release artifacts on every supported Debian (issue 11): fresh Debian 11
//! (bullseye) and 13 (trixie) boxes get complete installs from the static x86_64
//! installer binary (the same file the .deb ships), and the .deb installs with its man
//! page and bash completion on Debian 11, 12 and 13.
//!
//! - Debian 13: PostgreSQL 17 + nginx 1.26, no TLS; ping 200 through the proxy,
//!   `status` exit 0, the same after a reboot.
//! - Debian 11: its PostgreSQL 13 is refused for Mattermost 11 by preflight (with the
//!   fix), nothing installed; then Mattermost 10.11 with PostgreSQL 13 installs, in the
//!   same box. The host-built (glibc 2.36) binary does not even start there; the static
//!   one does. The stand-in tarballs for this box are static too (the real Mattermost
//!   binaries are statically linked Go programs): `mirror::static_mirror()`.
//!
//! Where the binary and the .deb come from: `support::artifacts` (dist/ of
//! scripts/release.sh, or built here with the musl target).

use std::path::Path;
use std::time::Instant;

use crate::freshbox_install::{DOMAIN, MIRROR_PORT, text, write_answers};
use crate::support::artifacts;
use crate::support::freshbox::{self, FreshBox, Suite};
use crate::support::mirror::{self, Mirror, V10, V11};

const PASSWORD: &str = "debian suites p@ss 'w\" $x";

fn answers(m: &Mirror, version: &str, proxy: &str) -> String {
    serde_json::json!({
        "domain": DOMAIN,
        "db_engine": "postgresql",
        "db_password": PASSWORD,
        "edition": "enterprise",
        "version": version,
        "proxy": proxy,
        "tls": "none",
        "download_base_url": format!("http://127.0.0.1:{MIRROR_PORT}"),
        "sha256": m.sha256(version, "enterprise"),
    })
    .to_string()
}

/// A fresh box of `suite` with the static installer in /usr/local/bin and `m` served.
fn static_box(name: &str, suite: Suite, m: &Mirror) -> FreshBox {
    let bin = artifacts::static_binary();
    let b = FreshBox::start_suite(name, suite);
    assert_eq!(
        b.exec_ok(". /etc/os-release; echo $VERSION_ID").trim(),
        suite.version_id(),
        "the box runs Debian {}",
        suite.version_id()
    );
    b.put(&bin, "/usr/local/bin/mattermost-setup");
    b.serve(&m.dir, MIRROR_PORT);
    b
}

fn install(b: &FreshBox) -> std::process::Output {
    let t0 = Instant::now();
    let out = b.exec("mattermost-setup install --answers /root/answers.json --yes");
    eprintln!("install took {:?}", t0.elapsed());
    out
}

fn last_log(b: &FreshBox) -> String {
    b.exec_ok("tail -n 80 $(ls -t /var/log/mattermost-setup/*.log | head -1) 2>&1 || true")
}

/// The PostgreSQL server's major version, asked from the running server.
fn pg_major(b: &FreshBox) -> u32 {
    let num = b.exec_ok("runuser -u postgres -- psql -Atc 'show server_version_num'");
    num.trim()
        .parse::<u32>()
        .unwrap_or_else(|_| panic!("{num}"))
        / 10_000
}

/// Ping through the proxy on port 80 answers 200 OK with the version's header, and
/// `status` exits 0 (plain and --json with ok = true).
fn answers_ping_and_status_ok(b: &FreshBox, version: &str) {
    let ping = b.exec_ok(&format!(
        "curl -sS -i --max-time 10 -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
    assert!(ping.contains("\"status\":\"OK\""), "{ping}");
    assert!(
        ping.contains(&format!("X-Version-Id: {version}"))
            || ping.contains(&format!("X-Version-ID: {version}")),
        "{ping}"
    );
    let status = b.exec("mattermost-setup status");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let status = b.exec("mattermost-setup status --json");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}: {}", text(&status)));
    assert_eq!(doc["ok"], true, "{doc}");
}

fn units_active(b: &FreshBox, units: &[&str]) {
    for unit in units {
        assert_eq!(
            b.exec_ok(&format!("systemctl is-enabled {unit} || true"))
                .trim(),
            "enabled",
            "{unit}"
        );
        assert_eq!(
            b.exec_ok(&format!("systemctl is-active {unit} || true"))
                .trim(),
            "active",
            "{unit}: {}",
            b.exec_ok(&format!(
                "systemctl status {unit} --no-pager 2>&1; journalctl -u {unit} -n 20 --no-pager 2>&1 || true"
            ))
        );
    }
}

/// The glibc check behind the static binary: the host-built binary is dynamic.
#[test]
fn the_host_binary_is_dynamic_and_the_check_says_so() {
    let bytes = std::fs::read(mirror::installer()).unwrap();
    let why = artifacts::static_x86_64_elf(&bytes).unwrap_err();
    assert!(why.contains("PT_INTERP"), "{why}");
    assert!(artifacts::static_x86_64_elf(b"#!/bin/sh\n").is_err());
    assert!(artifacts::static_x86_64_elf(&bytes[..40]).is_err());
}

/// Debian 13: PostgreSQL 17 + nginx 1.26 from the static binary, no TLS.
#[test]
fn debian13_installs_postgresql17_nginx_from_the_static_binary() {
    if !freshbox::available_or_skip("debian13_installs_postgresql17_nginx_from_the_static_binary") {
        return;
    }
    let m = mirror::mirror();
    let b = static_box("btrixie", Suite::Trixie, m);
    write_answers(&b, &answers(m, V11, "nginx"));
    let out = install(&b);
    assert!(
        out.status.success(),
        "install on Debian 13 failed:\n{}\n{}",
        text(&out),
        last_log(&b)
    );
    assert_eq!(pg_major(&b), 17, "Debian 13's PostgreSQL");
    let nginx = b.exec_ok("nginx -v 2>&1");
    assert!(nginx.contains("nginx/1.26."), "{nginx}");
    units_active(&b, &["mattermost", "nginx", "postgresql"]);
    answers_ping_and_status_ok(&b, V11);
    // the stand-in logged in to PostgreSQL 17 with the password and wrote there
    let boots = b.exec_ok(
        "runuser -u postgres -- psql -d mattermost -Atc 'select count(*) from standin_boots'",
    );
    assert!(boots.trim().parse::<u32>().unwrap_or(0) >= 1, "{boots}");

    // A second run changes nothing; after a power cycle everything is back by itself.
    let out = install(&b);
    assert!(out.status.success(), "re-run: {}", text(&out));
    b.reboot();
    b.exec_ok(&format!(
        "for i in $(seq 100); do curl -sf -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping && break; sleep 0.3; done"
    ));
    units_active(&b, &["mattermost", "nginx", "postgresql"]);
    answers_ping_and_status_ok(&b, V11);
}

/// Debian 11: Mattermost 11 needs PostgreSQL 14, the distribution ships 13: refused by
/// preflight with the fix, nothing installed. Mattermost 10.11 then installs in the
/// same box with PostgreSQL 13 and Apache.
#[test]
fn debian11_refuses_postgresql13_for_mattermost11_then_installs_10_11() {
    if !freshbox::available_or_skip(
        "debian11_refuses_postgresql13_for_mattermost11_then_installs_10_11",
    ) {
        return;
    }
    let m = mirror::static_mirror();
    let b = static_box("bbullseye", Suite::Bullseye, m);

    // Why the static binary: the host's (glibc 2.36) does not start on glibc 2.31.
    b.put(&mirror::installer(), "/root/mattermost-setup-glibc");
    let dynamic = b.exec("/root/mattermost-setup-glibc --version");
    assert_ne!(dynamic.status.code(), Some(0), "{}", text(&dynamic));
    assert!(text(&dynamic).contains("GLIBC_2."), "{}", text(&dynamic));
    b.exec_ok("rm /root/mattermost-setup-glibc");
    let version = b.exec("mattermost-setup --version");
    assert!(version.status.success(), "{}", text(&version));

    write_answers(&b, &answers(m, V11, "apache"));
    let out = install(&b);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}\n{}", last_log(&b));
    assert!(t.contains("preflight"), "{t}");
    assert!(
        t.contains("ships PostgreSQL 13") && t.contains("needs PostgreSQL 14"),
        "names what is wrong: {t}"
    );
    assert!(
        t.contains("install Mattermost 10.11") && t.contains("Debian 12"),
        "the fix: {t}"
    );
    // Nothing installed: no package, no user, no files of ours, no download.
    assert_eq!(
        b.exec_ok(
            "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' postgresql postgresql-client apache2 2>/dev/null \
             | grep -c ' ii' || true"
        )
        .trim(),
        "0",
        "packages were installed"
    );
    assert_eq!(
        b.exec("getent passwd mattermost").status.code(),
        Some(2),
        "the mattermost user was created"
    );
    for path in [
        "/opt/mattermost",
        "/etc/systemd/system/mattermost.service",
        "/etc/apache2",
    ] {
        assert_eq!(
            b.exec(&format!("test -e {path}")).status.code(),
            Some(1),
            "{path} exists"
        );
    }
    assert_eq!(
        b.exec_ok("find /var/cache/mattermost-setup -type f 2>/dev/null | wc -l")
            .trim(),
        "0",
        "a tarball was downloaded"
    );

    // The fix: Mattermost 10.11 runs on PostgreSQL 13.
    write_answers(&b, &answers(m, V10, "apache"));
    let out = install(&b);
    assert!(
        out.status.success(),
        "install of {V10} on Debian 11 failed:\n{}\n{}",
        text(&out),
        last_log(&b)
    );
    assert_eq!(pg_major(&b), 13, "Debian 11's PostgreSQL");
    units_active(&b, &["mattermost", "apache2", "postgresql"]);
    answers_ping_and_status_ok(&b, V10);
    assert!(
        b.exec_ok("/opt/mattermost/bin/mattermost version")
            .contains(V10)
    );
}

/// Installs the .deb (`dpkg -i`, so its Depends must already be met) in `b` and checks
/// the binary, the man page and the bash completion there.
pub(crate) fn check_deb(b: &FreshBox, deb: &Path) {
    b.put(deb, "/root/mattermost-setup.deb");
    let out = b.exec("dpkg -i /root/mattermost-setup.deb");
    assert!(out.status.success(), "dpkg -i: {}", text(&out));
    let bin = b.exec_ok("dpkg -L mattermost-setup | grep -E '/bin/mattermost-setup$'");
    assert_eq!(bin.trim(), "/usr/bin/mattermost-setup", "{bin}");
    let version = b.exec("mattermost-setup --version");
    assert!(version.status.success(), "{}", text(&version));
    let v = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        v.starts_with(&format!("mattermost-setup {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    // man and bash-completion are not in a minimal Debian: what an operator would add.
    // Without man-db's index (building it takes over a minute on Debian 11): `man NAME`
    // finds the page by searching the manual's directories all the same.
    b.exec_ok(
        "echo 'man-db man-db/auto-update boolean false' | debconf-set-selections && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends man-db bash-completion >/dev/null",
    );
    let man = b.exec("MANWIDTH=80 man -P cat mattermost-setup 2>&1");
    let man_text = text(&man);
    assert!(man.status.success(), "man mattermost-setup: {man_text}");
    assert!(
        man_text.contains("NAME")
            && man_text.contains("mattermost-setup")
            && man_text.contains("install"),
        "{man_text}"
    );
    // Completion as an interactive bash gets it: bash-completion's on-demand loader
    // finds the script, the function it registers completes the subcommands.
    let comp = b.exec(
        "bash -i -c 'source /usr/share/bash-completion/bash_completion; \
         _completion_loader mattermost-setup 2>/dev/null || __load_completion mattermost-setup; \
         spec=$(complete -p mattermost-setup) || exit 3; echo \"$spec\"; \
         f=$(echo \"$spec\" | sed -nE \"s/.* -F ([^ ]+) .*/\\1/p\"); [ -n \"$f\" ] || exit 4; \
         COMP_WORDS=(mattermost-setup in); COMP_CWORD=1; COMP_LINE=\"mattermost-setup in\"; COMP_POINT=${#COMP_LINE}; \
         \"$f\" mattermost-setup in mattermost-setup; printf \"reply:%s\\n\" \"${COMPREPLY[@]}\"' 2>&1",
    );
    let comp_text = text(&comp);
    assert!(comp.status.success(), "bash completion: {comp_text}");
    assert!(
        comp_text.contains("complete ") && comp_text.contains("reply:install"),
        "completing `mattermost-setup in` offers install: {comp_text}"
    );
}

/// The .deb on Debian 11, 12 and 13: `dpkg -i`, `--version`, `man`, bash completion.
#[test]
fn deb_installs_with_man_page_and_completion_on_debian_11_12_13() {
    let test = "deb_installs_with_man_page_and_completion_on_debian_11_12_13";
    if !freshbox::available_or_skip(test) {
        return;
    }
    let Some(deb) = artifacts::deb_or_skip(test) else {
        return;
    };
    // The complete installs on Debian 11 and 13 run the release's static binary: the
    // very file the .deb ships.
    if let Some(bin) = artifacts::static_binary_in_dist() {
        assert!(
            artifacts::binary_in_deb(&deb) == std::fs::read(&bin).unwrap(),
            "the .deb's /usr/bin/mattermost-setup is not {}",
            bin.display()
        );
    }
    for suite in Suite::ALL {
        let t0 = Instant::now();
        let b = FreshBox::start_suite(&format!("bdeb{}", suite.version_id()), suite);
        check_deb(&b, &deb);
        eprintln!(
            "Debian {}: .deb checked in {:?}",
            suite.version_id(),
            t0.elapsed()
        );
    }
}

//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! A converged box (`FakeBox::converged`: what an install leaves) has nothing to do:
//! every phase's probe passes, for both proxies. Checks that need the network stay
//! out: Mattermost's ping (service), the acceptance gate (HTTP through the proxy on
//! ports 80/443) and TLS's DNS check; the fresh-box tests cover those.

use super::*;
use crate::host::fake::ok;
use crate::phases::PhaseId;

fn script(b: &FakeBox, a: &Answers) {
    let user = a.db_user.clone();
    b.reply(
        "psql",
        &["-X", "-w"],
        ok(&format!("{user}|{user}|UTF8|{user}|150004|t\n")),
    );
    b.reply("pg_lsclusters", &["--no-header"], ok(""));
    b.reply("nginx", &["-t", "-q"], ok(""));
    b.reply("apache2ctl", &["configtest"], ok("Syntax OK\n"));
}

fn nothing_to_do(proxy: &str) {
    let a = answers(&format!(r#""proxy": "{proxy}""#));
    let b = FakeBox::converged(&a);
    script(&b, &a);
    std::fs::create_dir_all(b.path("/run/systemd/system")).unwrap();
    b.write("/proc/meminfo", "MemTotal:        4026532 kB\n");
    let p = plan(&a);
    let ctx = Ctx::new(&b.host, &a, &p);
    // TLS and acceptance need the network: fresh-box tests cover them.
    let phases = crate::phases::all()
        .into_iter()
        .filter(|p| !matches!(p.id(), PhaseId::Tls | PhaseId::Acceptance));
    for phase in phases {
        let checks = phase
            .probe(&ctx)
            .unwrap_or_else(|e| panic!("{}: {e:?}", phase.id()));
        assert!(!checks.is_empty(), "{}", phase.id());
        let f: Vec<String> = failing(&checks)
            .into_iter()
            .filter(|c| !c.starts_with("Mattermost answers on")) // the ping
            .filter(|c| !c.starts_with("running as root") && !c.starts_with("free disk"))
            .collect();
        assert!(f.is_empty(), "{} on a converged box: {f:#?}", phase.id());
    }
    // Probes only read: no command that changes anything ran.
    for l in b.lines() {
        let reads = [
            "systemctl is-",
            "dpkg-query",
            "psql -X -w",
            "pg_lsclusters",
            "nginx -t",
            "apache2ctl configtest",
            "/opt/mattermost/bin/mattermost version",
        ];
        assert!(reads.iter().any(|r| l.starts_with(r)), "{l}");
    }
    b.assert_all_scripted();
}

#[test]
fn a_converged_nginx_box_has_nothing_to_do() {
    nothing_to_do("nginx");
}

#[test]
fn a_converged_apache_box_has_nothing_to_do() {
    nothing_to_do("apache");
}

#[test]
fn the_converged_box_is_not_a_rubber_stamp() {
    // The same probes find the one thing taken away.
    let a = answers(r#""proxy": "nginx""#);
    let b = FakeBox::converged(&a);
    script(&b, &a);
    std::fs::remove_file(b.path("/etc/nginx/sites-enabled/mattermost")).unwrap();
    b.world().active.remove("postgresql.service");
    let p = plan(&a);
    let ctx = Ctx::new(&b.host, &a, &p);
    let f = failing(&crate::phases::proxy::Proxy.probe(&ctx).unwrap());
    assert_eq!(f, ["site /etc/nginx/sites-enabled/mattermost enabled: no"]);
    let f = failing(&crate::phases::database::Database.probe(&ctx).unwrap());
    assert_eq!(f, ["postgresql.service running: inactive"]);
}

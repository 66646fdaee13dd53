//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! TLS with an existing certificate: the proxy site gains the TLS server and
//! SiteURL becomes https. The DNS check (a warning, never a failure) still resolves
//! the domain for real; Let's Encrypt (certbot against an ACME server) stays with
//! `tls::letsencrypt`'s own tests and the fresh-box tests.

use super::*;
use crate::host::fake::ok;
use crate::phases::tls::Tls;
use crate::phases::tls::cert::testing::{ca, leaf};

const CERT: &str = "/etc/ssl/mm/fullchain.pem";
const KEY: &str = "/etc/ssl/mm/privkey.pem";

fn setup(days_left: i64, names: &[&str]) -> (FakeBox, Answers) {
    let b = FakeBox::empty();
    let root = ca("Test Root");
    let l = leaf(&root, names, -1, days_left);
    b.write(crate::phases::tls::cert::SYSTEM_BUNDLE, &root.pem);
    b.write(CERT, &l.cert_pem);
    b.write(KEY, &l.key_pem);
    std::fs::set_permissions(
        b.path(KEY),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    b.reply("ip", &["-o", "addr", "show"], ok(""));
    b.reply("nginx", &["-t", "-q"], ok(""));
    b.reply(
        "systemctl",
        &["show", "-p"],
        ok("ActiveState=inactive\nSubState=dead\nResult=success\nInvocationID=\n"),
    );
    let a = answers(&format!(
        r#""proxy": "nginx", "tls": "existing", "tls_cert": "{CERT}", "tls_key": "{KEY}""#
    ));
    let p = plan(&a);
    b.write(
        p.config_json.to_str().unwrap(),
        r#"{"ServiceSettings": {"SiteURL": "http://chat.example.com"}}"#,
    );
    (b, a)
}

#[test]
fn an_existing_certificate_turns_the_site_to_https_and_siteurl_follows() {
    let (b, a) = setup(90, &["chat.example.com"]);
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Tls);
    let f = failing(&found);
    assert!(
        f.iter().any(|c| c.starts_with(
            "SiteURL is the public URL: config.json says \"http://chat.example.com\""
        )),
        "{f:#?}"
    );
    let after = after.unwrap();
    assert!(failing(&after).is_empty(), "{after:#?}");
    let site = b.read("/etc/nginx/sites-available/mattermost").unwrap();
    assert!(site.contains(&format!("ssl_certificate {CERT};")), "{site}");
    assert!(
        site.contains(&format!("ssl_certificate_key {KEY};")),
        "{site}"
    );
    assert!(site.contains("443"), "{site}");
    let cfg: serde_json::Value =
        serde_json::from_str(&b.read(p.config_json.to_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        cfg["ServiceSettings"]["SiteURL"],
        "https://chat.example.com"
    );
    assert!(b.ran("nginx -t -q"));
    // Mattermost was not running: nothing to restart.
    assert!(!b.ran("systemctl restart"), "{:#?}", b.lines());
    b.assert_all_scripted();
    // Converged: nothing more to do.
    let (found, after) = converge_phase(&b, &a, &p, &Tls);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
}

#[test]
fn a_certificate_for_another_name_is_refused_and_nothing_is_written() {
    let (b, a) = setup(90, &["other.example.net"]);
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Tls.probe(&ctx).unwrap();
    let f = failing(&found);
    assert!(
        f.iter().any(|c| c.starts_with(&format!("tls_cert {CERT}"))),
        "{f:#?}"
    );
    let e = Tls.apply(&mut ctx).unwrap_err();
    assert!(
        e.fix.unwrap().contains("tls_cert"),
        "the fix names the answers key"
    );
    assert!(!b.exists("/etc/nginx/sites-available/mattermost"));
    let cfg = b.read(p.config_json.to_str().unwrap()).unwrap();
    assert!(cfg.contains("http://chat.example.com"), "{cfg}");
}

/// The proxy serves the plan's site for the stage the box is in, and nothing of its
/// own: before the certificate the plan's http site, after it the plan's TLS site,
/// each byte for byte as planned (a marked plan is what lands on the box); SiteURL
/// follows the plan's two URLs.
#[test]
fn the_proxy_writes_the_plans_site_before_and_after_the_certificate() {
    use crate::phases::proxy::Proxy;
    const SITE: &str = "/etc/nginx/sites-available/mattermost";
    let (b, a) = setup(90, &["chat.example.com"]);
    let mut p = plan(&a);
    let until = p
        .until_certificate
        .as_mut()
        .expect("a TLS plan has two stages");
    assert!(
        !until.site.content.contains("443"),
        "{}",
        until.site.content
    );
    assert_eq!(until.site_url, "http://chat.example.com");
    until.site.content.push_str("# until the certificate\n");
    let until_site = until.site.content.clone();
    let site = p
        .files
        .iter_mut()
        .find(|f| f.path.to_str() == Some(SITE))
        .unwrap();
    assert!(site.content.contains("443"), "{}", site.content);
    site.content.push_str("# with the certificate\n");
    let tls_site = site.content.clone();
    // The certificate is not there yet.
    let (cert, key) = (b.read(CERT).unwrap(), b.read(KEY).unwrap());
    std::fs::remove_file(b.path(CERT)).unwrap();
    std::fs::remove_file(b.path(KEY)).unwrap();
    let (_, after) = converge_phase(&b, &a, &p, &Proxy);
    assert!(failing(&after.unwrap()).is_empty());
    assert_eq!(b.read(SITE).unwrap(), until_site);
    // It is now: the proxy probe finds the site behind the plan, apply writes the
    // plan's TLS site, and the tls phase's SiteURL is the plan's.
    b.write(CERT, &cert);
    b.write(KEY, &key);
    std::fs::set_permissions(
        b.path(KEY),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let (found, after) = converge_phase(&b, &a, &p, &Proxy);
    assert!(
        failing(&found).iter().any(|c| c.contains(SITE)),
        "{found:#?}"
    );
    assert!(failing(&after.unwrap()).is_empty());
    assert_eq!(b.read(SITE).unwrap(), tls_site);
    converge_phase(&b, &a, &p, &Tls);
    let cfg: serde_json::Value =
        serde_json::from_str(&b.read(p.config_json.to_str().unwrap()).unwrap()).unwrap();
    assert_eq!(cfg["ServiceSettings"]["SiteURL"], p.site_url.as_str());
}

/// The proxy machine of several serves TLS for the app machines: its tls phase puts
/// the certificate in its site and leaves SiteURL to the app machines' plan (it has
/// no Mattermost and no config.json).
#[test]
fn the_proxy_machine_of_several_serves_tls_without_a_config_json() {
    let (b, single) = setup(90, &["chat.example.com"]);
    let json = format!(
        r#"{{"domain": "chat.example.com", "proxy": "nginx", "tls": "existing",
           "tls_cert": "{CERT}", "tls_key": "{KEY}", "node": "proxy1", "db_password": "shared-password-1",
           "machines": [
             {{"name": "db1", "role": "database", "address": "10.0.0.10"}},
             {{"name": "app1", "role": "app", "address": "10.0.0.21"}},
             {{"name": "proxy1", "role": "proxy", "address": "10.0.0.30"}}]}}"#
    );
    let a = crate::answers::from_json(&json, None).unwrap();
    let p = plan(&a);
    std::fs::remove_file(b.path(plan(&single).config_json.to_str().unwrap())).unwrap();
    // The engine's order: the proxy phase writes the site (the certificate is in
    // place, so the TLS one), then the tls phase finds nothing left to do.
    let (_, after) = converge_phase(&b, &a, &p, &crate::phases::proxy::Proxy);
    assert!(failing(&after.expect("the site was written")).is_empty());
    let (found, after) = converge_phase(&b, &a, &p, &Tls);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    assert!(
        !found.iter().any(|c| c.name.contains("SiteURL")),
        "{found:#?}"
    );
    let site = b.read("/etc/nginx/sites-available/mattermost").unwrap();
    assert!(site.contains(&format!("ssl_certificate {CERT};")), "{site}");
    assert!(site.contains("server 10.0.0.21:8065"), "{site}");
    assert!(!b.exists(p.config_json.to_str().unwrap()));
}

//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
use super::*;
use crate::host::fake::{fail, ok};
use crate::phases::proxy::Proxy;

/// Debian's a2enmod/a2ensite: links under mods-enabled / sites-enabled.
fn apache(b: &FakeBox) {
    b.on("a2enmod", &["-q"], |_, args, s| {
        for m in &args[1..] {
            s.write(
                &format!("/etc/apache2/mods-enabled/{m}.load"),
                "LoadModule\n",
            );
        }
        ok("")
    });
    b.on("a2ensite", &["-q"], |_, args, s| {
        s.write(&format!("/etc/apache2/sites-enabled/{}.conf", args[1]), "");
        ok("")
    });
    b.reply("apache2ctl", &["configtest"], ok("Syntax OK\n"));
}

#[test]
fn apache_on_an_empty_box_gets_modules_site_link_and_a_start() {
    let b = FakeBox::empty();
    apache(&b);
    let a = answers(r#""proxy": "apache""#);
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Proxy);
    let f = failing(&found);
    assert!(
        f.iter().any(|c| c.starts_with("apache module proxy_http")),
        "{f:#?}"
    );
    assert!(f.iter().any(|c| c.contains("missing")), "{f:#?}");
    assert!(failing(&after.unwrap()).is_empty());
    let site = "/etc/apache2/sites-available/mattermost.conf";
    let text = b.read(site).expect("the site file");
    assert!(text.contains("chat.example.com"), "{text}");
    assert!(text.contains("127.0.0.1:8065"), "{text}");
    assert_eq!(b.mode(site), 0o644);
    let lines = b.lines();
    let i_enmod = lines
        .iter()
        .position(|l| l.starts_with("a2enmod -q"))
        .unwrap();
    // The probe tests the configuration too: the test that counts comes after a2enmod.
    let i_test = i_enmod
        + lines[i_enmod..]
            .iter()
            .position(|l| l == "apache2ctl configtest")
            .unwrap();
    let i_start = lines
        .iter()
        .position(|l| l == "systemctl enable --now apache2.service")
        .unwrap();
    assert!(i_enmod < i_test && i_test < i_start, "{lines:#?}");
    assert!(lines.contains(&"a2ensite -q mattermost".to_owned()));
    let own = crate::state::Ownership::load(&b.host);
    assert!(own.did_create("apache_module", "proxy_http"));
    assert!(own.did_create("apache_site", "mattermost"));
    b.assert_all_scripted();
}

#[test]
fn nginx_on_an_empty_box_gets_the_site_linked_and_tested_before_start() {
    let b = FakeBox::empty();
    b.reply("nginx", &["-t", "-q"], ok(""));
    let a = answers(r#""proxy": "nginx""#);
    let p = plan(&a);
    let (found, after) = converge_phase(&b, &a, &p, &Proxy);
    assert!(
        failing(&found).iter().any(|c| c.contains("enabled: no")),
        "{found:#?}"
    );
    assert!(failing(&after.unwrap()).is_empty());
    let link = b.path("/etc/nginx/sites-enabled/mattermost");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("/etc/nginx/sites-available/mattermost")
    );
    let text = b.read("/etc/nginx/sites-available/mattermost").unwrap();
    assert!(text.contains("server_name chat.example.com"), "{text}");
    assert!(b.ran("systemctl enable --now nginx.service"));
    b.assert_all_scripted();
}

#[test]
fn a_failed_configtest_takes_the_new_site_back_and_reloads_nothing() {
    let b = FakeBox::empty();
    b.reply(
        "nginx",
        &["-t", "-q"],
        fail(
            1,
            "nginx: [emerg] unknown directive in /etc/nginx/sites-enabled/other:3",
        ),
    );
    let a = answers(r#""proxy": "nginx""#);
    let p = plan(&a);
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let err = Proxy.apply(&mut ctx).unwrap_err();
    assert!(
        err.cause.contains("previous configuration was restored"),
        "{}",
        err.cause
    );
    assert!(err.cause.contains("unknown directive"), "{}", err.cause);
    assert!(!b.exists("/etc/nginx/sites-available/mattermost"));
    assert!(!b.exists("/etc/nginx/sites-enabled/mattermost"));
    assert!(!b.ran("systemctl"), "{:#?}", b.lines());
}

#[test]
fn a_converged_proxy_has_nothing_to_do_and_a_changed_site_is_reloaded() {
    let b = FakeBox::empty();
    b.reply("nginx", &["-t", "-q"], ok(""));
    let a = answers(r#""proxy": "nginx""#);
    let p = plan(&a);
    converge_phase(&b, &a, &p, &Proxy);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Proxy);
    assert!(failing(&found).is_empty(), "{found:#?}");
    assert!(after.is_none());
    // A larger upload limit in config.json: the plan made on the box now follows it,
    // and the site is rewritten and reloaded.
    let before = b.read("/etc/nginx/sites-available/mattermost").unwrap();
    b.write(
        p.config_json.to_str().unwrap(),
        r#"{"FileSettings": {"MaxFileSize": 209715200}}"#,
    );
    let p = crate::plan::Plan::on_box(&b.host, &a).unwrap();
    assert_eq!(p.upload_limit, 209_715_200);
    b.clear_calls();
    let (found, after) = converge_phase(&b, &a, &p, &Proxy);
    assert_eq!(failing(&found).len(), 1, "{found:#?}");
    assert!(failing(&after.unwrap()).is_empty());
    assert!(b.ran("systemctl reload nginx.service"), "{:#?}", b.lines());
    let now = b.read("/etc/nginx/sites-available/mattermost").unwrap();
    assert_ne!(before, now);
    assert!(now.contains("client_max_body_size"), "{now}");
}

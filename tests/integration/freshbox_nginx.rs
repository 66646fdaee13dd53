//! nginx on a box that already serves other sites (issue 5): the other site and
//! Debian's default_server stay exactly as they were, and a failing `nginx -t` puts
//! the previous site file back without reloading anything.

use crate::freshbox_install::{DOMAIN, install, prepared_box, text, write_answers};
use crate::freshbox_tls::{HEADROOM, multipart_len, refused_413, tls_answers};
use crate::support::freshbox::{self, FreshBox};

const OTHER: &str = r#"server {
    listen 80;
    server_name other.example.org;
    location / { default_type text/plain; return 200 "the other site\n"; }
}
"#;

/// sha256 of the files and links that belong to others.
fn others(b: &FreshBox) -> String {
    b.exec_ok(
        "cd /etc/nginx && sha256sum sites-available/default sites-available/other nginx.conf && \
         readlink sites-enabled/default sites-enabled/other",
    )
}

fn get(b: &FreshBox, host: &str, path: &str) -> String {
    b.exec_ok(&format!(
        "curl -sS -i -H 'Host: {host}' http://127.0.0.1{path}"
    ))
}

#[test]
fn nginx_keeps_other_sites_and_restores_its_file_when_nginx_t_fails() {
    if !freshbox::available_or_skip(
        "nginx_keeps_other_sites_and_restores_its_file_when_nginx_t_fails",
    ) {
        return;
    }
    let b = prepared_box("mmnginx");
    // nginx is already there, serving Debian's default_server and another site.
    b.exec_ok(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx >/dev/null",
    );
    b.exec_stdin("cat > /etc/nginx/sites-available/other", OTHER.as_bytes());
    b.exec_ok("ln -s /etc/nginx/sites-available/other /etc/nginx/sites-enabled/other && nginx -t -q && systemctl reload nginx");
    let before = others(&b);
    // A reload is asynchronous: wait for the new workers.
    b.exec_ok("for i in $(seq 50); do curl -s -H 'Host: other.example.org' http://127.0.0.1/ | grep -q 'the other site' && break; sleep 0.2; done");
    assert!(get(&b, "other.example.org", "/").contains("the other site"));

    write_answers(&b, &tls_answers(&serde_json::json!({"proxy": "nginx"})));
    let (out, _) = install(&b);
    assert!(
        out.status.success(),
        "install failed:\n{}\n{}",
        text(&out),
        b.exec_ok("tail -n 60 $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
    assert!(
        text(&out).contains("none: the site is http://"),
        "the no-TLS warning: {}",
        text(&out)
    );
    assert_eq!(others(&b), before, "files of other sites changed");
    assert!(get(&b, "other.example.org", "/").contains("the other site"));
    assert!(
        get(&b, "unknown.example.net", "/").contains("Welcome to nginx"),
        "Debian's default_server still answers unknown names"
    );
    let ping = get(&b, DOMAIN, "/api/v4/system/ping");
    assert!(
        ping.starts_with("HTTP/1.1 200") && ping.contains("\"status\":\"OK\""),
        "{ping}"
    );
    let ws = b.exec(&format!(
        "curl -sS -i -N --max-time 3 -H 'Host: {DOMAIN}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
         -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
         -H 'Origin: http://{DOMAIN}' http://127.0.0.1/api/v4/websocket"
    ));
    let ws = String::from_utf8_lossy(&ws.stdout).into_owned();
    assert!(
        ws.starts_with("HTTP/1.1 101") && ws.contains("hello"),
        "{ws}"
    );
    let http = format!("-H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/files");
    // A file of exactly MaxFileSize, in its multipart body, goes through.
    assert!(!refused_413(&b, &http, multipart_len(104_857_600)));
    assert!(refused_413(&b, &http, 104_857_600 + HEADROOM + 1));
    let site = b.exec_ok("sha256sum /etc/nginx/sites-available/mattermost");

    // A change is due (MaxFileSize grew) while another file breaks nginx -t: the
    // previous site file is put back and nginx keeps serving as before.
    b.exec_ok(
        "sed -i 's/\"MaxFileSize\": [0-9]*/\"MaxFileSize\": 209715200/' /opt/mattermost/config/config.json",
    );
    b.exec_ok("echo 'this_is_not_a_directive on;' > /etc/nginx/conf.d/broken.conf");
    let (out, _) = install(&b);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("nginx -t failed"), "{t}");
    assert!(t.contains("previous configuration was restored"), "{t}");
    assert!(
        t.contains("broken.conf"),
        "nginx's own message names the file: {t}"
    );
    assert_eq!(
        b.exec_ok("sha256sum /etc/nginx/sites-available/mattermost"),
        site,
        "not restored"
    );
    assert!(get(&b, DOMAIN, "/api/v4/system/ping").starts_with("HTTP/1.1 200"));
    assert_eq!(others(&b), before);

    // Fixed: the next run applies the new limit.
    b.exec_ok("rm /etc/nginx/conf.d/broken.conf");
    let (out, _) = install(&b);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        b.exec_ok("cat /etc/nginx/sites-available/mattermost")
            .contains("client_max_body_size 210763776;")
    );
    assert!(!refused_413(&b, &http, multipart_len(209_715_200)));
    assert!(refused_413(&b, &http, 209_715_200 + HEADROOM + 1));
    assert_eq!(others(&b), before);

    // Uninstall takes our site away and leaves the others (and the data) alone.
    b.exec_ok("mkdir -p /opt/mattermost/data/t && echo precious > /opt/mattermost/data/t/f");
    let out = b.exec("mattermost-setup uninstall --yes");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        b.exec("test -e /etc/nginx/sites-enabled/mattermost")
            .status
            .code()
            == Some(1)
    );
    assert!(
        b.exec("test -e /etc/nginx/sites-available/mattermost")
            .status
            .code()
            == Some(1)
    );
    assert_eq!(
        b.exec_ok("nginx -t 2>&1 && echo fine")
            .trim()
            .lines()
            .last(),
        Some("fine")
    );
    assert_eq!(others(&b), before);
    assert_eq!(b.exec_ok("cat /opt/mattermost/data/t/f").trim(), "precious");
}

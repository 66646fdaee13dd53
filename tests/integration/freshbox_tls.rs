//! TLS on fresh boxes (issue 5): Let's Encrypt against Debian's `pebble` running in
//! the box (no internet), an operator's existing certificate, and refused bad ones.
//! Everything is checked from outside the installer: curl, openssl, certbot itself.

use crate::freshbox_install::{DOMAIN, MIRROR_PORT, install, prepared_box, text, write_answers};
use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V11};

pub(crate) const ACME_DIR: &str = "https://127.0.0.1:14000/dir";
/// Pebble's listener certificate and its issuing root, for certbot and for the checks.
pub(crate) const BUNDLE: &str = "/etc/pebble/bundle.pem";

/// Answers for the stand-in release from the mirror, with `extra` keys on top.
/// Answers for Let's Encrypt from the pebble in the box, behind `proxy`.
fn letsencrypt_answers(proxy: &str) -> String {
    tls_answers(&serde_json::json!({
        "proxy": proxy,
        "tls": "letsencrypt",
        "letsencrypt_email": "ops@example.com",
        "letsencrypt_agree_tos": true,
        "acme_server": ACME_DIR,
        "acme_ca_bundle": BUNDLE,
    }))
}

pub(crate) fn tls_answers(extra: &serde_json::Value) -> String {
    let m = mirror::mirror();
    let mut v = serde_json::json!({
        "domain": DOMAIN,
        "db_password": "tls test password 1",
        "version": V11,
        "download_base_url": format!("http://127.0.0.1:{MIRROR_PORT}"),
        "sha256": m.sha256(V11, "enterprise"),
    });
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in more {
            obj.insert(k.clone(), val.clone());
        }
    }
    v.to_string()
}

/// Installs Debian's pebble in the box and runs it on 127.0.0.1:14000 with a
/// self-signed listener certificate, accepting every nonce (pebble rejects 5% by
/// default, which Debian's certbot 2.1 on Python 3.11 reports as "AttributeError:
/// can't set attribute", certbot issue 9539). `always_valid` skips the http-01
/// validation; without it pebble really fetches the challenge from port 80 of the
/// address the domain resolves to (the box's /etc/hosts), through the proxy site. Writes [`BUNDLE`]: the listener certificate plus
/// the root pebble issues from.
pub(crate) fn start_pebble(b: &FreshBox, always_valid: bool) {
    let va = if always_valid {
        "-E PEBBLE_VA_ALWAYS_VALID=1"
    } else {
        ""
    };
    b.exec_ok(&format!(
        r#"set -e
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pebble >/dev/null
mkdir -p /etc/pebble && cd /etc/pebble
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 \
  -subj /CN=pebble -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
cat > config.json <<J
{{"pebble": {{"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
 "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem",
 "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}
J
systemd-run --unit pebble {va} -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 \
  /usr/bin/pebble -config /etc/pebble/config.json
for i in $(seq 50); do curl -sf --cacert cert.pem https://127.0.0.1:14000/dir >/dev/null && break; sleep 0.2; done
curl -sf --cacert cert.pem https://127.0.0.1:15000/roots/0 > root.pem
grep -q 'BEGIN CERTIFICATE' root.pem
cat cert.pem root.pem > bundle.pem
"#
    ));
}

pub(crate) fn add_hosts_entry(b: &FreshBox) {
    b.exec_ok(&format!("echo '127.0.0.1 {DOMAIN}' >> /etc/hosts"));
}

fn install_ok(b: &FreshBox) -> String {
    let (out, took) = install(b);
    let t = text(&out);
    assert!(
        out.status.success(),
        "install failed after {took:?}:\n{t}\n{}",
        b.exec_ok("tail -n 60 $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
    t
}

fn config(b: &FreshBox) -> serde_json::Value {
    serde_json::from_str(&b.exec_ok("cat /opt/mattermost/config/config.json")).unwrap()
}

/// curl in the box against the proxy on 127.0.0.1 with the domain's name (SNI and
/// Host), trusting `cacert` (or the system store when empty).
fn curl_https(b: &FreshBox, cacert: &str, args: &str, path: &str) -> String {
    let ca = if cacert.is_empty() {
        String::new()
    } else {
        format!("--cacert {cacert}")
    };
    let out = b.exec(&format!(
        "curl -sS -i --http1.1 --max-time 5 {ca} --resolve {DOMAIN}:443:127.0.0.1 {args} https://{DOMAIN}{path}"
    ));
    text(&out)
}

/// HTTPS ping 200, WSS 101 with the stand-in's hello, http 301 to https, SiteURL https.
pub(crate) fn check_https(b: &FreshBox, cacert: &str) {
    check_https_to(b, b, cacert);
}

/// [`check_https`] through the proxy on `b`, to Mattermost on `app` (whose
/// config.json must have the https SiteURL).
pub(crate) fn check_https_to(b: &FreshBox, app: &FreshBox, cacert: &str) {
    let ping = curl_https(b, cacert, "", "/api/v4/system/ping");
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
    assert!(ping.contains("\"status\":\"OK\""), "{ping}");
    let ws = curl_https(
        b,
        cacert,
        &format!(
            "-N -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
             -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Origin: https://{DOMAIN}' --max-time 3"
        ),
        "/api/v4/websocket",
    );
    assert!(ws.starts_with("HTTP/1.1 101"), "{ws}");
    assert!(ws.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{ws}");
    assert!(
        ws.contains("hello"),
        "the stand-in's hello came through wss: {ws}"
    );
    let redirect = b.exec_ok(&format!(
        "curl -sS -i -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert!(redirect.starts_with("HTTP/1.1 301"), "{redirect}");
    assert!(
        redirect.contains(&format!("Location: https://{DOMAIN}/api/v4/system/ping")),
        "{redirect}"
    );
    let cfg = config(app);
    assert_eq!(
        cfg["ServiceSettings"]["SiteURL"],
        format!("https://{DOMAIN}")
    );
    assert_eq!(cfg["ServiceSettings"]["ConnectionSecurity"], "");
}

/// Path → sha256 + mtime of the files a re-run must leave alone.
fn fingerprint(b: &FreshBox, files: &str) -> String {
    b.exec_ok(&format!(
        "for f in {files}; do echo \"$f $(sha256sum < $f | cut -c1-64) $(stat -c %Y.%Z $f)\"; done"
    ))
}

/// The proxy lets MaxFileSize plus this through (plan::templates::BODY_HEADROOM):
/// an upload is a multipart body, larger than the file it carries.
pub(crate) const HEADROOM: u64 = 1_048_576;

/// The body length of an upload of a file of `size` bytes as Mattermost's web app
/// sends it to /api/v4/files: channel_id, client_ids, then the file part.
pub(crate) fn multipart_len(size: u64) -> u64 {
    let b = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let id = "q7e1r6zmfbd3tfexrqb5x8n9wa";
    let head = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"channel_id\"\r\n\r\n{id}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"client_ids\"\r\n\r\n{id}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"quarterly report.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let tail = format!("\r\n--{b}--\r\n");
    (head.len() + tail.len()) as u64 + size
}

/// Whether a request announcing `len` body bytes is refused (413) by the proxy before
/// any byte is sent; an accepted one makes the proxy wait for the body (timeout).
pub(crate) fn refused_413(b: &FreshBox, scheme_args: &str, len: u64) -> bool {
    let code = b.exec_ok(&format!(
        "curl -s -o /dev/null -w '%{{http_code}}' --http1.1 --max-time 2 -X POST -H 'Content-Length: {len}' \
         {scheme_args} || true"
    ));
    code.trim() == "413"
}

/// (1) nginx + PostgreSQL + Let's Encrypt from pebble: deferred while the name does
/// not resolve, obtained by the next run, then a re-run that asks nobody anything.
#[test]
fn nginx_postgresql_letsencrypt_from_pebble() {
    if !freshbox::available_or_skip("nginx_postgresql_letsencrypt_from_pebble") {
        return;
    }
    let b = prepared_box("mmle");
    // Real http-01 validation: pebble fetches the challenge through the nginx site.
    start_pebble(&b, false);
    write_answers(&b, &letsencrypt_answers("nginx"));

    // The name does not resolve yet: never a hard stop. The install finishes on http
    // and says that running it again obtains the certificate. What it wrote is what
    // `plan` printed for the box until the certificate.
    let planned = crate::support::plan::planned(&b);
    let t = install_ok(&b);
    crate::support::plan::assert_written_until_certificate(&b, &planned);
    assert!(t.contains("TLS deferred"), "{t}");
    assert!(t.contains("does not resolve"), "{t}");
    assert!(t.contains("run `mattermost-setup install` again"), "{t}");
    assert!(
        t.contains(&format!("Mattermost is up at http://{DOMAIN} ")),
        "{t}"
    );
    assert_eq!(
        b.exec_ok("ls /etc/letsencrypt/live 2>/dev/null | grep -c example || true")
            .trim(),
        "0",
        "no certificate was asked for"
    );
    let ping = b.exec_ok(&format!(
        "curl -sS -i -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
    assert_eq!(
        config(&b)["ServiceSettings"]["SiteURL"],
        format!("http://{DOMAIN}")
    );
    let status = b.exec("mattermost-setup status");
    assert_eq!(
        status.status.code(),
        Some(1),
        "TLS is not there yet: {}",
        text(&status)
    );
    assert!(text(&status).contains("deferred"), "{}", text(&status));

    // The name now points here: the next run obtains the certificate.
    add_hosts_entry(&b);
    let t = install_ok(&b);
    assert!(!t.contains("TLS deferred"), "{t}");
    assert!(
        t.contains(&format!("Mattermost is up at https://{DOMAIN} ")),
        "{t}"
    );
    check_https(&b, BUNDLE);
    let issuer = b.exec_ok(&format!(
        "openssl x509 -noout -issuer -in /etc/letsencrypt/live/{DOMAIN}/cert.pem"
    ));
    assert!(issuer.contains("Pebble"), "{issuer}");
    // pebble validated for real: it fetched certbot's token from the webroot via nginx.
    let fetched = b.exec_ok(
        "grep -c 'GET /.well-known/acme-challenge/[^ ]* HTTP/1.1\" 200' /var/log/nginx/access.log || true",
    );
    assert!(fetched.trim().parse::<u32>().unwrap_or(0) >= 1, "{fetched}");
    let site = b.exec_ok("cat /etc/nginx/sites-available/mattermost");
    assert!(
        site.contains(&format!(
            "ssl_certificate /etc/letsencrypt/live/{DOMAIN}/fullchain.pem;"
        )),
        "{site}"
    );
    // certbot never edited the site: it is exactly the installer's (no "managed by Certbot").
    assert!(!site.contains("Certbot"), "{site}");
    // Debian's default site is still there and still the default server.
    assert!(b.exec_ok("ls /etc/nginx/sites-enabled").contains("default"));
    // Upload limit: Mattermost's default MaxFileSize, enforced by nginx over TLS.
    let tls =
        format!("--cacert {BUNDLE} --resolve {DOMAIN}:443:127.0.0.1 https://{DOMAIN}/api/v4/files");
    // A file of exactly MaxFileSize, in its multipart body, goes through.
    assert!(!refused_413(&b, &tls, multipart_len(104_857_600)));
    assert!(refused_413(&b, &tls, 104_857_600 + HEADROOM + 1));

    // Renewal works: certbot's own dry-run against pebble, and the timer is on.
    assert_eq!(
        b.exec_ok("systemctl is-active certbot.timer").trim(),
        "active"
    );
    let dry = b.exec(&format!(
        "REQUESTS_CA_BUNDLE={BUNDLE} certbot renew --dry-run --no-random-sleep-on-renew \
         --cert-name {DOMAIN} --server {ACME_DIR} --non-interactive"
    ));
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        text(&dry).contains("simulated renewals succeeded"),
        "{}",
        text(&dry)
    );
    let log = b.exec_ok("cat $(ls -t /var/log/mattermost-setup/*.log | head -1)");
    assert!(
        log.contains("certbot renew --dry-run"),
        "the installer verified renewal"
    );

    // A re-run asks nobody anything and changes nothing.
    let files = format!(
        "/etc/nginx/sites-available/mattermost /opt/mattermost/config/config.json \
         /etc/letsencrypt/renewal/{DOMAIN}.conf /etc/letsencrypt/renewal-hooks/deploy/mattermost-setup \
         /etc/systemd/system/certbot.service.d/mattermost-setup.conf /var/lib/mattermost-setup/tls.json"
    );
    let before = fingerprint(&b, &files);
    let archive = b.exec_ok(&format!("ls /etc/letsencrypt/archive/{DOMAIN}"));
    let nginx_pid =
        b.exec_ok("systemctl show -p MainPID -p ExecMainStartTimestampMonotonic nginx mattermost");
    let t = install_ok(&b);
    assert_eq!(
        fingerprint(&b, &files),
        before,
        "a re-run rewrote files:\n{t}"
    );
    assert_eq!(
        b.exec_ok(&format!("ls /etc/letsencrypt/archive/{DOMAIN}")),
        archive,
        "a re-run asked for another certificate"
    );
    assert_eq!(
        b.exec_ok("systemctl show -p MainPID -p ExecMainStartTimestampMonotonic nginx mattermost"),
        nginx_pid
    );
    let log = b.exec_ok("cat $(ls -t /var/log/mattermost-setup/*.log | head -1)");
    assert!(
        !log.contains("$ timeout 300 certbot"),
        "certbot ran on a re-run:\n{log}"
    );
    let status = b.exec("mattermost-setup status");
    assert!(status.status.success(), "{}", text(&status));

    // The upload limit follows FileSettings.MaxFileSize.
    b.exec_ok(
        "sed -i 's/\"MaxFileSize\": [0-9]*/\"MaxFileSize\": 209715200/' /opt/mattermost/config/config.json",
    );
    assert_eq!(config(&b)["FileSettings"]["MaxFileSize"], 209_715_200);
    // `plan` reads that from the box too: what it prints is what the run writes.
    let planned = crate::support::plan::planned(&b);
    install_ok(&b);
    crate::support::plan::assert_written_as_planned(&b, &planned, &[]);
    assert!(!refused_413(&b, &tls, multipart_len(209_715_200)));
    assert!(refused_413(&b, &tls, 209_715_200 + HEADROOM + 1));
}

/// (1b) Apache (the default proxy) + Let's Encrypt with real http-01 validation: the
/// challenge is served from the webroot, not proxied to Mattermost.
#[test]
fn apache_letsencrypt_from_pebble() {
    if !freshbox::available_or_skip("apache_letsencrypt_from_pebble") {
        return;
    }
    let b = prepared_box("mmleap");
    start_pebble(&b, false);
    add_hosts_entry(&b);
    write_answers(&b, &letsencrypt_answers("apache"));
    let planned = crate::support::plan::planned(&b);
    let t = install_ok(&b);
    assert!(
        t.contains(&format!("Mattermost is up at https://{DOMAIN} ")),
        "{t}"
    );
    check_https(&b, BUNDLE);
    let fetched = b.exec_ok(
        "grep -c 'GET /.well-known/acme-challenge/[^ ]* HTTP/1.1\" 200' /var/log/apache2/mattermost-access.log || true",
    );
    assert!(fetched.trim().parse::<u32>().unwrap_or(0) >= 1, "{fetched}");
    let site = b.exec_ok("cat /etc/apache2/sites-available/mattermost.conf");
    assert!(
        site.contains(&format!(
            "SSLCertificateFile /etc/letsencrypt/live/{DOMAIN}/fullchain.pem"
        )),
        "{site}"
    );
    assert!(
        !site.contains("Certbot"),
        "certbot never edits the site: {site}"
    );
    let status = b.exec("mattermost-setup status");
    assert!(status.status.success(), "{}", text(&status));
    crate::support::plan::assert_written_as_planned(&b, &planned, &[]);
}

pub(crate) fn openssl_ca(b: &FreshBox) {
    // A private CA the box trusts, and a certificate for the domain, made with openssl
    // as an operator would.
    b.exec_ok(&format!(
        r#"set -e
mkdir -p /root/pki && cd /root/pki
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Test Private Root" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout chat.key -out chat.csr -subj "/CN={DOMAIN}" 2>/dev/null
printf 'subjectAltName=DNS:{DOMAIN}\n' > ext.cnf
openssl x509 -req -in chat.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile ext.cnf -out chat.pem 2>/dev/null
printf 'subjectAltName=DNS:other.example.org\n' > other.cnf
openssl req -newkey rsa:2048 -nodes -keyout other.key -out other.csr -subj "/CN=other.example.org" 2>/dev/null
openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile other.cnf -out other.pem 2>/dev/null
cp ca.pem /usr/local/share/ca-certificates/test-private-root.crt
update-ca-certificates >/dev/null 2>&1
chmod 600 *.key
"#
    ));
}

/// (2) Apache + an existing certificate from a private CA; bad certificates are
/// refused first, by preflight, each with the answers key of the bad file.
#[test]
fn apache_with_an_existing_certificate_and_bad_ones_refused() {
    if !freshbox::available_or_skip("apache_with_an_existing_certificate_and_bad_ones_refused") {
        return;
    }
    let b = prepared_box("mmexist");
    openssl_ca(&b);
    // An expired certificate for the domain (openssl 3.0 cannot backdate; rcgen can).
    let expired = expired_pair();
    b.exec_stdin("cat > /root/pki/expired.pem", expired.0.as_bytes());
    b.exec_stdin(
        "cat > /root/pki/expired.key && chmod 600 /root/pki/expired.key",
        expired.1.as_bytes(),
    );

    let existing = |cert: &str, key: &str| {
        tls_answers(&serde_json::json!({
            "proxy": "apache", "tls": "existing",
            "tls_cert": format!("/root/pki/{cert}"), "tls_key": format!("/root/pki/{key}"),
        }))
    };
    for (cert, key, field, words) in [
        ("expired.pem", "expired.key", "tls_cert", "expired on"),
        (
            "other.pem",
            "other.key",
            "tls_cert",
            "does not cover chat.example.com (it is for other.example.org)",
        ),
        (
            "chat.pem",
            "other.key",
            "tls_key",
            "is not the private key of the certificate",
        ),
        ("chat.pem", "missing.key", "tls_key", "does not exist"),
    ] {
        write_answers(&b, &existing(cert, key));
        let (out, _) = install(&b);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{cert}/{key} accepted:\n{t}");
        assert!(
            t.contains(&format!("{field} /root/pki/")),
            "{cert}/{key}: field not named:\n{t}"
        );
        assert!(t.contains(words), "{cert}/{key}: {words:?} missing:\n{t}");
        assert!(
            t.contains("preflight"),
            "refused before anything changed:\n{t}"
        );
    }
    assert_eq!(
        b.exec_ok("dpkg-query -W -f '${db:Status-Abbrev}' apache2 2>/dev/null || true")
            .trim(),
        "",
        "nothing was installed while the certificate was bad"
    );

    write_answers(&b, &existing("chat.pem", "chat.key"));
    install_ok(&b);
    // The box's system store trusts the private CA: no --cacert needed.
    check_https(&b, "");
    let site = b.exec_ok("cat /etc/apache2/sites-available/mattermost.conf");
    assert!(
        site.contains("SSLCertificateFile /root/pki/chat.pem"),
        "{site}"
    );
    // Apache's mod_proxy enforces LimitRequestBody only while it reads a body, and the
    // stand-in answers before reading any, so the limit is checked as declared here
    // (and by the installer's acceptance check, in status); nginx's is tested live.
    // MaxFileSize plus headroom: a file of exactly MaxFileSize in its multipart body fits.
    assert!(site.contains("LimitRequestBody 105906176"), "{site}");
    assert!(105_906_176 >= multipart_len(104_857_600));
    // TLS needs mod_ssl; nothing needs mod_http2 (Debian's turns on h2 for every site).
    assert_eq!(
        b.exec_ok("a2query -q -m ssl && echo on || echo off").trim(),
        "on"
    );
    assert_eq!(
        b.exec_ok("a2query -q -m http2 && echo on || echo off")
            .trim(),
        "off"
    );

    let files = "/etc/apache2/sites-available/mattermost.conf /opt/mattermost/config/config.json";
    let before = fingerprint(&b, files);
    install_ok(&b);
    assert_eq!(fingerprint(&b, files), before, "a re-run rewrote files");
    let status = b.exec("mattermost-setup status --json");
    assert!(status.status.success(), "{}", text(&status));
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let names: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["level"] == "ok")
        .filter_map(|c| c["name"].as_str())
        .collect();
    for want in [
        "proxy upload limit >= MaxFileSize",
        "certificate served on 443",
        "WebSocket (wss) through the proxy",
        "SiteURL equals the public URL",
    ] {
        assert!(names.contains(&want), "{want} not ok in status: {names:?}");
    }
}

/// An expired certificate for the domain and its key, from a throwaway CA.
fn expired_pair() -> (String, String) {
    use rcgen::{CertificateParams, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![DOMAIN.to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(100);
    p.not_after = now - time::Duration::days(10);
    let cert = p.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

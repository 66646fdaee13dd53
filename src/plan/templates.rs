//! The unit, proxy site and certbot hook templates from assets/, filled from the
//! answers and, for the proxy site, from what is on the box (the certificate, once it
//! is in place, and Mattermost's MaxFileSize).

use std::path::{Path, PathBuf};

use crate::answers::{Answers, Proxy};

use super::grammar::{self, apache, nginx, systemd};
use super::{UPSTREAM, db_unit};

const UNIT: &str = include_str!("../../assets/templates/mattermost.service");
const APACHE_VHOST: &str = include_str!("../../assets/templates/apache-vhost.conf");
const APACHE_PROXY: &str = include_str!("../../assets/templates/apache-proxy.conf");
const APACHE_ACME: &str = include_str!("../../assets/templates/apache-acme.conf");
const APACHE_REDIRECT: &str = include_str!("../../assets/templates/apache-redirect.conf");
const APACHE_TLS: &str = include_str!("../../assets/templates/apache-tls.conf");
const NGINX_SITE: &str = include_str!("../../assets/templates/nginx-site.conf");
const NGINX_PROXY: &str = include_str!("../../assets/templates/nginx-proxy.conf");
const NGINX_ACME: &str = include_str!("../../assets/templates/nginx-acme.conf");
const NGINX_REDIRECT: &str = include_str!("../../assets/templates/nginx-redirect.conf");
const NGINX_TLS: &str = include_str!("../../assets/templates/nginx-tls.conf");
const DEPLOY_HOOK: &str = include_str!("../../assets/templates/certbot-deploy-hook.sh");

/// Apache's LimitRequestBody cannot go above 2 GiB - 1; beyond that it is 0 (no limit).
pub const APACHE_BODY_MAX: u64 = 2_147_483_647;
/// nginx reads client_max_body_size into an off_t: above this, "invalid value".
pub const NGINX_BODY_MAX: u64 = i64::MAX as u64;
/// What the proxy lets through beyond MaxFileSize: an upload is a multipart body
/// (boundaries, part headers, the channel_id and client_ids fields, a few hundred
/// bytes), and Mattermost checks the file's own size, not the request's
/// (server/channels/api4/file.go, UploadFileX). 1 MiB is ample and changes nothing
/// else.
pub const BODY_HEADROOM: u64 = 1024 * 1024;

/// Replaces each `{{name}}` of the template with its value, in one pass over the
/// template: a value is never scanned again, so an answer that happens to contain
/// `{{proxy}}` stays text. Unknown names are left as they are.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| {
            let name = &after[..end];
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (end, *v))
        }) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn unit(a: &Answers) -> String {
    let program = a.install_path("bin/mattermost");
    // A database on another machine: no local unit to want, the network to wait for.
    let db = if a.local_db() {
        db_unit(a.db_engine)
    } else {
        "network-online.target"
    };
    fill(
        UNIT,
        &[
            ("db_unit", db),
            ("program", &systemd::program(&program.to_string_lossy())),
            (
                "working_directory",
                &systemd::path_setting(&a.install_dir.to_string_lossy()),
            ),
        ],
    )
}

/// The certificate a TLS site serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCert {
    /// The chain, leaf first (certbot's fullchain.pem).
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What a proxy site is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site<'a> {
    pub domain: &'a str,
    /// Mattermost's FileSettings.MaxFileSize: the proxy's request body limit.
    pub upload_limit: u64,
    /// Serve `/.well-known/acme-challenge/` from here (Let's Encrypt, certbot --webroot).
    pub acme_webroot: Option<&'a Path>,
    /// `Some`: port 80 redirects to https, port 443 serves with this certificate.
    /// `None`: port 80 proxies (no TLS, or TLS not obtained yet).
    pub tls: Option<SiteCert>,
    /// Where Mattermost answers: this box's, or each app machine (nginx only).
    pub upstreams: Vec<String>,
}

/// The request body limit as the proxy writes it: MaxFileSize plus
/// [`BODY_HEADROOM`] (Apache's has a ceiling; beyond it, no limit).
pub fn body_limit(proxy: Proxy, upload_limit: u64) -> u64 {
    let limit = upload_limit.saturating_add(BODY_HEADROOM);
    match proxy {
        Proxy::Apache if limit > APACHE_BODY_MAX => 0,
        Proxy::Nginx if limit > NGINX_BODY_MAX => 0,
        _ => limit,
    }
}

/// The Apache modules a site needs: the proxy and its WebSocket tunnel, rewrite
/// (the tunnel's and the redirect's rules) and headers (X-Forwarded-Proto,
/// X-Real-IP, HSTS); mod_ssl only when the site serves TLS. Nothing else: mod_ssl
/// without a TLS site makes Debian's Apache listen on :443 with plain HTTP, and
/// Debian's mod_http2 turns on h2 for every site of the server.
pub fn apache_modules(site: &Site) -> Vec<&'static str> {
    let mut m = vec![
        "rewrite",
        "headers",
        "proxy",
        "proxy_http",
        "proxy_wstunnel",
    ];
    if site.tls.is_some() {
        m.insert(0, "ssl");
    }
    m
}

pub fn proxy_site(proxy: Proxy, site: &Site) -> String {
    match proxy {
        Proxy::Apache => apache_site(site),
        Proxy::Nginx => nginx_site(site),
    }
}

fn common<'a>(domain: &'a str, limit: &'a str, host: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("domain", domain),
        ("upstream", UPSTREAM),
        ("upstream_host", host),
        ("upload_limit", limit),
    ]
}

fn apache_site(site: &Site) -> String {
    let limit = body_limit(Proxy::Apache, site.upload_limit).to_string();
    let host = UPSTREAM.split(':').next().unwrap_or(UPSTREAM);
    let domain = grammar::host_name(site.domain);
    let (alias, dir) = site
        .acme_webroot
        .map(|p| {
            let p = p.to_string_lossy();
            (
                apache::quote(&format!("{p}/.well-known/acme-challenge/")),
                apache::quote(&format!("{p}/.well-known/acme-challenge")),
            )
        })
        .unwrap_or_default();
    let mut vars = common(&domain, &limit, host);
    vars.push(("acme_alias", &alias));
    vars.push(("acme_dir", &dir));
    let acme = if site.acme_webroot.is_some() {
        fill(APACHE_ACME, &vars)
    } else {
        String::new()
    };
    let proxy = |scheme: &str, exclude_acme: bool| {
        let exclusion = if exclude_acme {
            "\n    ProxyPass /.well-known/acme-challenge/ !"
        } else {
            ""
        };
        let mut v = vars.clone();
        v.push(("scheme", scheme));
        v.push(("acme_exclusion", exclusion));
        fill(APACHE_PROXY, &v)
    };
    let (http, https) = match &site.tls {
        None => (
            format!("{acme}{}", proxy("http", site.acme_webroot.is_some())),
            String::new(),
        ),
        Some(c) => {
            let cert = apache::quote(&c.cert.to_string_lossy());
            let key = apache::quote(&c.key.to_string_lossy());
            let p = proxy("https", false);
            let mut v = vars.clone();
            v.extend([
                ("cert", cert.as_str()),
                ("key", key.as_str()),
                ("proxy", &p),
            ]);
            (
                format!("{acme}{}", fill(APACHE_REDIRECT, &vars)),
                fill(APACHE_TLS, &v),
            )
        }
    };
    let mut v = vars.clone();
    v.extend([("http", http.as_str()), ("https", https.as_str())]);
    fill(APACHE_VHOST, &v)
}

fn nginx_site(site: &Site) -> String {
    let limit = body_limit(Proxy::Nginx, site.upload_limit).to_string();
    let domain = grammar::host_name(site.domain);
    let webroot = site
        .acme_webroot
        .map(|p| nginx::quote(&p.to_string_lossy()))
        .unwrap_or_default();
    let mut vars = common(&domain, &limit, "");
    vars.push(("acme_webroot", &webroot));
    let several = site.upstreams.len() > 1;
    // Several app machines: a failed one is skipped for 10 s after one failure
    // (passive health check), and a request that could not reach one is tried on
    // the next, only when it is idempotent (nginx never retries a POST unless told).
    let servers: String = if site.upstreams.is_empty() {
        format!("    server {UPSTREAM};\n")
    } else {
        site.upstreams
            .iter()
            .map(|u| {
                if several {
                    format!("    server {u} max_fails=1 fail_timeout=10s;\n")
                } else {
                    format!("    server {u};\n")
                }
            })
            .collect()
    };
    let (connect, failover) = if several {
        (
            "3s",
            "\n        proxy_next_upstream error timeout http_502 http_503 http_504;\n        proxy_next_upstream_timeout 10s;",
        )
    } else {
        ("90s", "")
    };
    vars.push(("servers", &servers));
    vars.push(("connect_timeout", connect));
    vars.push(("failover", failover));
    let acme = if site.acme_webroot.is_some() {
        fill(NGINX_ACME, &vars)
    } else {
        String::new()
    };
    let proxy = fill(NGINX_PROXY, &vars);
    let (http, https) = match &site.tls {
        None => (proxy, String::new()),
        Some(c) => {
            let cert = nginx::quote(&c.cert.to_string_lossy());
            let key = nginx::quote(&c.key.to_string_lossy());
            let mut v = vars.clone();
            v.extend([
                ("cert", cert.as_str()),
                ("key", key.as_str()),
                ("proxy", &proxy),
            ]);
            (fill(NGINX_REDIRECT, &vars), fill(NGINX_TLS, &v))
        }
    };
    let mut v = vars.clone();
    v.extend([
        ("acme", acme.as_str()),
        ("http", http.as_str()),
        ("https", https.as_str()),
    ]);
    fill(NGINX_SITE, &v)
}

/// certbot's deploy hook: reload the proxy after our certificate renews.
pub fn deploy_hook(domain: &str, proxy_unit: &str) -> String {
    fill(
        DEPLOY_HOOK,
        &[
            ("domain", &grammar::host_name(domain)),
            ("proxy_unit", proxy_unit),
        ],
    )
}

/// A drop-in for certbot.service so the timer's renewals trust the same ACME CA
/// bundle the install used.
pub fn certbot_dropin(bundle: &Path) -> String {
    format!(
        "# Written by mattermost-setup: certbot's scheduled renewals trust the CA bundle\n\
         # given as acme_ca_bundle, as the install did.\n\
         [Service]\n\
         {}\n",
        systemd::environment("REQUESTS_CA_BUNDLE", &bundle.to_string_lossy())
    )
}

/// The body limit a site file declares (`LimitRequestBody` / `client_max_body_size`),
/// the smallest when it appears more than once. `0` means no limit.
pub fn declared_body_limit(proxy: Proxy, site: &str) -> Option<u64> {
    let key = match proxy {
        Proxy::Apache => "LimitRequestBody",
        Proxy::Nginx => "client_max_body_size",
    };
    site.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(key))
        .filter_map(|rest| parse_size(rest.trim().trim_end_matches(';')))
        .min_by_key(|n| if *n == 0 { u64::MAX } else { *n })
}

/// `104857600`, `100M`, `1g`, `512k` (nginx sizes; Apache takes bytes only).
fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1024),
        'm' | 'M' => (&s[..s.len() - 1], 1024 * 1024),
        'g' | 'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "chat.example.com";

    /// The database is wanted and ordered before Mattermost, never bound to it: a
    /// database restart or crash must not stop Mattermost (see the template's comment).
    #[test]
    fn the_unit_wants_its_database_and_is_ordered_after_it_without_a_binding() {
        use crate::answers::DbEngine;
        for (engine, db) in [
            (DbEngine::Postgresql, "postgresql.service"),
            (DbEngine::Mariadb, "mariadb.service"),
            (DbEngine::Mysql, "mysql.service"),
        ] {
            let mut a =
                crate::answers::from_json(&format!(r#"{{"domain": "{D}"}}"#), None).unwrap();
            a.db_engine = engine;
            let u = unit(&a);
            let lines: Vec<&str> = u.lines().filter(|l| !l.starts_with('#')).collect();
            assert!(lines.contains(&format!("Wants={db}").as_str()), "{u}");
            assert!(
                lines.contains(&format!("After=network.target {db}").as_str()),
                "{u}"
            );
            assert!(lines.contains(&"Restart=always"), "{u}");
            for binding in ["BindsTo=", "Requires=", "PartOf=", "Requisite="] {
                assert!(
                    !lines.iter().any(|l| l.starts_with(binding)),
                    "{binding}: {u}"
                );
            }
        }
    }

    /// `systemd-analyze verify` accepts the unit with no warning at all (typos are only
    /// warnings with exit 0, hence: no output).
    #[test]
    fn systemd_accepts_the_unit() {
        let Ok(out) = std::process::Command::new("systemd-analyze")
            .arg("--version")
            .output()
        else {
            assert!(
                std::env::var_os("FRESHBOX_REQUIRED").is_none(),
                "systemd-analyze is missing (FRESHBOX_REQUIRED=1: no skipping)"
            );
            eprintln!("SKIPPED systemd_accepts_the_unit: systemd-analyze is not installed");
            return;
        };
        assert!(out.status.success());
        let dir = tempfile::tempdir().unwrap();
        let install = dir.path().join("mattermost");
        std::fs::create_dir_all(install.join("bin")).unwrap();
        let bin = install.join("bin/mattermost");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut a = crate::answers::from_json(&format!(r#"{{"domain": "{D}"}}"#), None).unwrap();
        a.install_dir = install;
        let path = dir.path().join("mattermost.service");
        std::fs::write(&path, unit(&a)).unwrap();
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.trim().is_empty(), "{said}");
    }

    fn site(acme: bool, tls: bool) -> Site<'static> {
        Site {
            domain: D,
            upload_limit: 104_857_600,
            acme_webroot: acme.then(|| Path::new("/var/www/mattermost-setup-acme")),
            tls: tls.then(|| SiteCert {
                cert: "/etc/letsencrypt/live/chat.example.com/fullchain.pem".into(),
                key: "/etc/letsencrypt/live/chat.example.com/privkey.pem".into(),
            }),
            upstreams: Vec::new(),
        }
    }

    fn all_variants() -> Vec<(Proxy, bool, bool, String)> {
        let mut out = Vec::new();
        for proxy in [Proxy::Apache, Proxy::Nginx] {
            for acme in [false, true] {
                for tls in [false, true] {
                    out.push((proxy, acme, tls, proxy_site(proxy, &site(acme, tls))));
                }
            }
        }
        out
    }

    #[test]
    fn every_variant_is_fully_rendered_and_balanced() {
        for (proxy, acme, tls, text) in all_variants() {
            let what = format!("{proxy:?} acme={acme} tls={tls}:\n{text}");
            assert!(!text.contains("{{"), "{what}");
            assert!(
                text.contains("server_name chat.example.com")
                    || text.contains("ServerName chat.example.com"),
                "{what}"
            );
            match proxy {
                Proxy::Nginx => assert_eq!(
                    text.matches('{').count(),
                    text.matches('}').count(),
                    "{what}"
                ),
                Proxy::Apache => {
                    assert_eq!(
                        text.matches("<VirtualHost").count(),
                        text.matches("</VirtualHost>").count(),
                        "{what}"
                    );
                    assert_eq!(
                        text.matches("<VirtualHost").count(),
                        if tls { 2 } else { 1 },
                        "{what}"
                    );
                }
            }
            assert_eq!(
                text.contains("acme-challenge"),
                acme || (tls && proxy == Proxy::Apache),
                "{what}"
            );
            assert_eq!(
                declared_body_limit(proxy, &text),
                Some(104_857_600 + BODY_HEADROOM),
                "{what}"
            );
        }
    }

    #[test]
    fn nginx_without_tls_proxies_port_80_with_the_websocket_location() {
        let t = proxy_site(Proxy::Nginx, &site(false, false));
        assert!(t.contains("listen 80;\n    listen [::]:80;"), "{t}");
        assert!(
            !t.lines()
                .any(|l| l.trim_start().starts_with("listen") && l.contains("default_server")),
            "never takes over the default server: {t}"
        );
        assert!(!t.contains("443"), "{t}");
        assert!(t.contains("location ~ /api/v[0-9]+/(users/)?websocket$ {\n        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection \"upgrade\";"), "{t}");
        for timeout in [
            "proxy_connect_timeout 90s;",
            "proxy_send_timeout 300s;",
            "proxy_read_timeout 90s;",
            "proxy_read_timeout 600s;",
            "client_body_timeout 60s;",
            "send_timeout 300s;",
        ] {
            assert!(t.contains(timeout), "{timeout}");
        }
        assert_eq!(t.matches("client_max_body_size 105906176;").count(), 2);
        assert!(t.contains(
            "upstream mattermost_setup_backend {\n    server 127.0.0.1:8065;\n    keepalive 32;\n}"
        ));
    }

    #[test]
    fn nginx_with_tls_redirects_but_still_answers_challenges() {
        let t = proxy_site(Proxy::Nginx, &site(true, true));
        let (port80, port443) = t.split_once("listen 443 ssl http2;").unwrap();
        assert!(port80.contains("location ^~ /.well-known/acme-challenge/ {\n        root /var/www/mattermost-setup-acme;"));
        assert!(port80.contains("return 301 https://$server_name$request_uri;"));
        assert!(!port80.contains("proxy_pass"), "{port80}");
        assert!(
            port443
                .contains("ssl_certificate /etc/letsencrypt/live/chat.example.com/fullchain.pem;")
        );
        assert!(
            port443.contains(
                "ssl_certificate_key /etc/letsencrypt/live/chat.example.com/privkey.pem;"
            )
        );
        assert!(port443.contains("proxy_pass http://mattermost_setup_backend;"));
        assert!(
            !t.contains("ssl_stapling"),
            "Let's Encrypt has no OCSP responder any more"
        );
        assert!(
            !t.contains("shared:SSL:"),
            "a cache zone name of our own: {t}"
        );
    }

    #[test]
    fn apache_http_keeps_the_tunnel_and_excludes_challenges_from_the_proxy() {
        let t = proxy_site(Proxy::Apache, &site(true, false));
        assert!(t.contains("RewriteRule .* ws://127.0.0.1:8065%{REQUEST_URI} [P,QSA,L]"));
        let excl = t.find("ProxyPass /.well-known/acme-challenge/ !").unwrap();
        let pass = t
            .find("ProxyPass / http://127.0.0.1:8065/ connectiontimeout=90 timeout=600")
            .unwrap();
        assert!(excl < pass, "the exclusion must come first: {t}");
        assert!(t.contains("Alias /.well-known/acme-challenge/ /var/www/mattermost-setup-acme/.well-known/acme-challenge/"));
        assert!(t.contains("RequestHeader set X-Forwarded-Proto \"http\""));
        assert!(t.contains("ProxyTimeout 600"));
    }

    #[test]
    fn apache_tls_redirects_port_80_and_serves_443() {
        let t = proxy_site(Proxy::Apache, &site(false, true));
        let (port80, port443) = t.split_once("<VirtualHost *:443>").unwrap();
        assert!(port80.contains("RewriteRule ^ https://chat.example.com%{REQUEST_URI} [R=301,L]"));
        assert!(!port80.contains("ProxyPass"), "{port80}");
        assert!(
            port443.contains(
                "SSLCertificateFile /etc/letsencrypt/live/chat.example.com/fullchain.pem"
            )
        );
        assert!(port443.contains("RequestHeader set X-Forwarded-Proto \"https\""));
        assert!(port443.contains("Strict-Transport-Security"));
        assert!(port443.contains("ws://127.0.0.1:8065"));
    }

    #[test]
    fn upload_limits_follow_max_file_size_with_apaches_ceiling() {
        let mut s = site(false, false);
        s.upload_limit = 5 * 1024 * 1024 * 1024;
        let apache = proxy_site(Proxy::Apache, &s);
        assert!(apache.contains("LimitRequestBody 0\n"), "{apache}");
        assert_eq!(declared_body_limit(Proxy::Apache, &apache), Some(0));
        let nginx = proxy_site(Proxy::Nginx, &s);
        assert_eq!(
            declared_body_limit(Proxy::Nginx, &nginx),
            Some(5 * 1024 * 1024 * 1024 + BODY_HEADROOM)
        );
        // Just below Apache's ceiling the headroom still fits; above it, no limit.
        s.upload_limit = APACHE_BODY_MAX - BODY_HEADROOM;
        assert_eq!(
            declared_body_limit(Proxy::Apache, &proxy_site(Proxy::Apache, &s)),
            Some(APACHE_BODY_MAX)
        );
        s.upload_limit += 1;
        assert_eq!(
            declared_body_limit(Proxy::Apache, &proxy_site(Proxy::Apache, &s)),
            Some(0)
        );
        s.upload_limit = u64::MAX;
        assert_eq!(
            declared_body_limit(Proxy::Nginx, &proxy_site(Proxy::Nginx, &s)),
            Some(0),
            "nginx cannot read a limit beyond an off_t"
        );
        assert_eq!(
            declared_body_limit(
                Proxy::Nginx,
                "client_max_body_size 50M;\nclient_max_body_size 100M;"
            ),
            Some(50 * 1024 * 1024)
        );
        assert_eq!(
            declared_body_limit(Proxy::Nginx, "# client_max_body_size 1;\n"),
            None
        );
    }

    #[test]
    fn both_proxies_set_x_real_ip_from_the_connection() {
        for tls in [false, true] {
            let a = proxy_site(Proxy::Apache, &site(false, tls));
            assert_eq!(
                a.matches("RequestHeader set X-Real-IP \"expr=%{REMOTE_ADDR}\"")
                    .count(),
                1,
                "{a}"
            );
            let n = proxy_site(Proxy::Nginx, &site(false, tls));
            assert_eq!(
                n.matches("proxy_set_header X-Real-IP $remote_addr;")
                    .count(),
                2,
                "both locations: {n}"
            );
        }
    }

    #[test]
    fn apache_modules_follow_the_site() {
        let plain = apache_modules(&site(true, false));
        assert!(!plain.contains(&"ssl"), "{plain:?}");
        assert!(!plain.contains(&"http2"), "{plain:?}");
        let tls = apache_modules(&site(true, true));
        assert!(tls.contains(&"ssl"), "{tls:?}");
        assert!(!tls.contains(&"http2"), "{tls:?}");
        assert!(
            !proxy_site(Proxy::Apache, &site(false, true)).contains("Protocols"),
            "h2 would need mod_http2, which changes every site"
        );
    }

    #[test]
    fn fill_is_one_pass_and_values_are_quoted_per_format() {
        assert_eq!(
            fill("a {{x}} {{y}} {{z}}", &[("x", "{{y}}"), ("y", "Y")]),
            "a {{y}} Y {{z}}"
        );
        let mut s = site(false, true);
        s.tls = Some(SiteCert {
            cert: "/etc/ssl/{{proxy}} a\"b\\.pem".into(),
            key: "/etc/ssl/k\nSSLEngine off".into(),
        });
        let a = proxy_site(Proxy::Apache, &s);
        assert!(
            a.contains("SSLCertificateFile \"/etc/ssl/{{proxy}} a\\\"b\\\\.pem\""),
            "{a}"
        );
        assert!(
            !a.lines()
                .any(|l| l.trim_start().starts_with("SSLEngine off")),
            "{a}"
        );
        let n = proxy_site(Proxy::Nginx, &s);
        assert!(
            n.contains("ssl_certificate \"/etc/ssl/{{proxy}} a\\\"b\\\\.pem\";"),
            "{n}"
        );
        assert_eq!(n.matches("ssl_certificate_key").count(), 1, "{n}");
        let d = certbot_dropin(Path::new("/etc/ca.pem\nExecStartPre=/bin/sh"));
        assert_eq!(d.lines().count(), 4, "{d}");
    }

    #[test]
    fn the_deploy_hook_reloads_only_for_our_domain() {
        let h = deploy_hook(D, "nginx.service");
        assert!(h.starts_with("#!/bin/sh\n"));
        assert!(
            h.contains("*\" chat.example.com \"*) systemctl reload nginx.service ;;"),
            "{h}"
        );
    }
}

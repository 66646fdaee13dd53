//! JSON answers file → [`Answers`], collecting every problem before returning.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::validate::{self, FieldError, Invalid};
use super::{Answers, DbEngine, Edition, Proxy, Secret, Tls, VersionSpec};
use crate::releases::{self, Version};

pub(super) const KEYS: [&str; 29] = [
    "domain",
    "db_engine",
    "db_name",
    "db_user",
    "db_password",
    "db_password_file",
    "letsencrypt_email",
    "letsencrypt_agree_tos",
    "acme_server",
    "acme_ca_bundle",
    "tls_cert",
    "tls_key",
    "admin_username",
    "admin_email",
    "admin_password",
    "admin_password_file",
    "team_name",
    "retention_days",
    "retention_keep_pinned",
    "install_dir",
    "data_dir",
    "adopt_existing",
    "edition",
    "version",
    "proxy",
    "tls",
    "download_base_url",
    "tarball",
    "sha256",
];

pub(super) struct Reader<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) errors: Vec<FieldError>,
}

impl Reader<'_> {
    pub(super) fn err(&mut self, field: &str, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        });
    }

    /// A string key; `None` when absent or null.
    pub(super) fn string(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(
                    key,
                    format!("must be a string, found {other}"),
                    format!("write \"{key}\": \"...\""),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.err(
                    key,
                    format!("must be true or false, found {other}"),
                    format!("write \"{key}\": true"),
                );
                default
            }
        }
    }

    /// A secret given inline (`key`) or in a file (`key_file`, first line).
    pub(super) fn secret(&mut self, key: &str) -> Option<String> {
        let file_key = format!("{key}_file");
        let inline = self.string(key);
        let file = self.string(&file_key);
        match (inline, file) {
            (Some(_), Some(_)) => {
                self.err(
                    key,
                    format!("is set together with {file_key}"),
                    "keep one of the two",
                );
                None
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) => Some(text.lines().next().unwrap_or("").to_owned()),
                Err(e) => {
                    self.err(
                        &file_key,
                        format!("cannot read {path}: {e}"),
                        "give the path of a readable file (mode 600) holding the secret",
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    pub(super) fn path(&mut self, key: &str) -> Option<PathBuf> {
        let p = self.string(key).map(PathBuf::from)?;
        if !p.is_absolute() {
            self.err(
                key,
                format!("\"{}\" is not an absolute path", p.display()),
                "give an absolute path",
            );
        }
        Some(p)
    }

    pub(super) fn choice<T: Copy>(&mut self, key: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(s) = self.string(key) else {
            return default;
        };
        if let Some((_, v)) = options.iter().find(|(name, _)| *name == s) {
            return *v;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.err(
            key,
            format!("\"{s}\" is not one of {}", names.join(", ")),
            format!("set {key} to one of: {}", names.join(", ")),
        );
        default
    }

    fn dir(&mut self, key: &str, default: PathBuf) -> PathBuf {
        let path = self.string(key).map_or(default, PathBuf::from);
        if let Err(e) = validate::dir(&path) {
            self.err(
                key,
                e,
                "use an absolute path such as /opt/mattermost or /srv/mattermost/data",
            );
        }
        path
    }
}

/// The answers that are written into files (systemd units, the proxy's site, the
/// certbot drop-in) must fit those files' grammar: checked here, by the same rules
/// the templates quote with ([`crate::grammar`]), each problem named by its key.
fn file_grammar(
    r: &mut Reader,
    proxy: Proxy,
    install_dir: &std::path::Path,
    proxy_files: [(&str, &Option<PathBuf>); 2],
    acme_ca_bundle: Option<&std::path::Path>,
    acme_server: Option<&str>,
) {
    if install_dir.is_absolute() {
        if let Err(e) = validate::unit_dir(install_dir) {
            r.err(
                "install_dir",
                e,
                "choose a directory without '$', quotes, backslashes or control characters",
            );
        }
    }
    for (key, path) in proxy_files {
        if let Some(p) = path.as_deref().filter(|p| p.is_absolute()) {
            if let Err(e) = validate::proxy_file_path(p, proxy) {
                r.err(
                    key,
                    e,
                    "give the file's path without control characters (and without '$' for nginx, '${' for Apache); a symbolic link with a plain name works",
                );
            }
        }
    }
    if let Some(p) = acme_ca_bundle.filter(|p| p.is_absolute()) {
        if let Err(e) = validate::env_file_path(p) {
            r.err(
                "acme_ca_bundle",
                e,
                "give the CA bundle's path without control characters",
            );
        }
    }
    if let Some(u) = acme_server {
        if let Err(e) = validate::acme_server(u) {
            r.err(
                "acme_server",
                e,
                "use the ACME directory URL, e.g. https://acme-staging-v02.api.letsencrypt.org/directory",
            );
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The checks of a given database password, reported under the key it came from.
fn db_password_checks(r: &mut Reader, engine: DbEngine, p: &str) {
    let key = if r.map.contains_key("db_password_file") {
        "db_password_file"
    } else {
        "db_password"
    };
    if let Err(e) = validate::password(p) {
        r.err(
            key,
            e,
            format!("use 8-128 printable characters, or remove {key} to have a password generated"),
        );
    } else if engine == DbEngine::Postgresql
        && let Err(e) = validate::pg_password(p)
    {
        r.err(
            key,
            e,
            format!(
                "use a password without that character (ASCII letters, digits and \
                 punctuation always work), or remove {key} to have one generated"
            ),
        );
    }
}

/// Parses and validates an answers document. `saved` is the answers of the previous
/// install on this box: its password is reused when the document has none.
pub fn from_json(text: &str, saved: Option<&Answers>) -> Result<Answers, Invalid> {
    parse(text, saved, false)
}

/// Parses the tool's own saved answers (`/etc/mattermost-setup/answers.json`), where
/// an admin account without a password is one that exists already (its password was
/// dropped once the account was there).
pub fn from_saved_json(text: &str) -> Result<Answers, Invalid> {
    parse(text, None, true)
}

fn parse(text: &str, saved: Option<&Answers>, saved_file: bool) -> Result<Answers, Invalid> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Invalid::single(
            "answers",
            format!("is not valid JSON: {e}"),
            "fix the JSON syntax at that line and column",
        )
    })?;
    let Value::Object(map) = value else {
        return Err(Invalid::single(
            "answers",
            "must be a JSON object",
            "write {\"domain\": \"chat.example.com\", ...}",
        ));
    };
    let mut r = Reader {
        map: &map,
        errors: Vec::new(),
    };
    for key in map.keys() {
        if !KEYS.contains(&key.as_str()) && !super::topology::KEYS.contains(&key.as_str()) {
            let hint = KEYS
                .iter()
                .chain(super::topology::KEYS.iter())
                .min_by_key(|k| edit_distance(k, key))
                .filter(|k| {
                    edit_distance(k, key) <= 2 || k.contains(key.as_str()) || key.contains(**k)
                })
                .map_or_else(
                    || format!("remove it; known keys are: {}", KEYS.join(", ")),
                    |k| format!("did you mean \"{k}\"?"),
                );
            r.err(key, "is not a known key", hint);
        }
    }

    let domain = match r.string("domain") {
        None => {
            r.err(
                "domain",
                "is missing",
                "add \"domain\": \"chat.example.com\" (the name users will type)",
            );
            String::new()
        }
        Some(d) => {
            let d = d.to_ascii_lowercase();
            if let Err(e) = validate::fqdn(&d) {
                r.err(
                    "domain",
                    e,
                    "use the fully qualified DNS name of this server, e.g. chat.example.com",
                );
            }
            d
        }
    };

    let engine = r.choice(
        "db_engine",
        DbEngine::Postgresql,
        &[
            ("postgresql", DbEngine::Postgresql),
            ("mariadb", DbEngine::Mariadb),
            ("mysql", DbEngine::Mysql),
        ],
    );
    let ident = |r: &mut Reader, key: &str, default: &str| {
        let v = r.string(key).unwrap_or_else(|| default.into());
        if let Err(e) = validate::identifier(&v) {
            r.err(key, e, format!("use something like \"{default}\""));
        }
        v
    };
    let db_name = ident(&mut r, "db_name", "mattermost");
    let db_user = ident(&mut r, "db_user", "mmuser");

    let db_password = match r.secret("db_password") {
        Some(p) => {
            db_password_checks(&mut r, engine, &p);
            Secret::new(p)
        }
        None => match saved {
            Some(s) => s.db_password.clone(),
            None => Secret::generate().map_err(|e| {
                Invalid::single(
                    "db_password",
                    format!("cannot be generated: the system random source failed: {e}"),
                    "set db_password in the answers file",
                )
            })?,
        },
    };

    let install_dir = r.dir("install_dir", PathBuf::from("/opt/mattermost"));
    let data_dir = r.dir("data_dir", install_dir.join("data"));
    if let Err(e) = validate::dirs_apart(&install_dir, &data_dir) {
        r.err(
            "data_dir",
            e,
            "leave data_dir out (it defaults to <install_dir>/data) or give a directory of its own",
        );
    }
    let adopt_existing = r.boolean("adopt_existing", false);

    let edition = r.choice(
        "edition",
        Edition::Enterprise,
        &[("enterprise", Edition::Enterprise), ("team", Edition::Team)],
    );

    let version = match r.string("version").as_deref() {
        None | Some("esr") => VersionSpec::Esr,
        Some("latest") => VersionSpec::Latest,
        Some(s) => match s.parse::<Version>() {
            Ok(v) => VersionSpec::Exact(v),
            Err(e) => {
                r.err(
                    "version",
                    e,
                    "use \"esr\", \"latest\" or an exact version such as \"11.7.9\"",
                );
                VersionSpec::Esr
            }
        },
    };

    let proxy = r.choice(
        "proxy",
        Proxy::Apache,
        &[("apache", Proxy::Apache), ("nginx", Proxy::Nginx)],
    );
    let tls = r.choice(
        "tls",
        Tls::None,
        &[
            ("none", Tls::None),
            ("letsencrypt", Tls::Letsencrypt),
            ("existing", Tls::Existing),
        ],
    );
    let letsencrypt_email = r.string("letsencrypt_email");
    let letsencrypt_agree_tos = r.boolean("letsencrypt_agree_tos", false);
    let acme_server = r.string("acme_server");
    let acme_ca_bundle = r.path("acme_ca_bundle");
    let tls_cert = r.path("tls_cert");
    let tls_key = r.path("tls_key");
    file_grammar(
        &mut r,
        proxy,
        &install_dir,
        [("tls_cert", &tls_cert), ("tls_key", &tls_key)],
        acme_ca_bundle.as_deref(),
        acme_server.as_deref(),
    );
    match tls {
        Tls::Letsencrypt => {
            match &letsencrypt_email {
                None => r.err(
                    "letsencrypt_email",
                    "is missing (tls is letsencrypt)",
                    "add the e-mail Let's Encrypt writes to about expiring certificates",
                ),
                Some(e) if validate::email(e).is_err() => {
                    r.err(
                        "letsencrypt_email",
                        format!("\"{e}\" is not an e-mail address"),
                        "use name@example.com",
                    );
                }
                Some(_) => {}
            }
            if !letsencrypt_agree_tos {
                r.err("letsencrypt_agree_tos", "is not true", "read https://letsencrypt.org/repository/ and set \"letsencrypt_agree_tos\": true");
            }
        }
        Tls::Existing => {
            if tls_cert.is_none() {
                r.err(
                    "tls_cert",
                    "is missing (tls is existing)",
                    "give the path of the certificate chain (PEM)",
                );
            }
            if tls_key.is_none() {
                r.err(
                    "tls_key",
                    "is missing (tls is existing)",
                    "give the path of the private key (PEM)",
                );
            }
        }
        Tls::None => {}
    }

    let admin_username = r.string("admin_username");
    let admin_email = r.string("admin_email");
    let admin_password = r.secret("admin_password");
    let admin = match (admin_username, admin_email, admin_password) {
        (None, None, None) => saved.and_then(|s| s.admin.clone()),
        (Some(username), Some(email), password) => {
            if let Err(e) = validate::username(&username) {
                r.err(
                    "admin_username",
                    e,
                    "use 3-22 of a-z, 0-9, '.', '-', '_', starting with a letter",
                );
            }
            if validate::email(&email).is_err() {
                r.err(
                    "admin_email",
                    format!("\"{email}\" is not an e-mail address"),
                    "use name@example.com",
                );
            }
            let password = match password {
                Some(p) => {
                    if let Err(e) = validate::password(&p) {
                        r.err("admin_password", e, "use 8-72 printable characters");
                    } else if p.len() > 72 {
                        // Mattermost hashes with bcrypt, which refuses more than 72 bytes.
                        r.err(
                            "admin_password",
                            format!("is {} bytes long; Mattermost accepts at most 72", p.len()),
                            "use 8-72 printable characters",
                        );
                    }
                    Some(Secret::new(p))
                }
                None => match saved.and_then(|s| s.admin.as_ref()) {
                    // The same account as the earlier install: its password (or none,
                    // once the account exists).
                    Some(a) if a.username == username => a.password.clone(),
                    None if saved_file => None,
                    _ => {
                        r.err(
                            "admin_password",
                            "is missing (admin_username is set)",
                            "add admin_password or admin_password_file",
                        );
                        None
                    }
                },
            };
            Some(super::Admin {
                username,
                email,
                password,
            })
        }
        _ => {
            r.err(
                "admin_username",
                "admin_username and admin_email go together",
                "set both (and admin_password), or none",
            );
            None
        }
    };
    let team_name = r.string("team_name");
    if let Some(t) = &team_name {
        if let Err(e) = validate::team_name(t) {
            r.err(
                "team_name",
                e,
                "use 2-64 of a-z, 0-9 and '-', starting and ending with a letter or digit, not starting with a word Mattermost reserves (e.g. \"staff\")",
            );
        }
        if admin.is_none() {
            r.err(
                "team_name",
                "needs an admin account to own the team",
                "set admin_username, admin_email and admin_password",
            );
        }
    }
    let retention_days = match r.map.get("retention_days") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|d| (1..=36_500).contains(&d)) => {
            n.as_u64().and_then(|d| u32::try_from(d).ok())
        }
        Some(other) => {
            r.err(
                "retention_days",
                format!("{other} is not a number of days from 1 to 36500"),
                "write e.g. \"retention_days\": 365, or remove the key",
            );
            None
        }
    };
    let retention_keep_pinned = r.boolean("retention_keep_pinned", true);

    let download_base_url = r.string("download_base_url");
    if let Some(u) = &download_base_url {
        if !(u.starts_with("https://") || u.starts_with("http://"))
            || u.contains(char::is_whitespace)
        {
            r.err(
                "download_base_url",
                format!("\"{u}\" is not an http(s) URL"),
                "use a URL laid out like https://releases.mattermost.com (VERSION/FILE below it)",
            );
        }
    }
    let tarball = r.string("tarball").map(PathBuf::from);
    if let Some(t) = &tarball {
        if !t.is_absolute() {
            r.err(
                "tarball",
                format!("\"{}\" is not an absolute path", t.display()),
                "give the absolute path of the .tar.gz",
            );
        }
        if download_base_url.is_some() {
            r.err(
                "tarball",
                "is set together with download_base_url",
                "keep one of the two",
            );
        }
    }
    let sha256 = r.string("sha256").map(|s| s.to_ascii_lowercase());
    if let Some(s) = &sha256 {
        if let Err(e) = validate::sha256(s) {
            r.err("sha256", e, "copy the value printed by `sha256sum FILE`");
        }
    }

    let topo = super::topology::parse(&mut r, engine, edition);
    // The proxy machine balances the app machines with nginx (an upstream block).
    let proxy = if topo.machines.is_empty() {
        proxy
    } else {
        if r.map.get("proxy").is_some_and(|v| !v.is_null()) && proxy == Proxy::Apache {
            r.err(
                "proxy",
                "apache cannot balance several app machines here",
                "set \"proxy\": \"nginx\" (the default with machines)",
            );
        }
        Proxy::Nginx
    };

    // Version against engine and table.
    match &version {
        VersionSpec::Exact(v) => {
            if engine.is_mysql_family() && !v.supports_mysql() {
                r.err(
                    "version",
                    format!(
                        "Mattermost {v} cannot run on {}: MySQL support ended with 10.11",
                        engine.name()
                    ),
                    "use db_engine \"postgresql\", or a version up to 10.11 (e.g. \"10.11.23\")",
                );
            }
            match (releases::published_sha256(*v, edition), &sha256) {
                // A download with no known SHA-256 is verified by Mattermost's GPG
                // signature (phases/mattermost/signature.rs); a local file cannot be.
                (None, None) if tarball.is_some() => r.err(
                    "sha256",
                    format!(
                        "is missing: the bundled releases table has no SHA-256 of {v} ({}, {})",
                        edition.name(),
                        releases::host_arch()
                    ),
                    "add \"sha256\" with the published checksum of that tarball, or remove tarball: a download is verified by Mattermost's GPG signature",
                ),
                (Some(published), Some(given)) if published != given => r.err(
                    "sha256",
                    format!("{given} differs from the published checksum {published} of {v}"),
                    "remove the sha256 key; the bundled table already has the published value",
                ),
                _ => {}
            }
        }
        VersionSpec::Esr | VersionSpec::Latest => {
            if sha256.is_some() {
                r.err(
                    "sha256",
                    format!("is set but version is \"{version}\""),
                    "pin an exact version together with sha256",
                );
            }
        }
    }

    if !r.errors.is_empty() {
        return Err(Invalid(r.errors));
    }
    Ok(Answers {
        domain,
        db_engine: engine,
        db_name,
        db_user,
        db_password,
        install_dir,
        data_dir,
        adopt_existing,
        edition,
        version,
        proxy,
        tls,
        letsencrypt_email,
        letsencrypt_agree_tos,
        acme_server,
        acme_ca_bundle,
        tls_cert,
        tls_key,
        admin,
        team_name,
        retention_days,
        retention_keep_pinned,
        download_base_url,
        tarball,
        sha256,
        machines: topo.machines,
        node: topo.node,
        db_host: topo.db_host,
        db_port: topo.db_port,
        db_sslmode: topo.db_sslmode,
        db_ca_file: topo.db_ca_file,
        db_tls_cert: topo.db_tls_cert,
        db_tls_key: topo.db_tls_key,
        s3: topo.s3,
        license_file: topo.license_file,
        cluster_name: topo.cluster_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: &Invalid) -> Vec<&str> {
        err.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn minimal_answers_get_defaults_and_a_generated_password() {
        let a = from_json(r#"{"domain": "Chat.Example.com"}"#, None).unwrap();
        assert_eq!(a.domain, "chat.example.com");
        assert_eq!(a.db_engine, DbEngine::Postgresql);
        assert_eq!(a.install_dir, PathBuf::from("/opt/mattermost"));
        assert_eq!(a.data_dir, PathBuf::from("/opt/mattermost/data"));
        assert_eq!(a.version, VersionSpec::Esr);
        assert_eq!(a.db_password.expose().len(), 32);
        assert_eq!(a.site_url(), "http://chat.example.com");
    }

    #[test]
    fn saved_password_is_reused_never_regenerated() {
        let first = from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let second = from_json(r#"{"domain": "chat.example.com"}"#, Some(&first)).unwrap();
        assert_eq!(first.db_password, second.db_password);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = from_json(
            r#"{"db_engine": "oracle", "data_dir": "data", "version": "11.x", "edtion": "team",
                "db_password": "short", "sha256": "zz"}"#,
            None,
        )
        .unwrap_err();
        let f = fields(&err);
        for want in [
            "domain",
            "db_engine",
            "data_dir",
            "version",
            "edtion",
            "db_password",
            "sha256",
        ] {
            assert!(f.contains(&want), "{want} not in {f:?}");
        }
        let text = err.to_string();
        assert!(text.contains("did you mean \"edition\""), "{text}");
        assert!(text.contains("fix:"), "{text}");
    }

    #[test]
    fn mariadb_cannot_go_past_10_11() {
        let err = from_json(
            r#"{"domain": "chat.example.com", "db_engine": "mariadb", "version": "11.7.9"}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["version"]);
        assert!(err.to_string().contains("MySQL support ended with 10.11"));
    }

    #[test]
    fn unlisted_versions_are_checked_by_signature_or_an_explicit_checksum() {
        // Downloaded: Mattermost's GPG signature verifies it (no sha256 needed).
        let signed = from_json(
            r#"{"domain": "chat.example.com", "version": "11.7.90"}"#,
            None,
        )
        .unwrap();
        assert_eq!(signed.sha256, None);
        // A local tarball has no signature to download: its sha256 is needed.
        let err = from_json(
            r#"{"domain": "chat.example.com", "version": "11.7.90", "tarball": "/root/mm.tar.gz"}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["sha256"]);
        assert!(err.to_string().contains("remove tarball"), "{err}");
        let ok = from_json(
            &format!(
                r#"{{"domain": "chat.example.com", "version": "11.7.90", "sha256": "{}"}}"#,
                "a".repeat(64)
            ),
            None,
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn a_checksum_that_contradicts_the_table_is_refused() {
        let err = from_json(
            &format!(
                r#"{{"domain": "chat.example.com", "version": "11.10.0", "sha256": "{}"}}"#,
                "b".repeat(64)
            ),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("differs from the published checksum")
        );
    }

    #[test]
    fn letsencrypt_needs_an_email_and_the_terms() {
        let err = from_json(
            r#"{"domain": "chat.example.com", "tls": "letsencrypt"}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["letsencrypt_email", "letsencrypt_agree_tos"]);
        let ok = from_json(
            r#"{"domain": "chat.example.com", "tls": "letsencrypt", "proxy": "nginx",
                "letsencrypt_email": "ops@example.com", "letsencrypt_agree_tos": true}"#,
            None,
        )
        .unwrap();
        assert_eq!((ok.proxy, ok.tls), (Proxy::Nginx, Tls::Letsencrypt));
        assert_eq!(ok.site_url(), "https://chat.example.com");
    }

    #[test]
    fn admin_keys_go_together_and_secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "from a file 123\n").unwrap();
        let json = serde_json::json!({
            "domain": "chat.example.com", "db_password_file": pw, "admin_username": "boss",
            "admin_email": "boss@example.com", "admin_password_file": pw, "team_name": "staff",
            "retention_days": 365
        });
        let a = from_json(&json.to_string(), None).unwrap();
        assert_eq!(a.db_password.expose(), "from a file 123");
        assert_eq!(
            a.admin
                .as_ref()
                .unwrap()
                .password
                .as_ref()
                .unwrap()
                .expose(),
            "from a file 123"
        );
        assert_eq!(a.retention_days, Some(365));
        let back = from_json(&a.to_json_with_secrets(), None).unwrap();
        assert_eq!(a, back);
        let err = from_json(
            r#"{"domain": "chat.example.com", "admin_username": "boss", "retention_days": 0}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["admin_username", "retention_days"]);
    }

    #[test]
    fn postgres_passwords_saslprep_would_change_are_refused_under_their_key() {
        let nbsp = "pass\u{a0}word-123";
        let err = from_json(
            &serde_json::json!({"domain": "chat.example.com", "db_password": nbsp}).to_string(),
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["db_password"]);
        let text = err.to_string();
        assert!(text.contains("U+00A0") && text.contains("lib/pq"), "{text}");
        assert!(text.contains("remove db_password"), "{text}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "\u{fb01}rewall-pass\n").unwrap();
        let err = from_json(
            &serde_json::json!({"domain": "chat.example.com", "db_password_file": file})
                .to_string(),
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["db_password_file"]);
        assert!(err.to_string().contains("U+FB01"), "{err}");

        // MariaDB/MySQL store and compare the bytes as sent: the same password works.
        let a = from_json(
            &serde_json::json!({"domain": "chat.example.com", "db_password": nbsp,
                "db_engine": "mariadb", "version": "10.11.23"})
            .to_string(),
            None,
        )
        .unwrap();
        assert_eq!(a.db_password.expose(), nbsp);
    }

    #[test]
    fn not_json_names_the_position() {
        let err = from_json("{\"domain\": ", None).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn saved_file_round_trips_with_its_secret() {
        let a = from_json(
            r#"{"domain": "chat.example.com", "db_password": "p@ss w0rd'\"x"}"#,
            None,
        )
        .unwrap();
        let back = from_json(&a.to_json_with_secrets(), None).unwrap();
        assert_eq!(a, back);
        assert!(!serde_json::to_string(&a).unwrap().contains("p@ss"));
    }
}

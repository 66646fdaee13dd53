//! Answers become a plan: a pure, serialisable description of what the box should
//! look like. `plan` prints it, the phases converge to it, `status` checks it.

mod render;
mod templates;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

pub use render::render_text;

use crate::answers::{Answers, DbEngine, Proxy};
use crate::dsn;
use crate::releases::{self, Version};

/// Mattermost listens here; only the proxy talks to it.
pub const UPSTREAM: &str = "127.0.0.1:8065";
pub const UNIT_PATH: &str = "/etc/systemd/system/mattermost.service";
pub const SERVICE: &str = "mattermost";
pub const SERVICE_USER: &str = "mattermost";
pub const APACHE_SITE: &str = "mattermost";
/// Mattermost's default FileSettings.MaxFileSize.
pub const UPLOAD_LIMIT: u64 = 104_857_600;
/// Modules the hand-run guide enables.
pub const APACHE_MODULES: [&str; 8] = [
    "ssl",
    "rewrite",
    "expires",
    "headers",
    "http2",
    "proxy",
    "proxy_http",
    "proxy_wstunnel",
];

/// Where the tarball comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Url(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleasePlan {
    pub version: Version,
    pub edition: &'static str,
    pub source: Source,
    pub sha256: String,
    /// Whether the checksum comes from the bundled table or from the answers.
    pub sha256_from: &'static str,
}

/// A file the install writes, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub mode: u32,
    pub owner: &'static str,
    pub content: String,
}

/// One key of config.json the install sets; every other key is kept, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigEdit {
    pub section: &'static str,
    pub key: &'static str,
    #[serde(serialize_with = "redacted_value")]
    pub value: Value,
    #[serde(skip)]
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabasePlan {
    pub engine: &'static str,
    pub unit: &'static str,
    pub name: String,
    pub user: String,
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub domain: String,
    pub site_url: String,
    pub release: ReleasePlan,
    pub packages: Vec<&'static str>,
    pub database: DatabasePlan,
    pub install_dir: PathBuf,
    pub data_dir: PathBuf,
    pub directories: Vec<PathBuf>,
    pub config_json: PathBuf,
    pub config_edits: Vec<ConfigEdit>,
    pub files: Vec<PlannedFile>,
    pub apache_modules: Vec<&'static str>,
    pub services: Vec<String>,
}

fn redacted_value<S: serde::Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    // Serialising a plan never reveals the DataSource password.
    match v.as_str() {
        Some(text) if text.contains('@') && text.contains(':') => {
            s.serialize_str("(contains the database password)")
        }
        _ => v.serialize(s),
    }
}

impl Plan {
    pub fn new(a: &Answers) -> Result<Self, String> {
        let version = releases::resolve(&a.version, a.edition, a.db_engine)?;
        let (sha256, sha256_from) =
            match (releases::published_sha256(version, a.edition), &a.sha256) {
                (Some(s), _) => (s.to_owned(), "bundled releases table"),
                (None, Some(s)) => (s.clone(), "answers (sha256)"),
                (None, None) => {
                    return Err(format!(
                        "no SHA-256 is known for {version}; set sha256 in the answers"
                    ));
                }
            };
        let source = match (&a.tarball, &a.download_base_url) {
            (Some(path), _) => Source::File(path.clone()),
            (None, Some(base)) => Source::Url(releases::tarball_url(base, version, a.edition)),
            (None, None) => Source::Url(releases::tarball_url(
                releases::OFFICIAL_BASE_URL,
                version,
                a.edition,
            )),
        };
        let db_unit = db_unit(a.db_engine);
        let mut packages = vec!["ca-certificates"];
        packages.extend(match a.db_engine {
            DbEngine::Postgresql => ["postgresql", "postgresql-client"],
            DbEngine::Mariadb => ["mariadb-server", "mariadb-client"],
            // Oracle MySQL is not in Debian: the operator installs it; we need its client.
            DbEngine::Mysql => ["default-mysql-client", "default-mysql-client"],
        });
        packages.dedup();
        if a.proxy == Proxy::Apache {
            packages.push("apache2");
        }
        let install = &a.install_dir;
        let config_edits = config_edits(a);
        let mut files = vec![
            PlannedFile {
                path: PathBuf::from(UNIT_PATH),
                mode: 0o644,
                owner: "root",
                content: templates::unit(a),
            },
            PlannedFile {
                path: apache_site_path(),
                mode: 0o644,
                owner: "root",
                content: templates::apache_vhost(a),
            },
        ];
        files.extend(crate::retention::units::planned(a));
        Ok(Self {
            domain: a.domain.clone(),
            site_url: a.site_url(),
            release: ReleasePlan {
                version,
                edition: a.edition.name(),
                source,
                sha256,
                sha256_from,
            },
            packages,
            database: DatabasePlan {
                engine: a.db_engine.name(),
                unit: db_unit,
                name: a.db_name.clone(),
                user: a.db_user.clone(),
                changes: database_changes(a),
            },
            install_dir: install.clone(),
            data_dir: a.data_dir.clone(),
            directories: vec![
                a.data_dir.clone(),
                install.join("logs"),
                install.join("config"),
                install.join("plugins"),
                install.join("client/plugins"),
            ],
            config_json: install.join("config/config.json"),
            config_edits,
            files,
            apache_modules: APACHE_MODULES.to_vec(),
            services: [
                format!("{db_unit}: enabled, running"),
                format!("{SERVICE}.service: enabled, running, answering /api/v4/system/ping"),
                "apache2.service: enabled, running, configtest clean".into(),
            ]
            .into_iter()
            .chain(crate::phases::admin::plan_line(a))
            .chain(crate::retention::units::plan_line(a))
            .collect(),
        })
    }

    pub fn file(&self, path: &str) -> Option<&PlannedFile> {
        self.files.iter().find(|f| f.path.as_os_str() == path)
    }
}

pub fn apache_site_path() -> PathBuf {
    PathBuf::from(format!("/etc/apache2/sites-available/{APACHE_SITE}.conf"))
}

pub fn db_unit(engine: DbEngine) -> &'static str {
    match engine {
        DbEngine::Postgresql => "postgresql.service",
        DbEngine::Mariadb => "mariadb.service",
        DbEngine::Mysql => "mysql.service",
    }
}

fn config_edits(a: &Answers) -> Vec<ConfigEdit> {
    let e = |section, key, value: Value| ConfigEdit {
        section,
        key,
        value,
        secret: false,
    };
    let mut data = a.data_dir.to_string_lossy().into_owned();
    data.push('/');
    let install = a.install_dir.to_string_lossy();
    vec![
        e("ServiceSettings", "SiteURL", Value::from(a.site_url())),
        e("ServiceSettings", "ListenAddress", Value::from(UPSTREAM)),
        e(
            "ServiceSettings",
            "TrustedProxyIPHeader",
            serde_json::json!(["X-Forwarded-For", "X-Real-Ip"]),
        ),
        e("SqlSettings", "DriverName", Value::from(dsn::driver(a))),
        ConfigEdit {
            secret: true,
            ..e(
                "SqlSettings",
                "DataSource",
                Value::from(dsn::data_source(a)),
            )
        },
        e("FileSettings", "Directory", Value::from(data)),
        e(
            "PluginSettings",
            "Directory",
            Value::from(format!("{install}/plugins")),
        ),
        e(
            "PluginSettings",
            "ClientDirectory",
            Value::from(format!("{install}/client/plugins")),
        ),
    ]
}

fn database_changes(a: &Answers) -> Vec<String> {
    let (db, user) = (&a.db_name, &a.db_user);
    match a.db_engine {
        DbEngine::Postgresql => vec![
            format!("role {user} with LOGIN and the answers' password"),
            format!("database {db}, owner {user}, encoding UTF8"),
            format!("schema public of {db} owned by {user}"),
        ],
        DbEngine::Mariadb | DbEngine::Mysql => vec![
            "no anonymous users, no test database, no remote root (what mysql_secure_installation does)".into(),
            format!("database {db}, utf8mb4"),
            format!("user '{user}'@'localhost' only, all privileges on {db}.*"),
        ],
    }
}

/// Applies the plan's edits to a parsed config.json, keeping every other key in place.
/// Returns whether anything changed.
pub fn apply_config_edits(config: &mut Value, edits: &[ConfigEdit]) -> bool {
    let mut changed = false;
    let Some(root) = config.as_object_mut() else {
        return false;
    };
    for edit in edits {
        let section = root
            .entry(edit.section)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !section.is_object() {
            *section = Value::Object(serde_json::Map::new());
        }
        if let Some(obj) = section.as_object_mut() {
            if obj.get(edit.key) != Some(&edit.value) {
                obj.insert(edit.key.to_owned(), edit.value.clone());
                changed = true;
            }
        }
    }
    changed
}

/// config.json as Mattermost writes it: four-space indentation, trailing newline.
pub fn config_to_string(config: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(config, &mut ser).is_err() {
        return String::new();
    }
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::from_json;

    fn answers() -> Answers {
        from_json(
            r#"{"domain": "chat.example.com", "db_password": "correct horse battery"}"#,
            None,
        )
        .unwrap()
    }

    #[test]
    fn plan_for_defaults() {
        let plan = Plan::new(&answers()).unwrap();
        assert_eq!(plan.release.version, Version::new(11, 7, 9));
        assert_eq!(
            plan.release.source,
            Source::Url(
                "https://releases.mattermost.com/11.7.9/mattermost-11.7.9-linux-amd64.tar.gz"
                    .into()
            )
        );
        assert_eq!(
            plan.packages,
            [
                "ca-certificates",
                "postgresql",
                "postgresql-client",
                "apache2"
            ]
        );
        assert_eq!(plan.database.unit, "postgresql.service");
    }

    #[test]
    fn plan_json_never_contains_the_password() {
        let plan = Plan::new(&answers()).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("horse"), "{json}");
        assert!(!json.contains("%20battery"), "{json}");
    }

    #[test]
    fn config_edits_keep_other_keys_in_order() {
        let mut cfg: Value = serde_json::from_str(
            r#"{"ServiceSettings": {"SiteURL": "", "ListenAddress": ":8065", "Other": 1},
                "TeamSettings": {"SiteName": "Mattermost"},
                "SqlSettings": {"DriverName": "postgres", "DataSource": "x"}}"#,
        )
        .unwrap();
        let plan = Plan::new(&answers()).unwrap();
        assert!(apply_config_edits(&mut cfg, &plan.config_edits));
        assert!(
            !apply_config_edits(&mut cfg, &plan.config_edits),
            "second apply changes nothing"
        );
        let keys: Vec<&String> = cfg.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "ServiceSettings",
                "TeamSettings",
                "SqlSettings",
                "FileSettings",
                "PluginSettings"
            ]
        );
        let svc: Vec<&String> = cfg["ServiceSettings"].as_object().unwrap().keys().collect();
        assert_eq!(
            svc,
            ["SiteURL", "ListenAddress", "Other", "TrustedProxyIPHeader"]
        );
        assert_eq!(cfg["ServiceSettings"]["SiteURL"], "http://chat.example.com");
        assert_eq!(cfg["FileSettings"]["Directory"], "/opt/mattermost/data/");
        assert!(config_to_string(&cfg).starts_with("{\n    \"ServiceSettings\""));
    }

    #[test]
    fn templates_are_fully_rendered() {
        let plan = Plan::new(&answers()).unwrap();
        for f in &plan.files {
            assert!(
                !f.content.contains("{{"),
                "{}: {}",
                f.path.display(),
                f.content
            );
        }
        let unit = &plan.file(UNIT_PATH).unwrap().content;
        assert!(unit.contains("BindsTo=postgresql.service"));
        assert!(unit.contains("WantedBy=multi-user.target"));
        assert!(unit.contains("ExecStart=/opt/mattermost/bin/mattermost"));
        let vhost = &plan.files[1].content;
        assert!(vhost.contains("ServerName chat.example.com"));
        assert!(vhost.contains("ws://127.0.0.1:8065%{REQUEST_URI}"));
        assert!(vhost.contains("LimitRequestBody 104857600"));
    }
}

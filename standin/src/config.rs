//! `config.json` lookup, parsing, environment overrides, validation and the
//! write-back the real server performs on every start.
//!
//! The real server (`config.NewStoreFromDSN` → `Store.Load`) reads the file,
//! fills in defaults, applies `MM_<SECTION>_<KEY>` environment overrides,
//! validates (`Config.IsValid`) and then *writes the file back* (without the
//! environment overrides). A `config.json` the service user cannot write
//! therefore stops the real server with "failed to persist"; the stand-in
//! does the same.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::build_info;
use crate::error::{Error, Result, fail};
use crate::paths;

/// `LogSettings` the stand-in honours.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // mirrors the real config section
pub struct LogSettings {
    pub enable_console: bool,
    pub console_level: String,
    pub console_json: bool,
    pub enable_file: bool,
    pub file_level: String,
    pub file_json: bool,
    pub file_location: String,
}

/// `ClusterSettings` (model/config.go `ClusterSettings.SetDefaults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    pub enable: bool,
    pub cluster_name: String,
    pub override_hostname: String,
    pub network_interface: String,
    pub bind_address: String,
    pub advertise_address: String,
    pub use_ip_address: bool,
    pub gossip_port: i64,
}

/// Every setting the stand-in reads, after defaults and env overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub site_url: String,
    pub listen_address: String,
    pub allow_cors_from: String,
    /// `ServiceSettings.TrustedProxyIPHeader`: headers the client address is
    /// taken from, in order (see `http::client_ip`).
    pub trusted_proxy_ip_header: Vec<String>,
    pub enable_local_mode: bool,
    pub local_mode_socket_location: String,
    pub sql_driver_name: String,
    pub sql_data_source: String,
    pub file_driver_name: String,
    pub file_directory: String,
    /// `FileSettings.MaxFileSize` (bytes).
    pub max_file_size: i64,
    /// `FileSettings.AmazonS3*` (used when `file_driver_name` is `amazons3`).
    pub s3: crate::filestore::S3Settings,
    /// `ServiceSettings.LicenseFileLocation`.
    pub license_file_location: String,
    pub cluster: ClusterSettings,
    pub plugins_enable: bool,
    pub plugin_directory: String,
    pub plugin_client_directory: String,
    pub log: LogSettings,
}

/// The default `SqlSettings.DataSource` of the real server.
pub const DEFAULT_DATA_SOURCE: &str = "postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes";

/// `(section, key, default)` for every setting the stand-in knows; used both
/// to read the settings and to fill in missing keys on write-back.
fn known_defaults() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("ServiceSettings", "SiteURL", Value::from("")),
        ("ServiceSettings", "ListenAddress", Value::from(":8065")),
        ("ServiceSettings", "AllowCorsFrom", Value::from("")),
        (
            "ServiceSettings",
            "TrustedProxyIPHeader",
            Value::Array(Vec::new()),
        ),
        ("ServiceSettings", "EnableLocalMode", Value::from(false)),
        ("ServiceSettings", "LicenseFileLocation", Value::from("")),
        (
            "ServiceSettings",
            "EnableInsecureOutgoingConnections",
            Value::from(false),
        ),
        (
            "ServiceSettings",
            "LocalModeSocketLocation",
            Value::from("/var/tmp/mattermost_local.socket"),
        ),
        (
            "TeamSettings",
            "ExperimentalViewArchivedChannels",
            Value::from(true),
        ),
        ("SqlSettings", "DriverName", Value::from("postgres")),
        (
            "SqlSettings",
            "DataSource",
            Value::from(DEFAULT_DATA_SOURCE),
        ),
        ("LogSettings", "EnableConsole", Value::from(true)),
        ("LogSettings", "ConsoleLevel", Value::from("DEBUG")),
        ("LogSettings", "ConsoleJson", Value::from(true)),
        ("LogSettings", "EnableFile", Value::from(true)),
        ("LogSettings", "FileLevel", Value::from("INFO")),
        ("LogSettings", "FileJson", Value::from(true)),
        ("LogSettings", "FileLocation", Value::from("")),
        ("FileSettings", "DriverName", Value::from("local")),
        ("FileSettings", "Directory", Value::from("./data/")),
        ("FileSettings", "MaxFileSize", Value::from(104_857_600)),
        ("FileSettings", "AmazonS3AccessKeyId", Value::from("")),
        ("FileSettings", "AmazonS3SecretAccessKey", Value::from("")),
        ("FileSettings", "AmazonS3Bucket", Value::from("")),
        ("FileSettings", "AmazonS3PathPrefix", Value::from("")),
        ("FileSettings", "AmazonS3Region", Value::from("")),
        (
            "FileSettings",
            "AmazonS3Endpoint",
            Value::from("s3.amazonaws.com"),
        ),
        ("FileSettings", "AmazonS3SSL", Value::from(true)),
        ("FileSettings", "AmazonS3SignV2", Value::from(false)),
        ("FileSettings", "AmazonS3SSE", Value::from(false)),
        ("FileSettings", "AmazonS3Trace", Value::from(false)),
        (
            "FileSettings",
            "AmazonS3RequestTimeoutMilliseconds",
            Value::from(30_000),
        ),
        ("ClusterSettings", "Enable", Value::from(false)),
        ("ClusterSettings", "ClusterName", Value::from("")),
        ("ClusterSettings", "OverrideHostname", Value::from("")),
        ("ClusterSettings", "NetworkInterface", Value::from("")),
        ("ClusterSettings", "BindAddress", Value::from("")),
        ("ClusterSettings", "AdvertiseAddress", Value::from("")),
        ("ClusterSettings", "UseIPAddress", Value::from(true)),
        (
            "ClusterSettings",
            "EnableGossipCompression",
            Value::from(true),
        ),
        (
            "ClusterSettings",
            "EnableExperimentalGossipEncryption",
            Value::from(false),
        ),
        ("ClusterSettings", "ReadOnlyConfig", Value::from(true)),
        ("ClusterSettings", "GossipPort", Value::from(8074)),
        (
            "ExperimentalSettings",
            "ClientSideCertEnable",
            Value::from(false),
        ),
        ("PluginSettings", "Enable", Value::from(true)),
        ("PluginSettings", "Directory", Value::from("./plugins")),
        (
            "PluginSettings",
            "ClientDirectory",
            Value::from("./client/plugins"),
        ),
    ]
}

/// `true` if a config "DSN" names a database rather than a file.
pub fn is_database_dsn(dsn: &str) -> bool {
    ["postgres://", "postgresql://", "mysql://"]
        .iter()
        .any(|p| dsn.starts_with(p))
}

/// Picks the config file like the real binary: `--config`, then
/// `MM_CONFIG`, then `config.json` searched in `config/` next to the working
/// directory and next to the executable.
pub fn resolve_path(cli: Option<&str>) -> Result<PathBuf> {
    let env = std::env::var("MM_CONFIG").unwrap_or_default();
    let dsn = match cli {
        Some(c) if !c.is_empty() => c.to_string(),
        _ if !env.is_empty() => env,
        _ => "config.json".to_string(),
    };
    if is_database_dsn(&dsn) {
        return fail(
            "configuration stored in the database (a database DSN in --config or MM_CONFIG) \
             is not supported by the Mattermost stand-in",
        );
    }
    resolve_file_path(&dsn)
}

fn resolve_file_path(p: &str) -> Result<PathBuf> {
    let path = Path::new(p);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    if let Some(found) = paths::find_file(&format!("config/{p}")) {
        return Ok(found);
    }
    if let Some(found) = paths::find_file(p) {
        return Ok(found);
    }
    if let Some(dir) = paths::find_dir("config") {
        return Ok(dir.join(p));
    }
    let looked: Vec<String> = paths::candidates(&format!("config/{p}"))
        .iter()
        .map(|c| paths::display_abs(c))
        .collect();
    fail(format!(
        "failed to find config file {p} (looked for {})",
        looked.join(", ")
    ))
}

/// Reads and parses the file. An empty file means "all defaults", as in
/// the real server.
pub fn read_json(path: &Path) -> Result<Map<String, Value>> {
    let shown = paths::display_abs(path);
    let mut f = OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|e| Error::new(format!("failed to open {shown} for reading: {e}")))?;
    let mut text = String::new();
    f.read_to_string(&mut text)
        .map_err(|e| Error::new(format!("failed to read {shown}: {e}")))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        let full = e.to_string();
        let what = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(head, _)| head);
        Error::new(format!(
            "{shown}: parsing error at line {}, character {}: {what}",
            e.line(),
            e.column()
        ))
    })?;
    match value {
        Value::Object(m) => Ok(m),
        other => fail(format!(
            "{shown}: json: cannot unmarshal {} into Go value of type model.Config",
            json_kind(&other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Looks settings up in the parsed file with `MM_SECTION_KEY` overrides.
struct Reader<'a> {
    root: &'a Map<String, Value>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Reader<'_> {
    fn raw(&self, section: &str, key: &str) -> Result<Option<&Value>> {
        match self.root.get(section) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(m.get(key).filter(|v| !v.is_null())),
            Some(other) => fail(format!(
                "json: cannot unmarshal {} into Go struct field Config.{section} of type model.{section}",
                json_kind(other)
            )),
        }
    }

    fn env_name(section: &str, key: &str) -> String {
        format!(
            "MM_{}_{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        )
    }

    fn string(&self, section: &str, key: &str, default: &str) -> Result<String> {
        let from_file = match self.raw(section, key)? {
            None => default.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return fail(format!(
                    "json: cannot unmarshal {} into Go struct field {section}.{key} of type string",
                    json_kind(other)
                ));
            }
        };
        Ok((self.env)(&Self::env_name(section, key)).unwrap_or(from_file))
    }

    fn boolean(&self, section: &str, key: &str, default: bool) -> Result<bool> {
        let from_file = match self.raw(section, key)? {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return fail(format!(
                    "json: cannot unmarshal {} into Go struct field {section}.{key} of type bool",
                    json_kind(other)
                ));
            }
        };
        Ok((self.env)(&Self::env_name(section, key))
            .and_then(|v| crate::util::parse_go_bool(&v))
            .unwrap_or(from_file))
    }
}

impl Reader<'_> {
    fn int(&self, section: &str, key: &str, default: i64) -> Result<i64> {
        let from_file = match self.raw(section, key)? {
            None => default,
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                Error::new(format!(
                    "json: cannot unmarshal number {n} into Go struct field {section}.{key} of type int64"
                ))
            })?,
            Some(other) => {
                return fail(format!(
                    "json: cannot unmarshal {} into Go struct field {section}.{key} of type int64",
                    json_kind(other)
                ));
            }
        };
        Ok((self.env)(&Self::env_name(section, key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(from_file))
    }
}

/// A `[]string` setting: a JSON array of strings; the environment override is
/// space-separated, as the real server's env loader splits slices.
fn string_list(r: &Reader, section: &str, key: &str) -> Result<Vec<String>> {
    if let Some(v) = (r.env)(&Reader::env_name(section, key)) {
        return Ok(v.split_whitespace().map(str::to_string).collect());
    }
    match r.raw(section, key)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => fail(format!(
                    "json: cannot unmarshal {} into Go struct field {section}.{key} of type string",
                    json_kind(other)
                )),
            })
            .collect(),
        Some(other) => fail(format!(
            "json: cannot unmarshal {} into Go struct field {section}.{key} of type []string",
            json_kind(other)
        )),
    }
}

/// Extracts the settings from a parsed config, applying the environment
/// overrides `env` provides.
pub fn settings_from(
    root: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    let r = Reader { root, env };
    let s = |sec: &str, key: &str| -> Result<String> {
        let def = known_defaults()
            .into_iter()
            .find(|(a, b, _)| *a == sec && *b == key)
            .and_then(|(_, _, v)| v.as_str().map(str::to_string))
            .unwrap_or_default();
        r.string(sec, key, &def)
    };
    Ok(Settings {
        site_url: s("ServiceSettings", "SiteURL")?,
        listen_address: s("ServiceSettings", "ListenAddress")?,
        allow_cors_from: s("ServiceSettings", "AllowCorsFrom")?,
        trusted_proxy_ip_header: string_list(&r, "ServiceSettings", "TrustedProxyIPHeader")?,
        enable_local_mode: r.boolean("ServiceSettings", "EnableLocalMode", false)?,
        local_mode_socket_location: s("ServiceSettings", "LocalModeSocketLocation")?,
        sql_driver_name: s("SqlSettings", "DriverName")?,
        sql_data_source: s("SqlSettings", "DataSource")?,
        file_driver_name: s("FileSettings", "DriverName")?,
        file_directory: s("FileSettings", "Directory")?,
        max_file_size: r.int("FileSettings", "MaxFileSize", 104_857_600)?,
        s3: crate::filestore::S3Settings {
            access_key_id: s("FileSettings", "AmazonS3AccessKeyId")?,
            secret_access_key: s("FileSettings", "AmazonS3SecretAccessKey")?,
            bucket: s("FileSettings", "AmazonS3Bucket")?,
            path_prefix: s("FileSettings", "AmazonS3PathPrefix")?,
            region: s("FileSettings", "AmazonS3Region")?,
            endpoint: s("FileSettings", "AmazonS3Endpoint")?,
            ssl: r.boolean("FileSettings", "AmazonS3SSL", true)?,
            sign_v2: r.boolean("FileSettings", "AmazonS3SignV2", false)?,
            sse: r.boolean("FileSettings", "AmazonS3SSE", false)?,
            request_timeout_ms: r.int(
                "FileSettings",
                "AmazonS3RequestTimeoutMilliseconds",
                30_000,
            )?,
            skip_verify: r.boolean(
                "ServiceSettings",
                "EnableInsecureOutgoingConnections",
                false,
            )?,
        },
        license_file_location: s("ServiceSettings", "LicenseFileLocation")?,
        cluster: ClusterSettings {
            enable: r.boolean("ClusterSettings", "Enable", false)?,
            cluster_name: s("ClusterSettings", "ClusterName")?,
            override_hostname: s("ClusterSettings", "OverrideHostname")?,
            network_interface: s("ClusterSettings", "NetworkInterface")?,
            bind_address: s("ClusterSettings", "BindAddress")?,
            advertise_address: s("ClusterSettings", "AdvertiseAddress")?,
            use_ip_address: r.boolean("ClusterSettings", "UseIPAddress", true)?,
            gossip_port: r.int("ClusterSettings", "GossipPort", 8074)?,
        },
        plugins_enable: r.boolean("PluginSettings", "Enable", true)?,
        plugin_directory: s("PluginSettings", "Directory")?,
        plugin_client_directory: s("PluginSettings", "ClientDirectory")?,
        log: LogSettings {
            enable_console: r.boolean("LogSettings", "EnableConsole", true)?,
            console_level: s("LogSettings", "ConsoleLevel")?,
            console_json: r.boolean("LogSettings", "ConsoleJson", true)?,
            enable_file: r.boolean("LogSettings", "EnableFile", true)?,
            file_level: s("LogSettings", "FileLevel")?,
            file_json: r.boolean("LogSettings", "FileJson", true)?,
            file_location: s("LogSettings", "FileLocation")?,
        },
    })
}

/// Checks done by the real server's `Config.IsValid` (for the settings the
/// stand-in knows) and by version-specific start-up guards.
pub fn validate(
    root: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    s: &mut Settings,
) -> Result<()> {
    let invalid = |msg: String| Error::new(format!("invalid config: Config.IsValid: {msg}"));

    // fixConfig: the real server strips trailing slashes from SiteURL.
    s.site_url = s.site_url.trim_end_matches('/').to_string();
    if !s.site_url.is_empty() {
        if let Err(e) = parse_request_uri(&s.site_url) {
            return Err(invalid(format!(
                "Site URL must be a valid URL and start with http:// or https://., parse {:?}: {e}",
                s.site_url
            )));
        }
    }
    if s.listen_address.is_empty() {
        return Err(invalid(
            "Invalid listen address for service settings Must be set.".into(),
        ));
    }

    let (major, _, _) = build_info::version_triple();
    match s.sql_driver_name.as_str() {
        "mysql" if major >= 11 => {
            return fail("invalid configuration: MySQL is no longer supported");
        }
        "postgres" | "mysql" => {}
        other => {
            return Err(invalid(format!(
                "Invalid driver name for SQL settings. Must be 'mysql' or 'postgres' (got {other:?})"
            )));
        }
    }
    if s.sql_data_source.is_empty() {
        return Err(invalid("Data source not set for SQL settings.".into()));
    }
    // FileSettings.isValid (server/public/model/config.go).
    if s.max_file_size <= 0 {
        return Err(invalid(
            "Invalid max file size for file settings.  Must be a whole number greater than zero."
                .into(),
        ));
    }
    if !matches!(s.file_driver_name.as_str(), "local" | "amazons3") {
        return Err(invalid(format!(
            "Invalid driver name for file settings.  Must be 'local' or 'amazons3' (got {:?})",
            s.file_driver_name
        )));
    }
    if s.file_directory.is_empty() {
        return Err(invalid(
            "Local directory for file settings must be set.".into(),
        ));
    }
    if s.s3.request_timeout_ms <= 0 {
        return Err(invalid(
            "Invalid timeout value for Amazon S3 requests (AmazonS3RequestTimeoutMilliseconds). Must be a positive number."
                .into(),
        ));
    }
    if major >= 11 {
        // v11 refuses to start with these (mattermost-v11 changelog).
        let r = Reader { root, env };
        if !r.boolean("TeamSettings", "ExperimentalViewArchivedChannels", true)? {
            return fail(
                "invalid configuration: TeamSettings.ExperimentalViewArchivedChannels=false is no longer supported",
            );
        }
        if r.boolean("ExperimentalSettings", "ClientSideCertEnable", false)? {
            return fail(
                "invalid configuration: ExperimentalSettings.ClientSideCertEnable is no longer supported",
            );
        }
    }
    Ok(())
}

/// Go's `url.ParseRequestURI`, reduced to what decides validity.
pub fn parse_request_uri(raw: &str) -> Result<(), String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let raw = raw.split('#').next().unwrap_or_default();
    if raw.starts_with('/') {
        return Ok(());
    }
    let Some((scheme, rest)) = raw.split_once(':') else {
        return Err("invalid URI for request".into());
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err("missing protocol scheme".into());
    }
    let rest = rest.split('?').next().unwrap_or_default();
    if !rest.starts_with('/') {
        return Err("invalid URI for request".into());
    }
    if let Some(after) = rest.strip_prefix("//") {
        let authority = after.split('/').next().unwrap_or_default();
        let host = match authority.rfind('@') {
            Some(i) => {
                if !crate::dsn::valid_userinfo(&authority[..i]) {
                    return Err("net/url: invalid userinfo".into());
                }
                &authority[i + 1..]
            }
            None => authority,
        };
        crate::dsn::check_host(host)?;
    }
    Ok(())
}

/// Adds the known keys that are missing, like the real `SetDefaults`.
fn fill_defaults(root: &mut Map<String, Value>) {
    for (section, key, default) in known_defaults() {
        let entry = root
            .entry(section.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.entry(key.to_string()).or_insert(default);
        }
    }
}

/// Writes the configuration back (without environment overrides), as the
/// real server does on every start; needs write permission on the file.
pub fn persist(path: &Path, mut root: Map<String, Value>) -> Result<()> {
    fill_defaults(&mut root);
    let pretty = serde_json::to_string_pretty(&Value::Object(root))
        .map_err(|e| Error::new(format!("failed to persist: failed to serialize: {e}")))?;
    // Re-indent with four spaces like Go's json.MarshalIndent in the real
    // server. JSON strings cannot hold raw newlines, so every line's leading
    // spaces are indentation.
    let mut buf = String::with_capacity(pretty.len() * 2);
    for (i, line) in pretty.lines().enumerate() {
        if i > 0 {
            buf.push('\n');
        }
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        buf.push_str(&" ".repeat(indent * 2));
        buf.push_str(body);
    }
    let shown = paths::display_abs(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Error::new(format!(
                "failed to persist: failed to write file: open {shown}: {e}"
            ))
        })?;
    f.write_all(buf.as_bytes()).map_err(|e| {
        Error::new(format!(
            "failed to persist: failed to write file {shown}: {e}"
        ))
    })
}

/// The whole load sequence of the real config store: read, env overrides,
/// validate, write back. Returns the settings with overrides applied.
pub fn load(path: &Path) -> Result<Settings> {
    let root = read_json(path)?;
    let env = |name: &str| std::env::var(name).ok();
    let mut settings = settings_from(&root, &env)?;
    validate(&root, &env, &mut settings)?;
    persist(path, root)?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text).expect("valid json") {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn defaults_and_env_overrides() {
        let root = parse(
            r#"{"ServiceSettings":{"SiteURL":"https://a.example.com/"},"SqlSettings":{"DriverName":"postgres","DataSource":"x"}}"#,
        );
        let env = |name: &str| match name {
            "MM_SQLSETTINGS_DATASOURCE" => Some("from-env".to_string()),
            "MM_LOGSETTINGS_ENABLEFILE" => Some("false".to_string()),
            _ => None,
        };
        let mut s = settings_from(&root, &env).expect("settings");
        assert_eq!(s.listen_address, ":8065");
        assert_eq!(s.sql_data_source, "from-env");
        assert!(!s.log.enable_file);
        assert_eq!(s.file_directory, "./data/");
        assert_eq!(s.plugin_client_directory, "./client/plugins");
        validate(&root, &env, &mut s).expect("valid");
        assert_eq!(s.site_url, "https://a.example.com");
    }

    #[test]
    fn type_errors() {
        let root = parse(r#"{"ServiceSettings":{"ListenAddress":8065}}"#);
        let env = |_: &str| None;
        let err = settings_from(&root, &env).expect_err("type error");
        assert!(
            err.message().contains("ServiceSettings.ListenAddress"),
            "{err}"
        );
        let root = parse(r#"{"ServiceSettings":[]}"#);
        assert!(settings_from(&root, &env).is_err());
    }

    #[test]
    fn site_url_validation() {
        assert!(parse_request_uri("https://chat.example.com").is_ok());
        assert!(parse_request_uri("http://127.0.0.1:8065").is_ok());
        assert!(parse_request_uri("/subpath").is_ok());
        assert!(parse_request_uri("chat.example.com").is_err());
        assert!(parse_request_uri("https://chat example.com").is_err());
        assert!(parse_request_uri("http:opaque").is_err());
        assert!(parse_request_uri("https://chat.example.com:80x").is_err());
    }

    #[test]
    fn bad_driver_rejected() {
        let root = parse(r#"{"SqlSettings":{"DriverName":"sqlite"}}"#);
        let env = |_: &str| None;
        let mut s = settings_from(&root, &env).expect("settings");
        assert!(validate(&root, &env, &mut s).is_err());
    }
}

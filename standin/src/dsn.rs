//! `SqlSettings.DataSource` parsing with the real drivers' semantics.
//!
//! * PostgreSQL: the real server hands the DataSource to `lib/pq`, which
//!   parses it with Go's `net/url` (`url.Parse`) and `pq.ParseURL`. User and
//!   password are percent-decoded; characters Go does not accept in the
//!   userinfo (space, `"`, `\`, `` ` ``, `/`, `#`, `?` ...) must be
//!   percent-encoded or parsing fails or goes wrong exactly as in Go.
//! * MySQL: `go-sql-driver/mysql`'s `ParseDSN`: the last `/` starts the
//!   database name, the last `@` before it ends the credentials and the first
//!   `:` in them separates user from password; nothing is percent-decoded in
//!   the credentials.

use crate::error::{Result, fail};
use crate::util::{parse_go_bool, parse_query, percent_decode, query_unescape};

/// A PostgreSQL connection target, after `lib/pq` defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// `None` means "the OS user", as with `lib/pq` and `psql`.
    pub user: Option<String>,
    /// Raw bytes: a percent-decoded password may be any byte string.
    pub password: Option<Vec<u8>>,
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    pub port: String,
    pub dbname: Option<String>,
    /// `lib/pq` sslmode; empty means its default, `require`.
    pub sslmode: String,
    pub connect_timeout: Option<String>,
    /// `(libpq environment variable, value)` for sslcert/sslkey/...
    pub ssl_env: Vec<(&'static str, String)>,
    /// Parameters `lib/pq` sends to the server as run-time settings.
    pub runtime_params: Vec<(String, String)>,
    /// Raw `options` parameter (server command-line options).
    pub options: Option<String>,
}

impl PgTarget {
    /// The last value of an `ssl*` DataSource parameter, by the libpq
    /// environment variable it maps to (`PGSSLROOTCERT`, ...).
    pub fn ssl_param(&self, env: &str) -> Option<String> {
        self.ssl_env
            .iter()
            .rev()
            .find(|(k, _)| *k == env)
            .map(|(_, v)| v.clone())
    }
}

/// TLS mode of the go-sql-driver `tls` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MyTls {
    Disabled,
    Verify,
    SkipVerify,
    Preferred,
}

/// A MySQL/MariaDB connection target, after go-sql-driver defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyTarget {
    pub user: String,
    /// Not percent-decoded, exactly as written in the DataSource.
    pub password: String,
    /// `tcp`, `tcp4`, `tcp6` or `unix`.
    pub net: String,
    /// `host:port` for TCP, a socket path for `unix`.
    pub addr: String,
    pub dbname: String,
    pub tls: MyTls,
    /// First entry of the `charset` parameter, if any.
    pub charset: Option<String>,
    /// Dial timeout from the `timeout` parameter, in whole seconds.
    pub timeout_secs: Option<u64>,
    /// Unknown parameters: the driver runs `SET <key>=<value>` for them.
    pub system_vars: Vec<(String, String)>,
}

impl MyTarget {
    /// Splits a TCP `addr` into host and port.
    pub fn host_port(&self) -> (String, String) {
        split_host_port(&self.addr).unwrap_or_else(|_| (self.addr.clone(), "3306".into()))
    }
}

/// Go's `validUserinfo`.
pub fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

fn valid_optional_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        None => p.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Go's `parseHost` checks (port syntax and allowed characters).
pub fn check_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {colon_port:?} after host"));
        }
    }
    for c in host.chars() {
        let ok =
            !c.is_ascii() || c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]<>\"%".contains(c);
        if !ok {
            return Err(format!("invalid character {c:?} in host name"));
        }
    }
    Ok(())
}

/// Go's `net.SplitHostPort`.
pub fn split_host_port(hostport: &str) -> Result<(String, String), String> {
    let missing = || format!("address {hostport}: missing port in address");
    if let Some(rest) = hostport.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(format!("address {hostport}: missing ']' in address"));
        };
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let Some(port) = after.strip_prefix(':') else {
            return Err(missing());
        };
        if port.contains(':') {
            return Err(format!("address {hostport}: too many colons in address"));
        }
        return Ok((host.to_string(), port.to_string()));
    }
    let Some(i) = hostport.rfind(':') else {
        return Err(missing());
    };
    let host = &hostport[..i];
    if host.contains(':') {
        return Err(format!("address {hostport}: too many colons in address"));
    }
    Ok((host.to_string(), hostport[i + 1..].to_string()))
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).or_else(|_| fail(format!("{what} is not valid UTF-8")))
}

/// The parts of a URL the `lib/pq` conversion uses, after Go's `url.Parse`.
struct GoUrl {
    user: Option<String>,
    password: Option<Vec<u8>>,
    host: String,
    path: String,
    raw_query: String,
}

/// Go's `url.Parse` for `scheme://userinfo@host/path?query` URLs.
fn parse_go_url(dsn: &str) -> Result<GoUrl> {
    if dsn.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return fail("parse DataSource: net/url: invalid control character in URL");
    }
    let url_err = |e: String| crate::error::Error::new(format!("parse DataSource: {e}"));
    let without_fragment = dsn.split('#').next().unwrap_or_default();
    let (_scheme, rest) = without_fragment.split_once("://").unwrap_or_default();
    let (rest, raw_query) = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        (&rest[..rest.len() - 1], "")
    } else {
        rest.split_once('?').unwrap_or((rest, ""))
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let mut user = None;
    let mut password = None;
    if let Some(ui) = userinfo {
        if !valid_userinfo(ui) {
            return Err(url_err("net/url: invalid userinfo".into()));
        }
        let (u, p) = match ui.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (ui, None),
        };
        user = Some(utf8(percent_decode(u).map_err(url_err)?, "user name")?);
        if let Some(p) = p {
            password = Some(percent_decode(p).map_err(url_err)?);
        }
    }
    check_host(host).map_err(url_err)?;
    Ok(GoUrl {
        user,
        password,
        host: utf8(percent_decode(host).map_err(url_err)?, "host")?,
        path: utf8(percent_decode(path).map_err(url_err)?, "database name")?,
        raw_query: raw_query.to_string(),
    })
}

/// `pq.ParseURL`: non-empty `key='value'` pairs, sorted; later pairs win
/// when the conninfo is read (so a query parameter can override the host).
fn pq_pairs(url: GoUrl) -> Vec<(String, String)> {
    let mut kvs: Vec<(String, String)> = Vec::new();
    if let Some(u) = url.user {
        accrue(&mut kvs, "user", u);
    }
    if let Some(p) = url.password.filter(|p| !p.is_empty()) {
        // Passwords are bytes; they travel through the list as a marker.
        accrue(&mut kvs, "password", hex_marker(&p));
    }
    match split_host_port(&url.host) {
        Ok((h, p)) => {
            accrue(&mut kvs, "host", h);
            accrue(&mut kvs, "port", p);
        }
        Err(_) => accrue(&mut kvs, "host", url.host.clone()),
    }
    if !url.path.is_empty() {
        accrue(&mut kvs, "dbname", url.path[1..].to_string());
    }
    let mut seen = Vec::new();
    for (k, v) in parse_query(&url.raw_query) {
        // url.Values.Get returns the first value of each key.
        if !seen.contains(&k) {
            seen.push(k.clone());
            accrue(&mut kvs, &k, v);
        }
    }
    kvs.sort_by_cached_key(|(k, v)| format!("{k}='{}'", pq_escape(v)));
    kvs
}

/// Parses a PostgreSQL DataSource like `lib/pq` (via Go's `url.Parse`).
pub fn parse_postgres(dsn: &str) -> Result<PgTarget> {
    if !(dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
        return fail(
            "the Mattermost stand-in only understands URL DataSources for postgres \
             (postgres://user:password@host:port/dbname?params)",
        );
    }
    let mut t = PgTarget {
        user: None,
        password: None,
        host: "localhost".into(),
        port: "5432".into(),
        dbname: None,
        sslmode: String::new(),
        connect_timeout: None,
        ssl_env: Vec::new(),
        runtime_params: Vec::new(),
        options: None,
    };
    for (k, v) in pq_pairs(parse_go_url(dsn)?) {
        match k.as_str() {
            "user" => t.user = Some(v),
            "password" => t.password = Some(from_hex_marker(&v)),
            "host" => t.host = v,
            "port" => t.port = v,
            "dbname" => t.dbname = Some(v),
            "sslmode" => t.sslmode = v,
            "connect_timeout" => t.connect_timeout = Some(v),
            "sslcert" => t.ssl_env.push(("PGSSLCERT", v)),
            "sslkey" => t.ssl_env.push(("PGSSLKEY", v)),
            "sslrootcert" => t.ssl_env.push(("PGSSLROOTCERT", v)),
            "sslsni" => t.ssl_env.push(("PGSSLSNI", v)),
            "options" => t.options = Some(v),
            // Handled inside lib/pq, never sent to the server.
            "sslinline"
            | "fallback_application_name"
            | "disable_prepared_binary_result"
            | "binary_parameters"
            | "krbsrvname"
            | "krbspn" => {}
            _ => {
                t.runtime_params.retain(|(rk, _)| *rk != k);
                t.runtime_params.push((k, v));
            }
        }
    }
    if !matches!(
        t.sslmode.as_str(),
        "" | "disable" | "require" | "verify-ca" | "verify-full"
    ) {
        return fail(format!(
            "pq: unsupported sslmode {:?}; only \"require\" (default), \"verify-full\", \"verify-ca\", and \"disable\" supported",
            t.sslmode
        ));
    }
    if t.port.is_empty() || !t.port.bytes().all(|b| b.is_ascii_digit()) {
        return fail(format!("pq: invalid port {:?}", t.port));
    }
    Ok(t)
}

// Passwords travel through the sorted key/value list as a hex marker so that
// non-UTF-8 bytes survive; the marker never leaves this module.
fn hex_marker(p: &[u8]) -> String {
    format!("\u{0}hex:{}", crate::util::hex(p))
}

fn from_hex_marker(s: &str) -> Vec<u8> {
    let Some(hex) = s.strip_prefix("\u{0}hex:") else {
        return s.as_bytes().to_vec();
    };
    hex.as_bytes()
        .chunks(2)
        .filter_map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

fn accrue(kvs: &mut Vec<(String, String)>, k: &str, v: String) {
    if !v.is_empty() {
        kvs.push((k.to_string(), v));
    }
}

fn pq_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Go's `time.ParseDuration`, returning seconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return None;
        }
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num * unit;
    }
    Some(if neg { -total } else { total })
}

/// Parses a MySQL DataSource exactly like go-sql-driver's `ParseDSN`.
pub fn parse_mysql(dsn: &str) -> Result<MyTarget> {
    let mut t = MyTarget {
        user: String::new(),
        password: String::new(),
        net: String::new(),
        addr: String::new(),
        dbname: String::new(),
        tls: MyTls::Disabled,
        charset: None,
        timeout_secs: None,
        system_vars: Vec::new(),
    };
    let Some(slash) = dsn.rfind('/') else {
        if dsn.is_empty() {
            return normalize_mysql(t);
        }
        return fail("invalid DSN: missing the slash separating the database name");
    };
    let left = &dsn[..slash];
    if !left.is_empty() {
        // [username[:password]@][protocol[(address)]]
        let proto_start = match left.rfind('@') {
            Some(at) => {
                let creds = &left[..at];
                match creds.find(':') {
                    Some(colon) => {
                        t.user = creds[..colon].to_string();
                        t.password = creds[colon + 1..].to_string();
                    }
                    None => t.user = creds.to_string(),
                }
                at + 1
            }
            None => 0,
        };
        let proto = &left[proto_start..];
        match proto.find('(') {
            Some(open) => {
                if !proto.ends_with(')') {
                    if proto[open + 1..].contains(')') {
                        return fail("invalid DSN: did you forget to escape a param value?");
                    }
                    return fail(
                        "invalid DSN: network address not terminated (missing closing brace)",
                    );
                }
                t.net = proto[..open].to_string();
                t.addr = proto[open + 1..proto.len() - 1].to_string();
            }
            None => t.net = proto.to_string(),
        }
    }
    let right = &dsn[slash + 1..];
    let (dbname, params) = match right.find('?') {
        Some(q) => (&right[..q], Some(&right[q + 1..])),
        None => (right, None),
    };
    if let Some(params) = params {
        parse_mysql_params(&mut t, params)?;
    }
    t.dbname = utf8(
        percent_decode(dbname).or_else(|e| fail(format!("invalid dbname {dbname:?}: {e}")))?,
        "database name",
    )?;
    normalize_mysql(t)
}

fn parse_mysql_params(t: &mut MyTarget, params: &str) -> Result<()> {
    for pair in params.split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let bool_param = |v: &str| -> Result<bool> {
            parse_go_bool_strict(v).map_or_else(|| fail(format!("invalid bool value: {v}")), Ok)
        };
        let duration = |v: &str| -> Result<f64> {
            parse_go_duration(v).map_or_else(|| fail(format!("time: invalid duration {v:?}")), Ok)
        };
        match key {
            "allowAllFiles"
            | "allowCleartextPasswords"
            | "allowFallbackToPlaintext"
            | "allowNativePasswords"
            | "allowOldPasswords"
            | "checkConnLiveness"
            | "clientFoundRows"
            | "columnsWithAlias"
            | "interpolateParams"
            | "multiStatements"
            | "parseTime"
            | "rejectReadOnly" => {
                bool_param(value)?;
            }
            "readTimeout" | "writeTimeout" | "timeTruncate" => {
                duration(value)?;
            }
            "timeout" => {
                let secs = duration(value)?;
                if secs > 0.0 {
                    // Whole seconds, rounded up; at least one.
                    let whole = format!("{:.0}", secs.ceil());
                    t.timeout_secs = Some(whole.parse().unwrap_or(1).max(1));
                }
            }
            "charset" => {
                t.charset = value
                    .split(',')
                    .next()
                    .filter(|c| !c.is_empty())
                    .map(str::to_string);
            }
            "maxAllowedPacket" => {
                if value.parse::<i64>().is_err() {
                    return fail(format!("invalid maxAllowedPacket {value:?}"));
                }
            }
            "collation" | "loc" | "serverPubKey" | "connectionAttributes" => {}
            "tls" => {
                let name = query_unescape(value)
                    .or_else(|e| fail(format!("invalid value for TLS config name: {e}")))?;
                t.tls = match parse_go_bool_strict(&name) {
                    Some(true) => MyTls::Verify,
                    Some(false) => MyTls::Disabled,
                    None => match name.to_ascii_lowercase().as_str() {
                        "skip-verify" => MyTls::SkipVerify,
                        "preferred" => MyTls::Preferred,
                        _ => {
                            return fail(format!("invalid value / unknown config name: {name}"));
                        }
                    },
                };
            }
            _ => {
                let v = query_unescape(value)
                    .or_else(|e| fail(format!("invalid value for {key}: {e}")))?;
                t.system_vars.push((key.to_string(), v));
            }
        }
    }
    Ok(())
}

/// go-sql-driver's `readBool` (a subset of Go's `ParseBool`).
fn parse_go_bool_strict(v: &str) -> Option<bool> {
    match v {
        "t" | "T" | "f" | "F" => None,
        other => parse_go_bool(other),
    }
}

fn normalize_mysql(mut t: MyTarget) -> Result<MyTarget> {
    if t.net.is_empty() {
        t.net = "tcp".into();
    }
    match t.net.as_str() {
        "tcp" | "tcp4" | "tcp6" => {
            if t.addr.is_empty() {
                t.addr = "127.0.0.1:3306".into();
            } else if split_host_port(&t.addr).is_err() {
                // ensureHavePort
                let host = t.addr.trim_start_matches('[').trim_end_matches(']');
                t.addr = if host.contains(':') {
                    format!("[{host}]:3306")
                } else {
                    format!("{host}:3306")
                };
            }
        }
        "unix" => {
            if t.addr.is_empty() {
                t.addr = "/tmp/mysql.sock".into();
            }
        }
        other => return fail(format!("dial {other}: unknown network {other}")),
    }
    Ok(t)
}

/// The DataSource with its password replaced by `****`, for logs.
pub fn redact(driver: &str, dsn: &str) -> String {
    if driver == "mysql" {
        return redact_mysql(dsn);
    }
    let mut out = dsn.to_string();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        // Over-redacting is harmless; use the last '@' anywhere so a password
        // with unescaped '/', '?' or '#' is still hidden.
        if let Some(at) = out.rfind('@').filter(|&at| at > start) {
            if let Some(colon) = out[start..at].find(':').map(|c| c + start) {
                out.replace_range(colon + 1..at, "****");
            }
        }
    }
    redact_query_password(&out)
}

fn redact_query_password(dsn: &str) -> String {
    let Some(q) = dsn.find('?') else {
        return dsn.to_string();
    };
    let (head, query) = dsn.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
            _ => p.to_string(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

fn redact_mysql(dsn: &str) -> String {
    let left_end = dsn.rfind('/').unwrap_or(dsn.len());
    let left = &dsn[..left_end];
    let Some(at) = left.rfind('@') else {
        return dsn.to_string();
    };
    let Some(colon) = left[..at].find(':') else {
        return dsn.to_string();
    };
    format!("{}****{}", &dsn[..=colon], &dsn[at..])
}

/// The password as it appears in the DataSource (raw and decoded), for the
/// logger's scrubber.
pub fn password_spellings(driver: &str, dsn: &str) -> Vec<String> {
    let mut out = Vec::new();
    if driver == "mysql" {
        if let Ok(t) = parse_mysql(dsn) {
            out.push(t.password);
        }
    } else if let Some(start) = dsn.find("://").map(|i| i + 3) {
        if let Some(at) = dsn.rfind('@').filter(|&at| at > start) {
            if let Some((_, raw)) = dsn[start..at].split_once(':') {
                out.push(raw.to_string());
                if let Ok(dec) = percent_decode(raw) {
                    out.push(String::from_utf8_lossy(&dec).into_owned());
                }
            }
        }
        for (k, v) in parse_query(dsn.split_once('?').map_or("", |(_, q)| q)) {
            if k == "password" {
                out.push(v);
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // ' " \ $ ` @ / : % # and a space, plus a few more.
    pub const NASTY: &str = "p'q\"r\\s$t`u@v/w:x%y#z a+b&c?d";

    fn encode_all(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn postgres_percent_encoded_password() {
        let dsn = format!(
            "postgres://mm%40user:{}@127.0.0.1:55432/matter%20most?sslmode=disable&connect_timeout=10&binary_parameters=yes",
            encode_all(NASTY)
        );
        let t = parse_postgres(&dsn).expect("parse");
        assert_eq!(t.user.as_deref(), Some("mm@user"));
        assert_eq!(t.password.as_deref(), Some(NASTY.as_bytes()));
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, "55432");
        assert_eq!(t.dbname.as_deref(), Some("matter most"));
        assert_eq!(t.sslmode, "disable");
        assert_eq!(t.connect_timeout.as_deref(), Some("10"));
        assert!(t.runtime_params.is_empty());
        let red = redact("postgres", &dsn);
        assert!(!red.contains(&encode_all(NASTY)), "{red}");
        assert!(
            red.starts_with("postgres://mm%40user:****@127.0.0.1"),
            "{red}"
        );
    }

    #[test]
    fn postgres_unix_socket_and_defaults() {
        let t = parse_postgres(
            "postgres://mattermost@/mattermost?host=/run/postgresql&sslmode=disable",
        )
        .expect("parse");
        assert_eq!(t.host, "/run/postgresql");
        assert_eq!(t.port, "5432");
        assert_eq!(t.password, None);
        let t = parse_postgres("postgresql://u:p@db.example.com/x").expect("parse");
        assert_eq!(t.host, "db.example.com");
        assert_eq!(t.sslmode, "");
        let t = parse_postgres("postgres://u:p@[::1]:6543/x?search_path=a&application_name=mm")
            .expect("parse");
        assert_eq!(t.host, "::1");
        assert_eq!(t.port, "6543");
        assert_eq!(t.runtime_params.len(), 2);
    }

    #[test]
    fn postgres_rejections_like_go() {
        // Unencoded characters Go refuses in userinfo.
        assert!(parse_postgres("postgres://u:pa ss@h/db").is_err());
        assert!(parse_postgres("postgres://u:pa\"ss@h/db").is_err());
        assert!(parse_postgres("postgres://u:pa\\ss@h/db").is_err());
        assert!(parse_postgres("postgres://u:pa`ss@h/db").is_err());
        // Bad escapes.
        assert!(parse_postgres("postgres://u:pa%zzss@h/db").is_err());
        assert!(parse_postgres("postgres://u:100%@h/db").is_err());
        // lib/pq does not know "prefer".
        assert!(parse_postgres("postgres://u:p@h/db?sslmode=prefer").is_err());
        // Not a URL.
        assert!(parse_postgres("host=localhost user=mm").is_err());
        assert!(parse_postgres("postgres://u:p@h:54x/db").is_err());
        // An unencoded '/' ends the authority: the password is cut and the
        // rest becomes the host part, exactly as in Go.
        let t = parse_postgres("postgres://u:pa/ss@h/db");
        assert!(t.is_err() || t.as_ref().is_ok_and(|t| t.host != "h"));
        // '@' is allowed unencoded (last '@' wins), like Go.
        let t = parse_postgres("postgres://u:p@ss@h/db").expect("parse");
        assert_eq!(t.password.as_deref(), Some(&b"p@ss"[..]));
        assert_eq!(t.host, "h");
    }

    #[test]
    fn mysql_raw_password() {
        let dsn = format!(
            "mmuser:{NASTY}@tcp(127.0.0.1:53306)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s&readTimeout=30s"
        );
        let t = parse_mysql(&dsn).expect("parse");
        assert_eq!(t.user, "mmuser");
        assert_eq!(t.password, NASTY);
        assert_eq!(t.net, "tcp");
        assert_eq!(t.addr, "127.0.0.1:53306");
        assert_eq!(t.dbname, "mattermost");
        assert_eq!(t.charset.as_deref(), Some("utf8mb4"));
        assert_eq!(t.tls, MyTls::Disabled);
        let red = redact("mysql", &dsn);
        assert_eq!(
            red,
            "mmuser:****@tcp(127.0.0.1:53306)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s&readTimeout=30s"
        );
        assert_eq!(password_spellings("mysql", &dsn), vec![NASTY.to_string()]);
    }

    #[test]
    fn mysql_forms() {
        let t = parse_mysql("mm:pw@unix(/run/mysqld/mysqld.sock)/mattermost?charset=utf8mb4,utf8")
            .expect("parse");
        assert_eq!(t.net, "unix");
        assert_eq!(t.addr, "/run/mysqld/mysqld.sock");
        let t =
            parse_mysql("mm:pw@tcp(localhost)/db?tls=skip-verify&timeout=1500ms").expect("parse");
        assert_eq!(t.addr, "localhost:3306");
        assert_eq!(t.tls, MyTls::SkipVerify);
        assert_eq!(t.timeout_secs, Some(2));
        let t = parse_mysql("mm:pw@/db?sql_mode=%27ANSI%27").expect("parse");
        assert_eq!(t.addr, "127.0.0.1:3306");
        assert_eq!(t.system_vars, vec![("sql_mode".into(), "'ANSI'".into())]);
        let t = parse_mysql("mm@tcp([::1]:3307)/db").expect("parse");
        assert_eq!(t.user, "mm");
        assert_eq!(t.host_port(), ("::1".to_string(), "3307".to_string()));
        assert!(parse_mysql("mm:pw@tcp(localhost:3306").is_err());
        assert!(parse_mysql("mm:pw@tcp(h:1)x/db").is_err());
        assert!(parse_mysql("no-slash").is_err());
        assert!(parse_mysql("mm:pw@tcp(h)/db?parseTime=yes").is_err());
        assert!(parse_mysql("mm:pw@tcp(h)/db?tls=custom").is_err());
        assert!(parse_mysql("mm:pw@udp(h)/db").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("30s"), Some(30.0));
        assert_eq!(parse_go_duration("1m30s"), Some(90.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("30"), None);
        assert_eq!(parse_go_duration("x"), None);
    }

    #[test]
    fn redaction_hides_unencoded_passwords() {
        let red = redact(
            "postgres",
            "postgres://u:pa/ss#x@h/db?password=zz&sslmode=disable",
        );
        assert!(!red.contains("pa/ss"), "{red}");
        assert!(!red.contains("zz"), "{red}");
        assert!(red.contains("sslmode=disable"), "{red}");
    }
}

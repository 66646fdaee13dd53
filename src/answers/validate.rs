//! Validation rules, each naming the key it is about and the fix.

use std::fmt;
use std::path::Path;

/// One problem with one key of the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
    pub fix: String,
}

/// Every problem found in an answers file, all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn single(field: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the answers have {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {}: {}", e.field, e.problem)?;
            writeln!(f, "    fix: {}", e.fix)?;
        }
        Ok(())
    }
}

/// RFC 1123 host name with at least two labels; no IP addresses, no trailing dot.
pub fn fqdn(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "is {} characters long; the limit is 253",
            name.len()
        ));
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err("is an IP address; Mattermost needs a DNS name for its site URL".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "\"{name}\" is not a fully qualified domain name (it has no dot)"
        ));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(format!(
                "\"{name}\" has an empty label (two dots in a row, or a leading or trailing dot)"
            ));
        }
        if label.len() > 63 {
            return Err(format!("label \"{label}\" is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "label \"{label}\" may contain only letters, digits and '-' (use punycode, xn--..., for other characters)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label \"{label}\" starts or ends with '-'"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the last label is all digits".into());
    }
    Ok(())
}

/// PostgreSQL and MySQL identifiers we create: simple enough to never need quoting.
pub fn identifier(name: &str) -> Result<(), String> {
    let ok_start = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    if !ok_start
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "\"{name}\" must be 1-32 characters of a-z, 0-9 and _, starting with a letter or _"
        ));
    }
    Ok(())
}

/// A password the DSNs and SQL layers can carry: any printable character, no control
/// characters, 8 to 128 characters.
pub fn password(p: &str) -> Result<(), String> {
    if p.chars().count() < 8 {
        return Err("is shorter than 8 characters".into());
    }
    if p.chars().count() > 128 {
        return Err("is longer than 128 characters".into());
    }
    if p.chars().any(char::is_control) {
        return Err("contains a control character (newline, tab, ...)".into());
    }
    Ok(())
}

/// RFC 3454 table C.1.2, non-ASCII spaces: SASLprep maps each to U+0020. Ranges as
/// PostgreSQL's `src/common/saslprep.c` lists them (`non_ascii_space_ranges`).
const SASL_SPACES: [(char, char); 6] = [
    ('\u{00A0}', '\u{00A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200B}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// RFC 3454 table B.1, "commonly mapped to nothing": SASLprep removes them
/// (`commonly_mapped_to_nothing_ranges` in the same file).
const SASL_REMOVED: [(char, char); 8] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{1806}', '\u{1806}'),
    ('\u{180B}', '\u{180D}'),
    ('\u{200B}', '\u{200D}'),
    ('\u{2060}', '\u{2060}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
];

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// A PostgreSQL password Mattermost can log in with: one that SASLprep leaves as
/// it is.
///
/// The server stores a SCRAM secret of the password after SASLprep (map non-ASCII
/// spaces to a space, remove "mapped to nothing" characters, Unicode NFKC), and
/// psql/libpq apply the same before they log in
/// (`pg_be_scram_build_secret` in src/backend/libpq/auth-scram.c, `scram_init` in
/// src/interfaces/libpq/fe-auth-scram.c). Mattermost's driver, lib/pq, sends the
/// password's bytes as they are (`scram.NewClient(sha256.New, o["user"],
/// o["password"])` in conn.go; `hmac.New(c.newHash, []byte(c.pass))` in
/// scram/scram.go). So a password SASLprep changes logs in with psql, and the
/// installer's check would pass, but Mattermost could never connect.
///
/// Refused rather than normalised: a normalised password would differ from the
/// one the operator wrote down, and every client that does not normalise (lib/pq,
/// most drivers) would need the rewritten form.
///
/// Stricter than PostgreSQL in one corner: `pg_saslprep` gives up on a password
/// with a prohibited or unassigned character (any emoji, for one), and then both
/// sides use the raw bytes; a password that also has a character above is refused
/// here although it would work. ASCII passwords (generated ones too) never change.
/// NFKC is checked with ICU's tables, which are newer than PostgreSQL's: Unicode's
/// normalisation stability policy means a password stable under them is stable
/// under PostgreSQL's.
pub fn pg_password(p: &str) -> Result<(), String> {
    if p.is_ascii() {
        return Ok(());
    }
    let why = "PostgreSQL stores the password in SASLprep form, and Mattermost's \
               driver (lib/pq) sends it as typed, so Mattermost could not log in";
    if let Some(c) = p.chars().find(|&c| in_ranges(c, &SASL_SPACES)) {
        return Err(format!(
            "contains U+{:04X}, a non-ASCII space that PostgreSQL turns into a plain space: {why}",
            u32::from(c)
        ));
    }
    if let Some(c) = p.chars().find(|&c| in_ranges(c, &SASL_REMOVED)) {
        return Err(format!(
            "contains U+{:04X}, an invisible character that PostgreSQL removes: {why}",
            u32::from(c)
        ));
    }
    let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
    if nfkc.is_normalized(p) {
        return Ok(());
    }
    // The first character at which the password stops being in NFKC form: a
    // compatibility character (ﬁ, full-width letters) or a combining mark that
    // composes with the letter before it.
    let at = p
        .char_indices()
        .find(|&(i, c)| !nfkc.is_normalized(&p[..i + c.len_utf8()]))
        .map_or('?', |(_, c)| c);
    Err(format!(
        "contains U+{:04X}, which Unicode NFKC normalisation rewrites (as in ﬁ → fi, \
         full-width Ａ → A, e + a combining accent → é): {why}",
        u32::from(at)
    ))
}

/// An absolute, normalised path that is not the root or a system directory.
pub fn dir(path: &Path) -> Result<(), String> {
    const SYSTEM: [&str; 14] = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/opt", "/proc", "/root", "/run",
        "/sbin", "/sys", "/usr",
    ];
    let s = path.to_string_lossy();
    if !path.is_absolute() {
        return Err(format!("\"{s}\" is not an absolute path"));
    }
    if path.components().any(|c| {
        matches!(
            c,
            std::path::Component::ParentDir | std::path::Component::CurDir
        )
    }) || s.contains("//")
        || (s.len() > 1 && s.ends_with('/'))
    {
        return Err(format!(
            "\"{s}\" is not normalised (no '.', '..', '//' or trailing '/')"
        ));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("\"{s}\" contains whitespace or control characters"));
    }
    if SYSTEM.contains(&s.as_ref()) || s == "/var" || s == "/tmp" {
        return Err(format!(
            "\"{s}\" is a system directory; choose a directory of its own"
        ));
    }
    reserved_dir(path)
}

/// Directories the operating system or this tool keeps, which the service account
/// must never own, even when they happen to be empty: the standard hierarchy's
/// shared directories (some on root's PATH), the trees of configuration, kernel and
/// runtime state, and every directory of the tool's own state (and their parents).
pub fn reserved_dir(path: &Path) -> Result<(), String> {
    const SHARED: [&str; 33] = [
        "/srv",
        "/mnt",
        "/media",
        "/lost+found",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/usr/local/lib",
        "/usr/local/share",
        "/usr/local/etc",
        "/usr/local/include",
        "/usr/local/src",
        "/usr/local/games",
        "/usr/local/man",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/libexec",
        "/usr/share",
        "/usr/include",
        "/usr/src",
        "/usr/games",
        "/var/lib",
        "/var/log",
        "/var/cache",
        "/var/backups",
        "/var/spool",
        "/var/mail",
        "/var/tmp",
        "/var/www",
        "/var/opt",
        "/var/local",
    ];
    /// Whole trees that are never a place for Mattermost.
    const TREES: [&str; 7] = ["/etc", "/proc", "/sys", "/dev", "/run", "/boot", "/usr/lib"];
    /// The tool's own state; neither they, anything in them nor a parent will do.
    const OURS: [&str; 6] = [
        "/etc/mattermost-setup",
        "/var/lib/mattermost-setup",
        "/var/log/mattermost-setup",
        "/var/backups/mattermost-setup",
        "/var/cache/mattermost-setup",
        "/usr/local/lib/mattermost-setup",
    ];
    let s = path.to_string_lossy();
    if SHARED.contains(&s.as_ref()) {
        return Err(format!(
            "\"{s}\" is a shared system directory (other software keeps files there); choose a directory of its own below it, such as {s}/mattermost"
        ));
    }
    if let Some(t) = TREES.iter().find(|t| path.starts_with(t)) {
        return Err(format!(
            "\"{s}\" is inside {t}, which belongs to the operating system"
        ));
    }
    if let Some(o) = OURS
        .iter()
        .find(|o| path.starts_with(o) || Path::new(o).starts_with(path))
    {
        return Err(format!(
            "\"{s}\" overlaps {o}, where mattermost-setup keeps its own state"
        ));
    }
    Ok(())
}

/// The data directory may sit inside the install directory (the default), but not
/// be the install directory itself nor hold it.
pub fn dirs_apart(install_dir: &Path, data_dir: &Path) -> Result<(), String> {
    if data_dir == install_dir {
        return Err(format!(
            "\"{}\" is also install_dir; the data needs a directory of its own",
            data_dir.display()
        ));
    }
    if install_dir.starts_with(data_dir) {
        return Err(format!(
            "\"{}\" contains install_dir {}",
            data_dir.display(),
            install_dir.display()
        ));
    }
    Ok(())
}

/// `tls_cert` / `tls_key`: a path the proxy's site file can carry (see
/// [`crate::grammar`] for what each format cannot quote).
pub fn proxy_file_path(path: &Path, proxy: super::Proxy) -> Result<(), String> {
    use crate::grammar::{apache, nginx};
    let s = path.to_string_lossy();
    let fits = match proxy {
        super::Proxy::Apache => apache::check_path(&s),
        super::Proxy::Nginx => nginx::check_path(&s),
    };
    fits.map_err(|e| format!("\"{}\" {e} ({} site file)", shown(&s), proxy.name()))
}

/// `acme_ca_bundle`: written into certbot's systemd drop-in (`Environment=`).
pub fn env_file_path(path: &Path) -> Result<(), String> {
    let s = path.to_string_lossy();
    crate::grammar::systemd::check_env_value(&s)
        .and_then(|()| crate::grammar::path_length(&s))
        .map_err(|e| format!("\"{}\" {e} (systemd drop-in)", shown(&s)))
}

/// `install_dir`: the unit's `ExecStart=` (DIR/bin/mattermost) and
/// `WorkingDirectory=`, and the retention job's arguments.
pub fn unit_dir(path: &Path) -> Result<(), String> {
    use crate::grammar::systemd;
    let s = path.to_string_lossy();
    systemd::check_path_setting(&s)
        .and_then(|()| systemd::check_program(&format!("{s}/bin/mattermost")))
        .and_then(|()| systemd::check_arg(&s))
        .map_err(|e| format!("\"{}\" {e} (systemd unit)", shown(&s)))
}

/// A value for a message: control characters shown escaped, long values cut.
fn shown(s: &str) -> String {
    let e: String = s.chars().flat_map(char::escape_debug).collect();
    if e.chars().count() > 80 {
        format!("{}...", e.chars().take(80).collect::<String>())
    } else {
        e
    }
}

/// `acme_server`: the ACME directory URL certbot is given with `--server`. What a
/// careful admin expects: `https://HOST[:PORT][/PATH]` with a DNS name or an IP
/// address; plain `http://` only to this machine (a local test CA such as pebble),
/// never across a network; no user:password@, no fragment, no spaces or control
/// characters, only the characters a URL may carry (RFC 3986).
pub fn acme_server(url: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("\"{}\" {why}", shown(url)));
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) if s.eq_ignore_ascii_case("https") => ("https", r),
        Some((s, r)) if s.eq_ignore_ascii_case("http") => ("http", r),
        _ => return bad("is not an https:// URL"),
    };
    if let Some(c) = url
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(*c)))
    {
        return bad(&format!(
            "contains {c:?}, which a URL cannot carry unencoded"
        ));
    }
    if url.contains('#') {
        return bad("has a #fragment, which an ACME directory URL has not");
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return bad("has user information (user@); ACME servers authenticate with the account key");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) if h.parse::<std::net::Ipv6Addr>().is_ok() => (h, p),
            _ => return bad("has an invalid [IPv6] host"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (authority, ""),
        }
    };
    let port = if authority.starts_with('[') {
        match port {
            "" => "",
            p => match p.strip_prefix(':') {
                Some(p) => p,
                None => return bad("has text after the [IPv6] host"),
            },
        }
    } else if authority.contains(':') {
        if port.is_empty() {
            return bad("has an empty port");
        }
        port
    } else {
        ""
    };
    if !port.is_empty() && !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return bad(&format!("has an invalid port \"{port}\""));
    }
    if host.is_empty() {
        return bad("has no host");
    }
    let ip = host.parse::<std::net::IpAddr>().ok();
    let name_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    if ip.is_none() && !name_ok {
        return bad(&format!("has an invalid host name \"{host}\""));
    }
    let loopback = ip.is_some_and(|ip| ip.is_loopback()) || host.eq_ignore_ascii_case("localhost");
    if scheme == "http" && !loopback {
        return bad(
            "is plain http to another machine; use https (http only for a CA on this machine)",
        );
    }
    Ok(())
}

/// Good enough to catch typos; the mail server has the last word.
pub fn email(s: &str) -> Result<(), String> {
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !s.contains(char::is_whitespace) && fqdn(domain).is_ok() =>
        {
            Ok(())
        }
        _ => Err(format!("\"{s}\" is not an e-mail address")),
    }
}

/// Mattermost's username rules: 3-22 characters, a-z 0-9 . - _, starting with a letter.
pub fn username(s: &str) -> Result<(), String> {
    let ok = (3..=22).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("\"{s}\" is not a valid Mattermost username"))
    }
}

/// Mattermost's reserved team names: a team name may not START with any of them
/// (`reservedName` in server/public/model/utils.go, matched by `IsReservedTeamName`
/// in server/public/model/team.go with `strings.Index(s, value) == 0`).
pub const RESERVED_TEAM_PREFIXES: [&str; 17] = [
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
];
/// `TeamNameMinLength` / `TeamNameMaxLength` in server/public/model/team.go.
pub const TEAM_NAME_LEN: std::ops::RangeInclusive<usize> = 2..=64;

/// `validAlphaNum` in server/public/model/utils.go:
/// `^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$` — lower-case letters, digits and '-',
/// starting and ending with a letter or digit; or two such runs joined by one "__".
fn mattermost_alpha_num(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if b.len() < 2 || !alnum(first) || !alnum(last) {
        return false;
    }
    if b.iter().all(|&c| alnum(c) || c == b'-') {
        return true;
    }
    s.split_once("__").is_some_and(|(l, r)| {
        !l.is_empty() && !r.is_empty() && l.bytes().all(alnum) && r.bytes().all(alnum)
    })
}

/// Mattermost's team URL name rules, exactly as the server applies them when a team
/// is created (`Team.IsValid` in server/public/model/team.go: at most 64 bytes, not
/// starting with a reserved word (case-insensitive), `IsValidTeamName`: 2 or more
/// characters matching `validAlphaNum`). Names are not lower-cased by the server.
pub fn team_name(s: &str) -> Result<(), String> {
    if !TEAM_NAME_LEN.contains(&s.len()) {
        return Err(format!(
            "\"{s}\" is {} characters long; Mattermost needs 2 to 64",
            s.len()
        ));
    }
    let lower = s.to_ascii_lowercase();
    if let Some(word) = RESERVED_TEAM_PREFIXES
        .iter()
        .find(|w| lower.starts_with(**w))
    {
        return Err(format!(
            "\"{s}\" starts with \"{word}\", which Mattermost reserves (no team name may start with {})",
            RESERVED_TEAM_PREFIXES.join(", ")
        ));
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "\"{s}\" has upper-case letters; Mattermost team names are lower-case"
        ));
    }
    if !mattermost_alpha_num(s) {
        return Err(format!(
            "\"{s}\" is not a valid team name: only a-z, 0-9 and '-', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// A lower-case hex SHA-256.
pub fn sha256(s: &str) -> Result<(), String> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err("must be 64 lower-case hexadecimal characters (the output of sha256sum)".into())
    }
}

/// A machine or cluster name: one DNS label of a-z, 0-9 and '-'.
pub fn machine_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!("\"{name}\" must be 1-63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.starts_with('-')
        || name.ends_with('-')
    {
        return Err(format!(
            "\"{name}\" may contain only a-z, 0-9 and '-' (not first or last)"
        ));
    }
    Ok(())
}

/// An S3 bucket name (AWS's naming rules, which S3-compatible stores follow).
pub fn bucket(name: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(format!("\"{name}\" is not a valid bucket name"))
    }
}

/// A host name or IP address (a database server).
pub fn db_host(host: &str) -> Result<(), String> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host == "localhost" {
        return Err("is localhost: the database is then on this box".into());
    }
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err(format!("\"{host}\" is not a host name or IP address"))
    }
}

/// `host` or `host:port` (an IPv6 address in brackets), no scheme, no path: what
/// Mattermost's `AmazonS3Endpoint` holds.
pub fn endpoint(e: &str) -> Result<(), String> {
    if e.contains("://") {
        return Err(format!("\"{e}\" has a scheme; s3_ssl says http or https"));
    }
    let (host, port) = if let Some(rest) = e.strip_prefix('[') {
        let Some((h, tail)) = rest.split_once(']') else {
            return Err(format!("\"{e}\" has an unclosed ["));
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("\"{h}\" is not an IPv6 address"));
        }
        (None, tail.strip_prefix(':'))
    } else {
        match e.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(e), None),
        }
    };
    if let Some(h) = host {
        if h.parse::<std::net::IpAddr>().is_err() {
            db_host(h).map_err(|_| format!("\"{h}\" is not a host name or IP address"))?;
        }
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("\"{p}\" is not a port"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_accepts_real_names() {
        for ok in [
            "chat.example.com",
            "a.b",
            "xn--bcher-kva.example",
            "mm-1.corp.example.org",
        ] {
            assert_eq!(fqdn(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn fqdn_rejects_with_reasons() {
        for (bad, why) in [
            ("", "empty"),
            ("localhost", "no dot"),
            ("10.0.0.1", "IP address"),
            ("chat..example.com", "empty label"),
            ("chat.example.com.", "empty label"),
            ("-chat.example.com", "starts or ends"),
            ("chat_1.example.com", "only letters"),
            ("chät.example.com", "punycode"),
            ("chat.123", "all digits"),
        ] {
            let err = fqdn(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(
            fqdn(&format!("{}.com", "a".repeat(64)))
                .unwrap_err()
                .contains("63")
        );
    }

    #[test]
    fn identifiers_are_plain() {
        assert!(identifier("mattermost").is_ok());
        assert!(identifier("mm_user2").is_ok());
        for bad in ["", "2mm", "MM", "mm-user", "mm;drop", &"a".repeat(33)] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dirs_must_be_absolute_own_directories() {
        assert!(dir(Path::new("/opt/mattermost")).is_ok());
        assert!(dir(Path::new("/srv/mattermost/data")).is_ok());
        for bad in [
            "opt/mm",
            "/opt/../etc",
            "/opt/mm/",
            "/",
            "/etc",
            "/opt",
            "/srv/my data",
        ] {
            assert!(dir(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn shared_and_state_directories_are_refused_even_when_empty() {
        for ok in [
            "/opt/mattermost",
            "/srv/mattermost",
            "/usr/local/mattermost",
            "/var/lib/mattermost",
            "/home/chat/mattermost",
            "/data",
        ] {
            assert_eq!(dir(Path::new(ok)), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("/usr/local", "shared"),
            ("/usr/local/bin", "shared"),
            ("/srv", "shared"),
            ("/var/lib", "shared"),
            ("/var/www", "shared"),
            ("/etc/mattermost", "operating system"),
            ("/run/mattermost", "operating system"),
            ("/usr/lib/mattermost", "operating system"),
            ("/var/lib/mattermost-setup", "own state"),
            ("/var/lib/mattermost-setup/data", "own state"),
            ("/usr/local/lib", "shared"),
            ("/var/backups/mattermost-setup/x", "own state"),
        ] {
            let e = dir(Path::new(bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        for bad in ["/", "/usr", "/etc", "/var", "/home"] {
            assert!(dir(Path::new(bad)).is_err(), "{bad}");
        }
        assert!(dirs_apart(Path::new("/opt/mm"), Path::new("/opt/mm/data")).is_ok());
        assert!(dirs_apart(Path::new("/opt/mm"), Path::new("/srv/mm")).is_ok());
        assert!(dirs_apart(Path::new("/opt/mm"), Path::new("/opt/mm")).is_err());
        assert!(dirs_apart(Path::new("/opt/mm/app"), Path::new("/opt/mm")).is_err());
    }

    #[test]
    fn passwords_allow_every_printable_character() {
        assert!(password("' \" \\ $ ` @ / : % # x").is_ok());
        assert!(password("short").is_err());
        assert!(password("has\nnewline").is_err());
    }

    #[test]
    fn pg_passwords_that_saslprep_changes_are_refused() {
        // Unchanged by SASLprep: ASCII, precomposed letters, emoji.
        for ok in [
            "' \" \\ $ ` @ / : % # x",
            "café-secret-1",
            "🔑🐘 secret-words",
            "Straße-Пароль-密码",
        ] {
            assert_eq!(pg_password(ok), Ok(()), "{ok:?}");
        }
        for (bad, code) in [
            ("pass\u{a0}word-123", "U+00A0"),
            ("\u{2003}em-space-pw", "U+2003"),
            ("pass\u{ad}word-123", "U+00AD"),
            ("zero\u{200d}width-joiner", "U+200D"),
            ("\u{fb01}rewall-pass", "U+FB01"),
            ("\u{ff21}BCdefgh-1", "U+FF21"),
            ("cafe\u{301}-secret", "U+0301"),
            ("x\u{2126}-ohm-sign", "U+2126"),
        ] {
            let e = pg_password(bad).unwrap_err();
            assert!(e.contains(code) && e.contains("lib/pq"), "{bad:?}: {e}");
            assert!(
                !e.contains(bad),
                "the message does not echo the password: {e}"
            );
        }
        let generated = crate::answers::Secret::generate().unwrap();
        assert_eq!(pg_password(generated.expose()), Ok(()));
    }

    #[test]
    fn acme_servers_are_https_urls_with_a_host() {
        for ok in [
            "https://acme-v02.api.letsencrypt.org/directory",
            "https://127.0.0.1:14000/dir",
            "https://[::1]:14000/dir",
            "https://pebble:14000/dir?x=1",
            "http://localhost:4001/directory",
            "http://127.0.0.1:4001/directory",
        ] {
            assert_eq!(acme_server(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("ftp://ca.example.com/dir", "https://"),
            ("https://", "no host"),
            ("https:///dir", "no host"),
            ("https://ca.example.com:99999/dir", "port"),
            ("https://ca.example.com:/dir", "empty port"),
            ("https://user:pw@ca.example.com/dir", "user information"),
            ("https://ca.example.com/dir#x", "fragment"),
            ("https://ca.example.com/a b", "' '"),
            ("https://ca.example.com/a\nb", "'\\n'"),
            ("https://ca_1.example.com/dir", "host name"),
            ("http://ca.example.com/dir", "plain http"),
            ("https://[::1/dir", "IPv6"),
        ] {
            let e = acme_server(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn team_names_follow_the_servers_rules() {
        for ok in [
            "staff",
            "my-team2",
            "ab",
            "9lives",
            "a-b-c",
            "ab__cd",
            "team1__x",
            "x".repeat(64).as_str(),
        ] {
            assert_eq!(team_name(ok), Ok(()), "{ok}");
        }
        // Reserved words are prefixes: the server answers 400 to all of these.
        for bad in [
            "helpdesk",
            "postmaster",
            "api",
            "admins",
            "Plugins2",
            "boardsroom",
            "playbooks-x",
            "mfa1",
        ] {
            let e = team_name(bad).unwrap_err();
            assert!(e.contains("reserves"), "{bad}: {e}");
        }
        for bad in [
            "team-",
            "-team",
            "a",
            "Team",
            "te am",
            "a_b",
            "a__b-c",
            "a___b",
            "__ab",
            "ab__",
            "tëam",
            "x".repeat(65).as_str(),
        ] {
            assert!(team_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_paths_fit_their_formats() {
        use super::super::Proxy;
        let p = |s: &str| std::path::PathBuf::from(s);
        assert!(proxy_file_path(&p("/etc/ssl/my cert;\"x\\.pem"), Proxy::Apache).is_ok());
        assert!(proxy_file_path(&p("/etc/ssl/my cert;\"x\\.pem"), Proxy::Nginx).is_ok());
        let e = proxy_file_path(&p("/etc/$x.pem"), Proxy::Nginx).unwrap_err();
        assert!(e.contains("nginx"), "{e}");
        assert!(proxy_file_path(&p("/etc/$x.pem"), Proxy::Apache).is_ok());
        assert!(proxy_file_path(&p("/etc/${X}.pem"), Proxy::Apache).is_err());
        let e = proxy_file_path(&p("/a.pem\nSSLEngine off"), Proxy::Apache).unwrap_err();
        assert!(e.contains("\\n"), "the newline is shown escaped: {e}");
        assert!(env_file_path(&p("/etc/ca %s \"b\".pem")).is_ok());
        assert!(env_file_path(&p("/etc/ca.pem\nExecStartPre=/bin/sh")).is_err());
        assert!(unit_dir(&p("/srv/mm%n;q")).is_ok());
        assert!(unit_dir(&p("/srv/mm\"q")).is_err());
        assert!(unit_dir(&p("/srv/mm$HOME")).is_err());
        assert!(unit_dir(&p("/srv/mm\\")).is_err());
    }

    #[test]
    fn sha256_is_hex() {
        assert!(sha256(&"a".repeat(64)).is_ok());
        assert!(sha256(&"A".repeat(64)).is_err());
        assert!(sha256("abc").is_err());
    }
}

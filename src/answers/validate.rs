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
    fn sha256_is_hex() {
        assert!(sha256(&"a".repeat(64)).is_ok());
        assert!(sha256(&"A".repeat(64)).is_err());
        assert!(sha256("abc").is_err());
    }
}

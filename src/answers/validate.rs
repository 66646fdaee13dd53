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

/// Mattermost team URL names: 2-64 characters, a-z 0-9 -, starting with a letter.
pub fn team_name(s: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("\"{s}\" is not a valid team name"))
    }
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
    fn sha256_is_hex() {
        assert!(sha256(&"a".repeat(64)).is_ok());
        assert!(sha256(&"A".repeat(64)).is_err());
        assert!(sha256("abc").is_err());
    }
}

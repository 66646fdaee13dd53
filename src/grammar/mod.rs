//! How an answer is written into each kind of file the tool renders: one module per
//! file format, each with the format's quoting and the values it cannot carry at all.
//!
//! Every template fill goes through these functions (never `format!` of a raw
//! answer), and the answers' validation asks the same functions whether a value
//! fits (`answers::validate`, a layer above), so a value is either refused up front with
//! its key named, or written so that the file's own parser reads back exactly it.
//! The quoting functions are total: a character a format cannot carry (which
//! validation refuses) is written as U+FFFD, so even an unvalidated value can never
//! add a line or a directive.

pub mod apache;
pub mod nginx;
pub mod systemd;

/// Why a value cannot be written into a file of some format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unfit(pub String);

/// Control characters (newline, carriage return, tab, NUL, DEL, ...) end or split a
/// configuration line in every format here; none of them can be quoted.
pub(crate) fn no_control(s: &str) -> Result<(), Unfit> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(Unfit(format!(
            "contains the control character {c:?}, which no configuration line can carry"
        ))),
        None => Ok(()),
    }
}

/// `s` with control characters replaced by U+FFFD (the fallback of the quoting
/// functions for values validation would have refused).
pub fn without_control(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Limits every file system here has: PATH_MAX 4096 (with the NUL) and NAME_MAX
/// 255 bytes per component. systemd checks both when it loads a unit.
pub fn path_length(s: &str) -> Result<(), Unfit> {
    if s.len() > 4095 {
        return Err(Unfit(format!(
            "is {} bytes long; paths are limited to 4095",
            s.len()
        )));
    }
    if let Some(c) = s.split('/').find(|c| c.len() > 255) {
        return Err(Unfit(format!(
            "has a component of {} bytes (\"{}...\"); file names are limited to 255",
            c.len(),
            c.chars().take(20).collect::<String>()
        )));
    }
    Ok(())
}

/// A DNS name as every format here writes it bare (server names, redirect targets,
/// the deploy hook's `case` pattern). Validation only lets RFC 1123 names through
/// (`answers::validate::fqdn`); this is the total fallback: any other
/// character becomes `-`.
pub fn host_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "-".into() } else { out }
}

/// Characters every format here reads as part of a bare word.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._+:@,=-".contains(c)
}

/// `s` as one word: bare when it has only plain characters (so the usual paths
/// read as before), else backslash-escaping `\` and `"` inside double quotes: the
/// quoting that Apache, nginx and systemd all read back the same way.
pub(crate) fn double_quoted(s: &str) -> String {
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_quoting_escapes_only_backslash_and_quote() {
        assert_eq!(double_quoted(r#"/a b/"c"\d$%;#"#), r#""/a b/\"c\"\\d$%;#""#);
        assert_eq!(double_quoted("/etc/ssl/a-b_c.pem"), "/etc/ssl/a-b_c.pem");
        assert_eq!(double_quoted(""), "\"\"");
    }

    #[test]
    fn control_characters_are_named_and_replaced() {
        assert!(no_control("/a\nb").unwrap_err().0.contains("'\\n'"));
        assert!(no_control("/a\0b").is_err());
        assert!(no_control("/a\u{7f}").is_err());
        assert!(no_control("/ä b").is_ok());
        assert_eq!(without_control("a\nb\tc"), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn host_names_keep_only_dns_characters() {
        assert_eq!(host_name("chat.example.com"), "chat.example.com");
        assert_eq!(host_name("a b;\n}.x"), "a-b---.x");
        assert_eq!(host_name(""), "-");
    }

    #[test]
    fn path_limits() {
        assert!(path_length(&format!("/{}", "a".repeat(255))).is_ok());
        assert!(path_length(&format!("/{}", "a".repeat(256))).is_err());
        assert!(path_length(&"/aaaa".repeat(1000)).is_err());
    }
}

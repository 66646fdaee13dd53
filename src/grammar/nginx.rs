//! nginx configuration files.
//!
//! Inside a double-quoted token nginx (`ngx_conf_read_token`) reads `\"`, `\'` and
//! `\\` as the character itself and `\t`, `\r`, `\n` as control characters;
//! escaping every `\` and `"` with [`super::double_quoted`] therefore round-trips,
//! and `;`, `{`, `}`, `#` and spaces are plain characters there. What cannot be
//! written: control characters (refused, like everywhere) and `$`, because
//! `ssl_certificate` and `ssl_certificate_key` take variables (nginx >= 1.15.9)
//! and nginx has no escape for `$`.

use super::{Unfit, double_quoted, no_control, path_length, without_control};

/// Whether `s` can be the (variable-taking) path argument of a directive.
pub fn check_path(s: &str) -> Result<(), Unfit> {
    no_control(s)?;
    path_length(s)?;
    if s.contains('$') {
        return Err(Unfit(
            "contains '$', which nginx reads as the start of a variable here (it cannot be escaped)"
                .into(),
        ));
    }
    Ok(())
}

/// `s` as one double-quoted token. Total: control characters and `$` (refused by
/// [`check_path`]) become U+FFFD.
pub fn quote(s: &str) -> String {
    double_quoted(&without_control(s).replace('$', "\u{FFFD}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_and_dollars_refused() {
        assert_eq!(quote("/a b;{}#/c.pem"), "\"/a b;{}#/c.pem\"");
        assert_eq!(quote("/x\"y\\n"), "\"/x\\\"y\\\\n\"");
        assert!(check_path("/a b;{}#%/c.pem").is_ok());
        assert!(check_path("/etc/$host.pem").unwrap_err().0.contains('$'));
        assert!(check_path("/a\n}").is_err());
        assert_eq!(quote("/a$b\n"), "\"/a\u{FFFD}b\u{FFFD}\"");
    }
}

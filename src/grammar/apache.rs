//! Apache httpd configuration files.
//!
//! A directive's argument in double quotes is read by `ap_getword_conf`
//! (server/util.c): inside the quotes `\"` is a quote and `\\` a backslash, and
//! nothing else is special, so [`super::double_quoted`] round-trips. Two things
//! cannot be escaped: control characters (the line ends) and `${`, which Apache
//! replaces by a `Define`d or environment variable on every line before parsing it
//! (`ap_resolve_env`). A line that ends in `\` continues on the next line; a quoted
//! argument ends in `"`, so that cannot happen.

use super::{Unfit, double_quoted, no_control, path_length, without_control};

/// Whether `s` can be one quoted argument of a directive (a file path).
pub fn check_path(s: &str) -> Result<(), Unfit> {
    no_control(s)?;
    path_length(s)?;
    if s.contains("${") {
        return Err(Unfit(
            "contains \"${\", which Apache replaces by a variable on every line (it cannot be escaped)".into(),
        ));
    }
    Ok(())
}

/// `s` as one double-quoted argument. Total: what [`check_path`] refuses is
/// defused (control characters become U+FFFD, `${` becomes `$\u{FFFD}{`).
pub fn quote(s: &str) -> String {
    double_quoted(&without_control(s).replace("${", "$\u{FFFD}{"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_and_variables_refused() {
        assert_eq!(quote("/etc/ssl/a b.pem"), "\"/etc/ssl/a b.pem\"");
        assert_eq!(quote("/etc/ssl/a.pem"), "/etc/ssl/a.pem");
        assert_eq!(quote("/x\"y\\"), "\"/x\\\"y\\\\\"");
        assert!(check_path("/etc/ssl/$HOME/%{x}/a;b#c.pem").is_ok());
        let e = check_path("/etc/${APACHE_LOG_DIR}/x").unwrap_err();
        assert!(e.0.contains("${"), "{e}");
        assert!(check_path("/a\nSSLEngine off").is_err());
        assert!(!quote("/a\nb${X}").contains('\n'));
        assert!(!quote("/a\nb${X}").contains("${"));
    }
}

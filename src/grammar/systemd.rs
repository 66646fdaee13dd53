//! systemd unit files and drop-ins (systemd.syntax(7), systemd.service(5)).
//!
//! Three kinds of value, each read differently by systemd:
//! * a command line (`ExecStart=`): specifiers (`%`) are expanded on the whole
//!   value first, then it is split into words with C-style unquoting, and `$NAME`
//!   in the arguments is replaced by an environment variable at start. A word in
//!   double quotes with `\` and `"` escaped, `%` doubled and (in arguments) `$`
//!   doubled is read back exactly. The program path itself is not
//!   variable-expanded but its argv[0] copy is, so a `$` there cannot be written
//!   faithfully and is refused.
//! * a path setting (`WorkingDirectory=`): specifiers expanded, no unquoting at
//!   all, surrounding whitespace stripped. Only `%` can be escaped; leading or
//!   trailing whitespace and a trailing `\` (which would join the next line) are
//!   refused.
//! * an environment assignment (`Environment=`): split into words with C-style
//!   unquoting, then specifiers expanded; no `$` expansion. The whole `NAME=value`
//!   in double quotes with `\`, `"` escaped and `%` doubled round-trips.
//!
//! Control characters are refused everywhere (a newline would start a new
//! directive).

use super::{Unfit, double_quoted, no_control, path_length, without_control};

fn absolute(s: &str) -> Result<(), Unfit> {
    if s.starts_with('/') {
        Ok(())
    } else {
        Err(Unfit("is not an absolute path".into()))
    }
}

/// Whether `s` can be the program of `ExecStart=`.
pub fn check_program(s: &str) -> Result<(), Unfit> {
    no_control(s)?;
    path_length(s)?;
    absolute(s)?;
    if s.contains('$') {
        return Err(Unfit(
            "contains '$', which systemd would expand as a variable in the command line".into(),
        ));
    }
    // systemd refuses such a program outright ("Executable name contains special
    // characters", string_is_safe() in load-fragment.c).
    if let Some(c) = s.chars().find(|c| matches!(c, '"' | '\'' | '\\')) {
        return Err(Unfit(format!(
            "contains {c:?}; systemd refuses a program path with quotes or backslashes"
        )));
    }
    Ok(())
}

/// The program of a command line, quoted (total: see the module docs).
pub fn program(s: &str) -> String {
    double_quoted(&without_control(s).replace('$', "\u{FFFD}")).replace('%', "%%")
}

/// Whether `s` can be an argument of a command line (anything but control characters).
pub fn check_arg(s: &str) -> Result<(), Unfit> {
    no_control(s)
}

/// An argument of a command line, quoted, with `%` and `$` doubled.
pub fn arg(s: &str) -> String {
    double_quoted(&without_control(s))
        .replace('%', "%%")
        .replace('$', "$$")
}

/// Whether `s` can be the value of a path setting such as `WorkingDirectory=`.
pub fn check_path_setting(s: &str) -> Result<(), Unfit> {
    no_control(s)?;
    path_length(s)?;
    absolute(s)?;
    if s.trim() != s {
        return Err(Unfit(
            "starts or ends with whitespace, which systemd strips from a setting".into(),
        ));
    }
    if s.ends_with('\\') {
        return Err(Unfit(
            "ends with '\\', which systemd reads as \"continued on the next line\"".into(),
        ));
    }
    Ok(())
}

/// A path setting's value: `%` doubled (total: control characters become U+FFFD,
/// a trailing backslash is dropped).
pub fn path_setting(s: &str) -> String {
    without_control(s)
        .trim()
        .trim_end_matches('\\')
        .replace('%', "%%")
}

/// Whether `value` can be the value of an `Environment=` assignment.
pub fn check_env_value(value: &str) -> Result<(), Unfit> {
    no_control(value)
}

/// `Environment=` with one assignment `name=value`, quoted. `name` is the tool's own
/// constant (a valid variable name).
pub fn environment(name: &str, value: &str) -> String {
    format!(
        "Environment={}",
        double_quoted(&format!("{name}={}", without_control(value))).replace('%', "%%")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_and_double_specials() {
        assert_eq!(program("/opt/m m%/bin/x"), "\"/opt/m m%%/bin/x\"");
        assert_eq!(arg("/a$b%c\"d\\"), "\"/a$$b%%c\\\"d\\\\\"");
        assert!(check_program("/opt/$x/bin").unwrap_err().0.contains('$'));
        assert!(check_program("opt/x").is_err());
        assert!(check_program("/opt/a;b%e f").is_ok());
        assert!(check_program("/opt/a\"b").is_err());
        assert!(check_program("/opt/a'b").is_err());
        assert!(check_program("/opt/a\\b").is_err());
    }

    #[test]
    fn path_settings_only_double_percent() {
        assert_eq!(path_setting("/opt/a b%\"c"), "/opt/a b%%\"c");
        assert!(check_path_setting("/opt/x\\").is_err());
        assert!(check_path_setting("/opt/x ").is_err());
        assert!(check_path_setting("/opt/x\ny").is_err());
        assert!(check_path_setting("/opt/a;b$c").is_ok());
    }

    #[test]
    fn environment_assignments_are_one_quoted_word() {
        assert_eq!(
            environment("REQUESTS_CA_BUNDLE", "/etc/a b%\"c"),
            "Environment=\"REQUESTS_CA_BUNDLE=/etc/a b%%\\\"c\""
        );
        assert_eq!(
            environment("REQUESTS_CA_BUNDLE", "/etc/ca.pem"),
            "Environment=REQUESTS_CA_BUNDLE=/etc/ca.pem"
        );
        assert!(!environment("X", "/a\nExecStartPre=/bin/sh").contains('\n'));
    }
}

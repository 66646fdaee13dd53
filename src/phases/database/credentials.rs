//! The database password for one client call, in a file made for that call.
//!
//! Never in argv (`ps` shows it to every user) and never in the environment
//! (`/proc/PID/environ`; libpq's documentation advises against `PGPASSWORD` for
//! that reason): `psql` reads a libpq password file (`PGPASSFILE`), the
//! MariaDB/MySQL client an option file (`--defaults-file`). The file is created
//! with mode 0600 and `O_EXCL` in a fresh directory of mode 0700, so no other user
//! can read it at any instant, and both are removed when the guard is dropped.

pub use crate::host::secret::PasswordFile;

/// A libpq password file with one line that matches every host, port, database
/// and user. libpq ends the password at an unescaped `:` and drops the `\` of
/// every `\x` (`passwordFromFile` in src/interfaces/libpq/fe-connect.c).
pub fn pgpass(password: &str) -> Vec<u8> {
    let mut line = String::from("*:*:*:*:");
    for c in password.chars() {
        if c == '\\' || c == ':' {
            line.push('\\');
        }
        line.push(c);
    }
    line.push('\n');
    line.into_bytes()
}

/// A MariaDB/MySQL option file with the password in `[client]`, double-quoted: the
/// client strips the quotes, reads `#` inside them as text, and turns `\\` and
/// `\"` back into `\` and `"` (mysys `my_default.c`).
pub fn mysql_options(password: &str) -> Vec<u8> {
    let mut quoted = String::with_capacity(password.len() + 2);
    for c in password.chars() {
        if c == '\\' || c == '"' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("[client]\npassword=\"{quoted}\"\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    #[test]
    fn files_are_private_from_the_start_and_removed_after() {
        let parent = tempfile::tempdir().unwrap();
        let f = PasswordFile::create(parent.path(), b"secret").unwrap();
        let dir = f.path().parent().unwrap().to_owned();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(f.path()), 0o600);
        assert_eq!(std::fs::read(f.path()).unwrap(), b"secret");
        drop(f);
        assert!(!dir.exists());
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn pgpass_escapes_colon_and_backslash() {
        assert_eq!(pgpass(r"a:b\c d"), b"*:*:*:*:a\\:b\\\\c d\n".to_vec());
    }

    #[test]
    fn option_file_quotes_the_password() {
        assert_eq!(
            mysql_options(r#"a"b\c#d e"#),
            b"[client]\npassword=\"a\\\"b\\\\c#d e\"\n".to_vec()
        );
    }
}

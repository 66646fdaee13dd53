//! `SqlSettings.DataSource` strings, escaped the way Mattermost's drivers parse them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::answers::{Answers, DbEngine};

/// Everything but RFC 3986 unreserved characters is escaped in the userinfo.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Debian's MariaDB/MySQL socket; the app user exists only @'localhost', which is
/// what a socket login is.
pub const MYSQL_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// The password as it appears in the DSN (for log redaction too). It is the
/// password as the operator gave it, never normalised: lib/pq percent-decodes it
/// and logs in with those bytes, so a PostgreSQL password that SASLprep would
/// change is refused when the answers are read (`answers::validate::pg_password`).
pub fn escaped_password(a: &Answers) -> String {
    match a.db_engine {
        DbEngine::Postgresql => utf8_percent_encode(a.db_password.expose(), USERINFO).to_string(),
        // go-sql-driver/mysql takes the password raw: the last '@' before the last '/'
        // ends it, so every character is allowed.
        DbEngine::Mariadb | DbEngine::Mysql => a.db_password.expose().to_owned(),
    }
}

/// `SqlSettings.DriverName`.
pub fn driver(a: &Answers) -> &'static str {
    match a.db_engine {
        DbEngine::Postgresql => "postgres",
        DbEngine::Mariadb | DbEngine::Mysql => "mysql",
    }
}

/// `SqlSettings.DataSource`, password included: goes only into the 0600 config.json.
pub fn data_source(a: &Answers) -> String {
    let user = &a.db_user;
    let pw = escaped_password(a);
    let db = &a.db_name;
    match a.db_engine {
        DbEngine::Postgresql => match a.remote_db() {
            None => format!(
                "postgres://{user}:{pw}@localhost:5432/{db}?sslmode=disable&connect_timeout=10"
            ),
            Some(r) => {
                let host = match r.host.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
                    _ => r.host.clone(),
                };
                // Mattermost reads the CA as its service user: the install's copy.
                let root = a
                    .db_ca_copy()
                    .map(|f| {
                        format!(
                            "&sslrootcert={}",
                            utf8_percent_encode(&f.to_string_lossy(), USERINFO)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "postgres://{user}:{pw}@{host}:{}/{db}?sslmode={}{root}&connect_timeout=10",
                    r.port,
                    r.sslmode.name()
                )
            }
        },
        DbEngine::Mariadb | DbEngine::Mysql => {
            format!("{user}:{pw}@unix({MYSQL_SOCKET})/{db}?charset=utf8mb4,utf8&writeTimeout=30s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::from_json;

    const NASTY: &str = "' \" \\ $ ` @ / : % # x";

    fn answers(engine: &str) -> Answers {
        let json = serde_json::json!({
            "domain": "chat.example.com", "db_engine": engine, "db_password": NASTY,
            "version": "10.11.23"
        });
        from_json(&json.to_string(), None).unwrap()
    }

    #[test]
    fn postgres_password_is_percent_encoded() {
        let dsn = data_source(&answers("postgresql"));
        assert_eq!(
            dsn,
            "postgres://mmuser:%27%20%22%20%5C%20%24%20%60%20%40%20%2F%20%3A%20%25%20%23%20x@localhost:5432/mattermost?sslmode=disable&connect_timeout=10"
        );
    }

    #[test]
    fn mysql_password_is_raw_and_parses_back_like_go_sql_driver() {
        let dsn = data_source(&answers("mariadb"));
        // go-sql-driver: last '/' → dbname; last '@' before it → end of credentials;
        // first ':' → user/password split.
        let slash = dsn.rfind('/').unwrap();
        let at = dsn[..slash].rfind('@').unwrap();
        let colon = dsn[..at].find(':').unwrap();
        assert_eq!(&dsn[..colon], "mmuser");
        assert_eq!(&dsn[colon + 1..at], NASTY);
        assert!(dsn[slash + 1..].starts_with("mattermost?charset=utf8mb4"));
    }
}

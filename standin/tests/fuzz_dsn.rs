//! No-panic fuzzing of the stand-in's DataSource parsers (they read what the installer
//! wrote into config.json, as lib/pq and go-sql-driver/mysql do): `FUZZ_CASES`
//! generated inputs per target (default 2 000 in CI; `benches/fuzz.sh` runs 100 000),
//! half random strings, half mutations of valid DSNs. An `Err` is fine; a panic fails
//! with the shrunk input.
#![allow(clippy::unwrap_used)]

use mattermost_standin::dsn;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn runner() -> TestRunner {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A valid DSN with characters inserted, replaced or removed (by char, so the
/// result stays a `str`, as config.json's JSON string is).
fn mutated(seed: &'static str) -> impl Strategy<Value = String> {
    let chars: Vec<char> = seed.chars().collect();
    let len = chars.len();
    prop::collection::vec((0..len, any::<char>(), 0u8..3), 0..6).prop_map(move |edits| {
        let mut c = chars.clone();
        for (at, ch, op) in edits {
            let at = at.min(c.len());
            match op {
                0 if at < c.len() => c[at] = ch,
                1 => c.insert(at, ch),
                _ if at < c.len() => {
                    c.remove(at);
                }
                _ => {}
            }
        }
        c.into_iter().collect()
    })
}

#[test]
fn fuzz_postgres_and_mysql_data_sources() {
    let inputs = prop_oneof![
        any::<String>(),
        mutated(
            "postgres://mmuser:p%27%20q%40z@localhost:5432/mattermost?sslmode=disable&connect_timeout=10"
        ),
        mutated("postgres://mmuser:secret@/mattermost?host=/var/run/postgresql&sslmode=disable"),
        mutated(
            "mmuser:p'q@z@unix(/run/mysqld/mysqld.sock)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s"
        ),
        mutated("mmuser:secret@tcp(127.0.0.1:3306)/mattermost?readTimeout=1m30s"),
    ];
    runner()
        .run(&inputs, |s| {
            let _ = dsn::parse_postgres(&s);
            let _ = dsn::parse_mysql(&s);
            for driver in ["postgres", "mysql"] {
                let _ = dsn::redact(driver, &s);
                let _ = dsn::password_spellings(driver, &s);
            }
            let _ = dsn::parse_go_duration(&s);
            Ok(())
        })
        .unwrap();
}

//! What a release carries besides the installer: `--version` (the commit and the
//! releases table's date, from build.rs) and the answers file's JSON Schema
//! (assets/answers.schema.json) — current, valid for the README's examples, and in
//! agreement with the parser on keys, types, enums and defaults.
//!
//! The release artifacts themselves (static binaries, packages, SHA256SUMS) are checked
//! by `scripts/release.sh verify`, which CI runs before this suite (.ci/run).

use std::path::{Path, PathBuf};
use std::process::Command;

use mattermost_setup::answers;
use serde_json::{Value, json};

#[allow(dead_code, unreachable_pub)]
#[path = "../../build.rs"]
mod build_script;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mattermost-setup"))
}

/// The date in the releases table's `source` line, read here without build.rs.
fn table_date_from_source() -> String {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("assets/mattermost-releases.json")).unwrap(),
    )
    .unwrap();
    if let Some(d) = table["date"].as_str() {
        return d.to_owned();
    }
    let source = table["source"].as_str().unwrap();
    let dates: Vec<&str> = source
        .split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter(|w| {
            w.len() == 10
                && w.as_bytes()[4] == b'-'
                && w.as_bytes()[7] == b'-'
                && !w[..4].contains('-')
        })
        .collect();
    (*dates
        .iter()
        .max()
        .expect("the table's source line names a date"))
    .to_owned()
}

#[test]
fn version_names_the_commit_and_the_releases_table_date() {
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim_end();
    let short = Command::new(bin()).arg("-V").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&short.stdout).trim_end(), line);

    let rest = line
        .strip_prefix(&format!(
            "mattermost-setup {} (commit ",
            env!("CARGO_PKG_VERSION")
        ))
        .unwrap_or_else(|| panic!("{line:?} does not start with the name and version"));
    let (commit, rest) = rest
        .split_once(", releases table ")
        .unwrap_or_else(|| panic!("{line:?}"));
    let date = rest.strip_suffix(')').unwrap_or_else(|| panic!("{line:?}"));
    assert_eq!(date, table_date_from_source(), "{line:?}");

    // The commit is this checkout's HEAD (unless the build was told otherwise).
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo())
        .output();
    match (std::env::var("MATTERMOST_SETUP_COMMIT"), head) {
        (Ok(given), _) if !given.trim().is_empty() => assert_eq!(commit, given.trim()),
        (_, Ok(h)) if h.status.success() => {
            let head = String::from_utf8(h.stdout).unwrap();
            assert_eq!(commit.len(), 12, "{line:?}");
            assert!(head.starts_with(commit), "{commit} is not HEAD {head}");
        }
        _ => assert_eq!(commit, "unknown", "{line:?}"),
    }
}

#[test]
fn build_script_reads_the_table_date_and_prefers_an_explicit_one() {
    use build_script::table_date;
    assert_eq!(
        table_date(r#"{"source": "docs (commit 9dd1c713, 2026-08-21). Archive since 2016-01-01.", "releases": []}"#).as_deref(),
        Some("2026-08-21")
    );
    assert_eq!(
        table_date(r#"{"date": "2027-01-02", "source": "2026-08-21"}"#).as_deref(),
        Some("2027-01-02")
    );
    assert_eq!(
        table_date(r#"{"source": "no date here", "releases": []}"#),
        None
    );
    assert_eq!(table_date("{}"), None);
    let committed =
        std::fs::read_to_string(repo().join("assets/mattermost-releases.json")).unwrap();
    assert_eq!(table_date(&committed), Some(table_date_from_source()));
}

#[test]
fn committed_schema_is_what_the_code_generates() {
    let path = repo().join("assets/answers.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == answers::schema_json(),
        "{} is not what the code generates; regenerate it with\n  cargo run -- generate schema > assets/answers.schema.json",
        path.display()
    );
    // `generate schema` prints the same document.
    let out = Command::new(bin())
        .args(["generate", "schema"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&answers::schema()).expect("the schema is a valid JSON Schema")
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The answers documents in the README: ```json blocks, and the JSON of
/// `echo '{...}' > FILE.json` lines in shell blocks.
fn readme_answers_examples(readme: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut block: Option<(String, String)> = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        match &mut block {
            None => {
                if let Some(lang) = trimmed.strip_prefix("```") {
                    block = Some((lang.trim().to_owned(), String::new()));
                }
            }
            Some((lang, body)) => {
                if trimmed.starts_with("```") {
                    if lang == "json" {
                        docs.push(body.clone());
                    }
                    block = None;
                } else if lang == "json" {
                    body.push_str(line);
                    body.push('\n');
                } else if let Some(rest) = trimmed.split_once("echo '").map(|(_, r)| r) {
                    if let Some((json, after)) = rest.split_once('\'') {
                        if after.trim_start().starts_with('>') && after.contains(".json") {
                            docs.push(json.to_owned());
                        }
                    }
                }
            }
        }
    }
    docs
}

#[test]
fn readme_answers_examples_validate_against_the_schema_and_parse() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let docs = readme_answers_examples(&readme);
    assert!(!docs.is_empty(), "no answers example found in README.md");
    let v = validator();
    for doc in &docs {
        let value: Value = serde_json::from_str(doc)
            .unwrap_or_else(|e| panic!("README example is not JSON ({e}):\n{doc}"));
        // Only answers files: a JSON block that is an object with the required key.
        if value.get("domain").is_none() {
            continue;
        }
        let errors = schema_errors(&v, &value);
        assert!(
            errors.is_empty(),
            "README example fails the schema: {errors:?}\n{doc}"
        );
        // Secrets read from files would need the files: the parser is asked about the
        // rest of the document.
        let mut parsed = value.clone();
        for key in [
            "db_password_file",
            "admin_password_file",
            "s3_secret_access_key_file",
        ] {
            if parsed.as_object_mut().unwrap().remove(key).is_some() {
                let inline = key.trim_end_matches("_file");
                parsed[inline] = json!("a-password-from-a-file");
            }
        }
        answers::from_json(&parsed.to_string(), None)
            .unwrap_or_else(|e| panic!("README example is refused by the parser: {e}\n{doc}"));
    }
}

#[test]
fn the_readme_example_finder_sees_json_blocks_and_echo_lines() {
    let readme = "```sh\necho '{\"domain\": \"a.example.com\"}' > answers.json && run\n```\n\
                  text\n```json\n{\"domain\": \"b.example.com\",\n \"tls\": \"none\"}\n```\n\
                  ```sh\necho 'not json' | cat\n```\n";
    let docs = readme_answers_examples(readme);
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert!(docs[1].contains("b.example.com"));
}

fn schema_valid(v: &jsonschema::Validator, doc: &Value) -> bool {
    v.is_valid(doc)
}

fn parser_valid(doc: &Value) -> Result<(), String> {
    answers::from_json(&doc.to_string(), None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A version the bundled table lists, and its published SHA-256.
fn listed_release() -> (String, String) {
    let r = mattermost_setup::releases::table()
        .first()
        .expect("the bundled table is not empty");
    (r.version.to_string(), r.sha256.clone())
}

#[test]
fn schema_and_parser_agree_on_sample_documents() {
    let v = validator();
    let (listed, listed_sha) = listed_release();
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "from-a-file-123\n").unwrap();
    let pw_file = pw_file.to_str().unwrap();

    let accepted = [
        json!({"domain": "chat.example.com"}),
        json!({"domain": "chat.example.com", "db_engine": "postgresql", "db_name": "mm_prod",
               "db_user": "mm", "db_password": "correct horse 9", "install_dir": "/opt/mm",
               "data_dir": "/var/mm-data", "edition": "team", "version": "latest",
               "proxy": "nginx", "tls": "letsencrypt", "letsencrypt_email": "ops@example.com",
               "letsencrypt_agree_tos": true, "retention_days": 365,
               "retention_keep_pinned": false, "adopt_existing": true}),
        json!({"domain": "chat.example.com", "tls": "existing", "tls_cert": "/etc/ssl/c.pem",
               "tls_key": "/etc/ssl/k.pem"}),
        json!({"domain": "chat.example.com", "db_engine": "mariadb", "version": "10.11.23"}),
        json!({"domain": "chat.example.com", "version": listed, "sha256": listed_sha.to_uppercase()}),
        json!({"domain": "chat.example.com", "version": "11.99.0", "sha256": "a".repeat(64)}),
        json!({"domain": "chat.example.com", "db_password_file": pw_file,
               "admin_username": "boss", "admin_email": "boss@example.com",
               "admin_password_file": pw_file, "team_name": "crew"}),
        json!({"domain": "chat.example.com", "tarball": "/root/mm.tar.gz"}),
        json!({"domain": "chat.example.com", "download_base_url": "https://mirror.example.com/mm"}),
        json!({"domain": "chat.example.com", "tls": null, "sha256": null, "admin_username": null,
               "retention_days": null, "letsencrypt_agree_tos": null}),
    ];
    for doc in &accepted {
        assert!(
            schema_valid(&v, doc),
            "schema refuses {doc}: {:?}",
            schema_errors(&v, doc)
        );
        if let Err(e) = parser_valid(doc) {
            panic!("parser refuses {doc}: {e}");
        }
    }

    let refused = [
        json!([]),
        json!("chat.example.com"),
        json!({}),
        json!({"domain": null}),
        json!({"domain": 7}),
        json!({"domain": "chat.example.com", "domian": "x"}),
        json!({"domain": "chat.example.com", "db_engine": "oracle"}),
        json!({"domain": "chat.example.com", "db_engine": "PostgreSQL"}),
        json!({"domain": "chat.example.com", "edition": "free"}),
        json!({"domain": "chat.example.com", "proxy": "caddy"}),
        json!({"domain": "chat.example.com", "tls": "yes"}),
        json!({"domain": "chat.example.com", "tls": true}),
        json!({"domain": "chat.example.com", "db_name": "Mattermost"}),
        json!({"domain": "chat.example.com", "db_user": "mm-user"}),
        json!({"domain": "chat.example.com", "db_password": "short"}),
        json!({"domain": "chat.example.com", "db_password": 12_345_678}),
        json!({"domain": "chat.example.com", "install_dir": "opt/mattermost"}),
        json!({"domain": "chat.example.com", "data_dir": "/srv/mm data"}),
        json!({"domain": "chat.example.com", "adopt_existing": "yes"}),
        json!({"domain": "chat.example.com", "version": "11.7"}),
        json!({"domain": "chat.example.com", "version": "v11.7.9"}),
        json!({"domain": "chat.example.com", "version": 11}),
        json!({"domain": "chat.example.com", "sha256": "a".repeat(64)}),
        json!({"domain": "chat.example.com", "version": "latest", "sha256": "a".repeat(64)}),
        json!({"domain": "chat.example.com", "version": "11.99.0", "sha256": "xyz"}),
        json!({"domain": "chat.example.com", "tls": "letsencrypt"}),
        json!({"domain": "chat.example.com", "tls": "letsencrypt", "letsencrypt_email": "a@example.com"}),
        json!({"domain": "chat.example.com", "tls": "letsencrypt", "letsencrypt_email": "a@example.com",
               "letsencrypt_agree_tos": false}),
        json!({"domain": "chat.example.com", "tls": "existing", "tls_cert": "/c.pem"}),
        json!({"domain": "chat.example.com", "tls_cert": "c.pem"}),
        json!({"domain": "chat.example.com", "acme_ca_bundle": "ca.pem"}),
        json!({"domain": "chat.example.com", "db_password": "long enough 1", "db_password_file": pw_file}),
        json!({"domain": "chat.example.com", "admin_username": "boss"}),
        json!({"domain": "chat.example.com", "admin_email": "boss@example.com", "admin_password": "long enough 1"}),
        json!({"domain": "chat.example.com", "admin_password": "long enough 1"}),
        json!({"domain": "chat.example.com", "admin_username": "Boss", "admin_email": "b@example.com",
               "admin_password": "long enough 1"}),
        json!({"domain": "chat.example.com", "admin_username": "boss", "admin_email": "b@example.com",
               "admin_password": "x".repeat(73)}),
        json!({"domain": "chat.example.com", "team_name": "crew"}),
        json!({"domain": "chat.example.com", "retention_days": 0}),
        json!({"domain": "chat.example.com", "retention_days": 36_501}),
        json!({"domain": "chat.example.com", "retention_days": "365"}),
        json!({"domain": "chat.example.com", "retention_keep_pinned": 1}),
        json!({"domain": "chat.example.com", "tarball": "/root/mm.tar.gz",
               "download_base_url": "https://mirror.example.com"}),
        json!({"domain": "chat.example.com", "download_base_url": "ftp://mirror.example.com"}),
    ];
    for doc in &refused {
        assert!(!schema_valid(&v, doc), "schema accepts {doc}");
        assert!(parser_valid(doc).is_err(), "parser accepts {doc}");
    }
}

/// Every key, given a value of a type no key takes, is refused by both; given null,
/// accepted by both (null is absent), except the one required key.
#[test]
fn every_key_has_the_same_type_verdict_in_schema_and_parser() {
    let v = validator();
    let schema = answers::schema();
    let props = schema["properties"].as_object().unwrap();
    for key in props.keys() {
        for wrong in [json!({"x": 1}), json!([1])] {
            let mut doc = json!({"domain": "chat.example.com"});
            doc[key] = wrong;
            assert!(!schema_valid(&v, &doc), "schema accepts {doc}");
            let e = parser_valid(&doc).expect_err(&format!("parser accepts {doc}"));
            assert!(e.contains(key.as_str()), "{key}: {e}");
        }
        let mut doc = json!({"domain": "chat.example.com"});
        doc[key] = Value::Null;
        let want = key != "domain";
        assert_eq!(schema_valid(&v, &doc), want, "schema on {doc}");
        assert_eq!(parser_valid(&doc).is_ok(), want, "parser on {doc}");
    }
}

/// Each default the schema states is what the parser fills in for a minimal file.
#[test]
fn schema_defaults_are_the_parsers() {
    let schema = answers::schema();
    let minimal = answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
    let filled: Value = serde_json::from_str(&minimal.to_json_with_secrets()).unwrap();
    let mut with_default = Vec::new();
    for (key, prop) in schema["properties"].as_object().unwrap() {
        let Some(default) = prop.get("default") else {
            continue;
        };
        with_default.push(key.as_str());
        // Booleans that are false are left out of the saved form.
        let got = filled.get(key).cloned().unwrap_or(Value::Bool(false));
        assert_eq!(
            &got, default,
            "{key}: schema default {default}, parser fills in {got}"
        );
    }
    for key in [
        "db_engine",
        "db_name",
        "db_user",
        "install_dir",
        "adopt_existing",
        "edition",
        "version",
        "proxy",
        "tls",
        "letsencrypt_agree_tos",
        "retention_keep_pinned",
    ] {
        assert!(
            with_default.contains(&key),
            "{key} has no default in the schema"
        );
    }
    // Every property has a description (editors show it).
    for (key, prop) in schema["properties"].as_object().unwrap() {
        assert!(
            prop.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.len() > 10),
            "{key} has no description"
        );
    }
    assert_eq!(schema["required"], json!(["domain"]));
    assert_eq!(schema["additionalProperties"], json!(false));
}

/// The enums' values are exactly what the parser takes.
#[test]
fn schema_enums_are_the_parsers_choices() {
    let schema = answers::schema();
    let v = validator();
    for (key, values) in [
        ("db_engine", &["postgresql", "mariadb", "mysql"][..]),
        ("edition", &["enterprise", "team"][..]),
        ("proxy", &["apache", "nginx"][..]),
        ("tls", &["none", "letsencrypt", "existing"][..]),
    ] {
        let text = schema.to_string();
        for value in values {
            assert!(
                text.contains(&format!("\"{value}\"")),
                "{key}: {value} not in the schema"
            );
            let mut doc = json!({"domain": "chat.example.com"});
            doc[key] = json!(value);
            if key == "db_engine" && *value != "postgresql" {
                doc["version"] = json!("10.11.23");
            }
            if *value == "letsencrypt" {
                doc["letsencrypt_email"] = json!("ops@example.com");
                doc["letsencrypt_agree_tos"] = json!(true);
            }
            if *value == "existing" {
                doc["tls_cert"] = json!("/c.pem");
                doc["tls_key"] = json!("/k.pem");
            }
            assert!(schema_valid(&v, &doc), "schema refuses {doc}");
            parser_valid(&doc).unwrap_or_else(|e| panic!("parser refuses {doc}: {e}"));
        }
    }
    assert_eq!(
        mattermost_setup::answers::DbEngine::ALL,
        ["postgresql", "mariadb", "mysql"]
    );
}

#[test]
fn generate_writes_man_pages_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["generate", "man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = std::fs::read_to_string(dir.path().join("mattermost-setup.1")).unwrap();
    assert!(page.contains(".TH mattermost-setup 1"), "{page}");
    for sub in [
        "install",
        "plan",
        "status",
        "repair",
        "reconfigure",
        "upgrade",
        "uninstall",
        "retention",
    ] {
        let sub_page = dir.path().join(format!("mattermost-setup-{sub}.1"));
        assert!(Path::new(&sub_page).exists(), "no page for {sub}");
        assert!(page.contains(sub), "main page does not list {sub}");
    }
    assert!(
        !dir.path().join("mattermost-setup-generate.1").exists(),
        "the hidden command got a page"
    );
    for (shell, marker, answers_flag) in [
        ("bash", "complete -F", "--answers"),
        ("zsh", "#compdef mattermost-setup", "--answers"),
        ("fish", "complete -c mattermost-setup", "-l answers"),
    ] {
        let out = Command::new(bin())
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("install") && script.contains(answers_flag),
            "{shell}: {script}"
        );
        assert!(
            !script.contains("generate"),
            "{shell} completes the hidden command"
        );
    }
}

//! "`plan` prints exactly what `apply` writes" (issue 10): the plan printed before an
//! install, compared with what the install wrote.

use std::collections::BTreeSet;

use super::freshbox::FreshBox;

/// A file of `plan --json`.
#[derive(Debug, serde::Deserialize)]
pub struct PlannedFile {
    pub path: String,
    pub mode: u32,
    pub owner: String,
    pub content: String,
}

/// A config.json edit of `plan --json` (the DataSource's password is masked there).
#[derive(Debug, serde::Deserialize)]
pub struct PlannedEdit {
    pub section: String,
    pub key: String,
    pub value: serde_json::Value,
}

/// How `plan --json` prints a value that holds the database password.
const MASKED: &str = "(contains the database password)";

/// The box until the certificate is in place (TLS plans): the http site and SiteURL.
#[derive(Debug, serde::Deserialize)]
pub struct UntilCertificate {
    pub site: PlannedFile,
    pub site_url: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct Planned {
    /// Whether Mattermost runs on this machine (not on a database or proxy machine).
    pub mattermost: bool,
    pub files: Vec<PlannedFile>,
    pub config_json: String,
    pub config_edits: Vec<PlannedEdit>,
    pub until_certificate: Option<UntilCertificate>,
}

/// What `mattermost-setup plan --answers /root/answers.json --json` prints now.
pub fn planned(b: &FreshBox) -> Planned {
    let json = b.exec_ok("mattermost-setup plan --answers /root/answers.json --json 2>/dev/null");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("plan --json: {e}\n{json}"))
}

/// The files the tool itself keeps (its records and answers), which the plan does not
/// list: what they hold is checked by the tests of those records.
const RECORDS: [&str; 2] = ["/etc/mattermost-setup/", "/var/lib/mattermost-setup/"];

/// Every file in `p` is on the box byte for byte, with the planned mode and owner;
/// every planned config.json edit is in config.json; and every file the ownership
/// record says the tool wrote is in the plan — except its own records and the
/// `unplanned` paths, which the caller names with the reason.
pub fn assert_written_as_planned(b: &FreshBox, p: &Planned, unplanned: &[(&str, &str)]) {
    let mut problems = Vec::new();
    for f in &p.files {
        problems.extend(file_problems(b, f));
    }
    let cfg: serde_json::Value = if p.mattermost {
        serde_json::from_str(&b.exec_ok(&format!("cat '{}'", p.config_json))).unwrap()
    } else {
        serde_json::Value::Null
    };
    for e in p.config_edits.iter().filter(|_| p.mattermost) {
        let on_box = &cfg[&e.section][&e.key];
        let same = if e.value == MASKED {
            // The DataSource: planned with the password masked; on the box it is
            // there (the login checks of the database phase prove it works).
            on_box.as_str().is_some_and(|s| s.contains('@'))
        } else {
            *on_box == e.value
        };
        if !same {
            problems.push(format!(
                "config.json {}.{}: {} on the box, {} planned",
                e.section, e.key, cfg[&e.section][&e.key], e.value
            ));
        }
    }
    let own: serde_json::Value =
        serde_json::from_str(&b.exec_ok("cat /var/lib/mattermost-setup/ownership.json")).unwrap();
    let planned: BTreeSet<&str> = p
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(p.mattermost.then_some(p.config_json.as_str()))
        .collect();
    for path in own["files"].as_object().unwrap().keys() {
        let known = planned.contains(path.as_str())
            || RECORDS.iter().any(|r| path.starts_with(r))
            || unplanned.iter().any(|(u, _)| u == path);
        if !known {
            problems.push(format!("{path}: written by the install, not in the plan"));
        }
    }
    assert!(
        problems.is_empty(),
        "the install did not write what `plan` printed:\n{}",
        problems.join("\n")
    );
}

/// How the file on the box differs from `f` (content, mode, owner); empty when not.
fn file_problems(b: &FreshBox, f: &PlannedFile) -> Vec<String> {
    let out = b.exec(&format!("cat '{}'", f.path));
    let on_box = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return vec![format!("{}: planned, not written", f.path)];
    }
    let mut problems = Vec::new();
    if on_box != f.content {
        problems.push(format!(
            "{}: written differs from the plan\n--- planned\n{}\n--- written\n{}",
            f.path, f.content, on_box
        ));
    }
    let meta = b.exec_ok(&format!("stat -c '%a %U' '{}'", f.path));
    let want = format!("{:o} {}", f.mode, f.owner);
    if meta.trim() != want {
        problems.push(format!(
            "{}: {} on the box, {want} planned",
            f.path,
            meta.trim()
        ));
    }
    problems
}

/// A run that ended before the certificate (TLS deferred): the proxy site is the
/// plan's http site byte for byte, and SiteURL the plan's http URL.
pub fn assert_written_until_certificate(b: &FreshBox, p: &Planned) {
    let until = p
        .until_certificate
        .as_ref()
        .expect("a TLS plan says what the box is until the certificate is in place");
    let mut problems = file_problems(b, &until.site);
    let cfg: serde_json::Value =
        serde_json::from_str(&b.exec_ok(&format!("cat '{}'", p.config_json))).unwrap();
    if cfg["ServiceSettings"]["SiteURL"] != until.site_url.as_str() {
        problems.push(format!(
            "SiteURL: {} on the box, {} planned until the certificate",
            cfg["ServiceSettings"]["SiteURL"], until.site_url
        ));
    }
    assert!(
        problems.is_empty(),
        "the deferred install did not write what `plan` printed for it:\n{}",
        problems.join("\n")
    );
}

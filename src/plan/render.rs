//! The plan in words, with a diff for every file that already exists on the box.

use std::fmt::Write;

use serde_json::Value;

use super::{Plan, PlannedFile, Source};
use crate::host::Host;

/// Text for `mattermost-setup plan`. Reads the box (files, config.json); changes nothing.
pub fn render_text(plan: &Plan, host: &Host) -> String {
    let mut o = String::new();
    let r = &plan.release;
    if let Some(m) = &plan.machine {
        let _ = writeln!(
            o,
            "Machine {m} of Mattermost {} at {}",
            r.version, plan.site_url
        );
    } else {
        let _ = writeln!(
            o,
            "Mattermost {} ({}) for {}",
            r.version, r.edition, plan.site_url
        );
    }
    if plan.mattermost {
        release_lines(&mut o, plan);
    }
    let _ = writeln!(o, "\nPackages (apt-get install, only those missing):");
    let _ = writeln!(o, "  {}", plan.packages.join(" "));

    let d = &plan.database;
    if !d.changes.is_empty() {
        let _ = writeln!(o, "\nDatabase ({}, {}):", d.engine, d.unit);
        for c in &d.changes {
            let _ = writeln!(o, "  - {c}");
        }
    }
    if !d.script.is_empty() {
        let _ = writeln!(
            o,
            "  SQL as the database superuser (the password goes in as a literal where it says {}):",
            super::database::PASSWORD
        );
        for l in &d.script {
            let _ = writeln!(o, "    {l}");
        }
    }
    if let Some(server) = &d.server {
        let _ = writeln!(
            o,
            "  Server settings (ALTER SYSTEM, as the postgres superuser):"
        );
        for st in &server.settings {
            let _ = writeln!(o, "    {} = '{}'", st.name, st.value);
        }
        let _ = writeln!(
            o,
            "  Its block in pg_hba.conf (the file's other lines are kept):"
        );
        for l in server.hba_block.lines() {
            let _ = writeln!(o, "    | {l}");
        }
    }
    if plan.mattermost {
        mattermost_lines(&mut o, plan, host);
    }
    files_and_services(&mut o, plan, host);
    o
}

/// One planned file: its content when new, "unchanged", or the diff from the box.
fn file_lines(o: &mut String, f: &PlannedFile, host: &Host) {
    let existing = host
        .read(&f.path)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    match existing {
        None => {
            let _ = writeln!(o, "  + {} (new, mode {:o}):", f.path.display(), f.mode);
            for l in f.content.lines() {
                let _ = writeln!(o, "    | {l}");
            }
        }
        Some(old) if old == f.content => {
            let _ = writeln!(o, "  = {} (unchanged)", f.path.display());
        }
        Some(old) => {
            let _ = writeln!(
                o,
                "  ~ {} (changed; the current file is backed up first):",
                f.path.display()
            );
            let diff = similar::TextDiff::from_lines(&old, &f.content);
            let text = diff
                .unified_diff()
                .context_radius(2)
                .header(
                    &format!("{} (now)", f.path.display()),
                    &format!("{} (planned)", f.path.display()),
                )
                .to_string();
            for l in text.lines() {
                let _ = writeln!(o, "    {l}");
            }
        }
    }
}

fn release_lines(o: &mut String, plan: &Plan) {
    let r = &plan.release;
    let from = match &r.source {
        Source::Url(u) => format!("download {u}"),
        Source::File(p) => format!("local tarball {}", p.display()),
    };
    match &r.signature {
        None => {
            let _ = writeln!(
                o,
                "  {from}\n  SHA-256 {} (from the {})",
                r.sha256, r.sha256_from
            );
        }
        Some(key) => {
            let _ = writeln!(
                o,
                "  {from}\n  no published SHA-256: verified by gpgv with its .sig and Mattermost's key {} (from {})",
                key.fingerprint,
                key.keyring
                    .as_ref()
                    .map_or_else(|| key.key_url.clone(), |k| k.display().to_string())
            );
        }
    }
}

fn mattermost_lines(o: &mut String, plan: &Plan, host: &Host) {
    let _ = writeln!(o, "\nMattermost in {}:", plan.install_dir.display());
    let _ = writeln!(o, "  - system user and group mattermost");
    for dir in &plan.directories {
        let _ = writeln!(o, "  - directory {} owned by mattermost", dir.display());
    }
    let _ = writeln!(
        o,
        "  - {} (mode 600, owner mattermost), keys set:",
        plan.config_json.display()
    );
    let current: Option<Value> = host
        .read(&plan.config_json)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok());
    for e in &plan.config_edits {
        let now = current
            .as_ref()
            .and_then(|c| c.get(e.section))
            .and_then(|s| s.get(e.key));
        let show = |v: &Value| {
            if e.secret && e.key == "DataSource" {
                "(DSN with the database password)".to_owned()
            } else if e.secret {
                "(secret)".to_owned()
            } else {
                v.to_string()
            }
        };
        match now {
            Some(v) if v == &e.value => {
                let _ = writeln!(o, "      {}.{} = {} (already)", e.section, e.key, show(v));
            }
            Some(v) => {
                let _ = writeln!(
                    o,
                    "      {}.{}: {} -> {}",
                    e.section,
                    e.key,
                    show(v),
                    show(&e.value)
                );
            }
            None => {
                let _ = writeln!(o, "      {}.{} = {}", e.section, e.key, show(&e.value));
            }
        }
    }

    if !plan.config_edits.iter().any(|e| e.key == "SiteURL") {
        let _ = writeln!(
            o,
            "      ServiceSettings.SiteURL = \"{}\" once the certificate is in place (\"{}\" until then)",
            plan.site_url,
            plan.until_certificate
                .as_ref()
                .map_or(plan.site_url.as_str(), |u| u.site_url.as_str())
        );
    }
}

fn files_and_services(o: &mut String, plan: &Plan, host: &Host) {
    let _ = writeln!(o, "\nFiles:");
    for f in &plan.files {
        file_lines(o, f, host);
    }
    if let Some(until) = &plan.until_certificate {
        let _ = writeln!(
            o,
            "\nUntil the certificate is in place (this site, then the one above; SiteURL {}):",
            until.site_url
        );
        file_lines(o, &until.site, host);
        if !until.apache_modules.is_empty() {
            let _ = writeln!(o, "  Apache modules: {}", until.apache_modules.join(" "));
        }
    }
    if let Some(c) = &plan.certbot {
        let _ = writeln!(o, "\nCertificate from {}:", c.server);
        let _ = writeln!(o, "  certbot {}", c.request.join(" "));
        let _ = writeln!(
            o,
            "  renewal checked with: certbot {}",
            c.renewal_check.join(" ")
        );
    }
    if !plan.apache_modules.is_empty() {
        let _ = writeln!(o, "\nApache modules: {}", plan.apache_modules.join(" "));
    }
    let _ = writeln!(o, "\nServices:");
    for s in &plan.services {
        let _ = writeln!(o, "  - {s}");
    }
}

//! The systemd units that run the retention job (`retention`, a layer above) daily,
//! rendered from `assets/templates/mattermost-retention.{service,timer}`. Part of the
//! plan when `retention_days` is set; the housekeeping phase writes them.

use std::path::PathBuf;

use super::{PlannedFile, SERVICE_USER, db_unit};
use crate::answers::Answers;

const SERVICE: &str = include_str!("../../assets/templates/mattermost-retention.service");
const TIMER: &str = include_str!("../../assets/templates/mattermost-retention.timer");

pub const SERVICE_PATH: &str = "/etc/systemd/system/mattermost-retention.service";
pub const TIMER_PATH: &str = "/etc/systemd/system/mattermost-retention.timer";

/// Where the timer's unit finds the installer (a copy made by the housekeeping phase).
pub const PROGRAM: &str = "/usr/local/lib/mattermost-setup/mattermost-setup";
pub const SERVICE_UNIT: &str = "mattermost-retention.service";
pub const TIMER_UNIT: &str = "mattermost-retention.timer";

use super::templates::fill;
use crate::grammar::{self, systemd};

/// Where the job appends what it deleted: next to Mattermost's own log, writable
/// by the service user the job runs as.
pub fn log_path(a: &Answers) -> PathBuf {
    a.install_path("logs/retention.log")
}

/// The plan's line for the timer, when retention is on.
pub fn plan_line(a: &Answers) -> Option<String> {
    a.retention_days.map(|d| {
        format!(
            "{}: enabled, daily; deletes messages older than {d} days{} (dry run: mattermost-setup retention --dry-run)",
            TIMER_UNIT,
            if a.retention_keep_pinned { ", pinned posts kept" } else { "" }
        )
    })
}

/// The two unit files, or none when retention is off.
pub fn planned(a: &Answers) -> Vec<PlannedFile> {
    let Some(days) = a.retention_days else {
        return Vec::new();
    };
    let days = days.to_string();
    let config = a.config_json();
    let log = log_path(a);
    let vars = [
        ("days", days.as_str()),
        (
            "keep_pinned",
            if a.retention_keep_pinned {
                "true"
            } else {
                "false"
            },
        ),
        (
            "pinned_word",
            if a.retention_keep_pinned {
                "kept"
            } else {
                "deleted too"
            },
        ),
        ("user", SERVICE_USER),
        ("program", PROGRAM),
        // In the comment (a line of its own, control characters defused) and, quoted
        // for systemd, in ExecStart=.
        (
            "config",
            &grammar::without_control(&config.to_string_lossy()),
        ),
        ("config_arg", &systemd::arg(&config.to_string_lossy())),
        ("log_arg", &systemd::arg(&log.to_string_lossy())),
        ("db_unit", db_unit(a.db_engine)),
    ];
    vec![
        PlannedFile {
            path: PathBuf::from(SERVICE_PATH),
            mode: 0o644,
            owner: "root",
            content: fill(SERVICE, &vars),
        },
        PlannedFile {
            path: PathBuf::from(TIMER_PATH),
            mode: 0o644,
            owner: "root",
            content: fill(TIMER, &vars),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_rendered_when_set() {
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        assert!(planned(&a).is_empty());
        let a = crate::answers::from_json(
            r#"{"domain": "chat.example.com", "retention_days": 90, "retention_keep_pinned": false}"#,
            None,
        )
        .unwrap();
        let files = planned(&a);
        assert_eq!(files.len(), 2);
        for f in &files {
            assert!(!f.content.contains("{{"), "{}", f.content);
        }
        let svc = &files[0].content;
        assert!(svc.contains(
            "ExecStart=/usr/local/lib/mattermost-setup/mattermost-setup retention --config /opt/mattermost/config/config.json --days 90 --keep-pinned false --log /opt/mattermost/logs/retention.log"
        ), "{svc}");
        assert!(svc.contains("User=mattermost") && svc.contains("Type=oneshot"));
        assert!(svc.contains("After=postgresql.service mattermost.service"));
        assert!(files[1].content.contains("Persistent=true"));
        assert!(files[1].content.contains("WantedBy=timers.target"));
        let plan = crate::plan::Plan::new(&a).unwrap();
        assert!(plan.file(TIMER_PATH).is_some(), "part of the plan");
    }
}

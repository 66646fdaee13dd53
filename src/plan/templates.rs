//! The unit and vhost templates from assets/, filled from the answers.

use crate::answers::Answers;

use super::{UPLOAD_LIMIT, UPSTREAM, db_unit};

const UNIT: &str = include_str!("../../assets/templates/mattermost.service");
const APACHE_VHOST: &str = include_str!("../../assets/templates/apache-vhost.conf");

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{{{k}}}}}"), v)
    })
}

pub fn unit(a: &Answers) -> String {
    fill(
        UNIT,
        &[
            ("db_unit", db_unit(a.db_engine)),
            ("install_dir", &a.install_dir.to_string_lossy()),
        ],
    )
}

pub fn apache_vhost(a: &Answers) -> String {
    let host = UPSTREAM.split(':').next().unwrap_or(UPSTREAM);
    fill(
        APACHE_VHOST,
        &[
            ("domain", &a.domain),
            ("upstream", UPSTREAM),
            ("upstream_host", host),
            ("upload_limit", &UPLOAD_LIMIT.to_string()),
        ],
    )
}

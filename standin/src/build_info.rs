//! Identity baked in at compile time (see `build.rs`).

/// The Mattermost version this stand-in pretends to be.
pub const VERSION: &str = match option_env!("STANDIN_VERSION") {
    Some(v) if !v.is_empty() => v,
    _ => "0.0.0",
};

/// Fixed build date, in the format the real binary prints.
pub const BUILD_DATE: &str = "Mon Jan  1 00:00:00 UTC 2024";

/// Build hash printed by `version`.
pub const BUILD_HASH: &str = "standin";

/// `true` for the Enterprise Edition build, `false` for Team Edition.
pub fn enterprise_ready() -> bool {
    !matches!(option_env!("STANDIN_EDITION"), Some("team"))
}

/// `"enterprise"` or `"team"`.
pub fn edition() -> &'static str {
    if enterprise_ready() {
        "enterprise"
    } else {
        "team"
    }
}

/// Fault injection: the server starts normally but reports itself unhealthy.
pub fn fault_unhealthy() -> bool {
    matches!(option_env!("STANDIN_FAULT"), Some("unhealthy"))
}

/// `(major, minor, patch)` of [`VERSION`]; missing parts are 0.
pub fn version_triple() -> (u64, u64, u64) {
    parse_version_triple(VERSION)
}

/// Parses the leading `X.Y.Z` of a version string; missing parts are 0.
pub fn parse_version_triple(v: &str) -> (u64, u64, u64) {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let mut parts = core.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().unwrap_or(0)
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

/// The lines `mattermost version` prints.
pub fn version_text() -> String {
    format!(
        "Version: {VERSION}\nBuild Number: {VERSION}\nBuild Date: {BUILD_DATE}\nBuild Hash: {BUILD_HASH}\nBuild Enterprise Ready: {}\n",
        enterprise_ready()
    )
}

#[cfg(test)]
mod tests {
    use super::parse_version_triple;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version_triple("10.11.4"), (10, 11, 4));
        assert_eq!(parse_version_triple("11.0.0-rc1"), (11, 0, 0));
        assert_eq!(parse_version_triple("9"), (9, 0, 0));
        assert_eq!(parse_version_triple(""), (0, 0, 0));
    }
}

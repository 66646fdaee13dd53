//! Bakes the stand-in's identity in at compile time.
//!
//! `STANDIN_VERSION`, `STANDIN_EDITION` and `STANDIN_FAULT` are read with
//! `option_env!` in `src/build_info.rs`; this script only makes cargo rebuild
//! the crate when one of them changes and rejects values the stand-in cannot
//! represent, so a typo fails the build instead of producing a wrong binary.

fn valid_version(v: &str) -> bool {
    let (core, suffix) = match v.split_once('-') {
        Some((core, suffix)) => (core, Some(suffix)),
        None => (v, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let core_ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let suffix_ok = suffix
        .is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'));
    core_ok && suffix_ok
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["STANDIN_VERSION", "STANDIN_EDITION", "STANDIN_FAULT"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let version = std::env::var("STANDIN_VERSION").unwrap_or_default();
    assert!(
        version.is_empty() || valid_version(&version),
        "STANDIN_VERSION must look like X.Y.Z (optionally -suffix), got {version:?}"
    );
    let edition = std::env::var("STANDIN_EDITION").unwrap_or_default();
    assert!(
        matches!(edition.as_str(), "" | "enterprise" | "team"),
        "STANDIN_EDITION must be \"enterprise\" or \"team\", got {edition:?}"
    );
    let fault = std::env::var("STANDIN_FAULT").unwrap_or_default();
    assert!(
        matches!(fault.as_str(), "" | "unhealthy"),
        "STANDIN_FAULT must be empty or \"unhealthy\", got {fault:?}"
    );
}

//! Release artifacts for the fresh-box tests on Debian 11, 12 and 13: the static (musl)
//! x86_64 installer binary and the .deb, as `scripts/release.sh` writes them to `dist/`.
//!
//! - `static_binary()`: `$MMS_STATIC_BINARY`, else a static x86_64 ELF in `dist/` whose
//!   name starts with `mattermost-setup` and mentions x86_64/amd64, else one built here
//!   with `cargo build --release --target x86_64-unknown-linux-musl` (cached by cargo).
//! - `deb_package()`: `$MMS_DEB`, else the one `mattermost-setup*amd64*.deb` (or
//!   `*x86_64*.deb`) in `dist/`. No .deb is a failure under `CI=true` or
//!   `FRESHBOX_REQUIRED=1` and a loud skip otherwise (`deb_or_skip`).
//!
//! `$MMS_DIST_DIR` moves `dist/` (default: the workspace's `dist/`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Rust target of the static x86_64 binaries.
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-musl";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the release script puts its artifacts.
pub fn dist_dir() -> PathBuf {
    match std::env::var_os("MMS_DIST_DIR") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => root().join("dist"),
    }
}

fn loud(msg: &str) {
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

/// `Ok` when `bytes` are an x86_64 ELF executable with no program interpreter (static,
/// or static-pie): it starts on any Linux whatever its C library. `Err(why)` otherwise.
pub fn static_x86_64_elf(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF".into());
    }
    if u16_at(18) != Some(62) {
        return Err(format!("machine {:?}, not x86_64 (62)", u16_at(18)));
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return Err("truncated ELF header".into());
    };
    for i in 0..usize::from(phnum) {
        let off = usize::try_from(phoff).unwrap_or(usize::MAX) + i * usize::from(phentsize);
        match u32_at(off) {
            Some(3) => return Err("dynamically linked (it has a PT_INTERP)".into()),
            Some(_) => {}
            None => return Err("truncated program headers".into()),
        }
    }
    Ok(())
}

fn is_deb(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("deb"))
}

/// A static x86_64 `mattermost-setup` in `dist/`, if the release script made one.
pub fn static_binary_in_dist() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dist_dir())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("mattermost-setup")
                && (n.contains("x86_64") || n.contains("amd64"))
                && !is_deb(p)
        })
        .filter(|p| std::fs::read(p).is_ok_and(|b| static_x86_64_elf(&b).is_ok()))
        .collect();
    found.sort();
    found.pop()
}

/// The static x86_64 installer for boxes whose glibc is older than the host's (Debian 11):
/// `$MMS_STATIC_BINARY`, else the release script's in `dist/`, else built here (once per
/// process; cargo caches it in `target/x86_64-unknown-linux-musl/release/`). Panics when it
/// is not a static x86_64 ELF, or when the build fails (with the fix).
pub fn static_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let path = if let Some(p) = std::env::var_os("MMS_STATIC_BINARY").filter(|v| !v.is_empty())
        {
            PathBuf::from(p)
        } else if let Some(p) = static_binary_in_dist() {
            p
        } else {
            build_static_binary()
        };
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read the static binary {}: {e}", path.display()));
        if let Err(why) = static_x86_64_elf(&bytes) {
            panic!("{} is not a static x86_64 binary: {why}", path.display());
        }
        loud(&format!(
            "freshbox: static installer binary: {} ({} bytes)\n",
            path.display(),
            bytes.len()
        ));
        path
    })
    .clone()
}

fn build_static_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    loud(&format!(
        "freshbox: no static binary in {} (scripts/release.sh makes one): building it with \
         cargo build --release --target {STATIC_TARGET} (a few minutes the first time)\n",
        dist_dir().display()
    ));
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let out = Command::new(&cargo)
        .current_dir(root())
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "mattermost-setup",
            "--target",
            STATIC_TARGET,
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.to_string_lossy()));
    assert!(
        out.status.success(),
        "cargo build --target {STATIC_TARGET} failed ({}). The target needs `rustup target add \
         {STATIC_TARGET}` and a C compiler for ring (`apt-get install musl-tools`):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    target_dir
        .join(STATIC_TARGET)
        .join("release/mattermost-setup")
}

/// The x86_64 .deb the release script made: `$MMS_DEB`, else the newest
/// `mattermost-setup*_amd64.deb` (or `*x86_64*.deb`) in `dist/`.
pub fn deb_package() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MMS_DEB").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dist_dir())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("mattermost-setup")
                && is_deb(p)
                && (n.contains("amd64") || n.contains("x86_64"))
        })
        .collect();
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.pop()
}

/// Whether a missing .deb is a failure: in CI (`CI=true`) or with `FRESHBOX_REQUIRED=1`.
pub fn deb_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("FRESHBOX_REQUIRED").is_ok_and(|v| v == "1")
}

/// The .deb, or `None` after a loud skip message; panics when it is required (CI).
pub fn deb_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(p) = deb_package() {
        assert!(
            p.is_file(),
            "{test}: the .deb {} does not exist",
            p.display()
        );
        return Some(p);
    }
    let why = format!(
        "no mattermost-setup*_amd64.deb in {} (run scripts/release.sh first, or set MMS_DEB)",
        dist_dir().display()
    );
    assert!(
        !deb_required(),
        "{test}: CI=true / FRESHBOX_REQUIRED=1 but {why}"
    );
    loud(&format!(
        "\n!!!!!!!! SKIPPED {test}: {why}\n\
         !!!!!!!! (CI=true or FRESHBOX_REQUIRED=1 makes this a failure)\n\n"
    ));
    None
}

/// The bytes of `/usr/bin/mattermost-setup` inside the .deb (read on the host with
/// `dpkg-deb --fsys-tarfile` and `tar`).
pub fn binary_in_deb(deb: &Path) -> Vec<u8> {
    let out = Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; dpkg-deb --fsys-tarfile \"$1\" | tar -xO ./usr/bin/mattermost-setup")
        .arg("bash")
        .arg(deb)
        .output()
        .unwrap_or_else(|e| panic!("cannot run dpkg-deb: {e}"));
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "no ./usr/bin/mattermost-setup in {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

//! Stand-in Mattermost tarballs, built once per test run by
//! tests/support/standin-tarball.sh, laid out like releases.mattermost.com.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The stand-in versions the tests install: not in the bundled table, so the
/// installer needs the explicit sha256 (as an air-gapped operator would give).
pub const V11: &str = "11.7.90";
pub const V10: &str = "10.11.90";
/// A newer 11.x to upgrade to, and one whose server answers ping with 500.
pub const V11_NEXT: &str = "11.8.90";
pub const V11_BROKEN: &str = "11.9.90";

pub struct Mirror {
    pub dir: PathBuf,
    sums: HashMap<String, String>,
}

impl Mirror {
    /// The SHA-256 of `VERSION/FILE`.
    pub fn sha256(&self, version: &str, edition: &str) -> String {
        let file = match edition {
            "team" => format!("{version}/mattermost-team-{version}-linux-amd64.tar.gz"),
            _ => format!("{version}/mattermost-{version}-linux-amd64.tar.gz"),
        };
        self.sums
            .get(&file)
            .cloned()
            .unwrap_or_else(|| panic!("no tarball {file} in {}", self.dir.display()))
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the tarballs (once) and reads their checksums.
pub fn mirror() -> &'static Mirror {
    static M: OnceLock<Mirror> = OnceLock::new();
    M.get_or_init(|| {
        let dir = root().join("target/standin-mirror");
        for (versions, fault) in [
            (&[V11, V10, V11_NEXT][..], ""),
            (&[V11_BROKEN][..], "unhealthy"),
        ] {
            let status = Command::new("bash")
                .arg(root().join("tests/support/standin-tarball.sh"))
                .arg(&dir)
                .args(versions)
                .env("FAULT", fault)
                .status()
                .expect("run standin-tarball.sh");
            assert!(status.success(), "standin-tarball.sh failed");
        }
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
        let sums = sums
            .lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(s, f)| (f.trim().to_owned(), s.trim().to_owned()))
            .collect();
        Mirror { dir, sums }
    })
}

/// The installer binary under test (release build in CI: `cargo test --release`).
pub fn installer() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mattermost-setup"))
}

/// Stand-in tarballs whose binaries are static (built for `x86_64-unknown-linux-musl`),
/// as the real Mattermost binaries are (Go, statically linked): they run on Debian 11,
/// whose glibc 2.31 cannot start the host-built stand-in. `V10` only (the release that
/// runs there); `V11` is the host-built one of `mirror()`, copied in, for a box that must
/// refuse it before any download (built static it would cost two more builds).
pub fn static_mirror() -> &'static Mirror {
    static M: OnceLock<Mirror> = OnceLock::new();
    M.get_or_init(|| {
        let dir = root().join("target/standin-mirror-static");
        let status = Command::new("bash")
            .arg(root().join("tests/support/standin-tarball.sh"))
            .arg(&dir)
            .arg(V10)
            .env("FAULT", "")
            .env(
                "CARGO_BUILD_TARGET",
                crate::support::artifacts::STATIC_TARGET,
            )
            .status()
            .expect("run standin-tarball.sh");
        assert!(
            status.success(),
            "standin-tarball.sh (static stand-ins for {}) failed",
            crate::support::artifacts::STATIC_TARGET
        );
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
        let mut sums: HashMap<String, String> = sums
            .lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(s, f)| (f.trim().to_owned(), s.trim().to_owned()))
            .filter(|(f, _)| f.starts_with(&format!("{V10}/")))
            .collect();
        let glibc = mirror();
        std::fs::create_dir_all(dir.join(V11)).expect("mkdir");
        for edition in ["enterprise", "team"] {
            let file = match edition {
                "team" => format!("{V11}/mattermost-team-{V11}-linux-amd64.tar.gz"),
                _ => format!("{V11}/mattermost-{V11}-linux-amd64.tar.gz"),
            };
            std::fs::copy(glibc.dir.join(&file), dir.join(&file)).expect("copy the V11 tarball");
            sums.insert(file, glibc.sha256(V11, edition));
        }
        Mirror { dir, sums }
    })
}

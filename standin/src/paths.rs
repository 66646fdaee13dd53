//! File and directory lookup modelled on Mattermost's `fileutils.FindPath`:
//! a relative name is searched relative to the working directory and its
//! parents, then relative to the executable's directory and its parents.

use std::path::{Path, PathBuf};

const BASES: [&str; 4] = [".", "..", "../..", "../../.."];

/// Directory containing the running executable.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// Candidate locations for `rel`, in search order.
pub fn candidates(rel: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = BASES.iter().map(|b| Path::new(b).join(rel)).collect();
    if let Some(exe) = exe_dir() {
        out.extend(BASES.iter().map(|b| exe.join(b).join(rel)));
    }
    out
}

/// First existing file named `rel`.
pub fn find_file(rel: &str) -> Option<PathBuf> {
    candidates(rel).into_iter().find(|p| p.is_file())
}

/// First existing directory named `rel`; `MM_SERVER_PATH` is tried first,
/// as the real server does for its support directories.
pub fn find_dir(rel: &str) -> Option<PathBuf> {
    if let Ok(root) = std::env::var("MM_SERVER_PATH") {
        let p = Path::new(&root).join(rel);
        if !root.is_empty() && p.is_dir() {
            return Some(p);
        }
    }
    candidates(rel).into_iter().find(|p| p.is_dir())
}

/// Makes `p` absolute (relative to the working directory) for messages.
pub fn display_abs(p: &Path) -> String {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p))
    };
    // Drop `.` components (lexically; `..` is kept).
    abs.components().collect::<PathBuf>().display().to_string()
}

//! OS release, memory, free disk.

use std::collections::HashMap;
use std::path::Path;

/// /etc/os-release as key → value.
pub fn os_release(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// MemTotal from /proc/meminfo, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// Free bytes for unprivileged... no: for root (f_bavail is what non-root gets; root
/// may use the reserve, but we plan with the smaller number) on the filesystem that
/// holds `path`, or its nearest existing ancestor.
pub fn free_bytes(path: &Path) -> Option<(std::path::PathBuf, u64)> {
    let mut p = path.to_path_buf();
    loop {
        if p.exists() {
            let st = rustix::fs::statvfs(&p).ok()?;
            return Some((p, st.f_bavail.saturating_mul(st.f_frsize)));
        }
        if !p.pop() {
            return None;
        }
    }
}

/// Who holds dpkg's frontend lock (another apt, unattended-upgrades), from
/// /proc/locks: `(pid, command)`.
pub fn dpkg_lock_holder(root: &Path) -> Option<(u32, String)> {
    let meta = std::fs::metadata(root.join("var/lib/dpkg/lock-frontend")).ok()?;
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    let locks = std::fs::read_to_string(root.join("proc/locks")).ok()?;
    // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
    let pid = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let dev_inode = f.get(5)?;
        (dev_inode.rsplit(':').next()?.parse::<u64>().ok()? == inode)
            .then(|| f.get(4)?.parse::<u32>().ok())?
    })?;
    let comm = std::fs::read_to_string(root.join(format!("proc/{pid}/comm"))).unwrap_or_default();
    Some((pid, comm.trim().to_owned()))
}

/// "1.5 GiB"
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_and_meminfo() {
        let os = os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        );
        assert_eq!(os["ID"], "debian");
        assert_eq!(os["VERSION_ID"], "12");
        assert_eq!(
            mem_total("MemTotal:        2048000 kB\nMemFree: 1 kB\n"),
            Some(2_097_152_000)
        );
    }

    #[test]
    fn free_space_of_a_missing_path_is_its_parents() {
        let (at, free) = free_bytes(Path::new("/tmp/does/not/exist/yet")).unwrap();
        assert_eq!(at, Path::new("/tmp"));
        assert!(free > 0);
        assert_eq!(human_bytes(1536 * 1024 * 1024), "1.5 GiB");
    }
}

//! OS release, memory, free disk.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
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

/// The locks apt and dpkg take, in the order apt takes them.
/// dpkg's locks, and the package lists' (held by `apt-get update`, which does not
/// wait for it: an update orphaned by a killed run would fail the next run's at once).
const DPKG_LOCKS: [&str; 3] = [
    "var/lib/dpkg/lock-frontend",
    "var/lib/dpkg/lock",
    "var/lib/apt/lists/lock",
];

/// Who holds dpkg's lock (another apt, unattended-upgrades, a dpkg run), from
/// /proc/locks: `(pid, command)`. Only the lock apt and dpkg themselves take counts:
/// a POSIX (`fcntl(F_SETLK)`) write lock on the same file — same device and inode.
/// A `flock` or a read lock on the file, which apt ignores, is not a holder.
pub fn dpkg_lock_holder(root: &Path) -> Option<(u32, String)> {
    let locks = std::fs::read_to_string(root.join("proc/locks")).ok()?;
    DPKG_LOCKS.iter().find_map(|file| {
        let meta = std::fs::metadata(root.join(file)).ok()?;
        let pid = posix_write_lock_holder(&locks, meta.dev(), meta.ino())?;
        let comm =
            std::fs::read_to_string(root.join(format!("proc/{pid}/comm"))).unwrap_or_default();
        Some((pid, comm.trim().to_owned()))
    })
}

/// The pid holding a POSIX write lock on (`dev`, `ino`) in a /proc/locks text:
/// `1: POSIX  ADVISORY  WRITE 1234 fe:01:5678 0 EOF` (fs/locks.c prints the
/// device as hex major:minor); blocked waiters (`1: -> POSIX ...`) are skipped.
fn posix_write_lock_holder(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        rustix::fs::major(dev),
        rustix::fs::minor(dev)
    );
    locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            [_, "POSIX", _, "WRITE", pid, id, ..] if *id == want => pid.parse().ok(),
            _ => None,
        }
    })
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
    fn only_a_posix_write_lock_on_the_same_device_and_inode_holds_dpkg() {
        let dev = rustix::fs::makedev(0xfe, 1);
        let locks = "1: FLOCK  ADVISORY  WRITE 11 fe:01:77 0 EOF\n\
                     2: POSIX  ADVISORY  READ  12 fe:01:77 0 EOF\n\
                     3: POSIX  ADVISORY  WRITE 13 fe:02:77 0 EOF\n\
                     3: -> POSIX  ADVISORY  WRITE 14 fe:01:77 0 EOF\n";
        assert_eq!(posix_write_lock_holder(locks, dev, 77), None);
        let held = format!("{locks}4: POSIX  ADVISORY  WRITE 15 fe:01:77 0 EOF\n");
        assert_eq!(posix_write_lock_holder(&held, dev, 77), Some(15));
        assert_eq!(posix_write_lock_holder(&held, dev, 78), None);
    }

    /// Real locks on a real file, read back through the real /proc/locks: a flock
    /// (what apt ignores) is not a holder; an fcntl write lock (what apt takes) is.
    #[test]
    fn real_locks_from_proc_locks() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
        let lock = root.path().join("var/lib/dpkg/lock-frontend");
        std::fs::write(&lock, b"").unwrap();
        std::os::unix::fs::symlink("/proc", root.path().join("proc")).unwrap();
        let hold_on = |lock: &Path, how: &str| {
            let mut child = std::process::Command::new("python3")
                .args([
                    "-c",
                    &format!(
                        "import fcntl,sys,time\nf=open(sys.argv[1],'w')\nfcntl.{how}(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(30)"
                    ),
                ])
                .arg(lock)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert_eq!(line.trim(), "held");
            child
        };
        let hold = |how: &str| hold_on(&lock, how);
        let mut flock = hold("flock");
        assert_eq!(dpkg_lock_holder(root.path()), None);
        flock.kill().unwrap();
        flock.wait().unwrap();
        let mut posix = hold("lockf");
        let holder = dpkg_lock_holder(root.path());
        posix.kill().unwrap();
        posix.wait().unwrap();
        assert_eq!(holder, Some((posix.id(), "python3".to_owned())));
        // apt-get update's lock on the package lists counts too.
        std::fs::create_dir_all(root.path().join("var/lib/apt/lists")).unwrap();
        let lists = root.path().join("var/lib/apt/lists/lock");
        std::fs::write(&lists, b"").unwrap();
        assert_eq!(dpkg_lock_holder(root.path()), None);
        let mut update = hold_on(&lists, "lockf");
        let holder = dpkg_lock_holder(root.path());
        update.kill().unwrap();
        update.wait().unwrap();
        assert_eq!(holder, Some((update.id(), "python3".to_owned())));
    }

    #[test]
    fn free_space_of_a_missing_path_is_its_parents() {
        let (at, free) = free_bytes(Path::new("/tmp/does/not/exist/yet")).unwrap();
        assert_eq!(at, Path::new("/tmp"));
        assert!(free > 0);
        assert_eq!(human_bytes(1536 * 1024 * 1024), "1.5 GiB");
    }
}

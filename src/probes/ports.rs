//! Who listens on a TCP port: /proc/net/tcp{,6} for the socket, /proc/*/fd for its process.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub pid: u32,
    pub command: String,
}

const LISTEN: &str = "0A";

/// Socket inodes listening on `port` in a /proc/net/tcp-format table.
pub fn listening_inodes(table: &str, port: u16) -> HashSet<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            let p = u16::from_str_radix(local_port, 16).ok()?;
            (p == port && *f.get(3)? == LISTEN).then(|| f.get(9)?.parse().ok())?
        })
        .collect()
}

/// The processes listening on `port`, or an empty list when it is free.
/// `proc_root` is `/proc` on a real box.
pub fn listeners(proc_root: &Path, port: u16) -> Vec<Listener> {
    let mut inodes = HashSet::new();
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(t) = fs::read_to_string(proc_root.join(table)) {
            inodes.extend(listening_inodes(&t, port));
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let Ok(procs) = fs::read_dir(proc_root) else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let owns = fds.flatten().any(|fd| {
            fs::read_link(fd.path()).ok().is_some_and(|target| {
                let t = target.to_string_lossy();
                t.strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| inodes.contains(&n))
            })
        });
        if owns {
            let command = fs::read_to_string(entry.path().join("comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            found.push(Listener { pid, command });
        }
    }
    found.sort_by_key(|l| l.pid);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F81 00000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 4242 1 0000000000000000 100 0 0 10 0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn finds_listening_sockets_by_port() {
        assert_eq!(listening_inodes(TABLE, 8065), HashSet::from([4242]));
        assert_eq!(listening_inodes(TABLE, 80), HashSet::from([777]));
        assert!(listening_inodes(TABLE, 443).is_empty());
    }

    #[test]
    fn finds_our_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = listeners(Path::new("/proc"), port);
        assert!(
            found.iter().any(|x| x.pid == std::process::id()),
            "{found:?}"
        );
    }
}

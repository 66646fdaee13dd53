//! systemd readiness notification (`sd_notify(READY=1)`), as the real
//! server sends it after it has started listening.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use crate::error::{Error, Result};
use crate::log::Logger;

/// Sends `msg` to the datagram socket named by `target` (a path, or an
/// abstract name written with a leading `@`).
pub fn send(target: &str, msg: &[u8]) -> Result<()> {
    let sock = UnixDatagram::unbound()
        .map_err(|e| Error::new(format!("cannot create notify socket: {e}")))?;
    let sent = if let Some(name) = target.strip_prefix('@') {
        let addr = SocketAddr::from_abstract_name(name.as_bytes())
            .map_err(|e| Error::new(format!("invalid abstract socket name {target:?}: {e}")))?;
        sock.send_to_addr(msg, &addr)
    } else {
        sock.send_to(msg, target)
    };
    sent.map(|_| ())
        .map_err(|e| Error::new(format!("dial unixgram {target}: {e}")))
}

/// If `NOTIFY_SOCKET` is set, tells systemd the server is ready. Failures
/// are logged, not fatal, like in the real server.
pub fn notify_ready(log: &Logger) {
    let Ok(target) = std::env::var("NOTIFY_SOCKET") else {
        return;
    };
    if target.is_empty() {
        return;
    }
    log.info("Sending systemd READY notification.", &[]);
    if let Err(e) = send(&target, b"READY=1") {
        log.error(e.message(), &[]);
    }
}

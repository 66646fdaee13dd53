//! The login of `lib/pq`, the real server's PostgreSQL driver: a startup message
//! and SCRAM-SHA-256 over the password's bytes exactly as the DataSource gives
//! them.
//!
//! Why the stand-in needs it although it runs its SQL through `psql`: PostgreSQL
//! stores the SCRAM secret of the password after `SASLprep`
//! (`pg_be_scram_build_secret`, src/backend/libpq/auth-scram.c), and libpq — so
//! psql — applies `SASLprep` again before it logs in (`scram_init`,
//! src/interfaces/libpq/fe-auth-scram.c). lib/pq does not: conn.go hands the raw
//! password to its SCRAM client (`case proto.AuthReqSASL:` →
//! `scram.NewClient(sha256.New, o["user"], o["password"])`), which salts those
//! bytes (`saltPassword` in scram/scram.go: `hmac.New(c.newHash,
//! []byte(c.pass))`). A password with a no-break space, a ligature, a full-width
//! letter or a combining accent logs in with psql and fails with the real
//! server. The stand-in's ping logs in this way first, so it fails where the real
//! server fails.
//!
//! Over TLS too: the SSLRequest and the handshake follow lib/pq's ssl.go
//! ([`crate::pgtls`]), so a DataSource whose certificate check lib/pq refuses
//! stops the stand-in with lib/pq's error, even where psql would accept it.
//! Where the server asks for a cleartext or MD5 password, libpq and lib/pq send
//! the same bytes, so psql's answer stands.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::dsn::PgTarget;
use crate::error::{Error, Result, fail};
use crate::util::{base64_decode, base64_encode};

/// Protocol 3.0.
const PROTOCOL: i32 = 196_608;
/// When the DataSource sets no `connect_timeout` (lib/pq then waits forever; a
/// test should not).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the lib/pq-style login found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// SCRAM with the raw password succeeded (or the server trusts the user).
    Accepted,
    /// Not a SCRAM login (cleartext, MD5, no user name): psql logs in
    /// exactly as lib/pq would (after the TLS checks, which ran here).
    NotApplicable,
}

use crate::pgtls::PgStream as Stream;

fn timeout(t: &PgTarget) -> Option<Duration> {
    match t.connect_timeout.as_deref().map(str::parse::<u64>) {
        Some(Ok(0)) => None,
        Some(Ok(s)) => Some(Duration::from_secs(s)),
        _ => Some(DEFAULT_TIMEOUT),
    }
}

fn connect(t: &PgTarget) -> Result<Box<dyn Stream>> {
    let limit = timeout(t);
    if t.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", t.host, t.port);
        let s =
            UnixStream::connect(&path).map_err(|e| Error::new(format!("dial unix {path}: {e}")))?;
        s.set_read_timeout(limit.or(Some(DEFAULT_TIMEOUT)))
            .map_err(|e| Error::new(e.to_string()))?;
        return Ok(Box::new(s));
    }
    let addr = format!("{}:{}", t.host, t.port);
    let mut last = Error::new(format!("dial tcp {addr}: no address"));
    let addrs = (t.host.as_str(), t.port.parse::<u16>().unwrap_or(5432))
        .to_socket_addrs()
        .map_err(|e| Error::new(format!("dial tcp {addr}: {e}")))?;
    for a in addrs {
        let conn = match limit {
            Some(d) => TcpStream::connect_timeout(&a, d),
            None => TcpStream::connect(a),
        };
        match conn {
            Ok(s) => {
                s.set_read_timeout(limit.or(Some(DEFAULT_TIMEOUT)))
                    .map_err(|e| Error::new(e.to_string()))?;
                return match crate::pgtls::plan(t)? {
                    Some(plan) => crate::pgtls::upgrade(s, t, &plan),
                    None => Ok(Box::new(s)),
                };
            }
            Err(e) => last = Error::new(format!("dial tcp {a}: {e}")),
        }
    }
    Err(last)
}

fn send(s: &mut dyn Stream, kind: Option<u8>, body: &[u8]) -> Result<()> {
    let mut msg = Vec::with_capacity(body.len() + 5);
    if let Some(k) = kind {
        msg.push(k);
    }
    let len = i32::try_from(body.len() + 4).map_err(|_| Error::new("message too long"))?;
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(body);
    s.write_all(&msg)
        .map_err(|e| Error::new(format!("pq: write: {e}")))
}

fn recv(s: &mut dyn Stream) -> Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head)
        .map_err(|e| Error::new(format!("pq: read: {e}")))?;
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    let len = usize::try_from(len - 4).map_err(|_| Error::new("pq: bad message length"))?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)
        .map_err(|e| Error::new(format!("pq: read: {e}")))?;
    if head[0] == b'E' {
        return Err(server_error(&body));
    }
    Ok((head[0], body))
}

/// An `ErrorResponse` as lib/pq prints it: `pq: <message>`.
fn server_error(body: &[u8]) -> Error {
    let mut message = String::from("unknown error");
    for field in body.split(|&b| b == 0) {
        if let Some((&b'M', text)) = field.split_first() {
            message = String::from_utf8_lossy(text).into_owned();
        }
    }
    Error::new(format!("pq: {message}"))
}

fn auth_code(body: &[u8]) -> Result<(i32, &[u8])> {
    if body.len() < 4 {
        return fail("pq: short authentication message");
    }
    Ok((
        i32::from_be_bytes([body[0], body[1], body[2], body[3]]),
        &body[4..],
    ))
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(Sha256::digest(key).as_slice());
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize().as_slice());
    let mut out = [0u8; 32];
    out.copy_from_slice(outer.finalize().as_slice());
    out
}

/// SCRAM's `Hi()` (PBKDF2-HMAC-SHA-256, one block) over the raw password.
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut u = hmac(password, &[salt, &[0, 0, 0, 1]]);
    let mut hi = u;
    for _ in 1..iterations {
        u = hmac(password, &[&u]);
        for (h, b) in hi.iter_mut().zip(u) {
            *h ^= b;
        }
    }
    hi
}

fn nonce() -> Result<String> {
    let mut buf = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| Error::new(format!("cannot read random SCRAM-SHA-256 nonce: {e}")))?;
    Ok(base64_encode(&buf))
}

/// The SCRAM-SHA-256 exchange after the server asked for SASL.
fn scram(s: &mut dyn Stream, user: &str, password: &[u8]) -> Result<()> {
    let client_nonce = nonce()?;
    let bare = format!(
        "n={},r={client_nonce}",
        user.replace('=', "=3D").replace(',', "=2C")
    );
    let first = format!("n,,{bare}");
    let mut body = Vec::new();
    cstr(&mut body, "SCRAM-SHA-256");
    let len = i32::try_from(first.len()).map_err(|_| Error::new("user name too long"))?;
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(first.as_bytes());
    send(s, Some(b'p'), &body)?;

    let (kind, body) = recv(s)?;
    let (code, server_first) = auth_code(&body)?;
    if kind != b'R' || code != 11 {
        return fail(format!(
            "pq: unexpected authentication response: {:?}",
            char::from(kind)
        ));
    }
    let server_first = String::from_utf8_lossy(server_first).into_owned();
    let field = |prefix: &str| {
        server_first
            .split(',')
            .find_map(|f| f.strip_prefix(prefix))
            .map(str::to_owned)
    };
    let (Some(server_nonce), Some(salt), Some(iterations)) =
        (field("r="), field("s="), field("i="))
    else {
        return fail(format!(
            "pq: SCRAM-SHA-256 error: invalid server-first message {server_first:?}"
        ));
    };
    if !server_nonce.starts_with(&client_nonce) {
        return fail("pq: SCRAM-SHA-256 error: server nonce is not prefixed by client nonce");
    }
    let salt = base64_decode(&salt)
        .ok_or_else(|| Error::new("pq: SCRAM-SHA-256 error: cannot decode salt"))?;
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| Error::new("pq: SCRAM-SHA-256 error: invalid iteration count"))?;

    let salted = salted_password(password, &salt, iterations);
    let without_proof = format!("c=biws,r={server_nonce}");
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let client_key = hmac(&salted, &[b"Client Key"]);
    let stored_key = Sha256::digest(client_key);
    let signature = hmac(stored_key.as_slice(), &[auth_message.as_bytes()]);
    let proof: Vec<u8> = client_key
        .iter()
        .zip(signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let last = format!("{without_proof},p={}", base64_encode(&proof));
    send(s, Some(b'p'), last.as_bytes())?;

    // A wrong password ends here with the server's ErrorResponse (28P01).
    let (kind, body) = recv(s)?;
    let (code, server_final) = auth_code(&body)?;
    if kind != b'R' || code != 12 {
        return fail(format!(
            "pq: unexpected authentication response: {:?}",
            char::from(kind)
        ));
    }
    let server_key = hmac(&salted, &[b"Server Key"]);
    let expected = format!(
        "v={}",
        base64_encode(&hmac(&server_key, &[auth_message.as_bytes()]))
    );
    if server_final != expected.as_bytes() {
        return fail("pq: SCRAM-SHA-256 error: cannot authenticate server signature");
    }
    Ok(())
}

/// Logs in the way lib/pq does and logs out again; see the module comment.
pub fn login(t: &PgTarget) -> Result<Login> {
    let Some(user) = t
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.is_empty())
    else {
        return Ok(Login::NotApplicable);
    };
    let mut s = connect(t)?;
    let mut startup = PROTOCOL.to_be_bytes().to_vec();
    let mut param = |k: &str, v: &str| {
        cstr(&mut startup, k);
        cstr(&mut startup, v);
    };
    param("user", &user);
    if let Some(db) = &t.dbname {
        param("database", db);
    }
    param("client_encoding", "UTF8");
    param("datestyle", "ISO, MDY");
    for (k, v) in &t.runtime_params {
        param(k, v);
    }
    if let Some(o) = &t.options {
        param("options", o);
    }
    startup.push(0);
    send(&mut *s, None, &startup)?;
    let password = t.password.clone().unwrap_or_default();
    loop {
        let (kind, body) = recv(&mut *s)?;
        match kind {
            b'R' => match auth_code(&body)? {
                (0, _) => {}
                (10, mechanisms) => {
                    let offered = mechanisms.split(|&b| b == 0).any(|m| m == b"SCRAM-SHA-256");
                    if !offered {
                        return fail("pq: SCRAM-SHA-256 is not offered by the server");
                    }
                    scram(&mut *s, &user, &password)?;
                }
                _ => return Ok(Login::NotApplicable),
            },
            b'Z' => {
                let _ = send(&mut *s, Some(b'X'), &[]);
                return Ok(Login::Accepted);
            }
            // ParameterStatus, BackendKeyData, notices.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example, computed the way this module does.
    #[test]
    fn rfc7677_example() {
        let salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let salted = salted_password(b"pencil", &salt, 4096);
        let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{bare},{server_first},{without_proof}");
        let client_key = hmac(&salted, &[b"Client Key"]);
        let stored = Sha256::digest(client_key);
        let sig = hmac(stored.as_slice(), &[auth.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(sig).map(|(k, s)| k ^ s).collect();
        assert_eq!(
            base64_encode(&proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let server_key = hmac(&salted, &[b"Server Key"]);
        assert_eq!(
            base64_encode(&hmac(&server_key, &[auth.as_bytes()])),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }
}

//! No-panic fuzzing of every parser that reads what the outside world wrote: HTTP
//! response heads (the WebSocket probe), answers files (typed by operators, saved by
//! older builds), certificate and key files (the operator's or certbot's), and the
//! proxy site files the status check reads. Each target takes `FUZZ_CASES` generated
//! inputs (default 2 000, what CI runs; `benches/fuzz.sh` runs 100 000) from proptest,
//! half random bytes and half mutations of valid inputs, so the parser gets past its
//! first check. An `Err` is fine; a panic fails the test with the shrunk input.

use mattermost_setup::answers::from_json;
use mattermost_setup::phases::tls::cert;
use mattermost_setup::plan::templates::declared_body_limit;
use mattermost_setup::probes::http::parse_head;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// A valid sample, mutated: bytes flipped, inserted, deleted, or the tail cut.
fn mutations(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len();
    prop::collection::vec((0..len.max(1), any::<u8>(), 0u8..4), 0..8).prop_map(move |edits| {
        let mut b = seed.clone();
        for (at, byte, op) in edits {
            let at = at.min(b.len());
            match op {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                2 if at < b.len() => {
                    b.remove(at);
                }
                _ => b.truncate(at),
            }
        }
        b
    })
}

fn inputs(seeds: &[&[u8]]) -> impl Strategy<Value = Vec<u8>> {
    let mutated: Vec<_> = seeds
        .iter()
        .map(|s| mutations(s.to_vec()).boxed())
        .collect();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::strategy::Union::new(mutated),
    ]
}

#[test]
fn fuzz_http_response_head() {
    let seeds: [&[u8]; 3] = [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Version-ID: 11.7.0\r\n\r\n5\r\nh\xc3\xa9llo\r\n0\r\n\r\n",
        b"HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad",
    ];
    runner()
        .run(&inputs(&seeds), |raw| {
            if let Ok(r) = parse_head(&raw) {
                let _ = r.header("Sec-WebSocket-Accept");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_answers_json() {
    let seeds: [&[u8]; 3] = [
        br#"{"domain": "chat.example.com"}"#,
        br#"{"domain": "chat.example.com", "db_engine": "mariadb", "version": "10.11.4", "edition": "team", "proxy": "nginx", "tls": "letsencrypt", "email": "a@b.example", "install_dir": "/opt/mattermost", "data_dir": "/srv/mm", "db_password": "p'\"\\ $x"}"#,
        br#"{"domain": "chat.example.com", "tls": "existing", "tls_cert": "/etc/ssl/a.pem", "tls_key": "/etc/ssl/a.key", "admin": {"username": "admin", "email": "a@b.example", "password": "x"}, "retention_days": 30}"#,
    ];
    runner()
        .run(&inputs(&seeds), |raw| {
            let _ = from_json(&String::from_utf8_lossy(&raw), None);
            Ok(())
        })
        .unwrap();
}

fn pem_pair() -> (Vec<u8>, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["chat.example.com".to_owned()]).unwrap();
    let c = params.self_signed(&key).unwrap();
    (c.pem().into_bytes(), key.serialize_pem().into_bytes())
}

#[test]
fn fuzz_certificate_and_key_files() {
    let (cert_pem, key_pem) = pem_pair();
    let seeds: [&[u8]; 2] = [&cert_pem, &key_pem];
    let trust = cert::Trust::from_certs(cert::parse_certs(&cert_pem).unwrap());
    runner()
        .run(&inputs(&seeds), |raw| {
            let chain = cert::parse_certs(&raw);
            let key = cert::parse_key(&raw);
            if let Ok(chain) = &chain {
                let _ = cert::not_after(chain, "chat.example.com", &trust);
                if let Ok(key) = &key {
                    let _ = cert::key_matches(chain, key);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_declared_body_limit_of_site_files() {
    let seeds: [&[u8]; 2] = [
        b"<VirtualHost *:80>\n  LimitRequestBody 104857600\n</VirtualHost>\n",
        b"server {\n  client_max_body_size 100M;\n  client_max_body_size 2g;\n}\n",
    ];
    runner()
        .run(&inputs(&seeds), |raw| {
            let s = String::from_utf8_lossy(&raw);
            for proxy in [
                mattermost_setup::answers::Proxy::Apache,
                mattermost_setup::answers::Proxy::Nginx,
            ] {
                let _ = declared_body_limit(proxy, &s);
            }
            Ok(())
        })
        .unwrap();
}

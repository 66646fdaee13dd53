//! Property test of every template that takes answers (issue 8, "values spliced into
//! files"): 10 000 seeded cases per file format, with random and hostile values
//! (spaces, quotes, backslashes, `$`, `%`, `;`, `#`, braces, `{{...}}`, `${...}`,
//! control characters, whole injected directives, non-ASCII). For each case either
//! the answers' validation refuses the value with a message naming its key, or the
//! rendered file
//! * has exactly the directives the template has (the same sequence of directive
//!   names as a rendering with plain values, counted here in Rust), and
//! * passes the real checker: `apache2 -t`, `nginx -t`, `systemd-analyze verify`,
//!   `sh -n`, run on batches (many sites included by one configuration, many units
//!   per call). Files named in a value are created at exactly that path first, so a
//!   checker that reads back a different path (a quoting mistake) fails too:
//!   Apache checks that SSLCertificateFile exists, nginx loads the certificate,
//!   systemd checks that ExecStart's program exists.
//!
//! A failing batch names the case: the checkers print the file (one per case) and
//! line, and the test prints that case's values.
//!
//! Needs apache2, nginx and systemd-analyze on the host (tests/run.sh installs
//! them); with CI=true or MMS_REQUIRE_DB=1 a missing one is a failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mattermost_setup::answers::{Answers, Proxy, from_json};
use mattermost_setup::plan::templates::{self, Site, SiteCert};

const CASES: usize = 10_000;
const SEED: u64 = 0x5eed_0008_0002;

// ------------------------------------------------------------------ generator

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces of hostile path segments: each format's special characters, whole
/// injected directives, template placeholders, control and non-ASCII characters.
const HOSTILE: [&str; 48] = [
    " ",
    "  ",
    "\"",
    "'",
    "\\",
    "\\\\",
    "$",
    "$$",
    "${X}",
    "${APACHE_LOG_DIR}",
    "$host",
    "%",
    "%%",
    "%n",
    "%{REMOTE_ADDR}",
    ";",
    "#",
    "{",
    "}",
    "{{proxy}}",
    "{{domain}}",
    "`",
    "&",
    "|",
    "<",
    ">",
    "*",
    "?",
    "[",
    "]",
    "(",
    ")",
    "=",
    ",",
    ":",
    "@",
    "!",
    "~",
    "é",
    "€",
    "😀",
    "\u{2028}",
    "\n",
    "\r",
    "\t",
    "\0",
    "\u{7f}",
    "\nExecStartPre=/bin/sh -c id\n",
];
const INJECTIONS: [&str; 5] = [
    "\nSSLEngine off\n",
    "\";\n    return 200;\n#",
    "\" \n</VirtualHost>\n<VirtualHost *:80>\n",
    "\\\n",
    "\"\nEnvironment=X=1\n",
];
const PLAIN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+";

fn segment(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..=rng.below(3) {
        if rng.chance(75) {
            let p = PLAIN.as_bytes();
            for _ in 0..=rng.below(6) {
                s.push(char::from(p[rng.below(p.len())]));
            }
        } else if rng.chance(8) {
            s.push_str(rng.pick(&INJECTIONS));
        } else {
            s.push_str(rng.pick(&HOSTILE));
        }
    }
    // "." and ".." are path syntax, not characters: keep them inside names only.
    if s == "." || s == ".." {
        s.push('x');
    }
    s
}

/// An absolute path under `root` with 1-3 random segments, sometimes with a
/// trailing backslash or space.
fn hostile_path(rng: &mut Rng, root: &Path) -> String {
    let mut p = root.to_string_lossy().into_owned();
    for _ in 0..=rng.below(3) {
        p.push('/');
        p.push_str(&segment(rng));
    }
    if rng.chance(3) {
        p.push_str(rng.pick(&["\\", " ", "\t"]));
    }
    p
}

// ------------------------------------------------------------ directive lists

/// Apache: logical lines (a trailing `\` joins the next), comments and blank lines
/// skipped; the first word of each is the directive (sections included).
fn apache_directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for raw in text.split('\n') {
        line.push_str(raw);
        if line.ends_with('\\') {
            line.pop();
            continue;
        }
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') {
            out.push(l.split_whitespace().next().unwrap_or("").to_owned());
        }
        line.clear();
    }
    out
}

/// nginx: tokens as `ngx_conf_read_token` reads them (quotes, backslash escapes,
/// `#` comments); the first token of each statement or block, and `}`.
fn nginx_directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' if !in_word => {
                let q = c;
                let mut w = String::new();
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            w.push(e);
                        }
                    } else if d == q {
                        break;
                    } else {
                        w.push(d);
                    }
                }
                words.push(w);
            }
            '#' if !in_word => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            ';' | '{' | '}' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if let Some(first) = words.first() {
                    out.push(first.clone());
                }
                if c == '}' {
                    out.push("}".into());
                }
                words.clear();
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                word.push(c);
                if let Some(e) = chars.next() {
                    word.push(e);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if !words.is_empty() || in_word {
        out.push("(unterminated)".into());
    }
    out
}

/// systemd: lines (a trailing unescaped `\` joins the next), `#`/`;` comments
/// skipped; `[Section]` or the key of `Key=value`.
fn systemd_directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for raw in text.split('\n') {
        line.push_str(raw);
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            line.pop();
            line.push(' ');
            continue;
        }
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') && !l.starts_with(';') {
            out.push(if l.starts_with('[') {
                l.to_owned()
            } else {
                l.split('=').next().unwrap_or("").trim().to_owned()
            });
        }
        line.clear();
    }
    out
}

// ------------------------------------------------------------------- helpers

fn checker_or_skip(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("MMS_REQUIRE_DB").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{program} is not installed, and CI=true / MMS_REQUIRE_DB=1 make this a failure \
         (tests/run.sh installs it)"
    );
    eprintln!(
        "\n*** SKIPPING the {program} part of the template property test: {program} is not installed \
         (apt-get install apache2 nginx; CI=true makes this a failure) ***\n"
    );
    false
}

fn sbin(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    c
}

/// Answers for a case; `Err` holds the keys the validation named.
fn validate(json: &serde_json::Value) -> Result<Answers, Vec<String>> {
    from_json(&json.to_string(), None).map_err(|e| e.0.into_iter().map(|f| f.field).collect())
}

fn refused_by_key(keys: &[String], hostile: &[&str], what: &str) {
    assert!(
        hostile.iter().any(|k| keys.iter().any(|f| f == k)),
        "{what}: refused, but naming {keys:?} instead of one of {hostile:?}"
    );
}

/// Runs a checker; on failure, names the case files its output mentions.
fn run_checker(mut cmd: Command, what: &str, cases: &BTreeMap<String, String>, quiet_ok: bool) {
    let start = std::time::Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    eprintln!("{what}: {:?}", start.elapsed());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let noisy = quiet_ok && !text.trim().is_empty();
    if out.status.success() && !noisy {
        return;
    }
    let named: Vec<&String> = cases
        .iter()
        .filter(|(file, _)| text.contains(file.as_str()))
        .map(|(_, values)| values)
        .collect();
    panic!(
        "{what} rejected a rendered file:\n{}\ncases named in that output:\n{named:#?}",
        text.chars().take(4000).collect::<String>()
    );
}

/// Thousands of small files: in memory (/dev/shm) when there is one.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

struct Material {
    cert: Vec<u8>,
    key: Vec<u8>,
}

fn material() -> Material {
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".to_owned()]).unwrap();
    Material {
        cert: ck.cert.pem().into_bytes(),
        key: ck.signing_key.serialize_pem().into_bytes(),
    }
}

fn put(path: &str, bytes: &[u8]) {
    let p = Path::new(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
}

/// One site case: answers JSON and the site's shape.
struct SiteCase {
    json: serde_json::Value,
    hostile_keys: Vec<&'static str>,
    tls: bool,
    acme: bool,
    upload: u64,
}

fn site_case(rng: &mut Rng, i: usize, root: &Path, proxy: &str) -> SiteCase {
    // nginx -t loads every certificate (a few ms each with OpenSSL 3): fewer TLS
    // sites there keep the test within its time budget.
    let tls = rng.chance(if proxy == "nginx" { 40 } else { 70 });
    let acme = rng.chance(40);
    let upload = match rng.below(4) {
        0 => rng.next() % 10_000,
        1 => 104_857_600,
        2 => 2_147_483_647 - 1_048_576 + rng.next() % 3,
        _ => rng.next() >> rng.below(64),
    };
    let mut hostile_keys = vec!["tls_cert", "tls_key"];
    let domain = if rng.chance(5) {
        hostile_keys.push("domain");
        format!("c{i}.{}", segment(rng))
    } else {
        format!("c{i}.example.com")
    };
    let json = serde_json::json!({
        "domain": domain,
        "proxy": proxy,
        "tls": "existing",
        "tls_cert": hostile_path(rng, &root.join(format!("certs/{i}"))),
        "tls_key": hostile_path(rng, &root.join(format!("keys/{i}"))),
        "db_password": "correct horse battery",
    });
    SiteCase {
        json,
        hostile_keys,
        tls,
        acme,
        upload,
    }
}

/// Half of the sites balance two app machines (the proxy machine's site, with its
/// failover directives), one of them on IPv6.
fn case_upstreams(c: &SiteCase) -> Vec<String> {
    if c.upload % 2 == 0 {
        vec!["10.0.0.21:8065".into(), "[fd00::22]:8065".into()]
    } else {
        Vec::new()
    }
}

fn render_site(a: &Answers, proxy: Proxy, c: &SiteCase) -> String {
    let site = Site {
        domain: &a.domain,
        upload_limit: c.upload,
        acme_webroot: c
            .acme
            .then(|| Path::new(mattermost_setup::plan::ACME_WEBROOT)),
        tls: c.tls.then(|| SiteCert {
            cert: a.tls_cert.clone().unwrap(),
            key: a.tls_key.clone().unwrap(),
        }),
        upstreams: case_upstreams(c),
    };
    templates::proxy_site(proxy, &site)
}

fn reference_site(proxy: Proxy, c: &SiteCase) -> String {
    let site = Site {
        domain: "ref.example.com",
        upload_limit: 1,
        acme_webroot: c
            .acme
            .then(|| Path::new(mattermost_setup::plan::ACME_WEBROOT)),
        tls: c.tls.then(|| SiteCert {
            cert: "/ref/cert.pem".into(),
            key: "/ref/key.pem".into(),
        }),
        upstreams: case_upstreams(c),
    };
    templates::proxy_site(proxy, &site)
}

// --------------------------------------------------------------------- tests

/// Renders CASES sites for `proxy`; returns (accepted file name -> text, case
/// descriptions), after the directive check of every case.
fn sites(
    proxy: Proxy,
    dir: &Path,
    m: &Material,
) -> (Vec<(String, String)>, BTreeMap<String, String>) {
    let name = proxy.name();
    let mut rng = Rng(SEED ^ name.len() as u64);
    let (mut files, mut cases) = (Vec::new(), BTreeMap::new());
    let mut refused = 0;
    for i in 0..CASES {
        let c = site_case(&mut rng, i, dir, name);
        let what = format!(
            "{name} case {i}: tls {} acme {} upload_limit {}: {}",
            c.tls, c.acme, c.upload, c.json
        );
        match validate(&c.json) {
            Err(keys) => {
                refused_by_key(&keys, &c.hostile_keys, &what);
                refused += 1;
            }
            Ok(a) => {
                let text = render_site(&a, proxy, &c);
                let (got, want) = match proxy {
                    Proxy::Apache => (
                        apache_directives(&text),
                        apache_directives(&reference_site(proxy, &c)),
                    ),
                    Proxy::Nginx => (
                        nginx_directives(&text),
                        nginx_directives(&reference_site(proxy, &c)),
                    ),
                };
                assert_eq!(
                    got, want,
                    "{what}: directives differ from the template's:\n{text}"
                );
                if c.tls {
                    put(&a.tls_cert.as_ref().unwrap().to_string_lossy(), &m.cert);
                    put(&a.tls_key.as_ref().unwrap().to_string_lossy(), &m.key);
                }
                let file = format!("case-{i:05}.conf");
                cases.insert(file.clone(), what);
                files.push((file, text));
            }
        }
    }
    eprintln!(
        "{name}: {CASES} cases, {refused} refused by validation naming the key, {} rendered",
        files.len()
    );
    assert!(
        refused > CASES / 20 && files.len() > CASES / 4,
        "the generator explores both sides"
    );
    (files, cases)
}

#[test]
fn apache_sites_with_hostile_answers_pass_configtest_or_are_refused() {
    let ok = checker_or_skip("apache2");
    let dir = scratch();
    let (files, cases) = sites(Proxy::Apache, dir.path(), &material());
    if !ok {
        return;
    }
    let d = dir.path();
    let sites = d.join("sites");
    fs::create_dir_all(&sites).unwrap();
    fs::create_dir_all(d.join("logs")).unwrap();
    for (file, text) in &files {
        fs::write(sites.join(file), text).unwrap();
    }
    let mods = "/usr/lib/apache2/modules";
    let mut conf = format!(
        "ServerRoot /etc/apache2\nServerName proptest.invalid\nPidFile {d}/apache.pid\n\
         Mutex file:{d} default\nErrorLog {d}/error.log\nDefine APACHE_LOG_DIR {d}/logs\n",
        d = d.display()
    );
    for m in [
        "mpm_event",
        "authz_core",
        "alias",
        "ssl",
        "rewrite",
        "headers",
        "proxy",
        "proxy_http",
        "proxy_wstunnel",
        "socache_shmcb",
    ] {
        let _ = writeln!(conf, "LoadModule {m}_module {mods}/mod_{m}.so");
    }
    let _ = writeln!(conf, "IncludeOptional {}/*.conf", sites.display());
    fs::write(d.join("apache2.conf"), conf).unwrap();
    let mut cmd = sbin("apache2");
    cmd.arg("-t").arg("-f").arg(d.join("apache2.conf"));
    run_checker(cmd, "apache2 -t", &cases, false);
}

#[test]
fn nginx_sites_with_hostile_answers_pass_nginx_t_or_are_refused() {
    let ok = checker_or_skip("nginx");
    let dir = scratch();
    let (files, cases) = sites(Proxy::Nginx, dir.path(), &material());
    if !ok {
        return;
    }
    let d = dir.path();
    let sites = d.join("sites");
    fs::create_dir_all(&sites).unwrap();
    for (i, (file, text)) in files.iter().enumerate() {
        // One upstream block per site file: a distinct name per case (the name is
        // the template's constant, never an answer).
        let text = text.replace(
            "mattermost_setup_backend",
            &format!("mattermost_setup_backend_{i}"),
        );
        fs::write(sites.join(file), text).unwrap();
    }
    let conf = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
         server_names_hash_max_size 65536;\nserver_names_hash_bucket_size 256;\n\
         client_body_temp_path {d}/tmp;\nproxy_temp_path {d}/tmp;\naccess_log off;\n\
         include {s}/*.conf;\n}}\n",
        d = d.display(),
        s = sites.display()
    );
    fs::write(d.join("nginx.conf"), conf).unwrap();
    let mut cmd = sbin("nginx");
    cmd.arg("-t")
        .arg("-q")
        .arg("-e")
        .arg(d.join("error.log"))
        .arg("-p")
        .arg(d)
        .arg("-c")
        .arg(d.join("nginx.conf"));
    run_checker(cmd, "nginx -t", &cases, false);
}

/// Lines of a rendered unit that carry answers, for the line-level check.
fn value_lines(unit: &str) -> impl Iterator<Item = &str> {
    unit.lines().filter(|l| {
        l.starts_with("ExecStart=")
            || l.starts_with("WorkingDirectory=")
            || l.starts_with("Environment=")
    })
}

/// Collects systemd files for the checker: whole files for the first cases, and
/// every case's value-carrying lines in one-shot units of many lines each
/// (systemd-analyze takes ~5 ms per unit file but microseconds per line; it checks
/// every ExecStart='s program and parses every assignment).
struct UnitBatches {
    dir: PathBuf,
    whole: Vec<PathBuf>,
    lines: Vec<String>,
    cases: BTreeMap<String, String>,
    batch: usize,
}

const WHOLE_FILES: usize = 300;
const LINES_PER_UNIT: usize = 600;

impl UnitBatches {
    fn add_whole(&mut self, name: &str, text: &str, what: &str) {
        if self.whole.len() < WHOLE_FILES * 3 {
            let f = self.dir.join(name);
            fs::write(&f, text).unwrap();
            self.whole.push(f);
            self.cases.insert(format!("{name}:"), what.to_owned());
        }
    }

    fn add_lines<'a>(&mut self, lines: impl Iterator<Item = &'a str>, what: &str) {
        for l in lines {
            if self.lines.len() == LINES_PER_UNIT {
                self.flush();
            }
            // Line numbers: two header lines first.
            let name = format!("lines-{:04}.service:{}:", self.batch, self.lines.len() + 3);
            self.cases.insert(name, what.to_owned());
            self.lines.push(l.to_owned());
        }
    }

    fn flush(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let text = format!("[Service]\nType=oneshot\n{}\n", self.lines.join("\n"));
        fs::write(
            self.dir.join(format!("lines-{:04}.service", self.batch)),
            text,
        )
        .unwrap();
        self.lines.clear();
        self.batch += 1;
    }
}

/// The Mattermost unit (install_dir in ExecStart= and WorkingDirectory=), the
/// retention units (paths in ExecStart= arguments) and certbot's drop-in
/// (acme_ca_bundle in Environment=).
#[test]
fn systemd_units_with_hostile_answers_pass_verify_or_are_refused() {
    let ok = checker_or_skip("systemd-analyze");
    // Not /dev/shm: install_dir is refused under /dev (and other system trees).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let units = d.join("units");
    fs::create_dir_all(&units).unwrap();
    let program = d.join("program");
    fs::write(&program, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    let mut rng = Rng(SEED ^ 0x5157);
    let mut b = UnitBatches {
        dir: units.clone(),
        whole: Vec::new(),
        lines: Vec::new(),
        cases: BTreeMap::new(),
        batch: 0,
    };
    let (mut units_n, mut dropins_n, mut refused) = (0, 0, 0);
    let reference = from_json(
        r#"{"domain": "ref.example.com", "db_password": "correct horse battery", "retention_days": 30}"#,
        None,
    )
    .unwrap();
    let ref_unit = systemd_directives(&templates::unit(&reference));
    let ref_retention: Vec<Vec<String>> = mattermost_setup::retention::units::planned(&reference)
        .iter()
        .map(|f| systemd_directives(&f.content))
        .collect();
    let ref_dropin = systemd_directives(&templates::certbot_dropin(Path::new("/ref/ca.pem")));
    for i in 0..CASES {
        // The unit (and, with retention, its two units) from install_dir.
        let install = hostile_path(&mut rng, &d.join(format!("install/{i}")));
        let json = serde_json::json!({
            "domain": "chat.example.com", "db_password": "correct horse battery",
            "install_dir": install, "data_dir": "/srv/mm-data", "retention_days": 1 + i % 400,
        });
        let what = format!("unit case {i}: {json}");
        match validate(&json) {
            Err(keys) => {
                refused_by_key(&keys, &["install_dir"], &what);
                refused += 1;
            }
            Ok(a) => {
                let unit = templates::unit(&a);
                assert_eq!(systemd_directives(&unit), ref_unit, "{what}:\n{unit}");
                let exe = a.install_path("bin/mattermost");
                fs::create_dir_all(exe.parent().unwrap()).unwrap();
                fs::copy(&program, &exe).unwrap();
                b.add_whole(&format!("mm-{i:05}.service"), &unit, &what);
                b.add_lines(value_lines(&unit), &what);
                for (k, f) in mattermost_setup::retention::units::planned(&a)
                    .iter()
                    .enumerate()
                {
                    assert_eq!(
                        systemd_directives(&f.content),
                        ref_retention[k],
                        "{what}:\n{}",
                        f.content
                    );
                    if f.path.extension().is_some_and(|e| e == "service") {
                        // The job's program is the tool's constant path; a stand-in here.
                        let text = f.content.replace(
                            mattermost_setup::retention::PROGRAM,
                            &program.to_string_lossy(),
                        );
                        b.add_whole(&format!("mmr-{i:05}.service"), &text, &what);
                        b.add_lines(value_lines(&text), &what);
                    }
                }
                units_n += 1;
            }
        }
        // certbot's drop-in from acme_ca_bundle, checked as part of a unit.
        let bundle = hostile_path(&mut rng, &d.join(format!("ca/{i}")));
        let json = serde_json::json!({
            "domain": "chat.example.com", "db_password": "correct horse battery",
            "tls": "letsencrypt", "letsencrypt_email": "ops@example.com",
            "letsencrypt_agree_tos": true, "acme_ca_bundle": bundle,
        });
        let what = format!("drop-in case {i}: {json}");
        match validate(&json) {
            Err(keys) => {
                refused_by_key(&keys, &["acme_ca_bundle"], &what);
                refused += 1;
            }
            Ok(a) => {
                let dropin = templates::certbot_dropin(a.acme_ca_bundle.as_deref().unwrap());
                assert_eq!(systemd_directives(&dropin), ref_dropin, "{what}:\n{dropin}");
                b.add_whole(
                    &format!("cb-{i:05}.service"),
                    &format!(
                        "[Unit]\nDescription=certbot\n[Service]\nType=oneshot\nExecStart={}\n{dropin}",
                        program.display()
                    ),
                    &what,
                );
                b.add_lines(value_lines(&dropin), &what);
                dropins_n += 1;
            }
        }
    }
    b.flush();
    eprintln!(
        "systemd: {CASES} unit cases + {CASES} drop-in cases, {refused} refused naming the key, \
         {units_n} units and {dropins_n} drop-ins rendered; {} whole files and {} line batches checked",
        b.whole.len(),
        b.batch
    );
    assert!(units_n > CASES / 4 && dropins_n > CASES / 4 && refused > CASES / 20);
    if !ok {
        return;
    }
    let mut cmd = sbin("systemd-analyze");
    cmd.arg("verify").arg("--man=no").args(&b.whole);
    run_checker(cmd, "systemd-analyze verify (whole files)", &b.cases, true);
    let batches: Vec<PathBuf> = (0..b.batch)
        .map(|n| units.join(format!("lines-{n:04}.service")))
        .collect();
    let mut cmd = sbin("systemd-analyze");
    cmd.arg("verify").arg("--man=no").args(&batches);
    run_checker(
        cmd,
        "systemd-analyze verify (every case's lines)",
        &b.cases,
        true,
    );
}

/// certbot's deploy hook takes the domain.
#[test]
fn deploy_hooks_with_hostile_domains_pass_sh_n_or_are_refused() {
    let mut rng = Rng(SEED ^ 0x400c);
    let reference = templates::deploy_hook("ref.example.com", "nginx.service");
    let mut all = String::new();
    let mut refused = 0;
    for i in 0..CASES {
        let domain = if rng.chance(50) {
            format!("c{i}.{}", segment(&mut rng))
        } else {
            format!("c{i}.example.com")
        };
        let json = serde_json::json!({"domain": domain, "db_password": "correct horse battery"});
        match validate(&json) {
            Err(keys) => {
                refused_by_key(&keys, &["domain"], &format!("hook case {i}: {json}"));
                refused += 1;
            }
            Ok(a) => {
                let hook = templates::deploy_hook(&a.domain, "nginx.service");
                assert_eq!(
                    hook.lines()
                        .filter(|l| !l.trim_start().starts_with('#'))
                        .count(),
                    reference
                        .lines()
                        .filter(|l| !l.trim_start().starts_with('#'))
                        .count(),
                    "{json}:\n{hook}"
                );
                assert!(hook.contains(&format!("*\" {} \"*)", a.domain)), "{hook}");
                all.push_str(&hook);
            }
        }
    }
    assert!(refused > CASES / 10, "{refused}");
    let dir = scratch();
    let f = dir.path().join("hooks.sh");
    fs::write(&f, all).unwrap();
    let out = Command::new("sh").arg("-n").arg(&f).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_directive_counters_see_injections() {
    assert_eq!(
        apache_directives("A b\n  # c\nD \"e\\\nF g\"\n"),
        ["A", "D"],
        "a trailing backslash joins lines"
    );
    assert_eq!(
        nginx_directives("a \"b;c\" d;\ns {\n  x y; # z;\n}\n"),
        ["a", "s", "x", "}"]
    );
    assert_eq!(
        systemd_directives("[Service]\nA=1\\\nB=2\n; c\nC=\"x\"\n"),
        ["[Service]", "A", "C"]
    );
}

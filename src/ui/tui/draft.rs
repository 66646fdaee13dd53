//! What the operator has typed and chosen so far, the fields of each screen, and
//! validation. Validation is `answers::from_json` itself — the same rules as
//! `install --answers` — with each problem mapped back to the field it is about.
//! Shared by the full-screen wizard and the plain prompts. No I/O.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::input::Input;
use crate::answers::{self, Answers, Secret, validate::FieldError};
use crate::probes::dns::DnsReport;
use crate::releases;

/// Every value the wizard asks for. Each maps to one key of the answers file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Domain,
    DbEngine,
    DbName,
    DbUser,
    DbPasswordMode,
    DbPassword,
    DbPasswordAgain,
    InstallDir,
    DataDir,
    Edition,
    Version,
    VersionPin,
    Proxy,
    Tls,
    LetsencryptEmail,
    LetsencryptAgree,
    TlsCert,
    TlsKey,
    Admin,
    AdminUsername,
    AdminEmail,
    AdminPassword,
    AdminPasswordAgain,
    /// Take over a Mattermost installation found in the chosen directories.
    AdoptExisting,
    /// One box, or several machines (database, app, proxy).
    Machines,
    /// The machines: `NAME ROLE ADDRESS`, comma-separated.
    MachineList,
    /// This machine's name in the list (found by its addresses when empty).
    Node,
    LicenseFile,
    /// Object storage as a URL: scheme (TLS or not) and `host[:port]`.
    S3Url,
    S3Bucket,
    S3Region,
    S3AccessKey,
    S3Secret,
}

/// How a field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Typed, shown as dots.
    Secret,
    /// One of a list of options (←/→ or space).
    Choice,
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// The value in the answers file.
    pub value: &'static str,
    pub label: String,
    /// One line of explanation.
    pub note: String,
    /// False for options this version does not offer yet ("coming").
    pub enabled: bool,
}

impl Field {
    pub fn kind(self) -> Kind {
        use Field::*;
        match self {
            DbEngine | DbPasswordMode | Edition | Version | Proxy | Tls | LetsencryptAgree
            | Admin | AdoptExisting | Machines => Kind::Choice,
            DbPassword | DbPasswordAgain | AdminPassword | AdminPasswordAgain | S3Secret => {
                Kind::Secret
            }
            _ => Kind::Text,
        }
    }

    pub fn label(self) -> &'static str {
        use Field::*;
        match self {
            Domain => "Domain name",
            DbEngine => "Database",
            DbName => "Database name",
            DbUser => "Database user",
            DbPasswordMode => "Password",
            DbPassword => "Password",
            DbPasswordAgain => "Again",
            InstallDir => "Install directory",
            DataDir => "Data directory",
            Edition => "Edition",
            Version => "Version",
            VersionPin => "Exact version",
            Proxy => "Reverse proxy",
            Tls => "TLS",
            LetsencryptEmail => "Let's Encrypt e-mail",
            LetsencryptAgree => "Terms of service",
            TlsCert => "Certificate (PEM)",
            TlsKey => "Private key (PEM)",
            Admin => "First admin",
            AdminUsername => "Username",
            AdminEmail => "E-mail",
            AdminPassword => "Password",
            AdminPasswordAgain => "Again",
            AdoptExisting => "Existing Mattermost",
            Machines => "Machines",
            MachineList => "Machine list",
            Node => "This machine",
            LicenseFile => "License file",
            S3Url => "Object storage URL",
            S3Bucket => "Bucket",
            S3Region => "Region",
            S3AccessKey => "Access key ID",
            S3Secret => "Secret key",
        }
    }

    /// The help line shown while the field has the focus.
    pub fn help(self) -> &'static str {
        use Field::*;
        match self {
            Domain => {
                "The fully qualified name users will type, e.g. chat.example.com. It becomes the site URL."
            }
            DbEngine => {
                "PostgreSQL is what Mattermost supports from version 11 on. MariaDB/MySQL limit you to Mattermost 10.11."
            }
            DbName => "The database the installer creates for Mattermost.",
            DbUser => {
                "The database role Mattermost connects as; it can log in from this server only."
            }
            DbPasswordMode => {
                "A generated password is 32 random letters and digits, kept 0600 in /etc/mattermost-setup/answers.json."
            }
            DbPassword => {
                "8 to 128 printable characters. Every character is safe: the installer escapes it for SQL and the DSN."
            }
            DbPasswordAgain => "Type the same password again.",
            InstallDir => {
                "Where the Mattermost release is unpacked (bin/, config/, logs/, plugins/)."
            }
            DataDir => {
                "Uploaded files live here; it grows with use. Created (owner mattermost) if it does not exist."
            }
            Edition => {
                "Both are free to run. Enterprise without a license runs as the free 'Entry' tier."
            }
            Version => "ESR releases get security fixes for longer: the safe default for a server.",
            VersionPin => {
                "X.Y.Z from the bundled table of published releases; another version needs --sha256."
            }
            Proxy => {
                "The web server in front of Mattermost (port 80), with WebSockets passed through."
            }
            Tls => {
                "Let's Encrypt needs the domain to point here. Later: http now; `mattermost-setup repair` gets the certificate once DNS is right."
            }
            LetsencryptEmail => "Let's Encrypt writes here about expiring certificates.",
            LetsencryptAgree => "Read https://letsencrypt.org/repository/ before agreeing.",
            TlsCert => "Absolute path of the certificate chain (PEM).",
            TlsKey => "Absolute path of the private key (PEM).",
            Admin => {
                "Optional: created once Mattermost is up, so no first visitor can take the admin role."
            }
            AdminUsername => "3-22 of a-z, 0-9, '.', '-', '_', starting with a letter.",
            AdminEmail => "The admin's e-mail address.",
            AdminPassword => "8 to 128 printable characters.",
            AdminPasswordAgain => "Type the same password again.",
            AdoptExisting => {
                "Found in the directories above (evidence below). Taking it over gives its files to the mattermost user."
            }
            Machines => {
                "Several: one database machine, app machines running Mattermost, one nginx proxy; the same answers set up each."
            }
            MachineList => {
                "NAME ROLE ADDRESS, comma-separated; roles database, app, proxy; private addresses, e.g. db1 database 10.0.0.10, app1 app 10.0.0.11, web proxy 10.0.0.13"
            }
            Node => {
                "Empty: found by this server's own addresses. Give the name when it has none of them (NAT)."
            }
            LicenseFile => {
                "Optional: the Enterprise license (.mattermost-license); more than one app machine needs it (Mattermost's cluster mode)."
            }
            S3Url => {
                "S3-compatible storage for uploaded files, e.g. https://s3.eu-west-1.amazonaws.com or http://10.0.0.5:7480. Empty: files on the app machine's disk."
            }
            S3Bucket => {
                "The bucket, created beforehand; the installer never deletes anything in it."
            }
            S3Region => "The bucket's region (us-east-1 for most S3-compatible stores).",
            S3AccessKey => {
                "The access key of an account that may read, write and delete in the bucket."
            }
            S3Secret => {
                "Kept 0600 like the database password; saved answers keep it in a file of its own."
            }
        }
    }
}

/// Which optional features `answers::from_json` accepts in this build: options it
/// rejects are shown as "coming" and cannot be chosen. Decided at run time, so the
/// wizard offers nginx or TLS as soon as validation accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub nginx: bool,
    pub letsencrypt: bool,
    pub existing_tls: bool,
}

impl Caps {
    pub fn detect() -> Self {
        // Accepted when validation has nothing to say about `key` itself (a sample
        // certificate path may be missing on this machine; that is not the question).
        let accepts = |key: &str, extra: Value| {
            let mut m = Map::new();
            m.insert("domain".into(), "chat.example.com".into());
            m.insert("db_password".into(), "probe-password-123".into());
            if let Value::Object(e) = extra {
                m.extend(e);
            }
            match answers::from_json(&Value::Object(m).to_string(), None) {
                Ok(_) => true,
                Err(invalid) => invalid.0.iter().all(|e| e.field != key),
            }
        };
        Self {
            nginx: accepts("proxy", serde_json::json!({"proxy": "nginx"})),
            letsencrypt: accepts(
                "tls",
                serde_json::json!({
                    "tls": "letsencrypt", "letsencrypt_email": "admin@example.com",
                    "letsencrypt_agree_tos": true
                }),
            ),
            existing_tls: accepts(
                "tls",
                serde_json::json!({
                    "tls": "existing", "tls_cert": "/etc/ssl/certs/ssl-cert-snakeoil.pem",
                    "tls_key": "/etc/ssl/private/ssl-cert-snakeoil.key"
                }),
            ),
        }
    }

    /// Only what this version accepts for sure (tests and snapshots).
    pub fn minimal() -> Self {
        Self {
            nginx: false,
            letsencrypt: false,
            existing_tls: false,
        }
    }
}

/// Values that do not come from a question: command-line flags for air-gapped
/// servers and the answers of an earlier install on this box.
#[derive(Debug, Clone, Default)]
pub struct Prefill {
    pub saved: Option<Answers>,
    pub download_base_url: Option<String>,
    pub tarball: Option<PathBuf>,
    pub sha256: Option<String>,
    /// An exact version to pre-select.
    pub version: Option<String>,
    /// `--acme-server`: another ACME directory (Let's Encrypt staging, a private CA).
    pub acme_server: Option<String>,
    /// `--acme-ca-bundle`: the PEM bundle certbot trusts for that server.
    pub acme_ca_bundle: Option<PathBuf>,
    /// This server's own addresses: which of several machines it is.
    pub addresses: Vec<std::net::IpAddr>,
}

/// The wizard's values.
#[derive(Debug, Clone)]
pub struct Draft {
    text: HashMap<Field, Input>,
    choice: HashMap<Field, usize>,
    /// Offered as the default database password, shown once on the database screen.
    pub generated: Secret,
    pub caps: Caps,
    pub prefill: Prefill,
    /// The data directory follows the install directory until it is edited.
    pub data_dir_edited: bool,
    /// The chosen directories hold a Mattermost installation the tool did not
    /// create: the storage step asks whether to take it over.
    pub adoptable: bool,
    /// The operator chose the TLS option: the DNS check no longer pre-selects it.
    pub tls_chosen: bool,
}

fn opt(value: &'static str, label: impl Into<String>, note: impl Into<String>) -> Opt {
    Opt {
        value,
        label: label.into(),
        note: note.into(),
        enabled: true,
    }
}

fn coming(mut o: Opt, enabled: bool) -> Opt {
    if !enabled {
        o.enabled = false;
        o.note = "coming in a later version".into();
    }
    o
}

impl Draft {
    pub fn new(generated: Secret, caps: Caps, prefill: Prefill) -> Self {
        let mut d = Self {
            text: HashMap::new(),
            choice: HashMap::new(),
            generated,
            caps,
            prefill,
            data_dir_edited: false,
            adoptable: false,
            tls_chosen: false,
        };
        let t = |d: &mut Self, f: Field, v: &str| {
            d.text.insert(f, Input::new(v));
        };
        t(&mut d, Field::Domain, "");
        t(&mut d, Field::DbName, "mattermost");
        t(&mut d, Field::DbUser, "mmuser");
        t(&mut d, Field::InstallDir, "/opt/mattermost");
        t(&mut d, Field::DataDir, "/opt/mattermost/data");
        t(&mut d, Field::S3Region, "us-east-1");
        for f in [
            Field::MachineList,
            Field::Node,
            Field::LicenseFile,
            Field::S3Url,
            Field::S3Bucket,
            Field::S3AccessKey,
            Field::S3Secret,
            Field::DbPassword,
            Field::DbPasswordAgain,
            Field::VersionPin,
            Field::LetsencryptEmail,
            Field::TlsCert,
            Field::TlsKey,
            Field::AdminUsername,
            Field::AdminEmail,
            Field::AdminPassword,
            Field::AdminPasswordAgain,
        ] {
            t(&mut d, f, "");
        }
        match d.prefill.saved.clone() {
            Some(s) => d.fill_from(&s),
            // TLS on by default: Let's Encrypt, "later" until the DNS check says the
            // domain points here (then "now"; see `dns_checked`).
            None => d.select(Field::Tls, "later"),
        }
        if let Some(v) = d.prefill.version.clone() {
            d.select(Field::Version, "pinned");
            t(&mut d, Field::VersionPin, &v);
        }
        d
    }

    /// Pre-fills every question from the answers of an earlier install.
    fn fill_from(&mut self, a: &Answers) {
        self.set_text(Field::Domain, &a.domain);
        self.select(Field::DbEngine, a.db_engine.name());
        self.set_text(Field::DbName, &a.db_name);
        self.set_text(Field::DbUser, &a.db_user);
        self.select(Field::DbPasswordMode, "keep");
        self.set_text(Field::InstallDir, &a.install_dir.to_string_lossy());
        self.set_text(Field::DataDir, &a.data_dir.to_string_lossy());
        self.data_dir_edited = a.data_dir != a.install_dir.join("data");
        if a.adopt_existing {
            self.select(Field::AdoptExisting, "yes");
        }
        self.select(Field::Edition, a.edition.name());
        match &a.version {
            answers::VersionSpec::Esr => self.select(Field::Version, "esr"),
            answers::VersionSpec::Latest => self.select(Field::Version, "latest"),
            answers::VersionSpec::Exact(v) => {
                self.select(Field::Version, "pinned");
                self.set_text(Field::VersionPin, &v.to_string());
            }
        }
        self.select(Field::Proxy, a.proxy.name());
        self.select(Field::Tls, a.tls.name());
        if let Some(e) = &a.letsencrypt_email {
            self.set_text(Field::LetsencryptEmail, e);
        }
        self.select(
            Field::LetsencryptAgree,
            if a.letsencrypt_agree_tos { "yes" } else { "no" },
        );
        if let Some(p) = &a.tls_cert {
            self.set_text(Field::TlsCert, &p.to_string_lossy());
        }
        if let Some(p) = &a.tls_key {
            self.set_text(Field::TlsKey, &p.to_string_lossy());
        }
        if !a.machines.is_empty() {
            self.select(Field::Machines, "several");
            let list: Vec<String> = a
                .machines
                .iter()
                .map(|m| format!("{} {} {}", m.name, m.role.name(), m.address))
                .collect();
            self.set_text(Field::MachineList, &list.join(", "));
            if let Some(n) = &a.node {
                self.set_text(Field::Node, n);
            }
        }
        if let Some(l) = &a.license_file {
            self.set_text(Field::LicenseFile, &l.to_string_lossy());
        }
        if let Some(s3) = &a.s3 {
            self.set_text(Field::S3Url, &s3.base_url());
            self.set_text(Field::S3Bucket, &s3.bucket);
            self.set_text(Field::S3Region, &s3.region);
            self.set_text(Field::S3AccessKey, &s3.access_key_id);
            self.set_text(Field::S3Secret, s3.secret_access_key.expose());
        }
        if let Some(ad) = &a.admin {
            self.select(Field::Admin, "yes");
            self.set_text(Field::AdminUsername, &ad.username);
            self.set_text(Field::AdminEmail, &ad.email);
            let pw = ad.password.as_ref().map_or("", Secret::expose);
            self.set_text(Field::AdminPassword, pw);
            self.set_text(Field::AdminPasswordAgain, pw);
        }
    }

    pub fn text(&self, f: Field) -> &str {
        self.text.get(&f).map_or("", Input::value)
    }

    pub fn input(&self, f: Field) -> Option<&Input> {
        self.text.get(&f)
    }

    pub fn input_mut(&mut self, f: Field) -> Option<&mut Input> {
        self.text.get_mut(&f)
    }

    pub fn set_text(&mut self, f: Field, v: &str) {
        self.text.entry(f).or_default().set(v);
    }

    /// A text field changed: keep dependent defaults in step.
    pub fn edited(&mut self, f: Field) {
        match f {
            Field::InstallDir if !self.data_dir_edited => {
                let data = format!(
                    "{}/data",
                    self.text(Field::InstallDir).trim_end_matches('/')
                );
                self.set_text(Field::DataDir, &data);
            }
            Field::DataDir => self.data_dir_edited = true,
            _ => {}
        }
    }

    /// The options of a choice field, in order.
    pub fn options(&self, f: Field) -> Vec<Opt> {
        match f {
            Field::Version => {
                // Resolved with the engine and edition chosen (their options never
                // depend on the version, so this does not recurse).
                let engine = match self.value(Field::DbEngine) {
                    "mariadb" => answers::DbEngine::Mariadb,
                    "mysql" => answers::DbEngine::Mysql,
                    _ => answers::DbEngine::Postgresql,
                };
                let edition = if self.value(Field::Edition) == "team" {
                    answers::Edition::Team
                } else {
                    answers::Edition::Enterprise
                };
                let resolved = |spec: answers::VersionSpec| {
                    releases::resolve(&spec, edition, engine).map_or_else(|e| e, |v| v.to_string())
                };
                vec![
                    opt(
                        "esr",
                        format!("ESR {}", resolved(answers::VersionSpec::Esr)),
                        "extended support (default)",
                    ),
                    opt(
                        "latest",
                        format!("Latest {}", resolved(answers::VersionSpec::Latest)),
                        "newest features",
                    ),
                    opt(
                        "pinned",
                        "Exact version",
                        "from the table, or checked by its GPG signature",
                    ),
                ]
            }
            _ => self.fixed_options(f),
        }
    }

    fn fixed_options(&self, f: Field) -> Vec<Opt> {
        match f {
            Field::DbEngine => vec![
                opt(
                    "postgresql",
                    "PostgreSQL",
                    "recommended; required from Mattermost 11",
                ),
                opt(
                    "mariadb",
                    "MariaDB",
                    "the guide's; Mattermost 10.11 and older",
                ),
                opt(
                    "mysql",
                    "MySQL 8",
                    "yours, installed already; 10.11 and older",
                ),
            ],
            Field::DbPasswordMode => {
                let mut v = Vec::new();
                if self.prefill.saved.is_some() {
                    v.push(opt("keep", "Keep", "the password of the existing install"));
                }
                v.push(opt(
                    "generate",
                    "Generate",
                    "32 random characters (recommended)",
                ));
                v.push(opt("type", "Type one", "typed twice, hidden"));
                v
            }
            Field::Edition => vec![
                opt(
                    "enterprise",
                    "Enterprise",
                    "free to run; a license unlocks more",
                ),
                opt("team", "Team", "MIT open source, no Enterprise features"),
            ],
            Field::Proxy => vec![
                opt("apache", "Apache", "WebSockets passed through (default)"),
                coming(
                    opt("nginx", "nginx", "WebSockets passed through"),
                    self.caps.nginx,
                ),
            ],
            Field::Tls => vec![
                opt("none", "None", "plain http on port 80"),
                coming(
                    opt(
                        "letsencrypt",
                        "Let's Encrypt",
                        "now: the domain points here",
                    ),
                    self.caps.letsencrypt,
                ),
                // The same answers as "letsencrypt": the TLS phase asks the CA only
                // once the name points here, and `repair` (or install) asks again.
                coming(
                    opt("later", "Let's Encrypt later", "http until DNS points here"),
                    self.caps.letsencrypt,
                ),
                coming(
                    opt("existing", "Existing certificate", "yours, with its key"),
                    self.caps.existing_tls,
                ),
            ],
            Field::LetsencryptAgree => vec![
                opt("no", "Not yet", ""),
                opt("yes", "I agree", "to the subscriber agreement"),
            ],
            Field::Admin => vec![
                opt("no", "Not now", "first browser sign-up becomes admin"),
                opt("yes", "Create one", "username, e-mail and password"),
            ],
            Field::AdoptExisting => vec![
                opt("no", "Leave it", "choose other directories"),
                opt("yes", "Take it over", "its files go to the mattermost user"),
            ],
            Field::Machines => vec![
                opt("one", "This server", "database, Mattermost and proxy here"),
                opt("several", "Several machines", "database, app, proxy"),
            ],
            _ => Vec::new(),
        }
    }

    /// The selected option's index.
    pub fn selected(&self, f: Field) -> usize {
        let n = self.options(f).len();
        self.choice
            .get(&f)
            .copied()
            .unwrap_or(0)
            .min(n.saturating_sub(1))
    }

    /// The selected option's value ("" for a text field).
    pub fn value(&self, f: Field) -> &'static str {
        let i = self.choice.get(&f).copied().unwrap_or(0);
        // options() calls value(DbEngine)/value(Edition); those lists do not recurse.
        self.options(f)
            .get(i)
            .or(self.options(f).first())
            .map_or("", |o| o.value)
    }

    /// Selects the option with this value, if it exists and is enabled.
    pub fn select(&mut self, f: Field, value: &str) {
        if let Some(i) = self
            .options(f)
            .iter()
            .position(|o| o.value == value && o.enabled)
        {
            self.choice.insert(f, i);
        }
    }

    /// The operator's choice (a prompt's answer): unlike [`Self::select`], the DNS
    /// check no longer changes the TLS option afterwards.
    pub fn pick(&mut self, f: Field, value: &str) {
        self.select(f, value);
        if f == Field::Tls {
            self.tls_chosen = true;
        }
        self.chosen(f);
    }

    /// A choice changed: keep dependent choices in step. Several machines balance
    /// with nginx (the only proxy the proxy machine supports).
    fn chosen(&mut self, f: Field) {
        if f == Field::Machines && self.several() {
            self.select(Field::Proxy, "nginx");
        }
    }

    /// The operator chose several machines.
    pub fn several(&self) -> bool {
        self.value(Field::Machines) == "several"
    }

    /// The DNS check for the domain came back: unless the operator chose the TLS
    /// option, Let's Encrypt now when the name points at this server (or at the
    /// public address of the NAT it is behind), later (install on http; `repair`
    /// obtains the certificate) when it does not. A saved `none` or
    /// `existing` is left as it is.
    pub fn dns_checked(&mut self, r: &DnsReport) {
        if self.tls_chosen || !matches!(self.value(Field::Tls), "letsencrypt" | "later") {
            return;
        }
        // Behind NAT (a public answer, only private addresses here) Let's Encrypt
        // can reach the server when the router forwards port 80: the TLS phase asks.
        self.select(
            Field::Tls,
            if r.public_ca_can_reach() {
                "letsencrypt"
            } else {
                "later"
            },
        );
    }

    /// Let's Encrypt, asked now or once DNS is right (both are `tls: letsencrypt`).
    pub fn letsencrypt(&self) -> bool {
        matches!(self.value(Field::Tls), "letsencrypt" | "later")
    }

    /// Moves the selection by `delta`, skipping options that are not offered (a key
    /// press: the operator's choice).
    pub fn cycle(&mut self, f: Field, delta: isize) {
        if f == Field::Tls {
            self.tls_chosen = true;
        }
        let opts = self.options(f);
        let n = opts.len();
        if n == 0 {
            return;
        }
        let mut i = self.selected(f);
        for _ in 0..n {
            i = (i + n).wrapping_add_signed(delta) % n;
            if opts[i].enabled {
                self.choice.insert(f, i);
                self.chosen(f);
                return;
            }
        }
    }

    /// The fields of a wizard step, as they are shown now.
    pub fn fields(&self, step: Step) -> Vec<Field> {
        use Field::*;
        match step {
            Step::Domain => vec![Domain],
            // The license is asked of one server too (optional there): what the
            // screen shows is what the answers carry.
            Step::Machines => {
                if self.several() {
                    vec![Machines, MachineList, Node, LicenseFile]
                } else {
                    vec![Machines, LicenseFile]
                }
            }
            Step::Database => {
                let mut v = vec![DbEngine, DbName, DbUser, DbPasswordMode];
                if self.value(DbPasswordMode) == "type" {
                    v.extend([DbPassword, DbPasswordAgain]);
                }
                v
            }
            Step::Storage => {
                let mut v = vec![InstallDir, DataDir];
                if self.several() || !self.text(S3Url).trim().is_empty() {
                    v.extend([S3Url, S3Bucket, S3Region, S3AccessKey, S3Secret]);
                }
                if self.adoptable || self.value(AdoptExisting) == "yes" {
                    v.push(AdoptExisting);
                }
                v
            }
            Step::Release => {
                let mut v = vec![Edition, Version];
                if self.value(Version) == "pinned" {
                    v.push(VersionPin);
                }
                v
            }
            Step::Proxy => {
                let mut v = vec![Proxy, Tls];
                match self.value(Tls) {
                    "letsencrypt" | "later" => v.extend([LetsencryptEmail, LetsencryptAgree]),
                    "existing" => v.extend([TlsCert, TlsKey]),
                    _ => {}
                }
                v
            }
            Step::Admin => {
                let mut v = vec![Admin];
                if self.value(Admin) == "yes" {
                    v.extend([AdminUsername, AdminEmail, AdminPassword, AdminPasswordAgain]);
                }
                v
            }
            Step::Review => Vec::new(),
        }
    }

    /// The database password the answers will carry.
    pub fn db_password(&self) -> String {
        match self.value(Field::DbPasswordMode) {
            "keep" => self
                .prefill
                .saved
                .as_ref()
                .map_or_else(String::new, |s| s.db_password.expose().to_owned()),
            "type" => self.text(Field::DbPassword).to_owned(),
            _ => self.generated.expose().to_owned(),
        }
    }

    /// The answers document, secrets included (it never leaves memory as such).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut s = |k: &str, v: &str| {
            m.insert(k.into(), Value::String(v.to_owned()));
        };
        s("domain", self.text(Field::Domain).trim());
        s("db_engine", self.value(Field::DbEngine));
        s("db_name", self.text(Field::DbName));
        s("db_user", self.text(Field::DbUser));
        s("db_password", &self.db_password());
        s("install_dir", self.text(Field::InstallDir));
        s("data_dir", self.text(Field::DataDir));
        s("edition", self.value(Field::Edition));
        match self.value(Field::Version) {
            "pinned" => s("version", self.text(Field::VersionPin).trim()),
            v => s("version", v),
        }
        s("proxy", self.value(Field::Proxy));
        let tls = match self.value(Field::Tls) {
            "later" => "letsencrypt",
            t => t,
        };
        s("tls", tls);
        match tls {
            "letsencrypt" => {
                s(
                    "letsencrypt_email",
                    self.text(Field::LetsencryptEmail).trim(),
                );
            }
            "existing" => {
                s("tls_cert", self.text(Field::TlsCert).trim());
                s("tls_key", self.text(Field::TlsKey).trim());
            }
            _ => {}
        }
        let admin = self.value(Field::Admin) == "yes";
        if admin {
            s("admin_username", self.text(Field::AdminUsername).trim());
            s("admin_email", self.text(Field::AdminEmail).trim());
            // Empty for an account that exists (its password was dropped): kept so.
            if !self.text(Field::AdminPassword).is_empty() {
                s("admin_password", self.text(Field::AdminPassword));
            }
        }
        if let Some(u) = &self.prefill.download_base_url {
            s("download_base_url", u);
        }
        if let Some(h) = &self.prefill.sha256 {
            s("sha256", h);
        }
        if let Some(t) = &self.prefill.tarball {
            s("tarball", &t.to_string_lossy());
        }
        if let Some(u) = &self.prefill.acme_server {
            s("acme_server", u);
        }
        if let Some(b) = &self.prefill.acme_ca_bundle {
            s("acme_ca_bundle", &b.to_string_lossy());
        }
        if tls == "letsencrypt" {
            m.insert(
                "letsencrypt_agree_tos".into(),
                Value::Bool(self.value(Field::LetsencryptAgree) == "yes"),
            );
        }
        if self.value(Field::AdoptExisting) == "yes" {
            m.insert("adopt_existing".into(), Value::Bool(true));
        }
        self.topology_json(&mut m);
        // Settings the wizard does not ask about are kept from the earlier install.
        if let Some(saved) = &self.prefill.saved {
            if let Ok(Value::Object(old)) = serde_json::from_str(&saved.to_json_with_secrets()) {
                for key in [
                    "retention_days",
                    "retention_keep_pinned",
                    "acme_server",
                    "acme_ca_bundle",
                    "download_base_url",
                    "tarball",
                    "sha256",
                    "adopt_existing",
                ] {
                    if let Some(v) = old.get(key) {
                        if !m.contains_key(key) && !v.is_null() {
                            m.insert(key.into(), v.clone());
                        }
                    }
                }
                if admin {
                    if let Some(v) = old.get("team_name") {
                        m.insert("team_name".into(), v.clone());
                    }
                }
            }
        }
        Value::Object(m)
    }

    /// The keys of several machines, object storage and the license.
    fn topology_json(&self, m: &mut Map<String, Value>) {
        let text = |f: Field| self.text(f).trim().to_owned();
        if self.several() {
            // An entry that is not three words stays a string: validation then
            // names it (`machines[i] must be an object`), reworded by `wizard_words`.
            let list: Vec<Value> = self
                .machine_entries()
                .into_iter()
                .map(|(entry, words)| match words {
                    Some([name, role, address]) => {
                        serde_json::json!({"name": name, "role": role, "address": address})
                    }
                    None => Value::String(entry.to_owned()),
                })
                .collect();
            m.insert("machines".into(), Value::Array(list));
            if !text(Field::Node).is_empty() {
                m.insert("node".into(), text(Field::Node).into());
            }
        }
        if !text(Field::LicenseFile).is_empty() {
            m.insert("license_file".into(), text(Field::LicenseFile).into());
        }
        let url = text(Field::S3Url);
        let s3_fields = [Field::S3Bucket, Field::S3AccessKey, Field::S3Secret];
        if url.is_empty() && s3_fields.iter().all(|f| self.text(*f).is_empty()) {
            return;
        }
        let (ssl, endpoint) = match url.split_once("://") {
            Some((scheme, rest)) => (!scheme.eq_ignore_ascii_case("http"), rest),
            None => (true, url.as_str()),
        };
        let endpoint = endpoint.trim_end_matches('/');
        for (k, v) in [
            ("s3_endpoint", endpoint.to_owned()),
            ("s3_bucket", text(Field::S3Bucket)),
            ("s3_region", text(Field::S3Region)),
            ("s3_access_key_id", text(Field::S3AccessKey)),
            (
                "s3_secret_access_key",
                self.text(Field::S3Secret).to_owned(),
            ),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), v.into());
            }
        }
        m.insert("s3_ssl".into(), Value::Bool(ssl));
    }

    /// The machines as typed, those entries that read as `NAME ROLE ADDRESS`.
    fn listed_machines(&self) -> Vec<answers::Machine> {
        self.machine_entries()
            .into_iter()
            .filter_map(|(_, words)| {
                let [name, role, address] = words?;
                Some(answers::Machine {
                    name: name.to_owned(),
                    role: crate::vocab::Role::of_machine(role)?,
                    address: address.parse().ok()?,
                })
            })
            .collect()
    }

    /// The machine list as typed: each entry, and its three words when it has three.
    fn machine_entries(&self) -> Vec<(&str, Option<[&str; 3]>)> {
        self.text(Field::MachineList)
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                let words: Vec<&str> = e.split_whitespace().collect();
                (e, <[&str; 3]>::try_from(words).ok())
            })
            .collect()
    }

    /// This server among the machines typed so far: named, or found by its address.
    pub fn this_machine(&self) -> Option<answers::Machine> {
        if !self.several() {
            return None;
        }
        let name = match self.find_node() {
            Ok(Some(found)) => found,
            Ok(None) => self.text(Field::Node).trim().to_owned(),
            Err(_) => return None,
        };
        self.listed_machines().into_iter().find(|m| m.name == name)
    }

    /// This box among several machines: the one with one of its addresses
    /// (`Prefill::addresses`), unless the operator named it. Asked of the list as
    /// typed, so the problem shows on the machines screen even while another
    /// screen still has one.
    fn find_node(&self) -> Result<Option<String>, (Option<Field>, FieldError)> {
        let named = self.text(Field::Node).trim();
        if !self.several() || !named.is_empty() {
            return Ok(None);
        }
        let listed = self.listed_machines();
        if listed.is_empty() {
            return Ok(None);
        }
        answers::topology::find_node(&listed, &self.prefill.addresses)
            .map(Some)
            .map_err(|e| {
                (
                    Some(Field::Node),
                    FieldError {
                        field: Field::Node.label().into(),
                        problem: e.to_string(),
                        fix: "type this machine's name as the machine list gives it".into(),
                    },
                )
            })
    }

    /// Validates everything: the answers, or every problem with the field it is about
    /// (`None` for keys no question asks, e.g. a bad --sha256).
    pub fn validate(&self) -> Result<Answers, Vec<(Option<Field>, FieldError)>> {
        let mut extra = Vec::new();
        let mismatch = |again: Field, first: Field| {
            (self.text(again) != self.text(first)).then(|| {
                (
                    Some(again),
                    FieldError {
                        field: again.label().into(),
                        problem: "does not match the first entry".into(),
                        fix: "type the same password twice".into(),
                    },
                )
            })
        };
        if self.value(Field::DbPasswordMode) == "type" {
            extra.extend(mismatch(Field::DbPasswordAgain, Field::DbPassword));
        }
        if self.value(Field::Admin) == "yes" {
            extra.extend(mismatch(Field::AdminPasswordAgain, Field::AdminPassword));
        }
        if self.several() && self.text(Field::MachineList).trim().is_empty() {
            extra.push((
                Some(Field::MachineList),
                FieldError {
                    field: Field::MachineList.label().into(),
                    problem: "is empty".into(),
                    fix: "list each machine as NAME ROLE ADDRESS, comma-separated, e.g. db1 database 10.0.0.10, app1 app 10.0.0.11, web proxy 10.0.0.13".into(),
                },
            ));
        }
        let node = self.find_node().unwrap_or_else(|e| {
            extra.push(e);
            None
        });
        let parsed = answers::from_json(&self.to_json().to_string(), self.prefill.saved.as_ref());
        match parsed {
            Ok(mut a) if extra.is_empty() => {
                a.node = a.node.or(node);
                Ok(a)
            }
            Ok(_) => Err(extra),
            Err(invalid) => {
                let mut all: Vec<(Option<Field>, FieldError)> = invalid
                    .0
                    .into_iter()
                    .map(|e| {
                        let f = self.field_of(&e.field);
                        (f, wizard_words(f, e))
                    })
                    .collect();
                all.extend(extra);
                Err(all)
            }
        }
    }

    /// Problems with the given fields only (a screen's), first per field.
    pub fn errors_in(&self, fields: &[Field]) -> Vec<(Field, FieldError)> {
        let mut out: Vec<(Field, FieldError)> = Vec::new();
        if let Err(errs) = self.validate() {
            for (f, e) in errs {
                if let Some(f) = f {
                    if fields.contains(&f) && !out.iter().any(|(g, _)| *g == f) {
                        out.push((f, e));
                    }
                }
            }
        }
        out
    }

    fn field_of(&self, key: &str) -> Option<Field> {
        use Field::*;
        let pinned = self.value(Version) == "pinned";
        Some(match key {
            "domain" => Domain,
            "db_engine" => DbEngine,
            "db_name" => DbName,
            "db_user" => DbUser,
            "db_password" if self.value(DbPasswordMode) == "type" => DbPassword,
            "db_password" => DbPasswordMode,
            "install_dir" => InstallDir,
            "data_dir" => DataDir,
            "edition" => Edition,
            "version" | "sha256" if pinned => VersionPin,
            "version" => Version,
            "proxy" => Proxy,
            "tls" => Tls,
            "letsencrypt_email" => LetsencryptEmail,
            "letsencrypt_agree_tos" => LetsencryptAgree,
            "tls_cert" => TlsCert,
            "tls_key" => TlsKey,
            "admin_username" => AdminUsername,
            "admin_email" => AdminEmail,
            "admin_password" => AdminPassword,
            "adopt_existing" => AdoptExisting,
            k if k.starts_with("machines") => MachineList,
            "node" => Node,
            "license_file" => LicenseFile,
            "s3_endpoint" | "s3_ssl" => S3Url,
            "s3_bucket" => S3Bucket,
            "s3_region" => S3Region,
            "s3_access_key_id" => S3AccessKey,
            "s3_secret_access_key" => S3Secret,
            _ => return None,
        })
    }
}

/// An answers-file problem in the wizard's words: the subject named as on screen,
/// the fix as something to do here rather than a key to edit.
fn wizard_words(f: Option<Field>, mut e: FieldError) -> FieldError {
    let key = e.field.clone();
    e.field = match (key.as_str(), f) {
        ("sha256", _) => "SHA-256".into(),
        (_, Some(f)) => f.label().into(),
        (k, None) => k.into(),
    };
    match key.as_str() {
        "sha256" => {
            e.fix = "start the wizard with --sha256 HEX (the tarball's published checksum), or pick a listed version".into();
        }
        // The answers' fix says "remove db_password to have one generated"; the
        // wizard's way to that is the Generate choice.
        "db_password" => {
            e.fix = match e.fix.split_once(", or remove") {
                Some((what, _)) => format!("{what}, or choose Generate"),
                None => e.fix,
            };
        }
        k if k.starts_with("machines") => {
            e.fix = format!(
                "{} (each machine: NAME ROLE ADDRESS, comma-separated, e.g. db1 database 10.0.0.10, app1 app 10.0.0.11, web proxy 10.0.0.13)",
                e.fix
            );
            if let Some(at) = machine_at(k) {
                e.problem = format!("entry {at}: {}", e.problem);
            }
        }
        "s3_endpoint" => {
            e.fix =
                "write the URL as https://host[:port] or http://host[:port], without a path".into();
        }
        "s3_secret_access_key" => {
            e.fix = "paste the secret key as the storage provider printed it".into();
        }
        "letsencrypt_agree_tos" => {
            e.problem = "are not agreed to yet".into();
            e.fix = "read https://letsencrypt.org/repository/ and choose I agree".into();
        }
        "download_base_url" => {
            e.fix = format!(
                "start the wizard with a valid --download-base-url ({})",
                e.fix
            );
        }
        "acme_server" | "acme_ca_bundle" => {
            e.fix = format!(
                "start the wizard with a valid --{} ({})",
                key.replace('_', "-"),
                e.fix
            );
        }
        _ => {}
    }
    e
}

/// What to do on the other machines, in order.
pub fn machines_order(a: &crate::answers::Answers) -> String {
    use crate::vocab::Role;
    let names = |role| {
        a.machines_of(role)
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Save the answers at the review and copy them (with their secret files) to each machine. Set up {} first, then {}, then {}: mattermost-setup install --answers FILE --yes on each.",
        if names(Role::Database).is_empty() {
            "the database".to_owned()
        } else {
            names(Role::Database)
        },
        names(Role::App),
        names(Role::Proxy)
    )
}

/// `machines[2].role` → "3" (the entry's position as the operator counts).
fn machine_at(key: &str) -> Option<usize> {
    let i: usize = key
        .strip_prefix("machines[")?
        .split(']')
        .next()?
        .parse()
        .ok()?;
    Some(i + 1)
}

/// The wizard's questions, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Domain,
    Machines,
    Database,
    Storage,
    Release,
    Proxy,
    Admin,
    Review,
}

impl Step {
    pub const ALL: [Self; 8] = [
        Self::Domain,
        Self::Machines,
        Self::Database,
        Self::Storage,
        Self::Release,
        Self::Proxy,
        Self::Admin,
        Self::Review,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Domain => "Domain",
            Self::Machines => "Machines",
            Self::Database => "Database",
            Self::Storage => "Storage",
            Self::Release => "Release",
            Self::Proxy => "Proxy",
            Self::Admin => "Admin",
            Self::Review => "Review",
        }
    }

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    #[must_use]
    pub fn next(self) -> Self {
        Self::ALL.get(self.index() + 1).copied().unwrap_or(self)
    }

    pub fn prev(self) -> Option<Self> {
        self.index().checked_sub(1).map(|i| Self::ALL[i])
    }
}

/// How hard a typed password is to guess, in words.
pub fn strength(p: &str) -> (&'static str, u32) {
    let n = p.chars().count();
    if n < 8 {
        return ("too short: at least 8 characters", 0);
    }
    let mut pool = 0u32;
    if p.chars().any(|c| c.is_ascii_lowercase()) {
        pool += 26;
    }
    if p.chars().any(|c| c.is_ascii_uppercase()) {
        pool += 26;
    }
    if p.chars().any(|c| c.is_ascii_digit()) {
        pool += 10;
    }
    if p.chars().any(|c| !c.is_ascii_alphanumeric()) {
        pool += 33;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let bits = (n as f64 * f64::from(pool.max(2)).log2()) as u32;
    let words = match bits {
        0..50 => "weak: make it longer",
        50..80 => "fair",
        _ => "strong",
    };
    (words, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft::new(
            Secret::new("GeneratedPassword0123456789abcdef"),
            Caps::minimal(),
            Prefill::default(),
        )
    }

    #[test]
    fn defaults_need_only_a_domain() {
        let mut d = draft();
        let errs = d.validate().unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, Some(Field::Domain));
        d.set_text(Field::Domain, "chat.example.com");
        let a = d.validate().unwrap();
        assert_eq!(a.db_password.expose(), "GeneratedPassword0123456789abcdef");
        assert_eq!(a.data_dir, PathBuf::from("/opt/mattermost/data"));
    }

    #[test]
    fn options_this_version_rejects_are_coming_and_skipped() {
        let mut d = draft();
        let opts = d.options(Field::Proxy);
        assert!(!opts[1].enabled);
        assert_eq!(opts[1].note, "coming in a later version");
        d.cycle(Field::Proxy, 1);
        assert_eq!(d.value(Field::Proxy), "apache");
        d.select(Field::Proxy, "nginx");
        assert_eq!(d.value(Field::Proxy), "apache");
        assert_eq!(
            Caps::detect().nginx,
            answers::from_json(r#"{"domain":"a.example.com","proxy":"nginx"}"#, None).is_ok()
        );
    }

    #[test]
    fn problems_map_to_their_fields() {
        let mut d = draft();
        d.set_text(Field::Domain, "chat.example.com");
        d.select(Field::DbEngine, "mariadb");
        d.select(Field::Version, "pinned");
        d.set_text(Field::VersionPin, "11.7.9");
        d.select(Field::DbPasswordMode, "type");
        d.set_text(Field::DbPassword, "long enough 1");
        d.set_text(Field::DbPasswordAgain, "long enough 2");
        let errs = d.errors_in(&d.fields(Step::Release));
        assert_eq!(errs[0].0, Field::VersionPin);
        assert!(errs[0].1.problem.contains("10.11"), "{:?}", errs[0]);
        let errs = d.errors_in(&d.fields(Step::Database));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, Field::DbPasswordAgain);
        // MariaDB resolves ESR to the last 10.11 release.
        assert!(d.options(Field::Version)[0].label.starts_with("ESR 10.11."));
    }

    #[test]
    fn the_data_dir_follows_the_install_dir_until_edited() {
        let mut d = draft();
        d.set_text(Field::InstallDir, "/srv/mm");
        d.edited(Field::InstallDir);
        assert_eq!(d.text(Field::DataDir), "/srv/mm/data");
        d.set_text(Field::DataDir, "/data/mm");
        d.edited(Field::DataDir);
        d.set_text(Field::InstallDir, "/opt/mm");
        d.edited(Field::InstallDir);
        assert_eq!(d.text(Field::DataDir), "/data/mm");
    }

    #[test]
    fn saved_answers_prefill_and_keep_their_password() {
        let saved = answers::from_json(
            r#"{"domain":"old.example.com","db_password":"the old one!","edition":"team","retention_days":30}"#,
            None,
        )
        .unwrap();
        let d = Draft::new(
            Secret::new("new-generated-1234"),
            Caps::minimal(),
            Prefill {
                saved: Some(saved.clone()),
                ..Prefill::default()
            },
        );
        let a = d.validate().unwrap();
        assert_eq!(a, saved);
    }

    fn several(addresses: &[&str]) -> Draft {
        let mut d = Draft::new(
            Secret::new("GeneratedPassword0123456789abcdef"),
            Caps::detect(),
            Prefill {
                addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
                ..Prefill::default()
            },
        );
        d.set_text(Field::Domain, "chat.example.com");
        d.pick(Field::Tls, "none");
        d.pick(Field::Machines, "several");
        d
    }

    #[test]
    fn several_machines_are_asked_and_this_server_finds_itself_by_its_address() {
        let mut d = several(&["127.0.0.1", "10.0.0.22"]);
        assert_eq!(
            d.value(Field::Proxy),
            "nginx",
            "the proxy machine balances with nginx"
        );
        assert_eq!(
            d.fields(Step::Machines),
            [
                Field::Machines,
                Field::MachineList,
                Field::Node,
                Field::LicenseFile
            ]
        );
        assert!(d.fields(Step::Storage).contains(&Field::S3Secret));
        d.set_text(
            Field::MachineList,
            "db1 database 10.0.0.10, app1 app 10.0.0.21;app2 app 10.0.0.22,\n web proxy 10.0.0.30",
        );
        d.set_text(Field::LicenseFile, "/root/mattermost.mattermost-license");
        d.set_text(Field::S3Url, "http://10.0.0.5:7480/");
        d.set_text(Field::S3Bucket, "chat-files");
        d.set_text(Field::S3AccessKey, "AKID");
        d.set_text(Field::S3Secret, "s3cr3t/with+chars");
        let a = d.validate().unwrap();
        assert_eq!(a.machines.len(), 4);
        assert_eq!(a.node.as_deref(), Some("app2"));
        assert_eq!(a.role(), crate::vocab::Role::App);
        let s3 = a.s3.as_ref().unwrap();
        assert_eq!(
            (s3.endpoint.as_str(), s3.ssl, s3.region.as_str()),
            ("10.0.0.5:7480", false, "us-east-1")
        );
        assert_eq!(s3.secret_access_key.expose(), "s3cr3t/with+chars");
        assert!(machines_order(&a).contains("Set up db1 first, then app1, app2, then web"));
        // Saved by that install, the answers fill every question again.
        let again = Draft::new(
            Secret::new("other-generated-1234"),
            Caps::detect(),
            Prefill {
                saved: Some(a.clone()),
                ..Prefill::default()
            },
        );
        assert!(again.several());
        assert_eq!(again.validate().unwrap(), a);
        // One server: the license stays on the screen, so it stays in the answers.
        d.pick(Field::Machines, "one");
        assert_eq!(
            d.fields(Step::Machines),
            [Field::Machines, Field::LicenseFile]
        );
        assert!(d.validate().unwrap().license_file.is_some());
        d.set_text(Field::S3Url, "");
        d.set_text(Field::S3Bucket, "");
        d.set_text(Field::S3AccessKey, "");
        d.set_text(Field::S3Secret, "");
        d.set_text(Field::LicenseFile, "");
        let one = d.validate().unwrap();
        assert!(one.machines.is_empty() && one.s3.is_none() && one.node.is_none());
    }

    #[test]
    fn problems_with_the_machines_name_their_field_in_the_wizards_words() {
        let mut d = several(&["192.168.1.10"]);
        d.set_text(
            Field::MachineList,
            "db1 database 10.0.0.10, app1 10.0.0.21, web proxy 10.0.0.30",
        );
        let errs = d.errors_in(&d.fields(Step::Machines));
        assert_eq!(errs[0].0, Field::MachineList, "{errs:?}");
        assert!(errs[0].1.problem.starts_with("entry 2: "), "{errs:?}");
        assert!(errs[0].1.fix.contains("NAME ROLE ADDRESS"), "{errs:?}");

        d.set_text(
            Field::MachineList,
            "db1 database 10.0.0.10, app1 app 10.0.0.21, app2 app 10.0.0.22, web proxy 10.0.0.30",
        );
        let errs = d.validate().unwrap_err();
        let on = |f: Field| {
            errs.iter()
                .find(|(g, _)| *g == Some(f))
                .map(|(_, e)| e.clone())
        };
        let license = on(Field::LicenseFile).expect("two app machines need the license");
        assert!(
            license
                .fix
                .contains("events such as new messages do not cross servers")
        );
        assert!(on(Field::S3Bucket).is_some(), "{errs:?}");
        assert!(on(Field::Node).is_some(), "{errs:?}");

        d.set_text(Field::LicenseFile, "/root/mattermost.mattermost-license");
        d.set_text(Field::S3Url, "https://s3.example.com/some/path");
        d.set_text(Field::S3Bucket, "chat-files");
        d.set_text(Field::S3AccessKey, "AKID");
        d.set_text(Field::S3Secret, "secret");
        let errs = d.errors_in(&d.fields(Step::Storage));
        assert_eq!(errs[0].0, Field::S3Url, "{errs:?}");
        assert!(
            errs[0].1.fix.starts_with("write the URL as https://"),
            "{errs:?}"
        );

        d.set_text(Field::S3Url, "https://s3.example.com");
        let errs = d.errors_in(&d.fields(Step::Machines));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, Field::Node);
        assert_eq!(
            errs[0].1.problem,
            "none of the listed machines is this server: its addresses are 192.168.1.10"
        );
        d.set_text(Field::Node, "web");
        assert_eq!(d.validate().unwrap().role(), crate::vocab::Role::Proxy);
        d.set_text(Field::Node, "web2");
        assert_eq!(d.errors_in(&[Field::Node])[0].1.field, "This machine");
    }

    #[test]
    fn strength_in_words() {
        assert!(strength("short").0.starts_with("too short"));
        assert!(strength("abcdefgh").0.starts_with("weak"));
        assert_eq!(strength("correct horse battery staple 9").0, "strong");
    }
}

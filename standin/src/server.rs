//! `mattermost server`: the start-up sequence of the real server, reduced
//! to the checks an installer's contract depends on.

use std::fs::DirBuilder;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::build_info;
use crate::cluster::Cluster;
use crate::config::{self, Settings};
use crate::db;
use crate::dsn;
use crate::error::{Error, Result, fail};
use crate::filestore::{self, FileStore};
use crate::http::{self, AppState};
use crate::license::{self, License};
use crate::log::Logger;
use crate::notify;
use crate::paths;
use crate::util;

/// Options of `mattermost [server]`.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `-c/--config`.
    pub config: Option<String>,
}

/// Runs the server; only returns on a start-up failure (exit code 1).
pub fn run(opts: &ServerOptions) -> i32 {
    let log = Arc::new(Logger::console_only());
    let Err(e) = start(opts, &log);
    let msg = log.scrub(e.message());
    log.error(&msg, &[]);
    eprintln!("Error: {msg}");
    1
}

/// The real binary loads its translations before anything else and stops
/// if `i18n/en.json` cannot be found or parsed.
fn check_translations() -> Result<()> {
    let wrap = |e: Error| e.context("unable to load Mattermost translation files");
    let Some(dir) = paths::find_dir("i18n") else {
        return Err(wrap(Error::new("unable to find i18n directory")));
    };
    let en = dir.join("en.json");
    let text = std::fs::read_to_string(&en).map_err(|e| {
        wrap(Error::new(format!(
            "failed to load {}: {e}",
            paths::display_abs(&en)
        )))
    })?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Array(_)) => Ok(()),
        Ok(_) => Err(wrap(Error::new(format!(
            "{}: translations must be a JSON array",
            paths::display_abs(&en)
        )))),
        Err(e) => Err(wrap(Error::new(format!(
            "{}: {e}",
            paths::display_abs(&en)
        )))),
    }
}

/// Email templates: the real server needs a `templates` directory with at
/// least one `*.html` file.
fn check_templates() -> Result<()> {
    let Some(dir) = paths::find_dir("templates") else {
        return fail("Failed find server templates in \"templates\" directory or MM_SERVER_PATH");
    };
    let has_html = std::fs::read_dir(&dir)
        .map_err(|e| {
            Error::new(format!(
                "cannot initialize server templates: {}: {e}",
                paths::display_abs(&dir)
            ))
        })?
        .filter_map(std::result::Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "html"));
    if has_html {
        Ok(())
    } else {
        fail(format!(
            "cannot initialize server templates: html/template: pattern matches no files: `{}/*.html`",
            dir.display()
        ))
    }
}

/// `FileSettings.Directory`: created if missing, then proven writable.
fn check_file_directory(dir: &Path) -> Result<()> {
    let shown = paths::display_abs(dir);
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| {
                Error::new(format!(
                    "Problem with file storage settings: Failed to create directory {shown}: {e}"
                ))
            })?;
    }
    let probe = dir.join("testfile");
    std::fs::write(&probe, b"testingwrite")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            Error::new(format!(
                "Problem with file storage settings: Failed to write to local path {shown}: {e}"
            ))
        })
}

fn ensure_dir(dir: &Path, what: &str) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| {
            Error::new(format!(
                "Failed to start up plugins: failed to create {what} {}: {e}",
                paths::display_abs(dir)
            ))
        })
}

/// Resolves `ServiceSettings.ListenAddress` like Go's `net.Listen("tcp")`.
fn bind(listen: &str) -> Result<TcpListener> {
    let err = |e: &dyn std::fmt::Display| {
        Error::new(format!(
            "Error starting server, err:listen tcp {listen}: {e}"
        ))
    };
    let (host, port) = dsn::split_host_port(listen).map_err(|e| err(&e))?;
    let port: u16 = port
        .parse()
        .map_err(|_| err(&format!("lookup port {port:?}: unknown port")))?;
    if host.is_empty() {
        // All interfaces; dual-stack like Go, IPv4 only if IPv6 is off.
        return TcpListener::bind(SocketAddr::from(([0u16; 8], port)))
            .or_else(|_| TcpListener::bind(SocketAddr::from(([0u8; 4], port))))
            .map_err(|e| err(&e));
    }
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| err(&e))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| err(&"no addresses"))?;
    TcpListener::bind(addr).map_err(|e| err(&e))
}

/// Local mode (`ServiceSettings.EnableLocalMode`): the local API on a Unix
/// socket, mode 0600, no authentication. Like the real server, a stale
/// socket file is removed first, and a failure is logged without stopping
/// the server.
fn start_local_mode(socket: &Path, state: &Arc<AppState>) {
    let log = &state.log;
    let shown = paths::display_abs(socket);
    let bound = match std::fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => UnixListener::bind(socket),
    }
    .and_then(|l| {
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
        Ok(l)
    });
    match bound {
        Ok(listener) => {
            log.info("Starting unix socket server", &[("socket", &shown)]);
            let state = Arc::clone(state);
            let spawned = std::thread::Builder::new()
                .name("local-mode".into())
                .spawn(move || http::serve_local(&listener, &state));
            if let Err(e) = spawned {
                log.error(
                    "Failed to start the local mode server",
                    &[("error", &e.to_string())],
                );
            }
        }
        Err(e) => log.error(
            &format!("Failed to start server, err:listen unix {shown}: {e}"),
            &[("socket", &shown)],
        ),
    }
}

fn root_html() -> Vec<u8> {
    paths::find_dir("client")
        .and_then(|d| std::fs::read(d.join("root.html")).ok())
        .unwrap_or_else(|| http::DEFAULT_ROOT_HTML.as_bytes().to_vec())
}

/// `X-Version-ID` as the real server builds it.
fn version_id(settings: &Settings, licensed: bool) -> String {
    let digest = util::sha1(format!("{}{}", build_info::VERSION, settings.site_url).as_bytes());
    let hash = util::hex(&digest[..16]);
    format!("{v}.{v}.{hash}.{licensed}", v = build_info::VERSION)
}

/// platform/license.go `LoadLicense` (Enterprise builds only): `MM_LICENSE`,
/// else the license file (`ServiceSettings.LicenseFileLocation`, default
/// `config/mattermost.mattermost-license`), with the real log lines.
fn load_license(settings: &Settings, user_count: u64, log: &Logger) -> Option<License> {
    let now = i64::try_from(util::now_millis()).unwrap_or(i64::MAX);
    let from_env = std::env::var("MM_LICENSE").ok().filter(|v| !v.is_empty());
    let (bytes, from_file) = if let Some(env) = from_env {
        (env.into_bytes(), None)
    } else {
        let file = if settings.license_file_location.is_empty() {
            paths::find_dir("config").map_or_else(
                || PathBuf::from("config/mattermost.mattermost-license"),
                |d| d.join("mattermost.mattermost-license"),
            )
        } else {
            PathBuf::from(&settings.license_file_location)
        };
        let shown = paths::display_abs(&file);
        log.info(
            "License key has not been uploaded. Loading license key from disk.",
            &[("filename", &shown)],
        );
        match std::fs::read(&file) {
            Ok(b) => (b, Some(shown)),
            Err(e) => {
                log.warn(
                    "Failed to get license from disk",
                    &[(
                        "error",
                        &format!("We could not find the license key on disk at {shown}: stat {shown}: {e}"),
                    )],
                );
                log.warn(
                    "License key from https://mattermost.com required to unlock enterprise features.",
                    &[],
                );
                return None;
            }
        }
    };
    let refused = |what: &str, err: String| {
        log.error(what, &[("error", &err)]);
        if from_file.is_some() {
            log.warn(
                "License key from https://mattermost.com required to unlock enterprise features.",
                &[],
            );
        }
        None
    };
    let license = match license::validate(&bytes) {
        Ok(l) => l,
        Err(e) => {
            return match &from_file {
                Some(f) => {
                    log.warn(
                        "Failed to get license from disk",
                        &[(
                            "error",
                            &format!("Found license key at {f} but it appears to be invalid: {e}"),
                        )],
                    );
                    log.warn(
                        "License key from https://mattermost.com required to unlock enterprise features.",
                        &[],
                    );
                    None
                }
                None => refused(
                    "Failed to read license set in environment.",
                    format!("LicenseFromBytes: Invalid license.: {e}"),
                ),
            };
        }
    };
    // SaveLicense checks (platform/license.go).
    let what = if from_file.is_some() {
        "Failed to save license key loaded from disk."
    } else {
        "License key from ENV is invalid."
    };
    match license.users {
        None => {
            return refused(
                what,
                "addLicense: Invalid license file.: license.Features.Users is nil".into(),
            );
        }
        Some(users) if i64::try_from(user_count).unwrap_or(i64::MAX) > users => {
            return refused(
                what,
                format!(
                    "addLicense: Your license only supports {users} users, but there are {user_count} unique users."
                ),
            );
        }
        Some(_) => {}
    }
    if license.is_expired(now) {
        return refused(
            what,
            "addLicense: License is expired or not yet started.".into(),
        );
    }
    let fmt = |ms: i64| util::format_timestamp(u64::try_from(ms).unwrap_or(0));
    log.info(
        "Set license",
        &[
            ("id", &license.id),
            ("issued_at", &fmt(license.issued_at)),
            ("starts_at", &fmt(license.starts_at)),
            ("expires_at", &fmt(license.expires_at)),
            ("sku_short_name", &license.sku_short_name),
            ("features.cluster", &license.cluster.to_string()),
        ],
    );
    log.info(
        if from_file.is_some() {
            "License key is valid, unlocking enterprise features."
        } else {
            "License key from ENV is valid, unlocking enterprise features."
        },
        &[],
    );
    Some(license)
}

/// The informational lines the real server logs at start-up.
fn log_startup(log: &Logger, config_path: &Path, log_file: Option<&Path>) {
    log.info("Server is initializing...", &[("go_version", "standin")]);
    log.info(
        &format!(
            "Current version is {v} ({v}/{}/{}/{})",
            build_info::BUILD_DATE,
            build_info::BUILD_HASH,
            build_info::BUILD_HASH,
            v = build_info::VERSION
        ),
        &[
            ("current_version", build_info::VERSION),
            ("build_number", build_info::VERSION),
            ("build_date", build_info::BUILD_DATE),
            ("build_hash", build_info::BUILD_HASH),
        ],
    );
    log.info(
        &format!(
            "Enterprise Build Enabled: {}",
            build_info::enterprise_ready()
        ),
        &[(
            "enterprise_build",
            &build_info::enterprise_ready().to_string(),
        )],
    );
    let cwd = std::env::current_dir().map_or_else(|_| "?".into(), |p| p.display().to_string());
    log.info("Printing current working directory", &[("cwd", &cwd)]);
    log.info(
        "Loaded config",
        &[(
            "source",
            &format!("file://{}", paths::display_abs(config_path)),
        )],
    );
    if let Some(p) = log_file {
        log.info("Logging to file", &[("file", &paths::display_abs(p))]);
    }
    if build_info::fault_unhealthy() {
        log.warn(
            "Stand-in fault injection active: the ping endpoint reports UNHEALTHY",
            &[("fault", "unhealthy")],
        );
    }
}

fn start(opts: &ServerOptions, log: &Arc<Logger>) -> Result<std::convert::Infallible> {
    if util::effective_uid() == Some(0) {
        log.warn(
            "Running Mattermost as root is not recommended. Please use a non-root user.",
            &[],
        );
    }
    check_translations()?;

    let config_path = config::resolve_path(opts.config.as_deref())
        .map_err(|e| e.context("failed to load configuration"))?;
    // Register the password before anything can print it.
    if let Ok(root) = config::read_json(&config_path) {
        let env = |name: &str| std::env::var(name).ok();
        if let Ok(s) = config::settings_from(&root, &env) {
            for secret in dsn::password_spellings(&s.sql_driver_name, &s.sql_data_source) {
                log.add_secret(&secret);
            }
            if !s.s3.secret_access_key.is_empty() {
                log.add_secret(&s.s3.secret_access_key);
            }
        }
    }
    let settings =
        config::load(&config_path).map_err(|e| e.context("failed to load configuration"))?;

    let log_file = log
        .configure(&settings.log)
        .map_err(|e| e.context("failed to initialize logging"))?;

    log_startup(log, &config_path, log_file.as_deref());

    check_templates()?;

    let db = db::connect(&settings.sql_driver_name, &settings.sql_data_source, log)
        .map_err(|e| e.context("cannot create store"))?;

    // platform/service.go: the license is loaded on Enterprise builds only.
    let license = if build_info::enterprise_ready() {
        let users = crate::store::count_users(&db).unwrap_or(0);
        load_license(&settings, users, log)
    } else {
        None
    };

    // platform/service.go: the file backend is created at start-up; an invalid
    // S3 endpoint stops the server ("failed to initialize filebackend").
    let files = if settings.file_driver_name == "amazons3" {
        FileStore::S3(Box::new(
            filestore::S3Store::new(&settings.s3)
                .map_err(|e| e.context("failed to initialize filebackend"))?,
        ))
    } else {
        let file_directory = PathBuf::from(&settings.file_directory);
        check_file_directory(&file_directory)?;
        FileStore::Local(file_directory)
    };
    if settings.plugins_enable {
        ensure_dir(Path::new(&settings.plugin_directory), "plugin directory")?;
        ensure_dir(
            Path::new(&settings.plugin_client_directory),
            "client plugin directory",
        )?;
    }

    // app/server.go Start: TestConnection, MakeBucket when the bucket is
    // missing, and a failure is only logged — the server starts anyway and
    // uploads fail later.
    if let FileStore::S3(s3) = &files {
        let tested = match files.test_connection() {
            Err(filestore::TestError::NoBucket) => s3.make_bucket(),
            Err(filestore::TestError::Other(m)) => Err(Error::new(m)),
            Ok(()) => Ok(()),
        };
        match tested {
            Ok(()) => log.debug("Connection to S3 or minio is good. Bucket exists.", &[]),
            Err(e) => log.error(
                "Problem with file storage settings",
                &[("error", e.message())],
            ),
        }
    }

    log.info("Starting Server...", &[]);
    let listener = bind(&settings.listen_address)?;
    let addr = listener
        .local_addr()
        .map_or_else(|_| settings.listen_address.clone(), |a| a.to_string());
    log.info(
        &format!("Server is listening on {addr}"),
        &[("address", &addr)],
    );

    let version_id = version_id(&settings, license.is_some());
    let ws_hub = Arc::new(crate::ws::Hub::default());
    let cluster = if !settings.cluster.enable {
        None
    } else if license.as_ref().is_some_and(|l| l.cluster) {
        let port = listener.local_addr().map_or(0, |a| a.port());
        Some(Cluster::start(
            &settings.cluster,
            port,
            &db,
            crate::cluster::base_info(&version_id),
            &ws_hub,
            log,
        )?)
    } else {
        // The enterprise cluster code is closed source: this line is the
        // stand-in's own wording of what happens (nothing but the log).
        log.warn(
            "Cluster mode is not licensed: ClusterSettings.Enable is ignored and this node runs alone. \
             A license with the cluster feature is required.",
            &[("cluster_name", &settings.cluster.cluster_name)],
        );
        None
    };

    let state = Arc::new(AppState {
        log: Arc::clone(log),
        site_url: settings.site_url.clone(),
        allow_cors_from: settings.allow_cors_from.clone(),
        trusted_proxy_ip_header: settings.trusted_proxy_ip_header.clone(),
        version_id,
        // The database can go away and come back while the server runs (a restart
        // for a security update, a crash that systemd repairs). The real server pings
        // it only at start-up, then works through Go's database/sql pool, which drops
        // broken connections and dials new ones: it keeps running, the queries made
        // while the database is down fail (ping?get_server_status=true says
        // database_status UNHEALTHY), and the next ones succeed
        // (mattermost/mattermost server/channels/store/sqlstore/store.go,
        // SetupConnection; the ping: server/channels/api4/system.go, getSystemPing). The
        // stand-in does the same by construction: every query is a new client
        // connection (db.rs), so nothing here is tied to one database process.
        db: Some(db),
        files,
        max_file_size: settings.max_file_size,
        cluster,
        ws_hub,
        unhealthy: build_info::fault_unhealthy(),
        root_html: root_html(),
        sessions: std::sync::Mutex::default(),
    });
    if settings.enable_local_mode {
        start_local_mode(Path::new(&settings.local_mode_socket_location), &state);
    }

    notify::notify_ready(log);

    http::serve(&listener, &state);
    fail("listener closed")
}

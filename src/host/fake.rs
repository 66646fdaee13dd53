//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! A recording fake box for unit tests: a real [`Host`] rooted in a temp dir, whose
//! commands are answered by a scripted [`Runner`] instead of running.
//!
//! - Every command is recorded (program, args, user, whether it had stdin — never
//!   the stdin itself: it may hold a secret).
//! - Answers come from rules matched on program + leading args; the longest
//!   matching prefix wins, then the newest rule, so a test overrides a default
//!   with one line.
//! - A small simulated box (dpkg's packages, systemd's units, users) backs the
//!   default rules for apt-get, dpkg-query, systemctl and useradd, so a phase's
//!   probe → apply → verify sees its own effects.
//! - An unscripted command fails loudly (exit 127, "UNSCRIPTED …" on stderr) and is
//!   listed by [`FakeBox::unscripted`], so a test names what it did not expect.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Cmd, Host, Output, RunLog, Runner};
use crate::events::Event;

/// One command as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub program: String,
    pub args: Vec<String>,
    /// `runuser -u USER -- ...`: the user, with `program`/`args` the inner command.
    pub user: Option<String>,
    pub has_stdin: bool,
    pub env_keys: Vec<String>,
}

impl Call {
    /// `program arg arg ...` (the inner command for runuser).
    pub fn line(&self) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// What the simulated box holds beyond its files.
#[derive(Debug, Default, Clone)]
pub struct World {
    /// Packages dpkg has fully installed.
    pub packages: BTreeSet<String>,
    pub active: BTreeSet<String>,
    pub enabled: BTreeSet<String>,
    /// Files `apt-get install PKG` creates under the root (path, content).
    pub package_files: BTreeMap<String, Vec<(String, String)>>,
    /// Anything else a test's rules remember (a database created, ...).
    pub flags: BTreeSet<String>,
}

/// The box handed to a rule's handler: the fake root and the simulated state.
pub struct Scene<'a> {
    pub root: &'a Path,
    pub world: &'a mut World,
}

impl Scene<'_> {
    /// The real path of a box path.
    pub fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    pub fn write(&self, p: &str, content: &str) {
        let real = self.path(p);
        if let Some(d) = real.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = std::fs::write(real, content);
    }
}

type Handler = dyn Fn(&Cmd, &[String], &mut Scene) -> Output + Send + Sync;

struct Rule {
    program: String,
    prefix: Vec<String>,
    handler: Arc<Handler>,
}

struct Script {
    root: PathBuf,
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<Vec<Call>>,
    world: Mutex<World>,
    unscripted: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The inner program and args of `runuser -u USER -- prog args`.
fn unwrap_user(cmd: &Cmd) -> (Option<String>, String, Vec<String>) {
    if cmd.program == "runuser" {
        if let [flag, user, dashes, prog, rest @ ..] = cmd.args.as_slice() {
            if flag == "-u" && dashes == "--" {
                return (Some(user.clone()), prog.clone(), rest.to_vec());
            }
        }
    }
    (None, cmd.program.clone(), cmd.args.clone())
}

struct FakeRunner(Arc<Script>);

impl Runner for FakeRunner {
    fn run(&self, cmd: &Cmd, on_line: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
        let s = &self.0;
        let (user, program, args) = unwrap_user(cmd);
        lock(&s.calls).push(Call {
            program: program.clone(),
            args: args.clone(),
            user: user.clone(),
            has_stdin: cmd.stdin.is_some(),
            env_keys: cmd.env.iter().map(|(k, _)| k.clone()).collect(),
        });
        let handler = {
            let rules = lock(&s.rules);
            // The longest matching prefix wins; among equals, the newest rule.
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.program == program
                        && args.len() >= r.prefix.len()
                        && args[..r.prefix.len()] == r.prefix[..]
                })
                .max_by_key(|(i, r)| (r.prefix.len(), *i))
                .map(|(_, r)| Arc::clone(&r.handler))
        };
        let Some(handler) = handler else {
            let line = format!(
                "{}{}",
                user.map(|u| format!("(as {u}) ")).unwrap_or_default(),
                cmd.display()
            );
            lock(&s.unscripted).push(line.clone());
            return Ok(Output {
                code: Some(127),
                stdout: String::new(),
                stderr: format!("UNSCRIPTED command in the fake box: {line}"),
            });
        };
        let out = {
            let mut world = lock(&s.world);
            let mut scene = Scene {
                root: &s.root,
                world: &mut world,
            };
            handler(cmd, &args, &mut scene)
        };
        if let Some(on_line) = on_line {
            for l in out.stdout.lines().chain(out.stderr.lines()) {
                on_line(l);
            }
        }
        Ok(out)
    }
}

/// Gives a tree to `uid:gid` (the converged box's service user).
fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    let _ = std::os::unix::fs::lchown(dir, Some(uid), Some(gid));
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            chown_tree(&e.path(), uid, gid);
        } else {
            let _ = std::os::unix::fs::lchown(e.path(), Some(uid), Some(gid));
        }
    }
}

/// A successful command printing `stdout`.
pub fn ok(stdout: &str) -> Output {
    Output {
        code: Some(0),
        stdout: stdout.to_owned(),
        stderr: String::new(),
    }
}

/// A failed command with `code` and `stderr`.
pub fn fail(code: i32, stderr: &str) -> Output {
    Output {
        code: Some(code),
        stdout: String::new(),
        stderr: stderr.to_owned(),
    }
}

/// A fake box: a temp dir as `/`, a real [`Host`] over it, a scripted runner.
pub struct FakeBox {
    pub host: Host,
    script: Arc<Script>,
    events: Arc<Mutex<Vec<Event>>>,
    dir: tempfile::TempDir,
}

impl FakeBox {
    /// An empty Debian 12 box: /etc/os-release, root and the standard groups, no
    /// packages, no units; apt-get, dpkg-query, systemctl and useradd simulated.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path().to_owned();
        let script = Arc::new(Script {
            root: root.clone(),
            rules: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            world: Mutex::new(World::default()),
            unscripted: Mutex::new(Vec::new()),
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let events = Arc::clone(&events);
            Arc::new(move |e: Event| lock(&events).push(e))
        };
        let host = Host::new(
            root.clone(),
            RunLog::create(&root.join("var/log/mattermost-setup")),
            sink,
            Box::new(FakeRunner(Arc::clone(&script))),
        );
        let b = Self {
            host,
            script,
            events,
            dir,
        };
        b.write(
            "/etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
        b.write(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\npostgres:x:108:114::/var/lib/postgresql:/bin/bash\n",
        );
        b.write("/etc/group", "root:x:0:\npostgres:x:114:\n");
        b.default_rules();
        b
    }

    /// What an install leaves for `a`: the packages, the service user, the release
    /// tree (bin/mattermost, config/config.json as planned, 0600), the data
    /// directory, the planned files (unit, proxy site, ...) with their modes, the
    /// site enabled, the units running, the release record, the saved answers and
    /// the ownership record saying what the tool created and wrote.
    pub fn converged(a: &crate::answers::Answers) -> Self {
        use crate::answers::Proxy;
        let b = Self::empty();
        let plan = crate::plan::Plan::new(a).expect("a plan");
        b.install_packages(&plan.packages);
        {
            let mut w = b.world();
            for u in [
                crate::plan::db_unit(a.db_engine),
                "mattermost.service",
                crate::plan::proxy_unit(a.proxy),
            ] {
                w.active.insert(u.to_owned());
                w.enabled.insert(u.to_owned());
            }
            w.flags.insert("pg:db".into());
        }
        let mut passwd = b.read("/etc/passwd").unwrap_or_default();
        passwd.push_str("mattermost:x:998:998::/opt/mattermost:/usr/sbin/nologin\n");
        b.write("/etc/passwd", &passwd);
        let mut group = b.read("/etc/group").unwrap_or_default();
        group.push_str("mattermost:x:998:\n");
        b.write("/etc/group", &group);
        let install = a.install_dir.to_string_lossy().into_owned();
        b.write(&format!("{install}/bin/mattermost"), "#!/bin/sh\n");
        b.write(&format!("{install}/client/root.html"), "<html></html>");
        b.write(
            &format!("{install}/client/plugins/com.example/main.js"),
            "plugin",
        );
        b.write(&format!("{install}/logs/mattermost.log"), "{}\n");
        b.write(&format!("{install}/plugins/com.example/plugin.json"), "{}");
        let data = a.data_dir.to_string_lossy().into_owned();
        b.write(&format!("{data}/teams/t1/file.png"), "png");
        let mut cfg = serde_json::json!({
            "ServiceSettings": {}, "SqlSettings": {}, "FileSettings": {},
            "PluginSettings": {}, "LogSettings": {}
        });
        crate::plan::apply_config_edits(&mut cfg, &plan.config_edits);
        let cfg_path = plan.config_json.to_string_lossy().into_owned();
        b.write(&cfg_path, &crate::plan::config_to_string(&cfg));
        let mut own = crate::state::Ownership::default();
        let set_mode = |p: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(b.path(p), std::fs::Permissions::from_mode(mode))
                .expect("chmod");
        };
        set_mode(&cfg_path, 0o600);
        for d in &plan.directories {
            std::fs::create_dir_all(b.host.path(d)).expect("mkdir");
        }
        set_mode(&data, 0o750);
        chown_tree(&b.path(&install), 998, 998);
        chown_tree(&b.path(&data), 998, 998);
        for f in &plan.files {
            let p = f.path.to_string_lossy().into_owned();
            b.write(&p, &f.content);
            set_mode(&p, f.mode);
            own.wrote(&f.path, f.content.as_bytes());
        }
        match a.proxy {
            Proxy::Nginx => {
                let link = b.path("/etc/nginx/sites-enabled/mattermost");
                std::fs::create_dir_all(link.parent().expect("a parent")).expect("mkdir");
                std::os::unix::fs::symlink("/etc/nginx/sites-available/mattermost", link)
                    .expect("symlink");
                own.created("nginx_site", crate::plan::NGINX_SITE);
            }
            Proxy::Apache => {
                b.write("/etc/apache2/sites-enabled/mattermost.conf", "");
                for m in &plan.apache_modules {
                    b.write(&format!("/etc/apache2/mods-enabled/{m}.load"), "");
                    own.created("apache_module", m);
                }
                own.created("apache_site", crate::plan::APACHE_SITE);
            }
        }
        for p in &plan.packages {
            own.created("package", p);
        }
        own.created("user", crate::plan::SERVICE_USER);
        own.created("directory", &install);
        own.created("directory", &data);
        own.created("unit", "mattermost.service");
        own.created("db_role", &a.db_user);
        own.created("database", &a.db_name);
        own.save(&b.host).expect("ownership record");
        let rec = crate::state::installed::ReleaseRecord {
            version: plan.release.version.to_string(),
            edition: plan.release.edition.to_owned(),
            sha256: plan.release.sha256.clone(),
            install_dir: a.install_dir.clone(),
        };
        b.write(
            crate::state::installed::RELEASE_RECORD,
            &serde_json::to_string_pretty(&rec).expect("json"),
        );
        crate::engine::save_answers(&b.host, a).expect("saved answers");
        // bin/mattermost version answers with the installed release.
        let version = format!("Version: {}\n", plan.release.version);
        b.on(
            &format!("{install}/bin/mattermost"),
            &["version"],
            move |_, _, _| ok(&version),
        );
        b
    }

    /// The root on the real file system.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The real path of a box path.
    pub fn path(&self, p: &str) -> PathBuf {
        self.host.path(Path::new(p))
    }

    /// Writes a file on the box (directories made as needed).
    pub fn write(&self, p: &str, content: &str) {
        let real = self.path(p);
        std::fs::create_dir_all(real.parent().expect("a parent")).expect("mkdir");
        std::fs::write(real, content).expect("write");
    }

    pub fn read(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.path(p)).ok()
    }

    pub fn exists(&self, p: &str) -> bool {
        std::fs::symlink_metadata(self.path(p)).is_ok()
    }

    /// Permission bits of a file on the box.
    pub fn mode(&self, p: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(self.path(p))
            .map_or_else(|e| panic!("{p}: {e}"), |m| m.permissions().mode() & 0o7777)
    }

    /// Answers `program args-prefix...` with `handler` (the longest matching prefix
    /// wins, then the newest rule).
    pub fn on(
        &self,
        program: &str,
        prefix: &[&str],
        handler: impl Fn(&Cmd, &[String], &mut Scene) -> Output + Send + Sync + 'static,
    ) {
        lock(&self.script.rules).push(Rule {
            program: program.to_owned(),
            prefix: prefix.iter().map(|s| (*s).to_owned()).collect(),
            handler: Arc::new(handler),
        });
    }

    /// Answers `program args-prefix...` always with `out`.
    pub fn reply(&self, program: &str, prefix: &[&str], out: Output) {
        self.on(program, prefix, move |_, _, _| out.clone());
    }

    /// The simulated package/unit state.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.script.world)
    }

    /// Every command run so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.script.calls).clone()
    }

    /// The command lines run so far (`program args`, runuser unwrapped).
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Call::line).collect()
    }

    /// Whether some command line starts with `prefix`.
    pub fn ran(&self, prefix: &str) -> bool {
        self.lines().iter().any(|l| l.starts_with(prefix))
    }

    /// Forgets the commands recorded so far.
    pub fn clear_calls(&self) {
        lock(&self.script.calls).clear();
    }

    /// Commands no rule answered.
    pub fn unscripted(&self) -> Vec<String> {
        lock(&self.script.unscripted).clone()
    }

    /// Fails the test naming every command no rule answered.
    pub fn assert_all_scripted(&self) {
        let u = self.unscripted();
        assert!(u.is_empty(), "unscripted commands: {u:#?}");
    }

    pub fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The warnings told so far, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Warning { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Marks packages installed (as dpkg would report them).
    pub fn install_packages(&self, names: &[&str]) {
        let mut w = self.world();
        for n in names {
            w.packages.insert((*n).to_owned());
        }
    }

    /// Marks units active and enabled.
    pub fn start_units(&self, names: &[&str]) {
        let mut w = self.world();
        for n in names {
            w.active.insert((*n).to_owned());
            w.enabled.insert((*n).to_owned());
        }
    }

    fn default_rules(&self) {
        self.on("dpkg-query", &["-W"], |_, args, s| {
            let mut out = String::new();
            let mut missing = false;
            for p in args.iter().skip(3) {
                if s.world.packages.contains(p) {
                    out.push_str(&format!("{p} ii \n"));
                } else {
                    missing = true;
                }
            }
            Output {
                code: Some(i32::from(missing)),
                stdout: out,
                stderr: String::new(),
            }
        });
        self.on("apt-get", &[], |_, args, s| {
            if let Some(i) = args.iter().position(|a| a == "install") {
                for p in args[i + 1..].iter().filter(|a| !a.starts_with('-')) {
                    if p.starts_with("Dpkg::") {
                        continue;
                    }
                    s.world.packages.insert(p.clone());
                    for (path, content) in s.world.package_files.get(p).cloned().unwrap_or_default()
                    {
                        s.write(&path, &content);
                    }
                }
            }
            ok("Reading package lists... Done\n")
        });
        self.on("systemctl", &["is-active"], |_, args, s| {
            let on = args.get(1).is_some_and(|u| s.world.active.contains(u));
            Output {
                code: Some(if on { 0 } else { 3 }),
                stdout: if on { "active\n" } else { "inactive\n" }.to_owned(),
                stderr: String::new(),
            }
        });
        self.on("systemctl", &["is-enabled"], |_, args, s| {
            let on = args.get(1).is_some_and(|u| s.world.enabled.contains(u));
            Output {
                code: Some(i32::from(!on)),
                stdout: if on { "enabled\n" } else { "disabled\n" }.to_owned(),
                stderr: String::new(),
            }
        });
        self.on("systemctl", &[], |_, args, s| {
            let verb = args.first().map(String::as_str).unwrap_or_default();
            let units: Vec<String> = args[1.min(args.len())..]
                .iter()
                .filter(|a| !a.starts_with('-'))
                .cloned()
                .collect();
            let now = args.iter().any(|a| a == "--now");
            for u in units {
                match verb {
                    "enable" => {
                        s.world.enabled.insert(u.clone());
                        if now {
                            s.world.active.insert(u);
                        }
                    }
                    "disable" => {
                        s.world.enabled.remove(&u);
                        if now {
                            s.world.active.remove(&u);
                        }
                    }
                    "start" | "restart" | "reload" | "try-restart" | "reload-or-restart" => {
                        s.world.active.insert(u);
                    }
                    "stop" => {
                        s.world.active.remove(&u);
                    }
                    _ => {}
                }
            }
            ok("")
        });
        self.on("useradd", &[], |_, args, s| {
            let Some(name) = args.last() else {
                return fail(2, "useradd: no name");
            };
            let passwd = s.path("/etc/passwd");
            let mut text = std::fs::read_to_string(&passwd).unwrap_or_default();
            text.push_str(&format!(
                "{name}:x:998:998::/nonexistent:/usr/sbin/nologin\n"
            ));
            let _ = std::fs::write(&passwd, text);
            let group = s.path("/etc/group");
            let mut text = std::fs::read_to_string(&group).unwrap_or_default();
            text.push_str(&format!("{name}:x:998:\n"));
            let _ = std::fs::write(&group, text);
            ok("")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unscripted_command_fails_and_is_named() {
        let b = FakeBox::empty();
        let out = b.host.probe(&Cmd::new("frobnicate", &["--now"])).unwrap();
        assert_eq!(out.code, Some(127));
        assert_eq!(b.unscripted(), ["frobnicate --now"]);
        assert!(b.host.run(&Cmd::new("frobnicate", &[])).is_err());
    }

    #[test]
    fn commands_are_recorded_with_user_and_without_stdin() {
        let b = FakeBox::empty();
        b.reply("psql", &["-c"], ok("1\n"));
        let out = b
            .host
            .run(&Cmd::as_user("postgres", "psql", &["-c", "select 1"]).stdin("s3cret"))
            .unwrap();
        assert_eq!(out.stdout, "1\n");
        let calls = b.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].user.as_deref(), Some("postgres"));
        assert_eq!(calls[0].line(), "psql -c select 1");
        assert!(calls[0].has_stdin);
        assert!(!format!("{calls:?}").contains("s3cret"));
    }

    #[test]
    fn the_simulated_box_remembers_packages_units_and_users() {
        let b = FakeBox::empty();
        b.world().package_files.insert(
            "nginx".into(),
            vec![("/usr/sbin/nginx".into(), "elf".into())],
        );
        assert!(b.lookup_none("mattermost"));
        b.host
            .run(&Cmd::new("apt-get", &["-y", "install", "nginx"]))
            .unwrap();
        assert!(b.exists("/usr/sbin/nginx"));
        assert!(b.world().packages.contains("nginx"));
        b.host
            .run(&Cmd::new("systemctl", &["enable", "--now", "nginx"]))
            .unwrap();
        let out = b
            .host
            .probe(&Cmd::new("systemctl", &["is-active", "nginx"]))
            .unwrap();
        assert_eq!(out.stdout.trim(), "active");
        b.host
            .run(&Cmd::new("useradd", &["--system", "mattermost"]))
            .unwrap();
        assert!(b.host.lookup_user("mattermost").is_some());
        // The newest rule wins.
        b.reply("systemctl", &["is-active"], ok("failed\n"));
        let out = b
            .host
            .probe(&Cmd::new("systemctl", &["is-active", "nginx"]))
            .unwrap();
        assert_eq!(out.stdout.trim(), "failed");
        b.assert_all_scripted();
    }

    impl FakeBox {
        fn lookup_none(&self, user: &str) -> bool {
            self.host.lookup_user(user).is_none()
        }
    }
}

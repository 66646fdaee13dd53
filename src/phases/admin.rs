//! The first system admin and team (optional; when `admin` is set), created once
//! the service is up — without the "first visitor becomes admin" race.
//!
//! How: local mode is switched on for this step only (`EnableLocalMode` with the
//! socket in `/run/mattermost/`, outside any `PrivateTmp`), Mattermost restarted,
//! and the REST API spoken over that Unix socket from this program, JSON bodies
//! on the socket: the password is never on a command line (mmctl's
//! `user create --password` would put it in argv). Local mode is then switched off
//! again and Mattermost restarted, also when a step failed.
//!
//! Idempotent: the probe reads the database (as the application user) and finds the
//! account, the team and the membership; an existing account is never re-created
//! and its password never touched. Accounts and teams this tool created are
//! recorded in the ownership record, so an interrupted run can finish its own work.

mod local_api;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::database::literal;
use super::service::ping_check;
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::FileSpec;
use crate::plan::{self, SERVICE_USER};
use local_api::LocalApi;

const P: PhaseId = PhaseId::Admin;
/// Local mode's socket while this step runs. `/run` is not affected by
/// `PrivateTmp=` (which would hide the default `/var/tmp/mattermost_local.socket`).
pub const LOCAL_SOCKET: &str = "/run/mattermost/mattermost_local.socket";
/// Mattermost's default, put back when the socket setting was left over.
const DEFAULT_SOCKET: &str = "/var/tmp/mattermost_local.socket";
const READY_WAIT: Duration = Duration::from_secs(300);
const USER_KIND: &str = "mattermost_user";
const TEAM_KIND: &str = "mattermost_team";

pub struct Admin;

/// What the database says about the account, the team and the membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Found {
    /// `(roles, deleted)` of the account.
    user: Option<(String, bool)>,
    /// Whether the team is archived.
    team: Option<bool>,
    /// Whether the membership is removed (`DeleteAt > 0`).
    member: Option<bool>,
}

/// One query for both engines (table names in their `MySQL` spelling; Postgres folds).
fn found_sql(username: &str, team: Option<&str>) -> String {
    let u = literal(username);
    match team {
        Some(t) => format!(
            "SELECT COALESCE(u.Roles, ''), COALESCE(u.DeleteAt, -1), COALESCE(t.DeleteAt, -1), COALESCE(m.DeleteAt, -1) \
             FROM (SELECT 1 AS one) x LEFT JOIN Users u ON u.Username = {u} LEFT JOIN Teams t ON t.Name = {} \
             LEFT JOIN TeamMembers m ON m.UserId = u.Id AND m.TeamId = t.Id",
            literal(t)
        ),
        None => format!(
            "SELECT COALESCE(u.Roles, ''), COALESCE(u.DeleteAt, -1), -1, -1 \
             FROM (SELECT 1 AS one) x LEFT JOIN Users u ON u.Username = {u}"
        ),
    }
}

fn parse_found(out: &str) -> Option<Found> {
    let line = out.lines().find(|l| !l.trim().is_empty())?;
    let f: Vec<&str> = line.split(['|', '\t']).map(str::trim).collect();
    let [roles, user_del, team_del, member_del] = f.as_slice() else {
        return None;
    };
    let num = |s: &str| s.parse::<i64>().ok();
    let user_del = num(user_del)?;
    let (team_del, member_del) = (num(team_del)?, num(member_del)?);
    Some(Found {
        user: (user_del >= 0).then(|| ((*roles).to_owned(), user_del > 0)),
        team: (team_del >= 0).then_some(team_del > 0),
        member: (member_del >= 0).then_some(member_del > 0),
    })
}

fn found(ctx: &Ctx) -> Result<Found, PhaseError> {
    let a = ctx.answers;
    let Some(admin) = &a.admin else {
        return Ok(Found::default());
    };
    let sql = found_sql(&admin.username, a.team_name.as_deref());
    let out = super::database::login(ctx.host, a, &sql)?;
    if !out.success() {
        return Err(PhaseError::new(format!(
            "cannot read the accounts from the database: {}",
            ctx.host.redact(out.stderr.trim())
        ))
        .fix(
            "Mattermost creates its tables on its first start: check that the service phase passed",
        ));
    }
    parse_found(&out.stdout).ok_or_else(|| {
        PhaseError::new(format!(
            "unexpected answer from the database: {}",
            out.stdout.trim()
        ))
    })
}

fn is_admin(roles: &str) -> bool {
    roles.split_whitespace().any(|r| r == "system_admin")
}

fn config_value(ctx: &Ctx) -> Result<Value, PhaseError> {
    let path = &ctx.plan.config_json;
    let bytes = ctx
        .host
        .read(path)?
        .ok_or_else(|| PhaseError::new(format!("{} is missing", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PhaseError::new(format!("{} is not valid JSON: {e}", path.display())))
}

fn local_mode_on(cfg: &Value) -> bool {
    cfg["ServiceSettings"]["EnableLocalMode"].as_bool() == Some(true)
}

/// What needs doing, from the database's view and the ownership record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // four independent steps
struct Todo {
    create_user: bool,
    promote: bool,
    create_team: bool,
    add_member: bool,
}

impl Todo {
    fn any(self) -> bool {
        self.create_user || self.promote || self.create_team || self.add_member
    }
}

fn checks_and_todo(ctx: &Ctx, f: &Found) -> (Vec<Check>, Todo) {
    let a = ctx.answers;
    let mut checks = Vec::new();
    let mut todo = Todo::default();
    let Some(admin) = &a.admin else {
        return (checks, todo);
    };
    let ours = ctx.own.did_create(USER_KIND, &admin.username);
    let name = format!("admin account {}", admin.username);
    let user_active = match &f.user {
        None if admin.password.is_none() => {
            checks.push(Check::warn(
                P,
                name,
                "missing, and not created again: an earlier run created it and its password is no longer kept",
            ).with_fix("to create it again, give admin_password (or admin_password_file) in the answers"));
            false
        }
        None => {
            todo.create_user = true;
            checks.push(Check::fail(P, name, "missing").with_fix("install creates it"));
            false
        }
        Some((_, true)) => {
            checks.push(Check::warn(P, name, "deactivated; left as it is"));
            false
        }
        Some((roles, false)) if is_admin(roles) => {
            checks.push(Check::ok(P, name, format!("system admin ({roles})")));
            true
        }
        Some((roles, false)) if ours => {
            todo.promote = true;
            checks.push(
                Check::fail(
                    P,
                    name,
                    format!("created by an interrupted run, not yet system admin ({roles})"),
                )
                .with_fix("install finishes it"),
            );
            true
        }
        Some((roles, false)) => {
            checks.push(Check::warn(
                P,
                name,
                format!("exists but is not a system admin ({roles}); left as it is"),
            ));
            true
        }
    };
    if let Some(team) = &a.team_name {
        let tname = format!("team {team}");
        let team_active = match f.team {
            None => {
                todo.create_team = true;
                checks.push(Check::fail(P, tname, "missing").with_fix("install creates it"));
                true
            }
            Some(true) => {
                checks.push(Check::warn(P, tname, "archived; left as it is"));
                false
            }
            Some(false) => {
                checks.push(Check::ok(P, tname, "exists"));
                true
            }
        };
        if (user_active || todo.create_user) && team_active {
            let mname = format!("{} in team {team}", admin.username);
            if f.member == Some(false) {
                checks.push(Check::ok(P, mname, "member"));
            } else {
                todo.add_member = true;
                checks.push(Check::fail(P, mname, "not a member").with_fix("install adds it"));
            }
        }
    }
    (checks, todo)
}

impl Phase for Admin {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_mattermost()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        if ctx.answers.admin.is_none() {
            return Ok(vec![Check::ok(
                P,
                "first admin",
                "not requested (admin_username is not set): the first account created in the web UI becomes system admin",
            )]);
        }
        let cfg = config_value(ctx)?;
        let mut checks = vec![
            Check::when(
                P,
                !local_mode_on(&cfg),
                "local mode off in config.json",
                if local_mode_on(&cfg) {
                    "ServiceSettings.EnableLocalMode is true"
                } else {
                    "ServiceSettings.EnableLocalMode is false"
                },
            )
            .with_fix("install or repair switches it off (anyone in the service account could administer the server through its socket)"),
        ];
        let f = found(ctx)?;
        checks.extend(checks_and_todo(ctx, &f).0);
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let f = found(ctx)?;
        let (_, todo) = checks_and_todo(ctx, &f);
        let cfg = config_value(ctx)?;
        let was_on = local_mode_on(&cfg);
        let original = cfg["ServiceSettings"]["LocalModeSocketLocation"]
            .as_str()
            .map(str::to_owned);
        if !todo.any() && !was_on {
            return Ok(());
        }
        let result = if todo.any() {
            ctx.step(P, "switching Mattermost's local mode on for this step");
            prepare_socket_dir(ctx)?;
            set_local_mode(ctx, true, LOCAL_SOCKET)?;
            restart_and_wait(ctx, true).and_then(|()| bootstrap(ctx, todo))
        } else {
            Ok(())
        };
        // Always back off: local mode must not stay on, also after a failure.
        let restore = match original.as_deref() {
            Some(s) if s != LOCAL_SOCKET => s.to_owned(),
            _ => DEFAULT_SOCKET.to_owned(),
        };
        ctx.step(P, "switching local mode off again");
        let off = set_local_mode(ctx, false, &restore).and_then(|()| restart_and_wait(ctx, false));
        let _ = ctx.host.remove_file(Path::new(LOCAL_SOCKET));
        match (result, off) {
            (Err(e), Err(off)) => Err(PhaseError::new(format!(
                "{}\nand switching local mode off failed too: {}",
                e.cause, off.cause
            ))
            .fix("set ServiceSettings.EnableLocalMode to false in config.json and restart mattermost")),
            (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        }
    }
}

/// Once the admin account exists, its password leaves the saved answers
/// (`/etc/mattermost-setup/answers.json`): it is never needed again, as a re-run never
/// re-creates or changes the account. Rewritten without a backup, so no copy of the
/// password is kept either. Returns whether the file changed.
pub fn forget_password(ctx: &Ctx) -> Result<bool, PhaseError> {
    let path = Path::new(crate::answers::SAVED_ANSWERS);
    let Some(admin) = &ctx.answers.admin else {
        return Ok(false);
    };
    let Some(text) = ctx.host.read(path)? else {
        return Ok(false);
    };
    let Ok(saved) = crate::answers::from_saved_json(&String::from_utf8_lossy(&text)) else {
        return Ok(false);
    };
    let holds = saved
        .admin
        .as_ref()
        .is_some_and(|s| s.username == admin.username && s.password.is_some());
    if !holds || found(ctx)?.user.is_none() {
        return Ok(false);
    }
    let kept = crate::answers::without_admin_password(&saved);
    ctx.host.write_file_quiet(&FileSpec {
        path: path.to_owned(),
        content: kept.to_json_with_secrets().into_bytes(),
        mode: 0o600,
        owner: Some((0, 0)),
    })?;
    ctx.host.note(&format!(
        "[admin] the account {} exists: its password is no longer kept in {}",
        admin.username,
        path.display()
    ));
    Ok(true)
}

/// `/run/mattermost`, owned by the service user (it creates the socket there).
fn prepare_socket_dir(ctx: &Ctx) -> Result<(), PhaseError> {
    let dir = PathBuf::from(LOCAL_SOCKET)
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default();
    let (uid, gid) = ctx
        .host
        .lookup_user(SERVICE_USER)
        .ok_or_else(|| PhaseError::new("the mattermost system user is missing"))?;
    ctx.host
        .create_dir_all(&dir)
        .and_then(|()| ctx.host.chown(&dir, Some(uid), Some(gid)))
        .and_then(|()| ctx.host.set_mode(&dir, 0o750))
        .map_err(|e| PhaseError::new(format!("cannot prepare {}: {e}", dir.display())))?;
    Ok(())
}

/// Sets `EnableLocalMode` and the socket location in config.json (a backup first).
fn set_local_mode(ctx: &Ctx, on: bool, socket: &str) -> Result<(), PhaseError> {
    let mut cfg = config_value(ctx)?;
    let Some(root) = cfg.as_object_mut() else {
        return Err(PhaseError::new("config.json is not a JSON object"));
    };
    let section = root
        .entry("ServiceSettings")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(s) = section.as_object_mut() {
        s.insert("EnableLocalMode".into(), Value::Bool(on));
        s.insert(
            "LocalModeSocketLocation".into(),
            Value::String(socket.into()),
        );
    }
    ctx.host.write_file(&FileSpec {
        path: ctx.plan.config_json.clone(),
        content: plan::config_to_string(&cfg).into_bytes(),
        mode: 0o600,
        owner: ctx.host.lookup_user(SERVICE_USER),
    })?;
    Ok(())
}

/// Restarts Mattermost and waits for ping (and, with local mode, for the socket).
fn restart_and_wait(ctx: &Ctx, socket: bool) -> Result<(), PhaseError> {
    let api = LocalApi::new(&ctx.host.path(Path::new(LOCAL_SOCKET)));
    let mut ready = || {
        let ping = ping_check(ctx, P);
        if !ping.passed() {
            return Err(ping.detail);
        }
        if !socket {
            return Ok(ping.detail);
        }
        match api.request("GET", "/api/v4/system/ping", None) {
            Ok(r) if r.ok() => Ok(format!("{}; the local-mode socket answers", ping.detail)),
            Ok(r) => Err(format!(
                "the local-mode socket {LOCAL_SOCKET} answers {}",
                r.status
            )),
            Err(e) => Err(format!("the local-mode socket {LOCAL_SOCKET}: {e}")),
        }
    };
    let why = if socket {
        "with its local-mode socket"
    } else {
        "with local mode off again"
    };
    super::service::restart_and_wait(ctx, P, why, READY_WAIT, Some(&mut ready))
}

fn api_err(what: &str, e: &std::io::Error) -> PhaseError {
    PhaseError::new(format!("{what}: the local-mode socket {LOCAL_SOCKET}: {e}"))
}

/// Calls the API; a non-2xx answer becomes an error naming the step.
fn call(
    ctx: &Ctx,
    api: &LocalApi,
    what: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<local_api::Response, PhaseError> {
    let r = api
        .request(method, path, body)
        .map_err(|e| api_err(what, &e))?;
    ctx.host.note(&format!(
        "[admin] {method} {path} (local mode) -> {}",
        r.status
    ));
    if r.ok() {
        Ok(r)
    } else {
        Err(PhaseError::new(format!(
            "{what} failed: {}",
            ctx.host.redact(&r.error())
        )))
    }
}

/// Looks something up; `None` on 404.
fn lookup(
    ctx: &Ctx,
    api: &LocalApi,
    what: &str,
    path: &str,
) -> Result<Option<local_api::Response>, PhaseError> {
    let r = api
        .request("GET", path, None)
        .map_err(|e| api_err(what, &e))?;
    ctx.host
        .note(&format!("[admin] GET {path} (local mode) -> {}", r.status));
    match r.status {
        404 => Ok(None),
        _ if r.ok() => Ok(Some(r)),
        _ => Err(PhaseError::new(format!("{what} failed: {}", r.error()))),
    }
}

/// The account, its role, the team and the membership, through the local API.
fn bootstrap(ctx: &mut Ctx, todo: Todo) -> Result<(), PhaseError> {
    let a = ctx.answers;
    let Some(admin) = &a.admin else {
        return Ok(());
    };
    let api = LocalApi::new(&ctx.host.path(Path::new(LOCAL_SOCKET)));
    let (user_id, created) = ensure_user(ctx, &api, todo)?;
    if let Some(team) = &a.team_name {
        let team_id = ensure_team(ctx, &api, team, &admin.email)?;
        if todo.add_member || created {
            ctx.step(P, format!("adding {} to the team {team}", admin.username));
            call(
                ctx,
                &api,
                "adding the admin to the team",
                "POST",
                &format!("/api/v4/teams/{team_id}/members"),
                Some(&json!({"team_id": team_id, "user_id": user_id})),
            )?;
        }
    }
    if let (true, Some(pw)) = (created, &admin.password) {
        login(ctx, &admin.username, pw.expose())?;
    }
    Ok(())
}

/// The admin account, created when missing (then made system admin, e-mail
/// verified); returns its id and whether this run created it.
fn ensure_user(ctx: &mut Ctx, api: &LocalApi, todo: Todo) -> Result<(String, bool), PhaseError> {
    let a = ctx.answers;
    let Some(admin) = &a.admin else {
        return Err(PhaseError::new("no admin account in the answers"));
    };
    let user = lookup(
        ctx,
        api,
        "looking up the admin account",
        &format!("/api/v4/users/username/{}", admin.username),
    )?;
    let created = user.is_none();
    let (user_id, roles) = if let Some(r) = user {
        (r.str("id").to_owned(), r.str("roles").to_owned())
    } else {
        let Some(password) = &admin.password else {
            return Err(PhaseError::new(format!(
                "the account {} is missing and no password is kept for it",
                admin.username
            ))
            .fix("give admin_password (or admin_password_file) in the answers"));
        };
        ctx.claim(USER_KIND, &admin.username)?;
        ctx.step(
            P,
            format!(
                "creating the system admin {} <{}>",
                admin.username, admin.email
            ),
        );
        let body = json!({
            "username": admin.username,
            "email": admin.email,
            "password": password.expose(),
            "email_verified": true,
        });
        let what = format!("creating the account {}", admin.username);
        match call(ctx, api, &what, "POST", "/api/v4/users", Some(&body)) {
            Ok(r) => (r.str("id").to_owned(), r.str("roles").to_owned()),
            Err(e) => {
                // Another app machine of the same cluster may have made it meanwhile.
                let again = lookup(
                    ctx,
                    api,
                    "looking up the admin account",
                    &format!("/api/v4/users/username/{}", admin.username),
                )?;
                let Some(r) = again.filter(|r| r.str("email") == admin.email) else {
                    return Err(e.fix("choose another admin_username or admin_email, or a password Mattermost accepts (8 to 72 bytes)"));
                };
                ctx.host.note(&format!(
                    "[admin] {} was created meanwhile (another app machine): using it",
                    admin.username
                ));
                (r.str("id").to_owned(), r.str("roles").to_owned())
            }
        }
    };
    if user_id.is_empty() {
        return Err(PhaseError::new("the API returned an account without an id"));
    }
    if (created || todo.promote) && !is_admin(&roles) {
        call(
            ctx,
            api,
            "making the account system admin",
            "PUT",
            &format!("/api/v4/users/{user_id}/roles"),
            Some(&json!({"roles": "system_admin system_user"})),
        )?;
    }
    if created || todo.promote {
        call(
            ctx,
            api,
            "marking the e-mail address verified",
            "POST",
            &format!("/api/v4/users/{user_id}/email/verify/member"),
            None,
        )?;
    }
    Ok((user_id, created))
}

/// The team, created when missing; returns its id.
fn ensure_team(
    ctx: &mut Ctx,
    api: &LocalApi,
    team: &str,
    email: &str,
) -> Result<String, PhaseError> {
    let found = lookup(
        ctx,
        api,
        "looking up the team",
        &format!("/api/v4/teams/name/{team}"),
    )?;
    if let Some(r) = found {
        return Ok(r.str("id").to_owned());
    }
    ctx.claim(TEAM_KIND, team)?;
    ctx.step(P, format!("creating the team {team}"));
    let body = team_body(team, email);
    let r = call(
        ctx,
        api,
        &format!("creating the team {team}"),
        "POST",
        "/api/v4/teams",
        Some(&body),
    )?;
    Ok(r.str("id").to_owned())
}

/// The request body of an open team. Current Mattermost keeps `type` and
/// `allow_open_invite` in step when a team is saved (`Team.PreSave` →
/// `syncTypeAndAllowOpenInvite` in server/public/model/team.go): `type: "O"` alone,
/// with `allow_open_invite` false by default, becomes an invite-only team.
fn team_body(team: &str, email: &str) -> Value {
    json!({
        "name": team,
        "display_name": team,
        "type": "O",
        "allow_open_invite": true,
        "email": email,
    })
}

/// The evidence that the account works: a login over TCP, as the web app does it.
fn login(ctx: &Ctx, username: &str, password: &str) -> Result<(), PhaseError> {
    let addr: SocketAddr = plan::listen_addr(ctx.answers);
    let r = local_api::tcp_request(
        addr,
        &ctx.answers.domain,
        "POST",
        "/api/v4/users/login",
        Some(&json!({"login_id": username, "password": password})),
    )
    .map_err(|e| PhaseError::new(format!("logging in as {username} on {addr}: {e}")))?;
    if r.ok() && r.header("Token").is_some() {
        ctx.host.note(&format!(
            "[admin] {username} logs in: 200, session token issued"
        ));
        Ok(())
    } else {
        Err(PhaseError::new(format!(
            "the new account {username} cannot log in: {}",
            ctx.host.redact(&r.error())
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answers;

    #[test]
    fn one_query_reads_account_team_and_membership_on_both_engines() {
        let sql = found_sql("boss", Some("staff"));
        assert!(sql.contains("u.Username = 'boss'") && sql.contains("t.Name = 'staff'"));
        assert_eq!(
            parse_found("system_admin system_user|0|0|0\n"),
            Some(Found {
                user: Some(("system_admin system_user".into(), false)),
                team: Some(false),
                member: Some(false)
            })
        );
        assert_eq!(
            parse_found("\t-1\t-1\t-1\n"),
            Some(Found::default()),
            "MySQL's tab-separated output, nothing there"
        );
        assert_eq!(
            parse_found("system_user|0|1700000000000|-1"),
            Some(Found {
                user: Some(("system_user".into(), false)),
                team: Some(true),
                member: None
            })
        );
        assert_eq!(parse_found("garbage"), None);
        assert_eq!(literal("o'brien"), "'o''brien'");
    }

    fn answers(team: bool) -> Answers {
        let mut j = serde_json::json!({"domain": "chat.example.com", "admin_username": "boss",
            "admin_email": "boss@example.com", "admin_password": "correct horse battery"});
        if team {
            j["team_name"] = "staff".into();
        }
        crate::answers::from_json(&j.to_string(), None).unwrap()
    }

    /// Checks and work for what the database holds; `ours` = created by this tool.
    fn judge(found: &Found, ours: bool, team: bool) -> (Vec<(String, crate::phases::Level)>, Todo) {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::host::Host::new(
            dir.path().to_owned(),
            crate::host::RunLog::create(&dir.path().join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        );
        let a = answers(team);
        let plan = crate::plan::Plan::new(&a).unwrap();
        let mut ctx = Ctx::new(&host, &a, &plan);
        if ours {
            ctx.own.created(USER_KIND, "boss");
        }
        let (checks, todo) = checks_and_todo(&ctx, found);
        (
            checks.into_iter().map(|c| (c.name, c.level)).collect(),
            todo,
        )
    }

    #[test]
    fn what_exists_decides_what_is_done_and_nothing_is_done_twice() {
        use crate::phases::Level::{Fail, Ok, Warn};
        // A fresh server: everything to do.
        let (checks, todo) = judge(&Found::default(), false, true);
        assert_eq!(
            todo,
            Todo {
                create_user: true,
                promote: false,
                create_team: true,
                add_member: true
            }
        );
        assert!(checks.iter().all(|(_, l)| *l == Fail), "{checks:?}");
        // All there: nothing to do.
        let all = Found {
            user: Some(("system_user system_admin".into(), false)),
            team: Some(false),
            member: Some(false),
        };
        let (checks, todo) = judge(&all, true, true);
        assert!(!todo.any());
        assert_eq!(checks.len(), 3);
        assert!(checks.iter().all(|(_, l)| *l == Ok), "{checks:?}");
        // Someone else's account without the role: reported, left alone.
        let plain = Found {
            user: Some(("system_user".into(), false)),
            ..Found::default()
        };
        let (checks, todo) = judge(&plain, false, false);
        assert!(!todo.any());
        assert_eq!(checks[0].1, Warn);
        // Our own account from an interrupted run: finished.
        let (_, todo) = judge(&plain, true, false);
        assert!(todo.promote && !todo.create_user);
        // A deactivated account or an archived team: reported, not touched, no membership.
        let off = Found {
            user: Some(("system_admin".into(), true)),
            team: Some(true),
            member: None,
        };
        let (checks, todo) = judge(&off, true, true);
        assert!(!todo.any(), "{todo:?}");
        assert_eq!(
            checks.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
            [Warn, Warn]
        );
        // A removed membership is added back.
        let left = Found {
            member: Some(true),
            ..all
        };
        let (_, todo) = judge(&left, false, true);
        assert!(todo.add_member && !todo.create_user && !todo.create_team);
    }

    /// A database that answers every query with `row`.
    struct Db(&'static str);
    impl crate::host::Runner for Db {
        fn run(
            &self,
            _: &crate::host::Cmd,
            _: Option<&mut dyn FnMut(&str)>,
        ) -> std::io::Result<crate::host::Output> {
            Ok(crate::host::Output {
                code: Some(0),
                stdout: format!("{}\n", self.0),
                ..crate::host::Output::default()
            })
        }
    }

    #[test]
    fn the_admin_password_leaves_the_saved_answers_once_the_account_exists() {
        let a = answers(true);
        let saved = std::path::PathBuf::from(crate::answers::SAVED_ANSWERS);
        for (row, dropped) in [
            ("|-1|-1|-1", false),
            ("system_admin system_user|0|0|0", true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let host = crate::host::Host::new(
                dir.path().to_owned(),
                crate::host::RunLog::create(&dir.path().join("log")),
                crate::events::discard(),
                Box::new(Db(row)),
            );
            crate::engine::save_answers(&host, &a).unwrap();
            let plan = crate::plan::Plan::new(&a).unwrap();
            let ctx = Ctx::new(&host, &a, &plan);
            assert_eq!(forget_password(&ctx).unwrap(), dropped, "{row}");
            let text = std::fs::read_to_string(host.path(&saved)).unwrap();
            assert_eq!(text.contains("correct horse battery"), !dropped, "{text}");
            let back = crate::answers::from_saved_json(&text).unwrap();
            assert_eq!(back.admin.as_ref().unwrap().username, "boss");
            assert_eq!(back.admin.as_ref().unwrap().password.is_none(), dropped);
            assert_eq!(
                back.db_password, a.db_password,
                "the database password stays"
            );
            if dropped {
                // No backup holds it, and a re-run with the same answers file does
                // not write it back.
                assert!(
                    !host
                        .path(std::path::Path::new(crate::host::BACKUP_DIR))
                        .exists()
                );
                crate::engine::save_answers(&host, &a).unwrap();
                let again = std::fs::read_to_string(host.path(&saved)).unwrap();
                assert_eq!(again, text);
                assert!(!forget_password(&ctx).unwrap());
            }
        }
    }

    #[test]
    fn an_account_whose_password_was_dropped_is_never_created_again() {
        let mut a = answers(true);
        a.admin.as_mut().unwrap().password = None;
        let dir = tempfile::tempdir().unwrap();
        let host = crate::host::Host::new(
            dir.path().to_owned(),
            crate::host::RunLog::create(&dir.path().join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        );
        let plan = crate::plan::Plan::new(&a).unwrap();
        let ctx = Ctx::new(&host, &a, &plan);
        let (checks, todo) = checks_and_todo(&ctx, &Found::default());
        assert!(!todo.create_user && !todo.add_member, "{todo:?}");
        assert_eq!(checks[0].level, crate::phases::Level::Warn, "{checks:?}");
        assert!(checks[0].fix.as_deref().unwrap().contains("admin_password"));
    }

    #[test]
    fn an_open_team_is_asked_for_as_open() {
        let body = team_body("staff", "boss@example.com");
        assert_eq!(body["type"], "O");
        assert_eq!(body["allow_open_invite"], true, "{body}");
    }

    #[test]
    fn the_plan_says_what_happens() {
        let a = crate::answers::from_json(
            r#"{"domain": "chat.example.com", "admin_username": "boss", "admin_email": "boss@example.com",
                "admin_password": "correct horse battery", "team_name": "staff"}"#,
            None,
        )
        .unwrap();
        let line = crate::plan::admin_line(&a).unwrap();
        assert!(
            line.contains("boss <boss@example.com>") && line.contains("team staff"),
            "{line}"
        );
        assert!(!line.contains("horse"));
    }
}

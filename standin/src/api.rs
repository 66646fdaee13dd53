//! The REST endpoints an installer uses to bootstrap a server, with the real
//! server's validation and error shapes (`AppError` JSON with an `id`, a
//! `message` and the HTTP status):
//!
//! * local mode (Unix socket, no authentication): `GET /api/v4/system/ping`,
//!   `POST /api/v4/users`, `GET /api/v4/users/{id}`,
//!   `GET /api/v4/users/username/{username}`, `PUT /api/v4/users/{id}/roles`,
//!   `POST /api/v4/users/{id}/email/verify/member`, `POST /api/v4/teams`,
//!   `GET /api/v4/teams/{id}`, `GET /api/v4/teams/name/{name}`,
//!   `POST /api/v4/teams/{id}/members`, `GET /api/v4/teams/{id}/members/{user_id}`;
//! * TCP (`ListenAddress`): `POST /api/v4/users/login`, `GET /api/v4/users/me`.
//!
//! Everything else on the local socket answers 404, like the real local-mode
//! router, which only registers the local API.

use std::io::Read;

use serde_json::{Value, json};

use crate::db::Database;
use crate::http::{AppState, Request, Response, not_found, ping, request_id};
use crate::store::{self, Team, User};
use crate::util::now_millis;

/// Largest request body accepted.
const MAX_BODY: u64 = 1 << 20;
/// `PasswordSettings.MinimumLength` default.
const PASSWORD_MIN: usize = 8;
/// bcrypt only uses the first 72 bytes; the real server refuses longer ones.
const PASSWORD_MAX: usize = 72;
const RESTRICTED_USERNAMES: [&str; 4] = ["all", "channel", "matterbot", "system"];
/// `reservedName` in server/public/model/utils.go: no team name may START with one
/// of these (`IsReservedTeamName` in server/public/model/team.go).
const RESERVED_TEAM_NAMES: [&str; 17] = [
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
];

/// The real server's error body.
fn app_error(status: u16, id: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({
            "id": id,
            "message": message,
            "detailed_error": "",
            "request_id": request_id(),
            "status_code": status,
        }),
    )
}

fn internal(e: &crate::error::Error) -> Response {
    app_error(500, "app.store.error", e.message())
}

/// Reads a JSON request body (Content-Length only).
fn body(req: &Request, reader: &mut impl Read, what: &str) -> Result<Value, Response> {
    let invalid = || {
        app_error(
            400,
            "api.context.invalid_body_param.app_error",
            &format!("Invalid or missing {what} in request body."),
        )
    };
    let Some(len) = req.header("content-length") else {
        if req.header("transfer-encoding").is_some() {
            return Err(app_error(
                411,
                "api.context.length_required",
                "Content-Length is required.",
            ));
        }
        return Err(invalid());
    };
    let len: u64 = len.trim().parse().map_err(|_| invalid())?;
    if len > MAX_BODY {
        return Err(app_error(
            413,
            "api.context.body_too_large",
            "Request body too large.",
        ));
    }
    let mut buf = Vec::new();
    reader
        .take(len)
        .read_to_end(&mut buf)
        .map_err(|_| invalid())?;
    serde_json::from_slice(&buf).map_err(|_| invalid())
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn db(state: &AppState) -> Result<&Database, Response> {
    state
        .db
        .as_ref()
        .ok_or_else(|| app_error(500, "app.store.error", "no database"))
}

/// Mattermost's `IsValidUsername`.
pub fn valid_username(s: &str) -> bool {
    (3..=22).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b))
        && !RESTRICTED_USERNAMES.contains(&s)
}

/// Close to Mattermost's `IsValidEmail` (net/mail address, no display name).
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 128
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
}

/// `IsReservedTeamName` (server/public/model/team.go): lower-cased, then a prefix
/// match against `reservedName`.
pub fn reserved_team_name(s: &str) -> bool {
    let lower = s.to_lowercase();
    RESERVED_TEAM_NAMES.iter().any(|w| lower.starts_with(w))
}

/// `IsValidTeamName` (server/public/model/team.go): `isValidAlphaNum` — the regex
/// `^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$` of server/public/model/utils.go —
/// and at least `TeamNameMinLength` (2) bytes. The 64-byte limit is `Team.IsValid`'s.
pub fn valid_team_name(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if b.len() < 2 || !alnum(first) || !alnum(last) {
        return false;
    }
    b.iter().all(|&c| alnum(c) || c == b'-')
        || s.split_once("__").is_some_and(|(l, r)| {
            !l.is_empty() && !r.is_empty() && l.bytes().all(alnum) && r.bytes().all(alnum)
        })
}

/// `syncTypeAndAllowOpenInvite` (server/public/model/team.go), run by `Team.PreSave`:
/// an invite-only type wins; otherwise `allow_open_invite` decides the type. So
/// `type: "O"` without `allow_open_invite: true` is saved as an invite-only team,
/// and any other type string ends up "O" or "I".
pub fn sync_team_type(team_type: &str, allow_open_invite: bool) -> (String, bool) {
    let open = allow_open_invite && team_type != "I";
    (if open { "O" } else { "I" }.to_owned(), open)
}

fn create_user(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
) -> Result<Response, Response> {
    let v = body(req, reader, "user")?;
    let db = db(state)?;
    let username = field(&v, "username").to_lowercase();
    let email = field(&v, "email").trim().to_lowercase();
    let password = field(&v, "password");
    if !valid_username(&username) {
        return Err(app_error(
            400,
            "model.user.is_valid.username.app_error",
            "Username must begin with a letter and contain between 3 to 22 lowercase characters made up of numbers, letters, and the symbols '.', '-', and '_'.",
        ));
    }
    if !valid_email(&email) {
        return Err(app_error(
            400,
            "model.user.is_valid.email.app_error",
            "Invalid email.",
        ));
    }
    if password.chars().count() < PASSWORD_MIN {
        return Err(app_error(
            400,
            "model.user.is_valid.pwd.app_error",
            &format!("Your password must contain at least {PASSWORD_MIN} characters."),
        ));
    }
    if password.len() > PASSWORD_MAX {
        return Err(app_error(
            400,
            "model.user.is_valid.pwd_max_length.app_error",
            &format!("Your password must be {PASSWORD_MAX} bytes or fewer."),
        ));
    }
    if store::user_by_username(db, &username)
        .map_err(|e| internal(&e))?
        .is_some()
    {
        return Err(app_error(
            400,
            "app.user.save.username_exists.app_error",
            "An account with that username already exists.",
        ));
    }
    if store::user_by_email(db, &email)
        .map_err(|e| internal(&e))?
        .is_some()
    {
        return Err(app_error(
            400,
            "app.user.save.email_exists.app_error",
            "An account with that email already exists.",
        ));
    }
    // The first account on a server becomes its system admin.
    let first = store::count_users(db).map_err(|e| internal(&e))? == 0;
    let now = now_millis();
    let user = User {
        id: store::new_id(),
        create_at: now,
        update_at: now,
        delete_at: 0,
        username,
        password: store::hash_password(password),
        email,
        // Local mode is a system admin session: email_verified is honoured.
        email_verified: v
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        roles: if first {
            "system_admin system_user"
        } else {
            "system_user"
        }
        .to_owned(),
        locale: "en".to_owned(),
    };
    store::insert_user(db, &user).map_err(|e| internal(&e))?;
    state.log.info(
        "User created",
        &[("user_id", &user.id), ("username", &user.username)],
    );
    Ok(Response::json(201, &user.to_json()))
}

fn user_or_404(found: crate::error::Result<Option<User>>) -> Result<User, Response> {
    match found {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(app_error(
            404,
            "app.user.missing_account.const",
            "Unable to find the user.",
        )),
        Err(e) => Err(internal(&e)),
    }
}

fn team_or_404(found: crate::error::Result<Option<Team>>) -> Result<Team, Response> {
    match found {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(app_error(
            404,
            "app.team.get.find.app_error",
            "Unable to find the existing team.",
        )),
        Err(e) => Err(internal(&e)),
    }
}

const ROLES: [&str; 4] = [
    "system_user",
    "system_admin",
    "system_guest",
    "system_manager",
];

fn update_roles(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
    id: &str,
) -> Result<Response, Response> {
    let v = body(req, reader, "roles")?;
    let db = db(state)?;
    let roles = field(&v, "roles").split_whitespace().collect::<Vec<_>>();
    if roles.is_empty() || roles.iter().any(|r| !ROLES.contains(r)) {
        return Err(app_error(
            400,
            "api.context.invalid_body_param.app_error",
            "Invalid or missing roles in request body.",
        ));
    }
    let user = user_or_404(store::user_by_id(db, id))?;
    store::update_roles(db, &user.id, &roles.join(" ")).map_err(|e| internal(&e))?;
    state.log.info(
        "User roles updated",
        &[("user_id", &user.id), ("roles", &roles.join(" "))],
    );
    Ok(Response::json(200, &json!({"status": "OK"})))
}

fn create_team(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
) -> Result<Response, Response> {
    let v = body(req, reader, "team")?;
    let db = db(state)?;
    let name = field(&v, "name").to_owned();
    let display_name = field(&v, "display_name").to_owned();
    let team_type = field(&v, "type").to_owned();
    let email = field(&v, "email").to_lowercase();
    let allow_open_invite = v
        .get("allow_open_invite")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // PreSave first, then IsValid, in the order of server/public/model/team.go.
    let (team_type, _) = sync_team_type(&team_type, allow_open_invite);
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(app_error(
            400,
            "model.team.is_valid.name.app_error",
            "Invalid name.",
        ));
    }
    if name.len() > 64 {
        return Err(app_error(
            400,
            "model.team.is_valid.url.app_error",
            "Invalid URL Identifier",
        ));
    }
    if reserved_team_name(&name) {
        return Err(app_error(
            400,
            "model.team.is_valid.reserved.app_error",
            "This URL is unavailable. Please try another.",
        ));
    }
    if !valid_team_name(&name) {
        return Err(app_error(
            400,
            "model.team.is_valid.characters.app_error",
            "Name must be 2 or more lowercase alphanumeric characters",
        ));
    }
    if !email.is_empty() && !valid_email(&email) {
        return Err(app_error(
            400,
            "model.team.is_valid.email.app_error",
            "Invalid email.",
        ));
    }
    if store::team_by_name(db, &name)
        .map_err(|e| internal(&e))?
        .is_some()
    {
        return Err(app_error(
            400,
            "store.sql_team.save_team.existing.app_error",
            "A team with that name already exists",
        ));
    }
    let now = now_millis();
    let team = Team {
        id: store::new_id(),
        create_at: now,
        update_at: now,
        delete_at: 0,
        display_name,
        name,
        email,
        team_type,
    };
    store::insert_team(db, &team).map_err(|e| internal(&e))?;
    state.log.info(
        "Team created",
        &[("team_id", &team.id), ("name", &team.name)],
    );
    Ok(Response::json(201, &team.to_json()))
}

fn add_member(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
    team_id: &str,
) -> Result<Response, Response> {
    let v = body(req, reader, "team_member")?;
    let db = db(state)?;
    if field(&v, "team_id") != team_id {
        return Err(app_error(
            400,
            "api.context.invalid_body_param.app_error",
            "Invalid or missing team_id in request body.",
        ));
    }
    let team = team_or_404(store::team_by_id(db, team_id))?;
    let user = user_or_404(store::user_by_id(db, field(&v, "user_id")))?;
    if user.delete_at > 0 {
        return Err(app_error(
            400,
            "app.team.join_user_to_team.deactivated.app_error",
            "The user is deactivated.",
        ));
    }
    store::upsert_team_member(db, &team.id, &user.id).map_err(|e| internal(&e))?;
    let member = store::team_member(db, &team.id, &user.id)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            app_error(
                500,
                "app.team.save_member.save.app_error",
                "Unable to save the team member.",
            )
        })?;
    state.log.info(
        "User added to team",
        &[("team_id", &team.id), ("user_id", &user.id)],
    );
    Ok(Response::json(201, &member.to_json()))
}

/// A request on the local-mode socket.
pub(crate) fn local(state: &AppState, req: &Request, reader: &mut impl Read) -> Response {
    let segs: Vec<&str> = req
        .path
        .strip_prefix("/api/v4/")
        .map(|p| p.trim_end_matches('/').split('/').collect())
        .unwrap_or_default();
    let method = req.method.as_str();
    let result = match (method, segs.as_slice()) {
        ("GET", ["system", "ping"]) => Ok(ping(state, req)),
        ("POST", ["users"]) => create_user(state, req, reader),
        ("GET", ["users", "username", name]) => db(state).and_then(|d| {
            user_or_404(store::user_by_username(d, name)).map(|u| Response::json(200, &u.to_json()))
        }),
        ("GET", ["users", id]) => db(state).and_then(|d| {
            user_or_404(store::user_by_id(d, id)).map(|u| Response::json(200, &u.to_json()))
        }),
        ("PUT", ["users", id, "roles"]) => update_roles(state, req, reader, id),
        ("POST", ["users", id, "email", "verify", "member"]) => db(state).and_then(|d| {
            let u = user_or_404(store::user_by_id(d, id))?;
            store::verify_email(d, &u.id).map_err(|e| internal(&e))?;
            let u = user_or_404(store::user_by_id(d, id))?;
            Ok(Response::json(200, &u.to_json()))
        }),
        ("POST", ["teams"]) => create_team(state, req, reader),
        ("GET", ["teams", "name", name]) => db(state).and_then(|d| {
            team_or_404(store::team_by_name(d, name)).map(|t| Response::json(200, &t.to_json()))
        }),
        ("GET", ["teams", id]) => db(state).and_then(|d| {
            team_or_404(store::team_by_id(d, id)).map(|t| Response::json(200, &t.to_json()))
        }),
        ("POST", ["teams", id, "members"]) => add_member(state, req, reader, id),
        ("GET", ["teams", team, "members", user]) => db(state).and_then(|d| {
            match store::team_member(d, team, user).map_err(|e| internal(&e))? {
                Some(m) if m.delete_at == 0 => Ok(Response::json(200, &m.to_json())),
                _ => Err(app_error(
                    404,
                    "app.team.get_member.missing.app_error",
                    "No team member found for that user ID and team ID.",
                )),
            }
        }),
        _ => Ok(not_found(req)),
    };
    result.unwrap_or_else(|e| e)
}

fn session_user(state: &AppState, req: &Request) -> Option<String> {
    let token = req
        .header("authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("BEARER "))
        })
        .map(str::trim)
        .map(str::to_owned)
        .or_else(|| {
            req.header_all("cookie")
                .flat_map(|c| c.split(';'))
                .find_map(|kv| kv.trim().strip_prefix("MMAUTHTOKEN=").map(str::to_owned))
        })?;
    user_of_token(state, &token)
}

fn login(state: &AppState, req: &Request, reader: &mut impl Read) -> Result<Response, Response> {
    let v = body(req, reader, "login")?;
    let db = db(state)?;
    let login_id = field(&v, "login_id");
    let password = field(&v, "password");
    if password.is_empty() {
        return Err(app_error(
            400,
            "api.user.login.blank_pwd.app_error",
            "Password field must not be blank",
        ));
    }
    let invalid = || {
        app_error(
            401,
            "api.user.login.invalid_credentials_email_username",
            "Enter a valid email or username and/or password.",
        )
    };
    let user = store::user_by_login(db, login_id)
        .map_err(|e| internal(&e))?
        .ok_or_else(invalid)?;
    if !user.password_matches(password) {
        return Err(invalid());
    }
    if user.delete_at > 0 {
        return Err(app_error(
            401,
            "api.user.login.inactive.app_error",
            "Login failed because your account has been deactivated.",
        ));
    }
    let token = store::new_id();
    store::save_session(db, &token, &user.id).map_err(|e| internal(&e))?;
    if let Ok(mut s) = state.sessions.lock() {
        s.insert(token.clone(), user.id.clone());
    }
    state.log.info(
        "User logged in",
        &[("user_id", &user.id), ("ip_addr", &req.ip)],
    );
    let mut r = Response::json(200, &user.to_json());
    r.headers.push(("Token", token.clone()));
    r.headers.push((
        "Set-Cookie",
        format!("MMAUTHTOKEN={token}; Path=/; HttpOnly"),
    ));
    Ok(r)
}

fn unauthorized() -> Response {
    app_error(
        401,
        "api.context.session_expired.app_error",
        "Invalid or expired session, please login again.",
    )
}

fn permission_error(permission: &str) -> Response {
    app_error(
        403,
        "api.context.permissions.app_error",
        &format!("You do not have the appropriate permissions. (missing {permission})"),
    )
}

/// `filepath.Base` of a Go path.
fn go_base(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// The MIME type the real server stores (`mime.TypeByExtension`, reduced).
fn mime_type(ext: &str) -> &'static str {
    match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "",
    }
}

/// `POST /api/v4/files`, the simple form (api4/file.go `uploadFileStream` →
/// `uploadFileSimple` → app/file.go `UploadFileX`): the file is the body,
/// `channel_id` and `filename` are query parameters. The file goes to the
/// configured backend under `YYYYMMDD/teams/noteam/channels/{channel}/users/
/// {user}/{file id}/{name}` (`UploadFileTask.pathPrefix`, `FILE_TEAM_ID`).
///
/// Permission: `upload_file` on the channel. A system admin always has it
/// (`SessionHasPermissionToChannel` falls back to the system roles); the
/// stand-in keeps no channel memberships, so every other user gets 403.
/// Multipart uploads are not implemented by the stand-in (400, saying so).
fn upload_file(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
) -> Result<Response, Response> {
    let user_id = session_user(state, req).ok_or_else(unauthorized)?;
    if req
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/"))
    {
        return Err(app_error(
            400,
            "api.file.upload_file.read_request.app_error",
            "The Mattermost stand-in only supports the simple upload: the file as the body, \
             channel_id and filename in the query.",
        ));
    }
    let params = crate::util::parse_query(&req.query);
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let channel_id = param("channel_id");
    if channel_id.len() != 26 || !channel_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(app_error(
            400,
            "api.context.invalid_url_param.app_error",
            "Invalid or missing channel_id parameter in request URL.",
        ));
    }
    let filename = param("filename");
    if filename.is_empty() || filename.len() > 256 {
        return Err(app_error(
            400,
            "api.context.invalid_url_param.app_error",
            "Invalid or missing filename parameter in request URL.",
        ));
    }
    let db = db(state)?;
    let user = user_or_404(store::user_by_id(db, &user_id))?;
    if !user.roles.split_whitespace().any(|r| r == "system_admin") {
        return Err(permission_error("upload_file"));
    }
    let len: u64 = req
        .header("content-length")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            app_error(
                400,
                "api.file.upload_file.read_request.app_error",
                "Content-Length should not be 0",
            )
        })?;
    if len == 0 {
        return Err(app_error(
            400,
            "api.file.upload_file.read_request.app_error",
            "Content-Length should not be 0",
        ));
    }
    if i64::try_from(len).map_or(true, |l| l > state.max_file_size) {
        return Err(app_error(
            413,
            "api.file.upload_file.too_large_detailed.app_error",
            &format!(
                "Unable to upload file {filename}. {len} bytes exceeds the maximum allowed {} bytes.",
                state.max_file_size
            ),
        ));
    }
    let mut data = Vec::new();
    reader.take(len).read_to_end(&mut data).map_err(|e| {
        app_error(
            400,
            "api.file.upload_file.read_request.app_error",
            &e.to_string(),
        )
    })?;

    let name = go_base(&filename);
    let channel = go_base(&channel_id);
    let now = now_millis();
    let day: String = crate::util::format_timestamp(now)
        .chars()
        .take(10)
        .filter(char::is_ascii_digit)
        .collect();
    let id = store::new_id();
    let path = format!("{day}/teams/noteam/channels/{channel}/users/{user_id}/{id}/{name}");
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if let Err(e) = state.files.write_file(&data, &path) {
        // app/file.go writeFile: AppError "api.file.write_file.app_error", 500,
        // wrapping the backend's error (logged by the handler at error level).
        state.log.error(
            "Unable to write the file.",
            &[("path", &path), ("error", e.message())],
        );
        let mut r = app_error(
            500,
            "api.file.write_file.app_error",
            "Unable to write the file.",
        );
        if let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) {
            v["detailed_error"] = Value::from(e.message());
            r = Response::json(500, &v);
        }
        return Err(r);
    }
    let info = store::FileInfo {
        id,
        creator_id: user_id,
        create_at: now,
        path,
        name,
        mime_type: mime_type(&extension).to_string(),
        extension,
        size: data.len() as u64,
    };
    store::insert_file_info(db, &info)
        .map_err(|e| app_error(500, "app.file_info.save.app_error", e.message()))?;
    Ok(Response::json(
        201,
        &json!({"file_infos": [info.to_json(&channel_id)], "client_ids": []}),
    ))
}

/// `GET /api/v4/files/{file_id}` (api4/file.go `getFile`): the creator or a
/// system admin; the bytes come from the configured backend
/// (`App.FileReader`; a failure answers 404 `api.file.file_reader.app_error`).
fn get_file(state: &AppState, req: &Request, file_id: &str) -> Result<Response, Response> {
    let user_id = session_user(state, req).ok_or_else(unauthorized)?;
    let db = db(state)?;
    let info = store::file_info_by_id(db, file_id)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            app_error(
                404,
                "app.file_info.get.app_error",
                "Unable to get the file info.",
            )
        })?;
    let user = user_or_404(store::user_by_id(db, &user_id))?;
    if info.creator_id != user_id && !user.roles.split_whitespace().any(|r| r == "system_admin") {
        return Err(permission_error("read_channel_content"));
    }
    let data = state.files.read_file(&info.path).map_err(|e| {
        state.log.error(
            "Unable to get a file reader.",
            &[("path", &info.path), ("error", e.message())],
        );
        app_error(
            404,
            "api.file.file_reader.app_error",
            "Unable to get a file reader.",
        )
    })?;
    Ok(Response {
        status: 200,
        content_type: "application/octet-stream",
        headers: vec![(
            "Content-Disposition",
            format!("attachment;filename=\"{}\"", info.name.replace('"', "")),
        )],
        body: data,
    })
}

/// `GET /api/v4/cluster/status` (api4/cluster.go `getClusterStatus`): system
/// admins only (`sysconsole_read_environment_high_availability`); the live
/// nodes, or an empty list when the node is not clustered.
fn cluster_status(state: &AppState, req: &Request) -> Result<Response, Response> {
    let user_id = session_user(state, req).ok_or_else(unauthorized)?;
    let db = db(state)?;
    let user = user_or_404(store::user_by_id(db, &user_id))?;
    if !user.roles.split_whitespace().any(|r| r == "system_admin") {
        return Err(permission_error(
            "sysconsole_read_environment_high_availability",
        ));
    }
    let nodes = state
        .cluster
        .as_ref()
        .map(|c| c.live_nodes())
        .unwrap_or_default();
    Ok(Response::json(200, &Value::Array(nodes)))
}

/// The user of the request's session (Bearer token or MMAUTHTOKEN cookie).
pub(crate) fn session_of(state: &AppState, req: &Request) -> Option<String> {
    session_user(state, req)
}

/// The user of a session token (WebSocket `authentication_challenge`).
pub(crate) fn user_of_token(state: &AppState, token: &str) -> Option<String> {
    if let Some(user) = state.sessions.lock().ok()?.get(token).cloned() {
        return Some(user);
    }
    // A session made on another server of the cluster: from the database, then
    // cached here. Tokens are ids (26 of a-z, 0-9); anything else is no session.
    if token.len() != 26
        || !token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    let user = store::session_user(state.db.as_ref()?, token).ok()??;
    if let Ok(mut s) = state.sessions.lock() {
        s.insert(token.to_owned(), user.clone());
    }
    Some(user)
}

/// `POST /api/v4/posts` (api4/post.go `createPost` → app `CreatePostAsUser`):
/// stores the post in `Posts` and publishes the `posted` WebSocket event on
/// this node and, in cluster mode, on every other node (the real
/// `Publish` → `ClusterEventPublish`). Permission `create_post` on the channel:
/// as for uploads, only system admins have it in the stand-in (403 otherwise).
fn create_post(
    state: &AppState,
    req: &Request,
    reader: &mut impl Read,
) -> Result<Response, Response> {
    let user_id = session_user(state, req).ok_or_else(unauthorized)?;
    let v = body(req, reader, "post")?;
    let channel_id = field(&v, "channel_id").to_string();
    if channel_id.len() != 26 || !channel_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(app_error(
            400,
            "model.post.is_valid.channel_id.app_error",
            "Invalid channel id.",
        ));
    }
    let message = field(&v, "message").to_string();
    let db = db(state)?;
    let user = user_or_404(store::user_by_id(db, &user_id))?;
    if !user.roles.split_whitespace().any(|r| r == "system_admin") {
        return Err(permission_error("create_post"));
    }
    let id = store::new_id();
    let now = now_millis();
    let l = |s: &str| db.literal(s);
    db.query(&format!(
        "INSERT INTO Posts (Id, CreateAt, UpdateAt, DeleteAt, UserId, ChannelId, RootId, ParentId, OriginalId, \
         Message, Type, Props, Hashtags, Filenames, FileIds, HasReactions, EditAt, IsPinned) \
         VALUES ({}, {now}, {now}, 0, {}, {}, '', '', '', {}, '', '{{}}', '', '[]', '[]', FALSE, 0, FALSE);",
        l(&id),
        l(&user_id),
        l(&channel_id),
        l(&message)
    ))
    .map_err(|e| app_error(500, "app.post.save.app_error", e.message()))?;
    let post = json!({
        "id": id, "create_at": now, "update_at": now, "edit_at": 0, "delete_at": 0,
        "is_pinned": false, "user_id": user_id, "channel_id": channel_id, "root_id": "",
        "original_id": "", "message": message, "type": "", "props": {}, "hashtags": "",
        "pending_post_id": field(&v, "pending_post_id"), "reply_count": 0, "metadata": {}
    });
    let event = json!({
        "event": "posted",
        "data": {
            "channel_display_name": "",
            "channel_name": "",
            "channel_type": "O",
            "post": post.to_string(),
            "sender_name": format!("@{}", user.username),
            "set_online": true,
            "team_id": ""
        },
        "broadcast": {"omit_users": null, "user_id": "", "channel_id": channel_id, "team_id": "", "connection_id": "", "omit_connection_id": ""}
    });
    state.ws_hub.broadcast(&event);
    if let Some(c) = &state.cluster {
        c.publish(&event, &state.log);
    }
    Ok(Response::json(201, &post))
}

/// The API routes on the TCP listener; `None` for everything else.
pub(crate) fn tcp(state: &AppState, req: &Request, reader: &mut impl Read) -> Option<Response> {
    let result = match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("POST", "/api/v4/users/login") => login(state, req, reader),
        ("POST", "/api/v4/files") => upload_file(state, req, reader),
        ("GET", "/api/v4/cluster/status") => cluster_status(state, req),
        ("POST", "/api/v4/posts") => create_post(state, req, reader),
        ("GET", p) if p.starts_with("/api/v4/files/") && p.len() == "/api/v4/files/".len() + 26 => {
            get_file(state, req, &p["/api/v4/files/".len()..])
        }
        ("GET", "/api/v4/users/me") => match session_user(state, req) {
            None => Err(app_error(
                401,
                "api.context.session_expired.app_error",
                "Invalid or expired session, please login again.",
            )),
            Some(id) => db(state).and_then(|d| {
                user_or_404(store::user_by_id(d, &id)).map(|u| Response::json(200, &u.to_json()))
            }),
        },
        _ => return None,
    };
    Some(result.unwrap_or_else(|e| e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(valid_username("admin"));
        assert!(valid_username("a.b-c_d9"));
        for bad in [
            "ab",
            "Admin",
            "9lives",
            "all",
            "system",
            "has space",
            &"a".repeat(23),
        ] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn email_rules() {
        assert!(valid_email("boss@example.com"));
        for bad in [
            "",
            "boss",
            "@example.com",
            "boss@",
            "bo ss@example.com",
            "a<b@example.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn team_name_rules() {
        for ok in ["staff", "my-team2", "ab", "ab__cd", "9lives"] {
            assert!(valid_team_name(ok) && !reserved_team_name(ok), "{ok}");
        }
        for bad in [
            "a", "-team", "team-", "Team", "te am", "a_b", "a__b-c", "__ab",
        ] {
            assert!(!valid_team_name(bad), "{bad}");
        }
        for reserved in [
            "api",
            "signup",
            "helpdesk",
            "postmaster",
            "Admins",
            "boardsroom",
        ] {
            assert!(reserved_team_name(reserved), "{reserved}");
        }
    }

    #[test]
    fn open_needs_allow_open_invite() {
        assert_eq!(sync_team_type("O", true), ("O".to_owned(), true));
        assert_eq!(sync_team_type("O", false), ("I".to_owned(), false));
        assert_eq!(sync_team_type("I", true), ("I".to_owned(), false));
        assert_eq!(sync_team_type("X", true), ("O".to_owned(), true));
        assert_eq!(sync_team_type("", false), ("I".to_owned(), false));
    }
}

//! `bin/mmctl` of the stand-in: `version`, and in local mode (`--local` or
//! `MMCTL_LOCAL=true`, socket from `MMCTL_LOCAL_SOCKET_PATH`, default
//! `/var/tmp/mattermost_local.socket`) the bootstrap commands: `user create`,
//! `user search`, `team create`, `team users add`. They call the stand-in's
//! local-mode REST API like the real mmctl does. Anything else: "command not
//! supported yet", exit 1.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use mattermost_standin::build_info;
use serde_json::{Value, json};

const DEFAULT_SOCKET: &str = "/var/tmp/mattermost_local.socket";

/// Flags (`--name value` or `--name=value`) and positional arguments.
struct Parsed {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

/// Flags that take no value.
const SWITCHES: [&str; 7] = [
    "--local",
    "--system-admin",
    "--email-verified",
    "--private",
    "--json",
    "--disable-welcome-email",
    "--guest",
];

fn parse(args: &[String]) -> Parsed {
    let mut p = Parsed {
        positional: Vec::new(),
        flags: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some((k, v)) = a.split_once('=').filter(|_| a.starts_with("--")) {
            p.flags.push((k.to_owned(), Some(v.to_owned())));
        } else if a.starts_with("--") && !SWITCHES.contains(&a.as_str()) {
            p.flags.push((a.clone(), args.get(i + 1).cloned()));
            i += 1;
        } else if a.starts_with('-') {
            p.flags.push((a.clone(), None));
        } else {
            p.positional.push(a.clone());
        }
        i += 1;
    }
    p
}

impl Parsed {
    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// One request on the local-mode socket: `(status, JSON body)`.
fn request(method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
    let socket = std::env::var("MMCTL_LOCAL_SOCKET_PATH").unwrap_or_else(|_| DEFAULT_SOCKET.into());
    let mut s = UnixStream::connect(&socket).map_err(|e| {
        format!(
            "cannot connect to the server's local socket {socket}: {e} (is local mode enabled?)"
        )
    })?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let payload = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed status line")?;
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// A 2xx body, or the server's message as an error.
fn ok(what: &str, r: Result<(u16, Value), String>) -> Result<Value, String> {
    let (status, body) = r?;
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(format!(
            "{what}: {}",
            body["message"].as_str().unwrap_or("request failed")
        ))
    }
}

fn find_user(who: &str) -> Result<Value, String> {
    ok(
        &format!("failed to find user {who}"),
        request(
            "GET",
            &format!("/api/v4/users/username/{}", who.to_lowercase()),
            None,
        ),
    )
}

fn user_create(p: &Parsed) -> Result<String, String> {
    let (Some(username), Some(email), Some(password)) = (
        p.value("--username"),
        p.value("--email"),
        p.value("--password"),
    ) else {
        return Err("required flag(s) \"email\", \"password\", \"username\" not set".into());
    };
    let body = json!({"username": username, "email": email, "password": password,
        "email_verified": p.has("--email-verified")});
    let user = ok(
        "failed to create user",
        request("POST", "/api/v4/users", Some(&body)),
    )?;
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    if p.has("--system-admin") {
        ok(
            "Unable to update user roles",
            request(
                "PUT",
                &format!("/api/v4/users/{id}/roles"),
                Some(&json!({"roles": "system_user system_admin"})),
            ),
        )?;
    }
    Ok(format!("Created user {username}"))
}

fn team_create(p: &Parsed) -> Result<String, String> {
    let (Some(name), Some(display)) = (p.value("--name"), p.value("--display-name")) else {
        return Err("name and display-name are required".into());
    };
    let body = json!({"name": name, "display_name": display,
        "type": if p.has("--private") { "I" } else { "O" },
        "email": p.value("--email").unwrap_or("")});
    ok(
        "Team creation failed",
        request("POST", "/api/v4/teams", Some(&body)),
    )?;
    Ok(format!("New team {name} successfully created"))
}

fn team_users_add(team: &str, users: &[String]) -> Result<String, String> {
    let t = ok(
        &format!("Unable to find team '{team}'"),
        request("GET", &format!("/api/v4/teams/name/{team}"), None),
    )?;
    let team_id = t["id"].as_str().unwrap_or_default().to_owned();
    for u in users {
        let user = find_user(u)?;
        let body = json!({"team_id": team_id, "user_id": user["id"]});
        ok(
            &format!("Unable to add '{u}' to {team}"),
            request(
                "POST",
                &format!("/api/v4/teams/{team_id}/members"),
                Some(&body),
            ),
        )?;
    }
    Ok(String::new())
}

fn run(p: &Parsed) -> Result<String, String> {
    let words: Vec<&str> = p.positional.iter().map(String::as_str).collect();
    let local = p.has("--local")
        || std::env::var("MMCTL_LOCAL").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    match words.as_slice() {
        ["version", ..] => Ok(format!(
            "mmctl:\nVersion:\t{v}\nBuiltDate:\t{d}\nCommitDate:\t{d}\nGitCommit:\t{h}\nGitTreeState:\tclean\nGoVersion:\tstandin\nCompiler:\trustc\nPlatform:\tlinux/amd64",
            v = build_info::VERSION,
            d = build_info::BUILD_DATE,
            h = build_info::BUILD_HASH,
        )),
        ["user", "create" | "search", ..] | ["team", "create" | "users", ..] if !local => Err(
            "you must be logged in or use --local (the stand-in supports local mode only)".into(),
        ),
        ["user", "create"] => user_create(p),
        ["user", "search", who] => {
            let u = find_user(who)?;
            Ok(format!(
                "id: {}\nusername: {}\nemail: {}\nroles: {}",
                u["id"].as_str().unwrap_or(""),
                u["username"].as_str().unwrap_or(""),
                u["email"].as_str().unwrap_or(""),
                u["roles"].as_str().unwrap_or("")
            ))
        }
        ["team", "create"] => team_create(p),
        ["team", "users", "add", team, users @ ..] if !users.is_empty() => {
            let users: Vec<String> = users.iter().map(|s| (*s).to_owned()).collect();
            team_users_add(team, &users)
        }
        _ => Err("mmctl stand-in: command not supported yet".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&parse(&args)) {
        Ok(out) => {
            if !out.is_empty() {
                println!("{out}");
            }
            ExitCode::SUCCESS
        }
        Err(e) if e.starts_with("mmctl stand-in:") => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

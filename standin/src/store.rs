//! Users, teams and team members, kept in the real Mattermost tables (`Users`,
//! `Teams`, `TeamMembers`) so that tests can check them with SQL, as an
//! operator would on a real server.
//!
//! Passwords are stored as a salted SHA-1 (`standin-sha1$<salt>$<digest>`),
//! not bcrypt like the real server: the stand-in is a test double with no
//! crypto dependencies, and nothing but the stand-in ever reads the hash.

use std::hash::{BuildHasher, Hasher};

use serde_json::{Value, json};

use crate::db::Database;
use crate::error::{Error, Result};
use crate::util::{hex, now_millis, sha1};

/// A row of `Users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub create_at: u64,
    pub update_at: u64,
    pub delete_at: u64,
    pub username: String,
    pub password: String,
    pub email: String,
    pub email_verified: bool,
    pub roles: String,
    pub locale: String,
}

impl User {
    /// The user as the API returns it: no password, no secrets.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "username": self.username,
            "auth_data": "",
            "auth_service": "",
            "email": self.email,
            "email_verified": self.email_verified,
            "nickname": "",
            "first_name": "",
            "last_name": "",
            "position": "",
            "roles": self.roles,
            "locale": self.locale,
            "timezone": {"automaticTimezone": "", "manualTimezone": "", "useAutomaticTimezone": "true"},
        })
    }

    /// Whether `password` is this user's password.
    pub fn password_matches(&self, password: &str) -> bool {
        let mut parts = self.password.split('$');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("standin-sha1"), Some(salt), Some(digest)) => hash_with(salt, password) == digest,
            _ => false,
        }
    }
}

/// A row of `Teams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub create_at: u64,
    pub update_at: u64,
    pub delete_at: u64,
    pub display_name: String,
    pub name: String,
    pub email: String,
    pub team_type: String,
}

impl Team {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "display_name": self.display_name,
            "name": self.name,
            "description": "",
            "email": self.email,
            "type": self.team_type,
            "company_name": "",
            "allowed_domains": "",
            "invite_id": "",
            "allow_open_invite": self.team_type == "O",
            "scheme_id": null,
            "group_constrained": false,
        })
    }
}

/// A row of `TeamMembers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub team_id: String,
    pub user_id: String,
    pub roles: String,
    pub delete_at: u64,
}

impl TeamMember {
    pub fn to_json(&self) -> Value {
        json!({
            "team_id": self.team_id,
            "user_id": self.user_id,
            "roles": self.roles,
            "delete_at": self.delete_at,
            "scheme_user": true,
            "scheme_admin": false,
            "scheme_guest": false,
            "explicit_roles": "",
        })
    }
}

/// A Mattermost-style id: 26 characters of `[a-z0-9]`.
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(26);
    while out.len() < 26 {
        let mut n = std::hash::RandomState::new().build_hasher().finish();
        for _ in 0..10 {
            if out.len() == 26 {
                break;
            }
            let idx = usize::try_from(n % 36).unwrap_or(0);
            out.push(char::from(ALPHABET[idx]));
            n /= 36;
        }
    }
    out
}

fn hash_with(salt: &str, password: &str) -> String {
    let mut data = salt.as_bytes().to_vec();
    data.extend_from_slice(password.as_bytes());
    hex(&sha1(&data))
}

/// The stored form of a password.
pub fn hash_password(password: &str) -> String {
    let salt = new_id();
    format!("standin-sha1${salt}${}", hash_with(&salt, password))
}

fn unhex(s: &str) -> Result<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::new(format!("unexpected database output {s:?}")))
}

/// Runs a query whose single column is `hex:hex:...`; returns the decoded
/// fields of every row.
pub(crate) fn rows(db: &Database, table_sql: &str, cols: &[&str]) -> Result<Vec<Vec<String>>> {
    let exprs: Vec<String> = cols.iter().map(|c| db.hex(c)).collect();
    let joined = if db.is_postgres() {
        exprs.join(" || ':' || ")
    } else {
        format!("CONCAT({})", exprs.join(", ':', "))
    };
    let out = db.query(&format!("SELECT {joined} {table_sql};"))?;
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(':').map(unhex).collect())
        .collect()
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

fn truthy(s: &str) -> bool {
    matches!(s, "t" | "true" | "1")
}

const USER_COLS: [&str; 10] = [
    "Id",
    "CreateAt",
    "UpdateAt",
    "DeleteAt",
    "Username",
    "Password",
    "Email",
    "EmailVerified",
    "Roles",
    "Locale",
];

fn user_from(r: &[String]) -> Option<User> {
    Some(User {
        id: r.first()?.clone(),
        create_at: num(r.get(1)?),
        update_at: num(r.get(2)?),
        delete_at: num(r.get(3)?),
        username: r.get(4)?.clone(),
        password: r.get(5)?.clone(),
        email: r.get(6)?.clone(),
        email_verified: truthy(r.get(7)?),
        roles: r.get(8)?.clone(),
        locale: r.get(9)?.clone(),
    })
}

fn one_user(db: &Database, where_sql: &str) -> Result<Option<User>> {
    let r = rows(db, &format!("FROM Users WHERE {where_sql}"), &USER_COLS)?;
    Ok(r.first().and_then(|r| user_from(r)))
}

pub fn user_by_username(db: &Database, username: &str) -> Result<Option<User>> {
    one_user(db, &format!("Username = {}", db.literal(username)))
}

pub fn user_by_email(db: &Database, email: &str) -> Result<Option<User>> {
    one_user(db, &format!("Email = {}", db.literal(email)))
}

pub fn user_by_id(db: &Database, id: &str) -> Result<Option<User>> {
    one_user(db, &format!("Id = {}", db.literal(id)))
}

/// A user by username or e-mail (the login form's `login_id`).
pub fn user_by_login(db: &Database, login_id: &str) -> Result<Option<User>> {
    let l = db.literal(&login_id.to_lowercase());
    one_user(db, &format!("Username = {l} OR Email = {l}"))
}

pub fn count_users(db: &Database) -> Result<u64> {
    Ok(num(db.query("SELECT COUNT(*) FROM Users;")?.trim()))
}

pub fn insert_user(db: &Database, u: &User) -> Result<()> {
    let l = |s: &str| db.literal(s);
    let b = |v: bool| if v { "TRUE" } else { "FALSE" };
    db.query(&format!(
        "INSERT INTO Users (Id, CreateAt, UpdateAt, DeleteAt, Username, Password, AuthData, AuthService, \
         Email, EmailVerified, Nickname, FirstName, LastName, Roles, AllowMarketing, Props, NotifyProps, \
         LastPasswordUpdate, LastPictureUpdate, FailedAttempts, Locale, MfaActive, MfaSecret, Position) \
         VALUES ({}, {}, {}, 0, {}, {}, NULL, '', {}, {}, '', '', '', {}, FALSE, '{{}}', '{{}}', {}, 0, 0, {}, FALSE, '', '');",
        l(&u.id),
        u.create_at,
        u.update_at,
        l(&u.username),
        l(&u.password),
        l(&u.email),
        b(u.email_verified),
        l(&u.roles),
        u.create_at,
        l(&u.locale),
    ))
    .map(|_| ())
}

pub fn update_roles(db: &Database, id: &str, roles: &str) -> Result<()> {
    db.query(&format!(
        "UPDATE Users SET Roles = {}, UpdateAt = {} WHERE Id = {};",
        db.literal(roles),
        now_millis(),
        db.literal(id)
    ))
    .map(|_| ())
}

pub fn verify_email(db: &Database, id: &str) -> Result<()> {
    db.query(&format!(
        "UPDATE Users SET EmailVerified = TRUE, UpdateAt = {} WHERE Id = {};",
        now_millis(),
        db.literal(id)
    ))
    .map(|_| ())
}

const TEAM_COLS: [&str; 8] = [
    "Id",
    "CreateAt",
    "UpdateAt",
    "DeleteAt",
    "DisplayName",
    "Name",
    "Email",
    "Type",
];

fn one_team(db: &Database, where_sql: &str) -> Result<Option<Team>> {
    let r = rows(db, &format!("FROM Teams WHERE {where_sql}"), &TEAM_COLS)?;
    Ok(r.first().and_then(|r| {
        Some(Team {
            id: r.first()?.clone(),
            create_at: num(r.get(1)?),
            update_at: num(r.get(2)?),
            delete_at: num(r.get(3)?),
            display_name: r.get(4)?.clone(),
            name: r.get(5)?.clone(),
            email: r.get(6)?.clone(),
            team_type: r.get(7)?.clone(),
        })
    }))
}

pub fn team_by_name(db: &Database, name: &str) -> Result<Option<Team>> {
    one_team(db, &format!("Name = {}", db.literal(name)))
}

pub fn team_by_id(db: &Database, id: &str) -> Result<Option<Team>> {
    one_team(db, &format!("Id = {}", db.literal(id)))
}

pub fn insert_team(db: &Database, t: &Team) -> Result<()> {
    let l = |s: &str| db.literal(s);
    db.query(&format!(
        "INSERT INTO Teams (Id, CreateAt, UpdateAt, DeleteAt, DisplayName, Name, Description, Email, Type, \
         CompanyName, AllowedDomains, InviteId, AllowOpenInvite, LastTeamIconUpdate, GroupConstrained) \
         VALUES ({}, {}, {}, 0, {}, {}, '', {}, {}, '', '', {}, {}, 0, FALSE);",
        l(&t.id),
        t.create_at,
        t.update_at,
        l(&t.display_name),
        l(&t.name),
        l(&t.email),
        l(&t.team_type),
        l(&new_id()),
        if t.team_type == "O" { "TRUE" } else { "FALSE" },
    ))
    .map(|_| ())
}

/// A row of `FileInfo` (the columns the stand-in fills).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub id: String,
    pub creator_id: String,
    pub create_at: u64,
    pub path: String,
    pub name: String,
    pub extension: String,
    pub size: u64,
    pub mime_type: String,
}

impl FileInfo {
    /// The file info as the API returns it (model.FileInfo JSON).
    pub fn to_json(&self, channel_id: &str) -> Value {
        json!({
            "id": self.id,
            "user_id": self.creator_id,
            "channel_id": channel_id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "name": self.name,
            "extension": self.extension,
            "size": self.size,
            "mime_type": self.mime_type,
            "width": 0,
            "height": 0,
            "has_preview_image": false,
            "mini_preview": null,
            "remote_id": "",
            "archived": false,
        })
    }
}

pub fn insert_file_info(db: &Database, f: &FileInfo) -> Result<()> {
    let l = |s: &str| db.literal(s);
    db.query(&format!(
        "INSERT INTO FileInfo (Id, CreatorId, PostId, CreateAt, UpdateAt, DeleteAt, Path, ThumbnailPath, \
         PreviewPath, Name, Extension, Size, MimeType, Width, Height, HasPreviewImage) \
         VALUES ({}, {}, '', {}, {}, 0, {}, '', '', {}, {}, {}, {}, 0, 0, FALSE);",
        l(&f.id),
        l(&f.creator_id),
        f.create_at,
        f.create_at,
        l(&f.path),
        l(&f.name),
        l(&f.extension),
        f.size,
        l(&f.mime_type),
    ))
    .map(|_| ())
}

pub fn file_info_by_id(db: &Database, id: &str) -> Result<Option<FileInfo>> {
    let r = rows(
        db,
        &format!(
            "FROM FileInfo WHERE Id = {} AND DeleteAt = 0",
            db.literal(id)
        ),
        &[
            "Id",
            "CreatorId",
            "CreateAt",
            "Path",
            "Name",
            "Extension",
            "Size",
            "MimeType",
        ],
    )?;
    Ok(r.first().and_then(|r| {
        Some(FileInfo {
            id: r.first()?.clone(),
            creator_id: r.get(1)?.clone(),
            create_at: num(r.get(2)?),
            path: r.get(3)?.clone(),
            name: r.get(4)?.clone(),
            extension: r.get(5)?.clone(),
            size: num(r.get(6)?),
            mime_type: r.get(7)?.clone(),
        })
    }))
}

pub fn team_member(db: &Database, team_id: &str, user_id: &str) -> Result<Option<TeamMember>> {
    let r = rows(
        db,
        &format!(
            "FROM TeamMembers WHERE TeamId = {} AND UserId = {}",
            db.literal(team_id),
            db.literal(user_id)
        ),
        &["TeamId", "UserId", "Roles", "DeleteAt"],
    )?;
    Ok(r.first().and_then(|r| {
        Some(TeamMember {
            team_id: r.first()?.clone(),
            user_id: r.get(1)?.clone(),
            roles: r.get(2)?.clone(),
            delete_at: num(r.get(3)?),
        })
    }))
}

/// Adds (or re-activates) a team membership.
pub fn upsert_team_member(db: &Database, team_id: &str, user_id: &str) -> Result<()> {
    let (t, u) = (db.literal(team_id), db.literal(user_id));
    let sql = if team_member(db, team_id, user_id)?.is_some() {
        format!("UPDATE TeamMembers SET DeleteAt = 0 WHERE TeamId = {t} AND UserId = {u};")
    } else {
        format!(
            "INSERT INTO TeamMembers (TeamId, UserId, Roles, DeleteAt, SchemeUser, SchemeAdmin, SchemeGuest) \
             VALUES ({t}, {u}, '', 0, TRUE, FALSE, FALSE);"
        )
    };
    db.query(&sql).map(|_| ())
}

/// Saves a login session, so that every server of a cluster knows it (the real
/// server keeps sessions in its Sessions table and caches them per node).
pub fn save_session(db: &Database, token: &str, user_id: &str) -> Result<()> {
    db.query(&format!(
        "INSERT INTO Sessions (Id, Token, UserId, CreateAt) VALUES ({}, {}, {}, {});",
        db.literal(&new_id()),
        db.literal(token),
        db.literal(user_id),
        crate::util::now_millis()
    ))
    .map(|_| ())
}

/// The user of a session token, from the Sessions table.
pub fn session_user(db: &Database, token: &str) -> Result<Option<String>> {
    let out = db.query(&format!(
        "SELECT UserId FROM Sessions WHERE Token = {};",
        db.literal(token)
    ))?;
    Ok(out
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_mattermost_ids() {
        let id = new_id();
        assert_eq!(id.len(), 26);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn passwords_are_salted_and_checked() {
        let h1 = hash_password("correct horse");
        let h2 = hash_password("correct horse");
        assert_ne!(h1, h2, "salted");
        let mut u = User {
            id: new_id(),
            create_at: 0,
            update_at: 0,
            delete_at: 0,
            username: "a".into(),
            password: h1,
            email: "a@b.c".into(),
            email_verified: false,
            roles: "system_user".into(),
            locale: "en".into(),
        };
        assert!(u.password_matches("correct horse"));
        assert!(!u.password_matches("correct horse "));
        u.password = "garbage".into();
        assert!(!u.password_matches("correct horse"));
        assert!(!u.to_json().to_string().contains("garbage"));
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex("é:|\t".as_bytes())).expect("hex"), "é:|\t");
        assert!(unhex("zz").is_err());
    }
}

//! The matrix's rows: each kind of caller, each route, and what each cell must answer.

use serde_json::{Value, json};

/// What a cell must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Past every check: the route's own success (200), or 100ms's 404 for what it does not have
    /// (a room it does not know, a room nobody is in). Never a 5xx, a 400 or a refusal.
    Pass,
    /// 401: no verified caller.
    NoToken,
    /// 403: the caller may not do this at all (`admin_required`, `role_not_allowed`), or the room
    /// does not grant the role (`role_not_granted`).
    Forbidden,
    /// 403 `banned`: barred from the room's tokens.
    Banned,
    /// 409 `members_only`: a members room has no room codes.
    MembersOnly,
    /// 404 `room_not_found`: the room is not the caller's, told as if it did not exist.
    Hidden,
    /// 409 `name_taken`: the name is someone else's room.
    Taken,
}

impl Outcome {
    pub(crate) fn cell(self) -> &'static str {
        match self {
            Self::Pass => "✓",
            Self::NoToken => "401",
            Self::Forbidden => "403",
            Self::Banned => "403 banned",
            Self::MembersOnly => "409 members only",
            Self::Hidden => "404",
            Self::Taken => "409",
        }
    }

    pub(crate) fn holds(self, status: u16, body: &Value) -> bool {
        let error = body["error"].as_str().unwrap_or("");
        match self {
            Self::Pass => {
                status == 200 || (status == 404 && ["session_not_found", "upstream_not_found"].contains(&error))
            }
            Self::NoToken => status == 401,
            Self::Forbidden => {
                status == 403 && ["admin_required", "role_not_allowed", "role_not_granted"].contains(&error)
            }
            Self::Banned => status == 403 && error == "banned",
            Self::MembersOnly => status == 409 && error == "members_only",
            Self::Hidden => status == 404 && error == "room_not_found",
            Self::Taken => status == 409 && error == "name_taken",
        }
    }
}

/// Who signs in: the user's name in the stack's user pool (moto's Cognito) and its groups
/// (`cognito:groups` in its tokens).
pub(crate) type Identity = (&'static str, &'static [&'static str]);

/// The callers, in the table's order: (column title, identity); `None`: no token. The local rules
/// (`tools/local-jwt-rules.env`) give creators and host tokens the same claim, `teachers`. The
/// member is a co-teacher the owner granted `host` and `guest` in the class, and `guest` in the
/// members room.
pub(crate) const CALLERS: [(&str, Option<Identity>); 6] = [
    ("no token", None),
    ("signed-in user", Some(("user-1", &[]))),
    ("creator", Some(("teacher-2", &["teachers"]))),
    ("room's owner", Some(("teacher-1", &["teachers"]))),
    ("admin", Some(("admin-1", &["admins"]))),
    ("member", Some(("member-1", &["teachers"]))),
];

/// The rooms of a room route's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    Owners,
    SomeoneElses,
    Unknown,
}

pub(crate) const ROOMS: [Room; 3] = [Room::Owners, Room::SomeoneElses, Room::Unknown];

/// The expected answer of a room's host operation for caller `c` (index into CALLERS).
pub(crate) fn room_rule(c: usize, room: Room) -> Outcome {
    match (CALLERS[c].0, room) {
        ("no token", _) => Outcome::NoToken,
        ("admin", _) | ("room's owner", Room::Owners) => Outcome::Pass,
        _ => Outcome::Hidden,
    }
}

/// A row of the matrix: (title, method, path, body) and each caller's expected answer. `ROOM` is
/// the owner's class (open), `MEMBERS` the owner's members room, `BANNED` an open room of the
/// owner's that bans the signed-in user and the member.
pub(crate) type Row = (&'static str, &'static str, &'static str, Option<Value>, [Outcome; 6]);

/// The routes that do not depend on a room.
pub(crate) fn other_rows() -> Vec<Row> {
    use Outcome::*;
    vec![
        (
            "POST /create-room (a new name)",
            "POST",
            "/create-room",
            Some(json!({"name": "NAME"})),
            [NoToken, Forbidden, Pass, Pass, Pass, Pass],
        ),
        (
            "POST /create-room (the name of someone else's room)",
            "POST",
            "/create-room",
            Some(json!({"name": "matrix-other", "description": "taken over?"})),
            [NoToken, Forbidden, Taken, Taken, Pass, Taken],
        ),
        (
            "POST /room-owner",
            "POST",
            "/room-owner",
            Some(json!({"room_id": "ROOM", "owner": "OWNER_ID"})),
            [NoToken, Forbidden, Forbidden, Forbidden, Pass, Forbidden],
        ),
        (
            "POST /auth-token (role guest, an open room)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "ROOM", "role": "guest"})),
            [NoToken, Pass, Pass, Pass, Pass, Pass],
        ),
        (
            "POST /auth-token (role host: the owner's, an admin's with the claim, a member's granted it)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "ROOM", "role": "host"})),
            [NoToken, Forbidden, Forbidden, Pass, Forbidden, Pass],
        ),
        (
            "POST /auth-token (role host, a room that does not exist)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "UNKNOWN", "role": "host"})),
            [NoToken, Forbidden, Forbidden, Forbidden, Forbidden, Forbidden],
        ),
        (
            "POST /auth-token (role guest, a members room)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "MEMBERS", "role": "guest"})),
            [NoToken, Forbidden, Forbidden, Pass, Pass, Pass],
        ),
        (
            "POST /auth-token (role viewer, a members room: not granted to the member)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "MEMBERS", "role": "viewer"})),
            [NoToken, Forbidden, Forbidden, Pass, Pass, Forbidden],
        ),
        (
            "POST /auth-token (role guest, banned: the signed-in user and the member)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "BANNED", "role": "guest"})),
            [NoToken, Banned, Pass, Pass, Pass, Banned],
        ),
        (
            "POST /auth-token (role guest, after POST /room-members/unban of both)",
            "POST",
            "/auth-token",
            Some(json!({"room_id": "BANNED", "role": "guest"})),
            [NoToken, Pass, Pass, Pass, Pass, Pass],
        ),
        (
            "POST /room-codes (a members room)",
            "POST",
            "/room-codes",
            Some(json!({"room_id": "MEMBERS", "roles": ["guest"]})),
            [NoToken, Hidden, Hidden, MembersOnly, MembersOnly, Hidden],
        ),
        (
            "POST /room-codes (role host: its claim is needed, as for a token)",
            "POST",
            "/room-codes",
            Some(json!({"room_id": "ROOM", "roles": ["host"]})),
            [NoToken, Hidden, Hidden, Pass, Forbidden, Hidden],
        ),
        (
            "POST /update-peer (role host: its claim is needed, as for a token)",
            "POST",
            "/update-peer",
            Some(json!({"room_id": "ROOM", "peer_id": "peer-1", "role": "host"})),
            [NoToken, Hidden, Hidden, Pass, Forbidden, Hidden],
        ),
    ]
}

/// A room's host operations: (row title, method, path with ROOM and CODE to fill, body).
pub(crate) fn room_rows() -> Vec<(&'static str, &'static str, &'static str, Option<Value>)> {
    vec![
        ("GET /session-analytics-by-room", "GET", "/session-analytics-by-room?room_id=ROOM", None),
        ("GET /session-list-by-room", "GET", "/session-list-by-room?room_id=ROOM", None),
        ("GET /attendance-history", "GET", "/attendance-history?room_id=ROOM", None),
        ("POST /room-codes (role guest)", "POST", "/room-codes", Some(json!({"room_id": "ROOM", "roles": ["guest"]}))),
        ("GET /room-codes", "GET", "/room-codes?room_id=ROOM", None),
        ("POST /room-codes/disable", "POST", "/room-codes/disable", Some(json!({"code": "CODE", "room_id": "ROOM"}))),
        ("POST /room-codes/enable", "POST", "/room-codes/enable", Some(json!({"code": "CODE", "room_id": "ROOM"}))),
        ("GET /active-peers", "GET", "/active-peers?room_id=ROOM", None),
        ("POST /remove-peer", "POST", "/remove-peer", Some(json!({"room_id": "ROOM", "role": "guest"}))),
        ("POST /end-room", "POST", "/end-room", Some(json!({"room_id": "ROOM"}))),
        ("POST /recordings/start", "POST", "/recordings/start", Some(json!({"room_id": "ROOM"}))),
        ("POST /recordings/stop", "POST", "/recordings/stop", Some(json!({"room_id": "ROOM"}))),
        ("GET /recordings", "GET", "/recordings?room_id=ROOM", None),
        ("POST /recordings/pause", "POST", "/recordings/pause", Some(json!({"room_id": "ROOM"}))),
        ("POST /recordings/resume", "POST", "/recordings/resume", Some(json!({"room_id": "ROOM"}))),
        ("POST /send-message", "POST", "/send-message", Some(json!({"room_id": "ROOM", "message": "Quiz at 10"}))),
        (
            "POST /update-peer (name)",
            "POST",
            "/update-peer",
            Some(json!({"room_id": "ROOM", "peer_id": "peer-1", "name": "Ada"})),
        ),
        ("POST /room-enabled", "POST", "/room-enabled", Some(json!({"room_id": "ROOM", "enabled": true}))),
        ("POST /live-streams/start", "POST", "/live-streams/start", Some(json!({"room_id": "ROOM"}))),
        ("POST /live-streams/stop", "POST", "/live-streams/stop", Some(json!({"room_id": "ROOM"}))),
        ("GET /live-streams", "GET", "/live-streams?room_id=ROOM", None),
        (
            "POST /live-streams/timed-metadata",
            "POST",
            "/live-streams/timed-metadata",
            Some(json!({"room_id": "ROOM", "stream_id": "stream-1", "payload": "poll-1", "duration": 5})),
        ),
        ("POST /room-access", "POST", "/room-access", Some(json!({"room_id": "ROOM", "access": "open"}))),
        (
            "POST /room-members",
            "POST",
            "/room-members",
            Some(json!({"room_id": "ROOM", "members": [{"user_id": "student-9", "roles": ["guest"]}]})),
        ),
        ("GET /room-members", "GET", "/room-members?room_id=ROOM", None),
        (
            "POST /room-members/remove",
            "POST",
            "/room-members/remove",
            Some(json!({"room_id": "ROOM", "user_id": "student-9"})),
        ),
        (
            "POST /room-members/ban",
            "POST",
            "/room-members/ban",
            Some(json!({"room_id": "ROOM", "user_id": "student-9"})),
        ),
        (
            "POST /room-members/unban",
            "POST",
            "/room-members/unban",
            Some(json!({"room_id": "ROOM", "user_id": "student-9"})),
        ),
    ]
}

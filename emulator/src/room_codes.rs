//! `/v2/room-codes`: codes per role (create for every role or one, list, enable/disable), and
//! the token by room code that client SDKs ask `auth.100ms.live` for (`POST /v2/token`).
//!
//! Where the docs are silent, the emulator chooses (docs/room-control.md, "100ms behaviour we assumed"):
//! create-for-all keeps a role's enabled code and adds codes only for roles without one;
//! create-for-role adds another code each call, up to 100 per room; an unknown code is a 404 and
//! a disabled one a 403 at `/v2/token`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::{guard, mint_app_token};
use crate::{DEFAULT_ROLES, Emulator, Inner, ListQuery, api_error, page, parse_bool, ts};

/// Most codes one room may have (the docs: "up to 100 Room Codes per Room").
pub(crate) const MAX_CODES_PER_ROOM: usize = 100;
/// Lifetime of a token minted from a room code (UNCERTAIN in the docs: 24 h, as the SDKs' tokens).
const CODE_TOKEN_SECONDS: i64 = 86_400;

/// A room code, as the docs' room code object.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoomCode {
    pub(crate) code: String,
    pub(crate) room_id: String,
    pub(crate) role: String,
    pub(crate) enabled: bool,
    created_at: String,
    updated_at: String,
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/room-codes/room/{id}", post(create_all).get(list))
        .route("/v2/room-codes/room/{id}/role/{role}", post(create_for_role))
        .route("/v2/room-codes/code", post(update))
        .route("/v2/token", post(token_by_code))
}

/// A code in the docs' 3-4-3 form of lower-case letters.
fn new_code() -> String {
    let bits = uuid::Uuid::new_v4().as_u128();
    let letters: String = (0..10).map(|i| (b'a' + ((bits >> (i * 7)) % 26) as u8) as char).collect();
    format!("{}-{}-{}", &letters[..3], &letters[3..7], &letters[7..])
}

impl Inner {
    /// Why the room cannot have codes made or listed now, as the docs' errors say.
    fn code_room_check(&self, room_id: &str) -> Result<(), Response> {
        match self.rooms.iter().find(|r| r.id == room_id) {
            None => Err(api_error(StatusCode::NOT_FOUND, "room not found", &[])),
            Some(r) if !r.enabled => Err(api_error(StatusCode::FORBIDDEN, "room is disabled", &[])),
            Some(_) => Ok(()),
        }
    }

    fn add_code(&mut self, room_id: &str, role: &str) -> Result<RoomCode, Response> {
        if self.room_codes.iter().filter(|c| c.room_id == room_id).count() >= MAX_CODES_PER_ROOM {
            return Err(api_error(StatusCode::BAD_REQUEST, "room code limit reached", &["100 codes per room"]));
        }
        let now = ts(self.now());
        let code = RoomCode {
            code: new_code(),
            room_id: room_id.into(),
            role: role.into(),
            enabled: true,
            created_at: now.clone(),
            updated_at: now,
        };
        self.room_codes.push(code.clone());
        Ok(code)
    }
}

/// `POST /room-codes/room/{id}`: an enabled code for every role of the template (kept where one
/// exists), `{"data": [...]}`.
async fn create_all(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "POST /room-codes/room/{id}", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    if let Err(r) = s.code_room_check(&id) {
        return r;
    }
    let mut data = Vec::new();
    for role in DEFAULT_ROLES {
        let existing = s.room_codes.iter().find(|c| c.room_id == id && c.role == role && c.enabled).cloned();
        match existing {
            Some(c) => data.push(c),
            None => match s.add_code(&id, role) {
                Ok(c) => data.push(c),
                Err(r) => return r,
            },
        }
    }
    Json(json!({"data": data})).into_response()
}

/// `POST /room-codes/room/{id}/role/{role}`: one more code for the role.
async fn create_for_role(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path((id, role)): Path<(String, String)>,
) -> Response {
    if let Err(r) = guard(&emu, "POST /room-codes/room/{id}/role/{role}", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    if let Err(r) = s.code_room_check(&id) {
        return r;
    }
    if !DEFAULT_ROLES.contains(&role.as_str()) {
        return api_error(StatusCode::NOT_FOUND, "role not found", &[&role]);
    }
    match s.add_code(&id, &role) {
        Ok(c) => Json(c).into_response(),
        Err(r) => r,
    }
}

/// `GET /room-codes/room/{id}?role=&enabled=&limit=&start=`: the room's codes, oldest first.
async fn list(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /room-codes/room/{id}", &headers).await {
        return r;
    }
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "invalid query parameter", &["limit"]),
    };
    let enabled = match parse_bool("enabled", q.enabled.as_deref()) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let s = emu.lock();
    if let Err(r) = s.code_room_check(&id) {
        return r;
    }
    if let Some(role) = &q.role
        && !DEFAULT_ROLES.contains(&role.as_str())
    {
        return api_error(StatusCode::NOT_FOUND, "role not found", &[role]);
    }
    let codes: Vec<(String, &RoomCode)> = s
        .room_codes
        .iter()
        .filter(|c| c.room_id == id)
        .filter(|c| q.role.as_ref().is_none_or(|r| &c.role == r))
        .filter(|c| enabled.is_none_or(|e| c.enabled == e))
        .map(|c| (c.code.clone(), c))
        .collect();
    Json(page(codes, limit, q.start.as_deref())).into_response()
}

/// `POST /room-codes/code {code, enabled}`: enables or disables one code.
async fn update(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = guard(&emu, "POST /room-codes/code", &headers).await {
        return r;
    }
    let body: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(_) => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]),
    };
    let (Some(code), Some(enabled)) =
        (body.get("code").and_then(Value::as_str), body.get("enabled").and_then(Value::as_bool))
    else {
        return api_error(StatusCode::BAD_REQUEST, "invalid request body", &["code and enabled are required"]);
    };
    if body.keys().any(|k| k != "code" && k != "enabled") {
        return api_error(StatusCode::BAD_REQUEST, "invalid request body", &["only enabled can be updated"]);
    }
    let mut s = emu.lock();
    let now = ts(s.now());
    let Some(i) = s.room_codes.iter().position(|c| c.code == code) else {
        return api_error(StatusCode::NOT_FOUND, "room code not found", &[]);
    };
    let room_id = s.room_codes[i].room_id.clone();
    if enabled && !s.rooms.iter().any(|r| r.id == room_id) {
        return api_error(StatusCode::FORBIDDEN, "room code cannot be enabled", &[]);
    }
    let c = &mut s.room_codes[i];
    if c.enabled != enabled {
        c.enabled = enabled;
        c.updated_at = now;
    }
    Json(c.clone()).into_response()
}

/// `POST /v2/token {code, user_id?}` (auth.100ms.live): an auth token for the code's room and
/// role, `{token, expiresAt}`. No management token: client apps call it.
async fn token_by_code(State(emu): State<Emulator>, body: Bytes) -> Response {
    let body: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(_) => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]),
    };
    let Some(code) = body.get("code").and_then(Value::as_str) else {
        return api_error(StatusCode::BAD_REQUEST, "code is required", &[]);
    };
    let user_id = match body.get("user_id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(u)) if !u.is_empty() => u.clone(),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "user_id must be a non-empty string", &[]),
    };
    let s = emu.lock();
    let Some(c) = s.room_codes.iter().find(|c| c.code == code) else {
        return api_error(StatusCode::NOT_FOUND, "room code not found", &[]);
    };
    if !c.enabled {
        return api_error(StatusCode::FORBIDDEN, "room code is disabled", &[]);
    }
    // Tokens are checked against the wall clock, as joins check them.
    let exp = chrono::Utc::now() + chrono::TimeDelta::seconds(CODE_TOKEN_SECONDS);
    let token = mint_app_token(&s.access_key, &s.secret, &c.room_id, &c.role, &user_id, exp);
    Json(json!({"token": token, "expiresAt": ts(exp)})).into_response()
}

//! A local stand-in for the 100ms v2 REST API, following its public docs: the subset our functions
//! use (rooms, sessions), authenticated as 100ms does (HS256 management tokens), plus a control API
//! outside `/v2` that simulates clients joining with auth tokens, injects faults and exposes
//! counters.
//!
//! `/v2` routes: `POST /rooms` (create-or-update by name), `GET /rooms/{id}`, `GET /rooms`,
//! `GET /sessions` (`room_id`, `active`, `limit`, `start`; newest first), `GET /sessions/{id}`.
//!
//! Control routes (`/_emulator`): `POST join`, `POST leave`, `POST faults`, `DELETE faults`,
//! `GET counters`, `POST counters/reset`, `PUT credentials`, `GET health`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Id of the template every app starts with (the docs' example template id).
pub const DEFAULT_TEMPLATE_ID: &str = "63188115d11d6db790c73c60";
pub const DEFAULT_TEMPLATE_NAME: &str = "default-template";
/// Roles of the default template (roles are case-sensitive in 100ms).
pub const DEFAULT_ROLES: [&str; 3] = ["host", "guest", "viewer"];
const CUSTOMER_ID: &str = "627cdddff2e4e30487862ad1";
const APP_ID: &str = "62510797903d857ab8ec3ba5";
/// Longest a session may last (12 h): the room default when none is given.
const MAX_DURATION_SECONDS: u64 = 43_200;
/// How long a "hang" fault holds a request: far past any client timeout.
pub const HANG: Duration = Duration::from_secs(600);

fn new_id() -> String {
    format!("{:024x}", uuid::Uuid::new_v4().as_u128() & ((1u128 << 96) - 1))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a fault does to the next matching requests.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer this status with the docs' error body (429 also sends `Retry-After`).
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait, then answer normally.
    Delay { ms: u64 },
    /// Never answer (within any sane client timeout).
    Hang,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Start a 200 answer, then drop the connection mid-body.
    Close,
}

/// A fault armed for the next `count` requests of `route` (`"GET /sessions"`, ... or `"*"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    pub route: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize)]
struct Room {
    id: String,
    name: String,
    enabled: bool,
    description: String,
    customer_id: String,
    app_id: String,
    recording_source_template: bool,
    recording_info: Value,
    template_id: String,
    template: String,
    region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    max_duration_seconds: u64,
    large_room: bool,
    /// `<customer_id>:<name>`, as in the docs' room list.
    key: String,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
struct Peer {
    id: String,
    session_id: String,
    name: String,
    role: String,
    user_id: String,
    joined_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    left_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Session {
    id: String,
    room_id: String,
    customer_id: String,
    active: bool,
    peers: BTreeMap<String, Peer>,
    created_at: String,
    updated_at: String,
    #[serde(skip)]
    created: DateTime<Utc>,
}

struct Inner {
    access_key: String,
    secret: String,
    rooms: Vec<Room>,
    sessions: Vec<Session>,
    faults: Vec<Fault>,
    requests: BTreeMap<String, u64>,
    management_tokens: HashSet<String>,
    auth_failures: u64,
}

/// The emulator's state; clone it freely (it is shared).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<Inner>>,
}

impl Emulator {
    /// An emulator of one app with these credentials and no rooms.
    pub fn new(access_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                access_key: access_key.into(),
                secret: secret.into(),
                rooms: Vec::new(),
                sessions: Vec::new(),
                faults: Vec::new(),
                requests: BTreeMap::new(),
                management_tokens: HashSet::new(),
                auth_failures: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The HTTP app: `/v2` and `/_emulator`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/rooms", post(create_room).get(list_rooms))
            .route("/v2/rooms/{id}", get(get_room))
            .route("/v2/sessions", get(list_sessions))
            .route("/v2/sessions/{id}", get(get_session))
            .route("/_emulator/health", get(|| async { Json(json!({"ok": true})) }))
            .route("/_emulator/join", post(join))
            .route("/_emulator/leave", post(leave))
            .route("/_emulator/faults", post(add_fault).delete(clear_faults))
            .route("/_emulator/counters", get(counters))
            .route("/_emulator/counters/reset", post(reset_counters))
            .route("/_emulator/credentials", axum::routing::put(set_credentials))
            .fallback(|| async { api_error(StatusCode::NOT_FOUND, "route not found", &[]) })
            .with_state(self.clone())
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

/// The docs' error body: `{"code", "message", "details"}`.
fn api_error(status: StatusCode, message: &str, details: &[&str]) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message, "details": details}))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

#[derive(Deserialize)]
struct TokenClaims {
    access_key: String,
    #[serde(rename = "type")]
    kind: String,
    version: u8,
    #[allow(dead_code)]
    jti: String,
    #[serde(default)]
    room_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

fn verify(token: &str, secret: &str, access_key: &str, kind: &str) -> Result<TokenClaims, String> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_nbf = true;
    v.required_spec_claims = ["exp", "nbf", "iat"].iter().map(|s| s.to_string()).collect();
    let data = jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .map_err(|e| format!("{e}"))?;
    let c = data.claims;
    if c.kind != kind {
        return Err(format!("token type is {:?}, not {kind:?}", c.kind));
    }
    if c.access_key != access_key {
        return Err("unknown access key".into());
    }
    if c.version != 2 {
        return Err("unsupported token version".into());
    }
    Ok(c)
}

/// Counts the request, applies an armed fault, then authenticates. `Err` is the answer to send.
async fn guard(emu: &Emulator, route: &str, headers: &HeaderMap) -> Result<(), Response> {
    let token = bearer(headers);
    let fault = {
        let mut s = emu.lock();
        *s.requests.entry(route.to_string()).or_default() += 1;
        if let Some(t) = &token {
            s.management_tokens.insert(t.clone());
        }
        let pos = s.faults.iter().position(|f| f.count > 0 && (f.route == route || f.route == "*"));
        pos.map(|i| {
            s.faults[i].count -= 1;
            let kind = s.faults[i].kind.clone();
            if s.faults[i].count == 0 {
                s.faults.remove(i);
            }
            kind
        })
    };
    match fault {
        None => {}
        Some(FaultKind::Status { status, retry_after }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = code.canonical_reason().unwrap_or("error");
            let mut resp = api_error(code, msg, &["injected fault"]);
            if status == 429 {
                let secs = retry_after.unwrap_or(1).to_string();
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_str(&secs).unwrap());
            }
            return Err(resp);
        }
        Some(FaultKind::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(FaultKind::Hang) => {
            tokio::time::sleep(HANG).await;
            return Err(api_error(StatusCode::GATEWAY_TIMEOUT, "hung", &[]));
        }
        Some(FaultKind::Malformed) => {
            return Err(
                (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\": [{\"id\": ").into_response()
            );
        }
        Some(FaultKind::Close) => {
            use futures_util::StreamExt;
            // The first chunk is flushed (status and headers with it) before the connection drops.
            let head = futures_util::stream::once(async { Ok(Bytes::from_static(b"{\"limit\": 10, \"data\": [")) });
            let cut = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected close"))
            });
            let body = Body::from_stream(head.chain(cut));
            return Err((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response());
        }
    }
    let Some(token) = token else {
        emu.lock().auth_failures += 1;
        return Err(api_error(StatusCode::UNAUTHORIZED, "Token validation error", &["not found"]));
    };
    let (secret, key) = {
        let s = emu.lock();
        (s.secret.clone(), s.access_key.clone())
    };
    if let Err(why) = verify(&token, &secret, &key, "management") {
        emu.lock().auth_failures += 1;
        return Err(api_error(StatusCode::UNAUTHORIZED, "Token validation error", &[&why]));
    }
    Ok(())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'))
}

fn hex24(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn create_room(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = guard(&emu, "POST /rooms", &headers).await {
        return r;
    }
    let body: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ if body.is_empty() => Map::new(),
        _ => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]),
    };
    let str_field = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let u64_field = |k: &str| body.get(k).and_then(Value::as_u64);
    if let Some(name) = str_field("name")
        && !valid_name(&name)
    {
        return api_error(StatusCode::BAD_REQUEST, "invalid room name", &["allowed characters: a-z A-Z 0-9 . - : _"]);
    }
    if let Some(t) = str_field("template_id")
        && (!hex24(&t) || t != DEFAULT_TEMPLATE_ID)
    {
        return api_error(StatusCode::BAD_REQUEST, "template not found", &[]);
    }
    if let Some(r) = str_field("region")
        && !["in", "us", "eu", "auto"].contains(&r.as_str())
    {
        return api_error(StatusCode::BAD_REQUEST, "region not supported", &[]);
    }
    let large = body.get("large_room").and_then(Value::as_bool).unwrap_or(false);
    if let Some(size) = u64_field("size")
        && size > if large { 20_000 } else { 2_500 }
    {
        return api_error(StatusCode::BAD_REQUEST, "invalid room size", &[]);
    }
    if let Some(d) = u64_field("max_duration_seconds")
        && !(120..=43_200).contains(&d)
    {
        return api_error(StatusCode::BAD_REQUEST, "max_duration_seconds should be between 120 and 43200", &[]);
    }
    let now = ts(Utc::now());
    let mut s = emu.lock();
    let name = str_field("name");
    let existing = name.as_ref().and_then(|n| s.rooms.iter().position(|r| r.name.eq_ignore_ascii_case(n)));
    let room = match existing {
        Some(i) => {
            let r = &mut s.rooms[i];
            if let Some(d) = str_field("description") {
                r.description = d;
            }
            if let Some(reg) = str_field("region") {
                r.region = reg;
            }
            if let Some(size) = u64_field("size") {
                r.size = Some(size);
            }
            if let Some(d) = u64_field("max_duration_seconds") {
                r.max_duration_seconds = d;
            }
            r.large_room = large || r.large_room;
            r.updated_at = now;
            r.clone()
        }
        None => {
            let name = name.unwrap_or_else(|| format!("room-{}", &new_id()[..12]));
            let r = Room {
                id: new_id(),
                key: format!("{CUSTOMER_ID}:{name}"),
                name,
                enabled: true,
                description: str_field("description").unwrap_or_default(),
                customer_id: CUSTOMER_ID.into(),
                app_id: APP_ID.into(),
                recording_source_template: false,
                recording_info: json!({"enabled": false}),
                template_id: DEFAULT_TEMPLATE_ID.into(),
                template: DEFAULT_TEMPLATE_NAME.into(),
                region: str_field("region").unwrap_or_else(|| "auto".into()),
                size: u64_field("size"),
                max_duration_seconds: u64_field("max_duration_seconds").unwrap_or(MAX_DURATION_SECONDS),
                large_room: large,
                created_at: now.clone(),
                updated_at: now,
            };
            s.rooms.push(r.clone());
            r
        }
    };
    Json(room).into_response()
}

async fn get_room(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /rooms/{id}", &headers).await {
        return r;
    }
    match emu.lock().rooms.iter().find(|r| r.id == id) {
        Some(r) => Json(r.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "room not found", &[]),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    room_id: Option<String>,
    active: Option<String>,
    limit: Option<String>,
    start: Option<String>,
    name: Option<String>,
}

fn parse_limit(limit: Option<&str>) -> Result<usize, &'static str> {
    match limit {
        None => Ok(10),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err("limit should be between 1 and 100"),
        },
    }
}

/// One page of `items` (already in list order) after the `start` id, as 100ms pages them.
fn page<T: Serialize>(items: Vec<(String, T)>, limit: usize, start: Option<&str>) -> Value {
    let from = match start {
        Some(start) => items.iter().position(|(id, _)| id == start).map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let data: Vec<(String, T)> = items.into_iter().skip(from).take(limit).collect();
    let last = data.last().map(|(id, _)| id.clone());
    let data: Vec<T> = data.into_iter().map(|(_, t)| t).collect();
    let mut page = json!({"limit": limit, "data": if data.is_empty() { Value::Null } else { json!(data) }});
    if let Some(last) = last {
        page["last"] = json!(last);
    }
    page
}

async fn list_rooms(State(emu): State<Emulator>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = guard(&emu, "GET /rooms", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let s = emu.lock();
    let mut rooms: Vec<&Room> =
        s.rooms.iter().filter(|r| q.name.as_ref().is_none_or(|n| r.name.eq_ignore_ascii_case(n))).collect();
    rooms.reverse();
    Json(page(rooms.into_iter().map(|r| (r.id.clone(), r.clone())).collect(), limit, q.start.as_deref()))
        .into_response()
}

async fn list_sessions(State(emu): State<Emulator>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = guard(&emu, "GET /sessions", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let active = match q.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "active should be true or false", &[]),
    };
    let s = emu.lock();
    let mut sessions: Vec<&Session> = s
        .sessions
        .iter()
        .filter(|x| q.room_id.as_ref().is_none_or(|r| &x.room_id == r))
        .filter(|x| active.is_none_or(|a| x.active == a))
        .collect();
    sessions.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    Json(page(sessions.into_iter().map(|x| (x.id.clone(), x.clone())).collect(), limit, q.start.as_deref()))
        .into_response()
}

async fn get_session(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /sessions/{id}", &headers).await {
        return r;
    }
    match emu.lock().sessions.iter().find(|x| x.id == id) {
        Some(x) => Json(x.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "session not found", &[]),
    }
}

fn parse_at(at: Option<&str>) -> Result<DateTime<Utc>, Box<Response>> {
    match at {
        None => Ok(Utc::now()),
        Some(a) => DateTime::parse_from_rfc3339(a)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Box::new(api_error(StatusCode::BAD_REQUEST, "at must be an RFC 3339 timestamp", &[]))),
    }
}

#[derive(Deserialize)]
struct JoinRequest {
    token: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    at: Option<String>,
}

/// A client joins with an auth token, verified the way 100ms verifies it.
async fn join(State(emu): State<Emulator>, Json(req): Json<JoinRequest>) -> Response {
    let at = match parse_at(req.at.as_deref()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut s = emu.lock();
    let claims = match verify(&req.token, &s.secret, &s.access_key, "app") {
        Ok(c) => c,
        Err(why) => return api_error(StatusCode::UNAUTHORIZED, "Token validation error", &[&why]),
    };
    let (Some(room_id), Some(user_id), Some(role)) = (claims.room_id, claims.user_id, claims.role) else {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "Token validation error",
            &["room_id, user_id and role are required"],
        );
    };
    match s.rooms.iter().find(|r| r.id == room_id) {
        None => return api_error(StatusCode::NOT_FOUND, "room not found", &[]),
        Some(r) if !r.enabled => return api_error(StatusCode::FORBIDDEN, "room is disabled", &[]),
        Some(_) => {}
    }
    if !DEFAULT_ROLES.contains(&role.as_str()) {
        return api_error(StatusCode::FORBIDDEN, "role not found in template", &[&role]);
    }
    let idx = match s.sessions.iter().position(|x| x.room_id == room_id && x.active) {
        Some(i) => i,
        None => {
            s.sessions.push(Session {
                id: new_id(),
                room_id: room_id.clone(),
                customer_id: CUSTOMER_ID.into(),
                active: true,
                peers: BTreeMap::new(),
                created_at: ts(at),
                updated_at: ts(at),
                created: at,
            });
            s.sessions.len() - 1
        }
    };
    let session = &mut s.sessions[idx];
    let peer_id = uuid::Uuid::new_v4().to_string();
    session.peers.insert(
        peer_id.clone(),
        Peer {
            id: peer_id.clone(),
            session_id: session.id.clone(),
            name: req.name.unwrap_or_else(|| user_id.clone()),
            role,
            user_id,
            joined_at: ts(at),
            left_at: None,
        },
    );
    session.updated_at = ts(at);
    Json(json!({"peer_id": peer_id, "session_id": session.id, "room_id": room_id})).into_response()
}

#[derive(Deserialize)]
struct LeaveRequest {
    peer_id: String,
    #[serde(default)]
    at: Option<String>,
}

/// A client leaves; the last one out closes the session.
async fn leave(State(emu): State<Emulator>, Json(req): Json<LeaveRequest>) -> Response {
    let at = match parse_at(req.at.as_deref()) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut s = emu.lock();
    let Some(session) = s.sessions.iter_mut().find(|x| x.active && x.peers.contains_key(&req.peer_id)) else {
        return api_error(StatusCode::NOT_FOUND, "peer not found in an active session", &[]);
    };
    let peer = session.peers.get_mut(&req.peer_id).expect("checked above");
    if peer.left_at.is_some() {
        return api_error(StatusCode::BAD_REQUEST, "peer already left", &[]);
    }
    peer.left_at = Some(ts(at));
    session.updated_at = ts(at);
    if session.peers.values().all(|p| p.left_at.is_some()) {
        session.active = false;
    }
    Json(json!({"session_id": session.id, "active": session.active})).into_response()
}

async fn add_fault(State(emu): State<Emulator>, Json(fault): Json<Fault>) -> Response {
    emu.lock().faults.push(fault.clone());
    Json(fault).into_response()
}

async fn clear_faults(State(emu): State<Emulator>) -> Response {
    emu.lock().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn counters(State(emu): State<Emulator>) -> Response {
    let s = emu.lock();
    Json(json!({
        "requests": s.requests,
        "management_tokens_seen": s.management_tokens.len(),
        "auth_failures": s.auth_failures,
        "faults_pending": s.faults.iter().map(|f| f.count).sum::<u32>(),
    }))
    .into_response()
}

async fn reset_counters(State(emu): State<Emulator>) -> Response {
    let mut s = emu.lock();
    s.requests.clear();
    s.management_tokens.clear();
    s.auth_failures = 0;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Credentials {
    access_key: String,
    secret: String,
}

/// Rotates the app's credentials: from now on only the new secret is accepted.
async fn set_credentials(State(emu): State<Emulator>, Json(c): Json<Credentials>) -> Response {
    let mut s = emu.lock();
    s.access_key = c.access_key;
    s.secret = c.secret;
    StatusCode::NO_CONTENT.into_response()
}

//! `/v2/rooms`: create (an upsert by name), get, list.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::auth::guard;
use crate::{
    APP_ID, CUSTOMER_ID, DEFAULT_TEMPLATE_ID, DEFAULT_TEMPLATE_NAME, Emulator, ListQuery, MAX_DURATION_SECONDS,
    api_error, new_id, page, parse_limit, ts,
};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Room {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) enabled: bool,
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

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'))
}

fn hex24(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) async fn create_room(State(emu): State<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn get_room(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /rooms/{id}", &headers).await {
        return r;
    }
    match emu.lock().rooms.iter().find(|r| r.id == id) {
        Some(r) => Json(r.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "room not found", &[]),
    }
}

pub(crate) async fn list_rooms(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
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

/// `POST /rooms/{id}`: enable or disable the room (`{"enabled": bool}`), or update its
/// description, size or longest session. Disabling refuses later joins; it does not end a live
/// session (end-room does).
pub(crate) async fn update_room(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /rooms/{id}", &headers).await {
        return r;
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]);
    };
    let enabled = match body.get("enabled") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &["enabled should be a bool"]),
    };
    if let Some(d) = body.get("max_duration_seconds").and_then(Value::as_u64)
        && !(120..=43_200).contains(&d)
    {
        return api_error(StatusCode::BAD_REQUEST, "max_duration_seconds should be between 120 and 43200", &[]);
    }
    let mut s = emu.lock();
    let now = ts(s.now());
    let Some(room) = s.rooms.iter_mut().find(|r| r.id == id) else {
        return api_error(StatusCode::NOT_FOUND, "room not found", &[]);
    };
    if let Some(e) = enabled {
        room.enabled = e;
    }
    if let Some(d) = body.get("description").and_then(Value::as_str) {
        room.description = d.to_string();
    }
    if let Some(d) = body.get("max_duration_seconds").and_then(Value::as_u64) {
        room.max_duration_seconds = d;
    }
    room.updated_at = now;
    Json(room.clone()).into_response()
}

//! What each route does, as plain async functions of their dependencies and an [`ApiRequest`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::attendance;
use crate::config::RoleAllowList;
use crate::credentials::Credentials;
use crate::edge::{ApiRequest, Reply};
use crate::error::ApiError;
use crate::hms::HmsApi;
use crate::sessions::{self, Page, Session};
use crate::tokens;
use crate::validate::{self, check, json_object, opt_bool, opt_str, opt_u64, req_str};

/// Fields `/create-room` accepts.
pub const CREATE_ROOM_FIELDS: [&str; 7] =
    ["name", "description", "template_id", "region", "size", "max_duration_seconds", "large_room"];

/// Validates a `/create-room` body; returns the body to send to `POST /rooms` (present fields
/// only, null ones dropped).
pub fn create_room_body(body: Option<&[u8]>) -> Result<Map<String, Value>, ApiError> {
    let map = json_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !CREATE_ROOM_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("unknown field '{unknown}': accepted fields are {}", CREATE_ROOM_FIELDS.join(", ")),
        ));
    }
    if let Some(name) = opt_str(&map, "name")? {
        check("name", name, validate::room_name)?;
    }
    if let Some(description) = opt_str(&map, "description")?
        && description.chars().count() > validate::MAX_DESCRIPTION_LEN
    {
        return Err(ApiError::invalid_field(
            "description",
            format!("must be at most {} characters", validate::MAX_DESCRIPTION_LEN),
        ));
    }
    if let Some(template_id) = opt_str(&map, "template_id")? {
        check("template_id", template_id, validate::object_id)?;
    }
    if let Some(region) = opt_str(&map, "region")? {
        check("region", region, validate::region)?;
    }
    let large_room = opt_bool(&map, "large_room")?.unwrap_or(false);
    if let Some(size) = opt_u64(&map, "size")? {
        let max = if large_room { validate::MAX_LARGE_ROOM_SIZE } else { validate::MAX_ROOM_SIZE };
        if size > max {
            let hint = if large_room { "" } else { " (up to 20000 with large_room: true)" };
            return Err(ApiError::invalid_field("size", format!("must be between 0 and {max}{hint}")));
        }
    }
    if let Some(d) = opt_u64(&map, "max_duration_seconds")?
        && !(validate::MIN_MAX_DURATION_SECONDS..=validate::MAX_MAX_DURATION_SECONDS).contains(&d)
    {
        return Err(ApiError::invalid_field(
            "max_duration_seconds",
            format!(
                "must be between {} and {}",
                validate::MIN_MAX_DURATION_SECONDS,
                validate::MAX_MAX_DURATION_SECONDS
            ),
        ));
    }
    Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
}

/// `POST /create-room`: validates, forwards to `POST /rooms`, answers 100ms's room unchanged.
pub async fn create_room(hms: &impl HmsApi, req: &ApiRequest) -> Result<Reply, ApiError> {
    let body = create_room_body(req.body.as_deref())?;
    let answer = hms.create_room(&body).await?;
    match serde_json::from_slice::<Value>(&answer) {
        Ok(Value::Object(room)) if room.get("id").is_some_and(Value::is_string) => Ok(Reply::ok_raw(answer)),
        _ => Err(ApiError::upstream("upstream_invalid_response", "100ms answered POST /rooms without a room object")),
    }
}

/// A validated `/auth-token` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRequest {
    pub room_id: String,
    pub user_id: String,
    pub role: String,
}

/// Validates a `/auth-token` body. Fields other than the three are ignored, as the sample did.
/// `caller` is the authenticated caller's `sub` when a JWT authorizer runs: the token is then for
/// that user only, and a `user_id` in the body, if any, must be the same.
pub fn auth_token_request(
    body: Option<&[u8]>,
    roles: &RoleAllowList,
    caller: Option<&str>,
) -> Result<AuthTokenRequest, ApiError> {
    let map = json_object(body)?;
    let room_id = req_str(&map, "room_id")?;
    check("room_id", room_id, validate::object_id)?;
    let user_id = match (caller, opt_str(&map, "user_id")?) {
        (Some(sub), None) => sub,
        (Some(sub), Some(asked)) if asked == sub => sub,
        (Some(_), Some(_)) => {
            return Err(ApiError::Forbidden {
                code: "user_mismatch",
                msg: "user_id must be the authenticated caller's own id (or be left out)".into(),
            });
        }
        (None, Some(asked)) => asked,
        (None, None) => return Err(ApiError::missing_field("user_id")),
    };
    check("user_id", user_id, validate::user_id)?;
    let role = req_str(&map, "role")?;
    check("role", role, validate::role_name)?;
    if !roles.allows(role) {
        return Err(ApiError::Forbidden {
            code: "role_not_allowed",
            msg: format!("role '{role}' may not be requested here"),
        });
    }
    Ok(AuthTokenRequest { room_id: room_id.into(), user_id: user_id.into(), role: role.into() })
}

/// `POST /auth-token`: mints an auth token for a validated request.
pub fn auth_token(creds: &Credentials, r: &AuthTokenRequest, ttl_seconds: i64, now: i64) -> Result<Reply, ApiError> {
    let token = tokens::mint_auth_token(creds, &r.room_id, &r.user_id, &r.role, now, ttl_seconds)?;
    tracing::info!(room_id = %r.room_id, role = %r.role, "auth token minted");
    Ok(Reply::ok_json(&json!({ "token": token, "msg": "Token generated successfully!", "success": true })))
}

fn room_id_param(req: &ApiRequest) -> Result<&str, ApiError> {
    let room_id = req
        .query_param("room_id")
        .ok_or_else(|| ApiError::bad_request("missing_parameter", "query parameter 'room_id' is required"))?;
    validate::object_id(room_id)
        .map_err(|why| ApiError::bad_request("invalid_parameter", format!("query parameter 'room_id' {why}")))?;
    Ok(room_id)
}

fn no_session(room_id: &str) -> ApiError {
    ApiError::NotFound { code: "session_not_found", msg: format!("room {room_id} has no session") }
}

/// `GET /session-analytics-by-room?room_id=[&session_id=]`: the attendance of the room's latest
/// session, or of the chosen one.
pub async fn session_analytics(hms: &impl HmsApi, req: &ApiRequest, now: DateTime<Utc>) -> Result<Reply, ApiError> {
    let room_id = room_id_param(req)?;
    let session_id = req.query_param("session_id");
    if let Some(session_id) = session_id {
        validate::object_id(session_id)
            .map_err(|why| ApiError::bad_request("invalid_parameter", format!("query parameter 'session_id' {why}")))?;
    }
    // The session borrows its strings from these bytes, so they are fetched first and outlive it.
    let bytes = match session_id {
        Some(session_id) => match hms.get_session(session_id).await {
            Ok(bytes) => bytes,
            Err(ApiError::UpstreamRejected { status: 404, .. }) => {
                return Err(ApiError::NotFound {
                    code: "session_not_found",
                    msg: format!("session {session_id} does not exist"),
                });
            }
            Err(e) => return Err(e),
        },
        None => hms.list_sessions(room_id, sessions::LATEST_PAGE_LIMIT, None).await?,
    };
    let session: Session<'_> = match session_id {
        Some(session_id) => {
            let session: Session<'_> = sessions::parse(&bytes, "session")?;
            if session.room_id != room_id {
                return Err(ApiError::NotFound {
                    code: "session_not_found",
                    msg: format!("session {session_id} is not a session of room {room_id}"),
                });
            }
            session
        }
        None => {
            let page: Page<Session<'_>> = sessions::parse(&bytes, "session list")?;
            sessions::latest(page.data).ok_or_else(|| no_session(room_id))?
        }
    };
    Ok(Reply::ok_raw(attendance::compute(&session, now).to_json_bytes()))
}

/// `GET /session-list-by-room?room_id=`: every session of the room, newest first, following the
/// `last` -> `start` cursor for at most [`sessions::LIST_MAX_PAGES`] pages.
pub async fn session_list(hms: &impl HmsApi, req: &ApiRequest) -> Result<Reply, ApiError> {
    let room_id = room_id_param(req)?;
    let mut all: Vec<Value> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut cursors: Vec<String> = Vec::new();
    let mut start: Option<String> = None;
    let mut truncated = false;
    for page_no in 0.. {
        if page_no == sessions::LIST_MAX_PAGES {
            truncated = true;
            break;
        }
        let bytes = hms.list_sessions(room_id, sessions::LIST_PAGE_LIMIT, start.as_deref()).await?;
        let page: Page<Value> = sessions::parse(&bytes, "session list")?;
        let page_len = page.data.len();
        for s in page.data {
            let id = s.get("id").and_then(Value::as_str).map(String::from);
            let Some(id) = id else {
                return Err(ApiError::upstream("upstream_invalid_response", "100ms sent a session without an id"));
            };
            if ids.insert(id) {
                all.push(s);
            }
        }
        match sessions::next_start(page_len, sessions::LIST_PAGE_LIMIT, page.last.as_deref(), &cursors) {
            Some(next) => {
                cursors.push(next.clone());
                start = Some(next);
            }
            None => break,
        }
    }
    Ok(Reply::ok_json(&json!({
        "success": true,
        "room_id": room_id,
        "count": all.len(),
        "truncated": truncated,
        "max_sessions": sessions::LIST_MAX_PAGES * sessions::LIST_PAGE_LIMIT as usize,
        "sessions": all,
    })))
}

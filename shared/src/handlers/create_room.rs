//! `create-room`: `POST /create-room`, forwarded to 100ms's `POST /rooms`; with
//! `"room_codes": true`, the room's codes made in the same call (rooms created through the API
//! have none until asked).

use lambda_http::http::Method;
use serde_json::{Value, json};

use super::Function;
use super::room_control::codes;
use crate::auth::{CallerAuth, RoleAllowList};
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::rooms::NewRoom;
use crate::input::{
    MAX_DESCRIPTION_LEN, MAX_LARGE_ROOM_SIZE, MAX_MAX_DURATION_SECONDS, MAX_ROOM_SIZE, MIN_MAX_DURATION_SECONDS, Parse,
    RoomId, json_object, only_fields, opt_bool, opt_field, opt_str, opt_u64,
};

pub const CREATE_ROOM_PATH: &str = "/create-room";

/// Fields `/create-room` accepts.
pub const CREATE_ROOM_FIELDS: [&str; 8] =
    ["name", "description", "template_id", "region", "size", "max_duration_seconds", "large_room", "room_codes"];

/// The `create-room` function.
pub struct CreateRoom<H> {
    pub hms: H,
    pub caller_auth: CallerAuth,
    /// The roles room codes are made for (`ALLOWED_ROLES`); only `"room_codes": true` needs it,
    /// so without it rooms are still created and that request is the 500 `config`.
    pub code_roles: Result<RoleAllowList, ConfigError>,
}

/// A parsed `/create-room` body: the room, and whether to make its room codes too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRoomRequest {
    pub room: NewRoom,
    pub room_codes: bool,
}

impl<H: HmsApi> Function for CreateRoom<H> {
    const ROUTES: &'static [Route] = &[Route { path: CREATE_ROOM_PATH, method: Method::POST }];

    async fn call(&self, _: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        self.caller_auth.require_admin(&req.claims)?;
        let ask = create_room_request(req.body.as_deref())?;
        if !ask.room_codes {
            return create_room(&self.hms, &ask.room).await;
        }
        let roles = self.code_roles.as_ref().map_err(|e| ApiError::Config(e.to_string()))?;
        create_room_with_codes(&self.hms, &ask.room, roles).await
    }
}

/// Parses a `/create-room` body into the room to create: present fields only, `null` counting
/// as absent, any other field a 400.
pub fn new_room(body: Option<&[u8]>) -> Result<NewRoom, ApiError> {
    create_room_request(body).map(|ask| ask.room)
}

/// Parses a `/create-room` body: the room, and `room_codes` (false unless given).
pub fn create_room_request(body: Option<&[u8]>) -> Result<CreateRoomRequest, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &CREATE_ROOM_FIELDS)?;
    let description = opt_str(&map, "description")?;
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN) {
        return Err(ApiError::invalid_field(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    let large_room = opt_bool(&map, "large_room")?;
    let size = opt_u64(&map, "size")?;
    let max = if large_room == Some(true) { MAX_LARGE_ROOM_SIZE } else { MAX_ROOM_SIZE };
    if size.is_some_and(|size| size > max) {
        let hint = if max == MAX_LARGE_ROOM_SIZE { "" } else { " (up to 20000 with large_room: true)" };
        return Err(ApiError::invalid_field("size", format!("must be between 0 and {max}{hint}")));
    }
    let max_duration_seconds = opt_u64(&map, "max_duration_seconds")?;
    if max_duration_seconds.is_some_and(|d| !(MIN_MAX_DURATION_SECONDS..=MAX_MAX_DURATION_SECONDS).contains(&d)) {
        return Err(ApiError::invalid_field(
            "max_duration_seconds",
            format!("must be between {MIN_MAX_DURATION_SECONDS} and {MAX_MAX_DURATION_SECONDS}"),
        ));
    }
    let room = NewRoom {
        name: opt_field(&map, "name")?,
        description: description.map(String::from),
        template_id: opt_field(&map, "template_id")?,
        region: opt_field(&map, "region")?,
        size,
        max_duration_seconds,
        large_room,
    };
    Ok(CreateRoomRequest { room, room_codes: opt_bool(&map, "room_codes")?.unwrap_or(false) })
}

/// `POST /create-room`: forwards the room to `POST /rooms`, answers 100ms's room unchanged.
pub async fn create_room(hms: &impl HmsApi, room: &NewRoom) -> Result<Reply, ApiError> {
    let answer = hms.create_room(room).await?;
    created_room(&answer)?;
    Ok(Reply::ok_raw(answer))
}

/// 100ms's answer to `POST /rooms` as a room object with its id, or the 502 that says it is not.
fn created_room(answer: &[u8]) -> Result<(serde_json::Map<String, Value>, RoomId), ApiError> {
    let invalid =
        || ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms answered POST /rooms without a room object");
    match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Object(room)) => {
            let id =
                room.get("id").and_then(Value::as_str).and_then(|id| RoomId::parse(id).ok()).ok_or_else(invalid)?;
            Ok((room, id))
        }
        _ => Err(invalid()),
    }
}

/// `POST /create-room` with `"room_codes": true`: the room, then an enabled code for each allowed
/// role (as `POST /room-codes` makes them), added to 100ms's room as `room_codes`. When the
/// codes cannot be made the room exists all the same: the error says so, and `POST /room-codes`
/// makes them later.
pub async fn create_room_with_codes(
    hms: &impl HmsApi,
    room: &NewRoom,
    roles: &RoleAllowList,
) -> Result<Reply, ApiError> {
    let answer = hms.create_room(room).await?;
    let (mut room, room_id) = created_room(&answer)?;
    let codes = codes::ensure_codes(hms, &room_id, None, roles).await.map_err(|e| {
        let note = format!("room {room_id} was created, but its room codes were not (POST /room-codes makes them)");
        match e {
            ApiError::UpstreamRejected { status, msg } => {
                ApiError::UpstreamRejected { status, msg: format!("{msg}; {note}") }
            }
            ApiError::UpstreamFailed { code, msg } => ApiError::UpstreamFailed { code, msg: format!("{msg}; {note}") },
            other => other,
        }
    })?;
    room.insert("room_codes".into(), json!(codes));
    Reply::ok_json(&room)
}

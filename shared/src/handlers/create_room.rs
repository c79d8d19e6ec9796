//! `create-room`: `POST /create-room`, forwarded to 100ms's `POST /rooms`.

use lambda_http::http::Method;
use serde_json::Value;

use super::Function;
use crate::auth::CallerAuth;
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::rooms::NewRoom;
use crate::input::{
    MAX_DESCRIPTION_LEN, MAX_LARGE_ROOM_SIZE, MAX_MAX_DURATION_SECONDS, MAX_ROOM_SIZE, MIN_MAX_DURATION_SECONDS,
    json_object, opt_bool, opt_field, opt_str, opt_u64,
};

pub const CREATE_ROOM_PATH: &str = "/create-room";

/// Fields `/create-room` accepts.
pub const CREATE_ROOM_FIELDS: [&str; 7] =
    ["name", "description", "template_id", "region", "size", "max_duration_seconds", "large_room"];

/// The `create-room` function.
pub struct CreateRoom<H> {
    pub hms: H,
    pub caller_auth: CallerAuth,
}

impl<H: HmsApi> Function for CreateRoom<H> {
    const ROUTES: &'static [Route] = &[Route { path: CREATE_ROOM_PATH, method: Method::POST }];

    async fn call(&self, _: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        self.caller_auth.require_admin(&req.claims)?;
        create_room(&self.hms, &new_room(req.body.as_deref())?).await
    }
}

/// Parses a `/create-room` body into the room to create: present fields only, `null` counting
/// as absent, any other field a 400.
pub fn new_room(body: Option<&[u8]>) -> Result<NewRoom, ApiError> {
    let map = json_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !CREATE_ROOM_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            ErrorCode::UnknownField,
            format!("unknown field '{unknown}': accepted fields are {}", CREATE_ROOM_FIELDS.join(", ")),
        ));
    }
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
    Ok(NewRoom {
        name: opt_field(&map, "name")?,
        description: description.map(String::from),
        template_id: opt_field(&map, "template_id")?,
        region: opt_field(&map, "region")?,
        size,
        max_duration_seconds,
        large_room,
    })
}

/// `POST /create-room`: forwards the room to `POST /rooms`, answers 100ms's room unchanged.
pub async fn create_room(hms: &impl HmsApi, room: &NewRoom) -> Result<Reply, ApiError> {
    let answer = hms.create_room(room).await?;
    match serde_json::from_slice::<Value>(&answer) {
        Ok(Value::Object(room)) if room.get("id").is_some_and(Value::is_string) => Ok(Reply::ok_raw(answer)),
        _ => Err(ApiError::upstream(
            ErrorCode::UpstreamInvalidResponse,
            "100ms answered POST /rooms without a room object",
        )),
    }
}

//! 100ms rooms: creating one (`POST /rooms`, with its body), finding one by name, and switching
//! one on or off.

use reqwest::Method;
use serde::Serialize;

use super::call::Call;
use crate::error::ApiError;
use crate::input::{Region, RoomId, RoomName, TemplateId};

/// A room to create (or, with a name that exists, to reconfigure: 100ms's create is an upsert by
/// name). Only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewRoom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<RoomName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_duration_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_room: Option<bool>,
}

/// `POST /rooms`. An upsert by name: repeating it with a name gives the same room, so it is
/// retried then; without a name each call would create another room, so it is not.
pub(crate) fn create_call(room: &NewRoom) -> Result<Call, ApiError> {
    Ok(Call::new(Method::POST, "/rooms".into()).json(room)?.idempotent(room.name.is_some()))
}

/// `GET /rooms?name=&limit=1`.
pub(crate) fn named_call(name: &RoomName) -> Call {
    let query = vec![("name", name.to_string()), ("limit", "1".to_string())];
    Call::new(Method::GET, "/rooms".into()).query(query).idempotent(true)
}

/// `POST /rooms/{id} {"enabled": ...}`: a flag, retried.
pub(crate) fn enabled_call(room_id: &RoomId, enabled: bool) -> Result<Call, ApiError> {
    let body = serde_json::json!({"enabled": enabled});
    Ok(Call::new(Method::POST, format!("/rooms/{room_id}")).json(&body)?.idempotent(true))
}

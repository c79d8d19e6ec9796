//! 100ms rooms: the body of `POST /rooms`.

use serde::Serialize;

use crate::input::{Region, RoomName, TemplateId};

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

//! 100ms recordings (composite, browser-based) and their assets: start, stop, list, one
//! recording with its assets, and a presigned URL for an asset.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::call::Call;
use crate::error::ApiError;
use crate::input::{AssetId, RecordingId, RoomId};

/// The body of a recording start; only the fields that are set are sent (the template's settings
/// apply to the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StartRecording {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub width: u64,
    pub height: u64,
}

/// A recording as 100ms answers it, the fields we pass on (null where 100ms has none yet).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Recording {
    pub id: String,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub stopped_at: Option<String>,
    /// Only `GET /recordings/{id}` has them; `null` until there are some.
    #[serde(default, skip_serializing)]
    pub recording_assets: Option<Vec<Asset>>,
}

/// A recording asset, the fields an app needs to pick one and ask for its URL.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Asset {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub duration: Option<u64>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `GET /recording-assets/{id}/presigned-url`: `{id, path, url, expiry}`.
#[derive(Debug, Clone, Deserialize)]
pub struct PresignedUrl {
    pub url: String,
    #[serde(default)]
    pub expiry: Option<u64>,
}

/// `POST /recordings/room/{id}/start`. Not retried: a repeat could start a second recording.
pub(crate) fn start_call(room_id: &RoomId, start: &StartRecording) -> Result<Call, ApiError> {
    Call::new(Method::POST, format!("/recordings/room/{room_id}/start")).json(start)
}

/// `POST /recordings/room/{id}/stop`: stops whatever records in the room, so a repeat stops
/// nothing more; retried.
pub(crate) fn stop_call(room_id: &RoomId) -> Call {
    Call::new(Method::POST, format!("/recordings/room/{room_id}/stop")).idempotent(true)
}

/// `GET /recordings?room_id=&limit=[&start=]`, one page, newest first.
pub(crate) fn list_call(room_id: &RoomId, limit: u32, start: Option<&str>) -> Call {
    let mut query = vec![("room_id", room_id.to_string()), ("limit", limit.to_string())];
    if let Some(start) = start {
        query.push(("start", start.to_string()));
    }
    Call::new(Method::GET, "/recordings".into()).query(query).idempotent(true)
}

/// `GET /recordings/{id}`, with its assets.
pub(crate) fn get_call(id: &RecordingId) -> Call {
    Call::new(Method::GET, format!("/recordings/{id}")).idempotent(true)
}

/// `GET /recording-assets/{id}`: the asset, with the room it is of.
pub(crate) fn asset_call(asset_id: &AssetId) -> Call {
    Call::new(Method::GET, format!("/recording-assets/{asset_id}")).idempotent(true)
}

/// `GET /recording-assets/{id}/presigned-url?presign_duration=`.
pub(crate) fn presigned_call(asset_id: &AssetId, seconds: u32) -> Call {
    Call::new(Method::GET, format!("/recording-assets/{asset_id}/presigned-url"))
        .query(vec![("presign_duration", seconds.to_string())])
        .idempotent(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/100ms-examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_docs_examples_parse() {
        let started: Recording = serde_json::from_slice(&example("recording_start_response.json")).unwrap();
        assert_eq!((started.status.as_deref(), started.started_at), (Some("starting"), None));
        assert!(started.recording_assets.is_none());
        let done: Recording = serde_json::from_slice(&example("recording_get_response.json")).unwrap();
        let assets = done.recording_assets.unwrap();
        assert_eq!(assets.len(), 5);
        assert_eq!(
            (assets[0].kind.as_deref(), assets[0].size, assets[0].duration),
            (Some("room-composite"), Some(26361961), Some(55))
        );
        let list: super::super::sessions::Page<Recording> =
            serde_json::from_slice(&example("recordings_list_response.json")).unwrap();
        assert_eq!(list.data[0].status.as_deref(), Some("completed"));
        let url: PresignedUrl =
            serde_json::from_slice(&example("recording_asset_presigned_url_response.json")).unwrap();
        assert_eq!((url.url.as_str(), url.expiry), ("<presigned-url>", Some(3600)));
    }

    #[test]
    fn a_start_sends_only_what_is_set() {
        let body = serde_json::to_value(StartRecording {
            resolution: Some(Resolution { width: 1280, height: 720 }),
            ..Default::default()
        })
        .unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&example("recording_start_request_resolution_only.json")).unwrap();
        assert_eq!(body, doc);
    }
}

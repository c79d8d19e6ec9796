//! 100ms recordings (composite, browser-based) and their assets: start (with transcription and
//! an AI summary), stop, pause, resume, list, one recording with its assets, and a presigned URL
//! for an asset.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::call::Call;
use crate::error::ApiError;
use crate::input::{AssetId, RecordingId, RoomId, SessionId};

/// The body of a recording start; only the fields that are set are sent (the template's settings
/// apply to the rest).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StartRecording {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Transcription>,
}

/// 100ms's `transcription` settings of a recording or a live stream (checked at the edge);
/// only what is set is sent, the template's settings apply to the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Transcription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Live streams only: `recorded` and/or `live`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_modes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_vocabulary: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

/// The AI summary of a transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<SummarySection>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummarySection {
    pub title: String,
    /// `bullets` or `paragraph`.
    pub format: String,
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
    /// By type: a transcript's `output_mode` (`txt`, `srt`, `json`), a composite's resolution.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
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

/// `POST /recordings/room/{id}/pause` or `.../resume`: the state asked for, so a repeat
/// changes nothing more; retried.
pub(crate) fn pause_call(room_id: &RoomId, pause: bool) -> Call {
    let verb = if pause { "pause" } else { "resume" };
    Call::new(Method::POST, format!("/recordings/room/{room_id}/{verb}")).idempotent(true)
}

/// `GET /recordings?room_id=[&session_id=]&limit=[&start=]`, one page, newest first.
pub(crate) fn list_call(room_id: &RoomId, session: Option<&SessionId>, limit: u32, start: Option<&str>) -> Call {
    let mut query = vec![("room_id", room_id.to_string()), ("limit", limit.to_string())];
    if let Some(session) = session {
        query.push(("session_id", session.to_string()));
    }
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
    use crate::input::Parse;

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
        let start: serde_json::Value = super::super::example("recording_start_request.json");
        let t = &start["transcription"];
        let ours = StartRecording {
            meeting_url: start["meeting_url"].as_str().map(String::from),
            resolution: Some(Resolution {
                width: start["resolution"]["width"].as_u64().unwrap(),
                height: start["resolution"]["height"].as_u64().unwrap(),
            }),
            destination: start["destination"].as_str().map(String::from),
            audio_only: start["audio_only"].as_bool(),
            transcription: Some(Transcription {
                enabled: t["enabled"].as_bool(),
                modes: None,
                output_modes: strings(&t["output_modes"]),
                custom_vocabulary: strings(&t["custom_vocabulary"]),
                summary: Some(Summary {
                    enabled: t["summary"]["enabled"].as_bool(),
                    context: t["summary"]["context"].as_str().map(String::from),
                    temperature: t["summary"]["temperature"].as_f64(),
                    sections: Some(
                        t["summary"]["sections"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| SummarySection {
                                title: s["title"].as_str().unwrap().into(),
                                format: s["format"].as_str().unwrap().into(),
                            })
                            .collect(),
                    ),
                }),
            }),
        };
        assert_eq!(serde_json::to_value(ours).unwrap(), start, "the docs' full start body, field for field");
    }

    fn strings(v: &serde_json::Value) -> Option<Vec<String>> {
        v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
    }

    #[test]
    fn pause_and_resume_are_the_room_paths() {
        let room = RoomId::parse("631b2654f771854d9bf633df").unwrap();
        assert_eq!(pause_call(&room, true).path(), "/recordings/room/631b2654f771854d9bf633df/pause");
        assert_eq!(pause_call(&room, false).path(), "/recordings/room/631b2654f771854d9bf633df/resume");
        assert!(pause_call(&room, true).body().is_none() && pause_call(&room, true).is_idempotent());
        let paused: Recording = serde_json::from_slice(&example("recording_pause_response.json")).unwrap();
        assert_eq!(paused.status.as_deref(), Some("running"));
    }
}

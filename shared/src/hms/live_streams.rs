//! 100ms HLS live streams (`/live-streams`): start one for a room (with its recording and
//! transcription options), stop one or all of a room's, read one, list a room's, and insert timed
//! metadata into a running one. The docs list no errors for any of these calls
//! (`100ms-live-streams.md` section 4): their failures are 100ms's general `{code, message}`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::call::Call;
use super::recordings::{Asset, Transcription};
use crate::error::ApiError;
use crate::input::{RoomId, StreamId};

/// The body of a live-stream start; only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StartLiveStream {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<StreamRecording>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Transcription>,
}

/// What a stream records: an HLS VOD (`room-vod`) and/or one MP4 per layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecording {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls_vod: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_file_per_layer: Option<bool>,
}

/// A cue for the stream's players: `payload` (at most 100 characters) for `duration` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimedMetadata {
    pub payload: String,
    pub duration: u32,
}

/// A live stream as 100ms answers it, the fields we pass on.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LiveStream {
    pub id: String,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub playback: Option<Playback>,
    #[serde(default)]
    pub recording: Option<StreamRecording>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub stopped_at: Option<String>,
    /// Only `GET /live-streams/{id}` of a finished stream has them.
    #[serde(default, rename(serialize = "assets"))]
    pub recording_assets: Option<Vec<Asset>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Playback {
    #[serde(default)]
    pub url: Option<String>,
}

/// `POST /live-streams/room/{id}/start`. Not retried: a repeat could start a second stream
/// (whether it does is not documented).
pub(crate) fn start_call(room_id: &RoomId, start: &StartLiveStream) -> Result<Call, ApiError> {
    Call::new(Method::POST, format!("/live-streams/room/{room_id}/start")).json(start)
}

/// `POST /live-streams/room/{id}/stop`: every stream of the room; a repeat stops nothing more.
/// Sent with `{}`, as the Node SDK sends its bodiless POSTs.
pub(crate) fn stop_room_call(room_id: &RoomId) -> Result<Call, ApiError> {
    Ok(Call::new(Method::POST, format!("/live-streams/room/{room_id}/stop"))
        .json(&serde_json::json!({}))?
        .idempotent(true))
}

/// `POST /live-streams/{id}/stop`; retried (stopping twice stops once).
pub(crate) fn stop_call(id: &StreamId) -> Result<Call, ApiError> {
    Ok(Call::new(Method::POST, format!("/live-streams/{id}/stop")).json(&serde_json::json!({}))?.idempotent(true))
}

/// `GET /live-streams/{id}`, with its recording assets once there are some.
pub(crate) fn get_call(id: &StreamId) -> Call {
    Call::new(Method::GET, format!("/live-streams/{id}")).idempotent(true)
}

/// `GET /live-streams?room_id=&limit=[&start=]`, one page.
pub(crate) fn list_call(room_id: &RoomId, limit: u32, start: Option<&str>) -> Call {
    let mut query = vec![("room_id", room_id.to_string()), ("limit", limit.to_string())];
    if let Some(start) = start {
        query.push(("start", start.to_string()));
    }
    Call::new(Method::GET, "/live-streams".into()).query(query).idempotent(true)
}

/// `POST /live-streams/{id}/timed-metadata {payload, duration}`. Not retried: a repeat would
/// show the cue twice.
pub(crate) fn timed_metadata_call(id: &StreamId, cue: &TimedMetadata) -> Result<Call, ApiError> {
    Call::new(Method::POST, format!("/live-streams/{id}/timed-metadata")).json(cue)
}

#[cfg(test)]
mod tests {
    use super::super::example;
    use super::*;
    use crate::hms::recordings::{Summary, SummarySection};
    use crate::input::Parse;

    #[test]
    fn the_docs_examples_parse() {
        let started: LiveStream = serde_json::from_value(example("live_stream_start_response.json")).unwrap();
        assert_eq!(started.status.as_deref(), Some("starting"));
        assert_eq!(started.playback.unwrap().url.as_deref(), Some("<master-manifest-url>"));
        assert_eq!(started.recording.unwrap().hls_vod, Some(true));
        let done: LiveStream = serde_json::from_value(example("live_stream_get_response.json")).unwrap();
        assert_eq!(done.recording_assets.unwrap().len(), 2);
        let stopped: super::super::sessions::Page<LiveStream> =
            serde_json::from_value(example("live_stream_stop_for_room_response.json")).unwrap();
        assert_eq!(stopped.data.len(), 1);
        let list: super::super::sessions::Page<LiveStream> =
            serde_json::from_value(example("live_streams_list_response.json")).unwrap();
        assert!(!list.data.is_empty());
        for name in ["live_stream_timed_metadata_response.json", "live_stream_stop_by_id_response.json"] {
            let one: LiveStream = serde_json::from_value(example(name)).unwrap();
            assert!(!one.id.is_empty(), "{name}");
        }
    }

    #[test]
    fn requests_are_the_docs_bodies() {
        let room = RoomId::parse("631b2654f771854d9bf633df").unwrap();
        let doc = example("live_stream_start_request.json");
        let t = &doc["transcription"];
        let strings = |v: &serde_json::Value| -> Option<Vec<String>> {
            v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        };
        let start = StartLiveStream {
            meeting_url: Some("<meeting_url>".into()),
            recording: Some(StreamRecording { hls_vod: Some(true), single_file_per_layer: Some(true) }),
            destination: None,
            transcription: Some(Transcription {
                enabled: Some(true),
                modes: strings(&t["modes"]),
                output_modes: strings(&t["output_modes"]),
                custom_vocabulary: strings(&t["custom_vocabulary"]),
                summary: Some(Summary {
                    enabled: Some(true),
                    context: Some("this is a general call".into()),
                    temperature: Some(0.5),
                    sections: Some(
                        [("Agenda", "bullets"), ("Key Points", "bullets"), ("Action Items", "bullets")]
                            .into_iter()
                            .chain([("Short Summary", "paragraph")])
                            .map(|(title, format)| SummarySection { title: title.into(), format: format.into() })
                            .collect(),
                    ),
                }),
            }),
        };
        let call = start_call(&room, &start).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(call.body().unwrap()).unwrap(), doc);
        assert!(!call.is_idempotent());
        let stream = StreamId::parse("6422fd2e6b4b8d5b3fe5a5a7").unwrap();
        let cue = TimedMetadata { payload: "quiz-1".into(), duration: 5 };
        let call = timed_metadata_call(&stream, &cue).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(call.body().unwrap()).unwrap();
        let doc = example("live_stream_timed_metadata_request.json");
        assert_eq!(
            sent.as_object().unwrap().keys().collect::<Vec<_>>(),
            doc.as_object().unwrap().keys().collect::<Vec<_>>()
        );
        assert_eq!(stop_room_call(&room).unwrap().path(), "/live-streams/room/631b2654f771854d9bf633df/stop");
        assert_eq!(stop_call(&stream).unwrap().body(), Some(&b"{}"[..]));
    }
}

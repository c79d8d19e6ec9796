//! HLS live streams of a room, for webinars: `POST /live-streams/start`, `POST /live-streams/stop`
//! (one stream or all of the room's), `GET /live-streams` (the room's streams and their state)
//! and `POST /live-streams/timed-metadata` (a cue for the viewers' players). Viewers join with
//! tokens of a viewer role, as for any room.
//!
//! A stream is named by its id and its room: the room is checked like every host operation, and
//! the stream must be that room's (else 404, as for one that does not exist).

use serde_json::{Value, json};

use super::recordings::{destination, meeting_url};
use super::{no_live_session, upstream_404};
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::live_streams::{LiveStream, StartLiveStream, StreamRecording, TimedMetadata};
use crate::hms::sessions::{self, Page};
use crate::hosts::HostPatterns;
use crate::input::{RoomId, StreamId, json_object, only_fields, opt_bool_as, opt_field, opt_str, opt_u64, req_field};
use crate::paging::{Cursor, Limit};

pub const LIVE_STREAMS_PATH: &str = "/live-streams";
pub const LIVE_STREAMS_START_PATH: &str = "/live-streams/start";
pub const LIVE_STREAMS_STOP_PATH: &str = "/live-streams/stop";
pub const TIMED_METADATA_PATH: &str = "/live-streams/timed-metadata";

/// A cue's payload: at most 100 characters, as 100ms documents.
pub const MAX_PAYLOAD_CHARS: usize = 100;
/// How long a cue lasts, in seconds: 100ms documents no bounds; a cue is shown by players for
/// this long, so at most an hour.
pub const MAX_CUE_SECONDS: u64 = 3_600;
/// `limit` of `GET /live-streams`: one call to 100ms per page.
pub type StreamListLimit = Limit<100>;
pub const DEFAULT_LIMIT: u32 = 10;

/// A parsed `POST /live-streams/start`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub room_id: RoomId,
    pub start: StartLiveStream,
}

/// Parses `{room_id, meeting_url?, recording?: {hls_vod?, single_file_per_layer?},
/// destination?, transcription?}` (`meeting_url` and `destination` as a recording's;
/// `transcription` with `modes`).
pub fn start_request(body: Option<&[u8]>, hosts: &HostPatterns) -> Result<StartRequest, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "meeting_url", "recording", "destination", "transcription"])?;
    let recording = match map.get("recording") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            only_fields(r, &["hls_vod", "single_file_per_layer"])?;
            Some(StreamRecording {
                hls_vod: opt_bool_as(r, "hls_vod", "recording.hls_vod")?,
                single_file_per_layer: opt_bool_as(r, "single_file_per_layer", "recording.single_file_per_layer")?,
            })
        }
        Some(_) => {
            return Err(ApiError::invalid_field("recording", "must be an object {hls_vod, single_file_per_layer}"));
        }
    };
    Ok(StartRequest {
        room_id: req_field(&map, "room_id")?,
        start: StartLiveStream {
            meeting_url: meeting_url(&map, hosts)?,
            recording,
            destination: destination(&map)?,
            transcription: super::transcription::parse(&map, true)?,
        },
    })
}

/// Parses `{room_id, stream_id?}` (no `stream_id`: every stream of the room).
pub fn stop_request(body: Option<&[u8]>) -> Result<(RoomId, Option<StreamId>), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "stream_id"])?;
    Ok((req_field(&map, "room_id")?, opt_field(&map, "stream_id")?))
}

/// A parsed `POST /live-streams/timed-metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueRequest {
    pub room_id: RoomId,
    pub stream_id: StreamId,
    pub cue: TimedMetadata,
}

/// Parses `{room_id, stream_id, payload, duration}`.
pub fn cue_request(body: Option<&[u8]>) -> Result<CueRequest, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "stream_id", "payload", "duration"])?;
    let payload = opt_str(&map, "payload")?.ok_or_else(|| ApiError::missing_field("payload"))?;
    if payload.is_empty() || payload.chars().count() > MAX_PAYLOAD_CHARS || payload.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "payload",
            format!("must be 1 to {MAX_PAYLOAD_CHARS} characters, no control characters"),
        ));
    }
    let duration = opt_u64(&map, "duration")?.ok_or_else(|| ApiError::missing_field("duration"))?;
    if !(1..=MAX_CUE_SECONDS).contains(&duration) {
        return Err(ApiError::invalid_field("duration", format!("must be 1 to {MAX_CUE_SECONDS} seconds")));
    }
    Ok(CueRequest {
        room_id: req_field(&map, "room_id")?,
        stream_id: req_field(&map, "stream_id")?,
        cue: TimedMetadata { payload: payload.to_string(), duration: duration as u32 },
    })
}

/// `POST /live-streams/start`: the stream, `starting`, with its playback URL; 404
/// `session_not_found` when nobody is in the room (100ms streams a live session).
pub async fn start(hms: &impl HmsApi, ask: &StartRequest) -> Result<Reply, ApiError> {
    let bytes = hms.start_live_stream(&ask.room_id, &ask.start).await.map_err(no_live_session(&ask.room_id))?;
    let stream: LiveStream = sessions::parse(&bytes, "live stream")?;
    Reply::ok_json(&json!({"success": true, "room_id": ask.room_id, "stream": stream}))
}

/// Fails with 404 unless stream `id` exists and is `room`'s.
pub async fn require_stream_of(hms: &impl HmsApi, room: &RoomId, id: &StreamId) -> Result<(), ApiError> {
    let unknown = || ApiError::NotFound {
        code: ErrorCode::UpstreamNotFound,
        msg: format!("live stream {id} does not exist in room {room}"),
    };
    let bytes = hms.get_live_stream(id).await.map_err(|e| match e {
        ApiError::UpstreamRejected { status: 404, .. } => unknown(),
        other => other,
    })?;
    let stream: LiveStream = sessions::parse(&bytes, "live stream")?;
    if stream.room_id.as_deref() == Some(room.as_str()) { Ok(()) } else { Err(unknown()) }
}

/// `POST /live-streams/stop`: one stream (after [`require_stream_of`]), or every stream of the
/// room; 404 when none runs.
pub async fn stop(hms: &impl HmsApi, room: &RoomId, one: Option<&StreamId>) -> Result<Reply, ApiError> {
    let none = || format!("no live stream runs in room {room}");
    let stopped: Vec<LiveStream> = match one {
        Some(id) => {
            let bytes = hms.stop_live_stream(id).await.map_err(upstream_404(ErrorCode::UpstreamNotFound, none))?;
            vec![sessions::parse(&bytes, "live stream")?]
        }
        None => {
            let bytes = hms.stop_live_streams(room).await.map_err(upstream_404(ErrorCode::UpstreamNotFound, none))?;
            sessions::parse::<Page<LiveStream>>(&bytes, "live stream list")?.data
        }
    };
    Reply::ok_json(&json!({"success": true, "room_id": room, "count": stopped.len(), "streams": stopped}))
}

/// `GET /live-streams?room_id=[&limit=][&cursor=]`: one page of the room's streams with their
/// state and playback URL. The cursor is 100ms's own.
pub async fn list(
    hms: &impl HmsApi,
    room: &RoomId,
    limit: StreamListLimit,
    cursor: Option<&Cursor>,
) -> Result<Reply, ApiError> {
    let start = cursor.map(Cursor::as_str);
    let bytes = hms.list_live_streams(room, limit.get(), start).await?;
    let page: Page<LiveStream> = sessions::parse(&bytes, "live stream list")?;
    let seen: Vec<String> = start.map(String::from).into_iter().collect();
    let next_cursor = sessions::next_start(page.data.len(), limit.get(), page.last.as_deref(), &seen);
    Reply::ok_json(&json!({
        "success": true, "room_id": room, "count": page.data.len(), "limit": limit.get(),
        "next_cursor": next_cursor, "streams": page.data,
    }))
}

/// `POST /live-streams/timed-metadata`: the cue goes into the running stream's playlist.
pub async fn cue(hms: &impl HmsApi, ask: &CueRequest) -> Result<Reply, ApiError> {
    let bytes = hms
        .timed_metadata(&ask.stream_id, &ask.cue)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || {
            format!("live stream {} is not running", ask.stream_id)
        }))?;
    let stream: LiveStream = sessions::parse(&bytes, "live stream")?;
    Reply::ok_json(&json!({
        "success": true, "room_id": ask.room_id, "stream_id": ask.stream_id, "payload": ask.cue.payload,
        "duration": ask.cue.duration, "stream": stream,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_body as body;

    #[test]
    fn starts_take_the_documented_fields() {
        let hosts = HostPatterns::default();
        let plain = start_request(Some(&body("")), &hosts).unwrap();
        assert_eq!(plain.start, StartLiveStream::default());
        let full = start_request(
            Some(&body(r#","recording":{"hls_vod":true},"transcription":{"enabled":true,"modes":["live"]},"destination":"hls-1""#)),
            &hosts,
        )
        .unwrap();
        assert_eq!(full.start.recording.unwrap().hls_vod, Some(true));
        assert_eq!(full.start.transcription.unwrap().modes.unwrap(), ["live"]);
        for (extra, code) in [
            (r#","recording":{"hls_vod":"yes"}"#, "invalid_field"),
            (r#","recording":{"mp4":true}"#, "unknown_field"),
            (r#","recording":true"#, "invalid_field"),
            (r#","meeting_url":"https://evil.example.com/x""#, "invalid_field"),
            (r#","transcription":{"modes":["vod"]}"#, "invalid_field"),
            (r#","rtmp_urls":[]"#, "unknown_field"),
        ] {
            assert_eq!(start_request(Some(&body(extra)), &hosts).unwrap_err().code().as_str(), code, "{extra}");
        }
    }

    #[test]
    fn cues_are_bounded_as_documented() {
        let ok =
            cue_request(Some(&body(&format!(r#","stream_id":"s-1","payload":"{}","duration":5"#, "p".repeat(100)))));
        assert_eq!(ok.unwrap().cue.duration, 5);
        for (extra, code) in [
            (r#","stream_id":"s-1","duration":5"#.to_string(), "missing_field"),
            (format!(r#","stream_id":"s-1","payload":"{}","duration":5"#, "p".repeat(101)), "invalid_field"),
            (r#","stream_id":"s-1","payload":"","duration":5"#.into(), "invalid_field"),
            (r#","stream_id":"s-1","payload":"quiz""#.into(), "missing_field"),
            (r#","stream_id":"s-1","payload":"quiz","duration":0"#.into(), "invalid_field"),
            (r#","stream_id":"s-1","payload":"quiz","duration":3601"#.into(), "invalid_field"),
            (r#","stream_id":"s-1","payload":"quiz","duration":2.5"#.into(), "invalid_field"),
            (r#","payload":"quiz","duration":5"#.into(), "missing_field"),
        ] {
            assert_eq!(cue_request(Some(&body(&extra))).unwrap_err().code().as_str(), code, "{extra}");
        }
        assert_eq!(stop_request(Some(&body(""))).unwrap().1, None);
        assert!(stop_request(Some(&body(r#","stream_id":"a/b""#))).is_err());
    }
}

//! Recordings: `POST /recordings/start` (with transcription and an AI summary),
//! `POST /recordings/stop`, `POST /recordings/pause` and `/resume`, `GET /recordings` (status,
//! and the assets of finished ones: the recording, its chat, transcripts and summary),
//! `GET /recording-url` (a fresh presigned link to an asset) and `GET /recording-summary` (a
//! summary's sections, as text).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{no_live_session, upstream_404};
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::recordings::{PresignedUrl, Recording, Resolution, StartRecording};
use crate::hms::sessions::{self, Page};
use crate::hosts::HostPatterns;
use crate::input::{
    AssetId, Parse, RecordingId, RoomId, SessionId, json_object, only_fields, opt_bool, opt_str, req_field,
};
use crate::paging::{Cursor, Limit};

pub const RECORDINGS_START_PATH: &str = "/recordings/start";
pub const RECORDINGS_STOP_PATH: &str = "/recordings/stop";
pub const RECORDINGS_PATH: &str = "/recordings";
pub const RECORDING_URL_PATH: &str = "/recording-url";
pub const RECORDINGS_PAUSE_PATH: &str = "/recordings/pause";
pub const RECORDINGS_RESUME_PATH: &str = "/recordings/resume";
pub const RECORDING_SUMMARY_PATH: &str = "/recording-summary";
/// Largest summary file read from 100ms's storage (the docs' example is 1 KB).
pub const MAX_SUMMARY_BYTES: usize = 256 * 1024;

/// Recordings on a page of `GET /recordings` unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 10;
/// `limit` of `GET /recordings`: each completed recording on the page costs one more call to
/// 100ms (its assets), made at once, so a page is at most 21 calls.
pub type RecordingListLimit = Limit<20>;

/// Longest `meeting_url` passed on.
pub const MAX_MEETING_URL_LEN: usize = 2_048;
/// Longest destination name passed on.
pub const MAX_DESTINATION_LEN: usize = 100;

/// The shortest and longest life of a recording link, and its default. 100ms documents no
/// bounds; S3 presigned URLs (SigV4) cannot outlive 7 days, and a link is a bearer credential,
/// so the default is an hour (as the Node SDK's), not 100ms's 3 days.
pub const MIN_URL_SECONDS: u32 = 60;
pub const MAX_URL_SECONDS: u32 = 604_800;
pub const DEFAULT_URL_SECONDS: u32 = 3_600;

/// `duration` of `GET /recording-url`, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlSeconds(pub u32);

impl Default for UrlSeconds {
    fn default() -> Self {
        Self(DEFAULT_URL_SECONDS)
    }
}

impl Parse for UrlSeconds {
    fn parse(s: &str) -> Result<Self, String> {
        match s.parse::<u32>() {
            Ok(n) if (MIN_URL_SECONDS..=MAX_URL_SECONDS).contains(&n) && !s.starts_with('+') => Ok(Self(n)),
            _ => Err(format!("must be a whole number of seconds from {MIN_URL_SECONDS} to {MAX_URL_SECONDS}")),
        }
    }
}

/// A parsed `POST /recordings/start`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub room_id: RoomId,
    pub start: StartRecording,
}

/// Parses `{room_id, meeting_url?, resolution?: {width, height}, audio_only?, destination?,
/// transcription?}`. The resolution is checked against the limits 100ms documents for its
/// external streams (500x480 to 1920x1080 landscape, 500x500 to 1080x1920 portrait), which its
/// recording page does not restate; `transcription` as [`super::transcription`] says.
pub fn start_request(body: Option<&[u8]>, hosts: &HostPatterns) -> Result<StartRequest, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "meeting_url", "resolution", "audio_only", "destination", "transcription"])?;
    let meeting_url = meeting_url(&map, hosts)?;
    let destination = destination(&map)?;
    let resolution = match map.get("resolution") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            only_fields(r, &["width", "height"])?;
            let side = |k: &str| r.get(k).and_then(Value::as_u64);
            let (Some(width), Some(height)) = (side("width"), side("height")) else {
                return Err(ApiError::invalid_field("resolution", "needs whole-number width and height"));
            };
            let fits = if width >= height {
                (500..=1920).contains(&width) && (480..=1080).contains(&height)
            } else {
                (500..=1080).contains(&width) && (500..=1920).contains(&height)
            };
            if !fits {
                return Err(ApiError::invalid_field(
                    "resolution",
                    "must be 500x480 to 1920x1080 (landscape) or 500x500 to 1080x1920 (portrait)",
                ));
            }
            Some(Resolution { width, height })
        }
        Some(_) => return Err(ApiError::invalid_field("resolution", "must be an object {width, height}")),
    };
    Ok(StartRequest {
        room_id: req_field(&map, "room_id")?,
        start: StartRecording {
            meeting_url,
            resolution,
            audio_only: opt_bool(&map, "audio_only")?,
            destination,
            transcription: super::transcription::parse(&map, false)?,
        },
    })
}

/// `meeting_url`, the page 100ms's recorder (or streamer) loads: only an `https` URL on a host
/// of `hosts` (`MEETING_URL_HOSTS`), never any page a host names.
pub(crate) fn meeting_url(map: &Map<String, Value>, hosts: &HostPatterns) -> Result<Option<String>, ApiError> {
    let Some(url) = opt_str(map, "meeting_url")? else { return Ok(None) };
    let ok = url.len() <= MAX_MEETING_URL_LEN
        && url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(ApiError::invalid_field(
            "meeting_url",
            format!("must be an https:// URL of at most {MAX_MEETING_URL_LEN} characters"),
        ));
    }
    if !hosts.allows_url(url) {
        return Err(ApiError::invalid_field(
            "meeting_url",
            "must be on a host this deployment allows (MEETING_URL_HOSTS; by default 100ms's *.app.100ms.live), without credentials or a port",
        ));
    }
    Ok(Some(url.to_string()))
}

/// `destination`: the name of one of the template's destinations.
pub(crate) fn destination(map: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let d = opt_str(map, "destination")?;
    if d.is_some_and(|d| {
        d.is_empty()
            || d.len() > MAX_DESTINATION_LEN
            || !d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Err(ApiError::invalid_field(
            "destination",
            format!("must be 1 to {MAX_DESTINATION_LEN} letters, digits, - or _"),
        ));
    }
    Ok(d.map(String::from))
}

/// Parses `{room_id}`.
pub fn room_request(body: Option<&[u8]>) -> Result<RoomId, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id"])?;
    req_field(&map, "room_id")
}

/// A recording as this API answers it, with `assets` where they are known.
fn recording_json(r: &Recording) -> Value {
    let mut v = json!(r);
    if let Some(assets) = &r.recording_assets {
        v["assets"] = json!(assets);
    }
    v
}

/// `POST /recordings/start`: 404 `session_not_found` when nobody is in the room (100ms records
/// a live session).
pub async fn start(hms: &impl HmsApi, ask: &StartRequest) -> Result<Reply, ApiError> {
    let bytes = hms.start_recording(&ask.room_id, &ask.start).await.map_err(no_live_session(&ask.room_id))?;
    let recording: Recording = sessions::parse(&bytes, "recording")?;
    Reply::ok_json(&json!({"success": true, "room_id": ask.room_id, "recording": recording_json(&recording)}))
}

/// `POST /recordings/pause` (`pause`) or `/recordings/resume`: the room's running recording
/// pauses or goes on (100ms's answer shows it `running` either way); 404 when none runs.
pub async fn pause(hms: &impl HmsApi, room_id: &RoomId, pause: bool) -> Result<Reply, ApiError> {
    let bytes = hms
        .pause_recording(room_id, pause)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("no recording runs in room {room_id}")))?;
    let recording: Recording = sessions::parse(&bytes, "recording")?;
    Reply::ok_json(&json!({
        "success": true, "room_id": room_id, "paused": pause, "recording": recording_json(&recording),
    }))
}

/// `POST /recordings/stop`: stops every recording of the room; 404 when none runs.
pub async fn stop(hms: &impl HmsApi, room_id: &RoomId) -> Result<Reply, ApiError> {
    let bytes = hms
        .stop_recordings(room_id)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("no recording runs in room {room_id}")))?;
    let page: Page<Recording> = sessions::parse(&bytes, "recording list")?;
    let stopped: Vec<Value> = page.data.iter().map(recording_json).collect();
    Reply::ok_json(&json!({"success": true, "room_id": room_id, "count": stopped.len(), "recordings": stopped}))
}

/// `GET /recordings?room_id=[&session_id=][&limit=][&cursor=]`: one page of the room's (or one
/// session's) recordings, newest first, each with its status; the completed ones with their
/// assets (ids, types, sizes, a transcript's output mode), which `GET /recording-url` turns into
/// links. The cursor is 100ms's own.
pub async fn list(
    hms: &impl HmsApi,
    room_id: &RoomId,
    session: Option<&SessionId>,
    limit: RecordingListLimit,
    cursor: Option<&Cursor>,
) -> Result<Reply, ApiError> {
    let start = cursor.map(Cursor::as_str);
    let bytes = hms.list_recordings(room_id, session, limit.get(), start).await?;
    let page: Page<Recording> = sessions::parse(&bytes, "recording list")?;
    let with_assets = page.data.iter().map(|r| async move {
        if r.status.as_deref() != Some("completed") {
            return Ok(r.clone());
        }
        let id = RecordingId::parse(&r.id).map_err(|why| {
            ApiError::upstream(ErrorCode::UpstreamInvalidResponse, format!("100ms listed a recording whose id {why}"))
        })?;
        let bytes = hms.get_recording(&id).await?;
        sessions::parse::<Recording>(&bytes, "recording")
    });
    let recordings = futures_util::future::try_join_all(with_assets).await?;
    let seen: Vec<String> = start.map(String::from).into_iter().collect();
    let next_cursor = sessions::next_start(recordings.len(), limit.get(), page.last.as_deref(), &seen);
    let out: Vec<Value> = recordings.iter().map(recording_json).collect();
    Reply::ok_json(&json!({
        "success": true, "room_id": room_id, "count": out.len(), "limit": limit.get(),
        "next_cursor": next_cursor, "recordings": out,
    }))
}

/// `GET /recording-url?asset_id=[&duration=]`: a fresh presigned URL for the asset, valid for
/// `duration` seconds; `expires_at` is when it stops working.
pub async fn url(
    hms: &impl HmsApi,
    asset_id: &AssetId,
    duration: UrlSeconds,
    now: DateTime<Utc>,
) -> Result<Reply, ApiError> {
    let bytes = hms
        .presigned_url(asset_id, duration.0)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("asset {asset_id} does not exist")))?;
    let presigned: PresignedUrl = sessions::parse(&bytes, "presigned URL")?;
    let expiry = presigned.expiry.unwrap_or(u64::from(duration.0));
    let expires_at = now + chrono::TimeDelta::seconds(expiry.min(u64::from(MAX_URL_SECONDS)) as i64);
    Reply::ok_json(&json!({
        "success": true, "asset_id": asset_id, "url": presigned.url, "expiry": expiry,
        "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

/// One section of an AI summary as the page shows it: a title, and bullets or a paragraph.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SummaryText {
    pub title: String,
    pub format: &'static str,
    /// The bullets (`bullets`), or the one paragraph (`paragraph`).
    pub text: Vec<String>,
}

/// Reads a summary file. 100ms documents the settings (sections of a title and a format) and
/// the asset (`type: summary`, `output_mode: json`), not the file itself: this reads a list of
/// sections under `sections` or `summary`, each with `title`, `format` and its text under
/// `bullets` (a list) or `paragraph` (also `content` or `text`, a string or a list). `None` when
/// the file is not that.
pub fn summary_sections(file: &[u8]) -> Option<Vec<SummaryText>> {
    let doc: Value = serde_json::from_slice(file).ok()?;
    let list = doc.get("sections").or_else(|| doc.get("summary")).unwrap_or(&doc).as_array()?;
    let lines = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => items.iter().map(|i| i.as_str().map(String::from)).collect(),
            _ => None,
        }
    };
    list.iter()
        .map(|sec| {
            let title = sec.get("title")?.as_str()?.to_string();
            let body = ["bullets", "paragraph", "content", "text"].iter().find_map(|k| sec.get(*k).and_then(lines))?;
            let format = match sec.get("format").and_then(Value::as_str) {
                Some("paragraph") => "paragraph",
                Some("bullets") => "bullets",
                _ if sec.get("paragraph").is_some() => "paragraph",
                _ => "bullets",
            };
            Some(SummaryText { title, format, text: body })
        })
        .collect()
}

/// `GET /recording-summary?asset_id=`: the sections of a summary asset, read from 100ms's
/// storage through a presigned URL that lives a minute and never leaves this function.
pub async fn summary(hms: &impl HmsApi, asset_id: &AssetId, asset: &Value) -> Result<Reply, ApiError> {
    match asset["type"].as_str() {
        Some("summary") => {}
        Some(_) => return Err(ApiError::invalid_parameter("asset_id", "is not a summary asset (type 'summary')")),
        None => {
            return Err(ApiError::upstream(
                ErrorCode::UpstreamInvalidResponse,
                "100ms answered an asset without a type",
            ));
        }
    }
    let bytes = hms
        .presigned_url(asset_id, MIN_URL_SECONDS)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("asset {asset_id} does not exist")))?;
    let presigned: PresignedUrl = sessions::parse(&bytes, "presigned URL")?;
    let file = hms.fetch_presigned(&presigned.url, MAX_SUMMARY_BYTES).await?;
    let sections = summary_sections(&file).ok_or_else(|| {
        ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms's summary file is not a list of sections")
    })?;
    Reply::ok_json(&json!({"success": true, "asset_id": asset_id, "sections": sections}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "631b2654f771854d9bf633df";

    fn start_body(extra: &str) -> Result<StartRequest, ApiError> {
        start_request(Some(format!(r#"{{"room_id":"{ROOM}"{extra}}}"#).as_bytes()), &HostPatterns::default())
    }

    #[test]
    fn starts_take_documented_fields_within_bounds() {
        let plain = start_body("").unwrap();
        assert_eq!(plain.start, StartRecording::default());
        let full = start_body(r#","meeting_url":"https://x.app.100ms.live/preview/r/host?skip_preview=true","resolution":{"width":1280,"height":720},"audio_only":false,"destination":"rec-1""#).unwrap();
        assert_eq!(full.start.resolution, Some(Resolution { width: 1280, height: 720 }));
        assert!(start_body(r#","resolution":{"width":1080,"height":1920}"#).is_ok(), "portrait");
        for (extra, code) in [
            (r#","meeting_url":"http://x""#, "invalid_field"),
            (r#","meeting_url":"https://a b""#, "invalid_field"),
            (r#","meeting_url":"https://evil.example.com/record-me""#, "invalid_field"),
            (r#","resolution":{"width":4000,"height":720}"#, "invalid_field"),
            (r#","resolution":{"width":1280}"#, "invalid_field"),
            (r#","resolution":{"width":1280,"height":720,"fps":30}"#, "unknown_field"),
            (r#","resolution":"720p""#, "invalid_field"),
            (r#","destination":"a/b""#, "invalid_field"),
            (r#","transcription":{"enabled":true,"modes":["live"]}"#, "unknown_field"),
            (r#","transcription":{"output_modes":["docx"]}"#, "invalid_field"),
            (r#","audio_only":"yes""#, "invalid_field"),
        ] {
            assert_eq!(start_body(extra).unwrap_err().code().as_str(), code, "{extra}");
        }
    }

    #[test]
    fn summaries_read_as_sections_of_text() {
        let file = br#"{"sections":[{"title":"Agenda","format":"bullets","bullets":["Fractions","Quiz"]},
            {"title":"Short Summary","format":"paragraph","paragraph":"We added fractions."}]}"#;
        let got = summary_sections(file).unwrap();
        assert_eq!(
            got[0],
            SummaryText { title: "Agenda".into(), format: "bullets", text: vec!["Fractions".into(), "Quiz".into()] }
        );
        assert_eq!((got[1].format, got[1].text.as_slice()), ("paragraph", &["We added fractions.".to_string()][..]));
        let other = br#"{"summary":[{"title":"Key Points","content":["a","b"]}]}"#;
        assert_eq!(summary_sections(other).unwrap()[0].text, ["a", "b"]);
        for bad in [&b"not json"[..], br#"{"sections":7}"#, br#"{"sections":[{"title":1,"bullets":[]}]}"#] {
            assert!(summary_sections(bad).is_none());
        }
    }

    #[test]
    fn link_lifetimes_are_bounded() {
        assert_eq!(UrlSeconds::default().0, 3_600);
        assert_eq!(UrlSeconds::parse("60").unwrap().0, 60);
        assert_eq!(UrlSeconds::parse("604800").unwrap().0, 604_800);
        for bad in ["59", "604801", "-1", "+60", "1h", ""] {
            assert!(UrlSeconds::parse(bad).is_err(), "{bad}");
        }
    }
}

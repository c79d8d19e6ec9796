//! `/v2/recordings` and `/v2/recording-assets`: composite recordings of a room's live session,
//! their lifecycle (`starting` -> `running` -> `stopping` -> `post_processing` -> `completed`),
//! the assets a completed one produces, and presigned URLs that expire.
//!
//! Time runs on the emulator's clock, which `POST /_emulator/clock` moves forward, so a test
//! can compress a recording's life. Where the docs are silent, the emulator chooses
//! (docs/room-control.md, "100ms behaviour we assumed"): starting needs a live session (else 404) and no recording
//! already starting or running in the room (else 400); stopping a room with none is a 404; the
//! last peer leaving (or the room ending) stops the room's recordings; a presigned URL's
//! `presign_duration` is any whole number of seconds from 1, 3 days by default. Pause and resume
//! answer the recording (`running`, as the docs' examples, whether paused or not: nothing in the
//! object shows a pause); pausing a paused one or resuming a running one changes nothing; with no
//! recording running in the room, 404. Paused time is left out of the recording's duration and
//! its asset's. Transcripts and summaries: [`crate::transcription`].

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::assets::Asset;
use crate::auth::guard;
use crate::{Emulator, Inner, ListQuery, api_error, new_id, page, parse_limit, ts};

/// How long a recording is `starting` before it is `running`.
pub(crate) const STARTING: TimeDelta = TimeDelta::seconds(3);
/// How long a stopped recording is `stopping` before `post_processing`.
pub(crate) const STOPPING: TimeDelta = TimeDelta::seconds(2);
/// How long `post_processing` lasts before `completed`.
pub(crate) const POST_PROCESSING: TimeDelta = TimeDelta::seconds(30);
/// The asset types a composite recording produces here.
const ASSET_TYPES: [&str; 2] = ["room-composite", "chat"];

/// The asset types a recording makes: the composite, the chat unless audio only, and what its
/// transcription asks for.
fn asset_types(r: &Recording) -> Vec<&'static str> {
    let mut types: Vec<&str> = if r.audio_only { vec!["room-composite"] } else { ASSET_TYPES.to_vec() };
    types.extend(crate::transcription::asset_types(r.transcription.as_ref()));
    types
}

#[derive(Debug, Clone)]
pub(crate) struct Recording {
    id: String,
    room_id: String,
    session_id: String,
    meeting_url: String,
    destination: String,
    audio_only: bool,
    resolution: (u64, u64),
    created: DateTime<Utc>,
    /// When a stop was asked for (by the API or because the session ended).
    stop_requested: Option<DateTime<Utc>>,
    /// The `transcription` settings of the start body, as given.
    transcription: Option<Value>,
    /// Paused spans: from, and until (open while paused).
    pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

impl Recording {
    /// Seconds recorded between `started` and `until`, paused time left out.
    fn recorded(&self, started: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
        let paused: i64 = self
            .pauses
            .iter()
            .map(|(from, to)| {
                let (from, to) = ((*from).max(started), to.unwrap_or(until).min(until));
                (to - from).num_seconds().max(0)
            })
            .sum();
        ((until - started).num_seconds() - paused).max(0) as u64
    }
}

/// A recording's status at `now`, and when it started and stopped.
fn lifecycle(r: &Recording, now: DateTime<Utc>) -> (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let started = r.created + STARTING;
    match r.stop_requested {
        None if now < started => ("starting", None, None),
        None => ("running", Some(started), None),
        Some(stop) => {
            let started = (stop >= started).then_some(started);
            if now < stop + STOPPING {
                ("stopping", started, None)
            } else if now < stop + STOPPING + POST_PROCESSING {
                ("post_processing", started, Some(stop))
            } else {
                ("completed", started, Some(stop))
            }
        }
    }
}

impl Inner {
    /// Asks every starting or running recording of `room_id` to stop at `at`; their ids.
    pub(crate) fn stop_recordings(&mut self, room_id: &str, at: DateTime<Utc>) -> Vec<String> {
        let mut stopped = Vec::new();
        for r in self.recordings.iter_mut().filter(|r| r.room_id == room_id && r.stop_requested.is_none()) {
            r.stop_requested = Some(at);
            stopped.push(r.id.clone());
        }
        stopped
    }

    /// Makes the assets of recordings that have completed by now (once each), and sends
    /// `beam.recording.success` for each.
    pub(crate) fn settle(&mut self) {
        let now = self.now();
        let mut finished = Vec::new();
        for r in &self.recordings {
            let (status, started, stopped) = lifecycle(r, now);
            if status != "completed" || self.assets.iter().any(|a| a.job_id == r.id) {
                continue;
            }
            let stop = stopped.unwrap_or(now);
            let duration = started.map_or(0, |s| r.recorded(s, stop));
            let done = stop + STOPPING + POST_PROCESSING;
            for kind in ASSET_TYPES {
                let (ext, metadata, size, dur) = match kind {
                    "room-composite" => {
                        let meta = json!({"resolution": {"width": r.resolution.0, "height": r.resolution.1}});
                        ("mp4", meta, 400_000 * duration.max(1), duration)
                    }
                    _ => ("json", json!({}), 74, 0),
                };
                let id = new_id();
                let path = format!("s3://emulator-recordings/{}/{}/{id}.{ext}", r.room_id, r.id);
                let of = (r.id.as_str(), r.room_id.as_str(), r.session_id.as_str());
                self.assets.push(Asset::new(&id, of, kind, &path, size, dur, ts(done), metadata));
            }
            let asset = |kind: &str| self.assets.iter().rev().find(|a| a.job_id == r.id && a.kind == kind);
            let (composite, chat) = (asset("room-composite"), asset("chat"));
            // The webhook's links are valid for 24 hours, as the docs say.
            let base = self.base_url.clone().unwrap_or_else(|| "http://127.0.0.1".into());
            let link = |a: Option<&Asset>| a.map(|a| self.presign(&base, &a.id, 86_400));
            let session_started = self.sessions.iter().find(|x| x.id == r.session_id).map(|x| x.created_at.clone());
            let mut data = Map::new();
            for (k, v) in [
                ("beam_id", json!(r.id)),
                ("recording_id", json!(r.id)),
                ("room_id", json!(r.room_id)),
                ("session_id", json!(r.session_id)),
                ("template_id", json!(crate::DEFAULT_TEMPLATE_ID)),
                ("created_at", json!(ts(r.created))),
                ("started_at", json!(started.map(ts))),
                ("stopped_at", json!(ts(stop))),
                ("duration", json!(duration)),
                ("size", json!(composite.map_or(0, |a| a.size))),
                ("max_width", json!(r.resolution.0)),
                ("max_height", json!(r.resolution.1)),
                ("recording_path", json!(composite.map(|a| a.path.clone()))),
                ("recording_presigned_url", json!(link(composite))),
                ("chat_recording_path", json!(chat.map(|a| a.path.clone()))),
                ("chat_recording_presigned_url", json!(link(chat))),
                ("meeting_url", json!(r.meeting_url)),
                // Started through the API: no peer started it.
                ("peer_id", json!("")),
                ("metadata_id", json!("")),
                ("metadata_timestamp", json!(ts(r.created))),
                ("rtmp", json!([])),
                ("session_started_at", json!(session_started)),
            ] {
                data.insert(k.into(), v);
            }
            let of = (r.id.clone(), r.room_id.clone(), r.session_id.clone());
            finished.push((done, data, of, r.transcription.clone(), duration, base));
        }
        for (done, data, of, t, duration, base) in finished {
            self.emit("beam.recording.success", done, data);
            self.transcribe((&of.0, &of.1, &of.2), t.as_ref(), duration, done, &base);
        }
    }

    /// The recording object at the emulator's now; with its assets when `with_assets`.
    fn recording_json(&self, r: &Recording, with_assets: bool) -> Value {
        let (status, started, stopped) = lifecycle(r, self.now());
        let mut v = json!({
            "id": r.id, "room_id": r.room_id, "session_id": r.session_id, "status": status,
            "created_at": ts(r.created), "started_at": started.map(ts), "stopped_at": stopped.map(ts),
            "updated_at": ts(stopped.or(started).unwrap_or(r.created)),
            "meeting_url": r.meeting_url, "destination": r.destination, "started_by": "", "stopped_by": "",
            "asset_types": asset_types(r),
        });
        if with_assets {
            let assets: Vec<Value> = self.assets.iter().filter(|a| a.job_id == r.id).map(Asset::embedded).collect();
            v["recording_assets"] = if assets.is_empty() { Value::Null } else { json!(assets) };
        }
        v
    }
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/recordings/room/{id}/start", post(start))
        .route("/v2/recordings/room/{id}/stop", post(stop_room))
        .route("/v2/recordings/room/{id}/pause", post(pause))
        .route("/v2/recordings/room/{id}/resume", post(resume))
        .route("/v2/recordings/{id}/stop", post(stop_one))
        .route("/v2/recordings/{id}", get(get_one))
        .route("/v2/recordings", get(list))
}

fn bad(detail: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid request body", &[detail])
}

/// The resolution of a start body, within the documented limits (default 1280x720).
fn resolution(body: &Map<String, Value>) -> Result<(u64, u64), Response> {
    let Some(r) = body.get("resolution").filter(|r| !r.is_null()) else {
        return Ok((1280, 720));
    };
    let (Some(w), Some(h)) = (r.get("width").and_then(Value::as_u64), r.get("height").and_then(Value::as_u64)) else {
        return Err(bad("resolution needs width and height"));
    };
    let ok = if w >= h {
        (500..=1920).contains(&w) && (480..=1080).contains(&h)
    } else {
        (500..=1080).contains(&w) && (500..=1920).contains(&h)
    };
    if ok { Ok((w, h)) } else { Err(bad("resolution out of range")) }
}

/// `POST /recordings/room/{id}/start`: a recording of the room's live session, `starting`.
async fn start(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = guard(&emu, "POST /recordings/room/{id}/start", &headers).await {
        return r;
    }
    let body: Map<String, Value> = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(_) => return bad("not a JSON object"),
        }
    };
    let resolution = match resolution(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let transcription = match crate::transcription::check(body.get("transcription"), false) {
        Ok(t) => t,
        Err(why) => return bad(&why),
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let mut s = emu.lock();
    if !s.rooms.iter().any(|r| r.id == id) {
        return api_error(StatusCode::NOT_FOUND, "room not found", &[]);
    }
    let Some(idx) = s.live_session(&id) else {
        return api_error(StatusCode::NOT_FOUND, "no active session in the room", &[]);
    };
    if s.recordings.iter().any(|r| r.room_id == id && r.stop_requested.is_none()) {
        return api_error(StatusCode::BAD_REQUEST, "recording already running for the room", &[]);
    }
    let recording = Recording {
        id: new_id(),
        room_id: id.clone(),
        session_id: s.sessions[idx].id.clone(),
        meeting_url: text("meeting_url").unwrap_or_else(|| {
            format!("https://emulator.app.100ms.live/preview/{id}/__internal_recorder?skip_preview=true")
        }),
        destination: text("destination").unwrap_or_default(),
        audio_only: body.get("audio_only").and_then(Value::as_bool).unwrap_or(false),
        resolution,
        created: s.now(),
        stop_requested: None,
        transcription,
        pauses: Vec::new(),
    };
    let v = s.recording_json(&recording, true);
    s.recordings.push(recording);
    Json(v).into_response()
}

/// `POST /recordings/room/{id}/stop`: stops every recording running in the room,
/// `{limit, data, last}` of them, `stopping`.
async fn stop_room(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "POST /recordings/room/{id}/stop", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let at = s.now();
    let stopped = s.stop_recordings(&id, at);
    if stopped.is_empty() {
        return api_error(StatusCode::NOT_FOUND, "no running recording in the room", &[]);
    }
    let data: Vec<Value> =
        s.recordings.iter().filter(|r| stopped.contains(&r.id)).map(|r| s.recording_json(r, true)).collect();
    Json(json!({"limit": data.len(), "last": stopped.last(), "data": data})).into_response()
}

/// `POST /recordings/room/{id}/pause`.
async fn pause(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    switch_pause(emu, headers, id, true).await
}

/// `POST /recordings/room/{id}/resume`.
async fn resume(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    switch_pause(emu, headers, id, false).await
}

async fn switch_pause(emu: Emulator, headers: HeaderMap, id: String, pause: bool) -> Response {
    let what = if pause { "POST /recordings/room/{id}/pause" } else { "POST /recordings/room/{id}/resume" };
    if let Err(r) = guard(&emu, what, &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let now = s.now();
    let Some(r) = s.recordings.iter_mut().find(|r| r.room_id == id && r.stop_requested.is_none()) else {
        return api_error(StatusCode::NOT_FOUND, "no running recording in the room", &[]);
    };
    let open = r.pauses.last().is_some_and(|(_, to)| to.is_none());
    match (pause, open) {
        (true, false) => r.pauses.push((now, None)),
        (false, true) => {
            if let Some(last) = r.pauses.last_mut() {
                last.1 = Some(now);
            }
        }
        _ => {}
    }
    let r = r.clone();
    Json(s.recording_json(&r, true)).into_response()
}

/// `GET /_emulator/recordings/{id}` (control API): whether the recording is paused now, and for
/// how many seconds it has been paused in all: what 100ms's object does not show.
pub(crate) async fn pause_state(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    let s = emu.lock();
    let now = s.now();
    let Some(r) = s.recordings.iter().find(|r| r.id == id) else {
        return api_error(StatusCode::NOT_FOUND, "recording not found", &[]);
    };
    let paused = r.pauses.last().is_some_and(|(_, to)| to.is_none());
    let seconds: i64 = r.pauses.iter().map(|(from, to)| (to.unwrap_or(now) - *from).num_seconds().max(0)).sum();
    Json(json!({"id": r.id, "paused": paused, "paused_seconds": seconds, "pauses": r.pauses.len()})).into_response()
}

/// `POST /recordings/{id}/stop`: stops one recording.
async fn stop_one(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "POST /recordings/{id}/stop", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let at = s.now();
    let Some(r) = s.recordings.iter_mut().find(|r| r.id == id) else {
        return api_error(StatusCode::NOT_FOUND, "recording not found", &[]);
    };
    r.stop_requested.get_or_insert(at);
    let r = r.clone();
    Json(s.recording_json(&r, true)).into_response()
}

/// `GET /recordings/{id}`: the recording with its assets.
async fn get_one(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /recordings/{id}", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    s.settle();
    match s.recordings.iter().find(|r| r.id == id) {
        Some(r) => Json(s.recording_json(r, true)).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "recording not found", &[]),
    }
}

/// `GET /recordings?room_id=&session_id=&status=&limit=&start=`: newest first, without assets.
async fn list(State(emu): State<Emulator>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = guard(&emu, "GET /recordings", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let mut s = emu.lock();
    s.settle();
    let now = s.now();
    let items: Vec<(String, Value)> = s
        .recordings
        .iter()
        .rev()
        .filter(|r| q.room_id.as_ref().is_none_or(|x| &r.room_id == x))
        .filter(|r| q.session_id.as_ref().is_none_or(|x| &r.session_id == x))
        .filter(|r| q.status.as_ref().is_none_or(|x| lifecycle(r, now).0 == x))
        .map(|r| (r.id.clone(), s.recording_json(r, false)))
        .collect();
    Json(page(items, limit, q.start.as_deref())).into_response()
}

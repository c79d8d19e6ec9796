//! `/v2/live-streams`: HLS live streams of a room's live session (docs: live-streams API, the
//! `hls.*` webhooks, timed metadata on the players' side). A stream is `starting`, then
//! `running` ([`STARTING`] later, announced by `hls.started.success` with its playback URL); a
//! stop (by the API, the room ending, the last peer leaving) makes it `stopping` and sends
//! `hls.stopped.success` with the reason; with recording on it is `post_processing`, then
//! `completed` with its assets (a `room-vod`, and one `room-composite` per layer with
//! `single_file_per_layer`) and `hls.recording.success`; without, `completed` at once.
//! The playback URL is served here (`/_emulator/hls/{id}/master.m3u8`, no token, like a CDN): a
//! playlist whose `#EXT-X-DATERANGE` tags carry the timed metadata sent, as the client docs
//! describe (`X-100MSLIVE-PAYLOAD`).
//!
//! The docs list no errors for these endpoints; the emulator answers 100ms's general shape and
//! chooses (docs/room-control.md, "100ms behaviour we assumed"): an unknown room or stream is
//! 404; a room without a live session 404; a second start while one runs 400; stopping a room
//! with none running 404; a cue for a stream that is not running, a payload over 100 characters
//! or a missing duration 400; pausing the recording of a stream that records nothing 400. The
//! stop-for-room answer's `error` is `""`. Live transcription settings are checked and kept, and
//! make no assets here.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::assets::Asset;
use crate::auth::guard;
use crate::recordings::{POST_PROCESSING, STARTING, STOPPING};
use crate::{Emulator, Inner, ListQuery, api_error, new_id, page, parse_limit, ts};

/// Why a stream stopped (`hls.stopped.success`'s `reason`).
pub(crate) const STOPPED_BY_CLIENT: &str = "client request";
pub(crate) const STOPPED_ROOM_ENDED: &str = "room ended";
pub(crate) const STOPPED_LAST_PEER_LEFT: &str = "last peer left";
/// The layers a stream is encoded in (largest first, as the template's `layers`).
const LAYERS: [(u64, u64); 2] = [(1280, 720), (640, 360)];

#[derive(Debug, Clone)]
pub(crate) struct LiveStream {
    id: String,
    room_id: String,
    session_id: String,
    meeting_url: String,
    destination: String,
    hls_vod: bool,
    single_file_per_layer: bool,
    created: DateTime<Utc>,
    /// When a stop was asked for, and why.
    stop: Option<(DateTime<Utc>, String)>,
    /// Whether `hls.started.success` went out, and the assets (with their webhook) were made.
    announced: bool,
    settled: bool,
    recording_paused: bool,
    /// Timed metadata: when, the payload, how long.
    cues: Vec<(DateTime<Utc>, String, u64)>,
}

impl LiveStream {
    fn records(&self) -> bool {
        self.hls_vod || self.single_file_per_layer
    }

    /// Status at `now`, and when it started and stopped.
    fn lifecycle(&self, now: DateTime<Utc>) -> (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let started = self.created + STARTING;
        match &self.stop {
            None if now < started => ("starting", None, None),
            None => ("running", Some(started), None),
            Some((stop, _)) => {
                let started = (*stop >= started).then_some(started);
                let processing = if self.records() { POST_PROCESSING } else { TimeDelta::zero() };
                if now < *stop + STOPPING {
                    ("stopping", started, Some(*stop))
                } else if now < *stop + STOPPING + processing {
                    ("post_processing", started, Some(*stop))
                } else {
                    ("completed", started, Some(*stop))
                }
            }
        }
    }
}

impl Inner {
    fn base(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| "http://127.0.0.1".into())
    }

    fn playback_url(&self, id: &str) -> String {
        format!("{}/_emulator/hls/{id}/master.m3u8", self.base())
    }

    /// The fields every `hls.*` event of `s` carries.
    fn hls_fields(&self, s: &LiveStream) -> Map<String, Value> {
        let session_started = self.sessions.iter().find(|x| x.id == s.session_id).map(|x| x.created_at.clone());
        let mut m = Map::new();
        for (k, v) in [
            ("beam_id", json!(s.id)),
            ("room_id", json!(s.room_id)),
            ("session_id", json!(s.session_id)),
            ("template_id", json!(crate::DEFAULT_TEMPLATE_ID)),
            ("meeting_url", json!(s.meeting_url)),
            ("metadata_id", json!(uuid::Uuid::new_v4().to_string())),
            ("metadata_timestamp", json!(ts(self.now()))),
            ("max_width", json!(LAYERS[0].0)),
            ("max_height", json!(LAYERS[0].1)),
            ("session_started_at", json!(session_started)),
        ] {
            m.insert(k.into(), v);
        }
        m
    }

    /// Stops the streams of `room_id` still starting or running, at `at`, for `reason`.
    pub(crate) fn stop_live_streams(&mut self, room_id: &str, at: DateTime<Utc>, reason: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .live_streams
            .iter()
            .filter(|s| s.room_id == room_id && s.stop.is_none())
            .map(|s| s.id.clone())
            .collect();
        for id in &ids {
            self.stop_stream(id, at, reason);
        }
        ids
    }

    fn stop_stream(&mut self, id: &str, at: DateTime<Utc>, reason: &str) {
        self.settle_streams();
        let Some(i) = self.live_streams.iter().position(|s| s.id == id && s.stop.is_none()) else { return };
        self.live_streams[i].stop = Some((at, reason.to_string()));
        let s = self.live_streams[i].clone();
        let (_, started, _) = s.lifecycle(at);
        let mut data = self.hls_fields(&s);
        for (k, v) in [
            ("job_id", json!(s.id)),
            ("peer_id", json!("")),
            ("recording_single_file_per_layer_enabled", json!(s.single_file_per_layer)),
            ("recording_vod_playlist_enabled", json!(s.hls_vod)),
            ("url", json!(self.playback_url(&s.id))),
            ("duration", json!(started.map_or(0, |st| (at - st).num_seconds().max(0)))),
            ("started_at", json!(started.map(ts))),
            ("stopped_at", json!(ts(at))),
            ("reason", json!(reason)),
            ("live_transcription_enabled", json!(false)),
        ] {
            data.insert(k.into(), v);
        }
        self.emit("hls.stopped.success", at, data);
    }

    /// Sends `hls.started.success` for streams that are running by now, and makes the assets of
    /// completed recorded ones (sending `hls.recording.success`).
    pub(crate) fn settle_streams(&mut self) {
        let now = self.now();
        for i in 0..self.live_streams.len() {
            let s = self.live_streams[i].clone();
            let (status, started, stopped) = s.lifecycle(now);
            if let (false, Some(started)) = (s.announced, started) {
                self.live_streams[i].announced = true;
                let mut data = self.hls_fields(&s);
                for (k, v) in [
                    ("job_id", json!(s.id)),
                    ("peer_id", json!("")),
                    ("recording_single_file_per_layer_enabled", json!(s.single_file_per_layer)),
                    ("recording_vod_playlist_enabled", json!(s.hls_vod)),
                    ("url", json!(self.playback_url(&s.id))),
                    ("started_at", json!(ts(started))),
                    ("start_delay", json!(STARTING.num_seconds())),
                ] {
                    data.insert(k.into(), v);
                }
                self.emit("hls.started.success", started, data);
            }
            if status == "completed" && s.records() && !s.settled {
                self.live_streams[i].settled = true;
                let (started, stopped) = (started.unwrap_or(s.created), stopped.unwrap_or(now));
                self.record_stream(&s, started, stopped);
            }
        }
    }

    fn record_stream(&mut self, s: &LiveStream, started: DateTime<Utc>, stopped: DateTime<Utc>) {
        let duration = (stopped - started).num_seconds().max(0) as u64;
        let done = stopped + STOPPING + POST_PROCESSING;
        let base = self.base();
        let of = (s.id.as_str(), s.room_id.as_str(), s.session_id.as_str());
        let mut data = self.hls_fields(s);
        data.insert("recording_id".into(), json!(s.id));
        data.insert("duration".into(), json!(duration));
        data.insert("recording_created_at".into(), json!(ts(s.created)));
        data.insert("started_at".into(), json!(ts(started)));
        data.insert("stopped_at".into(), json!(ts(stopped)));
        if s.hls_vod {
            let id = new_id();
            let path = format!("s3://emulator-recordings/{}/{}/{id}.m3u8", s.room_id, s.id);
            let meta =
                json!({"num_layers": LAYERS.len().to_string(), "max_width": LAYERS[0].0, "max_height": LAYERS[0].1});
            let size = 300_000 * duration.max(1);
            self.assets.push(Asset::new(&id, of, "room-vod", &path, size, duration, ts(done), meta));
            data.insert("hls_vod_recording_path".into(), json!(path));
            data.insert("hls_vod_recording_presigned_url".into(), json!(self.presign(&base, &id, 86_400)));
            data.insert("hls_vod_recording_size".into(), json!(size));
        }
        let mut files = Vec::new();
        if s.single_file_per_layer {
            for (layer, (w, h)) in LAYERS.iter().enumerate() {
                let id = new_id();
                let path = format!("s3://emulator-recordings/{}/{}/{id}-{layer}.mp4", s.room_id, s.id);
                let meta = json!({"resolution": {"width": w, "height": h}, "layer": layer.to_string()});
                let size = 100_000 * duration.max(1) / (layer as u64 + 1);
                self.assets.push(Asset::new(&id, of, "room-composite", &path, size, duration, ts(done), meta));
                files.push(json!({"asset_id": id, "layer": layer.to_string(), "recording_path": path,
                    "recording_presigned_url": self.presign(&base, &id, 86_400), "size": size, "width": w, "height": h}));
            }
        }
        data.insert("recording_single_files".into(), json!(files));
        data.insert("recording_thumbnails".into(), json!([]));
        self.emit("hls.recording.success", done, data);
    }

    fn stream_json(&self, s: &LiveStream, with_assets: bool) -> Value {
        let (status, started, stopped) = s.lifecycle(self.now());
        let mut v = json!({
            "id": s.id, "room_id": s.room_id, "session_id": s.session_id, "status": status,
            "meeting_url": s.meeting_url, "destination": s.destination,
            "playback": {"url": self.playback_url(&s.id)},
            "recording": {"hls_vod": s.hls_vod, "single_file_per_layer": s.single_file_per_layer},
            "created_at": ts(s.created), "started_at": started.map(ts), "stopped_at": stopped.map(ts),
            "updated_at": ts(stopped.or(started).unwrap_or(s.created)), "started_by": "", "stopped_by": "",
            "recording_assets": Value::Null,
        });
        if with_assets {
            let assets: Vec<Value> = self.assets.iter().filter(|a| a.job_id() == s.id).map(Asset::embedded).collect();
            if !assets.is_empty() {
                v["recording_assets"] = json!(assets);
            }
        }
        v
    }
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/live-streams/room/{id}/start", post(start))
        .route("/v2/live-streams/room/{id}/stop", post(stop_room))
        .route("/v2/live-streams/{id}/stop", post(stop_one))
        .route("/v2/live-streams/{id}", get(get_one))
        .route("/v2/live-streams", get(list))
        .route("/v2/live-streams/{id}/timed-metadata", post(timed_metadata))
        .route("/v2/live-streams/{id}/pause-recording", post(pause_recording))
        .route("/v2/live-streams/{id}/resume-recording", post(resume_recording))
}

fn bad(detail: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid request body", &[detail])
}

fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "live stream not found", &[])
}

fn object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_slice(body).map_err(|_| bad("not a JSON object"))
}

/// `POST /live-streams/room/{id}/start`: a stream of the live session, `starting`.
async fn start(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = guard(&emu, "POST /live-streams/room/{id}/start", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(why) = crate::transcription::check(body.get("transcription"), true) {
        return bad(&why);
    }
    let flag = |k: &str| body.get("recording").and_then(|r| r.get(k)).and_then(Value::as_bool).unwrap_or(false);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    let mut s = emu.lock();
    s.settle_streams();
    if !s.rooms.iter().any(|r| r.id == id) {
        return api_error(StatusCode::NOT_FOUND, "room not found", &[]);
    }
    let Some(idx) = s.live_session(&id) else {
        return api_error(StatusCode::NOT_FOUND, "no active session in the room", &[]);
    };
    if s.live_streams.iter().any(|x| x.room_id == id && x.stop.is_none()) {
        return api_error(StatusCode::BAD_REQUEST, "live stream already running for the room", &[]);
    }
    let stream = LiveStream {
        id: new_id(),
        room_id: id.clone(),
        session_id: s.sessions[idx].id.clone(),
        meeting_url: text("meeting_url").unwrap_or_else(|| {
            format!("https://emulator.app.100ms.live/preview/{id}/__internal_beam?skip_preview=true")
        }),
        destination: text("destination").unwrap_or_default(),
        hls_vod: flag("hls_vod"),
        single_file_per_layer: flag("single_file_per_layer"),
        created: s.now(),
        stop: None,
        announced: false,
        settled: false,
        recording_paused: false,
        cues: Vec::new(),
    };
    let v = s.stream_json(&stream, false);
    s.live_streams.push(stream);
    Json(v).into_response()
}

/// `POST /live-streams/room/{id}/stop`: `{error, data, limit, last}` of the streams stopped.
async fn stop_room(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "POST /live-streams/room/{id}/stop", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let now = s.now();
    let stopped = s.stop_live_streams(&id, now, STOPPED_BY_CLIENT);
    if stopped.is_empty() {
        return api_error(StatusCode::NOT_FOUND, "no running live stream in the room", &[]);
    }
    let data: Vec<Value> =
        s.live_streams.iter().filter(|x| stopped.contains(&x.id)).map(|x| s.stream_json(x, false)).collect();
    Json(json!({"error": "", "data": data, "limit": 10, "last": stopped.last()})).into_response()
}

/// `POST /live-streams/{id}/stop`.
async fn stop_one(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "POST /live-streams/{id}/stop", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let now = s.now();
    s.stop_stream(&id, now, STOPPED_BY_CLIENT);
    match s.live_streams.iter().find(|x| x.id == id) {
        Some(x) => Json(s.stream_json(x, false)).into_response(),
        None => not_found(),
    }
}

/// `GET /live-streams/{id}`, with its recording assets once there are some.
async fn get_one(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /live-streams/{id}", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    s.settle_streams();
    match s.live_streams.iter().find(|x| x.id == id) {
        Some(x) => Json(s.stream_json(x, true)).into_response(),
        None => not_found(),
    }
}

/// `GET /live-streams?room_id=&session_id=&status=&limit=&start=`: newest first, without assets.
async fn list(State(emu): State<Emulator>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = guard(&emu, "GET /live-streams", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let mut s = emu.lock();
    s.settle_streams();
    let now = s.now();
    let items: Vec<(String, Value)> = s
        .live_streams
        .iter()
        .rev()
        .filter(|x| q.room_id.as_ref().is_none_or(|r| &x.room_id == r))
        .filter(|x| q.session_id.as_ref().is_none_or(|r| &x.session_id == r))
        .filter(|x| q.status.as_ref().is_none_or(|st| x.lifecycle(now).0 == st))
        .map(|x| (x.id.clone(), s.stream_json(x, false)))
        .collect();
    Json(page(items, limit, q.start.as_deref())).into_response()
}

/// `POST /live-streams/{id}/timed-metadata {payload, duration}`: the cue goes into the playlist.
async fn timed_metadata(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /live-streams/{id}/timed-metadata", &headers).await {
        return r;
    }
    let body = match object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(payload) = body.get("payload").and_then(Value::as_str) else {
        return bad("payload is required");
    };
    if payload.chars().count() > 100 {
        return bad("payload should be at most 100 characters");
    }
    let Some(duration) = body.get("duration").and_then(Value::as_u64).filter(|d| *d >= 1) else {
        return bad("duration is required, a whole number of seconds");
    };
    let mut s = emu.lock();
    s.settle_streams();
    let now = s.now();
    let Some(i) = s.live_streams.iter().position(|x| x.id == id) else {
        return not_found();
    };
    if s.live_streams[i].lifecycle(now).0 != "running" {
        return api_error(StatusCode::BAD_REQUEST, "live stream is not running", &[]);
    }
    s.live_streams[i].cues.push((now, payload.to_string(), duration));
    let x = s.live_streams[i].clone();
    Json(s.stream_json(&x, false)).into_response()
}

async fn pause_recording(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    switch_recording(emu, headers, id, true).await
}

async fn resume_recording(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    switch_recording(emu, headers, id, false).await
}

/// `POST /live-streams/{id}/pause-recording` and `.../resume-recording`: the stream goes on.
async fn switch_recording(emu: Emulator, headers: HeaderMap, id: String, pause: bool) -> Response {
    let what =
        if pause { "POST /live-streams/{id}/pause-recording" } else { "POST /live-streams/{id}/resume-recording" };
    if let Err(r) = guard(&emu, what, &headers).await {
        return r;
    }
    let mut s = emu.lock();
    let Some(i) = s.live_streams.iter().position(|x| x.id == id) else {
        return not_found();
    };
    if !s.live_streams[i].records() {
        return api_error(StatusCode::BAD_REQUEST, "live stream has no recording", &[]);
    }
    s.live_streams[i].recording_paused = pause;
    let x = s.live_streams[i].clone();
    Json(s.stream_json(&x, false)).into_response()
}

/// The playback URL: an HLS master playlist with a `#EXT-X-DATERANGE` per timed cue.
pub(crate) async fn playlist(State(emu): State<Emulator>, Path(id): Path<String>) -> Response {
    let s = emu.lock();
    let Some(x) = s.live_streams.iter().find(|x| x.id == id) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:6\n");
    for (n, (at, payload, duration)) in x.cues.iter().enumerate() {
        let escaped = payload.replace('"', "'");
        out.push_str(&format!(
            "#EXT-X-DATERANGE:ID=\"{n}\",START-DATE=\"{}\",DURATION={duration},X-100MSLIVE-PAYLOAD=\"{escaped}\"\n",
            ts(*at)
        ));
    }
    for (w, h) in LAYERS {
        out.push_str(&format!("#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={w}x{h}\nlayer-{w}x{h}.m3u8\n", w * h * 2));
    }
    ([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], out).into_response()
}

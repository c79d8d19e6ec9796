//! An in-memory 100ms behind the client's trait, for handler tests without a network: every
//! call the functions make, on the docs' example shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use hms_shared::ApiError;
use hms_shared::hms::HmsApi;
use hms_shared::hms::active_rooms::{Message, PeerUpdate, Removal};
use hms_shared::hms::live_streams::{StartLiveStream, TimedMetadata};
use hms_shared::hms::recordings::StartRecording;
use hms_shared::hms::rooms::NewRoom;
use hms_shared::input::{AssetId, PeerId, Reason, RecordingId, Role, RoomCode, RoomId, RoomName, SessionId, StreamId};
use serde_json::{Value, json};

use crate::fixtures::example;

/// Behaves like the API on its documented shapes: sessions filtered by room, newest first,
/// `limit`/`start` pagination, 404 for an unknown session, a room without a live session, an
/// unknown code, peer, recording or asset; records what it was asked.
#[derive(Default)]
pub struct FakeHms {
    /// Newest first, as 100ms lists them.
    pub sessions: Vec<Value>,
    /// The rooms created, as the JSON bodies sent.
    pub created: Mutex<Vec<Value>>,
    pub list_calls: Mutex<Vec<(String, u32, Option<String>)>>,
    /// Room codes made, as the docs' room code objects (oldest first).
    pub codes: Mutex<Vec<Value>>,
    /// Each room's live session: its peers, in the docs' list-peers shape. A room with none
    /// here has no live session.
    pub live: Mutex<BTreeMap<String, Vec<Value>>>,
    /// Rooms switched off (`set_room_enabled(false)`, or ended with `lock`).
    pub disabled: Mutex<BTreeSet<String>>,
    /// Recordings, newest first, in the docs' shape (`recording_assets` once completed).
    pub recordings: Mutex<Vec<Value>>,
    /// The `expiry` presigned URLs come with, when not the one asked for.
    pub url_expiry: Option<u64>,
    /// Every call, by the trait method's name, in order.
    pub calls: Mutex<Vec<&'static str>>,
    /// Failures to give: the next call with that name answers the error instead (once).
    pub fail: Mutex<Vec<(&'static str, ApiError)>>,
    /// Messages sent: `{room_id, message, to, type}`.
    pub messages: Mutex<Vec<Value>>,
    /// Recordings paused (`true`) or resumed, by id.
    pub paused: Mutex<BTreeMap<String, bool>>,
    /// What a presigned URL serves (a summary file), and the URLs read.
    pub summary_file: Option<Vec<u8>>,
    pub fetched: Mutex<Vec<String>>,
    /// Live streams, newest first, in the docs' shape.
    pub streams: Mutex<Vec<Value>>,
    /// Timed cues sent: stream id, payload, duration.
    pub cues: Mutex<Vec<(String, String, u32)>>,
}

/// 100ms's 404, with its words.
pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::UpstreamRejected { status: 404, msg: what.into() }
}

pub(crate) fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

impl FakeHms {
    /// The sessions of the docs' examples.
    pub fn from_examples() -> Self {
        let mut sessions: Vec<Value> = example("sessions_list_response.json")["data"].as_array().unwrap().clone();
        sessions.push(example("sessions_retrieve_response.json"));
        Self { sessions, ..Default::default() }
    }

    /// `peer_id` joins `room_id`'s live session (starting one) with `role`, at `joined_at`.
    pub fn join(&self, room_id: &str, peer_id: &str, role: &str, joined_at: &str) {
        let peer = json!({"id": peer_id, "name": format!("name-{peer_id}"), "user_id": format!("user-{peer_id}"),
            "metadata": "", "role": role, "joined_at": joined_at, "tracks": {}});
        self.live.lock().unwrap().entry(room_id.into()).or_default().push(peer);
    }

    /// A completed recording of `room_id` with the docs' assets, its id and the assets' ids made
    /// from `n` (24 hex digits each, as 100ms's).
    pub fn completed_recording(&self, room_id: &str, n: u32) -> Value {
        let mut rec = example("recording_get_response.json");
        rec["id"] = json!(format!("{n:024x}"));
        rec["room_id"] = json!(room_id);
        for (i, asset) in rec["recording_assets"].as_array_mut().unwrap().iter_mut().enumerate() {
            asset["id"] = json!(format!("{:024x}", 0xa55e_7000 + n * 16 + i as u32));
        }
        self.recordings.lock().unwrap().insert(0, rec.clone());
        rec
    }

    /// Notes the call, and gives the failure set for it, if any.
    fn enter(&self, name: &'static str) -> Result<(), ApiError> {
        self.calls.lock().unwrap().push(name);
        let mut fail = self.fail.lock().unwrap();
        match fail.iter().position(|(n, _)| *n == name) {
            Some(i) => Err(fail.remove(i).1),
            None => Ok(()),
        }
    }

    /// The calls made so far, by name.
    pub fn called(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// The next `name` call answers `err`.
    pub fn fail_next(&self, name: &'static str, err: ApiError) {
        self.fail.lock().unwrap().push((name, err));
    }
}

/// For a shared reference, so that a test keeps the fake to look at what it was asked.
impl HmsApi for &FakeHms {
    async fn create_room(&self, room: &NewRoom) -> Result<Vec<u8>, ApiError> {
        self.enter("create_room")?;
        let body = serde_json::to_value(room).unwrap();
        self.created.lock().unwrap().push(body.clone());
        let mut created = example("rooms_create_response.json");
        for (k, v) in body.as_object().unwrap() {
            created[k] = v.clone();
        }
        Ok(serde_json::to_vec(&created).unwrap())
    }

    /// The room created with this name, if any (every room made here has the example's id).
    async fn rooms_named(&self, name: &RoomName) -> Result<Vec<u8>, ApiError> {
        self.enter("rooms_named")?;
        let created = self.created.lock().unwrap();
        let named = created.iter().any(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name.as_str())));
        let data: Vec<Value> = if named {
            let mut room = example("rooms_create_response.json");
            room["name"] = json!(name.as_str());
            vec![room]
        } else {
            vec![]
        };
        Ok(serde_json::to_vec(&json!({"limit": 1, "data": data})).unwrap())
    }

    async fn list_sessions(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.enter("list_sessions")?;
        self.list_calls.lock().unwrap().push((room_id.to_string(), limit, start.map(String::from)));
        let of_room: Vec<&Value> = self.sessions.iter().filter(|s| s["room_id"] == room_id.as_str()).collect();
        let from = match start {
            Some(start) => of_room.iter().position(|s| s["id"] == start).map_or(of_room.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<&Value> = of_room.iter().skip(from).take(limit as usize).copied().collect();
        let last = page.last().map(|s| s["id"].clone());
        let data = if page.is_empty() { Value::Null } else { json!(page) };
        Ok(serde_json::to_vec(&json!({"limit": limit, "data": data, "last": last})).unwrap())
    }

    /// Codes in the docs' form: per role asked, or for the docs' example roles (host, guest)
    /// when none is named.
    async fn create_room_codes(&self, room_id: &RoomId, role: Option<&Role>) -> Result<Vec<u8>, ApiError> {
        self.enter("create_room_codes")?;
        let mut codes = self.codes.lock().unwrap();
        let mut make = |role: &str| {
            let n = codes.len();
            let mut code = example("room_codes_create_for_role_response.json");
            code["code"] = json!(format!("fak-e{n:03}-cod"));
            code["room_id"] = json!(room_id);
            code["role"] = json!(role);
            codes.push(code.clone());
            code
        };
        let body = match role {
            Some(role) => make(role.as_str()),
            None => {
                let data = ["host", "guest"].map(&mut make);
                json!({ "data": data })
            }
        };
        Ok(serde_json::to_vec(&body).unwrap())
    }

    async fn list_room_codes(
        &self,
        room_id: &RoomId,
        role: Option<&Role>,
        enabled: Option<bool>,
        _start: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.enter("list_room_codes")?;
        let codes = self.codes.lock().unwrap();
        let data: Vec<&Value> = codes
            .iter()
            .filter(|c| c["room_id"] == room_id.as_str())
            .filter(|c| role.is_none_or(|r| c["role"] == r.as_str()))
            .filter(|c| enabled.is_none_or(|e| c["enabled"] == e))
            .collect();
        Ok(serde_json::to_vec(&json!({"limit": 100, "data": data, "last": ""})).unwrap())
    }

    async fn get_session(&self, session_id: &SessionId) -> Result<Vec<u8>, ApiError> {
        self.enter("get_session")?;
        match self.sessions.iter().find(|s| s["id"] == session_id.as_str()) {
            Some(s) => Ok(serde_json::to_vec(s).unwrap()),
            None => Err(ApiError::UpstreamRejected { status: 404, msg: "session not found".into() }),
        }
    }

    async fn set_room_enabled(&self, room_id: &RoomId, enabled: bool) -> Result<Vec<u8>, ApiError> {
        self.enter("set_room_enabled")?;
        let mut disabled = self.disabled.lock().unwrap();
        if enabled {
            disabled.remove(room_id.as_str());
        } else {
            disabled.insert(room_id.to_string());
        }
        let mut room = example("rooms_create_response.json");
        room["id"] = json!(room_id);
        room["enabled"] = json!(enabled);
        Ok(bytes(&room))
    }

    async fn set_room_code(&self, code: &RoomCode, enabled: bool) -> Result<Vec<u8>, ApiError> {
        self.enter("set_room_code")?;
        let mut codes = self.codes.lock().unwrap();
        let found = codes.iter_mut().find(|c| c["code"] == code.as_str()).ok_or_else(|| not_found("code not found"))?;
        found["enabled"] = json!(enabled);
        Ok(bytes(found))
    }

    async fn active_peers(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.enter("active_peers")?;
        let live = self.live.lock().unwrap();
        let peers = live.get(room_id.as_str()).ok_or_else(|| not_found("active room not found"))?;
        let by_id: serde_json::Map<String, Value> =
            peers.iter().map(|p| (p["id"].as_str().unwrap().to_string(), p.clone())).collect();
        Ok(bytes(&json!({"peers": by_id})))
    }

    /// One peer by id (404 if not there), or every peer with a role (none is no error).
    async fn remove_peers(&self, room_id: &RoomId, who: &Removal, _reason: &Reason) -> Result<Vec<u8>, ApiError> {
        self.enter("remove_peers")?;
        let mut live = self.live.lock().unwrap();
        let peers = live.get_mut(room_id.as_str()).ok_or_else(|| not_found("active room not found"))?;
        let before = peers.len();
        match who {
            Removal::Peer(id) => peers.retain(|p| p["id"] != id.as_str()),
            Removal::Role(role) => peers.retain(|p| p["role"] != role.as_str()),
        }
        if matches!(who, Removal::Peer(_)) && peers.len() == before {
            return Err(not_found("peer not found"));
        }
        if peers.is_empty() {
            live.remove(room_id.as_str());
        }
        Ok(bytes(&json!({"message": "peer remove request submitted"})))
    }

    async fn end_room(&self, room_id: &RoomId, _reason: &Reason, lock: bool) -> Result<Vec<u8>, ApiError> {
        self.enter("end_room")?;
        self.live.lock().unwrap().remove(room_id.as_str()).ok_or_else(|| not_found("active room not found"))?;
        if lock {
            self.disabled.lock().unwrap().insert(room_id.to_string());
        }
        Ok(bytes(&json!({"message": "session is ending"})))
    }

    /// Records a live session only.
    async fn start_recording(&self, room_id: &RoomId, _start: &StartRecording) -> Result<Vec<u8>, ApiError> {
        self.enter("start_recording")?;
        if !self.live.lock().unwrap().contains_key(room_id.as_str()) {
            return Err(not_found("active room not found"));
        }
        let mut recordings = self.recordings.lock().unwrap();
        let mut rec = example("recording_start_response.json");
        rec["id"] = json!(format!("{:024x}", 0x5ec0_0000 + recordings.len()));
        rec["room_id"] = json!(room_id);
        recordings.insert(0, rec.clone());
        Ok(bytes(&rec))
    }

    async fn stop_recordings(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.enter("stop_recordings")?;
        let mut recordings = self.recordings.lock().unwrap();
        let mut stopped = Vec::new();
        for rec in recordings.iter_mut().filter(|r| r["room_id"] == room_id.as_str()) {
            if rec["status"] == "starting" || rec["status"] == "running" {
                rec["status"] = json!("stopping");
                stopped.push(rec.clone());
            }
        }
        if stopped.is_empty() {
            return Err(not_found("no running recordings found"));
        }
        Ok(bytes(&json!({"limit": 10, "data": stopped, "last": ""})))
    }

    /// The room's (or a session's) recordings, newest first, without their assets (as 100ms
    /// lists them).
    async fn list_recordings(
        &self,
        room_id: &RoomId,
        session: Option<&SessionId>,
        limit: u32,
        start: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.enter("list_recordings")?;
        let recordings = self.recordings.lock().unwrap();
        let of_room: Vec<&Value> = recordings
            .iter()
            .filter(|r| r["room_id"] == room_id.as_str())
            .filter(|r| session.is_none_or(|s| r["session_id"] == s.as_str()))
            .collect();
        let from = start.map_or(0, |s| of_room.iter().position(|r| r["id"] == s).map_or(of_room.len(), |i| i + 1));
        let page: Vec<Value> = of_room
            .iter()
            .skip(from)
            .take(limit as usize)
            .map(|r| {
                let mut r = (*r).clone();
                r.as_object_mut().unwrap().remove("recording_assets");
                r
            })
            .collect();
        let last = page.last().map_or(json!(""), |r| r["id"].clone());
        Ok(bytes(&json!({"limit": limit, "data": page, "last": last})))
    }

    async fn get_recording(&self, id: &RecordingId) -> Result<Vec<u8>, ApiError> {
        self.enter("get_recording")?;
        let recordings = self.recordings.lock().unwrap();
        recordings.iter().find(|r| r["id"] == id.as_str()).map(bytes).ok_or_else(|| not_found("recording not found"))
    }

    /// The asset, with the room (and session) of its recording.
    async fn get_asset(&self, asset_id: &AssetId) -> Result<Vec<u8>, ApiError> {
        self.enter("get_asset")?;
        let recordings = self.recordings.lock().unwrap();
        for rec in recordings.iter() {
            let assets = rec["recording_assets"].as_array().into_iter().flatten();
            if let Some(asset) = assets.into_iter().find(|a| a["id"] == asset_id.as_str()) {
                let mut asset = asset.clone();
                asset["room_id"] = rec["room_id"].clone();
                asset["session_id"] = rec["session_id"].clone();
                return Ok(bytes(&asset));
            }
        }
        Err(not_found("asset not found"))
    }

    async fn presigned_url(&self, asset_id: &AssetId, seconds: u32) -> Result<Vec<u8>, ApiError> {
        self.enter("presigned_url")?;
        let known =
            self.recordings.lock().unwrap().iter().any(|r| {
                r["recording_assets"].as_array().is_some_and(|a| a.iter().any(|a| a["id"] == asset_id.as_str()))
            });
        if !known {
            return Err(not_found("asset not found"));
        }
        let mut url = example("recording_asset_presigned_url_response.json");
        url["id"] = json!(asset_id);
        url["url"] = json!(format!("https://storage.example/{asset_id}?X-Amz-Expires={seconds}"));
        url["expiry"] = json!(self.url_expiry.unwrap_or(u64::from(seconds)));
        Ok(bytes(&url))
    }

    async fn send_message(&self, room_id: &RoomId, msg: &Message) -> Result<Vec<u8>, ApiError> {
        self.enter("send_message")?;
        self.message(room_id, msg)
    }

    async fn update_peer(&self, room_id: &RoomId, peer: &PeerId, update: &PeerUpdate) -> Result<Vec<u8>, ApiError> {
        self.enter("update_peer")?;
        self.change_peer(room_id, peer, update)
    }

    async fn pause_recording(&self, room_id: &RoomId, pause: bool) -> Result<Vec<u8>, ApiError> {
        self.enter(if pause { "pause_recording" } else { "resume_recording" })?;
        self.pause(room_id, pause)
    }

    async fn fetch_presigned(&self, url: &str, _max: usize) -> Result<Vec<u8>, ApiError> {
        self.enter("fetch_presigned")?;
        self.presigned_content(url)
    }

    async fn start_live_stream(&self, room_id: &RoomId, start: &StartLiveStream) -> Result<Vec<u8>, ApiError> {
        self.enter("start_live_stream")?;
        self.stream_start(room_id, start)
    }

    async fn stop_live_streams(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.enter("stop_live_streams")?;
        self.stream_stop(Some(room_id), None)
    }

    async fn stop_live_stream(&self, id: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.enter("stop_live_stream")?;
        self.stream_stop(None, Some(id))
    }

    async fn get_live_stream(&self, id: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.enter("get_live_stream")?;
        self.stream_get(id)
    }

    async fn list_live_streams(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.enter("list_live_streams")?;
        self.stream_list(room_id, limit, start)
    }

    async fn timed_metadata(&self, id: &StreamId, cue: &TimedMetadata) -> Result<Vec<u8>, ApiError> {
        self.enter("timed_metadata")?;
        self.cue(id, cue)
    }
}

//! The in-memory 100ms's live class: messages, peer changes, pausing a recording, the summary
//! file behind a presigned URL, and HLS live streams, in the docs' shapes (the calls of
//! [`FakeHms`]'s trait that touch them land here).

use hms_shared::ApiError;
use hms_shared::hms::active_rooms::{Message, PeerUpdate, Recipient};
use hms_shared::hms::live_streams::{StartLiveStream, TimedMetadata};
use hms_shared::input::{PeerId, RoomId, StreamId};
use serde_json::{Value, json};

use crate::fake_hms::{FakeHms, bytes, not_found};
use crate::fixtures::example;

impl FakeHms {
    pub(crate) fn message(&self, room_id: &RoomId, msg: &Message) -> Result<Vec<u8>, ApiError> {
        let live = self.live.lock().unwrap();
        let peers = live.get(room_id.as_str()).ok_or_else(|| not_found("active room not found"))?;
        if let Recipient::Peer(p) = &msg.to
            && !peers.iter().any(|x| x["id"] == p.as_str())
        {
            return Err(not_found("peer not found"));
        }
        let to = match &msg.to {
            Recipient::Everyone => json!({}),
            Recipient::Role(r) => json!({"role": r}),
            Recipient::Peer(p) => json!({"peer_id": p}),
        };
        self.messages
            .lock()
            .unwrap()
            .push(json!({"room_id": room_id, "message": msg.message, "to": to, "type": msg.kind}));
        Ok(bytes(&example("send_message_response.json")))
    }

    /// A role outside the docs' example roles (host, guest, viewer) is 100ms's 400.
    pub(crate) fn change_peer(
        &self,
        room_id: &RoomId,
        peer: &PeerId,
        update: &PeerUpdate,
    ) -> Result<Vec<u8>, ApiError> {
        if update.role.as_ref().is_some_and(|r| !["host", "guest", "viewer"].contains(&r.as_str())) {
            return Err(ApiError::UpstreamRejected { status: 400, msg: "invalid role".into() });
        }
        let mut live = self.live.lock().unwrap();
        let peers = live.get_mut(room_id.as_str()).ok_or_else(|| not_found("active room not found"))?;
        let found = peers.iter_mut().find(|x| x["id"] == peer.as_str()).ok_or_else(|| not_found("peer not found"))?;
        for (k, v) in serde_json::to_value(update).unwrap().as_object().unwrap() {
            found[k] = v.clone();
        }
        Ok(bytes(found))
    }

    /// The room's running recording, marked paused (100ms's answer still says `running`).
    pub(crate) fn pause(&self, room_id: &RoomId, pause: bool) -> Result<Vec<u8>, ApiError> {
        let mut recordings = self.recordings.lock().unwrap();
        let rec = recordings
            .iter_mut()
            .find(|r| r["room_id"] == room_id.as_str() && (r["status"] == "running" || r["status"] == "starting"))
            .ok_or_else(|| not_found("no running recording found"))?;
        rec["status"] = json!("running");
        self.paused.lock().unwrap().insert(rec["id"].as_str().unwrap().to_string(), pause);
        Ok(bytes(rec))
    }

    pub(crate) fn presigned_content(&self, url: &str) -> Result<Vec<u8>, ApiError> {
        self.fetched.lock().unwrap().push(url.to_string());
        self.summary_file.clone().ok_or_else(|| ApiError::upstream(hms_shared::ErrorCode::UpstreamError, "no file"))
    }

    /// A stream of the live session, `starting`, as the docs' start answer.
    pub(crate) fn stream_start(&self, room_id: &RoomId, start: &StartLiveStream) -> Result<Vec<u8>, ApiError> {
        if !self.live.lock().unwrap().contains_key(room_id.as_str()) {
            return Err(not_found("active room not found"));
        }
        let mut streams = self.streams.lock().unwrap();
        let mut s = example("live_stream_start_response.json");
        s["id"] = json!(format!("{:024x}", 0x57e0_0000 + streams.len()));
        s["room_id"] = json!(room_id);
        s["recording"] = serde_json::to_value(start.recording.unwrap_or_default()).unwrap();
        streams.insert(0, s.clone());
        Ok(bytes(&s))
    }

    pub(crate) fn stream_stop(&self, room: Option<&RoomId>, id: Option<&StreamId>) -> Result<Vec<u8>, ApiError> {
        let mut streams = self.streams.lock().unwrap();
        let mut stopped = Vec::new();
        for s in streams.iter_mut() {
            let hit = room.is_some_and(|r| s["room_id"] == r.as_str()) || id.is_some_and(|i| s["id"] == i.as_str());
            if hit && (s["status"] == "starting" || s["status"] == "running") {
                s["status"] = json!("stopping");
                stopped.push(s.clone());
            }
        }
        match (stopped.is_empty(), id) {
            (true, _) => Err(not_found("no running live stream found")),
            (false, Some(_)) => Ok(bytes(&stopped[0])),
            (false, None) => Ok(bytes(&json!({"error": "", "data": stopped, "limit": 10, "last": ""}))),
        }
    }

    pub(crate) fn stream_get(&self, id: &StreamId) -> Result<Vec<u8>, ApiError> {
        let streams = self.streams.lock().unwrap();
        streams.iter().find(|s| s["id"] == id.as_str()).map(bytes).ok_or_else(|| not_found("live stream not found"))
    }

    pub(crate) fn stream_list(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        let streams = self.streams.lock().unwrap();
        let of_room: Vec<&Value> = streams.iter().filter(|s| s["room_id"] == room_id.as_str()).collect();
        let from = start.map_or(0, |s| of_room.iter().position(|r| r["id"] == s).map_or(of_room.len(), |i| i + 1));
        let page: Vec<&Value> = of_room.iter().skip(from).take(limit as usize).copied().collect();
        let last = page.last().map_or(json!(""), |r| r["id"].clone());
        Ok(bytes(&json!({"limit": limit, "data": page, "last": last})))
    }

    /// A cue for a running stream; any other is 100ms's 404 (the docs say nothing; the emulator
    /// chooses the same).
    pub(crate) fn cue(&self, id: &StreamId, cue: &TimedMetadata) -> Result<Vec<u8>, ApiError> {
        let mut streams = self.streams.lock().unwrap();
        let s =
            streams.iter_mut().find(|s| s["id"] == id.as_str()).ok_or_else(|| not_found("live stream not found"))?;
        s["status"] = json!("running");
        self.cues.lock().unwrap().push((id.to_string(), cue.payload.clone(), cue.duration));
        Ok(bytes(s))
    }
}

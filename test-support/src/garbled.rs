//! A 100ms that answers every call with a 2xx whose body is not what the docs describe, for the
//! tests that every such answer is a 502 `upstream_invalid_response` (never a panic, never a 200
//! built on nothing).

use hms_shared::ApiError;
use hms_shared::hms::HmsApi;
use hms_shared::hms::active_rooms::{Message, PeerUpdate, Removal};
use hms_shared::hms::live_streams::{StartLiveStream, TimedMetadata};
use hms_shared::hms::recordings::StartRecording;
use hms_shared::hms::rooms::NewRoom;
use hms_shared::input::{AssetId, PeerId, Reason, RecordingId, Role, RoomCode, RoomId, RoomName, SessionId, StreamId};

/// Answers every call with these bytes.
#[derive(Debug, Clone, Copy)]
pub struct Garbled(pub &'static [u8]);

/// The bodies tried: not JSON, a list where an object belongs, an object of the wrong shape.
pub const GARBAGE: [&[u8]; 3] = [b"not json", b"[1,2]", br#"{"data": 7, "peers": 7, "id": 7}"#];

impl Garbled {
    fn answer(&self) -> Result<Vec<u8>, ApiError> {
        Ok(self.0.to_vec())
    }
}

impl HmsApi for Garbled {
    async fn create_room(&self, _: &NewRoom) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn rooms_named(&self, _: &RoomName) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn set_room_enabled(&self, _: &RoomId, _: bool) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn list_sessions(&self, _: &RoomId, _: u32, _: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn get_session(&self, _: &SessionId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn create_room_codes(&self, _: &RoomId, _: Option<&Role>) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn list_room_codes(
        &self,
        _: &RoomId,
        _: Option<&Role>,
        _: Option<bool>,
        _: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn set_room_code(&self, _: &RoomCode, _: bool) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn active_peers(&self, _: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn remove_peers(&self, _: &RoomId, _: &Removal, _: &Reason) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn end_room(&self, _: &RoomId, _: &Reason, _: bool) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn start_recording(&self, _: &RoomId, _: &StartRecording) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn stop_recordings(&self, _: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn list_recordings(
        &self,
        _: &RoomId,
        _: Option<&SessionId>,
        _: u32,
        _: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn get_recording(&self, _: &RecordingId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn get_asset(&self, _: &AssetId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn presigned_url(&self, _: &AssetId, _: u32) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn send_message(&self, _: &RoomId, _: &Message) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn update_peer(&self, _: &RoomId, _: &PeerId, _: &PeerUpdate) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn pause_recording(&self, _: &RoomId, _: bool) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn fetch_presigned(&self, _: &str, _: usize) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn start_live_stream(&self, _: &RoomId, _: &StartLiveStream) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn stop_live_streams(&self, _: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn stop_live_stream(&self, _: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn get_live_stream(&self, _: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn list_live_streams(&self, _: &RoomId, _: u32, _: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
    async fn timed_metadata(&self, _: &StreamId, _: &TimedMetadata) -> Result<Vec<u8>, ApiError> {
        self.answer()
    }
}

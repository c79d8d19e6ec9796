//! The 100ms REST client: management-token auth with refresh and re-read on 401/403, bounded
//! retries of idempotent calls, timeouts on every request, and 100ms answers mapped to
//! [`ApiError`]. One file per 100ms area ([`rooms`], [`sessions`], [`room_codes`],
//! [`active_rooms`], [`recordings`], [`live_streams`], and [`analytics`]: the webhook delivery log and its replay,
//! for `reconcile`) for its shapes and calls; `call` is the one path every request takes.
//!
//! Which calls are retried on 429, 5xx or a failed connection (`idempotent`): every GET; the
//! POSTs whose repeat does what the first did (a room create with a name, a room code's or a
//! room's enabled flag, removing one peer by id, changing a peer, stopping a room's recordings or
//! streams, pausing or resuming a recording). Not retried: a room create without a name,
//! creating room codes, removing peers by role (a repeat would remove who joined since), ending a
//! room, starting a recording or a stream, a message, a timed cue (a repeat would show it twice). A connection that could not be made
//! sent nothing, so that alone is retried for every call.

pub mod active_rooms;
pub mod analytics;
mod call;
pub mod live_streams;
pub mod recordings;
pub mod room_codes;
pub mod rooms;
pub mod sessions;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use crate::credentials::{CredentialStore, SecretSource};
use crate::error::ApiError;
use crate::input::{AssetId, PeerId, Reason, RecordingId, Role, RoomCode, RoomId, RoomName, SessionId, StreamId};
use crate::tls::Roots;
use crate::tokens::ManagementTokenCache;
use active_rooms::{Message, PeerUpdate, Removal};
use live_streams::{StartLiveStream, TimedMetadata};
use recordings::StartRecording;
use rooms::NewRoom;

/// Connect timeout towards 100ms.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest single request to 100ms (headers and body).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one call may take in all, retries included: well inside API Gateway's 29 s.
pub const CALL_BUDGET: Duration = Duration::from_secs(20);
/// Attempts of an idempotent call on 429, 5xx or a connection failure.
pub const MAX_ATTEMPTS: u32 = 3;
/// First backoff; doubled per attempt, with jitter.
pub const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// A Retry-After longer than this is not waited for: the call fails instead.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Time kept back from the Lambda deadline: enough to answer with a clean 504 before Lambda
/// kills the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// Largest answer we read from 100ms.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// The 100ms API as the handlers use it: every call the functions make, one method each, grouped
/// by the area file that describes its request. Answers are the raw JSON bytes of a 2xx answer;
/// a 4xx is [`ApiError::UpstreamRejected`] with 100ms's status. The seam handler tests swap for
/// a double.
pub trait HmsApi: Send + Sync {
    // Rooms (`rooms`).
    /// `POST /rooms` with the given room.
    fn create_room(&self, room: &NewRoom) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /rooms?name=`: the rooms with this name (100ms names are unique, case-insensitively).
    fn rooms_named(&self, name: &RoomName) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /rooms/{id} {"enabled": ...}`.
    fn set_room_enabled(
        &self,
        room_id: &RoomId,
        enabled: bool,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    // Sessions (`sessions`).
    /// `GET /sessions` for a room, one page; `start` is the `last` of the page before.
    fn list_sessions(
        &self,
        room_id: &RoomId,
        limit: u32,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /sessions/{id}`.
    fn get_session(&self, session_id: &SessionId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    // Room codes (`room_codes`).
    /// Creates room codes: for every role of the room's template, or for `role`.
    fn create_room_codes(
        &self,
        room_id: &RoomId,
        role: Option<&Role>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /room-codes/room/{id}`, one page of [`room_codes::LIST_PAGE_LIMIT`].
    fn list_room_codes(
        &self,
        room_id: &RoomId,
        role: Option<&Role>,
        enabled: Option<bool>,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /room-codes/code {code, enabled}`.
    fn set_room_code(&self, code: &RoomCode, enabled: bool) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    // Active rooms (`active_rooms`).
    /// `GET /active-rooms/{id}/peers`.
    fn active_peers(&self, room_id: &RoomId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /active-rooms/{id}/remove-peers`: one peer, or every peer with a role.
    fn remove_peers(
        &self,
        room_id: &RoomId,
        who: &Removal,
        reason: &Reason,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /active-rooms/{id}/end-room {reason, lock}`.
    fn end_room(
        &self,
        room_id: &RoomId,
        reason: &Reason,
        lock: bool,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /active-rooms/{id}/send-message`.
    fn send_message(&self, room_id: &RoomId, msg: &Message) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /active-rooms/{id}/peers/{peer_id}`: a new role, name or metadata.
    fn update_peer(
        &self,
        room_id: &RoomId,
        peer: &PeerId,
        update: &PeerUpdate,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    // Recordings (`recordings`).
    /// `POST /recordings/room/{id}/start`.
    fn start_recording(
        &self,
        room_id: &RoomId,
        start: &StartRecording,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /recordings/room/{id}/stop`: every recording of the room.
    fn stop_recordings(&self, room_id: &RoomId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /recordings/room/{id}/pause` (`pause`) or `.../resume`.
    fn pause_recording(&self, room_id: &RoomId, pause: bool) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /recordings?room_id=[&session_id=]`, one page, newest first.
    fn list_recordings(
        &self,
        room_id: &RoomId,
        session: Option<&SessionId>,
        limit: u32,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /recordings/{id}`, with its assets.
    fn get_recording(&self, id: &RecordingId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /recording-assets/{id}`: the asset, with the room it is of.
    fn get_asset(&self, asset_id: &AssetId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /recording-assets/{id}/presigned-url?presign_duration=`.
    fn presigned_url(&self, asset_id: &AssetId, seconds: u32)
    -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// The content of a presigned URL 100ms gave for an asset (its summary), at most `max`
    /// bytes: a GET to 100ms's storage, without the management token.
    fn fetch_presigned(&self, url: &str, max: usize) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;

    // Live streams (`live_streams`).
    /// `POST /live-streams/room/{id}/start`.
    fn start_live_stream(
        &self,
        room_id: &RoomId,
        start: &StartLiveStream,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /live-streams/room/{id}/stop`: every stream of the room.
    fn stop_live_streams(&self, room_id: &RoomId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /live-streams/{id}/stop`.
    fn stop_live_stream(&self, id: &StreamId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /live-streams/{id}`.
    fn get_live_stream(&self, id: &StreamId) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /live-streams?room_id=`, one page.
    fn list_live_streams(
        &self,
        room_id: &RoomId,
        limit: u32,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `POST /live-streams/{id}/timed-metadata`.
    fn timed_metadata(
        &self,
        id: &StreamId,
        cue: &TimedMetadata,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
}

/// A verbatim example of 100ms's docs (`tests/fixtures/100ms-examples/`), for the area files'
/// tests.
#[cfg(test)]
pub(crate) fn example(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/100ms-examples/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The real client.
#[derive(Debug)]
pub struct HmsClient<S> {
    base_url: String,
    credentials: CredentialStore<S>,
    management: ManagementTokenCache,
    /// The TLS trust roots of `http`.
    roots: Roots,
    /// Built on first use: loading the TLS roots costs milliseconds a cold start need not pay.
    http: OnceLock<Result<reqwest::Client, String>>,
    /// The credentials 100ms last refused even after a fresh token and a re-read, and when: for
    /// [`REJECTED_BACKOFF`] after that, a request with them is tried once, not three times with
    /// a secret read (a wrong secret must not triple every request's cost).
    rejected: std::sync::Mutex<Option<(std::sync::Weak<crate::credentials::Credentials>, std::time::Instant)>>,
}

/// How long credentials 100ms refused are tried only once per request.
pub const REJECTED_BACKOFF: Duration = Duration::from_secs(30);

impl<S: SecretSource> HmsClient<S> {
    /// A client of the 100ms API at `base_url` (no trailing slash), authenticating with the
    /// credentials `credentials` holds, trusting `roots`.
    pub fn new(base_url: String, credentials: CredentialStore<S>, roots: Roots) -> Self {
        Self {
            base_url,
            credentials,
            roots,
            management: ManagementTokenCache::new(),
            http: OnceLock::new(),
            rejected: std::sync::Mutex::default(),
        }
    }
}

/// Each call's request is described in its area's file; every one takes the same path
/// ([`call`]).
impl<S: SecretSource> HmsApi for HmsClient<S> {
    async fn create_room(&self, room: &NewRoom) -> Result<Vec<u8>, ApiError> {
        self.call(&rooms::create_call(room)?).await
    }

    async fn rooms_named(&self, name: &RoomName) -> Result<Vec<u8>, ApiError> {
        self.call(&rooms::named_call(name)).await
    }

    async fn set_room_enabled(&self, room_id: &RoomId, enabled: bool) -> Result<Vec<u8>, ApiError> {
        self.call(&rooms::enabled_call(room_id, enabled)?).await
    }

    async fn list_sessions(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.call(&sessions::list_call(room_id, limit, start)).await
    }

    async fn get_session(&self, session_id: &SessionId) -> Result<Vec<u8>, ApiError> {
        self.call(&sessions::get_call(session_id)).await
    }

    async fn create_room_codes(&self, room_id: &RoomId, role: Option<&Role>) -> Result<Vec<u8>, ApiError> {
        self.call(&room_codes::create_call(room_id, role)).await
    }

    async fn list_room_codes(
        &self,
        room_id: &RoomId,
        role: Option<&Role>,
        enabled: Option<bool>,
        start: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.call(&room_codes::list_call(room_id, role, enabled, start)).await
    }

    async fn set_room_code(&self, code: &RoomCode, enabled: bool) -> Result<Vec<u8>, ApiError> {
        self.call(&room_codes::switch_call(code, enabled)?).await
    }

    async fn active_peers(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.call(&active_rooms::peers_call(room_id)).await
    }

    async fn remove_peers(&self, room_id: &RoomId, who: &Removal, reason: &Reason) -> Result<Vec<u8>, ApiError> {
        self.call(&active_rooms::remove_call(room_id, who, reason)?).await
    }

    async fn end_room(&self, room_id: &RoomId, reason: &Reason, lock: bool) -> Result<Vec<u8>, ApiError> {
        self.call(&active_rooms::end_call(room_id, reason, lock)?).await
    }

    async fn send_message(&self, room_id: &RoomId, msg: &Message) -> Result<Vec<u8>, ApiError> {
        self.call(&active_rooms::message_call(room_id, msg)?).await
    }

    async fn update_peer(&self, room_id: &RoomId, peer: &PeerId, update: &PeerUpdate) -> Result<Vec<u8>, ApiError> {
        self.call(&active_rooms::update_peer_call(room_id, peer, update)?).await
    }

    async fn pause_recording(&self, room_id: &RoomId, pause: bool) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::pause_call(room_id, pause)).await
    }

    async fn start_recording(&self, room_id: &RoomId, start: &StartRecording) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::start_call(room_id, start)?).await
    }

    async fn stop_recordings(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::stop_call(room_id)).await
    }

    async fn list_recordings(
        &self,
        room_id: &RoomId,
        session: Option<&SessionId>,
        limit: u32,
        start: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::list_call(room_id, session, limit, start)).await
    }

    async fn get_recording(&self, id: &RecordingId) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::get_call(id)).await
    }

    async fn get_asset(&self, asset_id: &AssetId) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::asset_call(asset_id)).await
    }

    async fn presigned_url(&self, asset_id: &AssetId, seconds: u32) -> Result<Vec<u8>, ApiError> {
        self.call(&recordings::presigned_call(asset_id, seconds)).await
    }

    async fn fetch_presigned(&self, url: &str, max: usize) -> Result<Vec<u8>, ApiError> {
        self.fetch(url, max).await
    }

    async fn start_live_stream(&self, room_id: &RoomId, start: &StartLiveStream) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::start_call(room_id, start)?).await
    }

    async fn stop_live_streams(&self, room_id: &RoomId) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::stop_room_call(room_id)?).await
    }

    async fn stop_live_stream(&self, id: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::stop_call(id)?).await
    }

    async fn get_live_stream(&self, id: &StreamId) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::get_call(id)).await
    }

    async fn list_live_streams(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::list_call(room_id, limit, start)).await
    }

    async fn timed_metadata(&self, id: &StreamId, cue: &TimedMetadata) -> Result<Vec<u8>, ApiError> {
        self.call(&live_streams::timed_metadata_call(id, cue)?).await
    }
}

//! `room-control`: what a host does with a room beyond creating it. Room codes ([`codes`]), who
//! is in the room, removing a peer and ending the session ([`peers`]), messages, a peer's role
//! or name, locking and unlocking ([`live`]), recordings, their transcripts, summaries and links
//! ([`recordings`], [`transcription`]), HLS live streams ([`streams`]), who may join
//! ([`members`]). Every route is a host operation: with `CALLER_AUTH=jwt` each is for the room's
//! owner and admins (`owners`); anyone else hears 404.

pub mod codes;
pub mod live;
pub mod members;
pub mod peers;
pub mod recordings;
pub mod streams;
pub mod transcription;

use lambda_http::http::Method;

use super::Function;
use crate::auth::{Caller, RoleAllowList};
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::active_rooms::Removal;
use crate::hosts::HostPatterns;
use crate::input::{AssetId, RoomId};
use crate::owners::RoomAccess;

pub use codes::{ROOM_CODES_DISABLE_PATH, ROOM_CODES_ENABLE_PATH, ROOM_CODES_PATH};
pub use live::{ROOM_ENABLED_PATH, SEND_MESSAGE_PATH, UPDATE_PEER_PATH};
pub use members::{
    ROOM_ACCESS_PATH, ROOM_MEMBERS_BAN_PATH, ROOM_MEMBERS_PATH, ROOM_MEMBERS_REMOVE_PATH, ROOM_MEMBERS_UNBAN_PATH,
};
pub use peers::{ACTIVE_PEERS_PATH, END_ROOM_PATH, REMOVE_PEER_PATH};
pub use recordings::{
    RECORDING_SUMMARY_PATH, RECORDING_URL_PATH, RECORDINGS_PATH, RECORDINGS_PAUSE_PATH, RECORDINGS_RESUME_PATH,
    RECORDINGS_START_PATH, RECORDINGS_STOP_PATH,
};
pub use streams::{LIVE_STREAMS_PATH, LIVE_STREAMS_START_PATH, LIVE_STREAMS_STOP_PATH, TIMED_METADATA_PATH};

/// The `room-control` function.
pub struct RoomControl<H> {
    pub hms: H,
    /// The roles room codes may be made (or enabled) for: `ALLOWED_ROLES`, as for tokens.
    pub roles: RoleAllowList,
    /// Who may run which room.
    pub access: RoomAccess,
    /// `MEETING_URL_HOSTS`: where a recording's `meeting_url` may point.
    pub meeting_hosts: HostPatterns,
}

impl<H: HmsApi> Function for RoomControl<H> {
    const ROUTES: &'static [Route] = &[
        Route { path: ROOM_CODES_PATH, method: Method::POST },
        Route { path: ROOM_CODES_PATH, method: Method::GET },
        Route { path: ROOM_CODES_DISABLE_PATH, method: Method::POST },
        Route { path: ROOM_CODES_ENABLE_PATH, method: Method::POST },
        Route { path: ACTIVE_PEERS_PATH, method: Method::GET },
        Route { path: REMOVE_PEER_PATH, method: Method::POST },
        Route { path: END_ROOM_PATH, method: Method::POST },
        Route { path: RECORDINGS_START_PATH, method: Method::POST },
        Route { path: RECORDINGS_STOP_PATH, method: Method::POST },
        Route { path: RECORDINGS_PATH, method: Method::GET },
        Route { path: RECORDING_URL_PATH, method: Method::GET },
        Route { path: ROOM_ACCESS_PATH, method: Method::POST },
        Route { path: ROOM_MEMBERS_PATH, method: Method::POST },
        Route { path: ROOM_MEMBERS_PATH, method: Method::GET },
        Route { path: ROOM_MEMBERS_REMOVE_PATH, method: Method::POST },
        Route { path: ROOM_MEMBERS_BAN_PATH, method: Method::POST },
        Route { path: ROOM_MEMBERS_UNBAN_PATH, method: Method::POST },
        Route { path: SEND_MESSAGE_PATH, method: Method::POST },
        Route { path: UPDATE_PEER_PATH, method: Method::POST },
        Route { path: ROOM_ENABLED_PATH, method: Method::POST },
        Route { path: RECORDINGS_PAUSE_PATH, method: Method::POST },
        Route { path: RECORDINGS_RESUME_PATH, method: Method::POST },
        Route { path: RECORDING_SUMMARY_PATH, method: Method::GET },
        Route { path: LIVE_STREAMS_START_PATH, method: Method::POST },
        Route { path: LIVE_STREAMS_STOP_PATH, method: Method::POST },
        Route { path: LIVE_STREAMS_PATH, method: Method::GET },
        Route { path: TIMED_METADATA_PATH, method: Method::POST },
    ];

    /// Every route parses its input first (a caller's mistake is a 400 whoever calls), then
    /// checks that the caller may run the room (404 if not), then acts.
    async fn call(&self, route: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        let caller = self.access.auth.caller(&req.claims)?;
        let hms = &self.hms;
        let body = req.body.as_deref();
        let access = &self.access;
        let by = caller.sub().unwrap_or("-");
        match (route, &req.method) {
            (ROOM_CODES_PATH, &Method::POST) => {
                let ask = codes::create_request(body, &self.roles)?;
                access.require_room(&caller, &ask.room_id).await?;
                codes::require_code_roles(&caller, ask.roles.as_deref(), &self.roles)?;
                access.require_codes_allowed(&ask.room_id).await?;
                codes::create(hms, &ask, &self.roles).await
            }
            (ROOM_CODES_PATH, _) => {
                let room_id: RoomId = req.required_param("room_id")?;
                let role = req.param("role")?;
                let enabled = req.param::<crate::paging::Flag>("enabled")?.map(|f| f.0);
                access.require_room(&caller, &room_id).await?;
                codes::list(hms, &room_id, role.as_ref(), enabled).await
            }
            (ROOM_CODES_DISABLE_PATH | ROOM_CODES_ENABLE_PATH, _) => {
                let (code, room) = codes::code_request(body)?;
                let enable = route == ROOM_CODES_ENABLE_PATH;
                let roles = &self.roles;
                match room {
                    // The code's role and room are known before anything is switched.
                    Some(room) => {
                        access.require_room(&caller, &room).await?;
                        let known = codes::code_of(hms, &room, &code).await?;
                        if enable {
                            codes::require_enable(&caller, access, &known, roles).await?;
                        }
                        codes::switch(hms, &code, enable, async |_| Ok(())).await
                    }
                    None if caller.is_admin() => {
                        codes::switch(hms, &code, enable, async |updated| {
                            codes::require_enable(&caller, access, updated, roles).await
                        })
                        .await
                    }
                    None => Err(ApiError::bad_request(
                        ErrorCode::MissingField,
                        "field 'room_id' is required: the room the code is of (only admins may leave it out)",
                    )),
                }
            }
            (ACTIVE_PEERS_PATH, _) => {
                let room_id: RoomId = req.required_param("room_id")?;
                access.require_room(&caller, &room_id).await?;
                peers::active(hms, &room_id).await
            }
            (REMOVE_PEER_PATH, _) => {
                let ask = peers::removal_request(body)?;
                access.require_room(&caller, &ask.room_id).await?;
                // The ban is kept before the peer is removed: its next token request is refused.
                let banned = match (&ask.who, ask.ban) {
                    (Removal::Peer(peer), true) => {
                        Some(peers::ban_peer(hms, access.owners()?, &ask.room_id, peer, by).await?)
                    }
                    _ => None,
                };
                peers::remove(hms, &ask, banned.as_ref()).await
            }
            (END_ROOM_PATH, _) => {
                let ask = peers::end_request(body)?;
                access.require_room(&caller, &ask.room_id).await?;
                peers::end(hms, &ask).await
            }
            (RECORDINGS_START_PATH, _) => {
                let ask = recordings::start_request(body, &self.meeting_hosts)?;
                access.require_room(&caller, &ask.room_id).await?;
                recordings::start(hms, &ask).await
            }
            (RECORDINGS_STOP_PATH, _) => {
                let ask = recordings::room_request(body)?;
                access.require_room(&caller, &ask).await?;
                recordings::stop(hms, &ask).await
            }
            (RECORDINGS_PAUSE_PATH | RECORDINGS_RESUME_PATH, _) => {
                let room = recordings::room_request(body)?;
                access.require_room(&caller, &room).await?;
                recordings::pause(hms, &room, route == RECORDINGS_PAUSE_PATH).await
            }
            (RECORDINGS_PATH, _) => {
                let room_id: RoomId = req.required_param("room_id")?;
                let session = req.param("session_id")?;
                let limit =
                    req.param("limit")?.unwrap_or(recordings::RecordingListLimit::new(recordings::DEFAULT_LIMIT));
                let cursor = req.param("cursor")?;
                access.require_room(&caller, &room_id).await?;
                recordings::list(hms, &room_id, session.as_ref(), limit, cursor.as_ref()).await
            }
            (RECORDING_URL_PATH, _) => {
                let asset_id = req.required_param("asset_id")?;
                let duration = req.param("duration")?.unwrap_or_default();
                if !caller.is_admin() {
                    asset_room(self, &caller, &asset_id).await?;
                }
                recordings::url(hms, &asset_id, duration, chrono::Utc::now()).await
            }
            (RECORDING_SUMMARY_PATH, _) => {
                let asset_id = req.required_param("asset_id")?;
                let asset = asset_room(self, &caller, &asset_id).await?;
                recordings::summary(hms, &asset_id, &asset).await
            }
            (SEND_MESSAGE_PATH, _) => {
                let ask = live::message_request(body)?;
                access.require_room(&caller, &ask.room_id).await?;
                live::send(hms, &ask).await
            }
            (UPDATE_PEER_PATH, _) => {
                let ask = live::update_request(body)?;
                access.require_room(&caller, &ask.room_id).await?;
                // A role is given only by someone who could get a token of it in this room.
                if let Some(role) = &ask.update.role {
                    caller.require_role(role, &self.roles)?;
                    access.require_join(&caller, &ask.room_id, role).await?;
                }
                live::update(hms, &ask).await
            }
            (ROOM_ENABLED_PATH, _) => {
                let (room, enabled) = live::enabled_request(body)?;
                access.require_room(&caller, &room).await?;
                live::set_enabled(hms, &room, enabled).await
            }
            (LIVE_STREAMS_START_PATH, _) => {
                let ask = streams::start_request(body, &self.meeting_hosts)?;
                access.require_room(&caller, &ask.room_id).await?;
                streams::start(hms, &ask).await
            }
            (LIVE_STREAMS_STOP_PATH, _) => {
                let (room, one) = streams::stop_request(body)?;
                access.require_room(&caller, &room).await?;
                if let Some(id) = &one {
                    streams::require_stream_of(hms, &room, id).await?;
                }
                streams::stop(hms, &room, one.as_ref()).await
            }
            (LIVE_STREAMS_PATH, _) => {
                let room_id: RoomId = req.required_param("room_id")?;
                let limit = req.param("limit")?.unwrap_or(streams::StreamListLimit::new(streams::DEFAULT_LIMIT));
                let cursor = req.param("cursor")?;
                access.require_room(&caller, &room_id).await?;
                streams::list(hms, &room_id, limit, cursor.as_ref()).await
            }
            (TIMED_METADATA_PATH, _) => {
                let ask = streams::cue_request(body)?;
                access.require_room(&caller, &ask.room_id).await?;
                streams::require_stream_of(hms, &ask.room_id, &ask.stream_id).await?;
                streams::cue(hms, &ask).await
            }
            (ROOM_ACCESS_PATH, _) => {
                let (room, room_access) = members::access_request(body)?;
                access.require_room(&caller, &room).await?;
                members::set_access(hms, access.owners()?, &room, room_access, by).await
            }
            (ROOM_MEMBERS_PATH, &Method::POST) => {
                let ask = members::members_request(body, &self.roles)?;
                access.require_room(&caller, &ask.room_id).await?;
                members::put(access.owners()?, &ask, by).await
            }
            (ROOM_MEMBERS_PATH, _) => {
                let room_id: RoomId = req.required_param("room_id")?;
                let limit = req.param("limit")?.unwrap_or(members::MemberLimit::new(members::DEFAULT_MEMBER_LIMIT));
                let after = req.param("cursor")?.as_ref().map(members::decode_cursor).transpose()?;
                access.require_room(&caller, &room_id).await?;
                members::list(access.owners()?, &room_id, limit, after.as_ref()).await
            }
            (ROOM_MEMBERS_REMOVE_PATH, _) => {
                let (room, user) = members::member_request(body)?;
                access.require_room(&caller, &room).await?;
                members::remove(access.owners()?, &room, &user).await
            }
            (ROOM_MEMBERS_BAN_PATH | ROOM_MEMBERS_UNBAN_PATH, _) => {
                let (room, user) = members::member_request(body)?;
                access.require_room(&caller, &room).await?;
                members::ban(access.owners()?, &room, &user, route == ROOM_MEMBERS_BAN_PATH, by).await
            }
            (other, _) => Err(ApiError::Internal(format!("route {other} is listed but has no handler"))),
        }
    }
}

/// The asset, after a check that it exists and the caller may run its room: an asset of someone
/// else's room is as unknown as one that does not exist (404). Admins may run every room.
/// 100ms's words are left out of this 404: with them, an asset of another room and one that
/// does not exist would read differently.
async fn asset_room<H: HmsApi>(
    f: &RoomControl<H>,
    caller: &Caller<'_>,
    asset_id: &AssetId,
) -> Result<serde_json::Value, ApiError> {
    let unknown =
        || ApiError::NotFound { code: ErrorCode::UpstreamNotFound, msg: format!("asset {asset_id} does not exist") };
    let bytes = f.hms.get_asset(asset_id).await.map_err(|e| match e {
        ApiError::UpstreamRejected { status: 404, .. } => unknown(),
        other => other,
    })?;
    let asset: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms answered GET /recording-assets/{id} with no JSON")
    })?;
    if caller.is_admin() {
        return Ok(asset);
    }
    let room = asset["room_id"].as_str().and_then(|r| crate::input::Parse::parse(r).ok()).ok_or_else(unknown)?;
    f.access.require_room(caller, &room).await.map_err(|e| match e {
        ApiError::NotFound { .. } => unknown(),
        other => other,
    })?;
    Ok(asset)
}

/// 100ms's 404 as this API's 404: `code`, then what is missing from the route's point of view
/// (`what`, built only then) and 100ms's own words; any other error unchanged. Every 100ms 404
/// room-control passes on goes through here (`asset_room` hides one instead).
pub(crate) fn upstream_404(code: ErrorCode, what: impl FnOnce() -> String) -> impl FnOnce(ApiError) -> ApiError {
    move |e| match e {
        ApiError::UpstreamRejected { status: 404, msg } => {
            ApiError::NotFound { code, msg: format!("{} (100ms: {msg})", what()) }
        }
        other => other,
    }
}

/// A 404 from 100ms where the room has no live session: the room's `session_not_found`.
pub(crate) fn no_live_session(room_id: &RoomId) -> impl FnOnce(ApiError) -> ApiError + '_ {
    upstream_404(ErrorCode::SessionNotFound, move || format!("room {room_id} has no live session"))
}

/// A room-control body for the unit tests: `{"room_id": <a room>` then `extra` (`,"k":v...`).
#[cfg(test)]
pub(crate) fn test_body(extra: &str) -> Vec<u8> {
    format!(r#"{{"room_id":"631b2654f771854d9bf633df"{extra}}}"#).into_bytes()
}

/// 100ms's `{"message": ...}` (an action's answer: "message sent", "session is ending"), or empty.
pub(crate) fn upstream_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(serde_json::Value::as_str).map(String::from))
        .unwrap_or_default()
}

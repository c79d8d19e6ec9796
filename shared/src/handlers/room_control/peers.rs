//! Who is in the room now (`GET /active-peers`), removing someone (`POST /remove-peer`) and
//! ending the session (`POST /end-room`, with `lock` so nobody rejoins).

use serde_json::json;

use super::{no_live_session, upstream_404, upstream_message};
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::active_rooms::{ActivePeers, Removal};
use crate::hms::sessions;
use crate::input::{
    MemberId, Parse, PeerId, Reason, Role, RoomId, json_object, only_fields, opt_bool, opt_field, req_field,
};
use crate::store::Owners;

pub const ACTIVE_PEERS_PATH: &str = "/active-peers";
pub const REMOVE_PEER_PATH: &str = "/remove-peer";
pub const END_ROOM_PATH: &str = "/end-room";

/// A parsed `POST /remove-peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovePeer {
    pub room_id: RoomId,
    pub who: Removal,
    pub reason: Reason,
    /// Also bar the peer's `user_id` from new tokens for the room (with `peer_id` only).
    pub ban: bool,
}

/// Parses `{room_id, peer_id | role, reason?, ban?}`: exactly one of `peer_id` and `role` (100ms
/// would let `peer_id` win silently; a caller who sent both meant something we cannot tell).
/// `ban` names one peer's user: with `role` it is a 400 (a ban of everyone holding a role is
/// not a removal but a change of the room's members).
pub fn removal_request(body: Option<&[u8]>) -> Result<RemovePeer, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "peer_id", "role", "reason", "ban"])?;
    let room_id = req_field(&map, "room_id")?;
    let who = match (opt_field::<PeerId>(&map, "peer_id")?, opt_field::<Role>(&map, "role")?) {
        (Some(peer), None) => Removal::Peer(peer),
        (None, Some(role)) => Removal::Role(role),
        (None, None) => {
            return Err(ApiError::bad_request(
                ErrorCode::MissingField,
                "give 'peer_id' (one peer) or 'role' (all with it)",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(ErrorCode::InvalidBody, "give 'peer_id' or 'role', not both"));
        }
    };
    let reason = opt_field(&map, "reason")?.unwrap_or_else(empty_reason);
    let ban = opt_bool(&map, "ban")?.unwrap_or(false);
    if ban && matches!(who, Removal::Role(_)) {
        return Err(ApiError::invalid_field("ban", "needs 'peer_id': a ban is of one peer's user"));
    }
    Ok(RemovePeer { room_id, who, reason, ban })
}

fn empty_reason() -> Reason {
    <Reason as crate::input::Parse>::parse("").expect("an empty reason is valid")
}

/// A parsed `POST /end-room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndRoom {
    pub room_id: RoomId,
    pub reason: Reason,
    pub lock: bool,
}

/// Parses `{room_id, reason?, lock?}` (`lock` false unless given).
pub fn end_request(body: Option<&[u8]>) -> Result<EndRoom, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "reason", "lock"])?;
    Ok(EndRoom {
        room_id: req_field(&map, "room_id")?,
        reason: opt_field(&map, "reason")?.unwrap_or_else(empty_reason),
        lock: opt_bool(&map, "lock")?.unwrap_or(false),
    })
}

/// `GET /active-peers?room_id=`: the peers in the live session, first joined first; 404
/// `session_not_found` when nobody is in the room.
pub async fn active(hms: &impl HmsApi, room_id: &RoomId) -> Result<Reply, ApiError> {
    let bytes = hms.active_peers(room_id).await.map_err(no_live_session(room_id))?;
    let mut peers = sessions::parse::<ActivePeers>(&bytes, "peer list")?.peers;
    peers.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.id.cmp(&b.id)));
    Reply::ok_json(&json!({"success": true, "room_id": room_id, "count": peers.len(), "peers": peers}))
}

/// Bans the user of `peer`, a peer in `room`'s live session now, from new tokens for the room:
/// the user id 100ms has for the peer (what its token said). 404 when the peer is not there.
pub async fn ban_peer(
    hms: &impl HmsApi,
    owners: &dyn Owners,
    room: &RoomId,
    peer: &PeerId,
    by: &str,
) -> Result<MemberId, ApiError> {
    let bytes = hms.active_peers(room).await.map_err(no_live_session(room))?;
    let peers = sessions::parse::<ActivePeers>(&bytes, "peer list")?.peers;
    let found = peers.iter().find(|p| p.id == peer.as_str()).ok_or_else(|| ApiError::NotFound {
        code: ErrorCode::UpstreamNotFound,
        msg: format!("peer {peer} is not in room {room}'s live session"),
    })?;
    let user = MemberId::parse(&found.user_id).map_err(|why| {
        ApiError::invalid_field("ban", format!("cannot hold peer {peer}'s user id, which {why}; it was not removed"))
    })?;
    owners.set_banned(room, &user, true, by, chrono::Utc::now()).await?;
    tracing::info!(room_id = %room, peer_id = %peer, user_id = %user, by, "room ban set with a removal");
    Ok(user)
}

/// `POST /remove-peer`. 100ms removes asynchronously: a 200 means the removal was accepted.
/// `banned` is the user barred from the room before it (with `"ban": true`).
pub async fn remove(hms: &impl HmsApi, ask: &RemovePeer, banned: Option<&MemberId>) -> Result<Reply, ApiError> {
    let bytes = hms
        .remove_peers(&ask.room_id, &ask.who, &ask.reason)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("nobody to remove in room {}", ask.room_id)))?;
    let (peer_id, role) = match &ask.who {
        Removal::Peer(p) => (Some(p.as_str()), None),
        Removal::Role(r) => (None, Some(r.as_str())),
    };
    Reply::ok_json(&json!({
        "success": true, "room_id": ask.room_id, "peer_id": peer_id, "role": role,
        "banned_user_id": banned, "message": upstream_message(&bytes),
    }))
}

/// `POST /end-room`: ends the live session; with `lock` the room is also disabled, so nobody
/// rejoins until it is enabled again. With `lock` and no live session the room is disabled all
/// the same (`ended: false, locked: true`): locking a room after class must not depend on
/// whether everybody already left.
pub async fn end(hms: &impl HmsApi, ask: &EndRoom) -> Result<Reply, ApiError> {
    let ended = match hms.end_room(&ask.room_id, &ask.reason, ask.lock).await {
        Ok(bytes) => Some(upstream_message(&bytes)),
        Err(ApiError::UpstreamRejected { status: 404, .. }) if ask.lock => None,
        Err(e) => return Err(no_live_session(&ask.room_id)(e)),
    };
    if ended.is_none() {
        hms.set_room_enabled(&ask.room_id, false).await?;
    }
    Reply::ok_json(&json!({
        "success": true, "room_id": ask.room_id, "ended": ended.is_some(), "locked": ask.lock,
        "message": ended.unwrap_or_else(|| "no live session; the room is disabled".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "631b2654f771854d9bf633df";

    #[test]
    fn removals_name_one_peer_or_one_role() {
        let peer = removal_request(Some(
            format!(r#"{{"room_id":"{ROOM}","peer_id":"fd9e87d8-5c7b","reason":"bye"}}"#).as_bytes(),
        ))
        .unwrap();
        assert!(matches!(peer.who, Removal::Peer(ref p) if p == "fd9e87d8-5c7b"));
        assert_eq!(peer.reason, "bye");
        let role = removal_request(Some(format!(r#"{{"room_id":"{ROOM}","role":"guest"}}"#).as_bytes())).unwrap();
        assert!(matches!(role.who, Removal::Role(ref r) if r == "guest"));
        assert_eq!(role.reason, "");
        let cases = [
            (format!(r#"{{"room_id":"{ROOM}"}}"#), "missing_field"),
            (format!(r#"{{"room_id":"{ROOM}","peer_id":"p","role":"guest"}}"#), "invalid_body"),
            (format!(r#"{{"room_id":"{ROOM}","peer_id":"../x"}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{ROOM}","role":"guest","reason":"{}"}}"#, "x".repeat(501)), "invalid_field"),
            (format!(r#"{{"room_id":"{ROOM}","role":"guest","message":"x"}}"#), "unknown_field"),
            (format!(r#"{{"room_id":"{ROOM}","role":"guest","ban":true}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{ROOM}","peer_id":"p","ban":"yes"}}"#), "invalid_field"),
            (r#"{"role":"guest"}"#.to_string(), "missing_field"),
        ];
        for (body, code) in cases {
            assert_eq!(removal_request(Some(body.as_bytes())).unwrap_err().code().as_str(), code, "{body}");
        }
    }

    #[test]
    fn ends_lock_only_when_asked() {
        let end =
            end_request(Some(format!(r#"{{"room_id":"{ROOM}","reason":"Class has ended"}}"#).as_bytes())).unwrap();
        assert_eq!((end.lock, end.reason.as_str()), (false, "Class has ended"));
        assert!(end_request(Some(format!(r#"{{"room_id":"{ROOM}","lock":true}}"#).as_bytes())).unwrap().lock);
        assert_eq!(
            end_request(Some(format!(r#"{{"room_id":"{ROOM}","lock":"yes"}}"#).as_bytes())).unwrap_err().code(),
            ErrorCode::InvalidField
        );
    }
}

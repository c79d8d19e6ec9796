//! What a host does during a class: tell the room something (`POST /send-message`), change a
//! peer's role, name or metadata (`POST /update-peer`), and lock or unlock the room
//! (`POST /room-enabled`).
//!
//! 100ms documents no bound on a message, a peer's name or its metadata; we pass on at most
//! [`MAX_MESSAGE_CHARS`], [`MAX_PEER_NAME_CHARS`] and [`MAX_METADATA_CHARS`], and a `type` of
//! 1 to [`MAX_TYPE_CHARS`] letters, digits, `_`, `-` or `.` (the docs' `chat`, `emoji`,
//! `custom_event`, or an app's own name).

use serde_json::{Value, json};

use super::{no_live_session, upstream_404, upstream_message};
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::active_rooms::{ActivePeer, Message, PeerUpdate, Recipient};
use crate::hms::sessions;
use crate::input::{PeerId, Role, RoomId, json_object, only_fields, opt_bool, opt_field, opt_str, req_field};

pub const SEND_MESSAGE_PATH: &str = "/send-message";
pub const UPDATE_PEER_PATH: &str = "/update-peer";
pub const ROOM_ENABLED_PATH: &str = "/room-enabled";

pub const MAX_MESSAGE_CHARS: usize = 4_096;
pub const MAX_TYPE_CHARS: usize = 64;
pub const MAX_PEER_NAME_CHARS: usize = 100;
pub const MAX_METADATA_CHARS: usize = 4_096;

/// A parsed `POST /send-message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    pub room_id: RoomId,
    pub message: Message,
}

/// Parses `{room_id, message, peer_id? | role?, type?}`: to one peer, every peer with a role,
/// or (neither) everyone. Both is a 400: 100ms would let `peer_id` win silently.
pub fn message_request(body: Option<&[u8]>) -> Result<SendMessage, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "message", "peer_id", "role", "type"])?;
    let room_id = req_field(&map, "room_id")?;
    let text = opt_str(&map, "message")?.ok_or_else(|| ApiError::missing_field("message"))?;
    if text.trim().is_empty()
        || text.chars().count() > MAX_MESSAGE_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::invalid_field(
            "message",
            format!(
                "must be 1 to {MAX_MESSAGE_CHARS} characters, not blank, no control characters but line breaks and tabs"
            ),
        ));
    }
    let to = match (opt_field::<PeerId>(&map, "peer_id")?, opt_field::<Role>(&map, "role")?) {
        (Some(peer), None) => Recipient::Peer(peer),
        (None, Some(role)) => Recipient::Role(role),
        (None, None) => Recipient::Everyone,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidBody,
                "give 'peer_id' (one peer), 'role' (all with it) or neither (everyone), not both",
            ));
        }
    };
    let kind = opt_str(&map, "type")?;
    if kind.is_some_and(|k| {
        k.is_empty()
            || k.len() > MAX_TYPE_CHARS
            || !k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }) {
        return Err(ApiError::invalid_field(
            "type",
            format!("must be 1 to {MAX_TYPE_CHARS} letters, digits, _, - or ."),
        ));
    }
    Ok(SendMessage { room_id, message: Message { message: text.to_string(), to, kind: kind.map(String::from) } })
}

/// `POST /send-message`: 404 `session_not_found` when nobody is in the room, 404 for a peer
/// who is not.
pub async fn send(hms: &impl HmsApi, ask: &SendMessage) -> Result<Reply, ApiError> {
    let room = &ask.room_id;
    let bytes = hms.send_message(room, &ask.message).await.map_err(|e| match &ask.message.to {
        Recipient::Peer(peer) => {
            upstream_404(ErrorCode::UpstreamNotFound, || format!("peer {peer} is not in room {room}'s live session"))(e)
        }
        _ => no_live_session(room)(e),
    })?;
    let (peer_id, role) = match &ask.message.to {
        Recipient::Peer(p) => (Some(p.as_str()), None),
        Recipient::Role(r) => (None, Some(r.as_str())),
        Recipient::Everyone => (None, None),
    };
    Reply::ok_json(&json!({
        "success": true, "room_id": room, "peer_id": peer_id, "role": role, "type": ask.message.kind,
        "message": upstream_message(&bytes),
    }))
}

/// A parsed `POST /update-peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePeer {
    pub room_id: RoomId,
    pub peer_id: PeerId,
    pub update: PeerUpdate,
}

/// Parses `{room_id, peer_id, role?, name?, metadata?}`, at least one of the three.
pub fn update_request(body: Option<&[u8]>) -> Result<UpdatePeer, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "peer_id", "role", "name", "metadata"])?;
    let name = opt_str(&map, "name")?;
    if name.is_some_and(|n| {
        n.trim().is_empty() || n.chars().count() > MAX_PEER_NAME_CHARS || n.chars().any(char::is_control)
    }) {
        return Err(ApiError::invalid_field(
            "name",
            format!("must be 1 to {MAX_PEER_NAME_CHARS} characters, not blank, no control characters"),
        ));
    }
    let metadata = opt_str(&map, "metadata")?;
    if metadata.is_some_and(|m| m.chars().count() > MAX_METADATA_CHARS) {
        return Err(ApiError::invalid_field(
            "metadata",
            format!("must be at most {MAX_METADATA_CHARS} characters (100ms's convention: a JSON text)"),
        ));
    }
    let update = PeerUpdate {
        name: name.map(String::from),
        role: opt_field(&map, "role")?,
        metadata: metadata.map(String::from),
    };
    if update == PeerUpdate::default() {
        return Err(ApiError::bad_request(ErrorCode::MissingField, "give at least one of 'role', 'name', 'metadata'"));
    }
    Ok(UpdatePeer { room_id: req_field(&map, "room_id")?, peer_id: req_field(&map, "peer_id")?, update })
}

/// `POST /update-peer`: the peer as 100ms has it after the change. A role the room's template
/// lacks is 100ms's 400; a peer not in the session, 404.
pub async fn update(hms: &impl HmsApi, ask: &UpdatePeer) -> Result<Reply, ApiError> {
    let (room, peer) = (&ask.room_id, &ask.peer_id);
    let bytes =
        hms.update_peer(room, peer, &ask.update).await.map_err(upstream_404(ErrorCode::UpstreamNotFound, || {
            format!("peer {peer} is not in room {room}'s live session")
        }))?;
    let updated: ActivePeer = sessions::parse(&bytes, "peer")?;
    Reply::ok_json(&json!({"success": true, "room_id": room, "peer": updated}))
}

/// Parses `{room_id, enabled}`.
pub fn enabled_request(body: Option<&[u8]>) -> Result<(RoomId, bool), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "enabled"])?;
    let enabled = opt_bool(&map, "enabled")?.ok_or_else(|| ApiError::missing_field("enabled"))?;
    Ok((req_field(&map, "room_id")?, enabled))
}

/// `POST /room-enabled`: a disabled room refuses joins (a live session goes on until it ends,
/// as 100ms documents); enabling undoes `end-room`'s `lock`.
pub async fn set_enabled(hms: &impl HmsApi, room: &RoomId, enabled: bool) -> Result<Reply, ApiError> {
    let bytes = hms
        .set_room_enabled(room, enabled)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("room {room} does not exist")))?;
    let answered: serde_json::Map<String, Value> = sessions::parse(&bytes, "room")?;
    let now = answered.get("enabled").and_then(Value::as_bool).unwrap_or(enabled);
    Reply::ok_json(&json!({"success": true, "room_id": room, "enabled": now}))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_body as body;

    #[test]
    fn messages_go_to_everyone_a_role_or_one_peer() {
        let all = message_request(Some(&body(r#","message":"Quiz in 5 minutes""#))).unwrap();
        assert_eq!((all.message.to, all.message.kind), (Recipient::Everyone, None));
        let role = message_request(Some(&body(r#","message":"x","role":"guest","type":"quiz-start""#))).unwrap();
        assert!(matches!(role.message.to, Recipient::Role(ref r) if r == "guest"));
        assert_eq!(role.message.kind.as_deref(), Some("quiz-start"));
        let max = message_request(Some(&body(&format!(r#","message":"{}""#, "é".repeat(MAX_MESSAGE_CHARS)))));
        assert!(max.is_ok(), "the bound itself is allowed");
        for (extra, code) in [
            (String::new(), "missing_field"),
            (r#","message":"  ""#.into(), "invalid_field"),
            (format!(r#","message":"{}""#, "x".repeat(MAX_MESSAGE_CHARS + 1)), "invalid_field"),
            (r#","message":"a\u0000b""#.into(), "invalid_field"),
            (r#","message":7"#.into(), "invalid_field"),
            (r#","message":"x","peer_id":"p","role":"guest""#.into(), "invalid_body"),
            (r#","message":"x","type":"quiz start""#.into(), "invalid_field"),
            (format!(r#","message":"x","type":"{}""#, "t".repeat(65)), "invalid_field"),
            (r#","message":"x","to":"all""#.into(), "unknown_field"),
        ] {
            assert_eq!(message_request(Some(&body(&extra))).unwrap_err().code().as_str(), code, "{extra}");
        }
    }

    #[test]
    fn updates_change_at_least_one_thing() {
        let up = update_request(Some(&body(r#","peer_id":"p-1","role":"host""#))).unwrap();
        assert_eq!(up.update.role.unwrap(), "host");
        for (extra, code) in [
            (r#","peer_id":"p-1""#.to_string(), "missing_field"),
            (r#","role":"host""#.into(), "missing_field"),
            (r#","peer_id":"p-1","name":"""#.into(), "invalid_field"),
            (format!(r#","peer_id":"p-1","name":"{}""#, "n".repeat(101)), "invalid_field"),
            (format!(r#","peer_id":"p-1","metadata":"{}""#, "m".repeat(4097)), "invalid_field"),
            (r#","peer_id":"p-1","role":"a b""#.into(), "invalid_field"),
            (r#","peer_id":"../x","role":"host""#.into(), "invalid_field"),
        ] {
            assert_eq!(update_request(Some(&body(&extra))).unwrap_err().code().as_str(), code, "{extra}");
        }
    }

    #[test]
    fn enabling_needs_the_flag() {
        assert!(enabled_request(Some(&body(r#","enabled":true"#))).unwrap().1);
        assert_eq!(enabled_request(Some(&body(""))).unwrap_err().code(), ErrorCode::MissingField);
        assert_eq!(enabled_request(Some(&body(r#","enabled":"no""#))).unwrap_err().code(), ErrorCode::InvalidField);
    }
}

//! 100ms active rooms: who is in a room's live session, messages to it, changing a peer (role,
//! name, metadata), removing peers, ending the session (switching the room off is
//! [`super::rooms`]'s).

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use super::call::Call;
use crate::error::ApiError;
use crate::input::{PeerId, Reason, Role, RoomId};

/// A peer present in the live session (the docs' list-peers object; unknown fields dropped).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ActivePeer {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub metadata: String,
    #[serde(default)]
    pub joined_at: String,
}

/// `GET /active-rooms/{id}/peers`: `{"peers": {<id>: Peer}}`; with nobody, the docs say "an empty
/// peers list", so `{}`, `[]` and `null` are all read as none.
#[derive(Debug, Deserialize)]
pub struct ActivePeers {
    #[serde(default, deserialize_with = "peers_map_or_list")]
    pub peers: Vec<ActivePeer>,
}

fn peers_map_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ActivePeer>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Map(std::collections::BTreeMap<String, ActivePeer>),
        List(Vec<ActivePeer>),
    }
    Ok(match Option::<Shape>::deserialize(d)? {
        None => Vec::new(),
        Some(Shape::Map(m)) => m.into_values().collect(),
        Some(Shape::List(l)) => l,
    })
}

/// Whom to remove: one peer, or every peer with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Peer(PeerId),
    Role(Role),
}

/// Who a message goes to: everyone in the session, every peer with a role, or one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Everyone,
    Role(Role),
    Peer(PeerId),
}

/// A message for the peers of a live session (`message` and `kind` checked at the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message: String,
    pub to: Recipient,
    /// 100ms's `type`: `chat` and `emoji` in its docs, or an app's own event name.
    pub kind: Option<String>,
}

/// A change to a peer in the live session; only the fields set are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeerUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// `POST /active-rooms/{id}/send-message {message, peer_id? | role?, type?}`. Not retried: a
/// repeat would show the message twice.
pub(crate) fn message_call(room_id: &RoomId, msg: &Message) -> Result<Call, ApiError> {
    let mut body = serde_json::json!({"message": msg.message});
    match &msg.to {
        Recipient::Everyone => {}
        Recipient::Role(r) => body["role"] = serde_json::json!(r),
        Recipient::Peer(p) => body["peer_id"] = serde_json::json!(p),
    }
    if let Some(kind) = &msg.kind {
        body["type"] = serde_json::json!(kind);
    }
    Call::new(Method::POST, format!("/active-rooms/{room_id}/send-message")).json(&body)
}

/// `POST /active-rooms/{id}/peers/{peer_id} {name?, role?, metadata?}`: sets values, so a repeat
/// does what the first did; retried.
pub(crate) fn update_peer_call(room_id: &RoomId, peer: &PeerId, update: &PeerUpdate) -> Result<Call, ApiError> {
    Ok(Call::new(Method::POST, format!("/active-rooms/{room_id}/peers/{peer}")).json(update)?.idempotent(true))
}

/// `GET /active-rooms/{id}/peers`.
pub(crate) fn peers_call(room_id: &RoomId) -> Call {
    Call::new(Method::GET, format!("/active-rooms/{room_id}/peers")).idempotent(true)
}

/// `POST /active-rooms/{id}/remove-peers`. Retried for one peer (removing it twice removes it
/// once), not for a role (a repeat would also remove whoever joined with it since).
pub(crate) fn remove_call(room_id: &RoomId, who: &Removal, reason: &Reason) -> Result<Call, ApiError> {
    let (body, idempotent) = match who {
        Removal::Peer(p) => (serde_json::json!({"peer_id": p, "reason": reason}), true),
        Removal::Role(r) => (serde_json::json!({"role": r, "reason": reason}), false),
    };
    let call = Call::new(Method::POST, format!("/active-rooms/{room_id}/remove-peers")).json(&body)?;
    Ok(call.idempotent(idempotent))
}

/// `POST /active-rooms/{id}/end-room {reason, lock}`. Not retried: a repeat after a success
/// would find no session and answer 404 for a room that did end.
pub(crate) fn end_call(room_id: &RoomId, reason: &Reason, lock: bool) -> Result<Call, ApiError> {
    let body = serde_json::json!({"reason": reason, "lock": lock});
    Call::new(Method::POST, format!("/active-rooms/{room_id}/end-room")).json(&body)
}

#[cfg(test)]
mod tests {
    use super::super::example;
    use super::*;
    use crate::input::Parse;

    #[test]
    fn messages_and_updates_send_the_docs_bodies() {
        let room = RoomId::parse("631b2654f771854d9bf633df").unwrap();
        let peer = PeerId::parse("018b84da-0786-48c5-a3a6-02961d9eac03").unwrap();
        let to_peer = Message {
            message: "<TOTAL_BET_AMOUNT>".into(),
            to: Recipient::Peer(peer.clone()),
            kind: Some("custom_event".into()),
        };
        let call = message_call(&room, &to_peer).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(call.body().unwrap()).unwrap();
        assert_eq!(sent, example("send_message_request_custom_event_to_peer.json"));
        let everyone = Message {
            message: "<ACTUAL_CARD_REVEAL_DATA>".into(),
            to: Recipient::Everyone,
            kind: Some("custom_event".into()),
        };
        let sent: serde_json::Value =
            serde_json::from_slice(message_call(&room, &everyone).unwrap().body().unwrap()).unwrap();
        assert_eq!(sent, example("send_message_request_custom_event_broadcast.json"));
        let update = PeerUpdate {
            name: Some("nixon-test2".into()),
            metadata: Some(r#"{"isHandRaised":false,"isBRBOn":true}"#.into()),
            ..Default::default()
        };
        let call = update_peer_call(&room, &peer, &update).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(call.body().unwrap()).unwrap();
        assert_eq!(sent, example("active_room_peer_update_request.json"));
    }

    #[test]
    fn peers_come_as_a_map_or_as_nothing() {
        let doc = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/100ms-examples/active_room_peers_response.json"
        ))
        .unwrap();
        let peers: ActivePeers = serde_json::from_slice(&doc).unwrap();
        let mut names: Vec<&str> = peers.peers.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["John", "Nick"]);
        assert_eq!(peers.peers.iter().find(|p| p.name == "Nick").unwrap().user_id, "teacher-81");
        let updated: ActivePeer = serde_json::from_value(example("active_room_peer_update_response.json")).unwrap();
        assert_eq!((updated.name.as_str(), updated.role.as_str()), ("nixon-test2", "host"));
        for empty in [r#"{"peers":{}}"#, r#"{"peers":[]}"#, r#"{"peers":null}"#, "{}"] {
            assert!(serde_json::from_str::<ActivePeers>(empty).unwrap().peers.is_empty(), "{empty}");
        }
    }
}

//! 100ms active rooms: who is in a room's live session, removing peers, ending the session
//! (switching the room off is [`super::rooms`]'s).

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
    use super::*;

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
        for empty in [r#"{"peers":{}}"#, r#"{"peers":[]}"#, r#"{"peers":null}"#, "{}"] {
            assert!(serde_json::from_str::<ActivePeers>(empty).unwrap().peers.is_empty(), "{empty}");
        }
    }
}

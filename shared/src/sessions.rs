//! 100ms sessions as `GET /sessions` and `GET /sessions/{id}` return them, and the rules for
//! walking the paginated list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::time;

/// Page size we ask for when walking every session of a room (the API's maximum).
pub const LIST_PAGE_LIMIT: u32 = 100;
/// Most pages one `/session-list-by-room` call walks; past it the answer says `truncated`.
pub const LIST_MAX_PAGES: usize = 20;
/// Page size used to find the latest session (newest come first; we still pick by `created_at`).
pub const LATEST_PAGE_LIMIT: u32 = 10;

/// One peer (a client connection) of a session. Several peers can share one `user_id`.
#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "time::de_required")]
    pub joined_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "time::de_optional")]
    pub left_at: Option<DateTime<Utc>>,
}

/// A session of a room. `peers` is an object keyed by peer id (not an array, whatever the docs'
/// table says).
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    pub room_id: String,
    #[serde(default)]
    pub active: bool,
    #[serde(deserialize_with = "time::de_required")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "time::de_optional")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub peers: HashMap<String, Peer>,
}

/// One page of `GET /sessions`. `data` may be `[]` or `null`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub struct Page<T> {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub data: Vec<T>,
    #[serde(default)]
    pub last: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses a 100ms answer; anything that does not fit is a 502 (100ms answered nonsense).
pub fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::upstream("upstream_invalid_response", format!("100ms sent an unreadable {what}: {e}")))
}

/// The `start` of the next page, or `None` when the list has ended: a page shorter than the limit
/// we asked for, an empty page, no `last`, or a `last` we have already seen (a cursor that does not
/// move would loop forever).
pub fn next_start(page_len: usize, requested_limit: u32, last: Option<&str>, seen: &[String]) -> Option<String> {
    if page_len == 0 || page_len < requested_limit as usize {
        return None;
    }
    let last = last.filter(|l| !l.is_empty())?;
    if seen.iter().any(|s| s == last) {
        return None;
    }
    Some(last.to_string())
}

/// The session with the latest `created_at` (ties: the larger id, so the choice is stable).
pub fn latest(sessions: Vec<Session>) -> Option<Session> {
    sessions.into_iter().max_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/100ms-examples");

    fn example(name: &str) -> Vec<u8> {
        std::fs::read(format!("{EXAMPLES}/{name}")).unwrap()
    }

    #[test]
    fn docs_sessions_list_example_parses() {
        let page: Page<Session> = parse(&example("sessions_list_response.json"), "page").unwrap();
        assert_eq!(page.limit, Some(10));
        assert_eq!(page.last.as_deref(), Some("63172c2d3e3d9fdb008322e1"));
        assert_eq!(page.data.len(), 2);
        let s = &page.data[0];
        assert_eq!(s.id, "631a0fa23e3d9fdb00832596");
        assert!(!s.active);
        let p = &s.peers["a24687bb-de68-4276-9758-e1efa5e7e4d8"];
        assert_eq!(p.user_id.as_deref(), Some("Batch1-student1"));
        assert_eq!((p.left_at.unwrap() - p.joined_at).num_milliseconds(), 1815);
    }

    #[test]
    fn docs_legacy_list_example_parses_with_missing_peer_fields() {
        let page: Page<Session> = parse(&example("legacy_sessions_list_response.json"), "page").unwrap();
        assert_eq!(page.data.len(), 2);
        let active = &page.data[0];
        assert!(active.active);
        let peer = active.peers.values().next().unwrap();
        assert!(peer.id.is_none() && peer.user_id.is_none() && peer.left_at.is_none());
        assert_eq!(page.data[1].peers.len(), 2);
    }

    #[test]
    fn docs_session_retrieve_example_parses() {
        let s: Session = parse(&example("sessions_retrieve_response.json"), "session").unwrap();
        assert_eq!(s.room_id, "627ce5b8f2e4e30487862adb");
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.updated_at.unwrap().to_rfc3339(), "2022-09-06T11:17:03.650+00:00");
    }

    #[test]
    fn null_and_empty_data_are_empty_pages() {
        let p: Page<Session> = parse(br#"{"limit":10,"data":null}"#, "page").unwrap();
        assert!(p.data.is_empty() && p.last.is_none());
        let p: Page<Session> = parse(br#"{"limit":10,"data":[],"last":""}"#, "page").unwrap();
        assert!(p.data.is_empty());
        let p: Page<Session> = parse(br#"{}"#, "page").unwrap();
        assert!(p.data.is_empty());
    }

    #[test]
    fn null_peers_and_zero_updated_at() {
        let s: Session = parse(
            br#"{"id":"a","room_id":"r","created_at":"2022-01-01T00:00:00Z","updated_at":"0001-01-01T00:00:00Z","peers":null}"#,
            "session",
        )
        .unwrap();
        assert!(s.peers.is_empty() && s.updated_at.is_none() && !s.active);
    }

    #[test]
    fn unreadable_answers_are_502() {
        for bad in [&b"<html>"[..], b"{\"data\":{}}", b"{\"data\":[{\"id\":\"a\"}]}", b""] {
            let err = parse::<Page<Session>>(bad, "page").unwrap_err();
            assert_eq!((err.status(), err.code()), (502, "upstream_invalid_response"));
        }
    }

    #[test]
    fn pagination_stop_rules() {
        let seen = vec!["s0".to_string()];
        assert_eq!(next_start(100, 100, Some("s1"), &seen).as_deref(), Some("s1"), "full page continues");
        assert_eq!(next_start(99, 100, Some("s1"), &seen), None, "short page ends");
        assert_eq!(next_start(0, 100, Some("s1"), &seen), None, "empty page ends");
        assert_eq!(next_start(100, 100, None, &seen), None, "no cursor ends");
        assert_eq!(next_start(100, 100, Some(""), &seen), None, "empty cursor ends");
        assert_eq!(next_start(100, 100, Some("s0"), &seen), None, "a cursor seen before ends");
    }

    #[test]
    fn latest_is_by_created_at_not_by_position() {
        let page: Page<Session> = parse(
            br#"{"data":[
                {"id":"a","room_id":"r","created_at":"2022-01-01T00:00:00Z"},
                {"id":"b","room_id":"r","created_at":"2022-03-01T00:00:00.5Z"},
                {"id":"c","room_id":"r","created_at":"2022-03-01T00:00:00.25Z"}]}"#,
            "page",
        )
        .unwrap();
        assert_eq!(latest(page.data).unwrap().id, "b");
        assert!(latest(Vec::new()).is_none());
    }
}

//! 100ms sessions as `GET /sessions` and `GET /sessions/{id}` return them, and the rules for
//! walking the paginated list.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::input::{RoomId, SessionId};
use crate::time;

/// The largest page `GET /sessions` gives (its `limit` maximum).
pub const LIST_PAGE_LIMIT: u32 = 100;
/// Page size used to find the latest session (newest come first; we still pick by `created_at`).
pub const LATEST_PAGE_LIMIT: u32 = 10;

/// `GET /sessions?room_id=&limit=[&start=]`: one page (`start`: the `last` of the page before).
pub(crate) fn list_call(room_id: &RoomId, limit: u32, start: Option<&str>) -> Call {
    let mut query = vec![("room_id", room_id.to_string()), ("limit", limit.to_string())];
    if let Some(start) = start {
        query.push(("start", start.to_string()));
    }
    Call::new(Method::GET, "/sessions".into()).query(query).idempotent(true)
}

/// `GET /sessions/{id}`.
pub(crate) fn get_call(session_id: &SessionId) -> Call {
    Call::new(Method::GET, format!("/sessions/{session_id}")).idempotent(true)
}

/// One peer (a client connection) of a session. Several peers can share one `user_id`.
///
/// Strings borrow from the 100ms answer (they are only copied when JSON escapes force it): a
/// session of 10,000 peers is parsed without 40,000 small allocations.
#[derive(Debug, Clone, Deserialize)]
pub struct Peer<'a> {
    /// The peer id: the key of this peer in the session's `peers` object.
    #[serde(skip)]
    pub key: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub role: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub user_id: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "timestamp")]
    pub joined_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "optional_timestamp")]
    pub left_at: Option<DateTime<Utc>>,
}

/// A session of a room. `peers` is an object keyed by peer id (not an array, whatever the docs'
/// table says); it is read into a list in the order 100ms sent it, each peer keeping its key.
#[derive(Debug, Clone, Deserialize)]
pub struct Session<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub room_id: Cow<'a, str>,
    #[serde(default)]
    pub active: bool,
    #[serde(deserialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "optional_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, borrow, deserialize_with = "peers_object")]
    pub peers: Vec<Peer<'a>>,
}

/// One page of `GET /sessions`. `data` may be `[]` or `null`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub data: Vec<T>,
    #[serde(default)]
    pub last: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string that borrows from the input when it has no escapes. serde borrows a bare `Cow<str>`
/// field but not one inside an `Option` (serde-rs/serde#1497), hence this newtype.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<Text<'de>>::deserialize(d)?.map(|Text(t)| t))
}

fn timestamp_text<E: serde::de::Error>(s: &str) -> Result<DateTime<Utc>, E> {
    time::parse_rfc3339(s).ok_or_else(|| E::custom(format!("not an RFC 3339 timestamp: {s:?}")))
}

/// A required RFC 3339 timestamp. Its text is borrowed ([`Text`]): a bare `Option<Cow<str>>`
/// would have been a `String` for each of the 10,000 `left_at` of a large session.
fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let Text(s) = Text::deserialize(d).map_err(|_| serde::de::Error::custom("timestamp must be an RFC 3339 string"))?;
    timestamp_text(&s)
}

/// An optional RFC 3339 timestamp; null, absent, empty or Go's zero time give `None`.
fn optional_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<Text<'de>>::deserialize(d)? {
        None => Ok(None),
        Some(Text(s)) if s.is_empty() => Ok(None),
        Some(Text(s)) => timestamp_text(&s).map(|t| (!time::is_unset(&t)).then_some(t)),
    }
}

/// `peers`: `null` or an object of peer id -> peer, read straight into a list (no map is built).
fn peers_object<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Peer<'de>>, D::Error> {
    struct PeersVisitor;
    impl<'de> Visitor<'de> for PeersVisitor {
        type Value = Vec<Peer<'de>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of peers keyed by peer id, or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut peers = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(Text(key)) = map.next_key()? {
                let mut peer: Peer<'de> = map.next_value()?;
                peer.key = key;
                peers.push(peer);
            }
            Ok(peers)
        }
    }
    d.deserialize_any(PeersVisitor)
}

/// A session as 100ms sent it, every field kept as is but `peers`, which is skipped unread: a
/// session list without peers never builds the peers of a large room in memory.
#[derive(Debug, Clone, Default)]
pub struct SessionWithoutPeers(pub serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for SessionWithoutPeers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = SessionWithoutPeers;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a session object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = serde_json::Map::new();
                while let Some(Text(key)) = map.next_key()? {
                    if key == "peers" {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    } else {
                        fields.insert(key.into_owned(), map.next_value()?);
                    }
                }
                Ok(SessionWithoutPeers(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// Parses a 100ms answer; anything that does not fit is a 502 (100ms answered nonsense).
///
/// The bytes are checked to be UTF-8 once, up front, and parsed as a `str`: serde_json then skips
/// checking each of the strings of every peer on its own (what that saves: BENCHMARKS.md).
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, ApiError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        ApiError::upstream(ErrorCode::UpstreamInvalidResponse, format!("100ms sent an unreadable {what}: {e}"))
    };
    let text = std::str::from_utf8(bytes).map_err(|e| unreadable(&e))?;
    serde_json::from_str(text).map_err(|e| unreadable(&e))
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
pub fn latest(sessions: Vec<Session<'_>>) -> Option<Session<'_>> {
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
    fn sessions_without_peers_keep_every_other_field() {
        let bytes = example("sessions_list_response.json");
        let page: Page<SessionWithoutPeers> = parse(&bytes, "page").unwrap();
        let full: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for (got, want) in page.data.iter().zip(full["data"].as_array().unwrap()) {
            let mut want = want.as_object().unwrap().clone();
            assert!(want.remove("peers").is_some());
            assert_eq!(got.0, want);
        }
        assert_eq!(page.data.len(), 2);
    }

    #[test]
    fn docs_sessions_list_example_parses() {
        let bytes = example("sessions_list_response.json");
        let page: Page<Session> = parse(&bytes, "page").unwrap();
        assert_eq!(page.last.as_deref(), Some("63172c2d3e3d9fdb008322e1"));
        assert_eq!(page.data.len(), 2);
        let s = &page.data[0];
        assert_eq!(s.id, "631a0fa23e3d9fdb00832596");
        assert!(!s.active);
        let p = s.peers.iter().find(|p| p.key == "a24687bb-de68-4276-9758-e1efa5e7e4d8").unwrap();
        assert_eq!(p.user_id.as_deref(), Some("Batch1-student1"));
        for text in [p.name.as_ref().unwrap(), p.user_id.as_ref().unwrap(), p.role.as_ref().unwrap(), &p.key, &s.id] {
            assert!(matches!(text, Cow::Borrowed(_)), "{text} is borrowed from the answer, not copied");
        }
        assert_eq!((p.left_at.unwrap() - p.joined_at).num_milliseconds(), 1815);
    }

    #[test]
    fn docs_legacy_list_example_parses_with_missing_peer_fields() {
        let bytes = example("legacy_sessions_list_response.json");
        let page: Page<Session> = parse(&bytes, "page").unwrap();
        assert_eq!(page.data.len(), 2);
        let active = &page.data[0];
        assert!(active.active);
        let peer = &active.peers[0];
        assert!(peer.user_id.is_none() && peer.left_at.is_none());
        assert!(!peer.key.is_empty());
        assert_eq!(page.data[1].peers.len(), 2);
    }

    #[test]
    fn docs_session_retrieve_example_parses() {
        let bytes = example("sessions_retrieve_response.json");
        let s: Session = parse(&bytes, "session").unwrap();
        assert_eq!(s.room_id, "627ce5b8f2e4e30487862adb");
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.updated_at.unwrap().to_rfc3339(), "2022-09-06T11:17:03.650+00:00");
    }

    #[test]
    fn escaped_strings_are_unescaped_and_peers_keep_their_order_and_keys() {
        let bytes = br#"{"id":"s\u0031","room_id":"r","created_at":"2022-01-01T00:00:00Z","peers":{
            "p\"2":{"name":"Zo\u00eb \"Z\"","user_id":"u\/1","role":null,"joined_at":"2022-01-01T00:00:01Z"},
            "p1":{"name":"Al","joined_at":"2022-01-01T00:00:02Z","left_at":null}}}"#;
        let s: Session = parse(bytes, "session").unwrap();
        assert_eq!(s.id, "s1");
        let keys: Vec<&str> = s.peers.iter().map(|p| p.key.as_ref()).collect();
        assert_eq!(keys, ["p\"2", "p1"], "the object's order, keys unescaped");
        assert_eq!(s.peers[0].name.as_deref(), Some("Zo\u{eb} \"Z\""));
        assert_eq!(s.peers[0].user_id.as_deref(), Some("u/1"));
        assert_eq!(s.peers[0].role, None);
        assert!(matches!(s.peers[1].name, Some(Cow::Borrowed("Al"))));
        for bad in [&br#"{"id":"s","room_id":"r","created_at":"2022-01-01T00:00:00Z","peers":[]}"#[..],
            br#"{"id":"s","room_id":"r","created_at":"2022-01-01T00:00:00Z","peers":{"p":{"name":1,"joined_at":"2022-01-01T00:00:00Z"}}}"#]
        {
            assert_eq!(parse::<Session>(bad, "session").unwrap_err().code(), "upstream_invalid_response");
        }
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
        for bad in [&b"<html>"[..], b"{\"data\":{}}", b"{\"data\":[{\"id\":\"a\"}]}", b"", b"{\"last\":\"\xff\"}"] {
            let err = parse::<Page<Session>>(bad, "page").unwrap_err();
            assert_eq!((err.status(), err.code().as_str()), (502, "upstream_invalid_response"));
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

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "timestamp")]
        a: DateTime<Utc>,
        #[serde(default, deserialize_with = "optional_timestamp")]
        b: Option<DateTime<Utc>>,
    }

    #[test]
    fn timestamps_absent_null_zero_escaped_and_bad() {
        let t: T = serde_json::from_str(r#"{"a":"2022-09-08T15:07:37.83Z"}"#).unwrap();
        assert!(t.b.is_none());
        let t: T = serde_json::from_str(r#"{"a":"2022-09-08T15:07:37Z","b":null}"#).unwrap();
        assert!(t.b.is_none());
        let t: T = serde_json::from_str(r#"{"a":"2022-09-08T15:07:37Z","b":"0001-01-01T00:00:00Z"}"#).unwrap();
        assert!(t.b.is_none());
        let t: T = serde_json::from_str(r#"{"a":"2022-09-08T15:07:37Z","b":"2022-09-08T15:07:38.5Z"}"#).unwrap();
        assert_eq!((t.b.unwrap() - t.a).num_milliseconds(), 1500);
        assert!(serde_json::from_str::<T>(r#"{"a":"yesterday"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":12}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a":"2022-09-08T15:07:37Z","b":"soon"}"#).is_err());
        // Escapes are JSON's business, not the timestamp's: both helpers read through them.
        let t: T =
            serde_json::from_str(r#"{"a":"2022-09-08T15:07:37\u005a","b":"2022-09-08T15:07:38\u002e5Z"}"#).unwrap();
        assert_eq!((t.b.unwrap() - t.a).num_milliseconds(), 1500);
        let t: T = serde_json::from_str(r#"{"a":"2022-09-08T15:07:37Z","b":""}"#).unwrap();
        assert!(t.b.is_none());
    }
}

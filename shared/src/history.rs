//! Attendance that outlives the session, built from 100ms's webhook events in the events table.
//!
//! Items (README, "The events table"):
//! - an event of a session: `SESSION#<session id>` / `EVENT#<event id>` (others: `EVENT#<id>` /
//!   `EVENT`), written once by `webhooks`;
//! - a closed session: `SESSION#<session id>` / `CLOSED`, written when `session.close.success`
//!   arrives: the room, when the session started and stopped;
//! - its report: `ROOM#<room id>` / `REPORT#<started at>#<session id>`, the attendance JSON of
//!   `/session-analytics-by-room` (computed by the same code), gzip-compressed, the number of peer
//!   events it was built from, and a generation. A report item without a report is one still to
//!   build: it is built on read.
//!
//! Room and session ids longer than [`MAX_KEY_ID_BYTES`] key nothing (100ms's
//! are 24 characters): such an event is kept under its own id, with no report.
//!
//! Delivery order is not guaranteed. The report is built from every peer event of the session,
//! merged per peer (a leave before its join is the same peer); a join without a leave ends with
//! the session. A peer event that arrives after the close marks the report to build again (a new
//! generation, no report: one write, however many late events come); the next read builds it.
//! A builder reads the generation before it reads the events and stores its report only if the
//! generation is still the same, so a report that misses an event is never kept: that event's
//! mark came after the builder's read of the events, and either fails the builder's write or
//! replaces what it wrote.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::attendance;
use crate::error::ApiError;
use crate::hms::sessions::{Peer, Session};
use crate::store::{EventsTable, Item, PARTITION_KEY, SORT_KEY};
use crate::time::parse_rfc3339;

/// Longest room or session id used in a key (100ms's are 24 characters): a longer one is kept in
/// the body but keys nothing, so every key and every history cursor stays short.
pub const MAX_KEY_ID_BYTES: usize = 64;

/// `data`'s `key` when it is a non-empty string short enough to be part of a key.
pub fn key_id<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str).filter(|v| !v.is_empty() && v.len() <= MAX_KEY_ID_BYTES)
}

/// Event types the attendance is built from.
pub const PEER_JOIN: &str = "peer.join.success";
pub const PEER_LEAVE: &str = "peer.leave.success";
pub const SESSION_CLOSE: &str = "session.close.success";

/// Reports whose gzip is larger than this are not stored (DynamoDB's item limit is 400 KB): they
/// are built from the events on each read. Attendance JSON compresses about tenfold, so this is
/// a report of about 3 MB: some 10,000 attendees.
pub const MAX_STORED_REPORT_BYTES: usize = 350 * 1024;

/// How hard reports are compressed: written once, read many times.
const REPORT_GZIP_LEVEL: u32 = 6;

const CLOSED_SK: &str = "CLOSED";
const EVENT_PREFIX: &str = "EVENT#";
const REPORT_PREFIX: &str = "REPORT#";
/// The attribute that counts the peer events a report was built from.
const EVENTS_ATTRIBUTE: &str = "events";
const REPORT_ATTRIBUTE: &str = "report";
/// The attribute that changes each time the report is marked to build again.
const GENERATION_ATTRIBUTE: &str = "gen";

fn session_pk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

fn room_pk(room_id: &str) -> String {
    format!("ROOM#{room_id}")
}

/// The keys an event is kept under: in its session's partition when it names a session.
pub fn event_keys(event_id: &str, session_id: Option<&str>) -> (String, String) {
    match session_id {
        Some(s) => (session_pk(s), format!("{EVENT_PREFIX}{event_id}")),
        None => (format!("{EVENT_PREFIX}{event_id}"), "EVENT".into()),
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A session 100ms has closed: what its report needs besides its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedSession {
    pub room_id: String,
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

impl ClosedSession {
    /// From a `session.close.success` event's `data` (`room_id`, `session_id`,
    /// `session_started_at`, `session_stopped_at`); `sent_at`, the envelope's timestamp, stands
    /// in for a missing start.
    pub fn from_close_event(data: &Value, sent_at: Option<DateTime<Utc>>) -> Option<Self> {
        let field = |k: &str| data.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
        let stopped_at = field("session_stopped_at").and_then(parse_rfc3339);
        Some(Self {
            room_id: key_id(data, "room_id")?.to_string(),
            session_id: key_id(data, "session_id")?.to_string(),
            started_at: field("session_started_at").and_then(parse_rfc3339).or(stopped_at).or(sent_at)?,
            stopped_at,
        })
    }

    fn marker(&self) -> Item {
        let mut item = Item::from([
            (PARTITION_KEY.to_string(), s(&session_pk(&self.session_id))),
            (SORT_KEY.to_string(), s(CLOSED_SK)),
        ]);
        self.describe(&mut item);
        item
    }

    fn describe(&self, item: &mut Item) {
        item.insert("room_id".into(), s(&self.room_id));
        item.insert("session_id".into(), s(&self.session_id));
        item.insert("started_at".into(), s(&stamp(self.started_at)));
        if let Some(t) = self.stopped_at {
            item.insert("stopped_at".into(), s(&stamp(t)));
        }
    }

    /// From a marker or a report item.
    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            room_id: text(item, "room_id")?.to_string(),
            session_id: text(item, "session_id")?.to_string(),
            started_at: parse_rfc3339(text(item, "started_at")?)?,
            stopped_at: text(item, "stopped_at").and_then(parse_rfc3339),
        })
    }

    /// The report item's sort key: newest first is descending order.
    fn report_sk(&self) -> String {
        format!("{REPORT_PREFIX}{}#{}", stamp(self.started_at), self.session_id)
    }

    /// The report item of generation `generation`: `report` (the JSON, gzip) and `events` when
    /// built, neither when still to build.
    fn report_item(&self, generation: &str, built: Option<(&[u8], u64)>) -> Item {
        let mut item = Item::from([
            (PARTITION_KEY.to_string(), s(&room_pk(&self.room_id))),
            (SORT_KEY.to_string(), s(&self.report_sk())),
            (GENERATION_ATTRIBUTE.to_string(), s(generation)),
        ]);
        self.describe(&mut item);
        if let Some((gzip, events)) = built {
            item.insert(REPORT_ATTRIBUTE.into(), AttributeValue::B(gzip.to_vec().into()));
            item.insert(EVENTS_ATTRIBUTE.into(), AttributeValue::N(events.to_string()));
        }
        item
    }
}

/// What is known of one peer from its join and leave, whichever came first.
#[derive(Debug, Default)]
struct PeerSeen {
    joined_at: Option<DateTime<Utc>>,
    left_at: Option<DateTime<Utc>>,
    user_id: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

/// The session as its peer events describe it, closed at `closed.stopped_at`; and how many peer
/// events there were. Bodies that are not peer events of the session are passed over; a peer
/// whose join time is unknown (no join, and a leave without `joined_at`) is left out.
pub fn session_from_events<'b>(
    closed: &ClosedSession,
    bodies: impl IntoIterator<Item = &'b [u8]>,
) -> (Session<'static>, u64) {
    let mut peers: BTreeMap<String, PeerSeen> = BTreeMap::new();
    let mut events = 0;
    for body in bodies {
        let Ok(event) = serde_json::from_slice::<Value>(body) else { continue };
        let kind = event.get("type").and_then(Value::as_str);
        let Some(data) = event.get("data").filter(|d| d.is_object()) else { continue };
        let field = |k: &str| data.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
        let Some(peer_id) = field("peer_id") else { continue };
        let seen = peers.entry(peer_id.to_string()).or_default();
        match kind {
            Some(PEER_JOIN) => {}
            Some(PEER_LEAVE) => seen.left_at = field("left_at").and_then(parse_rfc3339).or(seen.left_at),
            _ => continue,
        }
        events += 1;
        seen.joined_at = seen.joined_at.or_else(|| field("joined_at").and_then(parse_rfc3339));
        for (slot, key) in [(&mut seen.user_id, "user_id"), (&mut seen.name, "user_name"), (&mut seen.role, "role")] {
            if let Some(v) = field(key) {
                *slot = Some(v.to_string());
            }
        }
    }
    let peers = peers
        .into_iter()
        .filter_map(|(key, p)| {
            Some(Peer {
                key: Cow::Owned(key),
                name: p.name.map(Cow::Owned),
                role: p.role.map(Cow::Owned),
                user_id: p.user_id.map(Cow::Owned),
                joined_at: p.joined_at?,
                left_at: p.left_at,
            })
        })
        .collect();
    let session = Session {
        id: Cow::Owned(closed.session_id.clone()),
        room_id: Cow::Owned(closed.room_id.clone()),
        active: false,
        created_at: closed.started_at,
        updated_at: closed.stopped_at,
        peers,
    };
    (session, events)
}

/// Builds the report of `closed` from its events and stores it if its item is still of
/// `generation`, the one read before the events (and if it is not too large to store); answers
/// its JSON.
pub async fn build_report(
    table: &EventsTable,
    closed: &ClosedSession,
    generation: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ApiError> {
    let items = table.query_all(&session_pk(&closed.session_id), EVENT_PREFIX).await?;
    let bodies = items.iter().filter_map(|i| text(i, "body")).map(str::as_bytes);
    let (session, events) = session_from_events(closed, bodies);
    let json = attendance::compute(&session, now).to_json_bytes();
    let gzip = crate::encoding::gzip_at(&json, REPORT_GZIP_LEVEL);
    if gzip.len() <= MAX_STORED_REPORT_BYTES {
        let item = closed.report_item(generation, Some((&gzip, events)));
        let stored = table.put_if_equal(item, GENERATION_ATTRIBUTE, generation).await?;
        tracing::info!(session_id = %closed.session_id, events, stored, bytes = json.len(), gzip = gzip.len(), "attendance report built");
    } else {
        tracing::warn!(session_id = %closed.session_id, events, gzip = gzip.len(), "attendance report too large to keep: built on each read");
    }
    Ok(json)
}

/// Marks the report of `closed` as still to build: a new generation, no report (replacing any);
/// answers the generation.
async fn mark_to_build(table: &EventsTable, closed: &ClosedSession) -> Result<String, ApiError> {
    let generation = uuid::Uuid::new_v4().simple().to_string();
    table.put(closed.report_item(&generation, None)).await?;
    Ok(generation)
}

/// What a kept event changes: a session's close records it and builds its report; a peer event of
/// a closed session (a late one) marks that report to build again on the next read. Runs for
/// duplicates too, so a retry finishes what a failed delivery began. An error means the delivery
/// must be retried; a report that cannot be built at the close is built on first read.
pub async fn on_event(table: &EventsTable, event: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let data = event.get("data").cloned().unwrap_or(Value::Null);
    match kind {
        SESSION_CLOSE => {
            let sent_at = event.get("timestamp").and_then(Value::as_str).and_then(parse_rfc3339);
            let Some(closed) = ClosedSession::from_close_event(&data, sent_at) else {
                tracing::warn!("session.close.success without room_id or session_id: kept, no report");
                return Ok(());
            };
            table.put(closed.marker()).await?;
            let generation = mark_to_build(table, &closed).await?;
            if let Err(e) = build_report(table, &closed, &generation, now).await {
                tracing::warn!(session_id = %closed.session_id, error = %e, "attendance report not built now: it will be on first read");
            }
            Ok(())
        }
        PEER_JOIN | PEER_LEAVE => {
            let Some(session_id) = key_id(&data, "session_id") else {
                return Ok(());
            };
            match table.get(&session_pk(session_id), CLOSED_SK).await?.as_ref().and_then(ClosedSession::from_item) {
                Some(closed) => mark_to_build(table, &closed).await.map(|_| ()),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// One page of a room's stored reports, newest first: their JSON, and the cursor of the next
/// page. Reports still to build are built now. The page stops early once its reports pass
/// `budget` bytes, so the answer stays inside Lambda's 6 MB.
pub async fn reports_page(
    table: &EventsTable,
    room_id: &str,
    limit: u32,
    cursor: Option<&HistoryCursor>,
    budget: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<Vec<u8>>, Option<HistoryCursor>), ApiError> {
    let after = cursor.map(|c| c.0.as_str());
    let (items, next) = table.query(&room_pk(room_id), REPORT_PREFIX, false, Some(limit as i32), after).await?;
    let mut reports = Vec::with_capacity(items.len());
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let json = report_json(table, item, now).await?;
        bytes += json.len();
        reports.push(json);
        if bytes > budget && i + 1 < items.len() {
            let sk = text(item, SORT_KEY).unwrap_or_default();
            return Ok((reports, Some(HistoryCursor(sk.to_string()))));
        }
    }
    Ok((reports, next.map(HistoryCursor)))
}

/// The stored report of one session of the room, `None` when the table has none (not closed yet,
/// its webhooks not delivered, or a session of another room): two reads by key.
pub async fn session_report(
    table: &EventsTable,
    room_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let marker = table.get(&session_pk(session_id), CLOSED_SK).await?;
    let Some(closed) = marker.as_ref().and_then(ClosedSession::from_item).filter(|c| c.room_id == room_id) else {
        return Ok(None);
    };
    match table.get(&room_pk(room_id), &closed.report_sk()).await? {
        Some(item) => report_json(table, &item, now).await.map(Some),
        None => Ok(None),
    }
}

/// A report item's JSON: unpacked when built, built (and kept) when still to build.
async fn report_json(table: &EventsTable, item: &Item, now: DateTime<Utc>) -> Result<Vec<u8>, ApiError> {
    match item.get(REPORT_ATTRIBUTE).and_then(|v| v.as_b().ok()) {
        Some(gzip) => crate::encoding::gunzip(gzip.as_ref())
            .map_err(|e| ApiError::Internal(format!("a stored report does not unpack: {e}"))),
        None => {
            let closed = ClosedSession::from_item(item)
                .ok_or_else(|| ApiError::Internal("a report item without its session".into()))?;
            build_report(table, &closed, text(item, GENERATION_ATTRIBUTE).unwrap_or_default(), now).await
        }
    }
}

/// Where a page of `/attendance-history` starts: the sort key of the last report before it,
/// opaque to apps (base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor(String);

impl HistoryCursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// A cursor this route gave, or `None`.
    pub fn decode(text: &str) -> Option<Self> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        let sk = String::from_utf8(raw).ok()?;
        sk.starts_with(REPORT_PREFIX).then_some(Self(sk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(&format!("2026-11-27T{s}Z")).unwrap()
    }

    fn closed() -> ClosedSession {
        ClosedSession {
            room_id: "r1".into(),
            session_id: "s1".into(),
            started_at: t("10:00:00"),
            stopped_at: Some(t("11:00:00")),
        }
    }

    fn peer_event(kind: &str, peer: &str, user: &str, joined: &str, left: Option<&str>) -> Vec<u8> {
        let mut data = json!({"room_id": "r1", "session_id": "s1", "peer_id": peer, "user_id": user,
            "user_name": user.to_uppercase(), "role": "guest", "joined_at": format!("2026-11-27T{joined}Z")});
        if let Some(l) = left {
            data["left_at"] = json!(format!("2026-11-27T{l}Z"));
        }
        serde_json::to_vec(&json!({"id": format!("{kind}-{peer}"), "type": kind, "data": data})).unwrap()
    }

    #[test]
    fn order_does_not_matter_and_a_join_without_a_leave_ends_with_the_session() {
        let events = [
            peer_event(PEER_LEAVE, "p1", "a", "10:00:00", Some("10:30:00")),
            peer_event(PEER_JOIN, "p1", "a", "10:00:00", None),
            peer_event(PEER_JOIN, "p2", "b", "10:10:00", None),
            peer_event("role.change.success", "p2", "b", "10:10:00", None),
            b"not json".to_vec(),
        ];
        let forward = session_from_events(&closed(), events.iter().map(Vec::as_slice));
        let backward = session_from_events(&closed(), events.iter().rev().map(Vec::as_slice));
        assert_eq!(forward.1, 3, "peer events counted; others passed over");
        let report = |s: &Session<'_>| attendance::compute(s, t("12:00:00")).to_json_bytes();
        assert_eq!(report(&forward.0), report(&backward.0), "the same attendance whatever the order");
        let json: Value = serde_json::from_slice(&report(&forward.0)).unwrap();
        let rows = json["user_duration_list"].as_array().unwrap();
        assert_eq!((rows[0]["user_id"].as_str(), rows[0]["duration_seconds"].as_f64()), (Some("a"), Some(1800.0)));
        assert_eq!(rows[0]["name"], "A");
        assert_eq!(
            (rows[1]["user_id"].as_str(), rows[1]["duration_seconds"].as_f64()),
            (Some("b"), Some(3000.0)),
            "to the close"
        );
        assert_eq!(json["session_started_at"], "2026-11-27T10:00:00Z");
    }

    #[test]
    fn a_close_event_names_its_session_or_is_passed_over() {
        let data = json!({"room_id": "r1", "session_id": "s1", "session_started_at": "2026-11-27T10:00:00Z",
            "session_stopped_at": "2026-11-27T11:00:00Z"});
        assert_eq!(ClosedSession::from_close_event(&data, None), Some(closed()));
        assert_eq!(ClosedSession::from_close_event(&json!({"room_id": "r1"}), Some(t("10:00:00"))), None);
        let no_start =
            ClosedSession::from_close_event(&json!({"room_id": "r", "session_id": "s"}), Some(t("09:00:00")));
        assert_eq!(no_start.unwrap().started_at, t("09:00:00"), "the envelope's timestamp stands in");
    }

    #[test]
    fn keys_and_cursors() {
        assert_eq!(event_keys("e1", Some("s1")), ("SESSION#s1".into(), "EVENT#e1".into()));
        assert_eq!(event_keys("e1", None), ("EVENT#e1".into(), "EVENT".into()));
        let c = HistoryCursor(closed().report_sk());
        assert_eq!(HistoryCursor::decode(&c.encode()), Some(c.clone()));
        assert!(c.encode().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(HistoryCursor::decode("bm9wZQ"), None, "base64 of something that is no report key");
        assert_eq!(HistoryCursor::decode("!!"), None);
        let item = closed().report_item("g1", None);
        assert_eq!(ClosedSession::from_item(&item), Some(closed()));
        assert!(!item.contains_key(REPORT_ATTRIBUTE));
        assert_eq!(text(&item, GENERATION_ATTRIBUTE), Some("g1"));
    }
}

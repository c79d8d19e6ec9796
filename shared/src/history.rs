//! Attendance that outlives the session, built from 100ms's webhook events in the events table.
//!
//! What the store keeps for it ([`crate::store`], docs/events-table.md): each event of a session,
//! once, written by `webhooks`, spread over the session's partitions; a closed session (when
//! `session.close.success` arrives: the room, when the session started and stopped), with a
//! marker in each of those partitions; and its report, the attendance JSON of
//! `/session-analytics-by-room` (computed by the same code), gzip-compressed, with the number of
//! peer events it was built from, the generation it was built at and the item's generation.
//!
//! Room and session ids that are not as 100ms writes them (24 lower-case hex digits,
//! [`crate::store::is_hms_id`]) key nothing: such an event is kept under its own id, with no report.
//!
//! Delivery order is not guaranteed. The report is built from every peer event of the session,
//! merged per peer (a leave before its join is the same peer); a join without a leave ends with
//! the session. No delivery builds a report: the close queues it, and `reconcile` (or the first
//! read) builds it. A builder records its generation in the session's markers before it reads the
//! events; an event kept after that finds the mark in its partition and asks for another build (a
//! new generation, queued), so a report that misses an event is never the last word: that
//! event's request came after the builder's read of the events, and either fails the builder's
//! write or makes its report stale. A stale report is kept, and served, until a build has at least
//! as many events: a report never shrinks, even once its raw events have expired.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::attendance;
use crate::error::ApiError;
use crate::hms::sessions::{Peer, Session};
pub use crate::store::ClosedSession;
use crate::store::{BuiltReport, Closing, Lifetimes, ReportKey, ReportWrite, Store, StoredReport, key_id};
use crate::time::parse_rfc3339;

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

/// Builds the report of `closed` from its events as generation `generation` (the item's, read
/// before): the build is recorded in the session's markers first, so an event kept after the
/// read below asks for another; then the report is kept unless the item was asked for another
/// build since, or holds a report of more events (raw events expire; a report never shrinks).
/// Answers the JSON of the report that stands: this one, or the larger one kept.
pub async fn build_report(
    store: &dyn Store,
    closed: &ClosedSession,
    generation: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ApiError> {
    store.begin_build(closed, generation).await?;
    let bodies = store.session_events(&closed.session_id).await?;
    let (session, events) = session_from_events(closed, bodies.iter().map(|b| b.as_bytes()));
    drop(bodies);
    let json = attendance::compute(&session, now).to_json_bytes();
    let gzip = crate::encoding::gzip_at(&json, REPORT_GZIP_LEVEL);
    if gzip.len() > MAX_STORED_REPORT_BYTES {
        tracing::warn!(session_id = %closed.session_id, events, gzip = gzip.len(), "attendance report too large to keep: built on each read");
        return Ok(json);
    }
    let gzip_bytes = gzip.len();
    let outcome = store.put_report(closed, generation, &BuiltReport { gzip, events }).await?;
    let kept = match &outcome {
        ReportWrite::Kept => "kept",
        ReportWrite::Superseded => "superseded",
        ReportWrite::Smaller(_) => "smaller",
    };
    tracing::info!(session_id = %closed.session_id, events, outcome = kept, bytes = json.len(), gzip = gzip_bytes, "attendance report built");
    match outcome {
        ReportWrite::Kept | ReportWrite::Superseded => Ok(json),
        ReportWrite::Smaller(kept) => {
            tracing::warn!(session_id = %closed.session_id, events, kept = kept.events, "a rebuild found fewer events than the report kept: the kept one stays");
            crate::encoding::gunzip(&kept.gzip)
                .map_err(|e| ApiError::Internal(format!("a stored report does not unpack: {e}")))
        }
    }
}

fn new_generation() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// How long what the webhooks keep lives, in days: raw events, and reports (with the closed
/// sessions they belong to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub event_days: u32,
    pub report_days: u32,
}

impl Retention {
    /// The lifetimes of a session closed at `closed.stopped_at` (now, when unknown): its reports
    /// are kept `report_days` from its end; its markers as long as raw events received `now`.
    pub fn lifetimes(&self, closed: &ClosedSession, now: DateTime<Utc>) -> Lifetimes {
        let end = closed.stopped_at.unwrap_or(now).max(now);
        Lifetimes {
            events_until: now + chrono::TimeDelta::days(i64::from(self.event_days)),
            report_until: end + chrono::TimeDelta::days(i64::from(self.report_days)),
        }
    }
}

/// What an event kept now (never a duplicate: a duplicate changes nothing) changes:
/// - a session's close records it (its closed item, a marker in each of its partitions, its
///   report item) and queues its report to build: no build waits in a delivery, however large the
///   class (`reconcile` builds the queue; a read builds what is still queued);
/// - a peer event of a closed session whose report build has begun (a late one) queues another
///   build; the report kept stays until that build has at least its events.
///
/// An error means the delivery must be retried: the caller takes the event back first, so the
/// retry is kept again and finishes the work.
pub async fn on_event(
    store: &dyn Store,
    event_id: &str,
    event: &Value,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let data = event.get("data").cloned().unwrap_or(Value::Null);
    match kind {
        SESSION_CLOSE => {
            let sent_at = event.get("timestamp").and_then(Value::as_str).and_then(parse_rfc3339);
            let Some(closed) = ClosedSession::from_close_event(&data, sent_at) else {
                tracing::warn!(
                    "session.close.success without room_id or session_id as 100ms writes them: kept, no report"
                );
                return Ok(());
            };
            store.close_session(&closed, &new_generation(), retention.lifetimes(&closed, now), now).await
        }
        PEER_JOIN | PEER_LEAVE => {
            let Some(session_id) = key_id(&data, "session_id") else {
                return Ok(());
            };
            match store.closing(session_id, event_id).await? {
                Some(Closing { closed, build_begun: true }) => store.mark_stale(&closed, &new_generation(), now).await,
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Builds the reports queued at least `settle` ago (a class's late events have come by then), at
/// most `limit`, oldest first; each taken off the queue once built. Answers how many were built.
pub async fn build_queued(
    store: &dyn Store,
    settle: chrono::TimeDelta,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut built = 0;
    for (closed, queued_at) in store.queued_builds(limit).await? {
        if queued_at > now - settle {
            break;
        }
        // A report built at its item's generation since it was queued (on a read) is not built again.
        if let Some(item) = store.report(&closed).await?.filter(|item| !item.is_fresh()) {
            build_report(store, &closed, &item.generation, now).await?;
            built += 1;
        }
        store.unqueue_build(&closed, queued_at).await?;
    }
    Ok(built)
}

/// One page of a room's stored reports, newest first: their JSON, and the cursor of the next
/// page. Reports still to build are built now. The page stops early once its reports pass
/// `budget` bytes, so the answer stays inside Lambda's 6 MB.
pub async fn reports_page(
    store: &dyn Store,
    room_id: &str,
    limit: u32,
    cursor: Option<&HistoryCursor>,
    budget: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<Vec<u8>>, Option<HistoryCursor>), ApiError> {
    let (items, next) = store.report_page(room_id, limit, cursor.map(|c| &c.0)).await?;
    let mut reports = Vec::with_capacity(items.len());
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let json = report_json(store, item, now).await?;
        bytes += json.len();
        reports.push(json);
        if bytes > budget && i + 1 < items.len() {
            return Ok((reports, Some(HistoryCursor(item.closed.report_key()))));
        }
    }
    Ok((reports, next.map(HistoryCursor)))
}

/// The stored report of one session of the room, `None` when the store has none (not closed yet,
/// its webhooks not delivered, or a session of another room): two reads by key.
pub async fn session_report(
    store: &dyn Store,
    room_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(closed) = store.closed_session(session_id).await?.filter(|c| c.room_id == room_id) else {
        return Ok(None);
    };
    match store.report(&closed).await? {
        Some(item) => report_json(store, &item, now).await.map(Some),
        None => Ok(None),
    }
}

/// A report item's JSON: unpacked when built at its generation, built (and kept) when still to
/// build or asked to build again.
async fn report_json(store: &dyn Store, item: &StoredReport, now: DateTime<Utc>) -> Result<Vec<u8>, ApiError> {
    match &item.built {
        Some(report) if item.is_fresh() => crate::encoding::gunzip(&report.gzip)
            .map_err(|e| ApiError::Internal(format!("a stored report does not unpack: {e}"))),
        _ => build_report(store, &item.closed, &item.generation, now).await,
    }
}

/// Where a page of `/attendance-history` starts: the key of the last report before it, opaque to
/// apps (base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor(ReportKey);

impl HistoryCursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0.as_str())
    }

    /// A cursor this route gave, or `None`.
    pub fn decode(text: &str) -> Option<Self> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        ReportKey::parse(String::from_utf8(raw).ok()?).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{R1, R2, S1, S2, S3, S4, closed, t};
    use crate::store::{EventRecord, MemoryStore};
    use serde_json::json;

    fn peer_event(kind: &str, peer: &str, user: &str, joined: &str, left: Option<&str>) -> Vec<u8> {
        let mut data = json!({"room_id": R1, "session_id": S1, "peer_id": peer, "user_id": user,
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
        let data = json!({"room_id": R1, "session_id": S1, "session_started_at": "2026-11-27T10:00:00Z",
            "session_stopped_at": "2026-11-27T11:00:00Z"});
        assert_eq!(ClosedSession::from_close_event(&data, None), Some(closed()));
        assert_eq!(ClosedSession::from_close_event(&json!({"room_id": R1}), Some(t("10:00:00"))), None);
        let odd = json!({"room_id": R1, "session_id": "s1", "session_started_at": "2026-11-27T10:00:00Z"});
        assert_eq!(ClosedSession::from_close_event(&odd, None), None, "an id not as 100ms writes them keys nothing");
        let no_start = ClosedSession::from_close_event(&json!({"room_id": R1, "session_id": S2}), Some(t("09:00:00")));
        assert_eq!(no_start.unwrap().started_at, t("09:00:00"), "the envelope's timestamp stands in");
    }

    fn closed_in(room: &str, session: &str, start: &str) -> ClosedSession {
        ClosedSession {
            room_id: room.into(),
            session_id: session.into(),
            started_at: t(start),
            stopped_at: Some(t("11:00:00")),
        }
    }

    fn close_event(c: &ClosedSession) -> Value {
        json!({"id": format!("close-{}", c.session_id), "type": SESSION_CLOSE, "data": {"room_id": c.room_id,
            "session_id": c.session_id, "session_started_at": stamp_of(c.started_at), "session_stopped_at": "2026-11-27T11:00:00Z"}})
    }

    fn stamp_of(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    const KEEP: Retention = Retention { event_days: 90, report_days: 400 };

    /// Keeps an event in the store and lets the history see it, as `webhooks` does (a duplicate
    /// changes nothing).
    async fn deliver(store: &MemoryStore, body: &[u8]) {
        let event: Value = serde_json::from_slice(body).unwrap();
        let record = EventRecord {
            id: event["id"].as_str().unwrap(),
            kind: event["type"].as_str().unwrap(),
            room_id: event["data"]["room_id"].as_str(),
            session_id: event["data"]["session_id"].as_str(),
            body,
            received_at: t("12:00:00"),
            expires_at: t("12:00:00"),
        };
        if store.put_event_once(&record).await.unwrap() {
            on_event(store, record.id, &event, KEEP, t("12:00:00")).await.unwrap();
        }
    }

    async fn close(store: &MemoryStore, c: &ClosedSession) {
        deliver(store, &serde_json::to_vec(&close_event(c)).unwrap()).await;
    }

    fn user_ids(report: &[u8]) -> Vec<String> {
        let json: Value = serde_json::from_slice(report).unwrap();
        json["user_duration_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["user_id"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn a_close_queues_the_report_and_a_late_event_after_a_build_has_it_built_again() {
        let store = MemoryStore::default();
        deliver(&store, &peer_event(PEER_JOIN, "p1", "a", "10:00:00", None)).await;
        close(&store, &closed()).await;
        let queued = store.report(&closed()).await.unwrap().unwrap();
        assert!(queued.built.is_none(), "no delivery builds a report");
        assert_eq!(store.queued_builds(10).await.unwrap().len(), 1, "the close queues it");

        deliver(&store, &peer_event(PEER_JOIN, "p3", "c", "10:01:00", None)).await;
        assert_eq!(
            store.report(&closed()).await.unwrap().unwrap(),
            queued,
            "before a build, a late event asks nothing"
        );

        let settle = chrono::TimeDelta::minutes(2);
        assert_eq!(build_queued(&store, settle, 10, t("12:01:00")).await.unwrap(), 0, "not settled yet");
        assert_eq!(build_queued(&store, settle, 10, t("12:02:00")).await.unwrap(), 1);
        assert!(store.queued_builds(10).await.unwrap().is_empty(), "built, off the queue");
        let kept = store.report(&closed()).await.unwrap().unwrap();
        assert!(kept.is_fresh());
        assert_eq!(kept.built.as_ref().map(|b| b.events), Some(2));

        let duplicate = peer_event(PEER_JOIN, "p1", "a", "10:00:00", None);
        deliver(&store, &duplicate).await;
        assert_eq!(store.report(&closed()).await.unwrap().unwrap(), kept, "a duplicate changes nothing at all");
        assert!(store.queued_builds(10).await.unwrap().is_empty());

        deliver(&store, &peer_event(PEER_LEAVE, "p2", "b", "10:05:00", Some("10:20:00"))).await;
        let stale = store.report(&closed()).await.unwrap().unwrap();
        assert!(!stale.is_fresh() && stale.built == kept.built, "a late event asks for a build; the report stays");
        assert_eq!(store.queued_builds(10).await.unwrap().len(), 1);

        let (page, next) = reports_page(&store, R1, 10, None, usize::MAX, t("12:00:00")).await.unwrap();
        assert_eq!((page.len(), next), (1, None));
        assert_eq!(user_ids(&page[0]), ["a", "c", "b"], "the late peer is in the report built on read");
        assert_eq!(store.report(&closed()).await.unwrap().unwrap().built.map(|b| b.events), Some(3), "and kept");
        let one = session_report(&store, R1, S1, t("12:00:00")).await.unwrap().unwrap();
        assert_eq!(one, page[0]);
        assert_eq!(session_report(&store, R2, S1, t("12:00:00")).await.unwrap(), None, "another room's session");
        assert_eq!(session_report(&store, R1, S4, t("12:00:00")).await.unwrap(), None, "a session never closed");
    }

    #[tokio::test]
    async fn a_report_never_shrinks_when_its_raw_events_have_gone() {
        let store = MemoryStore::default();
        let events: Vec<Vec<u8>> =
            ["p1", "p2", "p3"].iter().map(|p| peer_event(PEER_JOIN, p, p, "10:00:00", None)).collect();
        let late = peer_event(PEER_JOIN, "p4", "p4", "10:30:00", None);
        for e in &events {
            deliver(&store, e).await;
        }
        close(&store, &closed()).await;
        build_queued(&store, chrono::TimeDelta::zero(), 10, t("12:00:00")).await.unwrap();
        let full = store.report(&closed()).await.unwrap().unwrap().built.unwrap();
        assert_eq!(full.events, 3);
        // The raw events expire (TTL), then a replayed late event asks for a build.
        store.expire_events(S1);
        deliver(&store, &late).await;
        let json = session_report(&store, R1, S1, t("12:00:00")).await.unwrap().unwrap();
        assert_eq!(user_ids(&json), ["p1", "p2", "p3"], "the kept report, not one built of a single event");
        assert_eq!(store.report(&closed()).await.unwrap().unwrap().built, Some(full), "still kept as it was");
    }

    #[tokio::test]
    async fn pages_are_newest_first_and_a_cursor_continues_after_the_last() {
        let store = MemoryStore::default();
        for (session, start) in [(S1, "08:00:00"), (S2, "09:00:00"), (S3, "10:00:00")] {
            close(&store, &closed_in(R1, session, start)).await;
        }
        close(&store, &closed_in(R2, S4, "10:30:00")).await;
        let session_of =
            |r: &Vec<u8>| serde_json::from_slice::<Value>(r).unwrap()["session_id"].as_str().unwrap().to_string();
        let (first, next) = reports_page(&store, R1, 2, None, usize::MAX, t("12:00:00")).await.unwrap();
        assert_eq!(first.iter().map(session_of).collect::<Vec<_>>(), [S3, S2]);
        let next = HistoryCursor::decode(&next.unwrap().encode()).unwrap();
        let (second, last) = reports_page(&store, R1, 2, Some(&next), usize::MAX, t("12:00:00")).await.unwrap();
        assert_eq!((second.iter().map(session_of).collect::<Vec<_>>(), last), (vec![S1.to_string()], None));
        let (small, early) = reports_page(&store, R1, 3, None, 1, t("12:00:00")).await.unwrap();
        assert_eq!(small.len(), 1, "past the byte budget the page stops early");
        let (rest, _) = reports_page(&store, R1, 3, early.as_ref(), usize::MAX, t("12:00:00")).await.unwrap();
        assert_eq!(rest.iter().map(session_of).collect::<Vec<_>>(), [S2, S1], "and goes on after it");
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_reached_fails_the_event_with_a_503() {
        let store = MemoryStore::default();
        store.set_down(true);
        let err = on_event(&store, "c1", &close_event(&closed()), KEEP, t("12:00:00")).await.unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (503, "events_table_unavailable"));
        let peer: Value = serde_json::from_slice(&peer_event(PEER_LEAVE, "p1", "a", "10:00:00", None)).unwrap();
        assert_eq!(on_event(&store, "e1", &peer, KEEP, t("12:00:00")).await.unwrap_err().status(), 503);
    }

    #[test]
    fn cursors() {
        let c = HistoryCursor(closed().report_key());
        assert_eq!(HistoryCursor::decode(&c.encode()), Some(c.clone()));
        assert!(c.encode().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(HistoryCursor::decode("bm9wZQ"), None, "base64 of something that is no report key");
        assert_eq!(HistoryCursor::decode("!!"), None);
    }
}

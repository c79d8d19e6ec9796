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

use crate::error::ApiError;
use crate::hms::sessions::{Peer, Session};
pub use crate::store::ClosedSession;
use crate::store::{ReportKey, Store, StoredReport, key_id};
use crate::time::parse_rfc3339;

mod build;
pub use build::{Retention, build_queued, build_report, on_event};

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
mod tests;

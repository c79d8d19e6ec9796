//! Keeping the history: what a kept event changes (a close queues its report, a late event after
//! a build began queues another), and the builds themselves (a report never shrinks).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    ClosedSession, MAX_STORED_REPORT_BYTES, PEER_JOIN, PEER_LEAVE, REPORT_GZIP_LEVEL, SESSION_CLOSE,
    session_from_events,
};
use crate::attendance;
use crate::error::ApiError;
use crate::store::{BuiltReport, Closing, Lifetimes, ReportWrite, Store, key_id};
use crate::time::parse_rfc3339;

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

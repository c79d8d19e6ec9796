//! 100ms's webhook delivery log and its replay (`../shared/reference/100ms-api-beyond.md`, 6.7):
//! `GET /analytics/webhooks` (page-number pages of at most 100), `POST /analytics/webhooks/replay`
//! (a JSON body; an identical request while one runs reuses it, so it is retried like a GET) and
//! `GET /analytics/webhooks/replay/{workflow_id}`. What `reconcile` reads and asks of them.

use std::future::Future;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::HmsClient;
use super::call::Call;
use crate::credentials::SecretSource;
use crate::error::{ApiError, ErrorCode};

/// The longest page of the delivery log.
pub const LOG_PAGE_LIMIT: u32 = 100;
/// The most events one replay request sends; a larger window is replayed in `offset` steps.
pub const REPLAY_LIMIT: u32 = 50_000;
/// How far back the log reaches, and the widest window one request may name.
pub const LOG_REACH_DAYS: i64 = 30;
pub const WINDOW_DAYS: i64 = 14;

/// A window of event time (`event_timestamp`), as both APIs take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One failed delivery in the log: the event's id, and its session as the log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub event_id: String,
    pub event_name: String,
    pub session_id: Option<String>,
}

/// One page of the log's failed deliveries, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub deliveries: Vec<FailedDelivery>,
    pub has_next: bool,
    pub total: u64,
}

/// A replay 100ms has taken on: its workflow (new, or the identical one already running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayStarted {
    pub workflow_id: String,
    pub already_running: bool,
}

/// How a replay workflow stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowState {
    /// `Running` (or any status 100ms has not finished with) while `None`; then its status.
    pub finished: Option<String>,
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
    pub failed_events: Vec<String>,
}

/// The delivery log and its replay, as `reconcile` uses them: the seam its tests swap for a
/// double (the emulator serves the real shapes).
pub trait WebhookLog: Send + Sync {
    /// Page `page` (from 1) of the failed deliveries of events in `window`.
    fn failed_deliveries(&self, window: Window, page: u32) -> impl Future<Output = Result<LogPage, ApiError>> + Send;
    /// Asks 100ms to send the failed deliveries of `window` again, from `offset`.
    fn replay(&self, window: Window, offset: u32) -> impl Future<Output = Result<ReplayStarted, ApiError>> + Send;
    /// Where workflow `id` is.
    fn replay_state(&self, id: &WorkflowId) -> impl Future<Output = Result<WorkflowState, ApiError>> + Send;
}

/// A workflow id as 100ms gave it, safe in a path: letters, digits, `-` and `_`, at most 128.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowId(String);

impl WorkflowId {
    pub fn parse(id: &str) -> Option<Self> {
        let ok =
            (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(what: &str) -> ApiError {
    ApiError::upstream(ErrorCode::UpstreamInvalidResponse, format!("100ms's {what} is not as documented"))
}

/// `GET /analytics/webhooks?status=failed&start_time&end_time&limit&page`.
pub(crate) fn log_call(window: Window, page: u32) -> Call {
    let query = vec![
        ("status", "failed".to_string()),
        ("start_time", stamp(window.start)),
        ("end_time", stamp(window.end)),
        ("limit", LOG_PAGE_LIMIT.to_string()),
        ("page", page.to_string()),
    ];
    Call::new(Method::GET, "/analytics/webhooks".into()).query(query).idempotent(true)
}

/// The replay request's body: the failed deliveries of `window`, from `offset`.
#[derive(Debug, Serialize)]
struct ReplayBody {
    start_time: String,
    end_time: String,
    status: &'static str,
    limit: u32,
    offset: u32,
}

/// `POST /analytics/webhooks/replay`: retried like a GET, since an identical request reuses the
/// workflow already running.
pub(crate) fn replay_call(window: Window, offset: u32) -> Result<Call, ApiError> {
    let body = ReplayBody {
        start_time: stamp(window.start),
        end_time: stamp(window.end),
        status: "failed",
        limit: REPLAY_LIMIT,
        offset,
    };
    Ok(Call::new(Method::POST, "/analytics/webhooks/replay".into()).json(&body)?.idempotent(true))
}

/// `GET /analytics/webhooks/replay/{workflow_id}`.
pub(crate) fn state_call(id: &WorkflowId) -> Call {
    Call::new(Method::GET, format!("/analytics/webhooks/replay/{}", id.as_str())).idempotent(true)
}

/// The log's answer: its events (failed deliveries only were asked for; one not marked failed is
/// passed over) and its pagination.
pub fn parse_log_page(body: &[u8]) -> Result<LogPage, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("delivery log"))?;
    let events = v.get("events").and_then(Value::as_array).ok_or_else(|| invalid("delivery log"))?;
    let deliveries = events
        .iter()
        .filter(|e| e.get("event_name").and_then(Value::as_str) != Some("reporter.webhook.delivery.success"))
        .filter_map(|e| {
            let payload = e.get("payload");
            let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
            Some(FailedDelivery {
                event_id: text(e.get("event_id"))?,
                event_name: text(payload.and_then(|p| p.get("original_event_name"))).unwrap_or_default(),
                session_id: text(payload.and_then(|p| p.get("event_data")).and_then(|d| d.get("session_id"))),
            })
        })
        .collect();
    let pagination = v.get("pagination");
    let number = |k: &str| pagination.and_then(|p| p.get(k)).and_then(Value::as_u64);
    Ok(LogPage {
        deliveries,
        has_next: pagination.and_then(|p| p.get("has_next")).and_then(Value::as_bool).unwrap_or(false),
        total: number("total_items").unwrap_or(events.len() as u64),
    })
}

pub fn parse_replay(body: &[u8]) -> Result<ReplayStarted, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("replay answer"))?;
    let id = v.get("workflow_id").and_then(Value::as_str).ok_or_else(|| invalid("replay answer"))?;
    WorkflowId::parse(id).ok_or_else(|| invalid("workflow id"))?;
    Ok(ReplayStarted {
        workflow_id: id.to_string(),
        already_running: v.get("status").and_then(Value::as_str) == Some("already_running"),
    })
}

/// Statuses the docs list, compared without case (they write `Running` and `completed`).
pub fn parse_state(body: &[u8]) -> Result<WorkflowState, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("replay status"))?;
    let status = v.get("status").and_then(Value::as_str).ok_or_else(|| invalid("replay status"))?;
    let finished = match status.to_ascii_lowercase().as_str() {
        "completed" | "completed_with_failures" | "failed" | "canceled" | "cancelled" | "terminated" => {
            Some(status.to_ascii_lowercase())
        }
        _ => None,
    };
    let progress = v.get("result").filter(|r| r.is_object()).or_else(|| v.get("progress"));
    let number = |k: &str| progress.and_then(|p| p.get(k)).and_then(Value::as_u64).unwrap_or(0);
    let failed_events = v
        .get("result")
        .and_then(|r| r.get("failed_events"))
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    Ok(WorkflowState {
        finished,
        total: number("total"),
        completed: number("completed"),
        failed: number("failed"),
        failed_events,
    })
}

impl<S: SecretSource> WebhookLog for HmsClient<S> {
    async fn failed_deliveries(&self, window: Window, page: u32) -> Result<LogPage, ApiError> {
        parse_log_page(&self.call(&log_call(window, page)).await?)
    }

    async fn replay(&self, window: Window, offset: u32) -> Result<ReplayStarted, ApiError> {
        parse_replay(&self.call(&replay_call(window, offset)?).await?)
    }

    async fn replay_state(&self, id: &WorkflowId) -> Result<WorkflowState, ApiError> {
        parse_state(&self.call(&state_call(id)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/100ms-examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_docs_examples_parse() {
        let page = parse_log_page(&example("webhooks_delivery_list_response.json")).unwrap();
        assert_eq!((page.has_next, page.total), (true, 500));
        assert_eq!(
            page.deliveries,
            [FailedDelivery {
                event_id: "abc123-def456".into(),
                event_name: "session.open.success".into(),
                session_id: Some("63f73bf05223403c9671c5c9".into()),
            }]
        );
        let started = parse_replay(&example("webhooks_replay_response.json")).unwrap();
        assert_eq!(started.workflow_id, "webhook-replay-customer123-a1b2c3d4");
        assert!(!started.already_running);
        let state = parse_state(&example("webhooks_replay_status_response.json")).unwrap();
        assert_eq!(state.finished.as_deref(), Some("completed"));
        assert_eq!((state.total, state.completed, state.failed), (150, 148, 2));
        assert_eq!(state.failed_events, ["event-id-1", "event-id-2"]);
        let running = parse_state(br#"{"status":"Running","progress":{"total":10,"completed":3,"failed":0}}"#).unwrap();
        assert_eq!((running.finished, running.completed), (None, 3));
    }

    #[test]
    fn requests_are_as_documented() {
        let at = |t: &str| crate::time::parse_rfc3339(t).unwrap();
        let window = Window { start: at("2025-12-28T00:00:00Z"), end: at("2025-12-29T00:00:00Z") };
        let doc: Value =
            serde_json::from_slice(&example("webhooks_replay_request_paginated_first_batch.json")).unwrap();
        let body = serde_json::to_value(ReplayBody {
            start_time: stamp(window.start),
            end_time: stamp(window.end),
            status: "failed",
            limit: REPLAY_LIMIT,
            offset: 0,
        })
        .unwrap();
        for field in ["start_time", "limit", "offset"] {
            assert_eq!(body[field], doc[field], "{field}");
        }
        assert!(replay_call(window, 0).is_ok());
        assert!(WorkflowId::parse("webhook-replay-customer123-a1b2c3d4").is_some());
        for bad in ["", "../x", "a b", &"a".repeat(129)] {
            assert!(WorkflowId::parse(bad).is_none(), "{bad}");
        }
        assert!(parse_replay(br#"{"workflow_id":"../../rooms","status":"started"}"#).is_err());
        assert!(parse_log_page(b"{}").is_err());
    }
}

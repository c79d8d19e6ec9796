//! Webhooks, as 100ms sends them (docs: configure-webhooks, webhook.md, the analytics webhook
//! APIs): when peers join or leave, sessions open or close, a room ends or a recording is ready,
//! the documented payload is POSTed as JSON to the configured URL with the configured headers.
//! Anything but a 200 is retried 3 times (1 s after the first attempt, 3 s after the first retry,
//! 10 s after the second). Each event's delivery is logged; the delivery-log and replay APIs
//! read and resend the log, a replay carrying `is_replay: true`.
//!
//! `/v2` routes: `GET /analytics/webhooks`, `POST /analytics/webhooks/replay`,
//! `GET /analytics/webhooks/replay/{workflow_id}`. The target is set by `hms-emulator
//! --webhook-url --webhook-header` or `PUT /_emulator/webhook {url, headers}`.
//!
//! Where the docs are silent, the emulator chooses: a successful delivery is logged as
//! `reporter.webhook.delivery.success` (a failed one as the docs' `...failed`); an attempt times
//! out after 10 s; a replay makes one attempt per event, 10 a second as the docs say.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::guard;
use crate::{APP_ID, CUSTOMER_ID, Emulator, Inner, api_error};

/// Waits before each retry: 1 s after the original attempt, 3 s after the first retry, 10 s
/// after the second.
pub const RETRY_DELAYS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(3), Duration::from_secs(10)];
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Replays go out at 10 events a second.
const REPLAY_INTERVAL: Duration = Duration::from_millis(100);

/// Where webhooks go.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// One event and how its delivery went.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    payload: Value,
    url: String,
    /// `None` while attempts remain; then whether one got a 200, and the last error.
    outcome: Option<(bool, Option<String>)>,
    attempts: u32,
}

/// A replay's progress.
#[derive(Debug, Clone)]
pub(crate) struct Workflow {
    id: String,
    filters: Value,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    total: usize,
    completed: usize,
    failed_events: Vec<String>,
}

impl Inner {
    /// The fields every event of session `idx` carries.
    pub(crate) fn session_fields(&self, idx: usize) -> Map<String, Value> {
        let session = &self.sessions[idx];
        let room_name = self.rooms.iter().find(|r| r.id == session.room_id).map(|r| r.name.clone());
        let mut m = Map::new();
        m.insert("room_id".into(), json!(session.room_id));
        m.insert("room_name".into(), json!(room_name.unwrap_or_default()));
        m.insert("session_id".into(), json!(session.id));
        m.insert("template_id".into(), json!(crate::DEFAULT_TEMPLATE_ID));
        m.insert("session_started_at".into(), json!(session.created_at));
        m
    }

    /// The fields of a peer event: the session's and the peer's.
    pub(crate) fn peer_fields(&self, idx: usize, peer_id: &str) -> Map<String, Value> {
        let mut m = self.session_fields(idx);
        if let Some(p) = self.sessions[idx].peers.get(peer_id) {
            for (k, v) in [
                ("peer_id", &p.id),
                ("user_id", &p.user_id),
                ("user_name", &p.name),
                ("role", &p.role),
                ("joined_at", &p.joined_at),
            ] {
                m.insert(k.into(), json!(v));
            }
            m.insert("user_data".into(), json!(""));
            m.insert("type".into(), json!("regular"));
        }
        m
    }

    /// Sends event `kind` with `data` (as of `at`) to the configured target, if any, and logs it.
    pub(crate) fn emit(&mut self, kind: &str, at: DateTime<Utc>, data: Map<String, Value>) {
        let Some(target) = self.webhook.clone() else { return };
        let payload = json!({
            "version": "2.0", "id": uuid::Uuid::new_v4().to_string(), "account_id": CUSTOMER_ID, "app_id": APP_ID,
            "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "type": kind, "data": Value::Object(data),
        });
        let index = self.webhook_log.len();
        self.webhook_log.push(Logged { payload: payload.clone(), url: target.url.clone(), outcome: None, attempts: 0 });
        if let Some(tx) = &self.webhook_tx {
            let _ = tx.send(Delivery { index, target, body: payload, retries: true, workflow: None });
        }
    }
}

/// One delivery for the sender task.
pub(crate) struct Delivery {
    index: usize,
    target: Target,
    body: Value,
    /// 100ms's retries (a replay makes one attempt).
    retries: bool,
    workflow: Option<String>,
}

/// The queue `emit` feeds and the task that sends what it holds, each delivery on its own (a
/// slow target delays no other event's first attempt).
pub(crate) fn start_sender(emu: &Emulator) -> tokio::sync::mpsc::UnboundedSender<Delivery> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    let emu = emu.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).build().expect("an HTTP client");
        while let Some(d) = rx.recv().await {
            tokio::spawn(deliver(emu.clone(), http.clone(), d));
        }
    });
    tx
}

async fn deliver(emu: Emulator, http: reqwest::Client, d: Delivery) {
    let waits = if d.retries { &RETRY_DELAYS[..] } else { &[] };
    let mut last_error = None;
    let mut ok = false;
    for attempt in 0..=waits.len() {
        if attempt > 0 {
            tokio::time::sleep(waits[attempt - 1]).await;
        }
        let mut req = http.post(&d.target.url).json(&d.body);
        for (k, v) in &d.target.headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(r) if r.status() == reqwest::StatusCode::OK => ok = true,
            Ok(r) => last_error = Some(format!("status {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => last_error = Some("timeout".into()),
            Err(_) => last_error = Some("connection failed".into()),
        }
        if d.workflow.is_none() {
            emu.lock().webhook_log[d.index].attempts += 1;
        }
        if ok {
            break;
        }
    }
    let mut s = emu.lock();
    match &d.workflow {
        None => s.webhook_log[d.index].outcome = Some((ok, if ok { None } else { last_error })),
        Some(id) => {
            let now = s.now();
            if let Some(w) = s.workflows.iter_mut().find(|w| &w.id == id) {
                w.completed += 1;
                if !ok {
                    w.failed_events.push(d.body["id"].as_str().unwrap_or_default().to_string());
                }
                if w.completed == w.total {
                    w.completed_at = Some(now);
                }
            }
        }
    }
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/analytics/webhooks", get(delivery_log))
        .route("/v2/analytics/webhooks/replay", post(replay))
        .route("/v2/analytics/webhooks/replay/{id}", get(workflow))
        .route("/_emulator/webhook", put(set_target))
        .route("/_emulator/webhooks", get(sent))
}

/// `PUT /_emulator/webhook {url, headers}`: where webhooks go from now on.
async fn set_target(State(emu): State<Emulator>, Json(target): Json<Target>) -> Response {
    emu.set_webhook(Some(target));
    Json(json!({"ok": true})).into_response()
}

/// `GET /_emulator/webhooks`: every event sent, with its attempts and outcome (for tests).
async fn sent(State(emu): State<Emulator>) -> Response {
    let s = emu.lock();
    let events: Vec<Value> = s
        .webhook_log
        .iter()
        .map(|l| {
            json!({"payload": l.payload, "attempts": l.attempts,
                "delivered": l.outcome.as_ref().map(|o| o.0), "error": l.outcome.as_ref().and_then(|o| o.1.clone())})
        })
        .collect();
    Json(json!({"events": events})).into_response()
}

/// The time window of the delivery-log and replay APIs: `start_time` (default a day ago, within
/// the last 30 days) to `end_time` (default now, at most 14 days after the start).
fn window(
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Response> {
    let parse = |v: Option<&str>, name: &str, default: DateTime<Utc>| match v {
        None | Some("") => Ok(default),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| api_error(StatusCode::BAD_REQUEST, &format!("invalid {name}"), &[])),
    };
    let start = parse(start, "start_time", now - TimeDelta::days(1))?;
    let end = parse(end, "end_time", now)?;
    if start < now - TimeDelta::days(30) {
        return Err(api_error(StatusCode::BAD_REQUEST, "start_time must be within the last 30 days", &[]));
    }
    if end < start || end - start > TimeDelta::days(14) {
        return Err(api_error(StatusCode::BAD_REQUEST, "end_time must be within 14 days after start_time", &[]));
    }
    Ok((start, end))
}

/// The logged events a filter selects, finished deliveries only, in the order they were sent.
fn select(
    s: &Inner,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    room_id: Option<&str>,
    status: &str,
    names: &[String],
) -> Vec<usize> {
    (0..s.webhook_log.len())
        .filter(|&i| {
            let l = &s.webhook_log[i];
            let at = l.payload["timestamp"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let in_window = at.is_some_and(|t| t >= start && t <= end);
            let room_ok = room_id.is_none_or(|r| l.payload["data"]["room_id"] == r);
            let name_ok = names.is_empty() || names.iter().any(|n| l.payload["type"] == n.as_str());
            let status_ok = match (status, &l.outcome) {
                (_, None) => false,
                ("all", Some(_)) => true,
                ("failed", Some((ok, _))) => !ok,
                (_, Some((ok, _))) => *ok,
            };
            in_window && room_ok && name_ok && status_ok
        })
        .collect()
}

/// The query's values of `name` (repeatable).
fn all(query: &[(String, String)], name: &str) -> Vec<String> {
    query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

fn one<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /v2/analytics/webhooks`: the delivery log, page-number pagination.
async fn delivery_log(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /analytics/webhooks", &headers).await {
        return r;
    }
    let s = emu.lock();
    let range = match window(one(&query, "start_time"), one(&query, "end_time"), s.now()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let status = one(&query, "status").unwrap_or("all");
    if !matches!(status, "all" | "failed" | "success") {
        return api_error(StatusCode::BAD_REQUEST, "status must be all, failed or success", &[]);
    }
    let number = |name: &str, default: usize, max: usize| match one(&query, name) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            api_error(StatusCode::BAD_REQUEST, &format!("{name} must be a whole number from 1 to {max}"), &[])
        }),
    };
    let (limit, page) = match (number("limit", 50, 100), number("page", 1, usize::MAX)) {
        (Ok(l), Ok(p)) => (l, p),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let chosen = select(&s, range, one(&query, "room_id"), status, &all(&query, "event_names"));
    let total = chosen.len();
    let events: Vec<Value> = chosen
        .iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .map(|&i| {
            let l = &s.webhook_log[i];
            let (ok, error) = l.outcome.clone().unwrap_or((false, None));
            let data = &l.payload["data"];
            let mut payload = json!({
                "event_data": {"session_id": data["session_id"], "peer_id": data["peer_id"], "user_id": data["user_id"]},
                "webhook_url": l.url, "original_event_name": l.payload["type"],
            });
            if let Some(e) = error {
                payload["error_reason"] = json!(e);
            }
            json!({
                "event_id": l.payload["id"],
                "event_name": if ok { "reporter.webhook.delivery.success" } else { "reporter.webhook.delivery.failed" },
                "room_id": data["room_id"], "event_timestamp": l.payload["timestamp"], "payload": payload,
            })
        })
        .collect();
    let pages = total.div_ceil(limit);
    Json(json!({
        "events": events,
        "pagination": {"current_page": page, "page_size": limit, "total_pages": pages, "total_items": total,
                       "has_next": page < pages, "has_prev": page > 1},
        "summary": {"total_events": total},
    }))
    .into_response()
}

/// `POST /v2/analytics/webhooks/replay`: resends the logged events a filter selects (JSON body,
/// or query parameters), each with `is_replay: true`; an identical request while one runs reuses
/// it.
async fn replay(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    if let Err(r) = guard(&emu, "POST /analytics/webhooks/replay", &headers).await {
        return r;
    }
    let body: Map<String, Value> = match body.is_empty() {
        true => Map::new(),
        false => match serde_json::from_slice(&body) {
            Ok(Value::Object(m)) => m,
            _ => return api_error(StatusCode::BAD_REQUEST, "invalid request body", &[]),
        },
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from).or(one(&query, k).map(String::from));
    let number = |k: &str| body.get(k).and_then(Value::as_u64).or(one(&query, k).and_then(|v| v.parse().ok()));
    let names: Vec<String> = match body.get("event_names").and_then(Value::as_array) {
        Some(a) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
        None => all(&query, "event_names"),
    };
    let status = text("status").unwrap_or_else(|| "failed".into());
    if !matches!(status.as_str(), "all" | "failed" | "success") {
        return api_error(StatusCode::BAD_REQUEST, "status must be all, failed or success", &[]);
    }
    let limit = number("limit").unwrap_or(50_000).min(50_000) as usize;
    let offset = number("offset").unwrap_or(0) as usize;
    let mut s = emu.lock();
    let range = match window(text("start_time").as_deref(), text("end_time").as_deref(), s.now()) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let room_id = text("room_id");
    let filters = json!({"start_time": crate::ts(range.0), "end_time": crate::ts(range.1), "room_id": room_id.clone().unwrap_or_default(),
        "event_types": names, "limit": limit, "offset": offset, "status": status});
    if let Some(w) = s.workflows.iter().find(|w| w.filters == filters && w.completed_at.is_none()) {
        return Json(json!({"workflow_id": w.id, "status": "already_running",
            "message": "an identical replay is running", "filters": public_filters(&w.filters)}))
        .into_response();
    }
    let Some(target) = s.webhook.clone() else {
        return api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook replay service unavailable",
            &["no webhook is configured"],
        );
    };
    let chosen: Vec<usize> =
        select(&s, range, room_id.as_deref(), &status, &names).into_iter().skip(offset).take(limit).collect();
    let id = uuid::Uuid::new_v4().to_string();
    let now = s.now();
    s.workflows.push(Workflow {
        id: id.clone(),
        filters: filters.clone(),
        started_at: now,
        completed_at: chosen.is_empty().then_some(now),
        total: chosen.len(),
        completed: 0,
        failed_events: Vec::new(),
    });
    let deliveries: Vec<Delivery> = chosen
        .iter()
        .map(|&i| {
            let mut body = s.webhook_log[i].payload.clone();
            body["is_replay"] = json!(true);
            Delivery { index: i, target: target.clone(), body, retries: false, workflow: Some(id.clone()) }
        })
        .collect();
    if let Some(tx) = s.webhook_tx.clone() {
        tokio::spawn(async move {
            for d in deliveries {
                let _ = tx.send(d);
                tokio::time::sleep(REPLAY_INTERVAL).await;
            }
        });
    }
    Json(json!({"workflow_id": id, "status": "started", "message": "Webhook replay has been queued for processing", "filters": public_filters(&filters)}))
        .into_response()
}

/// The filters a replay answer shows: `start_time`, `end_time`, `room_id`, `event_types`.
fn public_filters(f: &Value) -> Value {
    json!({"start_time": f["start_time"], "end_time": f["end_time"], "room_id": f["room_id"], "event_types": f["event_types"]})
}

/// `GET /v2/analytics/webhooks/replay/{workflow_id}`.
async fn workflow(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /analytics/webhooks/replay/{id}", &headers).await {
        return r;
    }
    let s = emu.lock();
    let Some(w) = s.workflows.iter().find(|w| w.id == id) else {
        return api_error(StatusCode::NOT_FOUND, "workflow not found", &[]);
    };
    let failed = w.failed_events.len();
    let status = match (w.completed_at, failed) {
        (None, _) => "Running",
        (Some(_), 0) => "completed",
        (Some(_), f) if f == w.total => "failed",
        (Some(_), _) => "completed_with_failures",
    };
    Json(json!({
        "workflow_id": w.id, "status": status, "started_at": crate::ts(w.started_at), "completed_at": w.completed_at.map(crate::ts),
        "filters": w.filters,
        "progress": {"total": w.total, "completed": w.completed - failed, "failed": failed},
        "result": {"total": w.total, "completed": w.completed - failed, "failed": failed, "failed_events": w.failed_events},
    }))
    .into_response()
}

//! The reconciliation against a delivery log in memory (the emulator's is in e2e/tests/recovery.rs):
//! a window with nothing missing is passed; missing events are replayed and the window checked
//! again; a replay that fails again is retried and, after the tries allowed, reported and passed;
//! a run cut short (429) leaves its checkpoint for the next; the log's 30 days are respected.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hms_shared::ApiError;
use hms_shared::error::ErrorCode;
use hms_shared::handlers::webhooks::receive;
use hms_shared::history::Retention;
use hms_shared::hms::analytics::{
    FailedDelivery, LogPage, ReplayStarted, WebhookLog, Window, WorkflowId, WorkflowState,
};
use hms_shared::reconcile::{Checkpoint, Settings, run};
use hms_shared::store::{Checkpoints, MemoryStore, Store};
use serde_json::json;

const KEEP: Retention = Retention { event_days: 90, report_days: 400 };
const SESSION: &str = "0000000000000000000000c1";
const ROOM: &str = "0000000000000000000000a1";

fn at(t: &str) -> DateTime<Utc> {
    hms_shared::time::parse_rfc3339(&format!("2026-12-01T{t}Z")).unwrap()
}

/// One event 100ms sent: its body, its time, and whether its delivery failed.
struct Sent {
    body: Vec<u8>,
    id: String,
    at: DateTime<Utc>,
    failed: bool,
}

/// 100ms's delivery log and replay, in memory: a replay delivers each failed event of its window
/// to the store (as `webhooks` keeps it) unless `refusing`, and finishes at once.
#[derive(Default)]
struct Log {
    sent: Mutex<Vec<Sent>>,
    refusing: Mutex<bool>,
    rate_limited: Mutex<bool>,
    replays: Mutex<Vec<(Window, u32)>>,
    /// Workflows by id: their state.
    workflows: Mutex<Vec<(String, WorkflowState)>>,
    store: std::sync::Arc<MemoryStore>,
    /// Polls of a workflow before it is finished.
    polls_before_done: Mutex<u32>,
}

impl Log {
    fn send(&self, id: &str, kind: &str, when: DateTime<Utc>, failed: bool) {
        let body = json!({"id": id, "type": kind, "timestamp": when, "data": {"room_id": ROOM, "session_id": SESSION,
            "peer_id": format!("p-{id}"), "user_id": format!("u-{id}"), "joined_at": when}});
        self.sent.lock().unwrap().push(Sent { body: body.to_string().into_bytes(), id: id.into(), at: when, failed });
    }
}

impl WebhookLog for Log {
    async fn failed_deliveries(&self, window: Window, page: u32) -> Result<LogPage, ApiError> {
        let sent = self.sent.lock().unwrap();
        let failed: Vec<&Sent> =
            sent.iter().filter(|s| s.failed && s.at >= window.start && s.at <= window.end).collect();
        let per = 2;
        let deliveries = failed
            .iter()
            .skip((page as usize - 1) * per)
            .take(per)
            .map(|s| FailedDelivery {
                event_id: s.id.clone(),
                event_name: "peer.join.success".into(),
                session_id: Some(SESSION.into()),
            })
            .collect();
        Ok(LogPage { deliveries, has_next: failed.len() > page as usize * per, total: failed.len() as u64 })
    }

    async fn replay(&self, window: Window, offset: u32) -> Result<ReplayStarted, ApiError> {
        if *self.rate_limited.lock().unwrap() {
            return Err(ApiError::upstream(
                ErrorCode::UpstreamRateLimited,
                "rate limit exceeded, retry after 45 seconds",
            ));
        }
        self.replays.lock().unwrap().push((window, offset));
        let bodies: Vec<(String, Vec<u8>)> = {
            let sent = self.sent.lock().unwrap();
            sent.iter()
                .filter(|s| s.failed && s.at >= window.start && s.at <= window.end)
                .skip(offset as usize)
                .take(hms_shared::hms::analytics::REPLAY_LIMIT as usize)
                .map(|s| {
                    let mut v: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
                    v["is_replay"] = json!(true);
                    (s.id.clone(), v.to_string().into_bytes())
                })
                .collect()
        };
        let refusing = *self.refusing.lock().unwrap();
        let mut failed_events = Vec::new();
        for (id, body) in &bodies {
            if refusing {
                failed_events.push(id.clone());
            } else {
                receive(self.store.as_ref(), body, KEEP, Utc::now()).await.unwrap();
            }
        }
        let id = format!("wf-{}", self.workflows.lock().unwrap().len());
        let n = bodies.len() as u64;
        let state = WorkflowState {
            finished: Some(if refusing { "failed" } else { "completed" }.into()),
            total: n,
            completed: n - failed_events.len() as u64,
            failed: failed_events.len() as u64,
            failed_events,
        };
        self.workflows.lock().unwrap().push((id.clone(), state));
        Ok(ReplayStarted { workflow_id: id, already_running: false })
    }

    async fn replay_state(&self, id: &WorkflowId) -> Result<WorkflowState, ApiError> {
        let mut polls = self.polls_before_done.lock().unwrap();
        if *polls > 0 {
            *polls -= 1;
            return Ok(WorkflowState::default());
        }
        let flows = self.workflows.lock().unwrap();
        flows
            .iter()
            .find(|(w, _)| w == id.as_str())
            .map(|(_, s)| s.clone())
            .ok_or(ApiError::UpstreamRejected { status: 404, msg: "workflow not found".into() })
    }
}

fn settings() -> Settings {
    Settings {
        settle: TimeDelta::minutes(5),
        first_lookback: TimeDelta::hours(24),
        max_tries: 2,
        poll_every: Duration::from_millis(10),
    }
}

fn soon() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(5)
}

/// A class's events, some of whose deliveries failed (`failed` says which) and were not kept;
/// the rest kept as delivered.
async fn class(log: &Log, failed: &[bool]) {
    for (n, f) in failed.iter().enumerate() {
        let id = format!("e{n}");
        log.send(&id, "peer.join.success", at("10:00:00") + TimeDelta::seconds(n as i64), *f);
        if !f {
            let body = log.sent.lock().unwrap().last().unwrap().body.clone();
            receive(log.store.as_ref(), &body, KEEP, Utc::now()).await.unwrap();
        }
    }
}

async fn checkpoint(store: &MemoryStore) -> Checkpoint {
    serde_json::from_str(&store.checkpoint().await.unwrap().unwrap().0).unwrap()
}

#[tokio::test]
async fn missing_events_are_replayed_and_the_window_passed_once_all_are_kept() {
    let log = Log::default();
    class(&log, &[false, true, false, true, true]).await;
    let store = log.store.clone();
    let now = at("12:00:00");
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap();
    assert_eq!((report.missing, report.replays_started, report.replays_finished), (3, 1, 1), "{report:?}");
    assert_eq!(report.given_up, 0);
    assert_eq!(report.through, Some(now - TimeDelta::minutes(5)), "checked up to the settle time");
    assert_eq!(store.session_events(SESSION).await.unwrap().len(), 5, "every event kept");
    assert_eq!(checkpoint(&store).await, Checkpoint { through: now - TimeDelta::minutes(5), recovering: None });
    assert_eq!(store.outcomes().len(), 1, "the replay's outcome is kept");

    // The next run starts where this one ended: nothing missing, no replay.
    let later = now + TimeDelta::minutes(5);
    let again = run(&log, store.as_ref(), store.as_ref(), &settings(), later, soon()).await.unwrap();
    assert_eq!((again.missing, again.replays_started), (0, 0));
    assert_eq!(log.replays.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_replay_that_fails_again_is_retried_then_reported_never_dropped_silently() {
    let log = Log::default();
    class(&log, &[true, false]).await;
    *log.refusing.lock().unwrap() = true;
    let store = log.store.clone();
    let now = at("12:00:00");
    // One replay a run (the endpoint may still be down), max_tries (2) runs, then the third
    // reports what is still missing and passes the window.
    for n in 1..=2 {
        let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap();
        assert_eq!(
            (report.replays_started, report.replays_finished, report.given_up),
            (1, 1, 0),
            "run {n}: {report:?}"
        );
        assert!(checkpoint(&store).await.recovering.is_some_and(|r| r.tries == n), "run {n}");
    }
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap();
    assert_eq!(report.replays_started, 0, "{report:?}");
    assert_eq!((report.given_up, report.given_up_events.clone()), (1, vec!["e0".to_string()]));
    let outcomes = store.outcomes();
    assert!(outcomes.iter().any(|(name, json)| name == "given-up" && json.contains("e0")), "{outcomes:?}");
    assert_eq!(checkpoint(&store).await.through, now - TimeDelta::minutes(5), "reported, then passed");
}

#[tokio::test]
async fn a_run_cut_short_leaves_its_checkpoint_and_a_running_replay_is_followed_by_the_next_run() {
    let log = Log::default();
    class(&log, &[true]).await;
    *log.rate_limited.lock().unwrap() = true;
    let store = log.store.clone();
    let now = at("12:00:00");
    let start = Checkpoint { through: now - TimeDelta::hours(24), recovering: None };
    assert!(store.save_checkpoint(&serde_json::to_string(&start).unwrap(), None).await.unwrap());
    let err = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap_err();
    assert_eq!(err.code().as_str(), "upstream_rate_limited");
    let kept = checkpoint(&store).await;
    assert_eq!(kept.through, now - TimeDelta::hours(24), "the window is not passed");
    assert_eq!(kept.recovering, None, "nothing was saved past the checkpoint read");

    *log.rate_limited.lock().unwrap() = false;
    *log.polls_before_done.lock().unwrap() = 1_000;
    let short = tokio::time::Instant::now() + Duration::from_millis(100);
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, short).await.unwrap();
    assert!(report.replay_running && report.replays_started == 1, "{report:?}");
    assert!(checkpoint(&store).await.recovering.unwrap().replay.is_some(), "the workflow is kept for the next run");

    *log.polls_before_done.lock().unwrap() = 0;
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap();
    assert_eq!((report.replays_started, report.replays_finished, report.given_up), (0, 1, 0), "{report:?}");
    assert_eq!(store.session_events(SESSION).await.unwrap().len(), 1);
    assert_eq!(checkpoint(&store).await.recovering, None);
}

#[tokio::test]
async fn the_log_is_read_no_further_back_than_it_reaches_in_windows_of_at_most_14_days() {
    let log = Log::default();
    let store = log.store.clone();
    let now = at("12:00:00");
    let old = Checkpoint { through: now - TimeDelta::days(45), recovering: None };
    assert!(store.save_checkpoint(&serde_json::to_string(&old).unwrap(), None).await.unwrap());
    class(&log, &[true]).await;
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), now, soon()).await.unwrap();
    assert_eq!(report.gap_before, Some(old.through), "the gap is reported");
    assert_eq!(
        report.windows_checked, 4,
        "30 days in windows of 14, the last checked again after its replay: {report:?}"
    );
    let replays = log.replays.lock().unwrap().clone();
    assert!(replays.iter().all(|(w, _)| w.end - w.start <= TimeDelta::days(14) && w.start > now - TimeDelta::days(30)));
    assert_eq!(store.session_events(SESSION).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_run_builds_the_reports_queued_before_the_settle_time() {
    let log = Log::default();
    let store = log.store.clone();
    class(&log, &[false, false]).await;
    let close = json!({"id": "close", "type": "session.close.success", "data": {"room_id": ROOM, "session_id": SESSION,
        "session_started_at": at("10:00:00"), "session_stopped_at": at("11:00:00")}});
    receive(store.as_ref(), close.to_string().as_bytes(), KEEP, at("11:00:00")).await.unwrap();
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), at("11:01:00"), soon()).await.unwrap();
    assert_eq!(report.reports_built, 0, "not settled");
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), at("11:06:00"), soon()).await.unwrap();
    assert_eq!(report.reports_built, 1);
    assert!(store.queued_builds(5).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_window_of_more_than_50000_failed_deliveries_is_replayed_in_offset_steps() {
    let log = Log::default();
    for n in 0..50_001 {
        log.send(&format!("f{n}"), "peer.join.success", at("10:00:00") + TimeDelta::milliseconds(n), true);
    }
    let store = log.store.clone();
    let long = tokio::time::Instant::now() + Duration::from_secs(300);
    let report = run(&log, store.as_ref(), store.as_ref(), &settings(), at("12:00:00"), long).await.unwrap();
    let offsets: Vec<u32> = log.replays.lock().unwrap().iter().map(|(_, offset)| *offset).collect();
    assert_eq!(offsets, [0, 50_000], "one request per 50,000: {report:?}");
    assert_eq!((report.replays_started, report.replays_finished, report.given_up), (2, 2, 0));
    assert_eq!(checkpoint(&store).await.recovering, None, "the window passed once all were kept");
}

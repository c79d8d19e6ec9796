//! Nothing lost: the scheduled reconciliation that recovers webhooks 100ms gave up on, from its
//! delivery log ([`crate::hms::analytics`]), and builds the attendance reports queued since the
//! last run ([`crate::history::build_queued`]).
//!
//! 100ms retries a failed delivery three times (1, 3 and 10 s apart) and then logs it as failed.
//! Each run reads the log window by window (at most 14 days, from the checkpoint to `settle` ago,
//! never further back than the log's 30 days), looks each failed delivery's event up in the
//! table, and when one is missing asks 100ms to replay the window's failed deliveries (50,000 a
//! request, `offset` for more; 10 events a second), follows the workflow to its end (across runs:
//! it is kept in the checkpoint), then checks the window again; what a replay left missing is
//! replayed again by the next run. A window is passed only when every failed delivery's event is
//! kept, or after `max_tries` replays, one a run, that left some missing:
//! those are reported (an error line naming them, an outcome item, and the run fails, which the
//! template's alarm watches), never dropped silently. The checkpoint is saved after each step, so
//! a run cut short (timeout, 429 "retry after 45 seconds", 503) is taken up by the next.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::hms::analytics::{LOG_REACH_DAYS, REPLAY_LIMIT, WINDOW_DAYS, WebhookLog, Window, WorkflowId, WorkflowState};
use crate::store::{Checkpoints, Store, is_hms_id};

/// Pages of the log read for one window in one check (100 deliveries each).
pub const MAX_LOG_PAGES: u32 = 100;
/// Failed deliveries named in a report of those given up.
pub const NAMED_AT_MOST: usize = 100;
/// Reports built per run at most (each reads a session's events).
pub const BUILDS_PER_RUN: u32 = 50;
/// Outcomes are kept this long.
pub const OUTCOME_DAYS: i64 = 90;

/// How a run behaves (`RECONCILE_*`, config/reconcile.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A delivery is judged only once 100ms is done with it (three retries and their timeouts),
    /// and a report is built once its class's late events have come: this long after.
    pub settle: TimeDelta,
    /// Where the first run starts reading the log: this long before it.
    pub first_lookback: TimeDelta,
    /// Replays of one window before what is still missing is reported and passed.
    pub max_tries: u32,
    /// How often a running replay is asked where it is.
    pub poll_every: Duration,
}

/// What a run keeps for the next: every failed delivery of an event before `through` is kept,
/// or was reported; the window being recovered, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub through: DateTime<Utc>,
    pub recovering: Option<Recovery>,
}

/// A window with failed deliveries whose events are missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub window: Window,
    /// Replays asked for this window so far.
    pub tries: u32,
    /// Failed deliveries in the window, when last counted.
    pub failed: u64,
    /// The replay running, if any.
    pub replay: Option<Replay>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    pub workflow_id: WorkflowId,
    pub offset: u32,
    pub started_at: DateTime<Utc>,
}

/// What one run did (its answer, and its log line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// The checkpoint after the run.
    pub through: Option<DateTime<Utc>>,
    /// Deliveries from before the log's reach that could no longer be read: the earliest time
    /// read instead.
    pub gap_before: Option<DateTime<Utc>>,
    pub windows_checked: u32,
    /// Failed deliveries in the windows checked (100ms's count).
    pub failed_deliveries_seen: u64,
    /// Events found missing among the deliveries read (at most [`MAX_LOG_PAGES`] pages a check:
    /// one missing is enough to replay the whole window).
    pub missing: u64,
    pub replays_started: u32,
    pub replays_finished: u32,
    /// Events still missing after `max_tries` replays: reported, and passed.
    pub given_up: u64,
    pub given_up_events: Vec<String>,
    /// A replay was still running when the run's time was up: the next run follows it.
    pub replay_running: bool,
    pub reports_built: usize,
}

/// The events of `window`'s failed deliveries that the table does not hold (at most
/// [`NAMED_AT_MOST`] named), how many are missing, and how many failed deliveries there are.
async fn missing_in<L: WebhookLog>(
    log: &L,
    store: &dyn Store,
    window: Window,
) -> Result<(Vec<String>, u64, u64), ApiError> {
    let (mut named, mut missing, mut total) = (Vec::new(), 0, 0);
    for page in 1..=MAX_LOG_PAGES {
        let found = log.failed_deliveries(window, page).await?;
        total = found.total;
        let lookups = found.deliveries.iter().map(|d| async move {
            let session = d.session_id.as_deref().filter(|s| is_hms_id(s));
            Ok::<_, ApiError>((d.event_id.as_str(), store.event_body(&d.event_id, session).await?.is_none()))
        });
        for (id, absent) in futures_util::future::try_join_all(lookups).await? {
            if absent {
                missing += 1;
                if named.len() < NAMED_AT_MOST {
                    named.push(id.to_string());
                }
            }
        }
        if !found.has_next {
            break;
        }
    }
    Ok((named, missing, total))
}

/// The checkpoint and the version it was read at; a first run's starts `first_lookback` ago.
async fn load(checkpoints: &dyn Checkpoints, start: DateTime<Utc>) -> Result<(Checkpoint, Option<u64>), ApiError> {
    match checkpoints.checkpoint().await? {
        Some((json, version)) => match serde_json::from_str(&json) {
            Ok(cp) => Ok((cp, Some(version))),
            Err(e) => Err(ApiError::Internal(format!("reconcile's checkpoint does not read back: {e}"))),
        },
        // Saved at once: a first run cut short leaves the next its starting point, not its own
        // (later) one, which would skip what lies between.
        None => {
            let first = Checkpoint { through: start, recovering: None };
            let version = save(checkpoints, &first, None).await?;
            Ok((first, version))
        }
    }
}

/// Saves `cp` over the version read; answers the new version. Another run's save since is an
/// error: two runs must not recover the same window (the template runs one at a time).
async fn save(checkpoints: &dyn Checkpoints, cp: &Checkpoint, read: Option<u64>) -> Result<Option<u64>, ApiError> {
    let json = serde_json::to_string(cp).map_err(|e| ApiError::Internal(e.to_string()))?;
    if checkpoints.save_checkpoint(&json, read).await? {
        Ok(Some(read.map_or(1, |v| v + 1)))
    } else {
        Err(ApiError::Internal("another reconcile run saved its checkpoint since this one read it".into()))
    }
}

/// One run, until the work is done or `deadline`: recovers what the log shows missing, then
/// builds the reports queued at least `settle` ago. An error leaves the saved checkpoint for the
/// next run; a run that gave events up answers its report with `given_up` set (the caller fails
/// the invocation, so the alarm sees it).
pub async fn run<L: WebhookLog>(
    log: &L,
    store: &dyn Store,
    checkpoints: &dyn Checkpoints,
    settings: &Settings,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<RunReport, ApiError> {
    let mut report = RunReport::default();
    let (mut cp, mut version) = load(checkpoints, now - settings.first_lookback).await?;
    // The log reaches 30 days back; an hour is kept spare so a window's start is never refused.
    let earliest = now - TimeDelta::days(LOG_REACH_DAYS) + TimeDelta::hours(1);
    if cp.through < earliest {
        tracing::error!(checkpoint = %cp.through, earliest = %earliest, "reconcile was stopped longer than 100ms keeps its delivery log: failed deliveries before the earliest time cannot be recovered");
        report.gap_before = Some(cp.through);
        cp = Checkpoint { through: earliest, recovering: None };
    }
    let horizon = now - settings.settle;
    // A replay that ended in this run and left events missing is tried again by the next run, not
    // at once: our endpoint may still be down, and the tries are meant to span runs.
    let mut replay_ended = false;
    while Instant::now() < deadline {
        let Some(mut recovery) = cp.recovering.clone() else {
            if cp.through >= horizon {
                break;
            }
            let end = (cp.through + TimeDelta::days(WINDOW_DAYS)).min(horizon);
            let window = Window { start: cp.through, end };
            cp.recovering = Some(Recovery { window, tries: 0, failed: 0, replay: None });
            continue;
        };
        if let Some(replay) = recovery.replay.clone() {
            let state = match log.replay_state(&replay.workflow_id).await {
                Ok(s) => s,
                // A workflow 100ms no longer knows is over: the window is checked again.
                Err(ApiError::UpstreamRejected { status: 404, .. }) => {
                    WorkflowState { finished: Some("not_found".into()), ..Default::default() }
                }
                Err(e) => return Err(e),
            };
            if state.finished.is_none() {
                if Instant::now() + settings.poll_every >= deadline {
                    break;
                }
                tokio::time::sleep(settings.poll_every).await;
                continue;
            }
            report.replays_finished += 1;
            replay_ended = true;
            let outcome = serde_json::json!({
                "workflow_id": replay.workflow_id.as_str(), "window": recovery.window, "offset": replay.offset,
                "started_at": replay.started_at, "status": state.finished,
                "total": state.total, "completed": state.completed, "failed": state.failed,
                "failed_events": state.failed_events,
            });
            checkpoints
                .record_outcome(replay.workflow_id.as_str(), &outcome.to_string(), now + TimeDelta::days(OUTCOME_DAYS))
                .await?;
            tracing::info!(
                workflow_id = replay.workflow_id.as_str(),
                status = state.finished.as_deref().unwrap_or_default(),
                total = state.total,
                failed = state.failed,
                "webhook replay finished"
            );
            let next = replay.offset.saturating_add(REPLAY_LIMIT);
            recovery.replay = None;
            if u64::from(next) < recovery.failed {
                let started = log.replay(recovery.window, next).await?;
                recovery.replay = Some(started_replay(&started.workflow_id, next, now)?);
                report.replays_started += 1;
            }
            cp.recovering = Some(recovery);
            version = save(checkpoints, &cp, version).await?;
            continue;
        }
        let (named, missing, failed) = missing_in(log, store, recovery.window).await?;
        report.windows_checked += 1;
        report.failed_deliveries_seen += failed;
        if missing == 0 {
            cp = Checkpoint { through: recovery.window.end, recovering: None };
            version = save(checkpoints, &cp, version).await?;
            continue;
        }
        report.missing += missing;
        if replay_ended {
            tracing::warn!(
                missing,
                tries = recovery.tries,
                "webhook events still missing after a replay: the next run tries again"
            );
            break;
        }
        if recovery.tries >= settings.max_tries {
            tracing::error!(missing, tries = recovery.tries, events = ?named, start = %recovery.window.start, end = %recovery.window.end, "webhook deliveries given up: still missing after the replays");
            let outcome = serde_json::json!({"given_up": missing, "events": named, "window": recovery.window, "tries": recovery.tries});
            checkpoints.record_outcome("given-up", &outcome.to_string(), now + TimeDelta::days(OUTCOME_DAYS)).await?;
            report.given_up += missing;
            report.given_up_events.extend(named);
            cp = Checkpoint { through: recovery.window.end, recovering: None };
            version = save(checkpoints, &cp, version).await?;
            continue;
        }
        let started = log.replay(recovery.window, 0).await?;
        tracing::info!(missing, failed, try_number = recovery.tries + 1, workflow_id = %started.workflow_id, "webhook replay asked for");
        recovery.tries += 1;
        recovery.failed = failed;
        recovery.replay = Some(started_replay(&started.workflow_id, 0, now)?);
        report.replays_started += 1;
        cp.recovering = Some(recovery);
        version = save(checkpoints, &cp, version).await?;
    }
    report.through = Some(cp.through);
    report.replay_running = cp.recovering.as_ref().is_some_and(|r| r.replay.is_some());
    report.reports_built = crate::history::build_queued(store, settings.settle, BUILDS_PER_RUN, now).await?;
    Ok(report)
}

fn started_replay(id: &str, offset: u32, now: DateTime<Utc>) -> Result<Replay, ApiError> {
    let workflow_id = WorkflowId::parse(id).ok_or_else(|| ApiError::Internal("a workflow id 100ms gave".into()))?;
    Ok(Replay { workflow_id, offset, started_at: now })
}

//! What belongs to the invocation being answered: its Lambda request id and X-Ray trace id
//! (every log line written while answering it carries them), the instant its answer is due by,
//! and how many 100ms calls and retries it made (its summary line reports them).
//!
//! A task-local, set by `app::run` around each invocation, so the 100ms client and the log
//! formatter reach it without every function passing it on.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Invocation;
}

/// One invocation's context and counters.
#[derive(Debug, Default)]
pub struct Invocation {
    pub request_id: String,
    pub xray_trace_id: Option<String>,
    /// When the answer must be sent by (the Lambda deadline minus a margin), when known.
    pub deadline: Option<Instant>,
    hms_calls: AtomicU32,
    hms_retries: AtomicU32,
}

/// The counters an invocation ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests sent to 100ms (each attempt counts).
    pub hms_calls: u32,
    /// Of those, the ones that repeated an earlier attempt (after a transient failure or a 401).
    pub hms_retries: u32,
}

impl Invocation {
    pub fn new(request_id: impl Into<String>, xray_trace_id: Option<String>, deadline: Option<Instant>) -> Self {
        Self { request_id: request_id.into(), xray_trace_id, deadline, ..Self::default() }
    }

    /// Runs `fut` as this invocation.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }
}

/// The current invocation's counters so far (zero outside an invocation).
pub fn counts() -> Counts {
    CURRENT
        .try_with(|i| Counts {
            hms_calls: i.hms_calls.load(Ordering::Relaxed),
            hms_retries: i.hms_retries.load(Ordering::Relaxed),
        })
        .unwrap_or_default()
}

/// The current invocation's deadline, if one is known.
pub fn deadline() -> Option<Instant> {
    CURRENT.try_with(|i| i.deadline).ok().flatten()
}

/// Calls `f` with the current invocation's ids (request id, X-Ray trace id), if there is one.
pub fn with_ids<R>(f: impl FnOnce(&str, Option<&str>) -> R) -> Option<R> {
    CURRENT.try_with(|i| f(&i.request_id, i.xray_trace_id.as_deref())).ok()
}

/// Counts one request sent to 100ms; `retry` when it repeats an earlier attempt.
pub fn count_hms_call(retry: bool) {
    let _ = CURRENT.try_with(|i| {
        i.hms_calls.fetch_add(1, Ordering::Relaxed);
        if retry {
            i.hms_retries.fetch_add(1, Ordering::Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scope_carries_ids_deadline_and_counts() {
        let at = Instant::now();
        let inv = Invocation::new("req-1", Some("Root=1-abc".into()), Some(at));
        let (ids, counts) = inv
            .scope(async {
                count_hms_call(false);
                count_hms_call(true);
                count_hms_call(false);
                assert_eq!(deadline(), Some(at));
                (with_ids(|r, x| (r.to_string(), x.map(str::to_string))), counts())
            })
            .await;
        assert_eq!(ids, Some(("req-1".to_string(), Some("Root=1-abc".to_string()))));
        assert_eq!(counts, Counts { hms_calls: 3, hms_retries: 1 });
    }

    #[test]
    fn outside_an_invocation_there_is_nothing_and_counting_is_harmless() {
        count_hms_call(true);
        assert_eq!(deadline(), None);
        assert_eq!(with_ids(|r, _| r.to_string()), None);
        assert_eq!(counts(), Counts::default());
    }
}

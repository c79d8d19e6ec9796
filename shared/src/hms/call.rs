//! The one path every 100ms request takes: the management token, re-signed and then re-read on
//! 401 and on a 403 that is about the token (`rejects_credentials`); bounded, jittered retries of idempotent requests on transient failures; the
//! invocation's deadline; 100ms's answers and failures mapped to [`ApiError`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::{
    BASE_BACKOFF, CALL_BUDGET, CONNECT_TIMEOUT, HmsClient, MAX_ATTEMPTS, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER,
    REJECTED_BACKOFF, REQUEST_TIMEOUT,
};
use crate::credentials::SecretSource;
use crate::error::{ApiError, ErrorCode};
use crate::invocation;

/// One request to 100ms, described once and sent as often as the rules allow.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    /// The path under the base URL, built from parsed ids only.
    path: String,
    query: Vec<(&'static str, String)>,
    /// A JSON body, serialized once.
    body: Option<Vec<u8>>,
    /// Whether sending it twice has the effect of sending it once (then transient failures are
    /// retried).
    idempotent: bool,
}

impl Call {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self { method, path, query: Vec::new(), body: None, idempotent: false }
    }

    pub(crate) fn query(mut self, query: Vec<(&'static str, String)>) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, ApiError> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?);
        Ok(self)
    }

    pub(crate) fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The JSON body, as sent.
    #[cfg(test)]
    pub(crate) fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    #[cfg(test)]
    pub(crate) fn is_idempotent(&self) -> bool {
        self.idempotent
    }
}

/// The latest instant a call started now may run to: its own budget, cut to the invocation's
/// deadline when one is set.
pub fn call_deadline() -> Instant {
    let own = Instant::now() + CALL_BUDGET;
    invocation::deadline().map_or(own, |d| own.min(d))
}

struct RawAnswer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug)]
enum Failure {
    /// No connection could be made: nothing was sent, so any request may be retried.
    Unreachable,
    Timeout,
    /// The connection broke mid-answer.
    Broken,
    TooLarge,
    /// Our side could not send it (the HTTP client could not be built).
    Local(String),
}

impl Failure {
    fn transient(&self) -> bool {
        matches!(self, Self::Unreachable)
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() {
            Self::Unreachable
        } else {
            Self::Broken
        }
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Unreachable => ApiError::upstream(ErrorCode::UpstreamUnreachable, "100ms could not be reached"),
            Failure::Timeout => ApiError::UpstreamTimeout,
            Failure::Broken => {
                ApiError::upstream(ErrorCode::UpstreamError, "the connection to 100ms failed mid-answer")
            }
            Failure::TooLarge => {
                ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms sent an answer larger than we read")
            }
            Failure::Local(why) => ApiError::Internal(format!("could not build the HTTP client: {why}")),
        }
    }
}

impl<S: SecretSource> HmsClient<S> {
    fn http(&self) -> Result<&reqwest::Client, Failure> {
        self.http
            .get_or_init(|| {
                crate::tls::client_builder(&self.roots)?
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT)
                    // A redirect would carry the management token to wherever it points.
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("hms-lambda/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Failure::Local(e.clone()))
    }

    /// Sends `call`: authenticates, retries once with a fresh management token and once more
    /// with re-read credentials on 401/403, and retries idempotent calls on transient failures.
    /// Returns the body of a 2xx answer.
    pub(crate) async fn call(&self, call: &Call) -> Result<Vec<u8>, ApiError> {
        let deadline = call_deadline();
        let mut creds = self.credentials.get().await?;
        let mut token = self.management.get(&creds, chrono::Utc::now().timestamp())?;
        let rounds = if self.recently_rejected(&creds) { 1 } else { 3 };
        for auth_round in 0..rounds {
            let answer = self.with_retries(call, &token, deadline, auth_round > 0).await?;
            if !rejects_credentials(answer.status, &answer.body) {
                if rounds == 1 {
                    // Accepted after all (a passing fault, a restored key): back to the full rounds.
                    *self.rejected.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                }
                return map_answer(answer);
            }
            let (method, path, status) = (&call.method, &call.path, answer.status.as_u16());
            tracing::warn!(%method, path, status, auth_round, "100ms rejected our management token");
            self.management.invalidate(&token);
            if auth_round == 1 {
                // A real re-read: the secret may have been rotated a moment ago. Requests after a
                // refusal that survives it try once only (`rejected`), so this runs at most once
                // per REJECTED_BACKOFF while the secret stays wrong.
                creds = self.credentials.refresh(&creds).await?;
            }
            token = self.management.get(&creds, chrono::Utc::now().timestamp())?;
        }
        *self.rejected.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Arc::downgrade(&creds), std::time::Instant::now()));
        Err(ApiError::upstream(
            ErrorCode::UpstreamAuth,
            "100ms rejected our credentials (401/403) even after re-reading them: check APP_ACCESS_KEY and APP_SECRET",
        ))
    }

    /// Whether 100ms refused `creds` within the last [`REJECTED_BACKOFF`].
    fn recently_rejected(&self, creds: &Arc<crate::credentials::Credentials>) -> bool {
        let rejected = self.rejected.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rejected.as_ref().is_some_and(|(weak, at)| {
            at.elapsed() < REJECTED_BACKOFF && weak.upgrade().is_some_and(|c| Arc::ptr_eq(&c, creds))
        })
    }

    /// Sends `call` until it gets an answer that is not transient, the attempts run out, or the
    /// next wait would pass `deadline`. `repeat`: this round repeats a rejected one.
    async fn with_retries(
        &self,
        call: &Call,
        token: &str,
        deadline: Instant,
        repeat: bool,
    ) -> Result<RawAnswer, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::UpstreamTimeout);
            }
            invocation::count_hms_call(repeat || attempt > 1);
            let result = self.once(call, token, remaining.min(REQUEST_TIMEOUT)).await;
            let transient = match &result {
                Ok(a) => a.status == StatusCode::TOO_MANY_REQUESTS || a.status.is_server_error(),
                Err(f) => f.transient(),
            };
            if !(call.idempotent && transient) || attempt >= MAX_ATTEMPTS {
                return result.map_err(ApiError::from);
            }
            let retry_after = result.as_ref().ok().and_then(|a| a.retry_after);
            let wait = match retry_after {
                Some(ra) if ra > MAX_RETRY_AFTER => return result.map_err(ApiError::from),
                Some(ra) => ra,
                None => backoff(attempt),
            };
            if Instant::now() + wait + Duration::from_millis(500) >= deadline {
                return result.map_err(ApiError::from);
            }
            let (method, path) = (&call.method, &call.path);
            tracing::info!(%method, path, attempt, wait_ms = wait.as_millis() as u64, "retrying 100ms call");
            tokio::time::sleep(wait).await;
        }
    }

    /// GETs a presigned URL 100ms gave (an asset in its storage), with no credentials, once, at
    /// most `max` bytes. Only an `https` URL, or one on the API's own origin (the emulator's
    /// storage is on it): 100ms's answer names it, and nothing else is fetched from here.
    pub(crate) async fn fetch(&self, url: &str, max: usize) -> Result<Vec<u8>, ApiError> {
        let origin_len = self.base_url.find("/v2").unwrap_or(self.base_url.len());
        let same_origin = url.strip_prefix(&self.base_url[..origin_len]).is_some_and(|rest| rest.starts_with('/'));
        if !(url.starts_with("https://") || same_origin) {
            return Err(ApiError::upstream(
                ErrorCode::UpstreamInvalidResponse,
                "100ms gave an asset link that is neither https nor on its API's origin",
            ));
        }
        let remaining = call_deadline().saturating_duration_since(Instant::now());
        let started = std::time::Instant::now();
        let mut resp = self
            .http()?
            .get(url)
            .timeout(remaining.min(REQUEST_TIMEOUT))
            .send()
            .await
            .map_err(Failure::from_reqwest)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ApiError::upstream(
                ErrorCode::UpstreamError,
                format!("100ms's storage answered {} for an asset", status.as_u16()),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(Failure::from_reqwest)? {
            if body.len() + chunk.len() > max {
                return Err(Failure::TooLarge.into());
            }
            body.extend_from_slice(&chunk);
        }
        tracing::info!(status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "100ms storage read");
        Ok(body)
    }

    async fn once(&self, call: &Call, token: &str, timeout: Duration) -> Result<RawAnswer, Failure> {
        let url = format!("{}{}", self.base_url, call.path);
        let mut req = self.http()?.request(call.method.clone(), &url).bearer_auth(token).timeout(timeout);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(body) = &call.body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
        }
        let started = std::time::Instant::now();
        let mut resp = req.send().await.map_err(Failure::from_reqwest)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Sized once from Content-Length when 100ms sends one: growing by doubling would copy a
        // large session's answer on the way and hold old and new buffers at once.
        let mut body =
            Vec::with_capacity(resp.content_length().map_or(0, |n| n.min(MAX_RESPONSE_BYTES as u64) as usize));
        while let Some(chunk) = resp.chunk().await.map_err(Failure::from_reqwest)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let (method, path) = (&call.method, &call.path);
        tracing::info!(%method, path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "100ms call");
        Ok(RawAnswer { status, retry_after, body })
    }
}

/// The wait before attempt `attempt + 1`: "equal jitter", uniform in [base/2, base) where base
/// doubles from [`BASE_BACKOFF`] per attempt, so retries of many containers spread apart while
/// each still waits at least half the base.
fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF * 2u32.pow(attempt.saturating_sub(1));
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    base / 2 + base / 2 * jitter / 1000
}

/// Whether an answer refuses our management token rather than the request: every 401, and a 403
/// unless 100ms says why in words about the request. 100ms uses 403 for both: an invalid token
/// on its analytics API ("insufficient permissions"), and refusals such as "room is disabled" on
/// room codes. A refusal of the request is answered as one at once; re-signing the token and
/// re-reading the credentials would not change it.
fn rejects_credentials(status: StatusCode, body: &[u8]) -> bool {
    match status {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::FORBIDDEN => {
            let message = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_ascii_lowercase))
                .unwrap_or_default();
            message.is_empty()
                || ["token", "permission", "forbidden", "unauthori", "credential", "access key"]
                    .iter()
                    .any(|w| message.contains(w))
        }
        _ => false,
    }
}

/// 100ms's own error message from an error body `{"code", "message", "details"}`.
fn upstream_message(body: &[u8], status: StatusCode) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str).filter(|m| !m.is_empty());
    let details: Vec<&str> = parsed
        .as_ref()
        .and_then(|v| v.get("details"))
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut msg = match message {
        Some(m) if details.is_empty() => m.to_string(),
        Some(m) => format!("{m} ({})", details.join(", ")),
        None => format!("100ms answered {}", status.as_u16()),
    };
    if msg.len() > 300 {
        let cut = (0..=300).rev().find(|i| msg.is_char_boundary(*i)).unwrap_or(0);
        msg.truncate(cut);
    }
    msg
}

fn map_answer(answer: RawAnswer) -> Result<Vec<u8>, ApiError> {
    let status = answer.status;
    if status.is_success() {
        return Ok(answer.body);
    }
    let msg = upstream_message(&answer.body, status);
    Err(match status.as_u16() {
        429 => ApiError::upstream(ErrorCode::UpstreamRateLimited, format!("100ms is rate-limiting us: {msg}")),
        409 => ApiError::Conflict { code: ErrorCode::UpstreamConflict, msg: format!("100ms: {msg}") },
        400..=499 => ApiError::UpstreamRejected { status: status.as_u16(), msg },
        500..=599 => ApiError::upstream(ErrorCode::UpstreamError, format!("100ms failed: {msg}")),
        _ => ApiError::upstream(ErrorCode::UpstreamError, format!("100ms answered an unexpected {}", status.as_u16())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer { status: StatusCode::from_u16(status).unwrap(), retry_after: None, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn error_bodies_keep_100ms_message() {
        let doc = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/100ms-examples/error_401_response.json"
        ))
        .unwrap();
        assert_eq!(upstream_message(&doc, StatusCode::UNAUTHORIZED), "Token validation error (not found)");
        assert_eq!(
            upstream_message(br#"{"code":400,"message":"template not found"}"#, StatusCode::BAD_REQUEST),
            "template not found"
        );
        assert_eq!(upstream_message(b"<html>oops</html>", StatusCode::BAD_GATEWAY), "100ms answered 502");
        assert_eq!(upstream_message(br#"{"message":""}"#, StatusCode::NOT_FOUND), "100ms answered 404");
        assert!(
            upstream_message(format!(r#"{{"message":"{}"}}"#, "é".repeat(400)).as_bytes(), StatusCode::BAD_REQUEST)
                .len()
                <= 300
        );
    }

    #[test]
    fn a_403_about_the_request_is_a_refusal_not_a_credentials_problem() {
        let credentials = [
            (401, r#"{"code":401,"message":"Token validation error"}"#),
            (401, ""),
            (403, r#"{"code":403,"message":"Forbidden","details":["injected fault"]}"#),
            (403, r#"{"message":"insufficient permissions"}"#),
            (403, "<html>403</html>"),
        ];
        for (status, body) in credentials {
            assert!(rejects_credentials(StatusCode::from_u16(status).unwrap(), body.as_bytes()), "{status} {body}");
        }
        let refusals = [
            (403, r#"{"code":403,"message":"room is disabled","details":[]}"#),
            (403, r#"{"message":"room code cannot be enabled"}"#),
            (404, r#"{"message":"Token validation error"}"#),
            (400, ""),
        ];
        for (status, body) in refusals {
            assert!(!rejects_credentials(StatusCode::from_u16(status).unwrap(), body.as_bytes()), "{status} {body}");
        }
        let err = map_answer(answer(403, r#"{"message":"room is disabled"}"#)).unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (400, "upstream_rejected"));
        assert!(err.to_string().contains("room is disabled"), "{err}");
    }

    #[test]
    fn answers_map_to_our_errors() {
        assert_eq!(map_answer(answer(200, "{}")).unwrap(), b"{}");
        let cases = [
            (400, r#"{"message":"template not found"}"#, 400, "upstream_rejected"),
            (404, r#"{"message":"room not found"}"#, 404, "upstream_not_found"),
            (422, "", 400, "upstream_rejected"),
            (409, r#"{"message":"stream already running"}"#, 409, "upstream_conflict"),
            (429, "", 429, "upstream_rate_limited"),
            (500, "", 502, "upstream_error"),
            (503, "", 502, "upstream_error"),
            (302, "", 502, "upstream_error"),
        ];
        for (status, body, ours, code) in cases {
            let err = map_answer(answer(status, body)).unwrap_err();
            assert_eq!((err.status(), err.code().as_str()), (ours, code), "{status}");
        }
        let err = map_answer(answer(400, r#"{"message":"template not found"}"#)).unwrap_err();
        assert!(err.to_string().contains("template not found"));
    }

    #[tokio::test]
    async fn the_invocation_deadline_caps_every_call() {
        let free = call_deadline();
        assert!(free > Instant::now() + CALL_BUDGET - Duration::from_secs(1));
        let within = |deadline| invocation::Invocation::new("r", None, Some(deadline));
        let soon = Instant::now() + Duration::from_secs(3);
        let capped = within(soon).scope(async { call_deadline() }).await;
        assert_eq!(capped, soon);
        let late = Instant::now() + Duration::from_secs(600);
        let own = within(late).scope(async { call_deadline() }).await;
        assert!(own < late, "a far deadline leaves the call's own budget in force");
    }

    #[test]
    fn only_an_unreachable_100ms_is_transient_and_each_failure_has_its_code() {
        let cases = [
            (Failure::Unreachable, true, ErrorCode::UpstreamUnreachable),
            (Failure::Timeout, false, ErrorCode::UpstreamTimeout),
            (Failure::Broken, false, ErrorCode::UpstreamError),
            (Failure::TooLarge, false, ErrorCode::UpstreamInvalidResponse),
            (Failure::Local("x".into()), false, ErrorCode::Internal),
        ];
        for (failure, transient, code) in cases {
            assert_eq!(failure.transient(), transient, "{failure:?}");
            assert_eq!(ApiError::from(failure).code(), code);
        }
    }

    #[test]
    fn backoff_grows_and_is_jittered_within_bounds() {
        for attempt in 1..=4 {
            let base = BASE_BACKOFF * 2u32.pow(attempt - 1);
            for _ in 0..50 {
                let b = backoff(attempt);
                assert!(b >= base / 2 && b < base, "{attempt}: {b:?}");
            }
        }
    }
}

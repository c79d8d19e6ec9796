//! The 100ms REST client: management-token auth with refresh and re-read on 401/403, bounded
//! retries of idempotent calls, timeouts on every request, and 100ms answers mapped to
//! [`ApiError`].

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::config::{Config, ConfigError};
use crate::credentials::{ConfiguredSource, CredentialStore, SecretSource};
use crate::error::ApiError;
use crate::tokens::ManagementTokenCache;

/// Connect timeout towards 100ms.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest single request to 100ms (headers and body).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one call may take in all, retries included: well inside API Gateway's 29 s.
pub const CALL_BUDGET: Duration = Duration::from_secs(20);
/// Attempts of an idempotent call on 429, 5xx or a connection failure.
pub const MAX_ATTEMPTS: u32 = 3;
/// First backoff; doubled per attempt, with jitter.
pub const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// A Retry-After longer than this is not waited for: the call fails instead.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Time kept back from the Lambda deadline: enough to answer with a clean 504 before Lambda
/// kills the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

tokio::task_local! {
    /// When the current invocation must be answered by (the Lambda deadline minus the margin).
    pub static INVOCATION_DEADLINE: Instant;
}

/// The latest instant a call started now may run to: its own budget, cut to the invocation's
/// deadline when one is set.
pub fn call_deadline() -> Instant {
    let own = Instant::now() + CALL_BUDGET;
    INVOCATION_DEADLINE.try_with(|d| own.min(*d)).unwrap_or(own)
}

/// Largest answer we read from 100ms.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// The 100ms API as the handlers use it. Answers are the raw JSON bytes of a 2xx answer.
/// The seam handler tests swap for a fake.
pub trait HmsApi: Send + Sync {
    /// `POST /rooms` with the given body.
    fn create_room(&self, body: &Map<String, Value>) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /sessions` for a room, one page.
    fn list_sessions(
        &self,
        room_id: &str,
        limit: u32,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
    /// `GET /sessions/{id}`.
    fn get_session(&self, session_id: &str) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send;
}

/// A shared reference serves as well as the client it points to.
impl<T: HmsApi> HmsApi for &T {
    fn create_room(&self, body: &Map<String, Value>) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
        (**self).create_room(body)
    }

    fn list_sessions(
        &self,
        room_id: &str,
        limit: u32,
        start: Option<&str>,
    ) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
        (**self).list_sessions(room_id, limit, start)
    }

    fn get_session(&self, session_id: &str) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
        (**self).get_session(session_id)
    }
}

/// The real client.
#[derive(Debug)]
pub struct HmsClient<S> {
    base_url: String,
    credentials: CredentialStore<S>,
    management: ManagementTokenCache,
    /// Built on first use: loading the TLS roots costs milliseconds a cold start need not pay.
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl HmsClient<ConfiguredSource> {
    /// The client the functions use, from the environment's configuration.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self::new(config.api_base_url.clone()?, CredentialStore::from_config(config)?))
    }
}

struct RawAnswer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl<S: SecretSource> HmsClient<S> {
    pub fn new(base_url: String, credentials: CredentialStore<S>) -> Self {
        Self { base_url, credentials, management: ManagementTokenCache::new(), http: OnceLock::new() }
    }

    fn http(&self) -> Result<&reqwest::Client, ApiError> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .timeout(REQUEST_TIMEOUT)
                    .user_agent(concat!("hms-lambda/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| ApiError::Internal(format!("could not build the HTTP client: {e}")))
    }

    /// Sends one call: authenticates, retries once with a fresh management token and once more
    /// with re-read credentials on 401/403, and retries idempotent calls on transient failures.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Map<String, Value>>,
        idempotent: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let deadline = call_deadline();
        let mut creds = self.credentials.get().await?;
        let mut token = self.management.get(&creds, chrono::Utc::now().timestamp())?;
        for auth_round in 0..3 {
            let answer = self.with_retries(&method, path, query, body, &token, idempotent, deadline).await?;
            if !matches!(answer.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                return map_answer(answer);
            }
            tracing::warn!(%method, path, status = answer.status.as_u16(), auth_round, "100ms rejected our management token");
            self.management.invalidate(&token);
            if auth_round == 1 {
                creds = self.credentials.refresh(&creds).await?;
            }
            token = self.management.get(&creds, chrono::Utc::now().timestamp())?;
        }
        Err(ApiError::upstream(
            "upstream_auth",
            "100ms rejected our credentials (401/403) even after re-reading them: check APP_ACCESS_KEY and APP_SECRET",
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn with_retries(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Map<String, Value>>,
        token: &str,
        idempotent: bool,
        deadline: Instant,
    ) -> Result<RawAnswer, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::UpstreamTimeout);
            }
            let result = self.once(method, path, query, body, token, remaining.min(REQUEST_TIMEOUT)).await;
            let transient = match &result {
                Ok(a) => a.status == StatusCode::TOO_MANY_REQUESTS || a.status.is_server_error(),
                Err(e) => e.code() == "upstream_unreachable",
            };
            if !(idempotent && transient) || attempt >= MAX_ATTEMPTS {
                return result;
            }
            let retry_after = result.as_ref().ok().and_then(|a| a.retry_after);
            let wait = match retry_after {
                Some(ra) if ra > MAX_RETRY_AFTER => return result,
                Some(ra) => ra,
                None => backoff(attempt),
            };
            if Instant::now() + wait + Duration::from_millis(500) >= deadline {
                return result;
            }
            tracing::info!(%method, path, attempt, wait_ms = wait.as_millis() as u64, "retrying 100ms call");
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Map<String, Value>>,
        token: &str,
        timeout: Duration,
    ) -> Result<RawAnswer, ApiError> {
        let url = format!("{}{}", self.base_url, path);
        let mut req = self.http()?.request(method.clone(), &url).bearer_auth(token).timeout(timeout);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes);
        }
        let started = std::time::Instant::now();
        let mut resp = req.send().await.map_err(transport_error)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(ApiError::upstream(
                    "upstream_invalid_response",
                    "100ms sent an answer larger than we read",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::info!(%method, path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "100ms call");
        Ok(RawAnswer { status, retry_after, body })
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF * 2u32.pow(attempt.saturating_sub(1));
    // Full jitter in [base/2, base): spreads retries of many containers apart.
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    base / 2 + base / 2 * jitter / 1000
}

fn transport_error(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::UpstreamTimeout
    } else if e.is_connect() {
        ApiError::upstream("upstream_unreachable", "100ms could not be reached")
    } else {
        ApiError::upstream("upstream_error", "the connection to 100ms failed mid-answer")
    }
}

/// 100ms's own error message from an error body `{"code", "message", "details"}`.
pub fn upstream_message(body: &[u8], status: StatusCode) -> String {
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
        429 => ApiError::upstream("upstream_rate_limited", format!("100ms is rate-limiting us: {msg}")),
        400..=499 => ApiError::UpstreamRejected { status: status.as_u16(), msg },
        500..=599 => ApiError::upstream("upstream_error", format!("100ms failed: {msg}")),
        _ => ApiError::upstream("upstream_error", format!("100ms answered an unexpected {}", status.as_u16())),
    })
}

impl<S: SecretSource> HmsApi for HmsClient<S> {
    async fn create_room(&self, body: &Map<String, Value>) -> Result<Vec<u8>, ApiError> {
        // POST /rooms is an upsert by name: repeating it with a name gives the same room, so it is
        // retried then; without a name each call would create another room, so it is not.
        let idempotent = body.get("name").is_some();
        self.call(Method::POST, "/rooms", &[], Some(body), idempotent).await
    }

    async fn list_sessions(&self, room_id: &str, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        let limit = limit.to_string();
        let mut query = vec![("room_id", room_id), ("limit", limit.as_str())];
        if let Some(start) = start {
            query.push(("start", start));
        }
        self.call(Method::GET, "/sessions", &query, None, true).await
    }

    async fn get_session(&self, session_id: &str) -> Result<Vec<u8>, ApiError> {
        self.call(Method::GET, &format!("/sessions/{session_id}"), &[], None, true).await
    }
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
    fn answers_map_to_our_errors() {
        assert_eq!(map_answer(answer(200, "{}")).unwrap(), b"{}");
        let cases = [
            (400, r#"{"message":"template not found"}"#, 400, "upstream_rejected"),
            (404, r#"{"message":"room not found"}"#, 404, "upstream_not_found"),
            (422, "", 400, "upstream_rejected"),
            (429, "", 502, "upstream_rate_limited"),
            (500, "", 502, "upstream_error"),
            (503, "", 502, "upstream_error"),
            (302, "", 502, "upstream_error"),
        ];
        for (status, body, ours, code) in cases {
            let err = map_answer(answer(status, body)).unwrap_err();
            assert_eq!((err.status(), err.code()), (ours, code), "{status}");
        }
        let err = map_answer(answer(400, r#"{"message":"template not found"}"#)).unwrap_err();
        assert!(err.to_string().contains("template not found"));
    }

    #[tokio::test]
    async fn the_invocation_deadline_caps_every_call() {
        let free = call_deadline();
        assert!(free > Instant::now() + CALL_BUDGET - Duration::from_secs(1));
        let soon = Instant::now() + Duration::from_secs(3);
        let capped = INVOCATION_DEADLINE.scope(soon, async { call_deadline() }).await;
        assert_eq!(capped, soon);
        let late = Instant::now() + Duration::from_secs(600);
        let own = INVOCATION_DEADLINE.scope(late, async { call_deadline() }).await;
        assert!(own < late, "a far deadline leaves the call's own budget in force");
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

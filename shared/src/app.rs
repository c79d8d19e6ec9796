//! The three functions: each built once per container from the configuration, each answering
//! one API Gateway event at a time. `main.rs` only builds one and hands it to [`run`].

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::http::Method;
use lambda_http::{LambdaEvent, service_fn};
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use crate::caller::CallerAuth;
use crate::config::{Config, ConfigError, RoleAllowList};
use crate::credentials::{ConfiguredSource, CredentialStore, SecretSource};
use crate::edge::{ApiRequest, Reply, respond};
use crate::error::ApiError;
use crate::handlers;
use crate::hms::{DEADLINE_MARGIN, HmsApi, HmsClient, INVOCATION_DEADLINE};

pub const CREATE_ROOM_PATH: &str = "/create-room";
pub const AUTH_TOKEN_PATH: &str = "/auth-token";
pub const SESSION_ANALYTICS_PATH: &str = "/session-analytics-by-room";
pub const SESSION_LIST_PATH: &str = "/session-list-by-room";

fn ready<T>(part: &Result<T, ConfigError>) -> Result<&T, ApiError> {
    part.as_ref().map_err(|e| e.clone().into())
}

/// `create-room`.
pub struct CreateRoom<H> {
    pub hms: Result<H, ConfigError>,
    pub caller_auth: Result<CallerAuth, ConfigError>,
}

impl CreateRoom<HmsClient<ConfiguredSource>> {
    pub fn from_config(config: &Config) -> Self {
        Self { hms: HmsClient::from_config(config), caller_auth: config.caller_auth.clone() }
    }
}

impl<H: HmsApi> CreateRoom<H> {
    /// A create-room function without caller authentication (local development, tests).
    pub fn open(hms: H) -> Self {
        Self { hms: Ok(hms), caller_auth: Ok(CallerAuth::Open) }
    }

    pub fn config_errors(&self) -> Vec<&ConfigError> {
        [self.hms.as_ref().err(), self.caller_auth.as_ref().err()].into_iter().flatten().collect()
    }

    pub async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        respond(self.run(event).await)
    }

    async fn run(&self, event: ApiGatewayV2httpRequest) -> Result<Reply, ApiError> {
        let req = ApiRequest::from_event(event)?;
        req.route(&[(CREATE_ROOM_PATH, Method::POST)])?;
        ready(&self.caller_auth)?.require_admin(&req.claims)?;
        handlers::create_room(ready(&self.hms)?, &req).await
    }
}

/// `auth-token`.
pub struct AuthToken<S> {
    pub credentials: Result<CredentialStore<S>, ConfigError>,
    pub roles: Result<RoleAllowList, ConfigError>,
    pub ttl_seconds: Result<i64, ConfigError>,
    pub caller_auth: Result<CallerAuth, ConfigError>,
}

impl AuthToken<ConfiguredSource> {
    pub fn from_config(config: &Config) -> Self {
        Self {
            credentials: CredentialStore::from_config(config),
            roles: config.allowed_roles.clone(),
            ttl_seconds: config.auth_token_ttl_seconds.clone(),
            caller_auth: config.caller_auth.clone(),
        }
    }
}

impl<S: SecretSource> AuthToken<S> {
    pub fn config_errors(&self) -> Vec<&ConfigError> {
        [
            self.credentials.as_ref().err(),
            self.roles.as_ref().err(),
            self.ttl_seconds.as_ref().err(),
            self.caller_auth.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    pub async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        respond(self.run(event).await)
    }

    async fn run(&self, event: ApiGatewayV2httpRequest) -> Result<Reply, ApiError> {
        let req = ApiRequest::from_event(event)?;
        req.route(&[(AUTH_TOKEN_PATH, Method::POST)])?;
        let roles = ready(&self.roles)?;
        let ttl = *ready(&self.ttl_seconds)?;
        let caller = ready(&self.caller_auth)?.subject(&req.claims)?;
        // Validate before reading the secret: a bad request costs no Secrets Manager call.
        let request = handlers::auth_token_request(req.body.as_deref(), roles, caller)?;
        let creds = ready(&self.credentials)?.get().await?;
        handlers::auth_token(&creds, &request, ttl, chrono::Utc::now().timestamp())
    }
}

/// `session-analytics`: serves both the analytics and the session list.
pub struct SessionAnalytics<H> {
    pub hms: Result<H, ConfigError>,
}

impl SessionAnalytics<HmsClient<ConfiguredSource>> {
    pub fn from_config(config: &Config) -> Self {
        Self { hms: HmsClient::from_config(config) }
    }
}

impl<H: HmsApi> SessionAnalytics<H> {
    pub fn config_errors(&self) -> Vec<&ConfigError> {
        self.hms.as_ref().err().into_iter().collect()
    }

    pub async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        respond(self.run(event).await)
    }

    async fn run(&self, event: ApiGatewayV2httpRequest) -> Result<Reply, ApiError> {
        let req = ApiRequest::from_event(event)?;
        let route = req.route(&[(SESSION_ANALYTICS_PATH, Method::GET), (SESSION_LIST_PATH, Method::GET)])?;
        let hms = ready(&self.hms)?;
        if route == 0 {
            handlers::session_analytics(hms, &req, chrono::Utc::now()).await
        } else {
            handlers::session_list(hms, &req).await
        }
    }
}

/// Sets up JSON logs (filter from `RUST_LOG`, default info) once per process. A `RUST_LOG` that
/// is not a filter, or that asks for levels this build does not carry, is reported in the logs.
pub fn init_logging() {
    let (filter, notice) = log_filter(std::env::var("RUST_LOG").ok().as_deref(), STATIC_MAX_LEVEL);
    if tracing::subscriber::set_global_default(log_subscriber(filter)).is_ok()
        && let Some(notice) = notice
    {
        tracing::warn!("{notice}");
    }
}

/// The filter `RUST_LOG` asks for: a level (`warn`) or comma-separated `target=level`
/// directives (`warn,hms_shared=info`); `info` when unset. When it is not such a filter: `info`,
/// and why. When it asks for more than `built_max`, the most verbose level the build carries
/// (release builds stop at info: the workspace's Cargo.toml), the filter and a word on that.
///
/// tracing-subscriber's `Targets`, not its `EnvFilter`: the span and field directives of
/// `EnvFilter` need a regex engine, 0.34 MB of each binary and ~0.05 of the init ratio
/// (BENCHMARKS.md), for filters rarely set on a Lambda function.
pub fn log_filter(rust_log: Option<&str>, built_max: LevelFilter) -> (Targets, Option<String>) {
    let info = || Targets::new().with_default(tracing::Level::INFO);
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => (info(), None),
        Some(text) => match text.parse::<Targets>() {
            Ok(filter) => {
                let asked = filter.iter().map(|(_, level)| level).chain(filter.default_level()).max();
                let notice = asked.filter(|&asked| asked > built_max).map(|asked| {
                    format!(
                        "RUST_LOG {text:?} asks for {asked} events; this build carries {built_max} and above \
                         (build with CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true for every level)"
                    )
                });
                (filter, notice)
            }
            Err(e) => (info(), Some(format!("RUST_LOG {text:?} is not a log filter ({e}): logging at info"))),
        },
    }
}

/// The JSON log subscriber with `filter`, built but not installed: apart from installing it,
/// this is all logging costs at init (`cargo bench` measures it).
///
/// A registry with the filter and a JSON layer, not `tracing_subscriber::fmt()`: that builder
/// brings its own info filter, under which `filter` could never open up debug.
pub fn log_subscriber(filter: Targets) -> impl tracing::Subscriber + Send + Sync {
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time();
    tracing_subscriber::registry().with(filter).with(json)
}

/// Logs each configuration error once, at start.
pub fn log_config_errors<'a>(errors: impl IntoIterator<Item = &'a ConfigError>) {
    for e in errors {
        tracing::error!(error = %e, "configuration error: requests will be answered 500 config");
    }
}

/// The instant by which an invocation with Lambda deadline `deadline_ms` (epoch milliseconds)
/// must have its answer, given the wall clock `now_ms`. A deadline more than an hour in the past
/// is not a deadline but a runtime emulator's placeholder (cargo-lambda sends a relative
/// `600000`): then the calls' own budgets apply.
pub fn invocation_deadline(deadline_ms: u64, now_ms: i64) -> Option<tokio::time::Instant> {
    let left_ms = deadline_ms as i64 - now_ms;
    if left_ms < -3_600_000 {
        return None;
    }
    let left = Duration::from_millis(left_ms.max(0) as u64);
    Some(tokio::time::Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}

/// Has the allocator keep the memory an invocation frees for the next one instead of handing it
/// back to the kernel.
///
/// glibc returns blocks over its mmap threshold (128 KiB at first, raised as they are freed) and
/// trims the top of the heap past 128 KiB: the ~3 MB that attendance of a 10,000-peer session
/// allocates came back from the kernel as ~800 freshly zeroed pages on every warm invocation,
/// 1.2 ms of 7.4 (criterion, alternating runs). With fixed thresholds the memory stays: peak RSS,
/// which the function's memory size must cover anyway, is unchanged; RSS between invocations
/// stays at that peak instead of falling back. A no-op where the allocator is not glibc's.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two allocator parameters; it has no memory-safety preconditions,
    // and a refused value leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// Runs the Lambda runtime loop with `handle` answering each API Gateway event (after
/// [`retain_freed_memory`]).
///
/// The runtime's future and each invocation's future live on the heap. Held inline, the loop's
/// future (~9.5 KB with the handler's inside) was copied into a 49 KB frame in `main` and a 37 KB
/// one in the runtime's loop, whose stack probes touch every page: 28 of a start's page faults,
/// for the price of one allocation per invocation.
pub async fn run<F, Fut>(handle: F) -> Result<(), lambda_http::Error>
where
    F: Fn(ApiGatewayV2httpRequest) -> Fut,
    Fut: Future<Output = ApiGatewayV2httpResponse>,
{
    retain_freed_memory();
    let runtime = lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let method = event.payload.request_context.http.method.clone();
        let path = event.payload.raw_path.clone().unwrap_or_default();
        let started = std::time::Instant::now();
        let deadline = invocation_deadline(event.context.deadline, chrono::Utc::now().timestamp_millis());
        let fut = Box::pin(handle(event.payload));
        async move {
            let resp = match deadline {
                Some(deadline) => INVOCATION_DEADLINE.scope(deadline, fut).await,
                None => fut.await,
            };
            tracing::info!(%method, path, status = resp.status_code, ms = started.elapsed().as_millis() as u64, "request");
            Ok::<_, Infallible>(resp)
        }
    }));
    Box::pin(runtime).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deadline_leaves_the_margin() {
        let now_ms = 1_795_000_000_000;
        let d = invocation_deadline(now_ms as u64 + 6_000, now_ms).unwrap() - tokio::time::Instant::now();
        assert!(d <= Duration::from_secs(6) - DEADLINE_MARGIN && d > Duration::from_secs(4), "{d:?}");
        let past = invocation_deadline(now_ms as u64 - 1_000, now_ms).unwrap() - tokio::time::Instant::now();
        assert!(past < Duration::from_millis(50), "a passed deadline leaves no time: {past:?}");
    }

    #[test]
    fn rust_log_sets_levels_per_target_and_falls_back_to_info() {
        use tracing::Level;
        let all = LevelFilter::TRACE;
        let (unset, why) = log_filter(None, all);
        assert!(why.is_none());
        assert!(unset.would_enable("hms_shared::hms", &Level::INFO));
        assert!(!unset.would_enable("hms_shared::hms", &Level::DEBUG));

        let (filter, why) = log_filter(Some("warn,hms_shared=debug"), all);
        assert!(why.is_none());
        assert!(filter.would_enable("hms_shared::hms", &Level::DEBUG));
        assert!(!filter.would_enable("hms_shared::hms", &Level::TRACE));
        assert!(filter.would_enable("hyper_util::client", &Level::WARN));
        assert!(!filter.would_enable("hyper_util::client", &Level::INFO));

        let (filter, why) = log_filter(Some("hms_shared=loud"), all);
        assert!(why.unwrap().contains("\"hms_shared=loud\" is not a log filter"));
        assert!(filter.would_enable("hms_shared", &Level::INFO));
        assert!(!filter.would_enable("hms_shared", &Level::DEBUG));
        assert!(log_filter(Some("  "), all).1.is_none(), "blank is unset");
    }

    #[test]
    fn the_subscriber_logs_what_the_filter_asks_for() {
        use tracing::Level;
        let enabled = |rust_log, level| {
            let subscriber = log_subscriber(log_filter(rust_log, LevelFilter::TRACE).0);
            tracing::subscriber::with_default(subscriber, || match level {
                Level::DEBUG => tracing::enabled!(Level::DEBUG),
                Level::INFO => tracing::enabled!(Level::INFO),
                _ => tracing::enabled!(Level::WARN),
            })
        };
        assert!(enabled(None, Level::INFO));
        assert!(!enabled(None, Level::DEBUG));
        assert!(enabled(Some("debug"), Level::DEBUG), "RUST_LOG=debug opens up debug");
        assert!(!enabled(Some("warn"), Level::INFO));
        assert!(enabled(Some("warn"), Level::WARN));
    }

    #[test]
    fn rust_log_above_what_the_build_carries_is_kept_and_reported() {
        use tracing::Level;
        let release = LevelFilter::INFO;
        for (rust_log, asked) in [("debug", "debug"), ("warn,hyper_util=trace", "trace"), ("hms_shared=debug", "debug")]
        {
            let (filter, notice) = log_filter(Some(rust_log), release);
            let notice = notice.unwrap_or_else(|| panic!("{rust_log}: no notice"));
            assert!(
                notice.contains(&format!("asks for {asked} events; this build carries info and above")),
                "{notice}"
            );
            assert!(filter.would_enable("hms_shared", &Level::WARN), "{rust_log}: the filter still applies");
        }
        for within in ["info", "warn,hms_shared=info", "error"] {
            assert!(log_filter(Some(within), release).1.is_none(), "{within}: nothing to report");
        }
        assert!(log_filter(Some("debug"), LevelFilter::DEBUG).1.is_none(), "a build that carries debug");
    }

    #[test]
    fn an_emulators_relative_placeholder_is_no_deadline() {
        assert!(invocation_deadline(600_000, 1_795_000_000_000).is_none(), "cargo-lambda's 600000");
    }
}

//! The composition root: each function built once per container from the configuration, as a
//! whole (ready, or misconfigured with the list of what is wrong), and the Lambda runtime loop
//! that answers its events. The only module that knows both the configuration and what is built
//! from it; `main.rs` calls one builder and [`run`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::{LambdaEvent, service_fn};

use crate::auth::CallerAuth;
use crate::config::{Config, SecretConfig, WebhookSecretConfig};
use crate::credentials::{ConfiguredSource, CredentialStore, Credentials, SecretsManagerSource, StaticSource};
use crate::error::ConfigError;
use crate::handlers::{self, AuthToken, CreateRoom, Function, RoomControl, SessionAnalytics, Webhooks};
use crate::hms::{DEADLINE_MARGIN, HmsClient};
use crate::invocation::{self, Counts, Invocation};
use crate::owners::RoomAccess;
use crate::store::{EventsTable, SharedOwners, SharedStore};

mod invoked;
pub use invoked::{
    RECONCILE_RUN_BUDGET, Reconcile, WebhookAuthorizer, authorize_webhook, reconcile, run_reconcile,
    run_webhook_authorizer, webhook_authorizer,
};

/// A function as configured: ready to answer, or the configuration errors it answers every
/// request with (a 500 `config`).
pub type Built<F> = Result<F, Vec<ConfigError>>;

/// The 100ms client the functions use.
pub type Hms = HmsClient<ConfiguredSource>;

/// `create-room`.
pub fn create_room(config: &Config) -> Built<CreateRoom<Hms>> {
    let (hms, access) = both(hms(config), room_access(config, events_table(config)))?;
    Ok(CreateRoom { hms, access, code_roles: config.allowed_roles.clone() })
}

/// `room-control`.
pub fn room_control(config: &Config) -> Built<RoomControl<Hms>> {
    let (hms, (roles, (access, meeting_hosts))) = both(
        hms(config),
        both(
            part(&config.allowed_roles),
            both(room_access(config, events_table(config)), part(&config.meeting_url_hosts)),
        ),
    )?;
    Ok(RoomControl { hms, roles, access, meeting_hosts })
}

/// `auth-token`.
pub fn auth_token(config: &Config) -> Built<AuthToken<ConfiguredSource>> {
    let (credentials, (roles, (ttl_seconds, access))) = both(
        credential_store(config),
        both(
            part(&config.allowed_roles),
            both(part(&config.auth_token_ttl_seconds), room_access(config, events_table(config))),
        ),
    )?;
    Ok(AuthToken { credentials, roles, ttl_seconds, access })
}

/// `session-analytics`.
pub fn session_analytics(config: &Config) -> Built<SessionAnalytics<Hms>> {
    // One table for the history and the owners; without EVENTS_TABLE only /attendance-history
    // is misconfigured (and, with a JWT authorizer, the function: its owners are needed).
    let table = events_table(config);
    let history = table
        .clone()
        .map(|t| t as SharedStore)
        .map_err(|errors| ConfigError(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")));
    let (hms, access) = both(hms(config), room_access(config, table))?;
    Ok(SessionAnalytics { hms, history, access })
}

/// Who may run which room, with the owners in `table`. With a JWT authorizer the owners' table
/// (`EVENTS_TABLE`) is needed for every caller who is not an admin, so it is part of the
/// configuration; on an open API it is not read.
fn room_access(config: &Config, table: Built<Arc<EventsTable>>) -> Built<RoomAccess> {
    let auth = part(&config.caller_auth)?;
    let owners = match (&auth, table) {
        (_, Ok(table)) => Ok(table as SharedOwners),
        (CallerAuth::Jwt(_), Err(errors)) => return Err(errors),
        (CallerAuth::Open, Err(_)) => return Ok(RoomAccess::open()),
    };
    Ok(RoomAccess::new(auth, owners))
}

/// `webhooks`.
pub fn webhooks(config: &Config) -> Built<Webhooks<ConfiguredSource>> {
    let (credentials, (store, (header, (allowed_ips, retention)))) = both(
        webhook_secret_store(config),
        both(
            events_table(config),
            both(part(&config.webhook_header), both(part(&config.webhook_allowed_ips), retention(config))),
        ),
    )?;
    Ok(Webhooks { credentials, store: store as SharedStore, header, allowed_ips, retention })
}

/// How long raw events and reports live (`EVENT_RETENTION_DAYS`, `REPORT_RETENTION_DAYS`).
fn retention(config: &Config) -> Built<crate::history::Retention> {
    let (event_days, report_days) = both(part(&config.event_retention_days), part(&config.report_retention_days))?;
    Ok(crate::history::Retention { event_days, report_days })
}

/// The events table named by `EVENTS_TABLE`, reached as the SDK environment says: one per
/// function (its client built on first use), shared by every part that needs it.
fn events_table(config: &Config) -> Built<Arc<EventsTable>> {
    let name = part(&config.events_table)?;
    let sdk = &config.sdk;
    let (region, endpoint_url) = (sdk.region.clone(), sdk.dynamodb_endpoint_url.clone());
    Ok(Arc::new(EventsTable::lazy(name, region, endpoint_url, config.tls_roots.clone())))
}

fn hms(config: &Config) -> Built<Hms> {
    let (base_url, credentials) = both(part(&config.api_base_url), credential_store(config))?;
    Ok(HmsClient::new(base_url, credentials, config.tls_roots.clone()))
}

fn credential_store(config: &Config) -> Built<CredentialStore<ConfiguredSource>> {
    let (secret, max_age) = both(part(&config.secret), part(&config.secret_cache_seconds))?;
    let source = match secret {
        SecretConfig::SecretsManager { secret_id } => ConfiguredSource::SecretsManager(SecretsManagerSource::new(
            secret_id,
            config.sdk.region.clone(),
            config.sdk.endpoint_url.clone(),
            config.tls_roots.clone(),
        )),
        SecretConfig::Environment { access_key, secret } => {
            ConfiguredSource::Static(StaticSource(Credentials::new(access_key, secret)))
        }
    };
    Ok(CredentialStore::new(source, Duration::from_secs(max_age)))
}

/// The webhook secret, a secret of its own (`WEBHOOK_SECRET_ID`): `webhooks` reads it and never
/// the app secret.
fn webhook_secret_store(config: &Config) -> Built<CredentialStore<ConfiguredSource>> {
    let (secret, max_age) = both(part(&config.webhook_secret), part(&config.secret_cache_seconds))?;
    let source = match secret {
        WebhookSecretConfig::SecretsManager { secret_id } => ConfiguredSource::SecretsManager(
            SecretsManagerSource::new(
                secret_id,
                config.sdk.region.clone(),
                config.sdk.endpoint_url.clone(),
                config.tls_roots.clone(),
            )
            .for_webhook_secret(),
        ),
        WebhookSecretConfig::Environment { secret } => {
            ConfiguredSource::Static(StaticSource(Credentials::webhook_only(secret)))
        }
    };
    Ok(CredentialStore::new(source, Duration::from_secs(max_age)))
}

fn part<T: Clone>(value: &Result<T, ConfigError>) -> Built<T> {
    value.clone().map_err(|e| vec![e])
}

/// Both parts, or every error of either.
fn both<A, B>(a: Built<A>, b: Built<B>) -> Built<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
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
/// trims the top of the heap past 128 KiB: the memory attendance of a large session allocates
/// came back from the kernel as freshly zeroed pages on every warm invocation (BENCHMARKS.md).
/// With fixed thresholds the memory stays: peak RSS, which the function's memory size must cover
/// anyway, is unchanged; RSS between invocations stays at that peak instead of falling back. A
/// no-op where the allocator is not glibc's.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two allocator parameters; it has no memory-safety preconditions,
    // and a refused value leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// Answers one event as the invocation `invocation` and logs its summary line: route, method,
/// status, error code (and message), duration, and the 100ms calls and retries it made.
pub async fn invoke<F: Function>(
    function: Result<&F, &[ConfigError]>,
    event: ApiGatewayV2httpRequest,
    invocation: Invocation,
) -> ApiGatewayV2httpResponse {
    let method = event.request_context.http.method.clone();
    let path = event.raw_path.clone().unwrap_or_default();
    let started = std::time::Instant::now();
    invocation
        .scope(async move {
            let served = handlers::serve(function, event).await;
            let route = served.route.unwrap_or("-");
            let status = served.response.status_code;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let Counts { hms_calls, hms_retries } = invocation::counts();
            match &served.error {
                None => tracing::info!(%method, path, route, status, ms, hms_calls, hms_retries, "request"),
                Some(e) => {
                    let error = e.code().as_str();
                    if status >= 500 {
                        tracing::error!(%method, path, route, status, error, msg = %e, ms, hms_calls, hms_retries, "request");
                    } else {
                        tracing::info!(%method, path, route, status, error, msg = %e, ms, hms_calls, hms_retries, "request");
                    }
                }
            }
            served.response
        })
        .await
}

/// Runs the Lambda runtime loop with `function` answering each API Gateway event, after logging
/// its configuration errors once (a misconfigured function answers them; it never crash-loops)
/// and [`retain_freed_memory`].
///
/// One event at a time, as classic Lambda sends them; where `AWS_LAMBDA_MAX_CONCURRENCY` asks for
/// more (Lambda Managed Instances), that many at once on this thread, each in its own task with
/// its own [`Invocation`].
///
/// The runtime's future and each invocation's future live on the heap. Held inline, the loop's
/// future was copied into large stack frames whose probes touch every page (BENCHMARKS.md).
pub async fn run<F: Function + Sync + 'static>(function: Built<F>) -> Result<(), lambda_http::Error> {
    if let Err(errors) = &function {
        for e in errors {
            tracing::error!(error = %e, "configuration error: requests will be answered 500 config");
        }
    }
    retain_freed_memory();
    // Built once and kept for the container's life, so each concurrent worker borrows it.
    let function: &'static Built<F> = Box::leak(Box::new(function));
    let function = function.as_ref().map_err(Vec::as_slice);
    let runtime =
        lambda_http::lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let deadline = invocation_deadline(event.context.deadline, chrono::Utc::now().timestamp_millis());
            let invocation = Invocation::new(event.context.request_id, event.context.xray_trace_id, deadline);
            let fut = Box::pin(invoke(function, event.payload, invocation));
            async move { Ok::<_, Infallible>(fut.await) }
        }));
    Box::pin(runtime).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| pairs.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone()))
    }

    /// On a paused clock: the time left is exactly Lambda's less the margin.
    #[tokio::test(start_paused = true)]
    async fn deadline_leaves_the_margin() {
        let now_ms = 1_795_000_000_000;
        let d = invocation_deadline(now_ms as u64 + 6_000, now_ms).unwrap() - tokio::time::Instant::now();
        assert_eq!(d, Duration::from_secs(6) - DEADLINE_MARGIN);
        let past = invocation_deadline(now_ms as u64 - 1_000, now_ms).unwrap() - tokio::time::Instant::now();
        assert_eq!(past, Duration::ZERO, "a passed deadline leaves no time");
    }

    #[test]
    fn an_emulators_relative_placeholder_is_no_deadline() {
        assert!(invocation_deadline(600_000, 1_795_000_000_000).is_none(), "cargo-lambda's 600000");
    }

    /// Answers `events` with `function` as `run` does, each as its own invocation; returns the
    /// log lines, parsed.
    fn logged<F: Function>(function: Result<&F, &[ConfigError]>, events: Vec<ApiGatewayV2httpRequest>) -> Vec<Value> {
        use crate::logging::{LogFormat, capture::Captured, log_subscriber};
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = log_subscriber(
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO),
            LogFormat::Json,
            move || writer.clone(),
        );
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for (i, event) in events.into_iter().enumerate() {
                runtime.block_on(invoke(function, event, Invocation::new(format!("req-{i}"), None, None)));
            }
        });
        out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn event(method: &str, path: &str, body: &str) -> ApiGatewayV2httpRequest {
        serde_json::from_value(serde_json::json!({
            "version": "2.0", "rawPath": path, "rawQueryString": "", "body": body, "isBase64Encoded": false,
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"}
        }))
        .unwrap()
    }

    #[test]
    fn each_request_ends_in_one_summary_line_with_its_request_id() {
        let errors = create_room(&config(&[])).err().unwrap();
        let lines = logged::<CreateRoom<Hms>>(
            Err(&errors),
            vec![event("POST", "/create-room", "{}"), event("GET", "/nope", ""), event("GET", "/create-room", "")],
        );
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let summary = |l: &Value| serde_json::json!([l["requestId"], l["route"], l["status"], l["error"], l["level"]]);
        assert_eq!(summary(&lines[0]), serde_json::json!(["req-0", "/create-room", 500, "config", "ERROR"]));
        assert_eq!(summary(&lines[1]), serde_json::json!(["req-1", "-", 404, "route_not_found", "INFO"]));
        assert_eq!(summary(&lines[2]), serde_json::json!(["req-2", "-", 405, "method_not_allowed", "INFO"]));
        assert!(lines[0]["msg"].as_str().unwrap().contains("HMS_SECRET_ID"), "{}", lines[0]);
        for l in &lines {
            assert_eq!(l["message"], "request");
            assert_eq!((l["hms_calls"].as_u64(), l["hms_retries"].as_u64()), (Some(0), Some(0)));
            assert!(l["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{l}");
        }
    }

    #[test]
    fn each_function_is_built_whole_or_lists_everything_it_lacks() {
        let keys = [("APP_ACCESS_KEY", "k"), ("APP_SECRET", SECRET)];
        assert!(create_room(&config(&keys)).is_ok());
        assert!(session_analytics(&config(&keys)).is_ok());
        let errors = auth_token(&config(&keys)).err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("ALLOWED_ROLES"), "{errors:?}");

        let bad = [("AUTH_TOKEN_TTL_SECONDS", "5"), ("CALLER_AUTH", "maybe"), ("HMS_API_BASE_URL", "ftp://x")];
        let texts = |errors: Vec<ConfigError>| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ");
        let all = texts(auth_token(&config(&bad)).err().unwrap());
        for needle in ["HMS_SECRET_ID", "ALLOWED_ROLES", "AUTH_TOKEN_TTL_SECONDS", "CALLER_AUTH"] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
        assert!(!all.contains("HMS_API_BASE_URL"), "auth-token does not call 100ms: {all}");
        let create = texts(create_room(&config(&bad)).err().unwrap());
        for needle in ["HMS_API_BASE_URL", "HMS_SECRET_ID", "CALLER_AUTH"] {
            assert!(create.contains(needle), "{needle}: {create}");
        }
        assert!(!create.contains("ALLOWED_ROLES"), "create-room mints no token: {create}");
    }

    const SECRET: &str = "app-secret-for-tests-0123456789abcdef";

    #[test]
    fn in_jwt_mode_the_room_functions_need_the_owners_table() {
        let jwt = [
            ("APP_ACCESS_KEY", "k"),
            ("APP_SECRET", SECRET),
            ("ALLOWED_ROLES", "host"),
            ("CALLER_AUTH", "jwt"),
            ("ADMIN_CLAIM_NAME", "cognito:groups"),
            ("ADMIN_CLAIM_VALUE", "admin"),
        ];
        let texts = |errors: Vec<ConfigError>| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ");
        assert!(texts(create_room(&config(&jwt)).err().unwrap()).contains("EVENTS_TABLE"));
        assert!(texts(room_control(&config(&jwt)).err().unwrap()).contains("EVENTS_TABLE"));
        assert!(texts(session_analytics(&config(&jwt)).err().unwrap()).contains("EVENTS_TABLE"));
        assert!(texts(auth_token(&config(&jwt)).err().unwrap()).contains("EVENTS_TABLE"), "rooms decide tokens");
        let open = [("APP_ACCESS_KEY", "k"), ("APP_SECRET", SECRET), ("ALLOWED_ROLES", "host")];
        assert!(auth_token(&config(&open)).is_ok(), "without sign-in tokens need no table");
        let mut with_table = jwt.to_vec();
        with_table.extend([("EVENTS_TABLE", "events"), ("AWS_REGION", "eu-west-1")]);
        assert!(create_room(&config(&with_table)).is_ok() && room_control(&config(&with_table)).is_ok());
        assert!(auth_token(&config(&with_table)).is_ok());
    }

    #[test]
    fn webhooks_need_the_secret_and_the_table() {
        let texts = |errors: Vec<ConfigError>| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ");
        let missing = texts(webhooks(&config(&[("WEBHOOK_ALLOWED_IPS", "nope")])).err().unwrap());
        for needle in ["WEBHOOK_SECRET_ID", "EVENTS_TABLE", "WEBHOOK_ALLOWED_IPS"] {
            assert!(missing.contains(needle), "{needle}: {missing}");
        }
        for never in ["HMS_SECRET_ID", "ALLOWED_ROLES", "HMS_API_BASE_URL"] {
            assert!(!missing.contains(never), "webhooks needs no {never}: {missing}");
        }
        let hook = "webhook-secret-0123456789abcdef0123";
        let ready = [("WEBHOOK_SECRET", hook), ("EVENTS_TABLE", "events"), ("AWS_REGION", "eu-west-1")];
        let built = webhooks(&config(&ready)).unwrap();
        assert_eq!((built.header.as_str(), built.retention.event_days), ("x-100ms-webhook-secret", 90));
        assert_eq!(built.retention.report_days, crate::config::DEFAULT_REPORT_RETENTION_DAYS);
    }
}

//! The functions no route serves, composed and run as `app` runs the others: the webhook route's
//! authorizer (`webhook-authorizer`, API Gateway's REQUEST authorizer) and the scheduled
//! reconciliation (`reconcile`, EventBridge's schedule). Each takes a plain JSON event.

use std::sync::Arc;
use std::time::Duration;

use super::{
    Built, Hms, both, events_table, hms, invocation_deadline, part, retain_freed_memory, webhook_secret_store,
};
use crate::config::Config;
use crate::credentials::{ConfiguredSource, CredentialStore};
use crate::invocation::Invocation;
use crate::store::EventsTable;

/// `webhook-authorizer`: the webhook secret (as `webhooks` reads it), its header, the address
/// allow-list.
pub struct WebhookAuthorizer {
    pub credentials: CredentialStore<ConfiguredSource>,
    pub header: String,
    pub allowed_ips: crate::webhooks::AllowList,
}

/// `webhook-authorizer`.
pub fn webhook_authorizer(config: &Config) -> Built<WebhookAuthorizer> {
    let (credentials, (header, allowed_ips)) =
        both(webhook_secret_store(config), both(part(&config.webhook_header), part(&config.webhook_allowed_ips)))?;
    Ok(WebhookAuthorizer { credentials, header, allowed_ips })
}

/// API Gateway's verdict on one REQUEST authorizer event (payload format 2.0, simple responses):
/// `{"isAuthorized": true}` for a delivery `webhooks` would let in. A configuration error or the
/// secret out of reach is an error (API Gateway answers 500, caches nothing, and 100ms retries).
pub async fn authorize_webhook(
    a: &WebhookAuthorizer,
    event: &serde_json::Value,
) -> Result<serde_json::Value, crate::ApiError> {
    let headers = event.get("headers").and_then(serde_json::Value::as_object);
    let presented =
        headers.and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(&a.header))).and_then(|(_, v)| v.as_str());
    let source_ip = event.pointer("/requestContext/http/sourceIp").and_then(serde_json::Value::as_str);
    match crate::handlers::webhooks::authentic(&a.credentials, &a.allowed_ips, presented, source_ip).await {
        Ok(()) => Ok(serde_json::json!({"isAuthorized": true})),
        Err(crate::ApiError::Unauthenticated(_)) => Ok(serde_json::json!({"isAuthorized": false})),
        Err(e) => Err(e),
    }
}

/// Runs the Lambda runtime loop for `webhook-authorizer`.
pub async fn run_webhook_authorizer(built: Built<WebhookAuthorizer>) -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, service_fn};
    let built: &'static Built<WebhookAuthorizer> = Box::leak(Box::new(built));
    if let Err(errors) = built {
        for e in errors {
            tracing::error!(error = %e, "configuration error: every webhook will be refused with a 500");
        }
    }
    let runtime =
        lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
            let a = built.as_ref().map_err(|_| lambda_http::Error::from("configuration error (logged at start)"))?;
            let invocation = Invocation::new(event.context.request_id, event.context.xray_trace_id, None);
            invocation.scope(authorize_webhook(a, &event.payload)).await.map_err(|e| {
                tracing::error!(error = %e, code = e.code().as_str(), "webhook authorizer failed");
                lambda_http::Error::from(e.to_string())
            })
        }));
    Box::pin(runtime).await
}

/// `reconcile`: 100ms's delivery log read with the app's credentials, the events table, the
/// `RECONCILE_*` settings.
pub struct Reconcile {
    pub log: Hms,
    pub table: Arc<EventsTable>,
    pub settings: crate::reconcile::Settings,
}

/// `reconcile`.
pub fn reconcile(config: &Config) -> Built<Reconcile> {
    let (log, (table, settings)) = both(hms(config), both(events_table(config), part(&config.reconcile)))?;
    Ok(Reconcile { log, table, settings })
}

/// How long a run may take when the runtime gives no deadline (a local emulator's placeholder).
pub const RECONCILE_RUN_BUDGET: Duration = Duration::from_secs(60);

/// Runs the Lambda runtime loop for `reconcile`: each scheduled event (its content is not read)
/// is one run, answered with the run's report. A configuration error, a failure (the checkpoint
/// saved so far stays for the next run) or events given up fail the invocation, which the
/// template's alarm counts.
pub async fn run_reconcile(built: Built<Reconcile>) -> Result<(), lambda_http::Error> {
    use lambda_http::lambda_runtime::{LambdaEvent, service_fn};
    retain_freed_memory();
    let built: &'static Built<Reconcile> = Box::leak(Box::new(built));
    let runtime =
        lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
            let r = match built {
                Ok(r) => r,
                Err(errors) => {
                    let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                    tracing::error!(errors = ?all, "configuration error: reconcile cannot run");
                    return Err(lambda_http::Error::from(format!("configuration error: {}", all.join("; "))));
                }
            };
            let deadline = invocation_deadline(event.context.deadline, chrono::Utc::now().timestamp_millis())
                .unwrap_or_else(|| tokio::time::Instant::now() + RECONCILE_RUN_BUDGET);
            let invocation = Invocation::new(event.context.request_id, event.context.xray_trace_id, Some(deadline));
            // Inside the invocation's scope, so each line it logs carries the request id.
            invocation.scope(reconcile_once(r, deadline)).await
        }));
    Box::pin(runtime).await
}

/// One reconcile run, logged: its report, or why it failed (which fails the invocation).
async fn reconcile_once(
    r: &Reconcile,
    deadline: tokio::time::Instant,
) -> Result<crate::reconcile::RunReport, lambda_http::Error> {
    let now = chrono::Utc::now();
    match crate::reconcile::run(&r.log, r.table.as_ref(), r.table.as_ref(), &r.settings, now, deadline).await {
        Ok(report) if report.given_up == 0 => {
            tracing::info!(report = %serde_json::to_string(&report).unwrap_or_default(), "reconcile run");
            Ok(report)
        }
        Ok(report) => {
            tracing::error!(report = %serde_json::to_string(&report).unwrap_or_default(), "reconcile run gave events up");
            Err(lambda_http::Error::from(format!("{} webhook events given up after the replays", report.given_up)))
        }
        Err(e) => {
            tracing::error!(error = %e, code = e.code().as_str(), "reconcile run failed: the next run takes up from the checkpoint");
            Err(lambda_http::Error::from(e.to_string()))
        }
    }
}

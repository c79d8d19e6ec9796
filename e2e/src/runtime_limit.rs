//! Lambda's response limit in front of cargo-lambda's Runtime API, which has none: the functions
//! poll through this, and a response over [`LAMBDA_RESPONSE_LIMIT`] bytes fails its invocation as
//! on Lambda (the function is told 413, the caller gets an error, never the oversized answer).
//! Everything else passes unchanged.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hms_shared::edge::LAMBDA_RESPONSE_LIMIT;
use local_api::forward;
use tokio::net::TcpListener;

/// Larger than anything a test sends: the limit is checked here, not by the body reader.
const READ_CAP: usize = 64 << 20;

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
}

/// Serves the limited Runtime API on `listener`, forwarding to `upstream` (cargo-lambda's
/// address); runs until the task is dropped.
pub fn serve(listener: TcpListener, upstream: String) -> tokio::task::JoinHandle<()> {
    // No timeout: a function's `next` is a long poll.
    let state = Upstream { base: upstream, http: reqwest::Client::new() };
    let app = axum::Router::new().fallback(handle).with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

async fn handle(State(up): State<Upstream>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(invocation) = path.strip_suffix("/response").filter(|_| req.method() == Method::POST) else {
        return forward(&up.http, &up.base, req, READ_CAP).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, READ_CAP).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if bytes.len() <= LAMBDA_RESPONSE_LIMIT {
        return forward(&up.http, &up.base, Request::from_parts(parts, bytes.into()), READ_CAP).await;
    }
    let error = serde_json::json!({
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": format!("Response payload size ({} bytes) exceeded maximum allowed payload size ({LAMBDA_RESPONSE_LIMIT} bytes).", bytes.len()),
    });
    let _ = up
        .http
        .post(format!("{}{invocation}/error", up.base))
        .header("lambda-runtime-function-error-type", "Function.ResponseSizeTooLarge")
        .json(&error)
        .send()
        .await;
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(error)).into_response()
}

//! The Lambda Runtime API of one benchmarked process: hands it one invocation at a time and
//! timestamps its first poll; a response over Lambda's limit fails the invocation as Lambda does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use hms_shared::edge::LAMBDA_RESPONSE_LIMIT;
use tokio::sync::{mpsc, oneshot};

/// Where an invocation's answer goes: the response body, or the error the function reported.
pub(crate) type Answer = oneshot::Sender<Result<Bytes, String>>;

/// One invocation handed to the process: its event, and where its answer goes.
pub(crate) struct Invocation {
    pub(crate) event: Vec<u8>,
    pub(crate) answer: Answer,
}

/// The Runtime API of one process.
#[derive(Clone)]
pub(crate) struct Runtime {
    pub(crate) queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    pub(crate) pending: Arc<Mutex<HashMap<String, Answer>>>,
    pub(crate) first_poll: Arc<Mutex<Option<Instant>>>,
    pub(crate) init_error: Arc<Mutex<Option<String>>>,
}

pub(crate) async fn next(State(rt): State<Runtime>) -> (StatusCode, HeaderMap, Vec<u8>) {
    rt.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
    let Some(inv) = rt.queue.lock().await.recv().await else {
        // The benchmark is over: hold the poll until the process is killed.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let id = uuid::Uuid::new_v4().to_string();
    rt.pending.lock().unwrap().insert(id.clone(), inv.answer);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(25);
    let mut headers = HeaderMap::new();
    let h = |s: &str| HeaderValue::from_str(s).unwrap();
    headers.insert("lambda-runtime-aws-request-id", h(&id));
    headers.insert("lambda-runtime-deadline-ms", h(&deadline.as_millis().to_string()));
    headers.insert("lambda-runtime-invoked-function-arn", h("arn:aws:lambda:us-east-1:123456789012:function:bench"));
    headers.insert("lambda-runtime-trace-id", h("Root=1-00000000-000000000000000000000000"));
    headers.insert("content-type", h("application/json"));
    (StatusCode::OK, headers, inv.event)
}

/// A response, or, over Lambda's response limit, the invocation failed as Lambda fails it.
pub(crate) async fn response(State(rt): State<Runtime>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let too_large = body.len() > LAMBDA_RESPONSE_LIMIT;
    if let Some(tx) = rt.pending.lock().unwrap().remove(&id) {
        let _ = tx.send(if too_large {
            Err(format!("Function.ResponseSizeTooLarge: {} bytes, over {LAMBDA_RESPONSE_LIMIT}", body.len()))
        } else {
            Ok(body)
        });
    }
    if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::ACCEPTED }
}

pub(crate) async fn invocation_error(
    State(rt): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    if let Some(tx) = rt.pending.lock().unwrap().remove(&id) {
        let _ = tx.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

pub(crate) async fn init_error(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    *rt.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

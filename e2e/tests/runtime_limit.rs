//! The e2e Runtime API keeps Lambda's response limit: a response of up to 6,291,556 bytes reaches
//! cargo-lambda unchanged; one byte more fails the invocation (an `/error` with
//! `Function.ResponseSizeTooLarge`) and the function is told 413, as on Lambda.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use hms_e2e::runtime_limit;
use hms_shared::edge::LAMBDA_RESPONSE_LIMIT;
use tokio::net::TcpListener;

type Seen = Arc<Mutex<Vec<(String, usize, Option<String>)>>>;

/// What reached the Runtime API behind the limit: path, body size, error type header.
async fn record(State(seen): State<Seen>, req: Request) -> StatusCode {
    let path = req.uri().path().to_string();
    let kind = req.headers().get("lambda-runtime-function-error-type").map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(req.into_body(), 64 << 20).await.unwrap();
    seen.lock().unwrap().push((path, body.len(), kind));
    StatusCode::ACCEPTED
}

#[tokio::test]
async fn a_response_over_lambdas_limit_fails_its_invocation() {
    let seen = Seen::default();
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    let app = axum::Router::new().fallback(record).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(upstream, app).await });
    let limited = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/.rt/f/2018-06-01/runtime/invocation", limited.local_addr().unwrap());
    let _proxy = runtime_limit::serve(limited, upstream_url);

    let http = reqwest::Client::new();
    for (id, size, status) in
        [("small", 1_000, 202), ("at-limit", LAMBDA_RESPONSE_LIMIT, 202), ("over", LAMBDA_RESPONSE_LIMIT + 1, 413)]
    {
        let resp = http.post(format!("{base}/{id}/response")).body(vec![b'x'; size]).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{id}");
    }
    let seen = seen.lock().unwrap().clone();
    let path = |id: &str, what: &str| format!("/.rt/f/2018-06-01/runtime/invocation/{id}/{what}");
    assert_eq!(seen[0], (path("small", "response"), 1_000, None));
    assert_eq!(seen[1], (path("at-limit", "response"), LAMBDA_RESPONSE_LIMIT, None));
    assert_eq!(seen[2].0, path("over", "error"));
    assert_eq!(seen[2].2.as_deref(), Some("Function.ResponseSizeTooLarge"));
    assert_eq!(seen.len(), 3, "the oversized response itself never arrives: {seen:?}");
}

//! What reaches a function locally, decided as the deployed API decides it: the API's routes
//! (`template.yaml`'s `RouteKey`s, any method: the function answers a wrong one with its JSON
//! 405), and Lambda's Invoke API for the bundle's functions, which `cargo lambda invoke` uses.
//! Anything else is API Gateway's own 404, so `cargo lambda watch`'s extras (its `/lambda-url/`
//! paths, which start any binary of the workspace, and its 404 listing them) stay out of reach.

pub mod authorizer;
pub mod jwt;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// API Gateway gives up on an integration after 29 s.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// The API's paths, as `template.yaml` routes them (a test checks the two agree).
pub const ROUTES: [&str; 33] = [
    "/create-room",
    "/room-owner",
    "/auth-token",
    "/session-analytics-by-room",
    "/session-list-by-room",
    "/attendance-history",
    "/attendance",
    "/room-codes",
    "/room-codes/disable",
    "/room-codes/enable",
    "/active-peers",
    "/remove-peer",
    "/end-room",
    "/recordings/start",
    "/recordings/stop",
    "/recordings",
    "/recording-url",
    "/room-access",
    "/room-members",
    "/room-members/remove",
    "/room-members/ban",
    "/room-members/unban",
    "/send-message",
    "/update-peer",
    "/room-enabled",
    "/recordings/pause",
    "/recordings/resume",
    "/recording-summary",
    "/live-streams",
    "/live-streams/start",
    "/live-streams/stop",
    "/live-streams/timed-metadata",
    "/webhooks/100ms",
];

/// The bundle's functions behind routes, by binary name.
pub const FUNCTIONS: [&str; 5] = ["create-room", "auth-token", "session-analytics", "room-control", "webhooks"];
/// The functions no route serves, invoked by name (the schedule, API Gateway's authorizer).
pub const INVOKED: [&str; 2] = ["reconcile", "webhook-authorizer"];

/// The webhook route and the header API Gateway's authorizer takes as its identity source (the
/// template's default `WebhookHeaderName`): a request without it is API Gateway's own 401.
pub const WEBHOOK_ROUTE: &str = "/webhooks/100ms";
pub const WEBHOOK_HEADER: &str = "x-100ms-webhook-secret";

/// What API Gateway answers for a path no route matches (an HTTP API: 404 and this body).
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;

/// The largest request API Gateway passes on (and Lambda accepts): 6 MB.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The front door: where requests go, and the JWT authorizer when callers must sign in.
#[derive(Clone)]
pub struct LocalApi {
    /// Base URL of `cargo lambda watch`.
    pub upstream: String,
    pub http: reqwest::Client,
    pub jwt: Option<std::sync::Arc<jwt::JwtAuthorizer>>,
}

/// The router serving `api`: API Gateway's 404 off the routes, its 401 for a route the
/// authorizer guards without a valid token, else the function.
pub fn router(api: LocalApi) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(api)
}

async fn handle(State(api): State<LocalApi>, req: Request) -> Response {
    let (method, path) = (req.method().as_str().to_string(), req.uri().path().to_string());
    if target(&method, &path) == Target::NotFound {
        return json_answer(StatusCode::NOT_FOUND, NOT_FOUND_BODY);
    }
    if path == WEBHOOK_ROUTE && !req.headers().contains_key(WEBHOOK_HEADER) {
        return json_answer(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#);
    }
    let (Some(jwt), Some(function)) = (&api.jwt, authorizer::function_of(&path)) else {
        return forward(&api.http, &api.upstream, req, MAX_REQUEST_BYTES).await;
    };
    if !ROUTES.contains(&path.as_str()) {
        return forward(&api.http, &api.upstream, req, MAX_REQUEST_BYTES).await;
    }
    // Routes without the authorizer (preflights, the webhook) get an event without claims.
    let claims = if authorizer::guards(&method, &path) {
        match jwt.claims(req.headers()).await {
            Ok(claims) => Some(claims),
            Err(why) => {
                // What API Gateway would put in its own log; the caller sees only the 401.
                eprintln!("local-api: 401 for {method} {path}: {why:?}");
                return authorizer::unauthorized();
            }
        }
    } else {
        None
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return json_answer(StatusCode::PAYLOAD_TOO_LARGE, r#"{"message":"Request Entity Too Large"}"#);
    };
    let event = authorizer::event(&method, &path, parts.uri.query(), &parts.headers, &body, claims.as_ref());
    authorizer::invoke(&api.http, &api.upstream, function, &event).await
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// To `cargo lambda watch` unchanged: a route of the API, or an invocation of a function.
    Forward,
    /// API Gateway's 404.
    NotFound,
}

/// Decides where a request for `path` (without its query) goes.
pub fn target(method: &str, path: &str) -> Target {
    let invoked = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|name| FUNCTIONS.contains(name) || INVOKED.contains(name));
    if ROUTES.contains(&path) || (method == "POST" && invoked.is_some()) { Target::Forward } else { Target::NotFound }
}

/// Sends `req` on to `base` (same method, path, query, headers and body, up to `max_body`
/// bytes) and answers what came back; a timeout of `http` is a 504, any other failure a 503, as
/// API Gateway answers them.
pub async fn forward(http: &reqwest::Client, base: &str, req: Request, max_body: usize) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, max_body).await else {
        return json_answer(StatusCode::PAYLOAD_TOO_LARGE, r#"{"message":"Request Entity Too Large"}"#);
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    for hop in [header::HOST, header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
        headers.remove(hop);
    }
    let sent = http.request(parts.method, format!("{base}{path_and_query}")).headers(headers).body(body).send().await;
    match sent {
        Ok(resp) => {
            let status = resp.status();
            let mut headers = resp.headers().clone();
            for hop in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
                headers.remove(hop);
            }
            match resp.bytes().await {
                Ok(bytes) => (status, headers, Body::from(bytes)).into_response(),
                Err(_) => unavailable(),
            }
        }
        Err(e) if e.is_timeout() => {
            json_answer(StatusCode::GATEWAY_TIMEOUT, r#"{"message":"Endpoint request timed out"}"#)
        }
        Err(_) => unavailable(),
    }
}

fn unavailable() -> Response {
    json_answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"message":"Service Unavailable"}"#)
}

/// A JSON answer with a fixed body.
pub fn json_answer(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Bytes::from_static(body.as_bytes()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_go_through_with_any_method() {
        for path in ROUTES {
            for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
                assert_eq!(target(method, path), Target::Forward, "{method} {path}");
            }
        }
    }

    #[test]
    fn functions_are_invoked_by_name_and_only_the_bundles() {
        for f in FUNCTIONS {
            assert_eq!(target("POST", &format!("/2015-03-31/functions/{f}/invocations")), Target::Forward);
            assert_eq!(target("GET", &format!("/2015-03-31/functions/{f}/invocations")), Target::NotFound);
        }
        for internal in ["hms-emulator", "lambda-bench", "hello-world", "local-api", "_", ""] {
            assert_eq!(target("POST", &format!("/2015-03-31/functions/{internal}/invocations")), Target::NotFound);
        }
    }

    #[test]
    fn everything_else_is_not_found() {
        for path in [
            "/",
            "/nope",
            "/create-room/",
            "/Create-Room",
            "/create-room/x",
            "/lambda-url/hms-emulator/",
            "/lambda-url/create-room/create-room",
            "/.rt/create-room/2018-06-01/runtime/invocation/next",
            "/hello-world",
        ] {
            assert_eq!(target("GET", path), Target::NotFound, "{path}");
            assert_eq!(target("POST", path), Target::NotFound, "{path}");
        }
    }
}

//! What API Gateway does around a function locally: which function serves a path, the event it
//! sends (with the JWT authorizer's claims under `requestContext.authorizer.jwt.claims`), and
//! the invocation through Lambda's Invoke API. `cargo lambda watch`'s own router cannot carry
//! claims, hence the event is built here. The token checks are in [`crate::jwt`].
//!
//! What is not checked here but is in the template: `OPTIONS` (a CORS preflight) and the webhook
//! route pass without a token, as their routes have no JWT authorizer.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::{INTEGRATION_TIMEOUT, json_answer};

/// What API Gateway answers when the authorizer refuses a request.
pub const UNAUTHORIZED_BODY: &str = r#"{"message":"Unauthorized"}"#;

/// The paths with no authorizer in the template.
const OPEN_PATHS: [&str; 2] = ["/webhooks/100ms", "/attendance"];

/// Which function serves each path (the template's integrations).
pub fn function_of(path: &str) -> Option<&'static str> {
    Some(match path {
        "/create-room" | "/room-owner" => "create-room",
        "/auth-token" => "auth-token",
        "/session-analytics-by-room" | "/session-list-by-room" | "/attendance-history" | "/attendance" => {
            "session-analytics"
        }
        "/webhooks/100ms" => "webhooks",
        p if crate::ROUTES.contains(&p) => "room-control",
        _ => return None,
    })
}

/// Whether a request for `method path` must carry a token.
pub fn guards(method: &str, path: &str) -> bool {
    method != "OPTIONS" && !OPEN_PATHS.contains(&path)
}

/// The payload-2.0 event API Gateway sends for this request.
pub fn event(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    claims: Option<&BTreeMap<String, String>>,
) -> Value {
    let mut merged: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        merged.entry(name.as_str().to_string()).or_default().push(String::from_utf8_lossy(value.as_bytes()).into());
    }
    let headers: Map<String, Value> = merged.into_iter().map(|(k, v)| (k, json!(v.join(",")))).collect();
    let raw_query = query.unwrap_or("");
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        params.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    let params: Map<String, Value> = params.into_iter().map(|(k, v)| (k, json!(v.join(",")))).collect();
    let (body, encoded) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(STANDARD.encode(body)), true),
    };
    let user_agent = headers.get("user-agent").cloned().unwrap_or(json!(""));
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("ANY {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": if params.is_empty() { Value::Null } else { Value::Object(params) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": user_agent},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": format!("ANY {path}"),
            "stage": "$default",
            "time": "",
            "timeEpoch": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        },
        "body": body,
        "isBase64Encoded": encoded,
    });
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    event
}

/// Invokes `function` with `event` through Lambda's Invoke API at `base` and answers its
/// payload-2.0 response as HTTP (a timeout is API Gateway's 504, any other failure its 503).
pub async fn invoke(http: &reqwest::Client, base: &str, function: &str, event: &Value) -> Response {
    let url = format!("{base}/2015-03-31/functions/{function}/invocations");
    let sent = http.post(url).timeout(INTEGRATION_TIMEOUT).json(event).send().await;
    let out: Value = match sent {
        Ok(resp) => match resp.json().await {
            Ok(v) => v,
            Err(_) => return json_answer(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":"Internal Server Error"}"#),
        },
        Err(e) if e.is_timeout() => {
            return json_answer(StatusCode::GATEWAY_TIMEOUT, r#"{"message":"Endpoint request timed out"}"#);
        }
        Err(_) => return json_answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"message":"Service Unavailable"}"#),
    };
    let status = out["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok());
    let Some(status) = status else {
        return json_answer(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":"Internal Server Error"}"#);
    };
    let text = out["body"].as_str().unwrap_or("");
    let body = if out["isBase64Encoded"] == true {
        STANDARD.decode(text).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let mut response = (status, Body::from(Bytes::from(body))).into_response();
    if let Some(headers) = out["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) =
                (header::HeaderName::from_bytes(name.as_bytes()), value.as_str().map(HeaderValue::from_str))
            {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

/// API Gateway's answer to a request its authorizer refused.
pub fn unauthorized() -> Response {
    let mut r = json_answer(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_open_paths_and_preflights_pass_without_a_token() {
        assert!(guards("GET", "/session-list-by-room") && !guards("OPTIONS", "/create-room"));
        assert!(!guards("POST", "/webhooks/100ms") && !guards("GET", "/attendance"));
    }

    #[test]
    fn every_route_has_its_function() {
        for path in crate::ROUTES {
            assert!(function_of(path).is_some_and(|f| crate::FUNCTIONS.contains(&f)), "{path}");
        }
        assert_eq!(function_of("/recording-url"), Some("room-control"));
        assert_eq!(function_of("/nope"), None);
    }

    #[test]
    fn the_event_carries_the_request_and_the_claims() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        let claims = BTreeMap::from([("sub".to_string(), "u1".to_string())]);
        let ev = event("GET", "/session-list-by-room", Some("room_id=abc&limit=5%20"), &headers, b"", Some(&claims));
        assert_eq!(ev["rawQueryString"], "room_id=abc&limit=5%20");
        assert_eq!(ev["queryStringParameters"]["limit"], "5 ");
        assert_eq!(ev["requestContext"]["authorizer"]["jwt"]["claims"]["sub"], "u1");
        assert_eq!((ev["body"].clone(), ev["headers"]["x-a"].clone()), (Value::Null, json!("1")));
        let binary = event("POST", "/create-room", None, &headers, &[0xff, 0xfe], None);
        assert_eq!((binary["body"].as_str(), binary["isBase64Encoded"].as_bool()), (Some("//4="), Some(true)));
        assert!(binary["requestContext"].get("authorizer").is_none(), "no authorizer, no claims");
    }
}

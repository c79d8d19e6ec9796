//! The HTTP edge: API Gateway HTTP API events (payload 2.0) in, JSON answers out.
//!
//! We take the raw event instead of lambda_http's `Request` because lambda_http decodes a base64
//! body with `expect`, so a bad body would panic (a 500) where the caller deserves a 400.

use std::collections::HashMap;

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::http::{HeaderMap, HeaderValue, Method, header};

use crate::error::ApiError;

/// Largest request body we accept (decoded).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What a handler needs of a request.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: Method,
    /// The path without the stage prefix and without a trailing slash.
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Option<Vec<u8>>,
    /// Claims of a JWT authorizer, when one ran.
    pub claims: HashMap<String, String>,
}

impl ApiRequest {
    /// Converts an API Gateway event; the only failures are the caller's (bad base64, too large).
    pub fn from_event(event: ApiGatewayV2httpRequest) -> Result<Self, ApiError> {
        let method = event.request_context.http.method.clone();
        let raw_path = event.raw_path.or(event.request_context.http.path).unwrap_or_else(|| "/".into());
        let path = normalize_path(&raw_path, event.request_context.stage.as_deref());
        let query = event.query_string_parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let body = match event.body {
            None => None,
            Some(b) if event.is_base64_encoded => {
                if b.len() > MAX_BODY_BYTES.div_ceil(3) * 4 + 4 {
                    return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
                }
                Some(base64::engine::general_purpose::STANDARD.decode(b.trim()).map_err(|_| {
                    ApiError::bad_request("invalid_base64", "request body is marked base64 but is not valid base64")
                })?)
            }
            Some(b) => Some(b.into_bytes()),
        };
        if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        let claims = event.request_context.authorizer.and_then(|a| a.jwt).map(|jwt| jwt.claims).unwrap_or_default();
        Ok(Self { method, path, query, body, claims })
    }

    /// Which of `routes` this request is for: 404 for an unknown path, 405 for a wrong method.
    pub fn route(&self, routes: &[(&'static str, Method)]) -> Result<usize, ApiError> {
        let mut path_matched = None;
        for (i, (path, method)) in routes.iter().enumerate() {
            if *path == self.path {
                if *method == self.method {
                    return Ok(i);
                }
                path_matched = Some(method);
            }
        }
        match path_matched {
            Some(m) => Err(ApiError::MethodNotAllowed { method: self.method.to_string(), allowed: m.to_string() }),
            None => Err(ApiError::NotFound { code: "route_not_found", msg: format!("no route {}", self.path) }),
        }
    }

    /// A query parameter, present and non-empty.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

fn normalize_path(raw: &str, stage: Option<&str>) -> String {
    let mut path = raw;
    if let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") {
        let prefix = format!("/{stage}");
        if let Some(rest) = path.strip_prefix(&prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            path = rest;
        }
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/".to_string() } else { trimmed.to_string() }
}

/// A successful answer: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok_json(value: &impl serde::Serialize) -> Self {
        Self { status: 200, body: serde_json::to_vec(value).unwrap_or_default() }
    }

    /// Bytes already known to be one JSON value (100ms's own answer, passed through unchanged).
    pub fn ok_raw(body: Vec<u8>) -> Self {
        Self { status: 200, body }
    }
}

/// Turns a handler's result into the API Gateway answer. The one place errors become HTTP.
pub fn respond(result: Result<Reply, ApiError>) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let (status, body) = match result {
        Ok(reply) => (reply.status, reply.body),
        Err(err) => {
            if err.status() >= 500 {
                tracing::error!(status = err.status(), code = err.code(), error = %err, "request failed");
            } else {
                tracing::info!(status = err.status(), code = err.code(), error = %err, "request refused");
            }
            for (name, value) in err.headers() {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            }
            (err.status(), serde_json::to_vec(&err.body()).unwrap_or_default())
        }
    };
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(status);
    resp.headers = headers;
    resp.body = Some(Body::Text(String::from_utf8(body).unwrap_or_default()));
    resp.is_base64_encoded = false;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(method: &str, path: &str, body: Option<&str>, b64: bool) -> ApiGatewayV2httpRequest {
        let mut v = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {},
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
            "isBase64Encoded": b64
        });
        if let Some(b) = body {
            v["body"] = b.into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn base64_bodies_are_decoded_and_bad_ones_are_400() {
        let req = ApiRequest::from_event(event("POST", "/x", Some("eyJhIjoxfQ=="), true)).unwrap();
        assert_eq!(req.body.as_deref(), Some(&br#"{"a":1}"#[..]));
        let err = ApiRequest::from_event(event("POST", "/x", Some("not base64!"), true)).unwrap_err();
        assert_eq!((err.status(), err.code()), (400, "invalid_base64"));
    }

    #[test]
    fn bodies_over_16_kib_are_413_plain_or_base64() {
        let at_limit = "x".repeat(MAX_BODY_BYTES);
        assert!(ApiRequest::from_event(event("POST", "/x", Some(&at_limit), false)).is_ok());
        let over = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(ApiRequest::from_event(event("POST", "/x", Some(&over), false)).unwrap_err().status(), 413);
        let enc = base64::engine::general_purpose::STANDARD.encode(over.as_bytes());
        assert_eq!(ApiRequest::from_event(event("POST", "/x", Some(&enc), true)).unwrap_err().status(), 413);
        let huge = "A".repeat(10 * MAX_BODY_BYTES);
        assert_eq!(ApiRequest::from_event(event("POST", "/x", Some(&huge), true)).unwrap_err().status(), 413);
    }

    #[test]
    fn stage_prefix_and_trailing_slash_are_ignored() {
        assert_eq!(normalize_path("/prod/create-room", Some("prod")), "/create-room");
        assert_eq!(normalize_path("/create-room/", Some("$default")), "/create-room");
        assert_eq!(normalize_path("/production/x", Some("prod")), "/production/x");
        assert_eq!(normalize_path("/", None), "/");
        assert_eq!(normalize_path("", None), "/");
    }

    #[test]
    fn routing_gives_404_and_405() {
        let routes = [("/a", Method::GET), ("/b", Method::POST)];
        let req = |m: &str, p: &str| ApiRequest::from_event(event(m, p, None, false)).unwrap();
        assert_eq!(req("GET", "/a").route(&routes).unwrap(), 0);
        assert_eq!(req("POST", "/b").route(&routes).unwrap(), 1);
        let e = req("GET", "/b").route(&routes).unwrap_err();
        assert_eq!((e.status(), e.headers()), (405, vec![("allow", "POST".to_string())]));
        assert_eq!(req("GET", "/c").route(&routes).unwrap_err().code(), "route_not_found");
    }

    #[test]
    fn respond_sets_json_content_type_and_envelope() {
        let r = respond(Err(ApiError::missing_field("room_id")));
        assert_eq!(r.status_code, 400);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
        let Some(Body::Text(text)) = r.body else { panic!("text body") };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"success": false, "msg": "field 'room_id' is required", "error": "missing_field"})
        );
        let ok = respond(Ok(Reply::ok_json(&serde_json::json!({"a": 1}))));
        assert_eq!(ok.status_code, 200);
        assert_eq!(ok.headers[header::CONTENT_TYPE], "application/json");
    }
}

//! The HTTP edge: API Gateway HTTP API events (payload 2.0) in, JSON answers out.
//!
//! We take the raw event instead of lambda_http's `Request` because lambda_http decodes a base64
//! body with `expect`, so a bad body would panic (a 500) where the caller deserves a 400.

use std::collections::HashMap;

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{HeaderMap, HeaderValue, Method, header};

use crate::encoding;
use crate::error::{ApiError, ErrorCode};
use crate::input::Parse;

/// Largest request body we accept (decoded).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A route a function serves: a path and its method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    pub method: Method,
}

/// What a handler needs of a request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// The path without the stage prefix and without a trailing slash.
    pub path: String,
    /// Query parameters in the order given, decoded; a name may repeat (see [`ApiRequest::param`]).
    query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Claims of a JWT authorizer, when one ran.
    pub claims: HashMap<String, String>,
    /// Whether the caller takes a gzip answer (`Accept-Encoding`).
    pub accepts_gzip: bool,
    /// The request's headers, as API Gateway passes them (names in lower case).
    pub headers: HeaderMap,
    /// The address the request came from (API Gateway's `sourceIp`).
    pub source_ip: Option<String>,
}

impl ApiRequest {
    /// Converts an API Gateway event; the only failures are the caller's (bad base64, too large).
    pub fn from_event(event: ApiGatewayV2httpRequest) -> Result<Self, ApiError> {
        let method = event.request_context.http.method.clone();
        let raw_path = event.raw_path.or(event.request_context.http.path).unwrap_or_else(|| "/".into());
        let path = normalize_path(&raw_path, event.request_context.stage.as_deref());
        let query = query_pairs(event.raw_query_string.as_deref(), &event.query_string_parameters);
        let body = match event.body {
            None => None,
            Some(b) if event.is_base64_encoded => {
                if b.len() > MAX_BODY_BYTES.div_ceil(3) * 4 + 4 {
                    return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
                }
                Some(base64::engine::general_purpose::STANDARD.decode(b.trim()).map_err(|_| {
                    ApiError::bad_request(
                        ErrorCode::InvalidBase64,
                        "request body is marked base64 but is not valid base64",
                    )
                })?)
            }
            Some(b) => Some(b.into_bytes()),
        };
        if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        let claims = event.request_context.authorizer.and_then(|a| a.jwt).map(|jwt| jwt.claims).unwrap_or_default();
        let accepts_gzip =
            encoding::accepts_gzip(event.headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()));
        let source_ip = event.request_context.http.source_ip.clone();
        Ok(Self { method, path, query, body, claims, accepts_gzip, headers: event.headers, source_ip })
    }

    /// For a CORS preflight (`OPTIONS` on a route's path): the methods the path allows. API
    /// Gateway routes `OPTIONS` to the function without the JWT authorizer (a browser's preflight
    /// carries no credentials) and adds the configured CORS headers to this answer.
    pub fn preflight(&self, routes: &[Route]) -> Option<String> {
        if self.method != Method::OPTIONS {
            return None;
        }
        let methods: Vec<&str> = routes.iter().filter(|r| r.path == self.path).map(|r| r.method.as_str()).collect();
        (!methods.is_empty()).then(|| format!("{}, OPTIONS", methods.join(", ")))
    }

    /// Which of `routes` this request is for (its path): 404 for an unknown path, 405 for a wrong
    /// method.
    pub fn route(&self, routes: &[Route]) -> Result<&'static str, ApiError> {
        let mut path_matched = None;
        for route in routes {
            if route.path == self.path {
                if route.method == self.method {
                    return Ok(route.path);
                }
                path_matched = Some(&route.method);
            }
        }
        match path_matched {
            Some(m) => Err(ApiError::MethodNotAllowed { method: self.method.to_string(), allowed: m.to_string() }),
            None => Err(ApiError::NotFound { code: ErrorCode::RouteNotFound, msg: format!("no route {}", self.path) }),
        }
    }

    /// A query parameter's text when present and non-empty. A parameter given more than once is
    /// a 400 naming it: which of two values was meant is the caller's to say, not ours to guess.
    fn param_text(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(ApiError::invalid_parameter(name, "is given more than once; give it once")),
            (value, _) => Ok(value.filter(|v| !v.is_empty())),
        }
    }

    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An optional query parameter, parsed.
    pub fn param<T: Parse>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.param_text(name)?.map(|v| T::parse(v).map_err(|why| ApiError::invalid_parameter(name, why))).transpose()
    }

    /// A required query parameter, parsed.
    pub fn required_param<T: Parse>(&self, name: &str) -> Result<T, ApiError> {
        self.param(name)?.ok_or_else(|| {
            ApiError::bad_request(ErrorCode::MissingParameter, format!("query parameter '{name}' is required"))
        })
    }
}

/// The query's name-value pairs. API Gateway's `rawQueryString` keeps a repeated name apart
/// (`a=1&a=2`), where `queryStringParameters` joins the values with a comma (`a: "1,2"`, which
/// cannot be told from one value `1,2`); the parsed map is used only for an event without it.
fn query_pairs(raw: Option<&str>, parsed: &QueryMap) -> Vec<(String, String)> {
    match raw.filter(|r| !r.is_empty()) {
        Some(raw) => form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        None => parsed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
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

/// A successful answer (200): its body (JSON unless said otherwise) and any headers of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

const JSON: &str = "application/json";

impl Reply {
    pub fn ok_json(value: &impl serde::Serialize) -> Result<Self, ApiError> {
        let body =
            serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("could not write the answer: {e}")))?;
        Ok(Self::ok_raw(body))
    }

    /// Bytes already known to be one JSON value (100ms's own answer, passed through unchanged).
    pub fn ok_raw(body: Vec<u8>) -> Self {
        Self { body, content_type: JSON, headers: Vec::new() }
    }

    /// A CSV document (RFC 4180, UTF-8), offered as a download named `filename`.
    pub fn ok_csv(body: Vec<u8>, filename: &str) -> Self {
        let disposition = format!("attachment; filename=\"{filename}\"");
        Self {
            body,
            content_type: "text/csv; charset=utf-8; header=present",
            headers: vec![("content-disposition", disposition)],
        }
    }

    /// The reply with header `name` set to `value`.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The largest response payload Lambda passes on from a synchronous invocation.
pub const LAMBDA_RESPONSE_LIMIT: usize = 6_291_556;
/// Room left in [`LAMBDA_RESPONSE_LIMIT`] for the response object around the body (status,
/// headers, flags: under 300 bytes as [`respond`] writes it).
const ENVELOPE_ALLOWANCE: usize = 1_024;

/// The size `body` takes in the Lambda response, where it travels as a JSON string: quotes,
/// backslashes and the line breaks and tabs of a CSV grow by one byte each, other control
/// characters (which serde_json never writes raw) by five.
pub fn payload_size(body: &[u8]) -> usize {
    let escapes: usize = body
        .iter()
        .map(|&b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 1,
            0..0x20 => 5,
            _ => 0,
        })
        .sum();
    body.len() + escapes + ENVELOPE_ALLOWANCE
}

/// A reply as it travels: JSON text, or its gzip bytes in base64.
#[derive(Debug)]
pub struct Payload {
    body: String,
    gzip: bool,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

/// The reply as it will travel, gzip-compressed when the caller takes gzip and the reply is not
/// tiny ([`encoding::GZIP_MIN_BYTES`]); or, when Lambda would refuse it even so, the 422
/// `response_too_large` that says to ask for less (Lambda itself would fail the invocation, and
/// API Gateway answer a bare 500).
pub fn encode(reply: Reply, gzip: bool) -> Result<Payload, ApiError> {
    let (body, gzip, size) = if gzip && reply.body.len() >= encoding::GZIP_MIN_BYTES {
        let packed = base64::engine::general_purpose::STANDARD.encode(encoding::gzip(&reply.body));
        let size = packed.len() + ENVELOPE_ALLOWANCE;
        (packed, true, size)
    } else {
        let size = payload_size(&reply.body);
        (String::from_utf8(reply.body).map_err(|_| ApiError::Internal("the answer is not UTF-8".into()))?, false, size)
    };
    if size > LAMBDA_RESPONSE_LIMIT {
        return Err(ApiError::ResponseTooLarge { bytes: size, limit: LAMBDA_RESPONSE_LIMIT });
    }
    Ok(Payload { body, gzip, content_type: reply.content_type, headers: reply.headers })
}

/// Turns a handler's result into the API Gateway answer. The one place errors become HTTP.
pub fn respond(result: Result<Payload, &ApiError>) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let (status, body, gzip) = match result {
        Ok(payload) => {
            if payload.content_type != JSON {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(payload.content_type));
            }
            for (name, value) in &payload.headers {
                if let Ok(v) = HeaderValue::from_str(value) {
                    headers.insert(*name, v);
                }
            }
            // The answer depends on Accept-Encoding, so caches must key on it.
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if payload.gzip {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            (200, payload.body, payload.gzip)
        }
        Err(err) => {
            for (name, value) in err.headers() {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            }
            (err.status(), err.body().to_string(), false)
        }
    };
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(status);
    resp.headers = headers;
    resp.body = Some(Body::Text(body));
    resp.is_base64_encoded = gzip;
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

    fn with_query(raw: &str) -> ApiRequest {
        let mut ev = event("GET", "/x", None, false);
        ev.raw_query_string = Some(raw.into());
        ApiRequest::from_event(ev).unwrap()
    }

    #[test]
    fn query_parameters_are_decoded_and_a_repeated_one_is_400() {
        use crate::input::RoomId;
        let req = with_query("room_id=631B2654F771854D9BF633DF&note=a%20b%2Cc&empty=");
        assert_eq!(req.param::<RoomId>("room_id").unwrap().unwrap(), "631b2654f771854d9bf633df");
        assert_eq!(req.param_text("note").unwrap(), Some("a b,c"));
        assert_eq!(req.param_text("empty").unwrap(), None, "empty counts as absent");
        assert_eq!(req.param_text("absent").unwrap(), None);
        let err = req.required_param::<RoomId>("absent").unwrap_err();
        assert_eq!((err.status(), err.code()), (400, ErrorCode::MissingParameter));
        let err = req.required_param::<RoomId>("note").unwrap_err();
        assert_eq!(err.to_string(), "query parameter 'note' must be 24 hexadecimal characters");

        let twice = with_query("room_id=631b2654f771854d9bf633df&room_id=631b2654f771854d9bf633df");
        let err = twice.param::<RoomId>("room_id").unwrap_err();
        assert_eq!((err.status(), err.code()), (400, ErrorCode::InvalidParameter));
        assert!(err.to_string().contains("'room_id' is given more than once"), "{err}");
    }

    #[test]
    fn without_a_raw_query_the_parsed_map_is_read_and_its_repeats_count_too() {
        let mut ev = event("GET", "/x", None, false);
        ev.raw_query_string = None;
        let map: HashMap<String, Vec<String>> =
            [("a".to_string(), vec!["1".to_string()]), ("b".to_string(), vec!["1".to_string(), "2".to_string()])]
                .into();
        ev.query_string_parameters = map.into();
        let req = ApiRequest::from_event(ev).unwrap();
        assert_eq!(req.param_text("a").unwrap(), Some("1"));
        assert_eq!(req.param_text("b").unwrap_err().code(), ErrorCode::InvalidParameter);
    }

    #[test]
    fn base64_bodies_are_decoded_and_bad_ones_are_400() {
        let req = ApiRequest::from_event(event("POST", "/x", Some("eyJhIjoxfQ=="), true)).unwrap();
        assert_eq!(req.body.as_deref(), Some(&br#"{"a":1}"#[..]));
        let err = ApiRequest::from_event(event("POST", "/x", Some("not base64!"), true)).unwrap_err();
        assert_eq!((err.status(), err.code()), (400, ErrorCode::InvalidBase64));
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
        // What reaches a function at most: Lambda's 6 MB request (API Gateway itself takes 10 MB).
        for size in [6_291_456, 10 << 20] {
            let big = "x".repeat(size);
            assert_eq!(ApiRequest::from_event(event("POST", "/x", Some(&big), false)).unwrap_err().status(), 413);
            assert_eq!(ApiRequest::from_event(event("POST", "/x", Some(&big), true)).unwrap_err().status(), 413);
        }
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
        let routes = [Route { path: "/a", method: Method::GET }, Route { path: "/b", method: Method::POST }];
        let req = |m: &str, p: &str| ApiRequest::from_event(event(m, p, None, false)).unwrap();
        assert_eq!(req("GET", "/a").route(&routes).unwrap(), "/a");
        assert_eq!(req("POST", "/b").route(&routes).unwrap(), "/b");
        let e = req("GET", "/b").route(&routes).unwrap_err();
        assert_eq!((e.status(), e.headers()), (405, vec![("allow", "POST".to_string())]));
        assert_eq!(req("GET", "/c").route(&routes).unwrap_err().code(), "route_not_found");
    }

    #[test]
    fn respond_sets_json_content_type_and_envelope() {
        let r = respond(Err(&ApiError::missing_field("room_id")));
        assert_eq!(r.status_code, 400);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
        let Some(Body::Text(text)) = r.body else { panic!("text body") };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"success": false, "msg": "field 'room_id' is required", "error": "missing_field"})
        );
        let ok = respond(Ok(encode(Reply::ok_json(&serde_json::json!({"a": 1})).unwrap(), true).unwrap()));
        assert_eq!(ok.status_code, 200);
        assert_eq!(ok.headers[header::CONTENT_TYPE], "application/json");
        assert!(!ok.is_base64_encoded && ok.headers.get(header::CONTENT_ENCODING).is_none(), "tiny answers go plain");
    }

    #[test]
    fn answers_are_gzip_when_the_caller_takes_it_and_they_are_not_tiny() {
        let plain = Reply::ok_json(&serde_json::json!({"rows": vec!["Student of the class"; 200]})).unwrap().body;
        let resp = respond(Ok(encode(Reply::ok_raw(plain.clone()), true).unwrap()));
        assert!(resp.is_base64_encoded);
        assert_eq!(resp.headers[header::CONTENT_ENCODING], "gzip");
        assert_eq!(resp.headers[header::VARY], "accept-encoding");
        let Some(Body::Text(b64)) = resp.body else { panic!("text body") };
        let packed = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut unpacked).unwrap();
        assert_eq!(unpacked, plain);
        let resp = respond(Ok(encode(Reply::ok_raw(plain.clone()), false).unwrap()));
        assert!(!resp.is_base64_encoded);
        assert_eq!(resp.body, Some(Body::Text(String::from_utf8(plain).unwrap())));
    }

    #[test]
    fn replies_over_lambdas_limit_become_422_and_the_size_counts_escapes() {
        // The answer as Lambda serialises it: the body is a JSON string inside the response.
        let body = br#"{"a":"q\"x"}"#.to_vec();
        let resp = respond(Ok(encode(Reply::ok_raw(body.clone()), false).unwrap()));
        let envelope = serde_json::to_vec(&resp).unwrap().len();
        assert!(payload_size(&body) >= envelope, "{} < {envelope}", payload_size(&body));
        let fits = vec![b'x'; LAMBDA_RESPONSE_LIMIT - ENVELOPE_ALLOWANCE];
        assert!(encode(Reply::ok_raw(fits), false).is_ok());
        let quotes = vec![b'"'; (LAMBDA_RESPONSE_LIMIT - ENVELOPE_ALLOWANCE) / 2 + 1];
        let err = encode(Reply::ok_raw(quotes.clone()), false).unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (422, "response_too_large"));
        assert!(err.to_string().contains("ask for less"), "{err}");
        assert!(encode(Reply::ok_raw(quotes), true).is_ok(), "compressed, the same answer fits");
    }
}

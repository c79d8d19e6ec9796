//! The sample events (`events/`), the 100ms doc examples, and reading an answer.

use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use serde_json::Value;

use crate::binaries::workspace_root;

/// A 100ms doc example (`shared/tests/fixtures/100ms-examples/NAME`).
pub fn example(name: &str) -> Value {
    let path = workspace_root().join("shared/tests/fixtures/100ms-examples").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A sample API Gateway event (`events/NAME`).
pub fn event(name: &str) -> ApiGatewayV2httpRequest {
    let path = workspace_root().join("events").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A POST of `body` (JSON text) to `path`, as API Gateway sends it.
pub fn post(path: &str, body: &str) -> ApiGatewayV2httpRequest {
    let mut ev = event("create-room.json");
    ev.raw_path = Some(path.into());
    ev.request_context.http.path = Some(path.into());
    ev.body = Some(body.into());
    ev
}

/// A GET of `path` with `query` (in order; a name may repeat), as API Gateway sends it: the raw
/// query string and the parsed map (repeated values joined with a comma).
pub fn get(path: &str, query: &[(&str, &str)]) -> ApiGatewayV2httpRequest {
    let mut ev = event("session-list.json");
    ev.raw_path = Some(path.into());
    ev.request_context.http.path = Some(path.into());
    let raw: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    ev.raw_query_string = Some(raw.join("&"));
    let mut map: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for (k, v) in query {
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    ev.query_string_parameters = map.into();
    ev
}

/// `ev` as API Gateway passes it on after its JWT authorizer verified a token with `claims`.
pub fn with_claims(ev: ApiGatewayV2httpRequest, claims: &[(&str, &str)]) -> ApiGatewayV2httpRequest {
    let claims: Value = claims.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
    let mut raw = serde_json::to_value(&ev).unwrap();
    raw["requestContext"]["authorizer"] = serde_json::json!({"jwt": {"claims": claims, "scopes": null}});
    serde_json::from_value(raw).unwrap()
}

/// The claims of the token in an answer (`{"token": ...}`), verified as 100ms verifies one: HS256
/// with `secret`, `exp`, `nbf` and `iat` present and `exp`/`nbf` holding now.
pub fn token_claims<T: serde::de::DeserializeOwned>(body: &Value, secret: &str) -> T {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_aud = false;
    v.validate_nbf = true;
    v.required_spec_claims = ["exp", "nbf", "iat"].iter().map(|s| s.to_string()).collect();
    let token = body["token"].as_str().unwrap_or_else(|| panic!("no token in {body}"));
    jsonwebtoken::decode::<T>(token, &DecodingKey::from_secret(secret.as_bytes()), &v).unwrap().claims
}

/// Status and parsed JSON body of a response; also checks that it is JSON.
pub fn answer(resp: &ApiGatewayV2httpResponse) -> (u16, Value) {
    assert_eq!(resp.headers["content-type"], "application/json", "every answer is JSON");
    let text = match &resp.body {
        Some(Body::Text(t)) => t.clone(),
        other => panic!("expected a text body, got {other:?}"),
    };
    (resp.status_code as u16, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

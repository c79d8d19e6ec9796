//! How 100ms authenticates: management tokens on `/v2` (HS256 with the app secret), auth tokens
//! when a client joins; and [`guard`], which every `/v2` request passes first (counted, then any
//! armed fault, then the management token).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::{Emulator, FaultKind, HANG, api_error};

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

#[derive(Deserialize)]
pub(crate) struct TokenClaims {
    access_key: String,
    #[serde(rename = "type")]
    kind: String,
    version: u8,
    /// Required, as 100ms requires it; its value is not checked.
    #[allow(dead_code)]
    jti: String,
    #[serde(default)]
    pub(crate) room_id: Option<String>,
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    #[serde(default)]
    pub(crate) role: Option<String>,
}

pub(crate) fn verify(token: &str, secret: &str, access_key: &str, kind: &str) -> Result<TokenClaims, String> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_nbf = true;
    v.required_spec_claims = ["exp", "nbf", "iat"].iter().map(|s| s.to_string()).collect();
    let data = jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .map_err(|e| format!("{e}"))?;
    let c = data.claims;
    if c.kind != kind {
        return Err(format!("token type is {:?}, not {kind:?}", c.kind));
    }
    if c.access_key != access_key {
        return Err("unknown access key".into());
    }
    if c.version != 2 {
        return Err("unsupported token version".into());
    }
    Ok(c)
}

/// A request waiting out a `delay` fault, counted while it waits (also when its client gives up
/// and the request is dropped mid-wait).
struct Delayed<'a>(&'a Emulator);

impl<'a> Delayed<'a> {
    fn enter(emu: &'a Emulator) -> Self {
        let mut s = emu.lock();
        s.delayed_now += 1;
        s.delayed_most = s.delayed_most.max(s.delayed_now);
        Self(emu)
    }
}

impl Drop for Delayed<'_> {
    fn drop(&mut self) {
        self.0.lock().delayed_now -= 1;
    }
}

/// Counts the request, applies an armed fault, then authenticates. `Err` is the answer to send.
pub(crate) async fn guard(emu: &Emulator, route: &str, headers: &HeaderMap) -> Result<(), Response> {
    let token = bearer(headers);
    let fault = {
        let mut s = emu.lock();
        *s.requests.entry(route.to_string()).or_default() += 1;
        if let Some(t) = &token {
            s.management_tokens.insert(t.clone());
        }
        let pos = s.faults.iter().position(|f| f.count > 0 && (f.route == route || f.route == "*"));
        pos.map(|i| {
            s.faults[i].count -= 1;
            let kind = s.faults[i].kind.clone();
            if s.faults[i].count == 0 {
                s.faults.remove(i);
            }
            kind
        })
    };
    match fault {
        None => {}
        Some(FaultKind::Status { status, retry_after }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = code.canonical_reason().unwrap_or("error");
            let mut resp = api_error(code, msg, &["injected fault"]);
            if status == 429 {
                let secs = retry_after.unwrap_or(1).to_string();
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_str(&secs).unwrap());
            }
            return Err(resp);
        }
        Some(FaultKind::Delay { ms }) => {
            let _waiting = Delayed::enter(emu);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some(FaultKind::Hang) => {
            tokio::time::sleep(HANG).await;
            return Err(api_error(StatusCode::GATEWAY_TIMEOUT, "hung", &[]));
        }
        Some(FaultKind::Malformed) => {
            return Err(
                (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\": [{\"id\": ").into_response()
            );
        }
        Some(FaultKind::Close) => {
            use futures_util::StreamExt;
            // The first chunk is flushed (status and headers with it) before the connection drops.
            let head = futures_util::stream::once(async { Ok(Bytes::from_static(b"{\"limit\": 10, \"data\": [")) });
            let cut = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected close"))
            });
            let body = Body::from_stream(head.chain(cut));
            return Err((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response());
        }
    }
    let Some(token) = token else {
        emu.lock().auth_failures += 1;
        return Err(refused(route, "not found"));
    };
    let (secret, key) = {
        let s = emu.lock();
        (s.secret.clone(), s.access_key.clone())
    };
    if let Err(why) = verify(&token, &secret, &key, "management") {
        emu.lock().auth_failures += 1;
        return Err(refused(route, &why));
    }
    Ok(())
}

/// 100ms's answer to a request without a valid management token: 401 `Token validation error`,
/// except on the analytics API, whose docs give 403 `insufficient permissions` for it.
fn refused(route: &str, why: &str) -> Response {
    if route.contains(" /analytics/") {
        api_error(StatusCode::FORBIDDEN, "insufficient permissions", &[why])
    } else {
        api_error(StatusCode::UNAUTHORIZED, "Token validation error", &[why])
    }
}

/// An auth token as 100ms mints one for a room code: `type: "app"`, version 2, for one room,
/// role and user, valid from now until `exp`.
pub(crate) fn mint_app_token(
    access_key: &str,
    secret: &str,
    room_id: &str,
    role: &str,
    user_id: &str,
    exp: chrono::DateTime<chrono::Utc>,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "access_key": access_key, "type": "app", "version": 2, "room_id": room_id, "role": role,
        "user_id": user_id, "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "nbf": now,
        "exp": exp.timestamp(),
    });
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key)
        .expect("HS256 signing of a JSON object cannot fail")
}

//! API Gateway's JWT authorizer, as run locally: a guarded route's request must carry
//! `Authorization: Bearer <JWT>` (or the bare token), signed with an RSA key of the issuer's JWKS
//! (found through its OpenID discovery document, matched by `kid`), and its claims must pass the
//! checks API Gateway documents for HTTP APIs:
//! - `iss` is the configured issuer;
//! - `aud` holds the configured audience; only when there is no `aud`, `client_id` is it (an ID
//!   token of Cognito carries `aud`, an access token `client_id`);
//! - `exp` is after now; `nbf` and `iat`, when present, are not after now.
//!
//! Anything else is API Gateway's 401. Locally the issuer (moto's Cognito) names itself with its
//! AWS URL, which cannot be reached from here, so the discovery document is fetched from where
//! the issuer really runs (`discovery`); its `issuer` must still be the configured one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// The algorithms API Gateway's JWT authorizer accepts: RSA-based only.
const RSA_ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

/// A token's `kid` not in the keys fetched: fetch them again, but not more often than this (a
/// stream of forged `kid`s must not turn into a stream of fetches).
const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// Why a token was refused (logged by local-api; the caller only ever sees the 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoToken,
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    IssuedInFuture,
    /// The issuer's keys could not be fetched.
    Keys(String),
}

/// The local JWT authorizer.
pub struct JwtAuthorizer {
    issuer: String,
    audience: String,
    discovery: String,
    http: reqwest::Client,
    keys: Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
}

impl JwtAuthorizer {
    /// An authorizer of tokens from `issuer` for `audience`; `discovery` is the URL of the
    /// issuer's OpenID configuration (`<issuer>/.well-known/openid-configuration` where the
    /// issuer is reachable under its own name).
    pub fn new(issuer: &str, audience: &str, discovery: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(1))
            .build()
            .expect("a reqwest client with timeouts");
        Self {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            discovery: discovery.to_string(),
            http,
            keys: Mutex::new(Keys::default()),
        }
    }

    /// The verified token's claims as API Gateway passes them (every value a string; a list as
    /// `[a b]`), or why the request has no valid token.
    pub async fn claims(&self, headers: &HeaderMap) -> Result<BTreeMap<String, String>, Refusal> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.claims_at(headers, now).await
    }

    /// [`JwtAuthorizer::claims`] at the time `now` (seconds since the epoch).
    pub async fn claims_at(&self, headers: &HeaderMap, now: i64) -> Result<BTreeMap<String, String>, Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(Refusal::NoToken)?;
        let token = bearer_token(value).ok_or(Refusal::NoToken)?;
        let claims = self.verified(token).await?;
        check_claims(&claims, now, &self.issuer, &self.audience)?;
        Ok(claims.into_iter().map(|(k, v)| (k, claim_text(&v))).collect())
    }

    /// The token's claims once its signature is verified against the issuer's key of its `kid`.
    async fn verified(&self, token: &str) -> Result<Map<String, Value>, Refusal> {
        let head = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        if !RSA_ALGORITHMS.contains(&head.alg) {
            return Err(Refusal::Algorithm);
        }
        let kid = head.kid.ok_or(Refusal::UnknownKey)?;
        let key = self.key(&kid).await?;
        // Only the signature here: the claims are checked as API Gateway checks them, below.
        let mut validation = Validation::new(head.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map(|data| data.claims).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => Refusal::Signature,
                _ => Refusal::Malformed,
            },
        )
    }

    /// The issuer's key `kid`, fetching the keys when none are held yet, or again when `kid` is
    /// not among them (a rotation), at most every [`REFETCH_AFTER`].
    async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let mut keys = self.keys.lock().await;
        let known = keys.set.as_ref().and_then(|s| s.find(kid)).is_some();
        let may_fetch = keys.fetched_at.is_none_or(|at| at.elapsed() >= REFETCH_AFTER);
        if !known && may_fetch {
            let set = self.fetch_keys().await.map_err(Refusal::Keys)?;
            keys.set = Some(set);
            keys.fetched_at = Some(Instant::now());
        }
        let jwk = keys.set.as_ref().and_then(|s| s.find(kid)).ok_or(Refusal::UnknownKey)?;
        DecodingKey::from_jwk(jwk).map_err(|_| Refusal::UnknownKey)
    }

    /// The discovery document, then the key set it names.
    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        let config: Value = self.get_json(&self.discovery).await?;
        if config["issuer"].as_str() != Some(self.issuer.as_str()) {
            return Err(format!("{} names issuer {}, not {}", self.discovery, config["issuer"], self.issuer));
        }
        let jwks_uri = config["jwks_uri"].as_str().ok_or("the discovery document has no jwks_uri")?;
        let set: Value = self.get_json(jwks_uri).await?;
        serde_json::from_value(set).map_err(|e| format!("{jwks_uri}: not a JWK set: {e}"))
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let resp = self.http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        resp.json().await.map_err(|e| format!("{url}: {e}"))
    }
}

/// The token of an `Authorization` value: `Bearer <token>` or the bare token, as API Gateway
/// takes it.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

/// API Gateway's checks of a verified token's claims at `now`.
pub fn check_claims(claims: &Map<String, Value>, now: i64, issuer: &str, audience: &str) -> Result<(), Refusal> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(Refusal::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
        None => claims.get("client_id").and_then(Value::as_str) == Some(audience),
    };
    if !audience_ok {
        return Err(Refusal::Audience);
    }
    // A time claim, when present, must be a number (seconds since the epoch).
    let time = |name: &str| claims.get(name).map(|v| v.as_f64().ok_or(Refusal::Malformed)).transpose();
    let now = now as f64;
    if time("exp")?.is_none_or(|exp| exp <= now) {
        return Err(Refusal::Expired);
    }
    if time("nbf")?.is_some_and(|nbf| nbf > now) {
        return Err(Refusal::NotYetValid);
    }
    if time("iat")?.is_some_and(|iat| iat > now) {
        return Err(Refusal::IssuedInFuture);
    }
    Ok(())
}

/// A claim's value as API Gateway's JWT authorizer passes it to the integration.
pub fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(claim_text).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_claims_are_checked_as_api_gateway_does() {
        let now = 1_000_000;
        let id = json!({"iss": ISS, "aud": "app", "exp": now + 60, "iat": now, "token_use": "id"});
        let access = json!({"iss": ISS, "client_id": "app", "exp": now + 60, "iat": now, "token_use": "access"});
        assert_eq!(check_claims(&claims(id.clone()), now, ISS, "app"), Ok(()));
        assert_eq!(check_claims(&claims(access.clone()), now, ISS, "app"), Ok(()));
        let with = |base: &Value, k: &str, v: Value| {
            let mut c = claims(base.clone());
            c.insert(k.into(), v);
            c
        };
        let without = |base: &Value, k: &str| {
            let mut c = claims(base.clone());
            c.remove(k);
            c
        };
        let cases = [
            (with(&id, "iss", json!("https://cognito-idp.us-east-1.amazonaws.com/other")), Refusal::Issuer),
            (without(&id, "iss"), Refusal::Issuer),
            (with(&id, "aud", json!("other-app")), Refusal::Audience),
            (with(&access, "client_id", json!("other-app")), Refusal::Audience),
            // With both, `aud` decides: a right client_id does not save a wrong aud.
            (
                with(&json!({"iss": ISS, "aud": "other-app", "client_id": "app", "exp": now + 60}), "iat", json!(now)),
                Refusal::Audience,
            ),
            (without(&id, "aud"), Refusal::Audience),
            (with(&id, "exp", json!(now)), Refusal::Expired),
            (without(&id, "exp"), Refusal::Expired),
            (with(&id, "exp", json!("tomorrow")), Refusal::Malformed),
            (with(&id, "nbf", json!(now + 1)), Refusal::NotYetValid),
            (with(&id, "iat", json!(now + 1)), Refusal::IssuedInFuture),
        ];
        for (c, want) in cases {
            assert_eq!(check_claims(&c, now, ISS, "app"), Err(want.clone()), "{c:?}");
        }
        assert_eq!(check_claims(&with(&id, "aud", json!(["x", "app"])), now, ISS, "app"), Ok(()));
        assert_eq!(check_claims(&with(&id, "nbf", json!(now)), now, ISS, "app"), Ok(()));
    }

    #[test]
    fn the_token_is_taken_with_or_without_its_scheme() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn claims_are_handed_on_as_text() {
        assert_eq!(claim_text(&json!(["admins", "teachers"])), "[admins teachers]");
        assert_eq!(claim_text(&json!(12)), "12");
        assert_eq!(claim_text(&json!("x")), "x");
    }
}

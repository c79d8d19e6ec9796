//! 100ms tokens: HS256 JWTs signed with the app secret.
//!
//! Auth tokens (`type: "app"`) are minted for clients; management tokens (`type: "management"`)
//! authenticate us to the REST API and are cached per container by [`ManagementTokenCache`].

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::input::{Role, RoomId, UserId};

/// `nbf` is set this many seconds before the issue time, so a client whose clock (or 100ms's) is
/// slightly behind ours can still use a fresh token (the official SDK allows 10 s as well).
pub const CLOCK_SKEW_SECONDS: i64 = 10;
/// Lifetime of a management token.
pub const MANAGEMENT_TOKEN_TTL_SECONDS: i64 = 86_400;
/// A cached management token is replaced this long BEFORE it expires.
pub const MANAGEMENT_TOKEN_REFRESH_MARGIN_SECONDS: i64 = 300;

pub const TYPE_APP: &str = "app";
pub const TYPE_MANAGEMENT: &str = "management";

/// The claims of both token kinds; the room fields are present only on auth tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub access_key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u8,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub room_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
}

impl Claims {
    fn new(access_key: &str, kind: &str, now: i64, ttl_seconds: i64) -> Self {
        Self {
            access_key: access_key.to_string(),
            kind: kind.to_string(),
            version: 2,
            iat: now,
            nbf: now - CLOCK_SKEW_SECONDS,
            exp: now + ttl_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            room_id: None,
            user_id: None,
            role: None,
        }
    }

    /// Claims of an auth token that lets `user_id` join `room_id` as `role`.
    pub fn auth(access_key: &str, room_id: &RoomId, user_id: &UserId, role: &Role, now: i64, ttl_seconds: i64) -> Self {
        Self {
            room_id: Some(room_id.to_string()),
            user_id: Some(user_id.to_string()),
            role: Some(role.to_string()),
            ..Self::new(access_key, TYPE_APP, now, ttl_seconds)
        }
    }

    /// Claims of a management token.
    pub fn management(access_key: &str, now: i64) -> Self {
        Self::new(access_key, TYPE_MANAGEMENT, now, MANAGEMENT_TOKEN_TTL_SECONDS)
    }
}

/// Signs claims with the app secret (HS256, `typ: JWT`).
pub fn sign(claims: &Claims, secret: &[u8]) -> Result<String, ApiError> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .map_err(|e| ApiError::Internal(format!("could not sign a token: {e}")))
}

/// Mints an auth token for a client: the token and its `jti` (for the audit log).
pub fn mint_auth_token(
    creds: &Credentials,
    room_id: &RoomId,
    user_id: &UserId,
    role: &Role,
    now: i64,
    ttl_seconds: i64,
) -> Result<MintedToken, ApiError> {
    let claims = Claims::auth(&creds.access_key, room_id, user_id, role, now, ttl_seconds);
    Ok(MintedToken { token: sign(&claims, creds.secret())?, exp: claims.exp, jti: claims.jti })
}

/// A signed auth token with the claims its caller reports: when it expires (`exp`, Unix
/// seconds) and its id (`jti`, for the audit line).
pub struct MintedToken {
    pub token: String,
    pub exp: i64,
    pub jti: String,
}

struct CachedToken {
    token: Arc<str>,
    exp: i64,
    /// The credentials it was signed with: a rotated secret needs a new token.
    signed_with: Arc<Credentials>,
}

/// Never shows the token: it is a bearer credential for the whole 100ms account.
impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("token", &"<redacted>")
            .field("exp", &self.exp)
            .field("signed_with", &self.signed_with)
            .finish()
    }
}

/// One management token per container, replaced before it expires or when 100ms rejects it.
#[derive(Debug, Default)]
pub struct ManagementTokenCache {
    inner: Mutex<Option<CachedToken>>,
}

impl ManagementTokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached token if it was signed with `creds` and is not within the refresh margin of
    /// expiry at `now`; otherwise a freshly signed one, which is cached.
    pub fn get(&self, creds: &Arc<Credentials>, now: i64) -> Result<Arc<str>, ApiError> {
        let mut slot = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = slot.as_ref()
            && Arc::ptr_eq(&cached.signed_with, creds)
            && now < cached.exp - MANAGEMENT_TOKEN_REFRESH_MARGIN_SECONDS
        {
            return Ok(cached.token.clone());
        }
        let claims = Claims::management(&creds.access_key, now);
        let token: Arc<str> = sign(&claims, creds.secret())?.into();
        *slot = Some(CachedToken { token: token.clone(), exp: claims.exp, signed_with: creds.clone() });
        Ok(token)
    }

    /// Forgets `token` if it is still the cached one (100ms rejected it). A newer token that
    /// another request already put in place is kept.
    pub fn invalidate(&self, token: &str) {
        let mut slot = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.as_ref().is_some_and(|c| &*c.token == token) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn mint(c: &Credentials, room: &str, user: &str, role: &str, now: i64, ttl: i64) -> Result<String, ApiError> {
        use crate::input::Parse;
        let (room, user, role) =
            (RoomId::parse(room).unwrap(), UserId::parse(user).unwrap(), Role::parse(role).unwrap());
        mint_auth_token(c, &room, &user, &role, now, ttl).map(|m| m.token)
    }

    fn creds(key: &str, secret: &str) -> Arc<Credentials> {
        Arc::new(Credentials::new(key.into(), secret.into()))
    }

    fn decode(token: &str, secret: &[u8]) -> Claims {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &v).unwrap().claims
    }

    #[test]
    fn auth_token_has_every_claim_and_verifies_with_the_secret() {
        let c = creds("access-key-1", "test-secret-abc");
        let token = mint(&c, "631b2654f771854d9bf633df", "alice", "host", 1_700_000_000, 3600).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let claims = decode(&token, b"test-secret-abc");
        assert_eq!(claims.access_key, "access-key-1");
        assert_eq!(claims.kind, "app");
        assert_eq!(claims.version, 2);
        assert_eq!(claims.room_id.as_deref(), Some("631b2654f771854d9bf633df"));
        assert_eq!(claims.user_id.as_deref(), Some("alice"));
        assert_eq!(claims.role.as_deref(), Some("host"));
        assert_eq!(claims.iat, 1_700_000_000);
        assert_eq!(claims.nbf, 1_700_000_000 - CLOCK_SKEW_SECONDS);
        assert_eq!(claims.exp, 1_700_000_000 + 3600);
        assert_eq!(uuid::Uuid::parse_str(&claims.jti).unwrap().get_version_num(), 4);
    }

    #[test]
    fn auth_token_does_not_verify_with_another_secret() {
        let c = creds("k", "right-secret");
        let token = mint(&c, "631b2654f771854d9bf633df", "u", "host", 1_700_000_000, 60).unwrap();
        let v = Validation::new(Algorithm::HS256);
        assert!(jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(b"wrong-secret"), &v).is_err());
    }

    #[test]
    fn every_token_gets_a_fresh_jti() {
        let c = creds("k", "s");
        let a = decode(&mint(&c, "631b2654f771854d9bf633df", "u", "r", 1, 60).unwrap(), b"s");
        let b = decode(&mint(&c, "631b2654f771854d9bf633df", "u", "r", 1, 60).unwrap(), b"s");
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn management_token_claims() {
        let c = creds("k", "s");
        let cache = ManagementTokenCache::new();
        let claims = decode(&cache.get(&c, 1_000).unwrap(), b"s");
        assert_eq!(claims.kind, "management");
        assert_eq!(claims.version, 2);
        assert_eq!(claims.exp, 1_000 + MANAGEMENT_TOKEN_TTL_SECONDS);
        assert!(claims.room_id.is_none() && claims.user_id.is_none() && claims.role.is_none());
        let json = serde_json::to_value(&claims).unwrap();
        assert!(json.get("room_id").is_none(), "management tokens carry no room claims");
        let token = cache.get(&c, 1_000).unwrap();
        let shown = format!("{cache:?}");
        assert!(!shown.contains(&*token) && shown.contains("<redacted>"), "Debug never shows the token: {shown}");
    }

    #[test]
    fn management_token_is_reused_until_the_margin_then_refreshed_before_expiry() {
        let c = creds("k", "s");
        let cache = ManagementTokenCache::new();
        let t0 = 1_000;
        let first = cache.get(&c, t0).unwrap();
        let exp = t0 + MANAGEMENT_TOKEN_TTL_SECONDS;
        let last_reuse = exp - MANAGEMENT_TOKEN_REFRESH_MARGIN_SECONDS - 1;
        assert_eq!(cache.get(&c, t0 + 1).unwrap(), first);
        assert_eq!(cache.get(&c, last_reuse).unwrap(), first);
        let refreshed = cache.get(&c, last_reuse + 1).unwrap();
        assert_ne!(refreshed, first, "refreshed inside the margin, before expiry");
        assert!(last_reuse + 1 < exp);
        assert_eq!(decode(&refreshed, b"s").iat, last_reuse + 1);
    }

    #[test]
    fn invalidate_forgets_only_the_rejected_token() {
        let c = creds("k", "s");
        let cache = ManagementTokenCache::new();
        let first = cache.get(&c, 1_000).unwrap();
        cache.invalidate("some-other-token");
        assert_eq!(cache.get(&c, 1_001).unwrap(), first);
        cache.invalidate(&first);
        let second = cache.get(&c, 1_002).unwrap();
        assert_ne!(second, first);
        cache.invalidate(&first);
        assert_eq!(cache.get(&c, 1_003).unwrap(), second, "a stale invalidate keeps the newer token");
    }

    #[test]
    fn new_credentials_get_a_new_token() {
        let cache = ManagementTokenCache::new();
        let old = creds("k", "old-secret");
        let new = creds("k", "new-secret");
        let a = cache.get(&old, 1_000).unwrap();
        let b = cache.get(&new, 1_001).unwrap();
        assert_ne!(a, b);
        assert_eq!(decode(&b, b"new-secret").kind, "management");
    }

    /// Eight threads released at once ask an empty cache, fifty times over: every round they all
    /// get the one token the first signed (each signature has its own `jti`, so a cache that let
    /// two callers sign would hand out two tokens).
    #[test]
    fn concurrent_callers_share_one_token() {
        let c = creds("k", "s");
        for round in 0..50 {
            let cache = ManagementTokenCache::new();
            let start = std::sync::Barrier::new(8);
            let tokens: Vec<Arc<str>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            cache.get(&c, 5_000).unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(tokens.windows(2).all(|w| w[0] == w[1]), "round {round}: {} tokens", tokens.len());
        }
    }
}

//! `auth-token`: `POST /auth-token`, a 100ms auth token for a user, a room and a role. When
//! callers sign in, the room decides too (`membership`): one read of the table per request.

use lambda_http::http::Method;
use serde_json::json;

use super::Function;
use crate::auth::{Caller, RoleAllowList};
use crate::credentials::{CredentialStore, Credentials, SecretSource};
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::input::{Parse, Role, RoomId, UserId, json_object, opt_str, req_field};
use crate::owners::RoomAccess;
use crate::tokens;

pub const AUTH_TOKEN_PATH: &str = "/auth-token";

/// The `auth-token` function.
pub struct AuthToken<S> {
    pub credentials: CredentialStore<S>,
    pub roles: RoleAllowList,
    pub ttl_seconds: i64,
    /// Who is calling and, when callers sign in, the rooms' rules (the table).
    pub access: RoomAccess,
}

impl<S: SecretSource> Function for AuthToken<S> {
    const ROUTES: &'static [Route] = &[Route { path: AUTH_TOKEN_PATH, method: Method::POST }];

    async fn call(&self, _: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        let caller = self.access.auth.caller(&req.claims)?;
        // Parsed before the secret is read: a bad request costs no Secrets Manager call.
        let request = auth_token_request(req.body.as_deref(), &self.roles, &caller)?;
        // The room's answer and the secret at once: on a cold start the two connections (the
        // table, Secrets Manager) are made side by side, not one after the other. The room's
        // refusal wins over a failure to read the secret.
        let (joins, creds) =
            tokio::join!(self.access.require_join(&caller, &request.room_id, &request.role), self.credentials.get());
        joins?;
        let creds = creds?;
        auth_token(&creds, &request, self.ttl_seconds, chrono::Utc::now().timestamp(), caller.sub())
    }
}

/// A parsed `/auth-token` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRequest {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub role: Role,
}

/// Parses a `/auth-token` body. Fields other than the three are ignored, as the sample did.
/// With a JWT authorizer the token is for the caller's own `sub` only (a `user_id` in the body,
/// if any, must be the same), and for a role whose claim rule the caller meets.
pub fn auth_token_request(
    body: Option<&[u8]>,
    roles: &RoleAllowList,
    caller: &Caller<'_>,
) -> Result<AuthTokenRequest, ApiError> {
    let map = json_object(body)?;
    let room_id = req_field(&map, "room_id")?;
    let user_id = match (caller.sub(), opt_str(&map, "user_id")?) {
        (Some(sub), None) => sub,
        (Some(sub), Some(asked)) if asked == sub => sub,
        (Some(_), Some(_)) => {
            return Err(ApiError::Forbidden {
                code: ErrorCode::UserMismatch,
                msg: "user_id must be the authenticated caller's own id (or be left out)".into(),
            });
        }
        (None, Some(asked)) => asked,
        (None, None) => return Err(ApiError::missing_field("user_id")),
    };
    let user_id = UserId::parse(user_id).map_err(|why| ApiError::invalid_field("user_id", why))?;
    let role = req_field(&map, "role")?;
    caller.require_role(&role, roles)?;
    Ok(AuthTokenRequest { room_id, user_id, role })
}

/// `POST /auth-token`: mints an auth token for a parsed request. The audit line names who asked
/// (`sub`, when callers sign in), for whom, which room and role, and the token's `jti`, so a
/// misused token can be traced back; never the token.
pub fn auth_token(
    creds: &Credentials,
    r: &AuthTokenRequest,
    ttl_seconds: i64,
    now: i64,
    sub: Option<&str>,
) -> Result<Reply, ApiError> {
    let minted = tokens::mint_auth_token(creds, &r.room_id, &r.user_id, &r.role, now, ttl_seconds)?;
    tracing::info!(
        sub = sub.unwrap_or("-"), user_id = %r.user_id, room_id = %r.room_id, role = %r.role, jti = %minted.jti,
        "auth token minted"
    );
    // When to ask for the next one, without decoding the JWT (its `exp`, as RFC 3339 UTC).
    let expires_at = chrono::DateTime::from_timestamp(minted.exp, 0)
        .ok_or_else(|| ApiError::Internal(format!("token expiry {} is out of range", minted.exp)))?
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Reply::ok_json(&json!({
        "token": minted.token, "expires_at": expires_at, "msg": "Token generated successfully!", "success": true
    }))
}

//! Who is calling, when an API Gateway JWT authorizer runs in front of the functions.
//!
//! With `CALLER_AUTH=jwt` the authorizer has verified the caller's JWT and passes its claims in
//! the event. `/auth-token` then mints tokens only for the caller's own `sub`, and `/create-room`
//! (an upsert that can reconfigure any room) can require an admin claim.

use std::collections::HashMap;

use crate::config::ConfigError;
use crate::error::ApiError;

/// How callers are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerAuth {
    /// No authorizer: the API is open; the role allow-list and throttling are the only guards.
    Open,
    /// A JWT authorizer runs in front; `admin` is the claim `/create-room` requires, if any.
    Jwt { admin: Option<AdminClaim> },
}

/// A claim and the value it must have (or contain, for a list claim like `cognito:groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminClaim {
    pub name: String,
    pub value: String,
}

impl CallerAuth {
    /// From `CALLER_AUTH` (`none` or `jwt`, default `none`), `ADMIN_CLAIM_NAME`, `ADMIN_CLAIM_VALUE`.
    pub fn from_values(
        mode: Option<&str>,
        admin_name: Option<&str>,
        admin_value: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let admin = match (admin_name, admin_value) {
            (None, _) => None,
            (Some(name), Some(value)) => Some(AdminClaim { name: name.into(), value: value.into() }),
            (Some(_), None) => return Err(ConfigError("ADMIN_CLAIM_NAME is set without ADMIN_CLAIM_VALUE".into())),
        };
        match mode.unwrap_or("none") {
            "none" if admin.is_some() => {
                Err(ConfigError("ADMIN_CLAIM_NAME needs CALLER_AUTH=jwt (a JWT authorizer)".into()))
            }
            "none" => Ok(Self::Open),
            "jwt" => Ok(Self::Jwt { admin }),
            other => Err(ConfigError(format!("CALLER_AUTH must be none or jwt, got {other:?}"))),
        }
    }

    /// The caller's `sub` when callers are authenticated; `None` on an open API.
    pub fn subject<'a>(&self, claims: &'a HashMap<String, String>) -> Result<Option<&'a str>, ApiError> {
        match self {
            Self::Open => Ok(None),
            Self::Jwt { .. } => match claims.get("sub").map(String::as_str).filter(|s| !s.is_empty()) {
                Some(sub) => Ok(Some(sub)),
                None => Err(unauthenticated()),
            },
        }
    }

    /// Fails unless the caller may create rooms.
    pub fn require_admin(&self, claims: &HashMap<String, String>) -> Result<(), ApiError> {
        let Self::Jwt { admin } = self else { return Ok(()) };
        self.subject(claims)?;
        let Some(admin) = admin else { return Ok(()) };
        let granted = claims.get(&admin.name).is_some_and(|v| claim_has(v, &admin.value));
        if granted {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "admin_required",
                msg: format!("creating rooms needs the '{}' claim to include '{}'", admin.name, admin.value),
            })
        }
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("this API needs a verified JWT with a 'sub' claim".into())
}

/// Whether a claim as API Gateway passes it equals `value` or, for a list claim (passed as
/// `[a b c]`, or comma-separated), contains it.
pub fn claim_has(claim: &str, value: &str) -> bool {
    if claim == value {
        return true;
    }
    let inner = claim.strip_prefix('[').and_then(|c| c.strip_suffix(']')).unwrap_or(claim);
    inner.split([' ', ',']).map(str::trim).any(|item| item == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn configuration() {
        assert_eq!(CallerAuth::from_values(None, None, None).unwrap(), CallerAuth::Open);
        assert_eq!(CallerAuth::from_values(Some("jwt"), None, None).unwrap(), CallerAuth::Jwt { admin: None });
        let with_admin = CallerAuth::from_values(Some("jwt"), Some("cognito:groups"), Some("admin")).unwrap();
        assert_eq!(
            with_admin,
            CallerAuth::Jwt { admin: Some(AdminClaim { name: "cognito:groups".into(), value: "admin".into() }) }
        );
        assert!(CallerAuth::from_values(Some("JWT"), None, None).is_err());
        assert!(CallerAuth::from_values(Some("none"), Some("g"), Some("admin")).is_err(), "admin claim needs jwt");
        assert!(CallerAuth::from_values(Some("jwt"), Some("g"), None).is_err());
    }

    #[test]
    fn subject_is_required_in_jwt_mode_only() {
        let jwt = CallerAuth::Jwt { admin: None };
        assert_eq!(jwt.subject(&claims(&[("sub", "abc")])).unwrap(), Some("abc"));
        assert_eq!(jwt.subject(&claims(&[])).unwrap_err().status(), 401);
        assert_eq!(jwt.subject(&claims(&[("sub", "")])).unwrap_err().status(), 401);
        assert_eq!(CallerAuth::Open.subject(&claims(&[("sub", "abc")])).unwrap(), None);
    }

    #[test]
    fn admin_claim_single_and_list_values() {
        let auth = CallerAuth::from_values(Some("jwt"), Some("cognito:groups"), Some("admin")).unwrap();
        for ok in ["admin", "[admin]", "[users admin]", "users,admin"] {
            assert!(auth.require_admin(&claims(&[("sub", "s"), ("cognito:groups", ok)])).is_ok(), "{ok}");
        }
        for bad in ["administrators", "[users]", "", "[admins]"] {
            let err = auth.require_admin(&claims(&[("sub", "s"), ("cognito:groups", bad)])).unwrap_err();
            assert_eq!((err.status(), err.code()), (403, "admin_required"), "{bad}");
        }
        assert_eq!(auth.require_admin(&claims(&[("sub", "s")])).unwrap_err().code(), "admin_required");
        assert_eq!(auth.require_admin(&claims(&[])).unwrap_err().status(), 401);
        assert!(CallerAuth::Jwt { admin: None }.require_admin(&claims(&[("sub", "s")])).is_ok());
        assert!(CallerAuth::Open.require_admin(&claims(&[])).is_ok());
    }
}

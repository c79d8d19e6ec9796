//! Who is calling and what they may ask for: the caller behind an API Gateway JWT authorizer,
//! and the roles `/auth-token` may mint.
//!
//! With `CALLER_AUTH=jwt` the authorizer has verified the caller's JWT and passes its claims in
//! the event. `/auth-token` then mints tokens only for the caller's own `sub`, and `/create-room`
//! (an upsert that can reconfigure any room) can require an admin claim.

use std::collections::{BTreeSet, HashMap};

use crate::error::{ApiError, ErrorCode};
use crate::input::Role;

/// Which roles `/auth-token` may mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleAllowList {
    Any,
    Only(BTreeSet<Role>),
}

impl RoleAllowList {
    pub fn allows(&self, role: &Role) -> bool {
        match self {
            Self::Any => true,
            Self::Only(roles) => roles.contains(role),
        }
    }

    /// Fails with 403 `role_not_allowed` unless `role` may be minted.
    pub fn require(&self, role: &Role) -> Result<(), ApiError> {
        if self.allows(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: ErrorCode::RoleNotAllowed,
                msg: format!("role '{role}' may not be requested here"),
            })
        }
    }
}

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

    /// Fails unless the caller may do a host operation: create rooms, or anything of
    /// `room-control`.
    pub fn require_admin(&self, claims: &HashMap<String, String>) -> Result<(), ApiError> {
        let Self::Jwt { admin } = self else { return Ok(()) };
        self.subject(claims)?;
        let Some(admin) = admin else { return Ok(()) };
        let granted = claims.get(&admin.name).is_some_and(|v| claim_has(v, &admin.value));
        if granted {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: ErrorCode::AdminRequired,
                msg: format!(
                    "host operations (creating rooms, room control) need the '{}' claim to include '{}'",
                    admin.name, admin.value
                ),
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
    use crate::input::Parse;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_allow_list_is_exact_and_case_sensitive() {
        let role = |r: &str| Role::parse(r).unwrap();
        let only = RoleAllowList::Only([role("host"), role("guest")].into());
        assert!(only.allows(&role("host")) && only.allows(&role("guest")));
        assert!(!only.allows(&role("Host")), "roles are case-sensitive");
        let err = only.require(&role("admin")).unwrap_err();
        assert_eq!((err.status(), err.code()), (403, ErrorCode::RoleNotAllowed));
        assert!(RoleAllowList::Any.allows(&role("anything")));
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
        let auth = CallerAuth::Jwt { admin: Some(AdminClaim { name: "cognito:groups".into(), value: "admin".into() }) };
        for ok in ["admin", "[admin]", "[users admin]", "users,admin"] {
            assert!(auth.require_admin(&claims(&[("sub", "s"), ("cognito:groups", ok)])).is_ok(), "{ok}");
        }
        for bad in ["administrators", "[users]", "", "[admins]"] {
            let err = auth.require_admin(&claims(&[("sub", "s"), ("cognito:groups", bad)])).unwrap_err();
            assert_eq!((err.status(), err.code().as_str()), (403, "admin_required"), "{bad}");
        }
        assert_eq!(auth.require_admin(&claims(&[("sub", "s")])).unwrap_err().code(), "admin_required");
        assert_eq!(auth.require_admin(&claims(&[])).unwrap_err().status(), 401);
        assert!(CallerAuth::Jwt { admin: None }.require_admin(&claims(&[("sub", "s")])).is_ok());
        assert!(CallerAuth::Open.require_admin(&claims(&[])).is_ok());
    }
}

//! `CALLER_AUTH` and the claim settings that go with it, read into [`CallerAuth`].

use crate::auth::{CallerAuth, ClaimRule, JwtRules, RoleClaims};
use crate::error::ConfigError;

/// The variables [`caller_auth`] reads.
pub(super) struct AuthVars {
    pub(super) mode: Option<String>,
    pub(super) admin_name: Option<String>,
    pub(super) admin_value: Option<String>,
    pub(super) creator: Option<String>,
    pub(super) role_claims: Option<String>,
}

/// From `CALLER_AUTH` (`none` or `jwt`, default `none`), `ADMIN_CLAIM_NAME`, `ADMIN_CLAIM_VALUE`,
/// `CREATOR_CLAIM` (`claim=value`) and `ROLE_CLAIMS` (`role=claim=value,...`). JWT mode needs the
/// admin claim: without it every signed-in user could reconfigure rooms. The claim settings mean
/// nothing without a JWT, so with `none` they are an error rather than silently ignored.
pub(super) fn caller_auth(v: &AuthVars) -> Result<CallerAuth, ConfigError> {
    let admin = match (&v.admin_name, &v.admin_value) {
        (None, None) => None,
        (Some(name), Some(value)) => Some(ClaimRule { name: name.clone(), value: value.clone() }),
        (Some(_), None) => return Err(ConfigError("ADMIN_CLAIM_NAME is set without ADMIN_CLAIM_VALUE".into())),
        (None, Some(_)) => return Err(ConfigError("ADMIN_CLAIM_VALUE is set without ADMIN_CLAIM_NAME".into())),
    };
    let creator = v
        .creator
        .as_deref()
        .map(ClaimRule::parse)
        .transpose()
        .map_err(|why| ConfigError(format!("CREATOR_CLAIM must be claim=value: {why}")))?;
    let role_claims = RoleClaims::parse(v.role_claims.as_deref().unwrap_or(""))
        .map_err(|why| ConfigError(format!("ROLE_CLAIMS must be role=claim=value entries: {why}")))?;
    match v.mode.as_deref().unwrap_or("none") {
        "none" => {
            let set: Vec<&str> = [
                ("ADMIN_CLAIM_NAME", admin.is_some()),
                ("CREATOR_CLAIM", creator.is_some()),
                ("ROLE_CLAIMS", !role_claims.is_empty()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            if set.is_empty() {
                Ok(CallerAuth::Open)
            } else {
                Err(ConfigError(format!("{} need CALLER_AUTH=jwt (a JWT authorizer)", set.join(", "))))
            }
        }
        "jwt" => match admin {
            Some(admin) => Ok(CallerAuth::Jwt(JwtRules { admin, creator, role_claims })),
            None => Err(ConfigError(
                "CALLER_AUTH=jwt needs ADMIN_CLAIM_NAME and ADMIN_CLAIM_VALUE (the claim of who may run every room)"
                    .into(),
            )),
        },
        other => Err(ConfigError(format!("CALLER_AUTH must be none or jwt, got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::cfg;

    #[test]
    fn caller_authentication() {
        let auth = |pairs: &[(&str, &str)]| cfg(pairs).caller_auth;
        let admin = [("ADMIN_CLAIM_NAME", "cognito:groups"), ("ADMIN_CLAIM_VALUE", "admin")];
        assert_eq!(auth(&[]).unwrap(), CallerAuth::Open);
        let err = auth(&[("CALLER_AUTH", "jwt")]).unwrap_err().to_string();
        assert!(err.contains("ADMIN_CLAIM_NAME"), "JWT mode without an admin claim fails closed: {err}");
        assert_eq!(
            auth(&[("CALLER_AUTH", "jwt"), admin[0], admin[1]]).unwrap(),
            CallerAuth::Jwt(JwtRules::admin_only("cognito:groups", "admin"))
        );
        let full = auth(&[
            ("CALLER_AUTH", "jwt"),
            admin[0],
            admin[1],
            ("CREATOR_CLAIM", "cognito:groups=teachers"),
            ("ROLE_CLAIMS", "host=cognito:groups=teachers"),
        ]);
        let CallerAuth::Jwt(rules) = full.unwrap() else { panic!("not jwt") };
        assert_eq!(rules.creator.unwrap(), ClaimRule::parse("cognito:groups=teachers").unwrap());
        assert_eq!(rules.role_claims, RoleClaims::parse("host=cognito:groups=teachers").unwrap());
        assert!(auth(&[("CALLER_AUTH", "JWT")]).is_err());
        for open_with in [vec![admin[0], admin[1]], vec![("ROLE_CLAIMS", "host=g=t")], vec![("CREATOR_CLAIM", "g=t")]] {
            let mut pairs = vec![("CALLER_AUTH", "none")];
            pairs.extend(open_with);
            assert!(auth(&pairs).unwrap_err().to_string().contains("need CALLER_AUTH=jwt"), "{pairs:?}");
        }
        assert!(auth(&[("CALLER_AUTH", "jwt"), ("ADMIN_CLAIM_NAME", "g")]).is_err());
        assert!(auth(&[("CALLER_AUTH", "jwt"), admin[0], admin[1], ("ROLE_CLAIMS", "host")]).is_err());
        assert!(auth(&[("CALLER_AUTH", "jwt"), admin[0], admin[1], ("CREATOR_CLAIM", "teachers")]).is_err());
    }
}

//! `CALLER_AUTH` and the claim settings that go with it, read into [`CallerAuth`].

use crate::auth::{CallerAuth, ClaimRule, JwtRules, RoleClaims};
use crate::error::ConfigError;
use crate::input::{Parse, Role};
use crate::membership::{Access, JoinRules};

/// The variables [`caller_auth`] reads.
pub(super) struct AuthVars {
    pub(super) mode: Option<String>,
    pub(super) admin_name: Option<String>,
    pub(super) admin_value: Option<String>,
    pub(super) creator: Option<String>,
    pub(super) role_claims: Option<String>,
    pub(super) host_roles: Option<String>,
    pub(super) access_default: Option<String>,
}

/// From `CALLER_AUTH` (`none` or `jwt`, default `none`), `ADMIN_CLAIM_NAME`, `ADMIN_CLAIM_VALUE`,
/// `CREATOR_CLAIM` (`claim=value`), `ROLE_CLAIMS` (`role=claim=value,...`), `HOST_ROLES`
/// (comma-separated, default `host`) and `ROOM_ACCESS_DEFAULT` (`open` or `members`, default
/// `open`). JWT mode needs the
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
    let join = join_rules(v)?;
    match v.mode.as_deref().unwrap_or("none") {
        "none" => {
            let set: Vec<&str> = [
                ("ADMIN_CLAIM_NAME", admin.is_some()),
                ("CREATOR_CLAIM", creator.is_some()),
                ("ROLE_CLAIMS", !role_claims.is_empty()),
                ("HOST_ROLES", v.host_roles.is_some()),
                ("ROOM_ACCESS_DEFAULT", v.access_default.is_some()),
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
            Some(admin) => Ok(CallerAuth::Jwt(JwtRules { admin, creator, role_claims, join })),
            None => Err(ConfigError(
                "CALLER_AUTH=jwt needs ADMIN_CLAIM_NAME and ADMIN_CLAIM_VALUE (the claim of who may run every room)"
                    .into(),
            )),
        },
        other => Err(ConfigError(format!("CALLER_AUTH must be none or jwt, got {other:?}"))),
    }
}

/// `HOST_ROLES` and `ROOM_ACCESS_DEFAULT`. An empty `HOST_ROLES` would hand every role to every
/// signed-in caller of an open room, so it is refused: a deployment with no host role names one
/// its template does not have.
fn join_rules(v: &AuthVars) -> Result<JoinRules, ConfigError> {
    let mut join = JoinRules::default();
    if let Some(text) = &v.host_roles {
        let roles = text
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| Role::parse(r).map_err(|why| ConfigError(format!("HOST_ROLES: '{r}' {why}"))))
            .collect::<Result<std::collections::BTreeSet<Role>, _>>()?;
        if roles.is_empty() {
            return Err(ConfigError("HOST_ROLES must name at least one role".into()));
        }
        join.host_roles = roles;
    }
    if let Some(text) = &v.access_default {
        join.default_access =
            Access::parse(text).map_err(|why| ConfigError(format!("ROOM_ACCESS_DEFAULT {why}, got {text:?}")))?;
    }
    Ok(join)
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

    #[test]
    fn host_roles_and_the_default_access() {
        let auth = |pairs: &[(&str, &str)]| cfg(pairs).caller_auth;
        let jwt = [("CALLER_AUTH", "jwt"), ("ADMIN_CLAIM_NAME", "g"), ("ADMIN_CLAIM_VALUE", "admin")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = jwt.to_vec();
            pairs.extend_from_slice(extra);
            auth(&pairs)
        };
        let CallerAuth::Jwt(rules) = with(&[]).unwrap() else { panic!("not jwt") };
        assert_eq!(rules.join, JoinRules::default());
        assert!(rules.join.is_host(&Role::parse("host").unwrap()));
        let CallerAuth::Jwt(rules) =
            with(&[("HOST_ROLES", "host, teacher"), ("ROOM_ACCESS_DEFAULT", "members")]).unwrap()
        else {
            panic!("not jwt")
        };
        assert!(rules.join.is_host(&Role::parse("teacher").unwrap()));
        assert_eq!(rules.join.default_access, Access::Members);
        for bad in [("HOST_ROLES", " , "), ("HOST_ROLES", "ho st"), ("ROOM_ACCESS_DEFAULT", "closed")] {
            assert!(with(&[bad]).is_err(), "{bad:?}");
        }
        let open = auth(&[("ROOM_ACCESS_DEFAULT", "members")]).unwrap_err().to_string();
        assert!(open.contains("need CALLER_AUTH=jwt"), "members-only rooms without sign-in would be open: {open}");
    }
}

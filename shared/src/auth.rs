//! Who is calling and what they may do: the caller behind an API Gateway JWT authorizer, the
//! claims that make a caller an admin or a room creator, and the roles `/auth-token` may mint.
//!
//! With `CALLER_AUTH=jwt` the authorizer has verified the caller's JWT and passes its claims in
//! the event. `/auth-token` then mints tokens only for the caller's own `sub`, and only for roles
//! whose claim rule (`ROLE_CLAIMS`) the caller meets; rooms are created by admins and creators
//! (`CREATOR_CLAIM`) and run by their owner or an admin (see `owners`).

use std::collections::{BTreeSet, HashMap};

use crate::error::{ApiError, ErrorCode};
use crate::input::{Parse, Role};
use crate::membership::JoinRules;

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
            Err(role_not_allowed(format!("role '{role}' may not be requested here")))
        }
    }
}

fn role_not_allowed(msg: String) -> ApiError {
    ApiError::Forbidden { code: ErrorCode::RoleNotAllowed, msg }
}

/// A claim and the value it must have (or contain, for a list claim like `cognito:groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    pub name: String,
    pub value: String,
}

impl ClaimRule {
    /// Parses `claim=value`: the claim is everything before the last `=` (claim names such as
    /// `cognito:groups` hold no `=`, values may not either), both non-empty.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().rsplit_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Ok(Self { name: name.trim().into(), value: value.trim().into() })
            }
            _ => Err(format!("{text:?} is not claim=value")),
        }
    }

    /// Whether `claims` carry this claim with this value.
    pub fn holds(&self, claims: &HashMap<String, String>) -> bool {
        claims.get(&self.name).is_some_and(|v| claim_has(v, &self.value))
    }
}

impl std::fmt::Display for ClaimRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the '{}' claim to include '{}'", self.name, self.value)
    }
}

/// `ROLE_CLAIMS`: roles that only callers with a claim may ask tokens for. A role with several
/// entries needs any one of them; a role without one is open to every signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleClaims(Vec<(Role, ClaimRule)>);

impl RoleClaims {
    /// Parses comma-separated `role=claim=value` entries: the role ends at the first `=`, the
    /// value starts after the last, the claim is what lies between.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (role, rule) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not role=claim=value"))?;
            let role = Role::parse(role.trim()).map_err(|why| format!("{entry:?}: the role {why}"))?;
            let rule = ClaimRule::parse(rule).map_err(|_| format!("{entry:?} is not role=claim=value"))?;
            rules.push((role, rule));
        }
        Ok(Self(rules))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rules for `role` (none: open to any signed-in caller).
    fn for_role<'a>(&'a self, role: &'a Role) -> impl Iterator<Item = &'a ClaimRule> + 'a {
        self.0.iter().filter(move |(r, _)| r == role).map(|(_, rule)| rule)
    }
}

/// How callers are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerAuth {
    /// No authorizer: the API is open; the role allow-list and throttling are the only guards.
    Open,
    /// A JWT authorizer runs in front, with these rules.
    Jwt(JwtRules),
}

/// What the claims of a verified JWT allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtRules {
    /// `ADMIN_CLAIM_NAME`/`ADMIN_CLAIM_VALUE`: admins create rooms and run every room.
    pub admin: ClaimRule,
    /// `CREATOR_CLAIM`: callers who may create rooms (and then run them); admins only when `None`.
    pub creator: Option<ClaimRule>,
    /// `ROLE_CLAIMS`.
    pub role_claims: RoleClaims,
    /// `HOST_ROLES` and `ROOM_ACCESS_DEFAULT`: what rooms decide within the claims (`membership`).
    pub join: JoinRules,
}

impl JwtRules {
    /// Rules with an admin claim only (no creators, no role claims).
    pub fn admin_only(name: &str, value: &str) -> Self {
        Self {
            admin: ClaimRule { name: name.into(), value: value.into() },
            creator: None,
            role_claims: RoleClaims(vec![]),
            join: JoinRules::default(),
        }
    }
}

/// The caller of one request.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// Anyone, on an open API: may do everything the API offers.
    Anyone,
    /// A caller with a verified JWT.
    Signed { sub: &'a str, claims: &'a HashMap<String, String>, rules: &'a JwtRules },
}

impl CallerAuth {
    /// The caller behind `claims`: 401 in JWT mode without a `sub`.
    pub fn caller<'a>(&'a self, claims: &'a HashMap<String, String>) -> Result<Caller<'a>, ApiError> {
        match self {
            Self::Open => Ok(Caller::Anyone),
            Self::Jwt(rules) => match claims.get("sub").map(String::as_str).filter(|s| !s.is_empty()) {
                Some(sub) => Ok(Caller::Signed { sub, claims, rules }),
                None => Err(ApiError::Unauthenticated("this API needs a verified JWT with a 'sub' claim".into())),
            },
        }
    }
}

impl Caller<'_> {
    /// The caller's `sub`, when callers are authenticated.
    pub fn sub(&self) -> Option<&str> {
        match self {
            Self::Anyone => None,
            Self::Signed { sub, .. } => Some(sub),
        }
    }

    /// Whether the caller may run every room (on an open API, anyone may).
    pub fn is_admin(&self) -> bool {
        match self {
            Self::Anyone => true,
            Self::Signed { claims, rules, .. } => rules.admin.holds(claims),
        }
    }

    /// Fails with 403 `admin_required` unless the caller is an admin. The answer names no claim
    /// (which claim makes an admin is the deployment's business); the log does.
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        match self {
            Self::Signed { sub, rules, .. } if !self.is_admin() => {
                tracing::info!(sub, needs = %rules.admin, "refused: {what} needs an admin");
                Err(ApiError::Forbidden { code: ErrorCode::AdminRequired, msg: format!("{what} needs an admin") })
            }
            _ => Ok(()),
        }
    }

    /// Fails with 403 `admin_required` unless the caller may create rooms: an admin, or a
    /// caller with the creator claim.
    pub fn require_creator(&self) -> Result<(), ApiError> {
        match self {
            Self::Signed { claims, rules, .. } if !self.is_admin() => {
                if rules.creator.as_ref().is_some_and(|c| c.holds(claims)) {
                    return Ok(());
                }
                let creator = rules.creator.as_ref().map(tracing::field::display);
                tracing::info!(sub = self.sub(), needs = %rules.admin, or = creator, "refused: creating a room");
                let who = if rules.creator.is_some() { "an admin or a room creator" } else { "an admin" };
                Err(ApiError::Forbidden { code: ErrorCode::AdminRequired, msg: format!("creating rooms needs {who}") })
            }
            _ => Ok(()),
        }
    }

    /// Whether the caller may run a room whose owner is `owner` (`None`: no owner recorded).
    pub fn may_run(&self, owner: Option<&str>) -> bool {
        self.is_admin() || (self.sub().is_some() && self.sub() == owner)
    }

    /// Fails with 403 `role_not_allowed` unless `role` is allowed and the caller meets its claim
    /// rule, if it has one.
    pub fn require_role(&self, role: &Role, allowed: &RoleAllowList) -> Result<(), ApiError> {
        allowed.require(role)?;
        let Self::Signed { claims, rules, .. } = self else { return Ok(()) };
        let needed: Vec<&ClaimRule> = rules.role_claims.for_role(role).collect();
        if needed.is_empty() || needed.iter().any(|rule| rule.holds(claims)) {
            return Ok(());
        }
        let what: Vec<String> = needed.iter().map(ToString::to_string).collect();
        tracing::info!(sub = self.sub(), %role, needs = %what.join(", or "), "refused: a role's claim rule");
        Err(role_not_allowed(format!("role '{role}' is not available to this caller")))
    }
}

/// Whether a claim as API Gateway passes it equals `value` or, for a list claim (passed as
/// `[a b c]`), has it as one of its items. Nothing else counts: `x,admin` or `not admin` is one
/// value, not a list that holds `admin`.
pub fn claim_has(claim: &str, value: &str) -> bool {
    if claim == value {
        return true;
    }
    match claim.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        Some(items) => items.split(' ').any(|item| item == value),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn role(r: &str) -> Role {
        Role::parse(r).unwrap()
    }

    fn rules() -> JwtRules {
        JwtRules {
            admin: ClaimRule::parse("cognito:groups=admin").unwrap(),
            creator: Some(ClaimRule::parse("cognito:groups=teachers").unwrap()),
            role_claims: RoleClaims::parse("host=cognito:groups=teachers, host=custom:tier=pro").unwrap(),
            join: JoinRules::default(),
        }
    }

    #[test]
    fn the_allow_list_is_exact_and_case_sensitive() {
        let only = RoleAllowList::Only([role("host"), role("guest")].into());
        assert!(only.allows(&role("host")) && only.allows(&role("guest")));
        assert!(!only.allows(&role("Host")), "roles are case-sensitive");
        let err = only.require(&role("admin")).unwrap_err();
        assert_eq!((err.status(), err.code()), (403, ErrorCode::RoleNotAllowed));
        assert!(RoleAllowList::Any.allows(&role("anything")));
    }

    #[test]
    fn subject_is_required_in_jwt_mode_only() {
        let jwt = CallerAuth::Jwt(rules());
        let with_sub = claims(&[("sub", "abc")]);
        assert_eq!(jwt.caller(&with_sub).unwrap().sub(), Some("abc"));
        assert_eq!(jwt.caller(&claims(&[])).unwrap_err().status(), 401);
        assert_eq!(jwt.caller(&claims(&[("sub", "")])).unwrap_err().status(), 401);
        assert_eq!(CallerAuth::Open.caller(&with_sub).unwrap().sub(), None);
    }

    #[test]
    fn claim_lists_are_parsed_exactly() {
        for yes in ["admin", "[admin]", "[users admin]", "[admin users]"] {
            assert!(claim_has(yes, "admin"), "{yes}");
        }
        for no in ["administrators", "[users]", "", "[admins]", "x,admin", "users,admin", "not admin", "[not,admin]"] {
            assert!(!claim_has(no, "admin"), "{no}");
        }
    }

    #[test]
    fn claim_rules_split_at_the_last_equals_sign() {
        assert_eq!(
            ClaimRule::parse("cognito:groups=teachers").unwrap(),
            ClaimRule { name: "cognito:groups".into(), value: "teachers".into() }
        );
        for bad in ["", "=x", "x=", "novalue"] {
            assert!(ClaimRule::parse(bad).is_err(), "{bad:?}");
        }
        let parsed = RoleClaims::parse("host=cognito:groups=teachers,guest=scope=a").unwrap();
        assert_eq!(parsed.for_role(&role("host")).next().unwrap().name, "cognito:groups");
        assert_eq!(parsed.for_role(&role("guest")).next().unwrap().value, "a");
        for bad in ["host", "host=teachers", "=g=t", "ho st=g=t", "host=g="] {
            assert!(RoleClaims::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RoleClaims::parse(" , ").unwrap().is_empty());
    }

    #[test]
    fn roles_bound_to_claims() {
        let auth = CallerAuth::Jwt(rules());
        let allowed = RoleAllowList::Only([role("host"), role("guest")].into());
        let teacher = claims(&[("sub", "t"), ("cognito:groups", "[staff teachers]")]);
        let pro = claims(&[("sub", "p"), ("custom:tier", "pro")]);
        let student = claims(&[("sub", "s"), ("cognito:groups", "students")]);
        for who in [&teacher, &pro] {
            assert!(auth.caller(who).unwrap().require_role(&role("host"), &allowed).is_ok());
        }
        let err = auth.caller(&student).unwrap().require_role(&role("host"), &allowed).unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (403, "role_not_allowed"));
        assert_eq!(err.to_string(), "role 'host' is not available to this caller", "names no claim");
        assert!(auth.caller(&student).unwrap().require_role(&role("guest"), &allowed).is_ok(), "no rule: open");
        let err = auth.caller(&teacher).unwrap().require_role(&role("admin"), &allowed).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RoleNotAllowed, "the allow-list still applies");
        assert!(Caller::Anyone.require_role(&role("host"), &allowed).is_ok());
    }

    /// The answer names no claim; the log line of the refusal names the rule not met.
    #[test]
    fn a_refusal_logs_the_rule_it_does_not_tell() {
        use crate::logging::{LogFormat, capture::Captured, log_subscriber};
        let out = Captured::default();
        let writer = out.clone();
        let filter = tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO);
        let auth = CallerAuth::Jwt(rules());
        let student = claims(&[("sub", "s"), ("cognito:groups", "students")]);
        let allowed = RoleAllowList::Only([role("host")].into());
        let err =
            tracing::subscriber::with_default(log_subscriber(filter, LogFormat::Json, move || writer.clone()), || {
                auth.caller(&student).unwrap().require_role(&role("host"), &allowed).unwrap_err()
            });
        assert!(!err.to_string().contains("cognito"), "{err}");
        let logged = out.text();
        assert!(
            logged.contains("refused") && logged.contains("'cognito:groups' claim to include 'teachers'"),
            "{logged}"
        );
    }

    #[test]
    fn admins_creators_and_owners() {
        let auth = CallerAuth::Jwt(rules());
        let admin = claims(&[("sub", "a"), ("cognito:groups", "[admin]")]);
        let teacher = claims(&[("sub", "t"), ("cognito:groups", "teachers")]);
        let user = claims(&[("sub", "u")]);
        let (admin, teacher, user) =
            (auth.caller(&admin).unwrap(), auth.caller(&teacher).unwrap(), auth.caller(&user).unwrap());
        assert!(admin.require_admin("x").is_ok() && admin.require_creator().is_ok());
        assert!(teacher.require_creator().is_ok());
        assert_eq!(teacher.require_admin("assigning owners").unwrap_err().code(), "admin_required");
        let err = user.require_creator().unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (403, "admin_required"));
        assert!(admin.may_run(None) && admin.may_run(Some("t")));
        assert!(teacher.may_run(Some("t")) && !teacher.may_run(Some("u")) && !teacher.may_run(None));
        assert!(Caller::Anyone.may_run(None) && Caller::Anyone.require_creator().is_ok());
        let no_creators = CallerAuth::Jwt(JwtRules::admin_only("cognito:groups", "admin"));
        let teacher = claims(&[("sub", "t"), ("cognito:groups", "teachers")]);
        assert!(no_creators.caller(&teacher).unwrap().require_creator().is_err(), "no CREATOR_CLAIM: admins only");
    }
}

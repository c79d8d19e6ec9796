//! Configuration from the environment, the same variable names in every function.
//!
//! Reading never panics: a bad value becomes a [`ConfigError`] that the function logs once at
//! start and answers every request with (a JSON 500 with code `config`). What is read is plain
//! data; `app` builds the functions from it.

use crate::tls::Roots;
use std::collections::BTreeSet;

mod caller;
mod reconcile;
mod secrets;

use crate::auth::{CallerAuth, RoleAllowList};
pub use crate::error::ConfigError;
use crate::hosts::HostPatterns;
use crate::input::{Parse, Role};
use crate::webhooks::{AllowList, DEFAULT_HEADER_NAME, DEFAULT_RETENTION_DAYS};
use caller::{AuthVars, caller_auth};
pub use secrets::{SecretConfig, WebhookSecretConfig};
use secrets::{secret_config, webhook_secret_config};

pub const DEFAULT_API_BASE_URL: &str = "https://api.100ms.live/v2";
/// An hour: a token is for joining (apps ask for one right before, `expires_at` says when to ask
/// again), and a peer removed and banned can still join with the token it holds until it
/// expires, since 100ms has no revocation (docs/authorization.md). The sample's 24 h left a
/// removed student a day.
pub const DEFAULT_AUTH_TOKEN_TTL_SECONDS: i64 = 3_600;
/// Shortest auth-token lifetime we mint: a client needs time to join.
pub const MIN_AUTH_TOKEN_TTL_SECONDS: i64 = 60;
/// Longest: a week. 100ms sessions last at most 12 h; a longer-lived token is a liability.
pub const MAX_AUTH_TOKEN_TTL_SECONDS: i64 = 7 * 86_400;

/// Everything the functions read from the environment. Parts only one function needs are kept as
/// results so that, say, a missing `ALLOWED_ROLES` breaks `/auth-token` but not `/create-room`.
#[derive(Debug, Clone)]
pub struct Config {
    pub secret: Result<SecretConfig, ConfigError>,
    /// `WEBHOOK_SECRET_ID` or `WEBHOOK_SECRET`: what `webhooks` checks deliveries against.
    pub webhook_secret: Result<WebhookSecretConfig, ConfigError>,
    /// What the Secrets Manager client takes from the environment besides its credentials.
    pub sdk: SdkEnvironment,
    pub api_base_url: Result<String, ConfigError>,
    pub allowed_roles: Result<RoleAllowList, ConfigError>,
    pub auth_token_ttl_seconds: Result<i64, ConfigError>,
    /// `HMS_SECRET_CACHE_SECONDS`: how long credentials are cached before they are read again.
    pub secret_cache_seconds: Result<u64, ConfigError>,
    /// `CALLER_AUTH`, `ADMIN_CLAIM_NAME`, `ADMIN_CLAIM_VALUE`, `CREATOR_CLAIM`, `ROLE_CLAIMS`:
    /// whether a JWT authorizer runs in front, and what its claims allow.
    pub caller_auth: Result<CallerAuth, ConfigError>,
    /// `EVENTS_TABLE`: the DynamoDB table webhooks are kept in and attendance history read from.
    pub events_table: Result<String, ConfigError>,
    /// `WEBHOOK_HEADER_NAME`: the header that carries the webhook secret (lower case).
    pub webhook_header: Result<String, ConfigError>,
    /// `WEBHOOK_ALLOWED_IPS`: the networks webhooks may come from (any when unset).
    pub webhook_allowed_ips: Result<AllowList, ConfigError>,
    /// `EVENT_RETENTION_DAYS`: how long raw events are kept (the table's TTL).
    pub event_retention_days: Result<u32, ConfigError>,
    /// `REPORT_RETENTION_DAYS`: how long attendance reports (and their closed sessions) are kept
    /// after the session ends.
    pub report_retention_days: Result<u32, ConfigError>,
    /// `RECONCILE_*`: how `reconcile` runs.
    pub reconcile: Result<crate::reconcile::Settings, ConfigError>,
    /// `MEETING_URL_HOSTS`: the hosts a recording's `meeting_url` may be on.
    pub meeting_url_hosts: Result<HostPatterns, ConfigError>,
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`: the TLS trust roots of every HTTPS client (100ms,
    /// Secrets Manager, DynamoDB); Mozilla's, compiled in, when neither is set.
    pub tls_roots: Roots,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let sdk = SdkEnvironment::from_vars(&get);
        let caller_auth = caller_auth(&AuthVars {
            mode: non_empty("CALLER_AUTH"),
            admin_name: non_empty("ADMIN_CLAIM_NAME"),
            admin_value: non_empty("ADMIN_CLAIM_VALUE"),
            creator: non_empty("CREATOR_CLAIM"),
            role_claims: non_empty("ROLE_CLAIMS"),
            host_roles: non_empty("HOST_ROLES"),
            access_default: non_empty("ROOM_ACCESS_DEFAULT"),
        });
        let signed_in = matches!(caller_auth, Ok(CallerAuth::Jwt(_)));
        Self {
            secret: secret_config(
                non_empty("HMS_SECRET_ID"),
                non_empty("APP_ACCESS_KEY"),
                non_empty("APP_SECRET"),
                sdk.region.is_some(),
            ),
            webhook_secret: webhook_secret_config(
                non_empty("WEBHOOK_SECRET_ID"),
                non_empty("WEBHOOK_SECRET"),
                sdk.region.is_some(),
            ),
            sdk,
            api_base_url: api_base_url(non_empty("HMS_API_BASE_URL")),
            allowed_roles: allowed_roles(non_empty("ALLOWED_ROLES"), signed_in),
            auth_token_ttl_seconds: auth_token_ttl(non_empty("AUTH_TOKEN_TTL_SECONDS")),
            secret_cache_seconds: secret_cache(non_empty("HMS_SECRET_CACHE_SECONDS")),
            caller_auth,
            events_table: events_table(non_empty("EVENTS_TABLE")),
            webhook_header: webhook_header(non_empty("WEBHOOK_HEADER_NAME")),
            webhook_allowed_ips: non_empty("WEBHOOK_ALLOWED_IPS")
                .map_or(Ok(AllowList::Any), |v| AllowList::parse(&v))
                .map_err(|why| ConfigError(format!("WEBHOOK_ALLOWED_IPS: {why}"))),
            event_retention_days: retention_days(
                "EVENT_RETENTION_DAYS",
                non_empty("EVENT_RETENTION_DAYS"),
                DEFAULT_RETENTION_DAYS,
            ),
            report_retention_days: retention_days(
                "REPORT_RETENTION_DAYS",
                non_empty("REPORT_RETENTION_DAYS"),
                DEFAULT_REPORT_RETENTION_DAYS,
            ),
            reconcile: reconcile::reconcile_settings(&non_empty),
            meeting_url_hosts: HostPatterns::parse(
                non_empty("MEETING_URL_HOSTS").as_deref().unwrap_or(crate::hosts::DEFAULT_MEETING_URL_HOSTS),
            )
            .map_err(|why| ConfigError(format!("MEETING_URL_HOSTS: {why}"))),
            tls_roots: Roots::from_lookup(&get),
        }
    }
}

fn api_base_url(value: Option<String>) -> Result<String, ConfigError> {
    let raw = value.unwrap_or_else(|| DEFAULT_API_BASE_URL.to_string());
    let url = reqwest::Url::parse(&raw).map_err(|e| ConfigError(format!("HMS_API_BASE_URL is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError("HMS_API_BASE_URL must be an http(s) URL with a host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError("HMS_API_BASE_URL must not have a query or fragment".into()));
    }
    // Plain HTTP would send the management token in the clear: only to this machine (the
    // emulator in local runs and tests).
    let loopback = match url.host_str() {
        Some(host) => {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(ConfigError("HMS_API_BASE_URL must be https (plain http only to a loopback address)".into()));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// `ALLOWED_ROLES`. `*` (any role) only on an open API: with sign-in it would let every
/// signed-in caller mint a token, or make a room code, for any role the 100ms template has,
/// whatever `ROLE_CLAIMS` names, so it is a configuration error there.
fn allowed_roles(value: Option<String>, signed_in: bool) -> Result<RoleAllowList, ConfigError> {
    let Some(value) = value else {
        return Err(ConfigError(
            "ALLOWED_ROLES is not set: list the roles /auth-token may mint (comma-separated), or '*' for any".into(),
        ));
    };
    if value == "*" {
        return if signed_in {
            Err(ConfigError(
                "ALLOWED_ROLES=* with CALLER_AUTH=jwt would let every signed-in caller mint any role: list the roles"
                    .into(),
            ))
        } else {
            Ok(RoleAllowList::Any)
        };
    }
    let roles = value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).map_err(|_| ConfigError(format!("ALLOWED_ROLES has an invalid role name {r:?}"))))
        .collect::<Result<BTreeSet<Role>, _>>()?;
    if roles.is_empty() {
        return Err(ConfigError("ALLOWED_ROLES names no role".into()));
    }
    Ok(RoleAllowList::Only(roles))
}

fn auth_token_ttl(value: Option<String>) -> Result<i64, ConfigError> {
    let Some(value) = value else { return Ok(DEFAULT_AUTH_TOKEN_TTL_SECONDS) };
    let ttl: i64 =
        value.parse().map_err(|_| ConfigError(format!("AUTH_TOKEN_TTL_SECONDS is not a whole number: {value:?}")))?;
    if !(MIN_AUTH_TOKEN_TTL_SECONDS..=MAX_AUTH_TOKEN_TTL_SECONDS).contains(&ttl) {
        return Err(ConfigError(format!(
            "AUTH_TOKEN_TTL_SECONDS must be between {MIN_AUTH_TOKEN_TTL_SECONDS} and {MAX_AUTH_TOKEN_TTL_SECONDS}, got {ttl}"
        )));
    }
    Ok(ttl)
}

pub const DEFAULT_SECRET_CACHE_SECONDS: u64 = 300;

fn secret_cache(value: Option<String>) -> Result<u64, ConfigError> {
    let Some(value) = value else { return Ok(DEFAULT_SECRET_CACHE_SECONDS) };
    match value.parse::<u64>() {
        Ok(s) if (1..=86_400).contains(&s) => Ok(s),
        _ => {
            Err(ConfigError(format!("HMS_SECRET_CACHE_SECONDS must be a whole number from 1 to 86400, got {value:?}")))
        }
    }
}

/// A DynamoDB table name: 3 to 255 of `[A-Za-z0-9_.-]`.
fn events_table(value: Option<String>) -> Result<String, ConfigError> {
    let Some(name) = value else {
        return Err(ConfigError("EVENTS_TABLE is not set: name the DynamoDB table that keeps the events".into()));
    };
    let valid = (3..=255).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !valid {
        return Err(ConfigError(format!("EVENTS_TABLE is not a DynamoDB table name: {name:?}")));
    }
    Ok(name)
}

/// An HTTP header name, kept in lower case (as API Gateway passes headers); the default
/// [`DEFAULT_HEADER_NAME`].
fn webhook_header(value: Option<String>) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| DEFAULT_HEADER_NAME.to_string()).to_ascii_lowercase();
    lambda_http::http::HeaderName::from_bytes(name.as_bytes())
        .map(|h| h.as_str().to_string())
        .map_err(|_| ConfigError(format!("WEBHOOK_HEADER_NAME is not a header name: {name:?}")))
}

/// Shortest and longest retention of raw events (days).
pub const MIN_RETENTION_DAYS: u32 = 1;
pub const MAX_RETENTION_DAYS: u32 = 3_650;

/// How long reports are kept unless configured otherwise (days): a school year and a bit. A
/// report is a few kilobytes; raw events are the bulk and can go sooner.
pub const DEFAULT_REPORT_RETENTION_DAYS: u32 = 400;

fn retention_days(name: &str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    let Some(value) = value else { return Ok(default) };
    match value.parse::<u32>() {
        Ok(d) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => Ok(d),
        _ => Err(ConfigError(format!(
            "{name} must be a whole number from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, got {value:?}"
        ))),
    }
}

/// What the Secrets Manager client takes from the environment besides its credentials (which
/// the SDK reads itself, as Lambda provides them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdkEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`; neither when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
    pub endpoint_url: Option<String>,
    /// The same for DynamoDB: `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`.
    pub dynamodb_endpoint_url: Option<String>,
}

impl SdkEnvironment {
    /// Reads the variables through `var`; empty values count as unset, as in the AWS SDKs.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let ignore_endpoints =
            var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Self {
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            endpoint_url: if ignore_endpoints {
                None
            } else {
                var("AWS_ENDPOINT_URL_SECRETS_MANAGER").or_else(|| var("AWS_ENDPOINT_URL"))
            },
            dynamodb_endpoint_url: if ignore_endpoints {
                None
            } else {
                var("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| var("AWS_ENDPOINT_URL"))
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MIN_APP_SECRET_BYTES;
    use std::collections::HashMap;

    pub(super) fn cfg(pairs: &[(&str, &str)]) -> Config {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn empty_environment_fails_closed_for_secret_and_roles_only() {
        let c = cfg(&[]);
        assert!(c.secret.is_err());
        assert!(c.allowed_roles.is_err());
        assert_eq!(c.api_base_url.unwrap(), DEFAULT_API_BASE_URL);
        assert_eq!(c.auth_token_ttl_seconds.unwrap(), 3_600);
    }

    #[test]
    fn secret_id_wins_over_environment_keys() {
        let sm = [("HMS_SECRET_ID", "arn:aws:secretsmanager:x"), ("APP_ACCESS_KEY", "a"), ("APP_SECRET", "s")];
        let want = SecretConfig::SecretsManager { secret_id: "arn:aws:secretsmanager:x".into() };
        assert_eq!(cfg(&[sm[0], sm[1], sm[2], ("AWS_REGION", "eu-west-1")]).secret.unwrap(), want);
        assert_eq!(cfg(&[sm[0], ("AWS_DEFAULT_REGION", "eu-west-1")]).secret.unwrap(), want);
        let no_region = cfg(&sm).secret.unwrap_err().to_string();
        assert!(no_region.contains("AWS_REGION"), "{no_region}");
        let s = "s".repeat(MIN_APP_SECRET_BYTES);
        let c = cfg(&[("APP_ACCESS_KEY", "a"), ("APP_SECRET", &s)]);
        assert_eq!(c.secret.unwrap(), SecretConfig::Environment { access_key: "a".into(), secret: s.clone() });
        let w = "w".repeat(32);
        let hook = cfg(&[("WEBHOOK_SECRET", &w)]).webhook_secret.unwrap();
        assert_eq!(hook, WebhookSecretConfig::Environment { secret: w.clone() });
        let short = cfg(&[("WEBHOOK_SECRET", "w")]).webhook_secret.unwrap_err();
        assert!(short.to_string().contains("WEBHOOK_SECRET must be 32"), "{short}");
        let own = cfg(&[("WEBHOOK_SECRET_ID", "hms/webhook"), ("WEBHOOK_SECRET", &w), ("AWS_REGION", "eu-west-1")]);
        assert_eq!(
            own.webhook_secret.unwrap(),
            WebhookSecretConfig::SecretsManager { secret_id: "hms/webhook".into() }
        );
        assert!(cfg(&[("WEBHOOK_SECRET_ID", "hms/webhook")]).webhook_secret.is_err(), "no region");
        assert!(cfg(&[]).webhook_secret.unwrap_err().to_string().contains("WEBHOOK_SECRET_ID"));
        assert!(cfg(&[("APP_ACCESS_KEY", "a")]).secret.is_err());
        assert!(cfg(&[("HMS_SECRET_ID", "  ")]).secret.is_err());
    }

    #[test]
    fn allowed_roles_parsing() {
        assert_eq!(cfg(&[("ALLOWED_ROLES", "*")]).allowed_roles.unwrap(), RoleAllowList::Any);
        // With sign-in, any role for everyone is refused; a list still works.
        let jwt = [("CALLER_AUTH", "jwt"), ("ADMIN_CLAIM_NAME", "cognito:groups"), ("ADMIN_CLAIM_VALUE", "admin")];
        let err = cfg(&[jwt.as_slice(), &[("ALLOWED_ROLES", "*")]].concat()).allowed_roles.unwrap_err();
        assert!(err.to_string().contains("CALLER_AUTH=jwt"), "{err}");
        let listed = cfg(&[jwt.as_slice(), &[("ALLOWED_ROLES", "host")]].concat()).allowed_roles.unwrap();
        assert_eq!(listed, RoleAllowList::Only([Role::parse("host").unwrap()].into()));
        let roles = cfg(&[("ALLOWED_ROLES", " host, guest ,,")]).allowed_roles.unwrap();
        let role = |r: &str| Role::parse(r).unwrap();
        assert_eq!(roles, RoleAllowList::Only([role("host"), role("guest")].into()));
        for bad in ["", " ", ",", " , ", "ho st", "a,b c"] {
            assert!(cfg(&[("ALLOWED_ROLES", bad)]).allowed_roles.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ttl_range() {
        assert_eq!(cfg(&[("AUTH_TOKEN_TTL_SECONDS", "3600")]).auth_token_ttl_seconds.unwrap(), 3600);
        assert_eq!(cfg(&[("AUTH_TOKEN_TTL_SECONDS", "60")]).auth_token_ttl_seconds.unwrap(), 60);
        assert_eq!(cfg(&[("AUTH_TOKEN_TTL_SECONDS", "604800")]).auth_token_ttl_seconds.unwrap(), 604_800);
        for bad in ["59", "0", "-1", "604801", "1e3", "abc", "3600s"] {
            assert!(cfg(&[("AUTH_TOKEN_TTL_SECONDS", bad)]).auth_token_ttl_seconds.is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_cache_range() {
        assert_eq!(cfg(&[]).secret_cache_seconds.unwrap(), DEFAULT_SECRET_CACHE_SECONDS);
        assert_eq!(cfg(&[("HMS_SECRET_CACHE_SECONDS", "2")]).secret_cache_seconds.unwrap(), 2);
        for bad in ["0", "86401", "-5", "5m"] {
            assert!(cfg(&[("HMS_SECRET_CACHE_SECONDS", bad)]).secret_cache_seconds.is_err(), "{bad}");
        }
    }

    #[test]
    fn base_url_is_validated_and_normalised() {
        assert_eq!(
            cfg(&[("HMS_API_BASE_URL", "http://127.0.0.1:8080/v2/")]).api_base_url.unwrap(),
            "http://127.0.0.1:8080/v2"
        );
        for bad in ["not a url", "ftp://x/v2", "http://", "mailto:a@b", "https://x/v2?a=1"] {
            assert!(cfg(&[("HMS_API_BASE_URL", bad)]).api_base_url.is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let secret = "s3cret-".repeat(6);
        let c = cfg(&[
            ("APP_ACCESS_KEY", "a"),
            ("APP_SECRET", &secret),
            ("WEBHOOK_SECRET", "hook-value-123-0123456789abcdefghij"),
        ]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret-") && !shown.contains("hook-value-123"), "{shown}");
        assert!(c.webhook_secret.is_ok(), "the webhook secret was read");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn plain_http_only_to_loopback_and_short_secrets_refused() {
        let url = |u: &str| cfg(&[("HMS_API_BASE_URL", u)]).api_base_url;
        for ok in
            ["https://api.100ms.live/v2", "http://127.0.0.1:9/v2", "http://localhost:8080/v2", "http://[::1]:1/v2"]
        {
            assert!(url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://api.100ms.live/v2", "http://10.0.0.1/v2", "http://host.docker.internal/v2"] {
            assert!(url(bad).unwrap_err().to_string().contains("must be https"), "{bad}");
        }
        let short = cfg(&[("APP_ACCESS_KEY", "a"), ("APP_SECRET", &"s".repeat(31))]).secret.unwrap_err();
        assert!(short.to_string().contains("shorter than 32 bytes"), "{short}");
        assert!(cfg(&[("APP_ACCESS_KEY", "a"), ("APP_SECRET", &"s".repeat(32))]).secret.is_ok());
    }

    #[test]
    fn sdk_environment_follows_the_aws_variables_and_their_precedence() {
        let env = |region: Option<&str>, endpoint: Option<&str>| SdkEnvironment {
            region: region.map(str::to_string),
            endpoint_url: endpoint.map(str::to_string),
            dynamodb_endpoint_url: None,
        };
        assert_eq!(cfg(&[]).sdk, env(None, None));
        assert_eq!(
            cfg(&[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-east-1")]).sdk,
            env(Some("eu-west-1"), None)
        );
        assert_eq!(cfg(&[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-1")]).sdk, env(Some("us-east-1"), None));
        let both = [("AWS_ENDPOINT_URL", "http://all:1"), ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm:2")];
        let all = Some("http://all:1".to_string());
        assert_eq!(
            cfg(&both).sdk,
            SdkEnvironment { dynamodb_endpoint_url: all.clone(), ..env(None, Some("http://sm:2")) }
        );
        assert_eq!(
            cfg(&both[..1]).sdk,
            SdkEnvironment { dynamodb_endpoint_url: all, ..env(None, Some("http://all:1")) }
        );
        let ddb = cfg(&[both[0], ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:3")]).sdk;
        assert_eq!(ddb.dynamodb_endpoint_url.as_deref(), Some("http://ddb:3"));
        let ignored = [
            both[0],
            both[1],
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:3"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ];
        assert_eq!(cfg(&ignored).sdk, env(None, None));
        let not_ignored = [both[1], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")];
        assert_eq!(cfg(&not_ignored).sdk.dynamodb_endpoint_url, None);
        assert_eq!(cfg(&not_ignored).sdk, env(None, Some("http://sm:2")));
    }

    #[test]
    fn webhook_and_table_settings() {
        let c = cfg(&[]);
        assert!(c.events_table.unwrap_err().to_string().contains("EVENTS_TABLE"));
        assert_eq!(c.webhook_header.unwrap(), DEFAULT_HEADER_NAME);
        assert_eq!(c.webhook_allowed_ips.unwrap(), AllowList::Any);
        assert_eq!(c.event_retention_days.unwrap(), DEFAULT_RETENTION_DAYS);
        assert_eq!(c.report_retention_days.unwrap(), DEFAULT_REPORT_RETENTION_DAYS);
        let c = cfg(&[
            ("REPORT_RETENTION_DAYS", "30"),
            ("EVENTS_TABLE", "hms-events-prod"),
            ("WEBHOOK_HEADER_NAME", "X-Hook-Key"),
            ("WEBHOOK_ALLOWED_IPS", "34.100.213.146,10.0.0.0/8"),
            ("EVENT_RETENTION_DAYS", "7"),
        ]);
        assert_eq!(c.events_table.unwrap(), "hms-events-prod");
        assert_eq!(c.webhook_header.unwrap(), "x-hook-key");
        assert!(c.webhook_allowed_ips.unwrap().allows(Some("10.1.2.3")));
        assert_eq!(c.event_retention_days.unwrap(), 7);
        assert_eq!(c.report_retention_days.unwrap(), 30);
        for (name, bad) in [
            ("EVENTS_TABLE", "ab"),
            ("EVENTS_TABLE", "has space"),
            ("WEBHOOK_HEADER_NAME", "bad header"),
            ("WEBHOOK_ALLOWED_IPS", "10.0.0.0/33"),
            ("EVENT_RETENTION_DAYS", "0"),
            ("EVENT_RETENTION_DAYS", "3651"),
            ("REPORT_RETENTION_DAYS", "0"),
        ] {
            let c = cfg(&[(name, bad)]);
            let err = match name {
                "EVENTS_TABLE" => c.events_table.err(),
                "WEBHOOK_HEADER_NAME" => c.webhook_header.err(),
                "WEBHOOK_ALLOWED_IPS" => c.webhook_allowed_ips.err(),
                "REPORT_RETENTION_DAYS" => c.report_retention_days.err(),
                _ => c.event_retention_days.err(),
            };
            assert!(err.unwrap().to_string().contains(name), "{name}={bad:?}");
        }
    }
}

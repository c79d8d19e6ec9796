//! The app access key and secret: where they come from and how a warm container caches them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde::Deserialize;
use tokio::time::Instant;

use crate::config::{Config, ConfigError, SecretConfig};
use crate::error::ApiError;

/// The app access key and secret. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    secret: String,
}

impl Credentials {
    pub fn new(access_key: String, secret: String) -> Self {
        Self { access_key, secret }
    }

    pub fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key", &self.access_key).field("secret", &"<redacted>").finish()
    }
}

/// Parses a SecretString of the form `{"APP_ACCESS_KEY": "...", "APP_SECRET": "..."}`.
/// The error never quotes the secret's content.
pub fn parse_secret_string(secret_string: &str) -> Result<Credentials, ApiError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "APP_ACCESS_KEY")]
        access_key: Option<String>,
        #[serde(rename = "APP_SECRET")]
        secret: Option<String>,
    }
    let raw: Raw = serde_json::from_str(secret_string).map_err(|_| {
        ApiError::Config("the secret is not a JSON object with APP_ACCESS_KEY and APP_SECRET strings".into())
    })?;
    match (raw.access_key.filter(|k| !k.trim().is_empty()), raw.secret.filter(|s| !s.is_empty())) {
        (Some(access_key), Some(secret)) => Ok(Credentials::new(access_key, secret)),
        (None, _) => Err(ApiError::Config("the secret has no non-empty APP_ACCESS_KEY".into())),
        (_, None) => Err(ApiError::Config("the secret has no non-empty APP_SECRET".into())),
    }
}

/// Where credentials are read from. The seam tests swap.
pub trait SecretSource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<Credentials, ApiError>> + Send;
}

/// Credentials fixed at start (`APP_ACCESS_KEY` / `APP_SECRET`, local development and tests).
#[derive(Debug, Clone)]
pub struct StaticSource(pub Credentials);

impl SecretSource for StaticSource {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        Ok(self.0.clone())
    }
}

/// Connect timeout towards Secrets Manager.
pub const SECRETS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for one attempt, and for the whole call including the SDK's one retry.
pub const SECRETS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const SECRETS_OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

/// A Secrets Manager secret, read through aws-sdk-secretsmanager. The SDK client is built on the
/// first read, not at start, so a cold start does not pay for it before it is needed.
///
/// The client is configured the way Lambda configures a function, from the environment alone
/// ([`SdkEnvironment`]): region from `AWS_REGION`, credentials from `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and the `AWS_ENDPOINT_URL_SECRETS_MANAGER` /
/// `AWS_ENDPOINT_URL` overrides. aws-config's default chain (profile files, web identity through
/// STS, ECS and EC2 metadata) would find nothing more on Lambda, and carrying its code made each
/// binary larger and slower to start (BENCHMARKS.md).
#[derive(Debug)]
pub struct SecretsManagerSource {
    secret_id: String,
    client: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
}

/// What the Secrets Manager client takes from the environment besides its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`; neither when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
    pub endpoint_url: Option<String>,
}

impl SdkEnvironment {
    /// Reads the variables through `var` (the process environment: `std::env::var(..).ok()`);
    /// empty values count as unset, as in the AWS SDKs.
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
        }
    }

    /// The SDK configuration: these settings, credentials from the environment, our timeouts and
    /// one retry.
    pub fn sdk_config(&self) -> aws_sdk_secretsmanager::Config {
        let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
            .connect_timeout(SECRETS_CONNECT_TIMEOUT)
            .operation_attempt_timeout(SECRETS_ATTEMPT_TIMEOUT)
            .operation_timeout(SECRETS_OPERATION_TIMEOUT)
            .build();
        let mut config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(self.region.clone().map(aws_sdk_secretsmanager::config::Region::new))
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
            .timeout_config(timeouts)
            .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::standard().with_max_attempts(2))
            .http_client(crate::sdk_http::http_client());
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        config.build()
    }
}

impl SecretsManagerSource {
    /// Reads `secret_id` with the SDK configured from the environment (on first use).
    pub fn new(secret_id: String) -> Self {
        Self { secret_id, client: tokio::sync::OnceCell::new() }
    }

    /// Reads `secret_id` through an SDK client the caller configured (an explicit endpoint, say).
    pub fn with_client(secret_id: String, client: aws_sdk_secretsmanager::Client) -> Self {
        Self { secret_id, client: tokio::sync::OnceCell::new_with(Some(client)) }
    }

    async fn client(&self) -> &aws_sdk_secretsmanager::Client {
        self.client
            .get_or_init(|| async {
                let env = SdkEnvironment::from_vars(|name| std::env::var(name).ok());
                aws_sdk_secretsmanager::Client::from_conf(env.sdk_config())
            })
            .await
    }
}

impl SecretSource for SecretsManagerSource {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        // Boxed: the SDK's future is deep enough to overflow the compiler's layout limit in callers.
        let client = Box::pin(self.client()).await;
        let out = Box::pin(client.get_secret_value().secret_id(&self.secret_id).send()).await.map_err(|e| {
            let why = match e.as_service_error() {
                Some(GetSecretValueError::ResourceNotFoundException(_)) => "the secret does not exist".to_string(),
                Some(GetSecretValueError::DecryptionFailure(_)) => "the secret could not be decrypted".to_string(),
                _ => DisplayErrorContext(&e).to_string(),
            };
            tracing::warn!(secret_id = %self.secret_id, error = %why, "reading the secret failed");
            ApiError::CredentialsUnavailable(format!("credentials are unavailable: {why}"))
        })?;
        let secret_string = out.secret_string().ok_or_else(|| {
            ApiError::Config("the secret has no SecretString (binary secrets are not supported)".into())
        })?;
        let creds = parse_secret_string(secret_string)?;
        tracing::info!(secret_id = %self.secret_id, "credentials read from Secrets Manager");
        Ok(creds)
    }
}

/// The configured source: Secrets Manager or the environment.
#[derive(Debug)]
pub enum ConfiguredSource {
    SecretsManager(SecretsManagerSource),
    Static(StaticSource),
}

impl ConfiguredSource {
    pub fn from_config(config: &SecretConfig) -> Self {
        match config {
            SecretConfig::SecretsManager { secret_id } => {
                Self::SecretsManager(SecretsManagerSource::new(secret_id.clone()))
            }
            SecretConfig::Environment { access_key, secret } => {
                Self::Static(StaticSource(Credentials::new(access_key.clone(), secret.clone())))
            }
        }
    }
}

impl SecretSource for ConfiguredSource {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        match self {
            Self::SecretsManager(s) => s.fetch().await,
            Self::Static(s) => s.fetch().await,
        }
    }
}

/// How long cached credentials are used before they are read again, by default. A container can
/// live for hours; without a maximum age `/auth-token` (which never hears a 401 from 100ms) would
/// sign with a rotated-out secret for as long as it lives.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Cached {
    creds: Arc<Credentials>,
    read_at: Instant,
}

/// Credentials cached per warm container: read once, reused until `max_age`, then read again
/// (if that read fails the cached value is kept and the failure logged). A failed first read is
/// not cached, so the next invocation tries again; [`CredentialStore::refresh`] re-reads at once
/// after 100ms rejected what we have (the secret may have been rotated).
#[derive(Debug)]
pub struct CredentialStore<S> {
    source: S,
    max_age: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl<S: SecretSource> CredentialStore<S> {
    pub fn new(source: S) -> Self {
        Self::with_max_age(source, DEFAULT_MAX_AGE)
    }

    pub fn with_max_age(source: S, max_age: Duration) -> Self {
        Self { source, max_age, cached: tokio::sync::Mutex::new(None) }
    }

    /// The cached credentials, reading them first if there are none or they are older than the
    /// maximum age. Concurrent callers wait for one read instead of each reading.
    pub async fn get(&self) -> Result<Arc<Credentials>, ApiError> {
        let mut slot = self.cached.lock().await;
        match slot.as_ref() {
            Some(c) if c.read_at.elapsed() < self.max_age => Ok(c.creds.clone()),
            Some(c) => match self.source.fetch().await {
                Ok(fresh) => Ok(store(&mut slot, fresh)),
                Err(e) => {
                    tracing::warn!(error = %e, "re-reading credentials failed; using the cached ones");
                    Ok(c.creds.clone())
                }
            },
            None => Ok(store(&mut slot, self.source.fetch().await?)),
        }
    }

    /// Re-reads the credentials because `stale` was rejected, unless another caller already
    /// replaced them. On failure the stale value is dropped, so the next call reads again.
    pub async fn refresh(&self, stale: &Arc<Credentials>) -> Result<Arc<Credentials>, ApiError> {
        let mut slot = self.cached.lock().await;
        if let Some(current) = slot.as_ref()
            && !Arc::ptr_eq(&current.creds, stale)
        {
            return Ok(current.creds.clone());
        }
        *slot = None;
        Ok(store(&mut slot, self.source.fetch().await?))
    }
}

impl CredentialStore<ConfiguredSource> {
    /// The store the functions use: the configured source and cache age.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let source = ConfiguredSource::from_config(config.secret.as_ref().map_err(Clone::clone)?);
        let max_age = Duration::from_secs(config.secret_cache_seconds.clone()?);
        Ok(Self::with_max_age(source, max_age))
    }
}

fn store(slot: &mut Option<Cached>, creds: Credentials) -> Arc<Credentials> {
    let creds = Arc::new(creds);
    *slot = Some(Cached { creds: creds.clone(), read_at: Instant::now() });
    creds
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that answers from a script of results and counts reads.
    pub(crate) struct ScriptedSource {
        pub answers: Mutex<Vec<Result<Credentials, ApiError>>>,
        pub reads: AtomicUsize,
    }

    impl ScriptedSource {
        pub(crate) fn new(mut answers: Vec<Result<Credentials, ApiError>>) -> Self {
            answers.reverse();
            Self { answers: Mutex::new(answers), reads: AtomicUsize::new(0) }
        }
    }

    impl SecretSource for ScriptedSource {
        async fn fetch(&self) -> Result<Credentials, ApiError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.answers.lock().unwrap().pop().expect("no scripted answer left")
        }
    }

    fn c(secret: &str) -> Credentials {
        Credentials::new("key".into(), secret.into())
    }

    fn env_of(vars: &[(&str, &str)]) -> SdkEnvironment {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SdkEnvironment::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn sdk_environment_follows_the_aws_variables_and_their_precedence() {
        let env = |region: Option<&str>, endpoint: Option<&str>| SdkEnvironment {
            region: region.map(str::to_string),
            endpoint_url: endpoint.map(str::to_string),
        };
        assert_eq!(env_of(&[]), env(None, None));
        assert_eq!(
            env_of(&[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-east-1")]),
            env(Some("eu-west-1"), None)
        );
        assert_eq!(env_of(&[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-1")]), env(Some("us-east-1"), None));
        let both = [("AWS_ENDPOINT_URL", "http://all:1"), ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm:2")];
        assert_eq!(env_of(&both), env(None, Some("http://sm:2")));
        assert_eq!(env_of(&both[..1]), env(None, Some("http://all:1")));
        let ignored = [both[0], both[1], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE")];
        assert_eq!(env_of(&ignored), env(None, None));
        let not_ignored = [both[1], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")];
        assert_eq!(env_of(&not_ignored), env(None, Some("http://sm:2")));
    }

    #[test]
    fn sdk_config_carries_the_region_timeouts_one_retry_and_the_transport() {
        let config = env_of(&[("AWS_REGION", "eu-west-1")]).sdk_config();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(SECRETS_CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(SECRETS_ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(SECRETS_OPERATION_TIMEOUT));
        assert_eq!(config.retry_config().unwrap().max_attempts(), 2);
        assert!(config.http_client().is_some(), "the SDK has no HTTP client of its own: it must be given reqwest");
        assert_eq!(env_of(&[]).sdk_config().region(), None);
    }

    #[test]
    fn secret_string_parsing() {
        let ok = parse_secret_string(r#"{"APP_ACCESS_KEY":"k","APP_SECRET":"s","other":1}"#).unwrap();
        assert_eq!((ok.access_key.as_str(), ok.secret()), ("k", b"s".as_slice()));
        let cases = [
            ("not json", "not a JSON object"),
            ("[]", "not a JSON object"),
            (r#"{"APP_SECRET":"s"}"#, "APP_ACCESS_KEY"),
            (r#"{"APP_ACCESS_KEY":"","APP_SECRET":"s"}"#, "APP_ACCESS_KEY"),
            (r#"{"APP_ACCESS_KEY":"k"}"#, "APP_SECRET"),
            (r#"{"APP_ACCESS_KEY":"k","APP_SECRET":""}"#, "APP_SECRET"),
            (r#"{"APP_ACCESS_KEY":"k","APP_SECRET":42}"#, "not a JSON object"),
        ];
        for (input, needle) in cases {
            let err = parse_secret_string(input).unwrap_err();
            assert_eq!(err.code(), "config", "{input}");
            assert!(err.to_string().contains(needle), "{input}: {err}");
        }
        let err = parse_secret_string(r#"{"APP_ACCESS_KEY":"k","APP_SECRET":123456789}"#).unwrap_err();
        assert!(!err.to_string().contains("123456789"), "the secret's content is never quoted");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!("{:?}", Credentials::new("key-1".into(), "super-secret-value".into()));
        assert!(shown.contains("key-1"));
        assert!(!shown.contains("super-secret-value"));
    }

    #[tokio::test]
    async fn read_once_then_cached() {
        let store = CredentialStore::new(ScriptedSource::new(vec![Ok(c("s1"))]));
        let a = store.get().await.unwrap();
        let b = store.get().await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_cached() {
        let store = CredentialStore::new(ScriptedSource::new(vec![
            Err(ApiError::CredentialsUnavailable("down".into())),
            Ok(c("s1")),
        ]));
        assert_eq!(store.get().await.unwrap_err().code(), "credentials_unavailable");
        assert_eq!(store.get().await.unwrap().secret(), b"s1");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refresh_rereads_once_and_keeps_a_newer_value() {
        let store = CredentialStore::new(ScriptedSource::new(vec![Ok(c("old")), Ok(c("new"))]));
        let old = store.get().await.unwrap();
        let new = store.refresh(&old).await.unwrap();
        assert_eq!(new.secret(), b"new");
        let again = store.refresh(&old).await.unwrap();
        assert!(Arc::ptr_eq(&new, &again), "a second refresh for the same stale value does not read again");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failed_refresh_drops_the_stale_value() {
        let store = CredentialStore::new(ScriptedSource::new(vec![
            Ok(c("old")),
            Err(ApiError::CredentialsUnavailable("down".into())),
            Ok(c("new")),
        ]));
        let old = store.get().await.unwrap();
        assert!(store.refresh(&old).await.is_err());
        assert_eq!(store.get().await.unwrap().secret(), b"new");
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_are_read_again_after_the_max_age_and_kept_if_that_fails() {
        let store = CredentialStore::with_max_age(
            ScriptedSource::new(vec![
                Ok(c("first")),
                Ok(c("rotated")),
                Err(ApiError::CredentialsUnavailable("down".into())),
            ]),
            Duration::from_secs(60),
        );
        assert_eq!(store.get().await.unwrap().secret(), b"first");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"first");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"rotated");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"rotated", "a failed re-read keeps the cached value");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_first_reads_share_one_fetch() {
        let store = Arc::new(CredentialStore::new(ScriptedSource::new(vec![Ok(c("s"))])));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move { s.get().await.unwrap() })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap().secret(), b"s");
        }
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
    }
}

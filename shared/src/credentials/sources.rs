//! Where credentials are read from: fixed values, or a Secrets Manager secret.

use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::{Credentials, SecretSource, parse_secret_string, parse_webhook_secret_string};
use crate::error::ApiError;
use crate::tls::Roots;

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
/// (`config::SdkEnvironment`): region from `AWS_REGION`, credentials from `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and the `AWS_ENDPOINT_URL_SECRETS_MANAGER` /
/// `AWS_ENDPOINT_URL` overrides. aws-config's default chain (profile files, web identity through
/// STS, ECS and EC2 metadata) would find nothing more on Lambda, and carrying its code made each
/// binary larger and slower to start (BENCHMARKS.md).
#[derive(Debug)]
pub struct SecretsManagerSource {
    secret_id: String,
    /// `AWS_REGION` and the endpoint override, for the client built on the first read.
    region: Option<String>,
    endpoint_url: Option<String>,
    roots: Roots,
    client: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
    /// What the SecretString holds: the app credentials, or the webhook secret.
    parse: fn(&str) -> Result<Credentials, ApiError>,
}

/// The SDK configuration for `region` and `endpoint_url` (the override, when set):
/// credentials from the environment, our timeouts, one retry, and reqwest as the transport,
/// trusting `roots`.
pub fn sdk_config(region: Option<&str>, endpoint_url: Option<&str>, roots: &Roots) -> aws_sdk_secretsmanager::Config {
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
        .connect_timeout(SECRETS_CONNECT_TIMEOUT)
        .operation_attempt_timeout(SECRETS_ATTEMPT_TIMEOUT)
        .operation_timeout(SECRETS_OPERATION_TIMEOUT)
        .build();
    let mut config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(region.map(|r| aws_sdk_secretsmanager::config::Region::new(r.to_string())))
        .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
        .timeout_config(timeouts)
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::standard().with_max_attempts(2))
        .http_client(crate::sdk_http::http_client(roots));
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    config.build()
}

impl SecretsManagerSource {
    /// Reads `secret_id` in `region`, at `endpoint_url` if set, trusting `roots` (the SDK client
    /// is built on first use, with `sdk_config`).
    pub fn new(secret_id: String, region: Option<String>, endpoint_url: Option<String>, roots: Roots) -> Self {
        Self {
            secret_id,
            region,
            endpoint_url,
            roots,
            client: tokio::sync::OnceCell::new(),
            parse: parse_secret_string,
        }
    }

    /// The same source, reading the webhook secret (`{"WEBHOOK_SECRET": "..."}`) instead.
    pub fn for_webhook_secret(self) -> Self {
        Self { parse: parse_webhook_secret_string, ..self }
    }

    /// Reads `secret_id` through an SDK client the caller configured.
    pub fn with_client(secret_id: String, client: aws_sdk_secretsmanager::Client) -> Self {
        let client = tokio::sync::OnceCell::new_with(Some(client));
        Self { secret_id, region: None, endpoint_url: None, roots: Roots::Compiled, client, parse: parse_secret_string }
    }

    async fn client(&self) -> &aws_sdk_secretsmanager::Client {
        self.client
            .get_or_init(|| async {
                aws_sdk_secretsmanager::Client::from_conf(sdk_config(
                    self.region.as_deref(),
                    self.endpoint_url.as_deref(),
                    &self.roots,
                ))
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
        let creds = (self.parse)(secret_string)?;
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

impl SecretSource for ConfiguredSource {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        match self {
            Self::SecretsManager(s) => s.fetch().await,
            Self::Static(s) => s.fetch().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_config_carries_the_region_timeouts_one_retry_and_the_transport() {
        let config = sdk_config(Some("eu-west-1"), None, &Roots::Compiled);
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(SECRETS_CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(SECRETS_ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(SECRETS_OPERATION_TIMEOUT));
        assert_eq!(config.retry_config().unwrap().max_attempts(), 2);
        assert!(config.http_client().is_some(), "the SDK has no HTTP client of its own: it must be given reqwest");
        assert_eq!(sdk_config(None, None, &Roots::Compiled).region(), None);
    }
}

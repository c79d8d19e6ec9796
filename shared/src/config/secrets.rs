//! Where the secrets come from: the app credentials (`HMS_SECRET_ID`, or `APP_ACCESS_KEY` and
//! `APP_SECRET` locally) and the webhook secret, a secret of its own (`WEBHOOK_SECRET_ID`, or
//! `WEBHOOK_SECRET` locally).

use crate::credentials::MIN_APP_SECRET_BYTES;
use crate::error::ConfigError;

/// Where the app access key and secret come from. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretConfig {
    /// `HMS_SECRET_ID`: a Secrets Manager secret (name or ARN).
    SecretsManager { secret_id: String },
    /// `APP_ACCESS_KEY` / `APP_SECRET` from the environment, for local development.
    Environment { access_key: String, secret: String },
}

/// Where the webhook secret comes from: a secret of its own, which only `webhooks` reads.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookSecretConfig {
    /// `WEBHOOK_SECRET_ID`: a Secrets Manager secret holding `{"WEBHOOK_SECRET": "..."}`.
    SecretsManager { secret_id: String },
    /// `WEBHOOK_SECRET` from the environment, for local development.
    Environment { secret: String },
}

impl std::fmt::Debug for WebhookSecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id } => {
                f.debug_struct("SecretsManager").field("secret_id", secret_id).finish()
            }
            Self::Environment { .. } => f.debug_struct("Environment").field("secret", &"<redacted>").finish(),
        }
    }
}

impl std::fmt::Debug for SecretConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id } => {
                f.debug_struct("SecretsManager").field("secret_id", secret_id).finish()
            }
            Self::Environment { access_key, .. } => {
                f.debug_struct("Environment").field("access_key", access_key).field("secret", &"<redacted>").finish()
            }
        }
    }
}

/// Where the webhook secret comes from: `WEBHOOK_SECRET_ID` (which, like `HMS_SECRET_ID`, needs
/// the region) or `WEBHOOK_SECRET` (32 to 256 bytes).
pub(super) fn webhook_secret_config(
    secret_id: Option<String>,
    secret: Option<String>,
    has_region: bool,
) -> Result<WebhookSecretConfig, ConfigError> {
    match (secret_id, secret) {
        (Some(_), _) if !has_region => Err(ConfigError("WEBHOOK_SECRET_ID is set but AWS_REGION is not".into())),
        (Some(secret_id), _) => Ok(WebhookSecretConfig::SecretsManager { secret_id }),
        (None, Some(secret)) => {
            crate::webhooks::check_webhook_secret(&secret).map_err(ConfigError)?;
            Ok(WebhookSecretConfig::Environment { secret })
        }
        (None, None) => Err(ConfigError(
            "set WEBHOOK_SECRET_ID (a Secrets Manager secret holding {\"WEBHOOK_SECRET\": ...}), or WEBHOOK_SECRET"
                .into(),
        )),
    }
}

/// Where the credentials come from. A Secrets Manager secret also needs the AWS region, which
/// Lambda always sets: without it every read would fail, so it is a configuration error at start.
pub(super) fn secret_config(
    secret_id: Option<String>,
    access_key: Option<String>,
    secret: Option<String>,
    has_region: bool,
) -> Result<SecretConfig, ConfigError> {
    match (secret_id, access_key, secret) {
        (Some(_), _, _) if !has_region => Err(ConfigError(
            "HMS_SECRET_ID is set but AWS_REGION is not (Lambda sets it; set it when running elsewhere)".into(),
        )),
        (Some(secret_id), _, _) => Ok(SecretConfig::SecretsManager { secret_id }),
        (None, Some(_), Some(secret)) if secret.len() < MIN_APP_SECRET_BYTES => Err(ConfigError(format!(
            "APP_SECRET is shorter than {MIN_APP_SECRET_BYTES} bytes: tokens signed with it could be forged offline"
        ))),
        (None, Some(access_key), Some(secret)) => Ok(SecretConfig::Environment { access_key, secret }),
        _ => Err(ConfigError("set HMS_SECRET_ID (a Secrets Manager secret), or APP_ACCESS_KEY and APP_SECRET".into())),
    }
}

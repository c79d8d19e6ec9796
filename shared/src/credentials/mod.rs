//! The app access key and secret, and the webhook secret: the value ([`Credentials`]), where it is read from
//! (`sources`) and how a warm container caches it (`cache`). The webhook secret is a secret of
//! its own (`WEBHOOK_SECRET_ID`), which only the `webhooks` function reads, and that function
//! never reads the app secret: its credentials hold the webhook secret alone.

mod cache;
mod sources;

use std::future::Future;

use serde::Deserialize;

pub use cache::CredentialStore;
pub use sources::{
    ConfiguredSource, SECRETS_ATTEMPT_TIMEOUT, SECRETS_CONNECT_TIMEOUT, SECRETS_OPERATION_TIMEOUT,
    SecretsManagerSource, StaticSource, sdk_config,
};

use crate::error::ApiError;

/// Shortest `APP_SECRET` accepted: HS256 tokens signed with a short secret can be brute-forced
/// offline from any one token.
pub const MIN_APP_SECRET_BYTES: usize = 32;

/// The app access key and secret, and the secret 100ms's webhooks carry in their header (when
/// the secret has one). `Debug` never shows either secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    secret: String,
    webhook_secret: Option<String>,
}

impl Credentials {
    pub fn new(access_key: String, secret: String) -> Self {
        Self { access_key, secret, webhook_secret: None }
    }

    /// The webhook secret alone: what the `webhooks` function holds (no app key or secret).
    pub fn webhook_only(webhook_secret: String) -> Self {
        Self { access_key: String::new(), secret: String::new(), webhook_secret: Some(webhook_secret) }
    }

    /// The same credentials with `WEBHOOK_SECRET`.
    pub fn with_webhook_secret(mut self, webhook_secret: String) -> Self {
        self.webhook_secret = Some(webhook_secret);
        self
    }

    pub fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// `WEBHOOK_SECRET`, when the secret has one.
    pub fn webhook_secret(&self) -> Option<&str> {
        self.webhook_secret.as_deref()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let webhook = self.webhook_secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .field("webhook_secret", &webhook)
            .finish()
    }
}

/// Parses a SecretString of the form `{"APP_ACCESS_KEY": "...", "APP_SECRET": "..."}`. Other
/// fields are ignored (a `WEBHOOK_SECRET` left there from before it had a secret of its own
/// included: no function reads it from here). The error never quotes the secret's content.
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
        (Some(_), Some(secret)) if secret.len() < MIN_APP_SECRET_BYTES => Err(ApiError::Config(format!(
            "the secret's APP_SECRET is shorter than {MIN_APP_SECRET_BYTES} bytes: tokens signed with it could be forged offline"
        ))),
        (Some(access_key), Some(secret)) => Ok(Credentials::new(access_key, secret)),
        (None, _) => Err(ApiError::Config("the secret has no non-empty APP_ACCESS_KEY".into())),
        (_, None) => Err(ApiError::Config("the secret has no non-empty APP_SECRET".into())),
    }
}

/// Parses the webhook secret's SecretString, `{"WEBHOOK_SECRET": "..."}` (32 to 256 bytes), into
/// credentials that hold it alone. The error never quotes the secret's content.
pub fn parse_webhook_secret_string(secret_string: &str) -> Result<Credentials, ApiError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "WEBHOOK_SECRET")]
        webhook_secret: String,
    }
    let raw: Raw = serde_json::from_str(secret_string)
        .map_err(|_| ApiError::Config("the webhook secret is not a JSON object with a WEBHOOK_SECRET string".into()))?;
    crate::webhooks::check_webhook_secret(&raw.webhook_secret)
        .map_err(|why| ApiError::Config(format!("the webhook secret's {why}")))?;
    Ok(Credentials::webhook_only(raw.webhook_secret))
}

/// Where credentials are read from. The seam tests swap.
pub trait SecretSource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<Credentials, ApiError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_parsing() {
        let ok =
            parse_secret_string(r#"{"APP_ACCESS_KEY":"k","APP_SECRET":"0123456789abcdef0123456789abcdef","other":1}"#)
                .unwrap();
        assert_eq!((ok.access_key.as_str(), ok.secret()), ("k", b"0123456789abcdef0123456789abcdef".as_slice()));
        let cases = [
            ("not json", "not a JSON object"),
            ("[]", "not a JSON object"),
            (r#"{"APP_SECRET":"0123456789abcdef0123456789abcdef"}"#, "APP_ACCESS_KEY"),
            (r#"{"APP_ACCESS_KEY":"","APP_SECRET":"0123456789abcdef0123456789abcdef"}"#, "APP_ACCESS_KEY"),
            (r#"{"APP_ACCESS_KEY":"k"}"#, "APP_SECRET"),
            (r#"{"APP_ACCESS_KEY":"k","APP_SECRET":""}"#, "APP_SECRET"),
            (r#"{"APP_ACCESS_KEY":"k","APP_SECRET":42}"#, "not a JSON object"),
            (r#"{"APP_ACCESS_KEY":"k","APP_SECRET":"31-bytes-is-one-byte-too-short!"}"#, "shorter than 32 bytes"),
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
    fn the_webhook_secret_has_a_secret_of_its_own() {
        let app = r#"{"APP_ACCESS_KEY":"k","APP_SECRET":"0123456789abcdef0123456789abcdef","WEBHOOK_SECRET":"w"}"#;
        assert_eq!(parse_secret_string(app).unwrap().webhook_secret(), None, "not read from the app secret");
        let hook = parse_webhook_secret_string(r#"{"WEBHOOK_SECRET":"w-0123456789abcdef0123456789abcdef"}"#).unwrap();
        assert_eq!(hook.webhook_secret(), Some("w-0123456789abcdef0123456789abcdef"));
        assert!(hook.secret().is_empty() && hook.access_key.is_empty(), "it holds the webhook secret alone");
        for bad in [r#"{"WEBHOOK_SECRET":""}"#, r#"{"WEBHOOK_SECRET":7}"#, r#"{"WEBHOOK_SECRET":"w-123"}"#, "{}", app] {
            let err = parse_webhook_secret_string(bad).unwrap_err();
            assert_eq!(err.code(), "config", "{bad}");
            assert!(!err.to_string().contains("w-123"), "{err}");
        }
        let shown = format!("{hook:?}");
        assert!(!shown.contains("w-0123"), "{shown}");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!("{:?}", Credentials::new("key-1".into(), "super-secret-value".into()));
        assert!(shown.contains("key-1"));
        assert!(!shown.contains("super-secret-value"));
    }
}

//! Secrets Manager for the tests: moto's server, reached through the AWS SDK.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials as AwsCredentials, Region};
use serde_json::json;

use crate::binaries::workspace_root;

/// moto's endpoint: `MOTO_ENDPOINT` when it names a running server (scripts/test.sh starts one
/// for the whole suite), else a server this process starts once, from `.venv` (scripts/setup.sh
/// installs it), which ends with the process.
pub fn moto_endpoint() -> String {
    static STARTED: OnceLock<String> = OnceLock::new();
    if let Some(endpoint) = std::env::var("MOTO_ENDPOINT").ok().filter(|e| !e.is_empty()) {
        return endpoint;
    }
    STARTED.get_or_init(start_moto).clone()
}

fn start_moto() -> String {
    let server: PathBuf = workspace_root().join(".venv/bin/moto_server");
    assert!(server.exists(), "{} is missing: run scripts/setup.sh first", server.display());
    crate::server::start_local_server("moto_server", server, |port| {
        vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]
    })
}

/// A fresh random app secret.
pub fn fresh_secret() -> String {
    format!("test-secret-{}", uuid::Uuid::new_v4().simple())
}

/// A Secrets Manager client for `endpoint`, with test credentials and the functions' transport.
pub fn sm_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3))
        .build();
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(AwsCredentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .timeout_config(timeouts)
        .http_client(hms_shared::sdk_http::http_client(&hms_shared::tls::Roots::Compiled))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// Creates a secret in moto through the AWS API; returns its name (`hms/<scope>/<random>`).
pub async fn create_secret_in(scope: &str, secret_string: &str) -> String {
    let name = format!("hms/{scope}/{}", uuid::Uuid::new_v4().simple());
    sm_client(&moto_endpoint())
        .create_secret()
        .name(&name)
        .secret_string(secret_string)
        .send()
        .await
        .expect("creating the secret in moto");
    name
}

/// Creates a secret in moto through the AWS API; returns its name.
pub async fn create_secret(secret_string: &str) -> String {
    create_secret_in("test", secret_string).await
}

/// Puts a new value into a secret (a rotation).
pub async fn put_secret(name: &str, secret_string: &str) {
    sm_client(&moto_endpoint())
        .put_secret_value()
        .secret_id(name)
        .secret_string(secret_string)
        .send()
        .await
        .expect("putting the secret value in moto");
}

/// A SecretString as the functions read it.
pub fn secret_json(key: &str, secret: &str) -> String {
    json!({"APP_ACCESS_KEY": key, "APP_SECRET": secret}).to_string()
}

/// The webhook secret's own SecretString, as `webhooks` reads it (`WEBHOOK_SECRET_ID`).
pub fn webhook_secret_json(webhook_secret: &str) -> String {
    json!({"WEBHOOK_SECRET": webhook_secret}).to_string()
}

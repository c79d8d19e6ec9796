//! The Secrets Manager source exactly as the functions build it (region and endpoint override as
//! configuration reads them, AWS credentials from the environment as Lambda provides them) reads
//! a secret from moto through the real AWS API shape. Its own test binary: it sets the AWS
//! credential variables of this process when they are unset, as Lambda would.

use hms_shared::credentials::{Credentials, SecretSource, SecretsManagerSource};
use hms_shared::tls::Roots;
use hms_test_support::{create_secret, fresh_secret, moto_endpoint, secret_json};

#[test]
fn the_functions_own_sdk_configuration_reads_the_secret() {
    for (name, value) in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")] {
        if std::env::var_os(name).is_none_or(|v| v.is_empty()) {
            // SAFETY: the only test of this binary, before its runtime starts: no other thread
            // reads the environment.
            unsafe { std::env::set_var(name, value) };
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let secret = fresh_secret();
        let id = create_secret(&secret_json("key-own-config", &secret)).await;
        let source = SecretsManagerSource::new(id, Some("us-east-1".into()), Some(moto_endpoint()), Roots::Compiled);
        let creds = source.fetch().await.unwrap();
        assert_eq!(creds, Credentials::new("key-own-config".into(), secret));
    });
}

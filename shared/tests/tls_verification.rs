//! Verification is on: an endpoint whose certificate comes from the run's CA is refused by the
//! compiled-in roots and trusted through a file that holds the CA. (Its own test binary: the
//! handshake-count test sets `SSL_CERT_FILE` for its whole process.)

use std::time::Duration;

use hms_test_support::tls::{TestCa, TlsFront};

/// The compiled-in roots do not know the run's CA, so the endpoint is refused; the CA's file,
/// named as `SSL_CERT_FILE` would name it, is trusted.
#[tokio::test]
async fn an_endpoint_is_trusted_only_through_the_roots_that_hold_its_ca() {
    use hms_shared::tls::{Roots, client_config};

    let ca = TestCa::generate();
    let hms = hms_test_support::Hms::start("k", "s").await;
    let front = TlsFront::start(&ca, &hms.base).await;
    let get = |roots: Roots| {
        let url = format!("{}/v2/rooms", front.url());
        async move {
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured(client_config(&roots).unwrap())
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            client.get(url).send().await
        }
    };

    let refused = get(Roots::Compiled).await.unwrap_err();
    assert!(format!("{refused:?}").contains("UnknownIssuer"), "{refused:?}");
    assert_eq!(front.handshakes(), 0, "no handshake completed with an untrusted certificate");

    let file = std::env::temp_dir().join(format!("hms-tls-test-roots-{}.pem", std::process::id()));
    ca.write_bundle(&file, None).unwrap();
    let answer = get(Roots::Files { file: Some(file.clone()), dirs: vec![] }).await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(answer.unwrap().status(), 401, "the emulator's answer to a request without a token");
    assert_eq!(front.handshakes(), 1);
}

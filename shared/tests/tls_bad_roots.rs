//! `SSL_CERT_FILE` naming a file that cannot be read: every HTTPS client fails, and says why,
//! rather than trusting other roots. (Its own test binary: it sets test AWS credentials and a log
//! subscriber for its process.)

use hms_shared::app;
use hms_shared::config::Config;
use hms_shared::logging::capture::Captured;
use hms_shared::logging::{LogFormat, log_subscriber};
use hms_test_support::fixtures::{answer, event, post};
use hms_test_support::{Handle, Hms};

/// A file `SSL_CERT_FILE` names that does not exist.
const BAD_ROOTS: &str = "/nonexistent/private-ca.pem";

#[test]
fn an_unreadable_ssl_cert_file_fails_the_requests_with_the_reason() {
    // SAFETY: no other thread runs yet; the SDK reads its credentials (test values: nothing is
    // sent) when it signs.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    }
    let log = Captured::default();
    let writer = log.clone();
    let filter = tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO);
    let _logging = tracing::subscriber::set_default(log_subscriber(filter, LogFormat::Json, move || writer.clone()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let secret = hms_test_support::moto::fresh_secret();
        let hms = Hms::start("key", &secret).await;
        // Nothing listens there: no client may get as far as connecting.
        let vars = [
            ("HMS_SECRET_ID", "hms/bad-roots".to_string()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://127.0.0.1:9".into()),
            ("ALLOWED_ROLES", "host,guest".into()),
            ("SSL_CERT_FILE", BAD_ROOTS.into()),
        ];
        let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));

        // The secret's read is the first call: no credentials, and the reason.
        let auth_token = app::auth_token(&config).unwrap();
        let (status, body) = answer(&auth_token.handle(event("auth-token.json")).await);
        assert_eq!((status, body["error"].as_str()), (503, Some("credentials_unavailable")), "{body}");
        let logged = log.text();
        let why = "reading trust roots (SSL_CERT_FILE / SSL_CERT_DIR)";
        assert!(logged.contains(why) && logged.contains(BAD_ROOTS), "{logged}");

        // With credentials from the environment, the 100ms call is the one that fails.
        let vars = [
            ("APP_ACCESS_KEY", "key".to_string()),
            ("APP_SECRET", secret),
            ("HMS_API_BASE_URL", hms.api()),
            ("SSL_CERT_FILE", BAD_ROOTS.into()),
        ];
        let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
        let create_room = app::create_room(&config).unwrap();
        let (status, body) = answer(&create_room.handle(post("/create-room", r#"{"name":"r"}"#)).await);
        assert_eq!((status, body["error"].as_str()), (500, Some("internal")), "{body}");
        assert!(!body.to_string().contains("/nonexistent"), "the reason stays in the log: {body}");
        assert_eq!(log.text().matches(why).count(), 2, "the 100ms call failed for the same reason: {}", log.text());
    });
}

//! Every call over HTTPS, as on AWS: moto's Secrets Manager, dynalite and the 100ms emulator
//! behind TLS endpoints with a certificate from a CA made for the run, trusted through
//! `SSL_CERT_FILE` (read with the configuration) as a deployment trusts a private CA. The endpoints count the handshakes they
//! complete: a function's first invocation opens one connection per service, and warm
//! invocations open none.
//!
//! One test in its own binary: it sets test AWS credentials for its process, as Lambda does.

use std::time::Duration;

use hms_shared::app;
use hms_shared::config::Config;
use hms_test_support::dynalite::{create_events_table, dynalite_endpoint};
use hms_test_support::fixtures::{answer, event, get, post};
use hms_test_support::moto::moto_endpoint;
use hms_test_support::tls::{TestCa, TlsFront};
use hms_test_support::{Backends, Handle};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::Value;

/// Handshakes completed at each endpoint: (Secrets Manager, DynamoDB, 100ms).
fn counts(fronts: &[&TlsFront; 3]) -> [u64; 3] {
    fronts.map(TlsFront::handshakes)
}

/// The pause between two invocations, as the runtime's poll for the next event makes one: the
/// client hands a finished connection back to its pool in a task of its own, which runs while
/// the function waits (back-to-back calls with no await between them could miss it).
async fn between_invocations() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Has `function` answer `event()` once cold, then five times warm, each a 200; the endpoints must
/// have counted `handshakes` (Secrets Manager, DynamoDB, 100ms) after the cold invocation and
/// not one more after the warm ones. Returns the cold answer.
async fn cold_then_warm<F: Handle>(
    function: &F,
    event: impl Fn() -> ApiGatewayV2httpRequest,
    fronts: &[&TlsFront; 3],
    handshakes: [u64; 3],
) -> Value {
    let (status, cold) = answer(&function.handle(event()).await);
    assert_eq!(status, 200, "{cold}");
    assert_eq!(counts(fronts), handshakes, "the cold invocation's handshakes (Secrets Manager, DynamoDB, 100ms)");
    for _ in 0..5 {
        between_invocations().await;
        let (status, body) = answer(&function.handle(event()).await);
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(counts(fronts), handshakes, "warm invocations reuse the connections");
    cold
}

#[test]
fn one_handshake_per_service_per_container_and_none_when_warm() {
    let ca = TestCa::generate();
    let bundle = std::env::temp_dir().join(format!("hms-tls-test-ca-{}.pem", std::process::id()));
    ca.write_bundle(&bundle, None).unwrap();
    // SAFETY: no other thread runs yet; the SDK reads its credentials (test values, as on a fresh
    // machine with none of its own) when it signs.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    }

    // One thread, as the functions run.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let backends = Backends::start("tls").await;
        let table = create_events_table().await;
        let sm = TlsFront::start(&ca, &moto_endpoint()).await;
        let ddb = TlsFront::start(&ca, &dynalite_endpoint()).await;
        let hms = TlsFront::start(&ca, &backends.hms.base).await;
        let fronts = [&sm, &ddb, &hms];
        let vars = [
            ("HMS_SECRET_ID", backends.secret_id.clone()),
            ("WEBHOOK_SECRET_ID", backends.webhook_secret_id.clone()),
            ("HMS_API_BASE_URL", format!("{}/v2", hms.url())),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.url()),
            ("AWS_ENDPOINT_URL_DYNAMODB", ddb.url()),
            ("EVENTS_TABLE", table),
            ("ALLOWED_ROLES", "host,guest".into()),
            ("SSL_CERT_FILE", bundle.display().to_string()),
        ];
        let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));

        // create-room: the secret, then 100ms; each over one new connection, kept.
        let create_room = app::create_room(&config).unwrap();
        let create = || post("/create-room", r#"{"name":"tls-room"}"#);
        let room = cold_then_warm(&create_room, create, &fronts, [1, 0, 1]).await;

        // session-analytics in the same process: its own clients, the same TLS configuration; one
        // more connection to each service it calls.
        let analytics = app::session_analytics(&config).unwrap();
        let room_id = room["id"].as_str().unwrap();
        let list = || get("/session-list-by-room", &[("room_id", room_id)]);
        cold_then_warm(&analytics, list, &fronts, [2, 0, 2]).await;

        // webhooks: the secret, then the table.
        let webhooks = app::webhooks(&config).unwrap();
        let delivery = || {
            let mut ev = event("webhooks-peer-join.json");
            ev.headers.insert("x-100ms-webhook-secret", backends.webhook_secret.parse().unwrap());
            ev
        };
        cold_then_warm(&webhooks, delivery, &fronts, [3, 1, 2]).await;

        // auth-token with callers signing in: the secret, then the room's rules in the table (one
        // more handshake than without sign-in), and none when warm.
        let mut jwt_vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        jwt_vars.extend(hms_test_support::local_jwt_rules().into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let jwt = Config::from_lookup(|k| jwt_vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        let tokens = app::auth_token(&jwt).unwrap();
        cold_then_warm(&tokens, || event("auth-token-jwt.json"), &fronts, [4, 2, 2]).await;
    });
    std::fs::remove_file(&bundle).unwrap();
}

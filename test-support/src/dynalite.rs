//! DynamoDB for the tests: dynalite (a DynamoDB-compatible server on Node.js, installed pinned in
//! `tools/dynalite/` by scripts/setup.sh), reached through aws-sdk-dynamodb; its tables created
//! from `template.yaml`'s definition of the events table, so the two cannot drift.

use std::sync::OnceLock;

use aws_sdk_dynamodb::types::{AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType};
use serde_yaml_ng::Value;

use crate::binaries::workspace_root;

/// dynalite's endpoint: `DYNALITE_ENDPOINT` when it names a running server, else a server this
/// process starts once (in memory), which ends with the process.
pub fn dynalite_endpoint() -> String {
    static STARTED: OnceLock<String> = OnceLock::new();
    if let Some(endpoint) = std::env::var("DYNALITE_ENDPOINT").ok().filter(|e| !e.is_empty()) {
        return endpoint;
    }
    STARTED
        .get_or_init(|| {
            let cli = workspace_root().join("tools/dynalite/node_modules/dynalite/cli.js");
            assert!(cli.exists(), "{} is missing: run scripts/setup.sh first", cli.display());
            crate::server::start_local_server("dynalite", "node".into(), |port| {
                vec![cli.display().to_string(), "--host".into(), "127.0.0.1".into(), "--port".into(), port.to_string()]
            })
        })
        .clone()
}

/// A DynamoDB client for `endpoint`, with test credentials and the functions' configuration.
pub fn ddb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let conf = hms_shared::store::sdk_config(Some("us-east-1"), Some(endpoint))
        .to_builder()
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// `Resources.EventsTable.Properties` of template.yaml.
pub fn template_table() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).expect("template.yaml parses");
    doc["Resources"]["EventsTable"]["Properties"].clone()
}

/// Creates a table named `hms-events-<random>` in dynalite with the template's attribute
/// definitions, key schema and billing mode; returns its name. (TTL is not switched on: dynalite
/// lacks `UpdateTimeToLive`, a control-plane call that expires nothing within a test.)
pub async fn create_events_table() -> String {
    let props = template_table();
    let name = format!("hms-events-{}", uuid::Uuid::new_v4().simple());
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_else(|| panic!("EventsTable: {k} missing")).to_string();
    let mut create = ddb_client(&dynalite_endpoint()).create_table().table_name(&name);
    for a in props["AttributeDefinitions"].as_sequence().expect("AttributeDefinitions") {
        let kind = ScalarAttributeType::from(text(a, "AttributeType").as_str());
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName"))
                .attribute_type(kind)
                .build()
                .unwrap(),
        );
    }
    for k in props["KeySchema"].as_sequence().expect("KeySchema") {
        let kind = KeyType::from(text(k, "KeyType").as_str());
        create = create.key_schema(
            KeySchemaElement::builder().attribute_name(text(k, "AttributeName")).key_type(kind).build().unwrap(),
        );
    }
    let billing = aws_sdk_dynamodb::types::BillingMode::from(text(&props, "BillingMode").as_str());
    create.billing_mode(billing).send().await.expect("creating the events table in dynalite");
    // As in AWS, a new table is CREATING for a while (dynalite: half a second) before it is used.
    let client = ddb_client(&dynalite_endpoint());
    let started = std::time::Instant::now();
    loop {
        let described = client.describe_table().table_name(&name).send().await.expect("describing the table");
        if described.table().and_then(|t| t.table_status()) == Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return name;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{name} not ACTIVE within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

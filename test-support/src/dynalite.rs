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
    let conf = hms_shared::store::sdk_config(Some("us-east-1"), Some(endpoint), &hms_shared::tls::Roots::Compiled)
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
    let name = format!("hms-events-{}", uuid::Uuid::new_v4().simple());
    create_table_from_template(&ddb_client(&dynalite_endpoint()), &name).await.expect("creating the events table");
    name
}

/// Creates table `name` through `client` as template.yaml defines the events table, and waits
/// until it is ACTIVE. A table that already exists is left as it is.
pub async fn create_table_from_template(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), String> {
    let props = template_table();
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_string).ok_or(format!("EventsTable: {k} missing"));
    let mut create = client.create_table().table_name(name);
    for a in props["AttributeDefinitions"].as_sequence().ok_or("EventsTable: AttributeDefinitions missing")? {
        let kind = ScalarAttributeType::from(text(a, "AttributeType")?.as_str());
        let def = AttributeDefinition::builder().attribute_name(text(a, "AttributeName")?).attribute_type(kind);
        create = create.attribute_definitions(def.build().map_err(|e| e.to_string())?);
    }
    for k in props["KeySchema"].as_sequence().ok_or("EventsTable: KeySchema missing")? {
        let kind = KeyType::from(text(k, "KeyType")?.as_str());
        let key = KeySchemaElement::builder().attribute_name(text(k, "AttributeName")?).key_type(kind);
        create = create.key_schema(key.build().map_err(|e| e.to_string())?);
    }
    let billing = aws_sdk_dynamodb::types::BillingMode::from(text(&props, "BillingMode")?.as_str());
    if let Err(e) = create.billing_mode(billing).send().await {
        let exists = e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception());
        if !exists {
            return Err(format!("creating {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
        }
    }
    // As in AWS, a new table is CREATING for a while (dynalite: half a second) before it is used.
    let started = std::time::Instant::now();
    loop {
        let described = client.describe_table().table_name(name).send().await;
        let described = described
            .map_err(|e| format!("describing {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        if described.table().and_then(|t| t.table_status()) == Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(format!("{name} not ACTIVE within 10 s"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

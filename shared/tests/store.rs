//! The events table against dynalite, created from template.yaml's definition: the keys the code
//! uses are the template's, and a conditional write stores an event once however often it comes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use hms_shared::store::{EventsTable, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint, template_table};

#[test]
fn the_code_uses_the_templates_keys_and_ttl() {
    let t = template_table();
    let keys: Vec<(&str, &str)> = t["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| (k["AttributeName"].as_str().unwrap(), k["KeyType"].as_str().unwrap()))
        .collect();
    assert_eq!(keys, [(PARTITION_KEY, "HASH"), (SORT_KEY, "RANGE")]);
    assert_eq!(t["TimeToLiveSpecification"]["AttributeName"].as_str(), Some(TTL_ATTRIBUTE));
    assert_eq!(t["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(t["BillingMode"].as_str(), Some("PAY_PER_REQUEST"), "on-demand capacity");
    assert_eq!(t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(t["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
}

fn event(id: &str, body: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PARTITION_KEY.to_string(), AttributeValue::S(format!("EVENT#{id}"))),
        (SORT_KEY.to_string(), AttributeValue::S("EVENT".into())),
        ("body".to_string(), AttributeValue::S(body.into())),
    ])
}

#[tokio::test]
async fn an_event_is_stored_once_however_often_it_comes() {
    let name = create_events_table().await;
    let table = EventsTable::new(ddb_client(&dynalite_endpoint()), name);
    assert!(table.put_once(event("e1", "first")).await.unwrap(), "the first delivery is stored");
    for _ in 0..3 {
        assert!(!table.put_once(event("e1", "again")).await.unwrap(), "a duplicate is not");
    }
    let stored = table.get("EVENT#e1", "EVENT").await.unwrap().expect("stored");
    assert_eq!(stored["body"], AttributeValue::S("first".into()), "the first stays as it was");
    assert!(table.get("EVENT#nope", "EVENT").await.unwrap().is_none());
}

#[tokio::test]
async fn a_table_that_cannot_be_reached_is_an_error_never_a_success() {
    let table = EventsTable::new(ddb_client("http://127.0.0.1:9"), "hms-events-gone".into());
    let err = table.put_once(event("e2", "x")).await.unwrap_err();
    assert_eq!(err.status(), 502, "{err}");
    assert!(err.to_string().contains("events table is unavailable"), "{err}");
}

//! Reconcile's checkpoint and replay outcomes in the events table (`Checkpoints`): partition
//! `RECONCILE`, apart from every other item, so only `reconcile` is granted it.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{EventsTable, RECONCILE_PK, TTL_ATTRIBUTE, epoch, keys, s, text};
use crate::store::{Checkpoints, StoreFuture};

const CHECKPOINT_SK: &str = "CHECKPOINT";
const STATE: &str = "state";
const VERSION: &str = "version";

impl Checkpoints for EventsTable {
    fn checkpoint(&self) -> StoreFuture<'_, Option<(String, u64)>> {
        Box::pin(async move {
            let item = self.get(RECONCILE_PK, CHECKPOINT_SK).await?;
            Ok(item.and_then(|i| {
                let version = i.get(VERSION).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())?;
                Some((text(&i, STATE)?.to_string(), version))
            }))
        })
    }

    fn save_checkpoint<'a>(&'a self, json: &'a str, read: Option<u64>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let next = read.map_or(1, |v| v + 1);
            let mut item = keys(RECONCILE_PK.into(), CHECKPOINT_SK.into());
            item.insert(STATE.into(), s(json));
            item.insert(VERSION.into(), AttributeValue::N(next.to_string()));
            let put = self.put_builder(item).expression_attribute_names("#v", VERSION);
            let put = match read {
                None => put.condition_expression("attribute_not_exists(#v)"),
                Some(v) => put
                    .condition_expression("#v = :v")
                    .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
            };
            super::conditional(put).await
        })
    }

    fn record_outcome<'a>(&'a self, name: &'a str, json: &'a str, until: DateTime<Utc>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let at = crate::store::stamp(Utc::now());
            let mut item = keys(RECONCILE_PK.into(), format!("OUTCOME#{at}#{name}"));
            item.insert("outcome".into(), s(json));
            item.insert(TTL_ATTRIBUTE.into(), epoch(until));
            self.put(item).await
        })
    }
}

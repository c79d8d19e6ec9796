//! The DynamoDB events table (`EVENTS_TABLE`), single-table design, reached through
//! aws-sdk-dynamodb over the same reqwest transport as Secrets Manager (`sdk_http`). The only
//! module that knows the table's keys, attribute names and `AttributeValue`.
//!
//! Keys: every item has a partition key `pk` and a sort key `sk`, both strings; raw events carry
//! `expires_at` (epoch seconds), the table's TTL attribute. The table itself is defined once, in
//! `template.yaml` (`EventsTable`); the tests create their local table from that definition and
//! check these names against it. Items (docs/events-table.md):
//! - an event of a session: `SESSION#<session id>#<shard>` / `EVENT#<event id>`, the shard
//!   (`00` to `31`) from the event id (`store::shard_of`), so a session's burst of events spreads
//!   over 32 partitions (events kept before the shards: `SESSION#<session id>`, still read); an
//!   event of no session: `EVENT#<id>` / `EVENT`. Attributes: `type`, `body` (as received),
//!   `received_at`, `room_id`, `session_id`, `expires_at`;
//! - a closed session: `SESSION#<session id>` / `CLOSED`: `room_id`, `session_id`, `started_at`,
//!   `stopped_at`, `expires_at` (as its report); and a marker in each shard,
//!   `SESSION#<session id>#<shard>` / `CLOSED`, the same, with `build_gen` once a report build has
//!   begun, living as long as the raw events;
//! - its report: `ROOM#<room id>` / `REPORT#<started at>#<session id>`: the same, `gen`, and once
//!   built `report` (gzip), `events` and `built_gen`; `expires_at` (`REPORT_RETENTION_DAYS`);
//! - a report queued to build: `BUILD#QUEUE` / `<queued at>#<session id>`: the session's
//!   fields (reconcile builds them, docs/webhooks.md);
//! - reconcile's checkpoint: `RECONCILE` / `CHECKPOINT`: `state` (JSON), `version`; the outcome
//!   of each replay it asked for: `RECONCILE` / `OUTCOME#<at>#<name>`: `outcome` (JSON),
//!   `expires_at`;
//! - a room's owner and access: `OWNER#<room id>` / `OWNER`: `owner`, `set_by`, `set_at`, and
//!   `access` (`open` or `members`) with `access_set_by`, `access_set_at` once set;
//! - a room name reserved by its creator: `NAME#<name, lower case>` / `NAME`: `owner`, `set_by`,
//!   `set_at`;
//! - a room's member (or banned user): `MEMBERS#<room id>` / `USER#<user id>`: `user_id`,
//!   `roles` (a list), `banned`, `set_by`, `set_at`; kept while it holds a role or a ban. Its
//!   own partition: a class of 20,000 asking for tokens reads the room's item and the members'
//!   partition, never 2 items a request from one partition.

mod events;
mod reconcile;
mod rooms;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, ReturnValue, WriteRequest};

use super::unavailable;
use crate::error::ApiError;
use crate::tls::Roots;

/// One item: attribute names and values.
type Item = HashMap<String, AttributeValue>;

/// The partition key's attribute name.
pub const PARTITION_KEY: &str = "pk";
/// The sort key's attribute name.
pub const SORT_KEY: &str = "sk";
/// The TTL attribute (epoch seconds after which DynamoDB may delete the item).
pub const TTL_ATTRIBUTE: &str = "expires_at";

const EVENT_PREFIX: &str = "EVENT#";
const CLOSED_SK: &str = "CLOSED";
const BUILD_QUEUE_PK: &str = "BUILD#QUEUE";
/// A marker's attribute: the generation of the report build begun since the close.
const BUILD_GEN: &str = "build_gen";
/// A report item's attribute: the generation its report was built at.
const BUILT_GEN: &str = "built_gen";
const OWNER_SK: &str = "OWNER";
const OWNER_PK_PREFIX: &str = "OWNER#";
const NAME_PK_PREFIX: &str = "NAME#";
const MEMBERS_PK_PREFIX: &str = "MEMBERS#";

/// The partition keys the rooms' rules live under (`Owners`): what `template.yaml` grants the
/// functions that decide who runs and who joins a room, and nobody else.
pub const ROOM_RULES_KEY_PREFIXES: [&str; 3] = [OWNER_PK_PREFIX, MEMBERS_PK_PREFIX, NAME_PK_PREFIX];
/// The partition of reconcile's checkpoint and replay outcomes (`Checkpoints`).
pub const RECONCILE_PK: &str = "RECONCILE";
/// The partition keys of the events, closed sessions and reports (`Store`).
pub const EVENT_KEY_PREFIXES: [&str; 4] = ["SESSION#", EVENT_PREFIX, "ROOM#", "BUILD#"];
const BODY: &str = "body";
const OWNER: &str = "owner";
/// A report item's report (gzip) and the number of peer events it was built from.
const REPORT: &str = "report";
const EVENTS: &str = "events";
/// The attribute that changes each time a report is marked to build again.
const GENERATION: &str = "gen";

/// Connect timeout towards DynamoDB.
pub const DYNAMODB_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for one attempt, and for the whole call including the SDK's retries.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const DYNAMODB_OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

/// The SDK configuration for `region` and `endpoint_url` (`AWS_ENDPOINT_URL_DYNAMODB` or
/// `AWS_ENDPOINT_URL`, when set): credentials from the environment, as on Lambda; our timeouts;
/// the SDK's standard retries (3 attempts, which DynamoDB's throttling calls for); reqwest as the
/// transport, trusting `roots`.
pub fn sdk_config(region: Option<&str>, endpoint_url: Option<&str>, roots: &Roots) -> aws_sdk_dynamodb::Config {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(DYNAMODB_CONNECT_TIMEOUT)
        .operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT)
        .operation_timeout(DYNAMODB_OPERATION_TIMEOUT)
        .build();
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(region.map(|r| aws_sdk_dynamodb::config::Region::new(r.to_string())))
        .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
        .timeout_config(timeouts)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(3))
        .http_client(crate::sdk_http::http_client(roots));
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    config.build()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn keys(pk: String, sk: String) -> Item {
    Item::from([(PARTITION_KEY.to_string(), AttributeValue::S(pk)), (SORT_KEY.to_string(), AttributeValue::S(sk))])
}

fn epoch(t: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

/// The events table as the functions use it. Clones share one SDK client, which is built on the
/// first call, not at start: a cold start does not pay for it before it is needed (a
/// `session-analytics` container may never read the history).
#[derive(Debug, Clone)]
pub struct EventsTable {
    client: std::sync::Arc<std::sync::OnceLock<aws_sdk_dynamodb::Client>>,
    /// The region, endpoint override and trust roots of the client built on first use.
    reach: (Option<String>, Option<String>, Roots),
    name: String,
}

impl EventsTable {
    /// Table `name` through a client the caller configured.
    pub fn new(client: aws_sdk_dynamodb::Client, name: String) -> Self {
        Self {
            client: std::sync::Arc::new(std::sync::OnceLock::from(client)),
            reach: (None, None, Roots::Compiled),
            name,
        }
    }

    /// Table `name` in `region`, at `endpoint_url` if set, trusting `roots` ([`sdk_config`], on
    /// first use).
    pub fn lazy(name: String, region: Option<String>, endpoint_url: Option<String>, roots: Roots) -> Self {
        Self { client: std::sync::Arc::default(), reach: (region, endpoint_url, roots), name }
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.client.get_or_init(|| {
            let (region, endpoint_url, roots) = &self.reach;
            aws_sdk_dynamodb::Client::from_conf(sdk_config(region.as_deref(), endpoint_url.as_deref(), roots))
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn put_builder(&self, item: Item) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client().put_item().table_name(&self.name).set_item(Some(item))
    }

    /// Writes `item`, replacing any item with its keys.
    async fn put(&self, item: Item) -> Result<(), ApiError> {
        Box::pin(self.put_builder(item).send()).await.map(|_| ()).map_err(|e| unavailable(&DisplayErrorContext(&e)))
    }

    /// Writes `item` unless an item with its keys exists.
    async fn put_new(&self, item: Item) -> Result<bool, ApiError> {
        let put = self.put_builder(item);
        conditional(
            put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PARTITION_KEY),
        )
        .await
    }

    /// Updates the item with keys `pk`/`sk` by `expression` (names `#n0`.., values as given),
    /// if `condition` holds: the attributes it had before (`Some`, empty when it was new), or
    /// `None` when the condition did not hold.
    async fn update(
        &self,
        (pk, sk): (String, String),
        expression: &str,
        names: &[&str],
        values: Vec<(String, AttributeValue)>,
        condition: Option<&str>,
    ) -> Result<Option<Item>, ApiError> {
        let mut update = self
            .client()
            .update_item()
            .table_name(&self.name)
            .set_key(Some(keys(pk, sk)))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_string))
            .return_values(ReturnValue::UpdatedOld);
        for (i, name) in names.iter().enumerate() {
            update = update.expression_attribute_names(format!("#n{i}"), *name);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match Box::pin(update.send()).await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Ok(None)
            }
            Err(e) => Err(unavailable(&DisplayErrorContext(&e))),
        }
    }

    /// Sets each of `fields` on the item with keys `keys` (its other attributes stay), if
    /// `condition` holds; the condition names field `i` `#n<i>` and its value `:v<i>`. As
    /// [`EventsTable::update`]: the attributes before, or `None` when the condition did not hold.
    pub(super) async fn set(
        &self,
        keys: (String, String),
        fields: Vec<(&str, AttributeValue)>,
        condition: Option<&str>,
    ) -> Result<Option<Item>, ApiError> {
        let assignments: Vec<String> = (0..fields.len()).map(|i| format!("#n{i} = :v{i}")).collect();
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        let values = fields.into_iter().enumerate().map(|(i, (_, v))| (format!(":v{i}"), v)).collect();
        self.update(keys, &format!("SET {}", assignments.join(", ")), &names, values, condition).await
    }

    /// Deletes the item with keys `pk`/`sk` if `condition` holds (values as given): `true` when
    /// deleted, `false` when the condition did not hold.
    async fn delete(
        &self,
        (pk, sk): (String, String),
        condition: Option<&str>,
        values: Vec<(String, AttributeValue)>,
    ) -> Result<bool, ApiError> {
        let mut delete = self
            .client()
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(keys(pk, sk)))
            .set_condition_expression(condition.map(str::to_string));
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        match Box::pin(delete.send()).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(DeleteItemError::ConditionalCheckFailedException(_))) => {
                Ok(false)
            }
            Err(e) => Err(unavailable(&DisplayErrorContext(&e))),
        }
    }

    /// Writes every item of `items` (replacing items with their keys), 25 to a request as
    /// DynamoDB takes them, the requests at once; items DynamoDB leaves unprocessed (throttling)
    /// are sent again, twice at most, then it is a 503.
    async fn put_all(&self, items: Vec<Item>) -> Result<(), ApiError> {
        let batches = items.chunks(25).map(|chunk| async move {
            let mut left: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build();
                    put.map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| ApiError::Internal(format!("a batch write's item: {e}")))
                })
                .collect::<Result<_, _>>()?;
            for _ in 0..3 {
                let sent = self.client().batch_write_item().request_items(&self.name, left).send();
                let out = Box::pin(sent).await.map_err(|e| unavailable(&DisplayErrorContext(&e)))?;
                match out.unprocessed_items.and_then(|mut u| u.remove(&self.name)) {
                    Some(rest) if !rest.is_empty() => left = rest,
                    _ => return Ok(()),
                }
            }
            Err(unavailable(&"the table left items of a batch write unprocessed three times"))
        });
        futures_util::future::try_join_all(batches).await.map(|_| ())
    }

    /// The items with these keys that exist, read in one request (strongly consistent). Keys
    /// DynamoDB leaves unprocessed (throttling) are asked again, twice at most, then it is a 503.
    async fn get_many(&self, wanted: Vec<Item>) -> Result<Vec<Item>, ApiError> {
        let mut found = Vec::new();
        let mut ask = wanted;
        for _ in 0..3 {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(ask))
                .consistent_read(true)
                .build()
                .map_err(|e| ApiError::Internal(format!("a batch read's keys: {e}")))?;
            let sent = self.client().batch_get_item().request_items(&self.name, keys).send();
            let out = Box::pin(sent).await.map_err(|e| unavailable(&DisplayErrorContext(&e)))?;
            found.extend(out.responses.and_then(|mut r| r.remove(&self.name)).unwrap_or_default());
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.name)).map(|k| k.keys) {
                Some(left) if !left.is_empty() => ask = left,
                _ => return Ok(found),
            }
        }
        Err(unavailable(&"the table left keys of a batch read unprocessed three times"))
    }

    /// Items of partition `pk` whose sort key starts with `sk_prefix`, in sort-key order
    /// (`forward`) or reversed; at most `limit` (DynamoDB's 1 MB page otherwise), from after
    /// `after_sk`. Answers the items and, when more may follow, the sort key to continue after.
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        forward: bool,
        limit: Option<u32>,
        after_sk: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>), ApiError> {
        let start = after_sk.map(|sk| keys(pk.into(), sk.into()));
        let sent = self
            .client()
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(sk_prefix))
            .scan_index_forward(forward)
            .set_limit(limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send();
        let out = Box::pin(sent).await.map_err(|e| unavailable(&DisplayErrorContext(&e)))?;
        let next = out.last_evaluated_key.as_ref().and_then(|k| k.get(SORT_KEY)).and_then(|v| v.as_s().ok()).cloned();
        Ok((out.items.unwrap_or_default(), next))
    }

    /// The item with these keys, if any.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, ApiError> {
        let sent = self
            .client()
            .get_item()
            .table_name(&self.name)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send();
        let out = Box::pin(sent).await.map_err(|e| unavailable(&DisplayErrorContext(&e)))?;
        Ok(out.item)
    }
}

/// Sends a conditional put: `true` when written, `false` when its condition did not hold.
async fn conditional(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
) -> Result<bool, ApiError> {
    match Box::pin(put.send()).await {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => Ok(false),
        Err(e) => Err(unavailable(&DisplayErrorContext(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_config_carries_the_region_timeouts_retries_and_the_transport() {
        let config = sdk_config(Some("eu-west-1"), Some("http://127.0.0.1:4567"), &Roots::Compiled);
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(DYNAMODB_CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(DYNAMODB_OPERATION_TIMEOUT));
        assert_eq!(config.retry_config().unwrap().max_attempts(), 3);
        assert!(config.http_client().is_some(), "reqwest, not a second HTTP stack");
    }
}

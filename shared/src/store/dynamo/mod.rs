//! The DynamoDB events table (`EVENTS_TABLE`), single-table design, reached through
//! aws-sdk-dynamodb over the same reqwest transport as Secrets Manager (`sdk_http`). The only
//! module that knows the table's keys, attribute names and `AttributeValue`.
//!
//! Keys: every item has a partition key `pk` and a sort key `sk`, both strings; raw events carry
//! `expires_at` (epoch seconds), the table's TTL attribute. The table itself is defined once, in
//! `template.yaml` (`EventsTable`); the tests create their local table from that definition and
//! check these names against it. Items (docs/events-table.md):
//! - an event of a session: `SESSION#<session id>` / `EVENT#<event id>` (others: `EVENT#<id>` /
//!   `EVENT`): `type`, `body` (as received), `received_at`, `room_id`, `session_id`, `expires_at`;
//! - a closed session: `SESSION#<session id>` / `CLOSED`: `room_id`, `session_id`, `started_at`,
//!   `stopped_at`;
//! - its report: `ROOM#<room id>` / `REPORT#<started at>#<session id>`: the same, `gen`, and once
//!   built `report` (gzip) and `events`;
//! - a room's owner and access: `OWNER#<room id>` / `OWNER`: `owner`, `set_by`, `set_at`, and
//!   `access` (`open` or `members`) with `access_set_by`, `access_set_at` once set;
//! - a room name reserved by its creator: `NAME#<name, lower case>` / `NAME`: `owner`, `set_by`,
//!   `set_at`;
//! - a room's member (or banned user): `MEMBERS#<room id>` / `USER#<user id>`: `user_id`,
//!   `roles` (a list), `banned`, `set_by`, `set_at`; kept while it holds a role or a ban. Its
//!   own partition: a class of 20,000 asking for tokens reads the room's item and the members'
//!   partition, never 2 items a request from one partition.

mod rooms;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

use super::{BuiltReport, ClosedSession, EventRecord, ReportKey, Store, StoreFuture, StoredReport, stamp, unavailable};
use crate::error::ApiError;
use crate::time::parse_rfc3339;
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
const OWNER_SK: &str = "OWNER";
const OWNER_PK_PREFIX: &str = "OWNER#";
const NAME_PK_PREFIX: &str = "NAME#";
const MEMBERS_PK_PREFIX: &str = "MEMBERS#";

/// The partition keys the rooms' rules live under (`Owners`): what `template.yaml` grants the
/// functions that decide who runs and who joins a room, and nobody else.
pub const ROOM_RULES_KEY_PREFIXES: [&str; 3] = [OWNER_PK_PREFIX, MEMBERS_PK_PREFIX, NAME_PK_PREFIX];
/// The partition keys of the events, closed sessions and reports (`Store`).
pub const EVENT_KEY_PREFIXES: [&str; 3] = ["SESSION#", EVENT_PREFIX, "ROOM#"];
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

fn session_pk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

fn room_pk(room_id: &str) -> String {
    format!("ROOM#{room_id}")
}

/// The keys an event is kept under: in its session's partition when it names a session.
fn event_keys(event_id: &str, session_id: Option<&str>) -> (String, String) {
    match session_id {
        Some(session) => (session_pk(session), format!("{EVENT_PREFIX}{event_id}")),
        None => (format!("{EVENT_PREFIX}{event_id}"), "EVENT".into()),
    }
}

fn event_item(event: &EventRecord<'_>) -> Item {
    let (pk, sk) = event_keys(event.id, event.session_id);
    let mut item = keys(pk, sk);
    item.insert("type".into(), s(event.kind));
    item.insert(BODY.into(), s(&String::from_utf8_lossy(event.body)));
    item.insert("received_at".into(), s(&stamp(event.received_at)));
    item.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(event.expires_at.timestamp().to_string()));
    for (name, value) in [("room_id", event.room_id), ("session_id", event.session_id)] {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    item
}

fn describe(closed: &ClosedSession, item: &mut Item) {
    item.insert("room_id".into(), s(&closed.room_id));
    item.insert("session_id".into(), s(&closed.session_id));
    item.insert("started_at".into(), s(&stamp(closed.started_at)));
    if let Some(t) = closed.stopped_at {
        item.insert("stopped_at".into(), s(&stamp(t)));
    }
}

fn closed_item(closed: &ClosedSession) -> Item {
    let mut item = keys(session_pk(&closed.session_id), CLOSED_SK.into());
    describe(closed, &mut item);
    item
}

/// From a closed-session or a report item.
fn closed_from(item: &Item) -> Option<ClosedSession> {
    Some(ClosedSession {
        room_id: text(item, "room_id")?.to_string(),
        session_id: text(item, "session_id")?.to_string(),
        started_at: parse_rfc3339(text(item, "started_at")?)?,
        stopped_at: text(item, "stopped_at").and_then(parse_rfc3339),
    })
}

/// The report item of generation `generation`: with `report` and `events` when built, neither
/// when still to build.
fn report_item(closed: &ClosedSession, generation: &str, built: Option<&BuiltReport>) -> Item {
    let mut item = keys(room_pk(&closed.room_id), closed.report_key().0);
    item.insert(GENERATION.into(), s(generation));
    describe(closed, &mut item);
    if let Some(report) = built {
        item.insert(REPORT.into(), AttributeValue::B(report.gzip.clone().into()));
        item.insert(EVENTS.into(), AttributeValue::N(report.events.to_string()));
    }
    item
}

fn report_from(item: &Item) -> Result<StoredReport, ApiError> {
    let closed = closed_from(item).ok_or_else(|| ApiError::Internal("a report item without its session".into()))?;
    let built = item.get(REPORT).and_then(|v| v.as_b().ok()).map(|gzip| BuiltReport {
        gzip: gzip.as_ref().to_vec(),
        events: item.get(EVENTS).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or_default(),
    });
    Ok(StoredReport { closed, generation: text(item, GENERATION).unwrap_or_default().to_string(), built })
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

    /// Writes `item` if the item with its keys has `attribute` equal to `value`.
    async fn put_if_equal(&self, item: Item, attribute: &str, value: &str) -> Result<bool, ApiError> {
        let put = self.put_builder(item);
        conditional(
            put.condition_expression("#a = :v")
                .expression_attribute_names("#a", attribute)
                .expression_attribute_values(":v", s(value)),
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

impl Store for EventsTable {
    fn put_event_once<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, bool> {
        Box::pin(self.put_new(event_item(event)))
    }

    fn event_body<'a>(&'a self, id: &'a str, session_id: Option<&'a str>) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let (pk, sk) = event_keys(id, session_id);
            Ok(self.get(&pk, &sk).await?.as_ref().and_then(|i| text(i, BODY)).map(str::to_string))
        })
    }

    fn session_events<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let pk = session_pk(session_id);
            let mut bodies = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let (items, next) = self.query(&pk, EVENT_PREFIX, true, None, after.as_deref()).await?;
                bodies.extend(items.iter().filter_map(|i| text(i, BODY)).map(str::to_string));
                match next {
                    Some(sk) => after = Some(sk),
                    None => return Ok(bodies),
                }
            }
        })
    }

    fn mark_closed<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, ()> {
        Box::pin(self.put(closed_item(closed)))
    }

    fn closed_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<ClosedSession>> {
        Box::pin(async move { Ok(self.get(&session_pk(session_id), CLOSED_SK).await?.as_ref().and_then(closed_from)) })
    }

    fn mark_report_to_build<'a>(&'a self, closed: &'a ClosedSession, generation: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.put(report_item(closed, generation, None)))
    }

    fn put_report<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        report: &'a BuiltReport,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.put_if_equal(report_item(closed, generation, Some(report)), GENERATION, generation))
    }

    fn report<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, Option<StoredReport>> {
        Box::pin(async move {
            match self.get(&room_pk(&closed.room_id), closed.report_key().as_str()).await? {
                Some(item) => report_from(&item).map(Some),
                None => Ok(None),
            }
        })
    }

    fn report_page<'a>(
        &'a self,
        room_id: &'a str,
        limit: u32,
        after: Option<&'a ReportKey>,
    ) -> StoreFuture<'a, (Vec<StoredReport>, Option<ReportKey>)> {
        Box::pin(async move {
            let after = after.map(ReportKey::as_str);
            let (items, next) = self.query(&room_pk(room_id), super::REPORT_PREFIX, false, Some(limit), after).await?;
            let reports = items.iter().map(report_from).collect::<Result<Vec<_>, _>>()?;
            Ok((reports, next.and_then(ReportKey::parse)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{closed, t};

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

    #[test]
    fn an_event_is_kept_in_its_sessions_partition_with_its_body_as_sent() {
        let body = br#"{"id":"e1","type":"peer.leave.success"}"#;
        let event = EventRecord {
            id: "e1",
            kind: "peer.leave.success",
            room_id: Some("r1"),
            session_id: Some("s1"),
            body,
            received_at: t("10:00:00"),
            expires_at: t("10:00:00") + chrono::TimeDelta::days(90),
        };
        let item = event_item(&event);
        assert_eq!(item[PARTITION_KEY], s("SESSION#s1"));
        assert_eq!(item[SORT_KEY], s("EVENT#e1"));
        assert_eq!(item[BODY], s(std::str::from_utf8(body).unwrap()));
        assert_eq!(item["type"], s("peer.leave.success"));
        assert_eq!(item["room_id"], s("r1"));
        assert_eq!(item[TTL_ATTRIBUTE], AttributeValue::N((t("10:00:00").timestamp() + 90 * 86_400).to_string()));
        let no_session = event_item(&EventRecord { session_id: None, room_id: None, ..event });
        assert_eq!((&no_session[PARTITION_KEY], &no_session[SORT_KEY]), (&s("EVENT#e1"), &s("EVENT")));
        assert!(!no_session.contains_key("room_id"));
    }

    #[test]
    fn report_and_closed_items_read_back_as_written() {
        assert_eq!(closed_from(&closed_item(&closed())), Some(closed()));
        let marked = report_item(&closed(), "g1", None);
        assert_eq!(marked[SORT_KEY], s("REPORT#2026-11-27T10:00:00.000Z#s1"));
        assert_eq!(report_from(&marked), Ok(StoredReport { closed: closed(), generation: "g1".into(), built: None }));
        let built = BuiltReport { gzip: vec![1, 2, 3], events: 7 };
        let item = report_item(&closed(), "g2", Some(&built));
        assert_eq!(report_from(&item).unwrap().built, Some(built));
    }
}

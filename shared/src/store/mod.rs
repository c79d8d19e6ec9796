//! The events table (`EVENTS_TABLE`): one DynamoDB table, single-table design, reached through
//! aws-sdk-dynamodb over the same reqwest transport as Secrets Manager (`sdk_http`).
//!
//! Keys: every item has a partition key `pk` and a sort key `sk`, both strings; raw events carry
//! `expires_at` (epoch seconds), the table's TTL attribute. The table itself is defined once, in
//! `template.yaml` (`EventsTable`); the tests create their local table from that definition and
//! check these names against it.

use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

/// One item: attribute names and values.
pub type Item = HashMap<String, AttributeValue>;

use crate::error::{ApiError, ErrorCode};

/// The partition key's attribute name.
pub const PARTITION_KEY: &str = "pk";
/// The sort key's attribute name.
pub const SORT_KEY: &str = "sk";
/// The TTL attribute (epoch seconds after which DynamoDB may delete the item).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Connect timeout towards DynamoDB.
pub const DYNAMODB_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for one attempt, and for the whole call including the SDK's retries.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
pub const DYNAMODB_OPERATION_TIMEOUT: Duration = Duration::from_secs(8);

/// The SDK configuration for `region` and `endpoint_url` (`AWS_ENDPOINT_URL_DYNAMODB` or
/// `AWS_ENDPOINT_URL`, when set): credentials from the environment, as on Lambda; our timeouts;
/// the SDK's standard retries (3 attempts, which DynamoDB's throttling calls for); reqwest as the
/// transport.
pub fn sdk_config(region: Option<&str>, endpoint_url: Option<&str>) -> aws_sdk_dynamodb::Config {
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
        .http_client(crate::sdk_http::http_client());
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    config.build()
}

/// The events table as the functions use it. Clones share one SDK client, which is built on the
/// first call, not at start: a cold start does not pay for it before it is needed (a
/// `session-analytics` container may never read the history).
#[derive(Debug, Clone)]
pub struct EventsTable {
    client: std::sync::Arc<std::sync::OnceLock<aws_sdk_dynamodb::Client>>,
    /// The region and endpoint override of the client built on first use.
    reach: (Option<String>, Option<String>),
    name: String,
}

impl EventsTable {
    /// Table `name` through a client the caller configured.
    pub fn new(client: aws_sdk_dynamodb::Client, name: String) -> Self {
        Self { client: std::sync::Arc::new(std::sync::OnceLock::from(client)), reach: (None, None), name }
    }

    /// Table `name` in `region`, at `endpoint_url` if set ([`sdk_config`], on first use).
    pub fn lazy(name: String, region: Option<String>, endpoint_url: Option<String>) -> Self {
        Self { client: std::sync::Arc::default(), reach: (region, endpoint_url), name }
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.client.get_or_init(|| {
            aws_sdk_dynamodb::Client::from_conf(sdk_config(self.reach.0.as_deref(), self.reach.1.as_deref()))
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes `item` (which must carry both keys) unless an item with its keys exists: `true` when
    /// written, `false` for a duplicate. The write is conditional, so two deliveries of the same
    /// event racing each other store it once.
    pub async fn put_once(&self, item: Item) -> Result<bool, ApiError> {
        let put = self.client().put_item().table_name(&self.name).set_item(Some(item));
        conditional(
            put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PARTITION_KEY),
        )
        .await
    }

    /// Writes `item`, replacing any item with its keys.
    pub async fn put(&self, item: Item) -> Result<(), ApiError> {
        let sent = self.client().put_item().table_name(&self.name).set_item(Some(item)).send();
        Box::pin(sent).await.map(|_| ()).map_err(|e| unavailable(&DisplayErrorContext(&e)))
    }

    /// Writes `item` if the item with its keys has `attribute` equal to `value` (text): `true` when
    /// written, `false` when it has another value or does not exist.
    pub async fn put_if_equal(&self, item: Item, attribute: &str, value: &str) -> Result<bool, ApiError> {
        let put = self.client().put_item().table_name(&self.name).set_item(Some(item));
        conditional(
            put.condition_expression("#a = :v")
                .expression_attribute_names("#a", attribute)
                .expression_attribute_values(":v", AttributeValue::S(value.into())),
        )
        .await
    }

    /// Writes `item` unless an item with its keys exists whose `attribute` is not `value`: `true`
    /// when written (new, or the same value), `false` when another value holds it.
    pub async fn put_if_absent_or_equal(&self, item: Item, attribute: &str, value: &str) -> Result<bool, ApiError> {
        let put = self.client().put_item().table_name(&self.name).set_item(Some(item));
        conditional(
            put.condition_expression("attribute_not_exists(#pk) OR #a = :v")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#a", attribute)
                .expression_attribute_values(":v", AttributeValue::S(value.into())),
        )
        .await
    }

    /// Items of partition `pk` whose sort key starts with `sk_prefix`, in sort-key order
    /// (`forward`) or reversed; at most `limit` (DynamoDB's 1 MB page otherwise), from after
    /// `after_sk`. Answers the items and, when more may follow, the sort key to continue after.
    pub async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        forward: bool,
        limit: Option<i32>,
        after_sk: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>), ApiError> {
        let start = after_sk.map(|sk| {
            HashMap::from([
                (PARTITION_KEY.to_string(), AttributeValue::S(pk.into())),
                (SORT_KEY.to_string(), AttributeValue::S(sk.into())),
            ])
        });
        let sent = self
            .client()
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.into()))
            .scan_index_forward(forward)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send();
        let out = Box::pin(sent).await.map_err(|e| unavailable(&DisplayErrorContext(&e)))?;
        let next = out.last_evaluated_key.as_ref().and_then(|k| k.get(SORT_KEY)).and_then(|v| v.as_s().ok()).cloned();
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Every item of partition `pk` whose sort key starts with `sk_prefix`, page after page.
    pub async fn query_all(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, ApiError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (items, next) = self.query(pk, sk_prefix, true, None, after.as_deref()).await?;
            all.extend(items);
            match next {
                Some(sk) => after = Some(sk),
                None => return Ok(all),
            }
        }
    }

    /// The item with these keys, if any.
    pub async fn get(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, ApiError> {
        let sent = self
            .client()
            .get_item()
            .table_name(&self.name)
            .key(PARTITION_KEY, AttributeValue::S(pk.into()))
            .key(SORT_KEY, AttributeValue::S(sk.into()))
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

/// The table could not be read or written now: a 503, so a caller (100ms's webhook delivery
/// included) tries again; never an answer that claims what was not done. The SDK's text (which
/// can name the account, the role and the table's ARN) goes to the log only.
fn unavailable(why: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %why, "the events table failed");
    ApiError::upstream(ErrorCode::UpstreamUnreachable, "the events table is unavailable right now; try again shortly")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_config_carries_the_region_timeouts_retries_and_the_transport() {
        let config = sdk_config(Some("eu-west-1"), Some("http://127.0.0.1:4567"));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(DYNAMODB_CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(DYNAMODB_OPERATION_TIMEOUT));
        assert_eq!(config.retry_config().unwrap().max_attempts(), 3);
        assert!(config.http_client().is_some(), "reqwest, not a second HTTP stack");
    }
}

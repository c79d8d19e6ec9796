//! DynamoDB's per-partition limits, counted: a proxy on the loopback in front of dynalite that
//! passes every request on unchanged and records, for each write (PutItem, UpdateItem,
//! DeleteItem, each item of a BatchWriteItem) and each read of an item or a partition (GetItem,
//! Query, each key of a BatchGetItem), its partition key and the second it came in. On AWS one
//! partition key takes at most 1,000 writes and 3,000 reads a second; nothing local enforces
//! that, so the burst test counts against it here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;

/// DynamoDB's limits per partition key, per second.
pub const WRITES_PER_PARTITION_SECOND: u32 = 1_000;
pub const READS_PER_PARTITION_SECOND: u32 = 3_000;

/// Counts by (partition key, second since the epoch).
type Counts = HashMap<(String, i64), u32>;

#[derive(Default)]
struct Tally {
    writes: Counts,
    reads: Counts,
}

#[derive(Clone)]
struct Proxy {
    target: String,
    http: reqwest::Client,
    tally: Arc<Mutex<Tally>>,
}

/// A running proxy.
pub struct PartitionCount {
    pub url: String,
    tally: Arc<Mutex<Tally>>,
    _task: tokio::task::JoinHandle<()>,
}

/// The hottest partition in one second: its key, the second, and the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hottest {
    pub pk: String,
    pub second: i64,
    pub count: u32,
}

impl PartitionCount {
    /// A proxy to `target` (dynalite's endpoint).
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tally = Arc::new(Mutex::new(Tally::default()));
        let proxy = Proxy {
            target: target.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap(),
            tally: tally.clone(),
        };
        let router = axum::Router::new().fallback(pass).with_state(proxy);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Self { url, tally, _task: task }
    }

    /// Forgets what was counted so far.
    pub fn reset(&self) {
        *self.tally.lock().unwrap() = Tally::default();
    }

    fn hottest(counts: &Counts) -> Option<Hottest> {
        counts.iter().max_by_key(|(_, n)| **n).map(|((pk, second), n)| Hottest {
            pk: pk.clone(),
            second: *second,
            count: *n,
        })
    }

    /// The partition key and second with the most writes.
    pub fn hottest_writes(&self) -> Option<Hottest> {
        Self::hottest(&self.tally.lock().unwrap().writes)
    }

    /// The partition key and second with the most reads.
    pub fn hottest_reads(&self) -> Option<Hottest> {
        Self::hottest(&self.tally.lock().unwrap().reads)
    }

    /// Writes per partition key, over the whole count.
    pub fn writes_by_partition(&self) -> HashMap<String, u64> {
        let mut by = HashMap::new();
        for ((pk, _), n) in &self.tally.lock().unwrap().writes {
            *by.entry(pk.clone()).or_default() += u64::from(*n);
        }
        by
    }

    /// Reads per partition key, over the whole count.
    pub fn reads_by_partition(&self) -> HashMap<String, u64> {
        let mut by = HashMap::new();
        for ((pk, _), n) in &self.tally.lock().unwrap().reads {
            *by.entry(pk.clone()).or_default() += u64::from(*n);
        }
        by
    }
}

fn pk_of(v: &Value) -> Option<String> {
    v.get("pk").and_then(|k| k.get("S")).and_then(Value::as_str).map(str::to_string)
}

/// The partition keys a request writes and reads.
pub fn partitions(target: &str, body: &Value) -> (Vec<String>, Vec<String>) {
    let op = target.rsplit('.').next().unwrap_or_default();
    let items = |f: &dyn Fn(&Value) -> Vec<String>| -> Vec<String> {
        body.get("RequestItems")
            .and_then(Value::as_object)
            .map(|t| t.values().flat_map(f).collect())
            .unwrap_or_default()
    };
    match op {
        "PutItem" => (body.get("Item").and_then(pk_of).into_iter().collect(), vec![]),
        "UpdateItem" | "DeleteItem" => (body.get("Key").and_then(pk_of).into_iter().collect(), vec![]),
        "BatchWriteItem" => (
            items(&|reqs| {
                reqs.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        r.pointer("/PutRequest/Item")
                            .and_then(pk_of)
                            .or_else(|| r.pointer("/DeleteRequest/Key").and_then(pk_of))
                    })
                    .collect()
            }),
            vec![],
        ),
        "GetItem" => (vec![], body.get("Key").and_then(pk_of).into_iter().collect()),
        "Query" => {
            let pk = body.pointer("/ExpressionAttributeValues/:pk/S").and_then(Value::as_str).map(str::to_string);
            (vec![], pk.into_iter().collect())
        }
        "BatchGetItem" => (
            vec![],
            items(&|t| t.get("Keys").and_then(Value::as_array).into_iter().flatten().filter_map(pk_of).collect()),
        ),
        _ => (vec![], vec![]),
    }
}

async fn pass(State(proxy): State<Proxy>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if let Ok(json) = serde_json::from_slice::<Value>(&body) {
        let (writes, reads) = partitions(&target, &json);
        let second = chrono::Utc::now().timestamp();
        let mut tally = proxy.tally.lock().unwrap();
        for pk in writes {
            *tally.writes.entry((pk, second)).or_default() += 1;
        }
        for pk in reads {
            *tally.reads.entry((pk, second)).or_default() += 1;
        }
    }
    let mut headers = parts.headers;
    headers.remove(axum::http::header::HOST);
    headers.remove(axum::http::header::CONTENT_LENGTH);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sent =
        proxy.http.request(parts.method, format!("{}{path}", proxy.target)).headers(headers).body(body).send().await;
    match sent {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                if k != axum::http::header::CONTENT_LENGTH && k != axum::http::header::TRANSFER_ENCODING {
                    out = out.header(k, v);
                }
            }
            out.body(Body::from(resp.bytes().await.unwrap_or_default())).unwrap()
        }
        Err(_) => Response::builder().status(502).body(Body::empty()).unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_operation_names_its_partitions() {
        let put = json!({"TableName": "t", "Item": {"pk": {"S": "SESSION#a#03"}, "sk": {"S": "EVENT#1"}}});
        assert_eq!(partitions("DynamoDB_20120810.PutItem", &put), (vec!["SESSION#a#03".to_string()], vec![]));
        let batch = json!({"RequestItems": {"t": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}}]}});
        assert_eq!(partitions("DynamoDB_20120810.BatchWriteItem", &batch).0, ["a", "b"]);
        let query = json!({"ExpressionAttributeValues": {":pk": {"S": "ROOM#r"}}});
        assert_eq!(partitions("DynamoDB_20120810.Query", &query).1, ["ROOM#r"]);
        let get = json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "x"}}, {"pk": {"S": "y"}}]}}});
        assert_eq!(partitions("DynamoDB_20120810.BatchGetItem", &get).1, ["x", "y"]);
        assert_eq!(partitions("DynamoDB_20120810.CreateTable", &json!({})), (vec![], vec![]));
    }
}

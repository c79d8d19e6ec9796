//! Test helpers shared by the integration tests.
#![allow(dead_code)]

pub mod live;

use std::sync::Mutex;

use hms_shared::ApiError;
use hms_shared::hms::HmsApi;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body;
use serde_json::{Map, Value, json};

pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/100ms-examples");
pub const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");

pub fn example(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{EXAMPLES}/{name}")).unwrap()).unwrap()
}

pub fn event(name: &str) -> ApiGatewayV2httpRequest {
    serde_json::from_slice(&std::fs::read(format!("{EVENTS}/{name}")).unwrap()).unwrap()
}

/// Status and parsed JSON body of a response; also checks the content type.
pub fn answer(resp: &ApiGatewayV2httpResponse) -> (u16, Value) {
    assert_eq!(resp.headers["content-type"], "application/json", "every answer is JSON");
    let text = match &resp.body {
        Some(Body::Text(t)) => t.clone(),
        other => panic!("expected a text body, got {other:?}"),
    };
    (resp.status_code as u16, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

/// An in-memory 100ms that behaves like the API on its documented shapes: sessions filtered by
/// room, newest first, `limit`/`start` pagination, 404 for an unknown session.
#[derive(Default)]
pub struct FakeHms {
    /// Newest first, as 100ms lists them.
    pub sessions: Vec<Value>,
    pub created: Mutex<Vec<Map<String, Value>>>,
    pub list_calls: Mutex<Vec<(String, u32, Option<String>)>>,
}

impl FakeHms {
    pub fn from_examples() -> Self {
        let mut sessions: Vec<Value> = example("sessions_list_response.json")["data"].as_array().unwrap().clone();
        sessions.push(example("sessions_retrieve_response.json"));
        Self { sessions, ..Default::default() }
    }
}

impl HmsApi for FakeHms {
    async fn create_room(&self, body: &Map<String, Value>) -> Result<Vec<u8>, ApiError> {
        self.created.lock().unwrap().push(body.clone());
        let mut room = example("rooms_create_response.json");
        for (k, v) in body {
            room[k] = v.clone();
        }
        Ok(serde_json::to_vec(&room).unwrap())
    }

    async fn list_sessions(&self, room_id: &str, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.list_calls.lock().unwrap().push((room_id.into(), limit, start.map(String::from)));
        let of_room: Vec<&Value> = self.sessions.iter().filter(|s| s["room_id"] == room_id).collect();
        let from = match start {
            Some(start) => of_room.iter().position(|s| s["id"] == start).map_or(of_room.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<&Value> = of_room.iter().skip(from).take(limit as usize).copied().collect();
        let last = page.last().map(|s| s["id"].clone());
        let data = if page.is_empty() { Value::Null } else { json!(page) };
        Ok(serde_json::to_vec(&json!({"limit": limit, "data": data, "last": last})).unwrap())
    }

    async fn get_session(&self, session_id: &str) -> Result<Vec<u8>, ApiError> {
        match self.sessions.iter().find(|s| s["id"] == session_id) {
            Some(s) => Ok(serde_json::to_vec(s).unwrap()),
            None => Err(ApiError::UpstreamRejected { status: 404, msg: "session not found".into() }),
        }
    }
}

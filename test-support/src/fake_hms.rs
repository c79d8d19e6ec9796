//! An in-memory 100ms behind the client's trait, for handler tests without a network.

use std::sync::Mutex;

use hms_shared::ApiError;
use hms_shared::hms::HmsApi;
use hms_shared::hms::rooms::NewRoom;
use hms_shared::input::{Role, RoomId, RoomName, SessionId};
use serde_json::{Value, json};

use crate::fixtures::example;

/// Behaves like the API on its documented shapes: sessions filtered by room, newest first,
/// `limit`/`start` pagination, 404 for an unknown session; records what it was asked.
#[derive(Default)]
pub struct FakeHms {
    /// Newest first, as 100ms lists them.
    pub sessions: Vec<Value>,
    /// The rooms created, as the JSON bodies sent.
    pub created: Mutex<Vec<Value>>,
    pub list_calls: Mutex<Vec<(String, u32, Option<String>)>>,
    /// Room codes made, as the docs' room code objects (oldest first).
    pub codes: Mutex<Vec<Value>>,
}

impl FakeHms {
    /// The sessions of the docs' examples.
    pub fn from_examples() -> Self {
        let mut sessions: Vec<Value> = example("sessions_list_response.json")["data"].as_array().unwrap().clone();
        sessions.push(example("sessions_retrieve_response.json"));
        Self { sessions, ..Default::default() }
    }
}

impl HmsApi for FakeHms {
    async fn create_room(&self, room: &NewRoom) -> Result<Vec<u8>, ApiError> {
        let body = serde_json::to_value(room).unwrap();
        self.created.lock().unwrap().push(body.clone());
        let mut created = example("rooms_create_response.json");
        for (k, v) in body.as_object().unwrap() {
            created[k] = v.clone();
        }
        Ok(serde_json::to_vec(&created).unwrap())
    }

    /// The room created with this name, if any (every room made here has the example's id).
    async fn rooms_named(&self, name: &RoomName) -> Result<Vec<u8>, ApiError> {
        let created = self.created.lock().unwrap();
        let named = created.iter().any(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name.as_str())));
        let data: Vec<Value> = if named {
            let mut room = example("rooms_create_response.json");
            room["name"] = json!(name.as_str());
            vec![room]
        } else {
            vec![]
        };
        Ok(serde_json::to_vec(&json!({"limit": 1, "data": data})).unwrap())
    }

    async fn list_sessions(&self, room_id: &RoomId, limit: u32, start: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.list_calls.lock().unwrap().push((room_id.to_string(), limit, start.map(String::from)));
        let of_room: Vec<&Value> = self.sessions.iter().filter(|s| s["room_id"] == room_id.as_str()).collect();
        let from = match start {
            Some(start) => of_room.iter().position(|s| s["id"] == start).map_or(of_room.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<&Value> = of_room.iter().skip(from).take(limit as usize).copied().collect();
        let last = page.last().map(|s| s["id"].clone());
        let data = if page.is_empty() { Value::Null } else { json!(page) };
        Ok(serde_json::to_vec(&json!({"limit": limit, "data": data, "last": last})).unwrap())
    }

    /// Codes in the docs' form: per role asked, or for the docs' example roles (host, guest)
    /// when none is named.
    async fn create_room_codes(&self, room_id: &RoomId, role: Option<&Role>) -> Result<Vec<u8>, ApiError> {
        let mut codes = self.codes.lock().unwrap();
        let mut make = |role: &str| {
            let n = codes.len();
            let mut code = example("room_codes_create_for_role_response.json");
            code["code"] = json!(format!("fak-e{n:03}-cod"));
            code["room_id"] = json!(room_id);
            code["role"] = json!(role);
            codes.push(code.clone());
            code
        };
        let body = match role {
            Some(role) => make(role.as_str()),
            None => {
                let data = ["host", "guest"].map(&mut make);
                json!({ "data": data })
            }
        };
        Ok(serde_json::to_vec(&body).unwrap())
    }

    async fn list_room_codes(
        &self,
        room_id: &RoomId,
        role: Option<&Role>,
        enabled: Option<bool>,
        _start: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        let codes = self.codes.lock().unwrap();
        let data: Vec<&Value> = codes
            .iter()
            .filter(|c| c["room_id"] == room_id.as_str())
            .filter(|c| role.is_none_or(|r| c["role"] == r.as_str()))
            .filter(|c| enabled.is_none_or(|e| c["enabled"] == e))
            .collect();
        Ok(serde_json::to_vec(&json!({"limit": 100, "data": data, "last": ""})).unwrap())
    }

    async fn get_session(&self, session_id: &SessionId) -> Result<Vec<u8>, ApiError> {
        match self.sessions.iter().find(|s| s["id"] == session_id.as_str()) {
            Some(s) => Ok(serde_json::to_vec(s).unwrap()),
            None => Err(ApiError::UpstreamRejected { status: 404, msg: "session not found".into() }),
        }
    }
}

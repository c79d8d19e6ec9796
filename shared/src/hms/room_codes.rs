//! 100ms room codes: the room code object, and the calls that create, list and switch them.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::call::Call;
use crate::error::ApiError;
use crate::input::{Role, RoomCode, RoomId};

/// Codes one list call asks for (100ms's page maximum).
pub const LIST_PAGE_LIMIT: u32 = 100;

/// A room code as 100ms answers it (the docs' room code object); unknown fields are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RoomCodeObject {
    pub code: String,
    pub room_id: String,
    pub role: String,
    pub enabled: bool,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The answer of create-for-all, `{"data": [...]}` (`null` or absent: none).
#[derive(Debug, Deserialize)]
pub struct Created {
    #[serde(default)]
    pub data: Option<Vec<RoomCodeObject>>,
}

/// `POST /room-codes/room/{id}` (every role of the room's template) or
/// `POST /room-codes/room/{id}/role/{role}`. Not retried: whether a repeat adds another code is
/// not documented.
pub(crate) fn create_call(room_id: &RoomId, role: Option<&Role>) -> Call {
    let path = match role {
        None => format!("/room-codes/room/{room_id}"),
        Some(role) => format!("/room-codes/room/{room_id}/role/{}", urlencoding(role.as_str())),
    };
    Call::new(Method::POST, path)
}

/// `GET /room-codes/room/{id}`, one page of [`LIST_PAGE_LIMIT`] (`start`: the `last` of the
/// page before).
pub(crate) fn list_call(room_id: &RoomId, role: Option<&Role>, enabled: Option<bool>, start: Option<&str>) -> Call {
    let mut query = vec![("limit", LIST_PAGE_LIMIT.to_string())];
    if let Some(role) = role {
        query.push(("role", role.to_string()));
    }
    if let Some(enabled) = enabled {
        query.push(("enabled", enabled.to_string()));
    }
    if let Some(start) = start {
        query.push(("start", start.to_string()));
    }
    Call::new(Method::GET, format!("/room-codes/room/{room_id}")).query(query).idempotent(true)
}

/// A role as one path segment: roles may hold any character but white space and control
/// characters, so everything outside unreserved ASCII is percent-encoded.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `POST /room-codes/code {code, enabled}`: setting a flag, so a repeat does no more than the
/// first and it is retried.
pub(crate) fn switch_call(code: &RoomCode, enabled: bool) -> Result<Call, ApiError> {
    let body = serde_json::json!({"code": code, "enabled": enabled});
    Ok(Call::new(Method::POST, "/room-codes/code".into()).json(&body)?.idempotent(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Parse;

    #[test]
    fn roles_are_one_encoded_path_segment() {
        let room = RoomId::parse("329ek8g8f2e4g30487862vdb".replace(['k', 'g', 'v'], "a").as_str()).unwrap();
        let call = create_call(&room, Some(&Role::parse("co-host/x?y").unwrap()));
        assert!(format!("{call:?}").contains("/role/co-host%2Fx%3Fy"), "{call:?}");
        assert!(format!("{:?}", create_call(&room, None)).contains(&format!("\"/room-codes/room/{room}\"")));
    }

    #[test]
    fn the_docs_examples_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/100ms-examples/");
        let read = |f: &str| std::fs::read(format!("{dir}{f}")).unwrap();
        let all: Created = serde_json::from_slice(&read("room_codes_create_response.json")).unwrap();
        assert_eq!(all.data.unwrap().len(), 2);
        let one: RoomCodeObject = serde_json::from_slice(&read("room_codes_create_for_role_response.json")).unwrap();
        assert_eq!((one.code.as_str(), one.role.as_str(), one.enabled), ("wet-qwgq-otr", "host", true));
        let list: super::super::sessions::Page<RoomCodeObject> =
            serde_json::from_slice(&read("room_codes_list_response.json")).unwrap();
        assert_eq!(list.data.len(), 2);
        assert_eq!(list.last.as_deref(), Some(""));
    }
}

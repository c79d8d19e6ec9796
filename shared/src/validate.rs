//! Request validation by the 100ms rules (see the reference: room names, ids, regions, ranges).
//!
//! Each rule is a plain function returning `Err(reason)`; the request parsers turn a reason into a
//! 400 that names the field.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Longest room name we forward. 100ms does not document one (UNCONFIRMED); this is a sanity cap.
pub const MAX_ROOM_NAME_LEN: usize = 255;
/// Longest room description we forward (also a sanity cap; 100ms documents none).
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
/// Longest `user_id` we put in an auth token.
pub const MAX_USER_ID_LEN: usize = 256;
/// Longest role name.
pub const MAX_ROLE_LEN: usize = 100;
pub const REGIONS: [&str; 4] = ["in", "us", "eu", "auto"];
pub const MAX_ROOM_SIZE: u64 = 2_500;
pub const MAX_LARGE_ROOM_SIZE: u64 = 20_000;
pub const MIN_MAX_DURATION_SECONDS: u64 = 120;
pub const MAX_MAX_DURATION_SECONDS: u64 = 43_200;

/// A 100ms object id: 24 hexadecimal characters.
pub fn object_id(s: &str) -> Result<(), String> {
    if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("must be 24 hexadecimal characters".into())
    }
}

/// A room name: `A-Z a-z 0-9 . - : _`, non-empty, at most [`MAX_ROOM_NAME_LEN`].
pub fn room_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ROOM_NAME_LEN {
        return Err(format!("must be at most {MAX_ROOM_NAME_LEN} characters"));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_')) {
        return Err("may contain only letters, digits and . - : _".into());
    }
    Ok(())
}

pub fn region(s: &str) -> Result<(), String> {
    if REGIONS.contains(&s) { Ok(()) } else { Err(format!("must be one of {}", REGIONS.join(", "))) }
}

/// A role name: non-empty, no white space or control characters, at most [`MAX_ROLE_LEN`].
pub fn role_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_ROLE_LEN {
        return Err(format!("must be at most {MAX_ROLE_LEN} characters"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain white space or control characters".into());
    }
    Ok(())
}

/// A user id: non-blank, no control characters, at most [`MAX_USER_ID_LEN`] characters.
pub fn user_id(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > MAX_USER_ID_LEN {
        return Err(format!("must be at most {MAX_USER_ID_LEN} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Parses a request body that must be one JSON object.
pub fn json_object(body: Option<&[u8]>) -> Result<Map<String, Value>, ApiError> {
    let body = body
        .filter(|b| !b.iter().all(u8::is_ascii_whitespace))
        .ok_or_else(|| ApiError::bad_request("missing_body", "request body is required: send a JSON object"))?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("invalid_body", "request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request("invalid_json", format!("request body is not valid JSON: {e}"))),
    }
}

/// Reads an optional string field; `null` counts as absent.
pub fn opt_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_field(field, "must be a string")),
    }
}

/// Reads a required string field.
pub fn req_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    opt_str(map, field)?.ok_or_else(|| ApiError::missing_field(field))
}

/// Reads an optional non-negative whole number; `null` counts as absent.
pub fn opt_u64(map: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Ok(Some(v)),
            None => Err(ApiError::invalid_field(field, "must be a whole number of at least 0")),
        },
        Some(_) => Err(ApiError::invalid_field(field, "must be a number")),
    }
}

/// Reads an optional boolean; `null` counts as absent.
pub fn opt_bool(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid_field(field, "must be true or false")),
    }
}

/// Applies a string rule to a field, naming the field in the error.
pub fn check(field: &str, value: &str, rule: fn(&str) -> Result<(), String>) -> Result<(), ApiError> {
    rule(value).map_err(|why| ApiError::invalid_field(field, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids() {
        assert!(object_id("631b2654f771854d9bf633df").is_ok());
        assert!(object_id("631B2654F771854D9BF633DF").is_ok());
        for bad in [
            "",
            "631b2654f771854d9bf633d",
            "631b2654f771854d9bf633dff",
            "631b2654f771854d9bf633dg",
            "62bbc84********0a6aa1a",
        ] {
            assert!(object_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn room_names() {
        for ok in ["new-room-1662723668", "a", "A.b:c_d-e", &"x".repeat(MAX_ROOM_NAME_LEN)] {
            assert!(room_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/", "émoji", "semi;colon", &"x".repeat(MAX_ROOM_NAME_LEN + 1)] {
            assert!(room_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for ok in REGIONS {
            assert!(region(ok).is_ok());
        }
        for bad in ["", "US", "ap", "in "] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_and_users() {
        assert!(role_name("host").is_ok());
        assert!(role_name("guest-speaker_2").is_ok());
        for bad in ["", "ho st", "tab\t", &"r".repeat(MAX_ROLE_LEN + 1)] {
            assert!(role_name(bad).is_err(), "{bad:?}");
        }
        assert!(user_id("Batch1-student1").is_ok());
        assert!(user_id("user@example.com").is_ok());
        assert!(user_id("José Müller").is_ok());
        for bad in ["", "   ", "a\nb", &"u".repeat(MAX_USER_ID_LEN + 1)] {
            assert!(user_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(json_object(None).unwrap_err().code(), "missing_body");
        assert_eq!(json_object(Some(b"  \n")).unwrap_err().code(), "missing_body");
        assert_eq!(json_object(Some(b"{")).unwrap_err().code(), "invalid_json");
        assert_eq!(json_object(Some(b"[1]")).unwrap_err().code(), "invalid_body");
        assert_eq!(json_object(Some(b"null")).unwrap_err().code(), "invalid_body");
        assert_eq!(json_object(Some(b"\xff\xfe")).unwrap_err().code(), "invalid_json");
        assert!(json_object(Some(br#"{"a":1}"#)).unwrap().contains_key("a"));
    }

    #[test]
    fn typed_field_readers() {
        let m = json_object(Some(br#"{"s":"x","n":5,"neg":-1,"f":1.5,"b":true,"z":null}"#)).unwrap();
        assert_eq!(opt_str(&m, "s").unwrap(), Some("x"));
        assert_eq!(opt_str(&m, "z").unwrap(), None);
        assert_eq!(opt_str(&m, "absent").unwrap(), None);
        assert_eq!(opt_str(&m, "n").unwrap_err().to_string(), "field 'n' must be a string");
        assert_eq!(req_str(&m, "absent").unwrap_err().code(), "missing_field");
        assert_eq!(req_str(&m, "z").unwrap_err().code(), "missing_field");
        assert_eq!(opt_u64(&m, "n").unwrap(), Some(5));
        assert_eq!(opt_u64(&m, "neg").unwrap_err().code(), "invalid_field");
        assert_eq!(opt_u64(&m, "f").unwrap_err().code(), "invalid_field");
        assert_eq!(opt_u64(&m, "s").unwrap_err().code(), "invalid_field");
        assert_eq!(opt_bool(&m, "b").unwrap(), Some(true));
        assert_eq!(opt_bool(&m, "s").unwrap_err().code(), "invalid_field");
        assert_eq!(
            check("room_id", "zz", object_id).unwrap_err().to_string(),
            "field 'room_id' must be 24 hexadecimal characters"
        );
    }
}

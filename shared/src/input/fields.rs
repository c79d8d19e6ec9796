//! The readers of a JSON request body: one object, only the fields a route takes, and each
//! field read as the type it must be (a parsed [`Parse`] value, a string, a number, a flag), an
//! error naming the field when it is not.

use serde_json::{Map, Value};

use super::Parse;
use crate::error::{ApiError, ErrorCode};

/// Parses a request body that must be one JSON object.
pub fn json_object(body: Option<&[u8]>) -> Result<Map<String, Value>, ApiError> {
    let body = body
        .filter(|b| !b.iter().all(u8::is_ascii_whitespace))
        .ok_or_else(|| ApiError::bad_request(ErrorCode::MissingBody, "request body is required: send a JSON object"))?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(ErrorCode::InvalidBody, "request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(ErrorCode::InvalidJson, format!("request body is not valid JSON: {e}"))),
    }
}

/// Fails with 400 `unknown_field` when `map` has a field outside `accepted`: a misspelt field
/// is the caller's mistake to hear about, not one to ignore.
pub fn only_fields(map: &Map<String, Value>, accepted: &[&str]) -> Result<(), ApiError> {
    match map.keys().find(|k| !accepted.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(ApiError::bad_request(
            ErrorCode::UnknownField,
            format!("unknown field '{}': accepted fields are {}", echo(unknown), accepted.join(", ")),
        )),
    }
}

/// Longest part of a caller's own text an error message quotes back.
pub const MAX_ECHO_CHARS: usize = 40;

/// `text` as an error quotes it: at most [`MAX_ECHO_CHARS`] characters, then `...`, so a huge
/// field name cannot blow up the answer or the log.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Reads an optional string field; `null` counts as absent.
pub fn opt_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    opt_str_as(map, field, field)
}

/// As [`opt_str`], an error naming the field `shown` (a field inside a list: `members[2].user_id`).
fn opt_str_as<'a>(map: &'a Map<String, Value>, field: &str, shown: &str) -> Result<Option<&'a str>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_field(shown, "must be a string")),
    }
}

/// Reads an optional string field and parses it; `null` counts as absent.
pub fn opt_field<T: Parse>(map: &Map<String, Value>, field: &str) -> Result<Option<T>, ApiError> {
    opt_field_as(map, field, field)
}

fn opt_field_as<T: Parse>(map: &Map<String, Value>, field: &str, shown: &str) -> Result<Option<T>, ApiError> {
    opt_str_as(map, field, shown)?.map(|s| T::parse(s).map_err(|why| ApiError::invalid_field(shown, why))).transpose()
}

/// Reads a required string field and parses it.
pub fn req_field<T: Parse>(map: &Map<String, Value>, field: &str) -> Result<T, ApiError> {
    req_field_as(map, field, field)
}

/// As [`req_field`], an error naming the field `shown` (a field inside a list: `members[2].user_id`).
pub fn req_field_as<T: Parse>(map: &Map<String, Value>, field: &str, shown: &str) -> Result<T, ApiError> {
    opt_field_as(map, field, shown)?.ok_or_else(|| ApiError::missing_field(shown))
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
    opt_bool_as(map, field, field)
}

/// As [`opt_bool`], an error naming the field `shown` (a field inside an object:
/// `recording.hls_vod`).
pub fn opt_bool_as(map: &Map<String, Value>, field: &str, shown: &str) -> Result<Option<bool>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid_field(shown, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    #[test]
    fn unknown_fields_are_echoed_truncated() {
        let long = "x".repeat(10_000);
        let map: Map<String, Value> = serde_json::from_str(&format!(r#"{{"{long}":1}}"#)).unwrap();
        let err = only_fields(&map, &["name"]).unwrap_err().to_string();
        assert!(err.contains(&format!("'{}...'", "x".repeat(MAX_ECHO_CHARS))), "{err}");
        assert!(err.len() < 200, "{}", err.len());
        assert_eq!(echo("é".repeat(41).as_str()), format!("{}...", "é".repeat(40)));
        assert_eq!(echo("short"), "short");
    }

    #[test]
    fn bodies() {
        assert_eq!(json_object(None).unwrap_err().code(), ErrorCode::MissingBody);
        assert_eq!(json_object(Some(b"  \n")).unwrap_err().code(), ErrorCode::MissingBody);
        assert_eq!(json_object(Some(b"{")).unwrap_err().code(), ErrorCode::InvalidJson);
        assert_eq!(json_object(Some(b"[1]")).unwrap_err().code(), ErrorCode::InvalidBody);
        assert_eq!(json_object(Some(b"null")).unwrap_err().code(), ErrorCode::InvalidBody);
        assert_eq!(json_object(Some(b"\xff\xfe")).unwrap_err().code(), ErrorCode::InvalidJson);
        assert!(json_object(Some(br#"{"a":1}"#)).unwrap().contains_key("a"));
    }

    #[test]
    fn typed_field_readers() {
        let m = json_object(Some(
            br#"{"s":"x","n":5,"neg":-1,"f":1.5,"b":true,"z":null,"room":"631B2654F771854D9BF633DF"}"#,
        ))
        .unwrap();
        assert_eq!(opt_str(&m, "s").unwrap(), Some("x"));
        assert_eq!(opt_str(&m, "z").unwrap(), None);
        assert_eq!(opt_str(&m, "absent").unwrap(), None);
        assert_eq!(opt_str(&m, "n").unwrap_err().to_string(), "field 'n' must be a string");
        assert_eq!(req_field::<Role>(&m, "absent").unwrap_err().code(), ErrorCode::MissingField);
        assert_eq!(req_field::<Role>(&m, "z").unwrap_err().code(), ErrorCode::MissingField);
        assert_eq!(req_field::<RoomId>(&m, "room").unwrap(), "631b2654f771854d9bf633df");
        assert_eq!(opt_field::<RoomId>(&m, "z").unwrap(), None);
        assert_eq!(
            req_field::<RoomId>(&m, "s").unwrap_err().to_string(),
            "field 's' must be 24 hexadecimal characters"
        );
        assert_eq!(opt_u64(&m, "n").unwrap(), Some(5));
        assert_eq!(opt_u64(&m, "neg").unwrap_err().code(), ErrorCode::InvalidField);
        assert_eq!(opt_u64(&m, "f").unwrap_err().code(), ErrorCode::InvalidField);
        assert_eq!(opt_u64(&m, "s").unwrap_err().code(), ErrorCode::InvalidField);
        assert_eq!(opt_bool(&m, "b").unwrap(), Some(true));
        assert_eq!(opt_bool(&m, "s").unwrap_err().code(), ErrorCode::InvalidField);
    }
}

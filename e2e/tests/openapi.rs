//! openapi.yaml stays true to the code: the same routes, the same request fields and limits, and
//! exactly the error codes the code can answer with. (schemathesis, in scripts/test.sh, checks
//! the live answers against it.)

use std::collections::BTreeSet;

use hms_shared::app::{AUTH_TOKEN_PATH, CREATE_ROOM_PATH, SESSION_ANALYTICS_PATH, SESSION_LIST_PATH};
use hms_shared::handlers::CREATE_ROOM_FIELDS;
use hms_shared::validate;
use serde_yaml_ng::Value;

const SPEC: &str = include_str!("../../openapi.yaml");

fn spec() -> Value {
    serde_yaml_ng::from_str(SPEC).expect("openapi.yaml parses")
}

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| v.get(*k).unwrap_or_else(|| panic!("openapi.yaml has no {}", path.join("."))))
}

fn num(v: &Value, path: &[&str]) -> u64 {
    at(v, path).as_u64().unwrap_or_else(|| panic!("{} is not a number", path.join(".")))
}

#[test]
fn routes_and_methods_match_the_functions() {
    let s = spec();
    let paths: BTreeSet<(String, String)> = at(&s, &["paths"])
        .as_mapping()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_mapping()
                .unwrap()
                .keys()
                .map(move |m| (p.as_str().unwrap().to_string(), m.as_str().unwrap().to_string()))
        })
        .collect();
    let ours: BTreeSet<(String, String)> = [
        (CREATE_ROOM_PATH, "post"),
        (AUTH_TOKEN_PATH, "post"),
        (SESSION_ANALYTICS_PATH, "get"),
        (SESSION_LIST_PATH, "get"),
    ]
    .iter()
    .map(|(p, m)| (p.to_string(), m.to_string()))
    .collect();
    assert_eq!(paths, ours);
}

#[test]
fn request_fields_and_limits_match_the_validation() {
    let s = spec();
    let create = at(&s, &["components", "schemas", "CreateRoomRequest"]);
    let fields: BTreeSet<&str> =
        at(create, &["properties"]).as_mapping().unwrap().keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(fields, CREATE_ROOM_FIELDS.into_iter().collect());
    assert_eq!(at(create, &["additionalProperties"]).as_bool(), Some(false), "unknown fields are a 400");
    assert_eq!(num(create, &["properties", "name", "maxLength"]) as usize, validate::MAX_ROOM_NAME_LEN);
    assert_eq!(num(create, &["properties", "description", "maxLength"]) as usize, validate::MAX_DESCRIPTION_LEN);
    assert_eq!(num(create, &["properties", "size", "maximum"]), validate::MAX_LARGE_ROOM_SIZE);
    assert_eq!(num(create, &["then", "properties", "size", "maximum"]), validate::MAX_ROOM_SIZE);
    assert_eq!(num(create, &["properties", "max_duration_seconds", "minimum"]), validate::MIN_MAX_DURATION_SECONDS);
    assert_eq!(num(create, &["properties", "max_duration_seconds", "maximum"]), validate::MAX_MAX_DURATION_SECONDS);
    let regions: BTreeSet<&str> =
        at(create, &["properties", "region", "enum"]).as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(regions, validate::REGIONS.into_iter().collect());

    let auth = at(&s, &["components", "schemas", "AuthTokenRequest"]);
    assert_eq!(num(auth, &["properties", "user_id", "maxLength"]) as usize, validate::MAX_USER_ID_LEN);
    assert_eq!(num(auth, &["properties", "role", "maxLength"]) as usize, validate::MAX_ROLE_LEN);
    let id_pattern = at(&s, &["components", "schemas", "ObjectId", "pattern"]).as_str().unwrap();
    assert_eq!(id_pattern, "^[0-9a-fA-F]{24}$");
}

/// Every error code literal the library can answer with, read from its source.
fn codes_in_source() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src");
    let mut codes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        // The string literal that starts right after `needle` (white space allowed between).
        let mut literal_after = |needle: &str| {
            for (i, _) in text.match_indices(needle) {
                if let Some(rest) = text[i + needle.len()..].trim_start().strip_prefix('"') {
                    codes.insert(rest.chars().take_while(|c| *c != '"').collect());
                }
            }
        };
        literal_after("code:");
        literal_after("bad_request(");
        literal_after("upstream(");
        if path.ends_with("error.rs") {
            // The fixed codes are the string arms of ApiError::code.
            let body = text.split("pub fn code(&self)").nth(1).unwrap().split("pub fn body").next().unwrap();
            for piece in body.split('"').skip(1).step_by(2) {
                codes.insert(piece.to_string());
            }
        }
    }
    codes
}

#[test]
fn error_codes_are_exactly_those_the_code_answers_with() {
    let s = spec();
    let spec_codes: BTreeSet<String> = at(&s, &["components", "schemas", "Error", "properties", "error", "enum"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ours = codes_in_source();
    assert!(ours.len() >= 25, "the source scan found too few codes to be working: {ours:?}");
    assert_eq!(spec_codes, ours, "openapi.yaml's error codes differ from the code's");
}

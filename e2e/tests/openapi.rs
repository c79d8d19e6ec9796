//! openapi.yaml stays true to the code: the same routes, the same request fields and limits, and
//! exactly the error codes the code can answer with. (schemathesis, in scripts/test.sh, checks
//! the live answers against it.)

use std::collections::BTreeSet;

use hms_shared::ErrorCode;
use hms_shared::handlers::create_room::CREATE_ROOM_FIELDS;
use hms_shared::input as validate;
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
    let ours: BTreeSet<(String, String)> =
        hms_e2e::all_routes().iter().map(|r| (r.path.to_string(), r.method.as_str().to_ascii_lowercase())).collect();
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
    let hook = at(&s, &["components", "securitySchemes", "webhookSecret"]);
    assert_eq!(at(hook, &["name"]).as_str(), Some(hms_shared::webhooks::DEFAULT_HEADER_NAME));
    let event_id = at(&s, &["components", "schemas", "WebhookEvent", "properties", "id"]);
    assert_eq!(num(event_id, &["maxLength"]) as usize, hms_shared::webhooks::MAX_EVENT_ID_LEN);
    let id_pattern = at(&s, &["components", "schemas", "ObjectId", "pattern"]).as_str().unwrap();
    assert_eq!(id_pattern, "^[0-9a-fA-F]{24}$");
}

#[test]
fn page_limits_match_the_code() {
    use hms_shared::handlers::session_analytics::{
        ATTENDEES_DEFAULT_LIMIT, AttendeeLimit, HISTORY_DEFAULT_LIMIT, HistoryLimit, SESSION_LIST_DEFAULT_LIMIT,
        SessionListLimit,
    };
    let s = spec();
    let limit = |path: &str| {
        let params = at(&s, &["paths", path, "get", "parameters"]).as_sequence().unwrap();
        let p = params.iter().find(|p| p.get("name").and_then(Value::as_str) == Some("limit")).expect("a limit");
        (num(p, &["schema", "minimum"]), num(p, &["schema", "maximum"]), num(p, &["schema", "default"]))
    };
    assert_eq!(limit("/session-list-by-room"), (1, SessionListLimit::MAX.into(), SESSION_LIST_DEFAULT_LIMIT.into()));
    assert_eq!(limit("/session-analytics-by-room"), (1, AttendeeLimit::MAX.into(), ATTENDEES_DEFAULT_LIMIT.into()));
    assert_eq!(limit("/attendance-history"), (1, HistoryLimit::MAX.into(), HISTORY_DEFAULT_LIMIT.into()));
    let csv = at(&s, &["components", "schemas", "AttendanceCsv", "description"]).as_str().unwrap().replace(' ', "");
    assert!(csv.contains(&hms_shared::csv::COLUMNS.join(",")), "the CSV columns as the code writes them: {csv}");
    use hms_shared::handlers::room_control::recordings::{
        DEFAULT_LIMIT, DEFAULT_URL_SECONDS, MAX_URL_SECONDS, MIN_URL_SECONDS, RecordingListLimit,
    };
    assert_eq!(limit("/recordings"), (1, RecordingListLimit::MAX.into(), DEFAULT_LIMIT.into()));
    let params = at(&s, &["paths", "/recording-url", "get", "parameters"]).as_sequence().unwrap();
    let duration = params.iter().find(|p| p.get("name").and_then(Value::as_str) == Some("duration")).unwrap();
    let bounds = (num(duration, &["schema", "minimum"]), num(duration, &["schema", "maximum"]));
    assert_eq!(
        (bounds, num(duration, &["schema", "default"])),
        ((MIN_URL_SECONDS.into(), MAX_URL_SECONDS.into()), DEFAULT_URL_SECONDS.into())
    );
    let reason = at(&s, &["components", "schemas", "Reason"]);
    assert_eq!(num(reason, &["maxLength"]) as usize, validate::MAX_REASON_LEN);
    let cursor = at(&s, &["components", "parameters", "Cursor", "schema", "pattern"]).as_str().unwrap();
    // Empty is allowed: an empty query parameter counts as absent (the first page).
    assert_eq!(cursor, format!("^[A-Za-z0-9_-]{{0,{}}}$", hms_shared::paging::MAX_CURSOR_LEN));
}

#[test]
fn the_live_class_bounds_match_the_code() {
    use hms_shared::handlers::room_control::{live, streams, transcription as t};
    let s = spec();
    let schema = |name: &str| at(&s, &["components", "schemas", name]).clone();
    let msg = schema("SendMessageRequest");
    assert_eq!(num(&msg, &["properties", "message", "maxLength"]) as usize, live::MAX_MESSAGE_CHARS);
    let peer = schema("UpdatePeerRequest");
    assert_eq!(num(&peer, &["properties", "name", "maxLength"]) as usize, live::MAX_PEER_NAME_CHARS);
    assert_eq!(num(&peer, &["properties", "metadata", "maxLength"]) as usize, live::MAX_METADATA_CHARS);
    let ty = at(&msg, &["properties", "type", "pattern"]).as_str().unwrap().to_string();
    assert!(ty.ends_with(&format!("{{1,{}}}$", live::MAX_TYPE_CHARS)), "{ty}");
    let cue = schema("TimedMetadataRequest");
    assert_eq!(num(&cue, &["properties", "payload", "maxLength"]) as usize, streams::MAX_PAYLOAD_CHARS);
    assert_eq!(num(&cue, &["properties", "duration", "maximum"]), streams::MAX_CUE_SECONDS);
    let tr = schema("Transcription");
    let summary = at(&tr, &["properties", "summary", "properties"]);
    assert_eq!(num(summary, &["context", "maxLength"]) as usize, t::MAX_CONTEXT_CHARS);
    assert_eq!(num(summary, &["sections", "maxItems"]) as usize, t::MAX_SECTIONS);
    let title = at(summary, &["sections", "items", "properties", "title", "maxLength"]);
    assert_eq!(title.as_u64().unwrap() as usize, t::MAX_SECTION_TITLE_CHARS);
    assert_eq!(at(summary, &["temperature", "minimum"]).as_f64(), Some(t::MIN_TEMPERATURE));
    assert_eq!(at(summary, &["temperature", "maximum"]).as_f64(), Some(t::MAX_TEMPERATURE));
    assert_eq!(num(&tr, &["properties", "custom_vocabulary", "maxItems"]) as usize, t::MAX_VOCABULARY);
    assert_eq!(num(&tr, &["properties", "custom_vocabulary", "items", "maxLength"]) as usize, t::MAX_WORD_CHARS);
    let modes: BTreeSet<&str> = at(&tr, &["properties", "output_modes", "items", "enum"])
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(modes, t::OUTPUT_MODES.into_iter().collect());
    let limit = at(&s, &["paths", "/live-streams", "get", "parameters"]).as_sequence().unwrap().clone();
    let limit = limit.iter().find(|p| p.get("name").and_then(Value::as_str) == Some("limit")).unwrap();
    assert_eq!(
        (num(limit, &["schema", "maximum"]), num(limit, &["schema", "default"])),
        (streams::StreamListLimit::MAX.into(), streams::DEFAULT_LIMIT.into())
    );
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
    let ours: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
    assert_eq!(spec_codes, ours, "openapi.yaml's error codes differ from the code's");
}

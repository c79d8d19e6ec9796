//! 100ms webhooks as plain logic, no I/O: whether a delivery is authentic (the secret header,
//! compared in constant time; the optional source-IP allow-list), what it says (a lenient read of
//! the envelope: the samples in 100ms's docs are inconsistent), and the record that keeps it.
//!
//! 100ms signs nothing outside HIPAA workspaces: authenticity is a header whose name and secret
//! value are configured in its dashboard, plus its NAT gateways' addresses. Delivery is at least
//! once (retries, replays), so an event is kept under its envelope `id` with a conditional write:
//! the first delivery stores it, a repeat stores nothing.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::store::{EventRecord, key_id};

/// The header that carries the secret unless `WEBHOOK_HEADER_NAME` says otherwise.
pub const DEFAULT_HEADER_NAME: &str = "x-100ms-webhook-secret";
/// How long raw events are kept unless configured otherwise (days).
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Longest event id kept as a key.
pub const MAX_EVENT_ID_LEN: usize = 128;

/// Shortest `WEBHOOK_SECRET`, in bytes: as `APP_SECRET`, a guess must be out of reach.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 32;
/// Longest `WEBHOOK_SECRET`, in bytes: what [`secret_matches`] compares at a fixed length.
pub const MAX_WEBHOOK_SECRET_BYTES: usize = 256;

/// Whether `WEBHOOK_SECRET` is one this function accepts: [`MIN_WEBHOOK_SECRET_BYTES`] to
/// [`MAX_WEBHOOK_SECRET_BYTES`] bytes. The error says why, never the secret.
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    if (MIN_WEBHOOK_SECRET_BYTES..=MAX_WEBHOOK_SECRET_BYTES).contains(&secret.len()) {
        Ok(())
    } else {
        Err(format!(
            "WEBHOOK_SECRET must be {MIN_WEBHOOK_SECRET_BYTES} to {MAX_WEBHOOK_SECRET_BYTES} bytes (a shorter one could be guessed)"
        ))
    }
}

/// Whether `presented` (the header's value, if any) is `expected`, in time that depends on
/// neither where they differ nor how long `expected` is: both are laid in buffers of
/// [`MAX_WEBHOOK_SECRET_BYTES`], compared whole in constant time, and their lengths compared in
/// constant time too. A presented value longer than any secret is refused at once (its length is
/// the caller's own). An expected secret outside [`check_webhook_secret`] lets nobody in.
pub fn secret_matches(presented: Option<&str>, expected: &str) -> bool {
    let Some(presented) = presented else { return false };
    if check_webhook_secret(expected).is_err() || presented.len() > MAX_WEBHOOK_SECRET_BYTES {
        return false;
    }
    let mut a = [0u8; MAX_WEBHOOK_SECRET_BYTES];
    let mut b = [0u8; MAX_WEBHOOK_SECRET_BYTES];
    a[..presented.len()].copy_from_slice(presented.as_bytes());
    b[..expected.len()].copy_from_slice(expected.as_bytes());
    let same_length = (presented.len() as u64).ct_eq(&(expected.len() as u64));
    bool::from(a.ct_eq(&b) & same_length)
}

/// The source addresses webhooks may come from: every address, or those in the listed networks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowList {
    #[default]
    Any,
    Only(Vec<ipnet::IpNet>),
}

impl AllowList {
    /// Parses `WEBHOOK_ALLOWED_IPS`: comma-separated CIDRs or bare addresses (a /32 or /128);
    /// empty means any address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<ipnet::IpNet>() {
                Ok(net) => net,
                Err(_) => item
                    .parse::<IpAddr>()
                    .map(ipnet::IpNet::from)
                    .map_err(|_| format!("'{item}' is not an IP address or a CIDR"))?,
            };
            nets.push(net);
        }
        Ok(if nets.is_empty() { Self::Any } else { Self::Only(nets) })
    }

    /// Whether a delivery from `source` (API Gateway's `sourceIp`) is let in; an address that
    /// cannot be read is let in only when any address is.
    pub fn allows(&self, source: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::Only(nets) => {
                source.and_then(|s| s.parse::<IpAddr>().ok()).is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
            }
        }
    }
}

/// What the keeping of an event needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope's `id`: the key that makes a repeat a duplicate.
    pub id: String,
    /// `type`; `unknown` when absent (the event is kept, not interpreted).
    pub kind: String,
    /// A replay from 100ms's replay API (`is_replay`, at the top or in `data`: the docs do not say).
    pub is_replay: bool,
    pub room_id: Option<String>,
    pub session_id: Option<String>,
    /// `data` names a room or session whose id is not as 100ms writes them: kept under its
    /// event id only (logged).
    pub ids_not_keyed: bool,
}

/// Why a body is not an event we can keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnEvent {
    NotJson,
    NotAnObject,
    NoId,
}

/// Reads an event leniently: a JSON object with a non-empty string `id` of at most
/// [`MAX_EVENT_ID_LEN`] characters; everything else is optional and kept as sent.
pub fn parse_envelope(body: &[u8]) -> Result<(Envelope, Map<String, Value>), NotAnEvent> {
    let event = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(NotAnEvent::NotAnObject),
        Err(_) => return Err(NotAnEvent::NotJson),
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let id = text(event.get("id")).filter(|id| id.chars().count() <= MAX_EVENT_ID_LEN).ok_or(NotAnEvent::NoId)?;
    let data = event.get("data").filter(|d| d.is_object());
    let field = |k: &str| data.and_then(|d| key_id(d, k)).map(String::from);
    let named = |k: &str| data.and_then(|d| d.get(k)).and_then(Value::as_str).is_some_and(|v| !v.is_empty());
    let replay = |v: Option<&Value>| v.and_then(Value::as_bool).unwrap_or(false);
    let (room_id, session_id) = (field("room_id"), field("session_id"));
    let envelope = Envelope {
        id,
        kind: text(event.get("type")).unwrap_or_else(|| "unknown".into()),
        is_replay: replay(event.get("is_replay")) || replay(data.and_then(|d| d.get("is_replay"))),
        ids_not_keyed: (named("room_id") && room_id.is_none()) || (named("session_id") && session_id.is_none()),
        room_id,
        session_id,
    };
    Ok((envelope, event))
}

/// The record that keeps an event: its id, type, room and session, the body exactly as received,
/// when it came, and when it may expire.
pub fn event_record<'a>(
    envelope: &'a Envelope,
    body: &'a [u8],
    received: DateTime<Utc>,
    retention_days: u32,
) -> EventRecord<'a> {
    EventRecord {
        id: &envelope.id,
        kind: &envelope.kind,
        room_id: envelope.room_id.as_deref(),
        session_id: envelope.session_id.as_deref(),
        body,
        received_at: received,
        expires_at: received + chrono::TimeDelta::days(i64::from(retention_days)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/100ms-examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_secret_must_match_exactly() {
        let secret = "s3cret-value-0123456789abcdefghij";
        assert!(secret_matches(Some(secret), secret));
        let padded = format!("{secret}\0");
        let longest = "x".repeat(MAX_WEBHOOK_SECRET_BYTES);
        let too_long = "x".repeat(MAX_WEBHOOK_SECRET_BYTES + 1);
        for wrong in [
            None,
            Some(""),
            Some("s3cret-value-0123456789abcdefghiJ"),
            Some("s3cret-value-0123456789abcdefghij "),
            Some("s3cret-value-0123456789abcdefghi"),
            Some(padded.as_str()),
            Some(too_long.as_str()),
        ] {
            assert!(!secret_matches(wrong, secret), "{wrong:?}");
        }
        assert!(secret_matches(Some(&longest), &longest), "the longest secret is compared whole");
        assert!(!secret_matches(Some(&too_long), &too_long), "a secret over the limit lets nobody in");
        assert!(!secret_matches(Some(""), ""), "an empty configured secret lets nobody in");
        assert!(!secret_matches(Some("short"), "short"), "nor a short one");
        assert!(check_webhook_secret(&"x".repeat(MIN_WEBHOOK_SECRET_BYTES - 1)).is_err());
        assert!(check_webhook_secret(&"x".repeat(MIN_WEBHOOK_SECRET_BYTES)).is_ok());
    }

    #[test]
    fn allow_lists_take_cidrs_and_addresses() {
        let list = AllowList::parse("34.100.213.146, 35.200.0.0/16,2001:db8::/32").unwrap();
        for ok in ["34.100.213.146", "35.200.143.211", "2001:db8::1"] {
            assert!(list.allows(Some(ok)), "{ok}");
        }
        for no in [Some("34.100.213.147"), Some("10.0.0.1"), Some("not an ip"), None] {
            assert!(!list.allows(no), "{no:?}");
        }
        assert_eq!(AllowList::parse(" , ").unwrap(), AllowList::Any);
        assert!(AllowList::Any.allows(None));
        assert!(AllowList::parse("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
    }

    #[test]
    fn every_doc_sample_is_an_event_we_can_keep() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/100ms-examples");
        let mut read = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if !name.starts_with("webhook_") {
                continue;
            }
            let (envelope, _) = parse_envelope(&example(&name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!envelope.id.is_empty(), "{name}");
            assert_ne!(envelope.kind, "unknown", "{name} has a type");
            read += 1;
        }
        assert!(read >= 3, "the webhook samples are in the fixtures");
        let (join, _) = parse_envelope(&example("webhook_peer_join_success.json")).unwrap();
        assert_eq!(join.kind, "peer.join.success");
        assert!(join.room_id.is_none() && join.session_id.is_none(), "the docs' '***' placeholders key nothing");
        assert!(join.ids_not_keyed && !join.is_replay);
        let (sample, _) = parse_envelope(&example("webhook_envelope_sample.json")).unwrap();
        assert_eq!(sample.session_id.as_deref(), Some("610f81ee870dde099a249948"), "a real id keys its session");
    }

    #[test]
    fn bodies_that_are_not_events() {
        assert_eq!(parse_envelope(b"{").unwrap_err(), NotAnEvent::NotJson);
        assert_eq!(parse_envelope(b"[1]").unwrap_err(), NotAnEvent::NotAnObject);
        assert_eq!(parse_envelope(br#"{"type":"x"}"#).unwrap_err(), NotAnEvent::NoId);
        assert_eq!(parse_envelope(br#"{"id":""}"#).unwrap_err(), NotAnEvent::NoId);
        let long = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_EVENT_ID_LEN + 1));
        assert_eq!(parse_envelope(long.as_bytes()).unwrap_err(), NotAnEvent::NoId);
        let (bare, _) = parse_envelope(br#"{"id":"e1"}"#).unwrap();
        assert_eq!((bare.kind.as_str(), bare.is_replay), ("unknown", false));
        let (replayed, _) = parse_envelope(br#"{"id":"e2","data":{"is_replay":true}}"#).unwrap();
        assert!(replayed.is_replay, "is_replay inside data counts too");
        let room = "0000000000000000000000a1";
        for odd in ["s1", "0000000000000000000000C1", "0000000000000000000000c10", "../../0000000000000000c1"] {
            let body = format!(r#"{{"id":"e3","data":{{"session_id":"{odd}","room_id":"{room}"}}}}"#);
            let (kept, _) = parse_envelope(body.as_bytes()).unwrap();
            assert_eq!((kept.session_id, kept.room_id.as_deref()), (None, Some(room)), "{odd} keys nothing");
            assert!(kept.ids_not_keyed, "{odd} is logged");
        }
        let (plain, _) = parse_envelope(format!(r#"{{"id":"e4","data":{{"room_id":"{room}"}}}}"#).as_bytes()).unwrap();
        assert!(!plain.ids_not_keyed, "an absent session id is no odd one");
    }

    #[test]
    fn the_record_keeps_the_body_as_sent_and_expires() {
        let sample = String::from_utf8(example("webhook_peer_leave_success.json")).unwrap();
        let body = sample.replace("************************", "610f81ee870dde099a249948").into_bytes();
        let (envelope, _) = parse_envelope(&body).unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z").unwrap().with_timezone(&Utc);
        let record = event_record(&envelope, &body, at, 90);
        assert_eq!((record.id, record.kind), (envelope.id.as_str(), "peer.leave.success"));
        assert_eq!(record.session_id, envelope.session_id.as_deref());
        assert!(record.session_id.is_some());
        assert_eq!(record.body, body.as_slice());
        assert_eq!((record.expires_at - at).num_seconds(), 90 * 86_400);
    }
}

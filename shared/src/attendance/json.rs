//! The attendance answer's bytes: [`Report::to_json_page`], written by hand for speed (what
//! derived `Serialize` cost: BENCHMARKS.md).

use serde::Serialize;

use super::{Report, round2, seconds};
use crate::time;

impl Report<'_> {
    /// The whole report as JSON: every attendee on one page ([`Report::to_json_page`]).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json_page(0, usize::MAX)
    }

    /// One page of the JSON answer: the attendees from `offset`, at most `limit` of them, and the
    /// session's figures over all attendees:
    ///
    /// `{"user_duration_list":[{"name","user_id","duration","duration_seconds","role","joins",
    /// "first_join_at","last_leave_at","visits":[{"joined_at","left_at"},...]},...],
    /// "session_duration","total_peer_duration","room_id","session_id","session_started_at",
    /// "active","attendee_count","next_cursor"}`, where `next_cursor` is the offset of the next
    /// page as text, or null on the last page.
    ///
    /// The shape is fixed, so its keys and punctuation are written as literals, timestamps by
    /// [`time::write_rfc3339`], figures as integers of hundredths (`two_decimals`), and text
    /// as is unless it needs escaping (`text`): derived `Serialize` escaped every key a byte at
    /// a time (what that cost: BENCHMARKS.md). The buffer is sized once, for a row's usual size.
    pub fn to_json_page(&self, offset: usize, limit: usize) -> Vec<u8> {
        let total = self.attendees.len();
        let start = offset.min(total);
        let end = start.saturating_add(limit).min(total);
        let page = &self.attendees[start..end];
        let mut out = Vec::with_capacity(256 + 256 * page.len());
        out.extend_from_slice(b"{\"user_duration_list\":[");
        for (i, a) in page.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"{\"name\":" } else { b",{\"name\":" });
            text(&mut out, a.name);
            out.extend_from_slice(b",\"user_id\":");
            text(&mut out, a.user_id);
            out.extend_from_slice(b",\"duration\":");
            two_decimals(&mut out, seconds(a.duration) / 60.0);
            out.extend_from_slice(b",\"duration_seconds\":");
            two_decimals(&mut out, seconds(a.duration));
            out.extend_from_slice(b",\"role\":");
            text(&mut out, a.role);
            out.extend_from_slice(b",\"joins\":");
            value(&mut out, &a.joins);
            out.extend_from_slice(b",\"first_join_at\":\"");
            time::write_rfc3339(a.first_join, &mut out);
            match a.last_leave {
                Some(t) => {
                    out.extend_from_slice(b"\",\"last_leave_at\":\"");
                    time::write_rfc3339(t, &mut out);
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"\",\"last_leave_at\":null"),
            }
            out.extend_from_slice(b",\"visits\":[");
            for (i, (joined, left)) in self.visits[a.visits.clone()].iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"{\"joined_at\":\"" } else { b",{\"joined_at\":\"" });
                time::write_rfc3339(*joined, &mut out);
                match left {
                    Some(t) => {
                        out.extend_from_slice(b"\",\"left_at\":\"");
                        time::write_rfc3339(*t, &mut out);
                        out.extend_from_slice(b"\"}");
                    }
                    None => out.extend_from_slice(b"\",\"left_at\":null}"),
                }
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"],\"session_duration\":");
        two_decimals(&mut out, seconds(self.session_duration) / 60.0);
        out.extend_from_slice(b",\"total_peer_duration\":");
        two_decimals(&mut out, seconds(self.total_peer_duration()) / 60.0);
        out.extend_from_slice(b",\"room_id\":");
        text(&mut out, Some(self.room_id));
        out.extend_from_slice(b",\"session_id\":");
        text(&mut out, Some(self.session_id));
        out.extend_from_slice(b",\"session_started_at\":\"");
        time::write_rfc3339(self.started_at, &mut out);
        out.push(b'"');
        out.extend_from_slice(if self.active { b",\"active\":true" } else { b",\"active\":false" });
        out.extend_from_slice(b",\"attendee_count\":");
        value(&mut out, &total);
        if end < total {
            out.extend_from_slice(b",\"next_cursor\":\"");
            value(&mut out, &end);
            out.extend_from_slice(b"\"}");
        } else {
            out.extend_from_slice(b",\"next_cursor\":null}");
        }
        out
    }
}

/// One JSON value as serde_json writes it. Writing to a `Vec` cannot fail, and numbers and
/// strings always serialize.
fn value(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(out, v);
}

/// A string (or `null`) as JSON. A name or id rarely holds a byte that JSON must escape (`"`,
/// `\`, a control character: exactly serde_json's set), so it is checked in one pass and then
/// copied between quotes; one that does goes through serde_json.
fn text(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.extend_from_slice(b"null"),
        Some(s) if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Some(s) => value(out, s),
    }
}

/// `x` rounded to 2 decimals ([`round2`]) as a JSON number, written from the integer of
/// hundredths (`12.05`, `3.50`): the same number serde_json writes for `round2(x)`, since both
/// are the nearest `f64` to that many hundredths, without formatting a float.
fn two_decimals(out: &mut Vec<u8>, x: f64) {
    let hundredths = (x * 100.0).round();
    if !(0.0..9e15).contains(&hundredths) {
        return value(out, &round2(x));
    }
    let n = hundredths as u64;
    value(out, &(n / 100));
    let cents = (n % 100) as u8;
    out.extend_from_slice(&[b'.', b'0' + cents / 10, b'0' + cents % 10]);
}

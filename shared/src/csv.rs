//! Attendance as CSV for a teacher's spreadsheet: RFC 4180 (CRLF line ends, a header row, fields
//! quoted when they hold a comma, a quote or a line break, quotes doubled), one row per attendee
//! and session, written from the JSON report so the figures are the JSON's own.
//!
//! Text a spreadsheet would run as a formula (`=cmd`, `+1`, `-1`, `@x`, or a leading tab or
//! carriage return: OWASP's list) is prefixed with `'`, which spreadsheets show as text.

use serde_json::Value;

/// The header row's columns.
pub const COLUMNS: [&str; 12] = [
    "room_id",
    "session_id",
    "session_started_at",
    "user_id",
    "name",
    "role",
    "joins",
    "first_join_at",
    "last_leave_at",
    "duration_minutes",
    "duration_seconds",
    "visits",
];

/// The header row.
pub fn header(out: &mut Vec<u8>) {
    for (i, c) in COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(c.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// One row per attendee of `report` (an attendance answer: `user_duration_list` and the session's
/// fields). Visits are `joined_at/left_at` pairs joined by spaces, an open one ending in `/`.
pub fn rows(out: &mut Vec<u8>, report: &Value) {
    let text = |v: &Value| -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    let session = [&report["room_id"], &report["session_id"], &report["session_started_at"]].map(text);
    for a in report["user_duration_list"].as_array().into_iter().flatten() {
        let visits: Vec<String> = a["visits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("{}/{}", text(&v["joined_at"]), text(&v["left_at"])))
            .collect();
        let attendee = [
            &a["user_id"],
            &a["name"],
            &a["role"],
            &a["joins"],
            &a["first_join_at"],
            &a["last_leave_at"],
            &a["duration"],
            &a["duration_seconds"],
        ]
        .map(text);
        for (i, f) in session.iter().chain(attendee.iter()).chain([visits.join(" ")].iter()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            field(out, f);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// One field: neutralised if a spreadsheet would read it as a formula, quoted if it must be.
pub fn field(out: &mut Vec<u8>, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || value.contains([',', '"', '\r', '\n']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(value: &str) -> String {
        let mut out = Vec::new();
        field(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(one("plain"), "plain");
        assert_eq!(one("a,b"), "\"a,b\"");
        assert_eq!(one("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(one("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(one(""), "");
    }

    #[test]
    fn formulas_are_neutralised() {
        for (name, want) in [
            ("=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\""),
            ("+1", "\"'+1\""),
            ("-1", "\"'-1\""),
            ("@x", "\"'@x\""),
            ("\tx", "\"'\tx\""),
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
        ] {
            assert_eq!(one(name), want, "{name:?}");
        }
        assert_eq!(one("a=b"), "a=b", "only a leading sign makes a formula");
    }

    #[test]
    fn one_row_per_attendee_with_the_json_figures() {
        let report = json!({
            "room_id": "r1", "session_id": "s1", "session_started_at": "2026-11-27T10:00:00Z",
            "user_duration_list": [
                {"name": "=cmd", "user_id": "u1", "role": "guest", "joins": 2, "duration": 12.5, "duration_seconds": 750.0,
                 "first_join_at": "2026-11-27T10:00:00Z", "last_leave_at": null,
                 "visits": [{"joined_at": "2026-11-27T10:00:00Z", "left_at": "2026-11-27T10:05:00Z"},
                            {"joined_at": "2026-11-27T10:10:00Z", "left_at": null}]},
                {"name": "Bo, Jr.", "user_id": null, "role": null, "joins": 1, "duration": 0.02, "duration_seconds": 1.2,
                 "first_join_at": "2026-11-27T10:01:00Z", "last_leave_at": "2026-11-27T10:01:01.2Z", "visits": []}
            ]
        });
        let mut out = Vec::new();
        header(&mut out);
        rows(&mut out, &report);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "header, two rows, and the last CRLF: {text}");
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "r1,s1,2026-11-27T10:00:00Z,u1,\"'=cmd\",guest,2,2026-11-27T10:00:00Z,,12.5,750.0,\
             2026-11-27T10:00:00Z/2026-11-27T10:05:00Z 2026-11-27T10:10:00Z/"
        );
        assert_eq!(
            lines[2],
            "r1,s1,2026-11-27T10:00:00Z,,\"Bo, Jr.\",,1,2026-11-27T10:01:00Z,2026-11-27T10:01:01.2Z,0.02,1.2,"
        );
        assert_eq!(lines[3], "");
    }
}

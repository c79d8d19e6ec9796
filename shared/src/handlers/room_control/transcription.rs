//! The `transcription` settings of a recording or live-stream start, checked as 100ms documents
//! them (`100ms-api-beyond.md` 4.2, `100ms-live-streams.md` 2.1): `enabled`; `modes` (live
//! streams only: `recorded`, `live`); `output_modes` (`txt`, `srt`, `json`); `custom_vocabulary`;
//! `summary` with `enabled`, `context` (at most 300 characters), `temperature` (0.1 to 1.0) and
//! at most 6 `sections`, each a `title` (at most 100 characters) and a `format` (`bullets`,
//! `paragraph`). 100ms bounds neither the vocabulary's size nor its words: we take at most
//! [`MAX_VOCABULARY`] words of at most [`MAX_WORD_CHARS`] characters each.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::hms::recordings::{Summary, SummarySection, Transcription};
use crate::input::{only_fields, opt_bool_as};

pub const MAX_CONTEXT_CHARS: usize = 300;
pub const MAX_SECTIONS: usize = 6;
pub const MAX_SECTION_TITLE_CHARS: usize = 100;
pub const MIN_TEMPERATURE: f64 = 0.1;
pub const MAX_TEMPERATURE: f64 = 1.0;
pub const MAX_VOCABULARY: usize = 100;
pub const MAX_WORD_CHARS: usize = 100;
pub const OUTPUT_MODES: [&str; 3] = ["txt", "srt", "json"];
pub const MODES: [&str; 2] = ["recorded", "live"];
pub const SECTION_FORMATS: [&str; 2] = ["bullets", "paragraph"];

/// Reads `body.transcription`, if any. `live`: a live stream's (which also takes `modes`).
pub fn parse(body: &Map<String, Value>, live: bool) -> Result<Option<Transcription>, ApiError> {
    let t = match body.get("transcription") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(t)) => t,
        Some(_) => return Err(ApiError::invalid_field("transcription", "must be an object")),
    };
    let fields: &[&str] = if live {
        &["enabled", "modes", "output_modes", "custom_vocabulary", "summary"]
    } else {
        &["enabled", "output_modes", "custom_vocabulary", "summary"]
    };
    only_fields(t, fields)?;
    let custom_vocabulary = match t.get("custom_vocabulary") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let words = strings(v, "transcription.custom_vocabulary")?;
            let bad = |w: &String| {
                w.trim().is_empty() || w.chars().count() > MAX_WORD_CHARS || w.chars().any(char::is_control)
            };
            if words.len() > MAX_VOCABULARY || words.iter().any(bad) {
                return Err(ApiError::invalid_field(
                    "transcription.custom_vocabulary",
                    format!("must be at most {MAX_VOCABULARY} words of 1 to {MAX_WORD_CHARS} characters"),
                ));
            }
            Some(words)
        }
    };
    Ok(Some(Transcription {
        enabled: opt_bool_as(t, "enabled", "transcription.enabled")?,
        modes: if live { one_of_each(t, "modes", &MODES)? } else { None },
        output_modes: one_of_each(t, "output_modes", &OUTPUT_MODES)?,
        custom_vocabulary,
        summary: summary(t)?,
    }))
}

fn strings(v: &Value, shown: &str) -> Result<Vec<String>, ApiError> {
    let Some(items) = v.as_array() else {
        return Err(ApiError::invalid_field(shown, "must be a list of strings"));
    };
    items
        .iter()
        .map(|i| {
            i.as_str().map(String::from).ok_or_else(|| ApiError::invalid_field(shown, "must be a list of strings"))
        })
        .collect()
}

/// A non-empty list of distinct values out of `allowed`.
fn one_of_each(t: &Map<String, Value>, key: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
    let shown = format!("transcription.{key}");
    let Some(v) = t.get(key).filter(|v| !v.is_null()) else { return Ok(None) };
    let items = strings(v, &shown)?;
    let distinct = items.iter().enumerate().all(|(i, m)| !items[..i].contains(m));
    if items.is_empty() || !distinct || items.iter().any(|m| !allowed.contains(&m.as_str())) {
        return Err(ApiError::invalid_field(&shown, format!("must list some of {} once each", allowed.join(", "))));
    }
    Ok(Some(items))
}

fn summary(t: &Map<String, Value>) -> Result<Option<Summary>, ApiError> {
    let s = match t.get("summary") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(s)) => s,
        Some(_) => return Err(ApiError::invalid_field("transcription.summary", "must be an object")),
    };
    only_fields(s, &["enabled", "context", "temperature", "sections"])?;
    let context = match s.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c.chars().count() <= MAX_CONTEXT_CHARS => Some(c.clone()),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "transcription.summary.context",
                format!("must be a string of at most {MAX_CONTEXT_CHARS} characters"),
            ));
        }
    };
    let temperature = match s.get("temperature") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(x) if (MIN_TEMPERATURE..=MAX_TEMPERATURE).contains(&x) => Some(x),
            _ => {
                return Err(ApiError::invalid_field(
                    "transcription.summary.temperature",
                    format!("must be a number from {MIN_TEMPERATURE} to {MAX_TEMPERATURE}"),
                ));
            }
        },
    };
    let sections = match s.get("sections") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if list.len() <= MAX_SECTIONS => {
            Some(list.iter().enumerate().map(|(i, sec)| section(i, sec)).collect::<Result<Vec<_>, _>>()?)
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "transcription.summary.sections",
                format!("must be a list of at most {MAX_SECTIONS} sections"),
            ));
        }
    };
    Ok(Some(Summary {
        enabled: opt_bool_as(s, "enabled", "transcription.summary.enabled")?,
        context,
        temperature,
        sections,
    }))
}

fn section(i: usize, v: &Value) -> Result<SummarySection, ApiError> {
    let shown = format!("transcription.summary.sections[{i}]");
    let Some(sec) = v.as_object() else {
        return Err(ApiError::invalid_field(&shown, "must be an object {title, format}"));
    };
    only_fields(sec, &["title", "format"])?;
    let title = match sec.get("title") {
        Some(Value::String(t))
            if !t.trim().is_empty()
                && t.chars().count() <= MAX_SECTION_TITLE_CHARS
                && !t.chars().any(char::is_control) =>
        {
            t.clone()
        }
        None | Some(Value::Null) => return Err(ApiError::missing_field(&format!("{shown}.title"))),
        Some(_) => {
            return Err(ApiError::invalid_field(
                &format!("{shown}.title"),
                format!("must be 1 to {MAX_SECTION_TITLE_CHARS} characters"),
            ));
        }
    };
    let format = match sec.get("format") {
        Some(Value::String(f)) if SECTION_FORMATS.contains(&f.as_str()) => f.clone(),
        None | Some(Value::Null) => return Err(ApiError::missing_field(&format!("{shown}.format"))),
        Some(_) => return Err(ApiError::invalid_field(&format!("{shown}.format"), "must be bullets or paragraph")),
    };
    Ok(SummarySection { title, format })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, live: bool) -> Result<Option<Transcription>, ApiError> {
        let body: Map<String, Value> = serde_json::from_str(&format!(r#"{{"transcription":{json}}}"#)).unwrap();
        parse(&body, live)
    }

    #[test]
    fn the_docs_settings_are_taken_whole() {
        let doc: Value = serde_json::from_slice(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/100ms-examples/live_stream_start_request.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let t = read(&doc["transcription"].to_string(), true).unwrap().unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), doc["transcription"]);
        let rec = doc["transcription"].as_object().unwrap().clone();
        let mut rec = Value::Object(rec);
        rec.as_object_mut().unwrap().remove("modes");
        assert_eq!(serde_json::to_value(read(&rec.to_string(), false).unwrap()).unwrap(), rec);
    }

    #[test]
    fn each_bound_is_a_400_naming_the_field() {
        let long = "x".repeat(301);
        let title = "t".repeat(101);
        let seven = format!("[{}]", [r#"{"title":"a","format":"bullets"}"#; 7].join(","));
        let cases = [
            (r#"{"modes":["live"]}"#.to_string(), false, "unknown_field"),
            (r#"{"modes":["live","live"]}"#.to_string(), true, "invalid_field"),
            (r#"{"modes":["vod"]}"#.to_string(), true, "invalid_field"),
            (r#"{"output_modes":[]}"#.to_string(), false, "invalid_field"),
            (r#"{"output_modes":["pdf"]}"#.to_string(), false, "invalid_field"),
            (r#"{"enabled":"yes"}"#.to_string(), false, "invalid_field"),
            (r#"{"custom_vocabulary":"100ms"}"#.to_string(), false, "invalid_field"),
            (format!(r#"{{"custom_vocabulary":[{}]}}"#, vec!["\"w\""; 101].join(",")), false, "invalid_field"),
            (format!(r#"{{"summary":{{"context":"{long}"}}}}"#), false, "invalid_field"),
            (r#"{"summary":{"temperature":0.05}}"#.to_string(), false, "invalid_field"),
            (r#"{"summary":{"temperature":1.5}}"#.to_string(), false, "invalid_field"),
            (format!(r#"{{"summary":{{"sections":{seven}}}}}"#), false, "invalid_field"),
            (
                format!(r#"{{"summary":{{"sections":[{{"title":"{title}","format":"bullets"}}]}}}}"#),
                false,
                "invalid_field",
            ),
            (r#"{"summary":{"sections":[{"format":"bullets"}]}}"#.to_string(), false, "missing_field"),
            (r#"{"summary":{"sections":[{"title":"a"}]}}"#.to_string(), false, "missing_field"),
            (r#"{"summary":{"sections":[{"title":"a","format":"table"}]}}"#.to_string(), false, "invalid_field"),
            (
                r#"{"summary":{"sections":[{"title":"a","format":"bullets","x":1}]}}"#.to_string(),
                false,
                "unknown_field",
            ),
            (r#"{"summary":{"style":"short"}}"#.to_string(), false, "unknown_field"),
            ("[]".to_string(), false, "invalid_field"),
        ];
        for (json, live, code) in cases {
            assert_eq!(read(&json, live).unwrap_err().code().as_str(), code, "{json}");
        }
        let six = format!(
            r#"{{"summary":{{"temperature":0.1,"context":"{}","sections":[{}]}}}}"#,
            "c".repeat(300),
            vec![format!(r#"{{"title":"{}","format":"paragraph"}}"#, "t".repeat(100)); 6].join(",")
        );
        assert!(read(&six, false).unwrap().is_some(), "every bound itself is allowed");
    }
}

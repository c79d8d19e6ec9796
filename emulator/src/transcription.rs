//! Transcription and the AI summary of a recording (docs: recordings start body, recording
//! assets, the `transcription.*` webhooks): the settings checked as documented, and for a
//! recording that asked for them, once it completes, one `transcript` asset per output mode
//! (`metadata.output_mode`) and a `summary` asset (`output_mode: json`), announced by
//! `transcription.started.success` and `transcription.success` with each asset's id, path and a
//! presigned URL (the sample's `transcript_<mode>_*` and `summary_json_*` fields).
//!
//! Where the docs are silent, the emulator chooses: `output_modes` defaults to `["txt"]`; the
//! summary has the sections asked for (else the docs' example four), each filled with text about
//! the recording; the assets exist when the recording completes (100ms takes about a fifth of
//! the recording's length more). The summary file's shape is not documented; the emulator writes
//! `{"sections": [{title, format, bullets | paragraph}]}`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::assets::Asset;
use crate::{Inner, new_id};

/// The docs' example sections, used when a summary names none.
const DEFAULT_SECTIONS: [(&str, &str); 4] =
    [("Agenda", "bullets"), ("Key Points", "bullets"), ("Action Items", "bullets"), ("Short Summary", "paragraph")];

/// Checks a start body's `transcription` as the docs bound it; `Err` is the 400's detail.
/// `live`: a live stream's, which also takes `modes`.
pub(crate) fn check(t: Option<&Value>, live: bool) -> Result<Option<Value>, String> {
    let Some(t) = t.filter(|t| !t.is_null()) else { return Ok(None) };
    let t = t.as_object().ok_or("transcription should be an object")?;
    let subset = |k: &str, allowed: &[&str]| -> Result<(), String> {
        match t.get(k) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(a)) if a.iter().all(|m| m.as_str().is_some_and(|m| allowed.contains(&m))) => Ok(()),
            Some(_) => Err(format!("transcription.{k} should be a subset of {}", allowed.join(", "))),
        }
    };
    subset("output_modes", &["txt", "srt", "json"])?;
    if live {
        subset("modes", &["recorded", "live"])?;
    } else if t.contains_key("modes") {
        return Err("transcription.modes is for live streams".into());
    }
    if let Some(s) = t.get("summary").filter(|s| !s.is_null()) {
        let s = s.as_object().ok_or("transcription.summary should be an object")?;
        if s.get("context").and_then(Value::as_str).is_some_and(|c| c.chars().count() > 300) {
            return Err("summary.context should be at most 300 characters".into());
        }
        if let Some(temp) = s.get("temperature").filter(|t| !t.is_null())
            && !temp.as_f64().is_some_and(|x| (0.1..=1.0).contains(&x))
        {
            return Err("summary.temperature should be between 0.1 and 1.0".into());
        }
        if let Some(sections) = s.get("sections").filter(|s| !s.is_null()) {
            let list = sections.as_array().ok_or("summary.sections should be a list")?;
            if list.len() > 6 {
                return Err("summary.sections should have at most 6 sections".into());
            }
            for sec in list {
                let title = sec.get("title").and_then(Value::as_str).ok_or("section title is required")?;
                if title.chars().count() > 100 {
                    return Err("section title should be at most 100 characters".into());
                }
                if !matches!(sec.get("format").and_then(Value::as_str), Some("bullets" | "paragraph")) {
                    return Err("section format should be bullets or paragraph".into());
                }
            }
        }
    }
    Ok(Some(Value::Object(t.clone())))
}

/// Whether `t` asks for a transcript (and, inside, a summary).
pub(crate) fn wanted(t: Option<&Value>) -> (bool, bool) {
    let on = |v: &Value| v.get("enabled").and_then(Value::as_bool) == Some(true);
    match t {
        Some(t) if on(t) => (true, t.get("summary").is_some_and(on)),
        _ => (false, false),
    }
}

/// The asset types a recording with these settings lists.
pub(crate) fn asset_types(t: Option<&Value>) -> Vec<&'static str> {
    match wanted(t) {
        (true, true) => vec!["transcript", "summary"],
        (true, false) => vec!["transcript"],
        _ => vec![],
    }
}

/// The summary file for settings `t` of a recording `duration` seconds long.
pub(crate) fn summary_file(t: Option<&Value>, duration: u64) -> Value {
    let asked: Vec<(String, String)> = t
        .and_then(|t| t["summary"]["sections"].as_array())
        .map(|list| {
            list.iter()
                .map(|s| {
                    (s["title"].as_str().unwrap_or_default().into(), s["format"].as_str().unwrap_or_default().into())
                })
                .collect()
        })
        .unwrap_or_else(|| DEFAULT_SECTIONS.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect());
    let sections: Vec<Value> = asked
        .into_iter()
        .map(|(title, format)| {
            if format == "paragraph" {
                json!({"title": title, "format": format,
                       "paragraph": format!("A {duration}-second class; {title} as the emulator heard it.")})
            } else {
                json!({"title": title, "format": format,
                       "bullets": [format!("{title}: first point"), format!("{title}: second point")]})
            }
        })
        .collect();
    json!({ "sections": sections })
}

impl Inner {
    /// Makes the transcript and summary assets of a completed recording that asked for them, and
    /// sends the two `transcription.*` events. `rec` names the recording: id, room, session,
    /// settings, duration, when it completed.
    pub(crate) fn transcribe(
        &mut self,
        rec: (&str, &str, &str),
        t: Option<&Value>,
        duration: u64,
        done: DateTime<Utc>,
        base: &str,
    ) {
        let (transcript, summary) = wanted(t);
        if !transcript {
            return;
        }
        let (job, room, session) = rec;
        let modes: Vec<String> = t
            .and_then(|t| t["output_modes"].as_array())
            .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_else(|| vec!["txt".into()]);
        let mut made: Vec<(String, String)> = modes.iter().map(|m| (format!("transcript_{m}"), m.clone())).collect();
        if summary {
            made.push(("summary_json".into(), "json".into()));
        }
        let transcription_id = new_id();
        let mut started = Map::new();
        let mut success = Map::new();
        for (k, v) in [
            ("account_id", json!(crate::CUSTOMER_ID)),
            ("app_id", json!(crate::APP_ID)),
            ("metadata_id", json!(uuid::Uuid::new_v4().to_string())),
            ("metadata_timestamp", json!(crate::ts(done))),
            ("recording_id", json!(job)),
            ("room_id", json!(room)),
            ("room_name", json!(self.rooms.iter().find(|r| r.id == room).map(|r| r.name.clone()).unwrap_or_default())),
            ("transcription_id", json!(transcription_id)),
            ("session_id", json!(session)),
            ("duration", json!(duration)),
        ] {
            started.insert(k.into(), v.clone());
            success.insert(k.into(), v);
        }
        for (prefix, mode) in made {
            let kind = if prefix.starts_with("summary") { "summary" } else { "transcript" };
            let id = new_id();
            let path = format!("s3://emulator-recordings/{room}/{job}/{kind}-{id}.{mode}");
            let size = if kind == "summary" {
                summary_file(t, duration).to_string().len() as u64
            } else {
                40 * duration.max(1)
            };
            let mut asset = Asset::new(
                &id,
                (job, room, session),
                kind,
                &path,
                size,
                duration,
                crate::ts(done),
                json!({"output_mode": mode}),
            );
            asset.content = Some(content(kind, &mode, t, duration));
            self.assets.push(asset);
            started.insert(format!("{prefix}_asset_id"), json!(id));
            success.insert(format!("{prefix}_asset_id"), json!(id));
            success.insert(format!("{prefix}_path"), json!(path));
            success.insert(format!("{prefix}_presigned_url"), json!(self.presign(base, &id, 86_400)));
        }
        self.emit("transcription.started.success", done, started);
        self.emit("transcription.success", done, success);
    }
}

/// What a transcript or summary asset's link serves: for a transcript a few lines in its mode,
/// for a summary the file of [`summary_file`].
pub(crate) fn content(kind: &str, mode: &str, t: Option<&Value>, duration: u64) -> String {
    match (kind, mode) {
        ("summary", _) => summary_file(t, duration).to_string(),
        (_, "srt") => "1\n00:00:00,000 --> 00:00:02,000\nGood morning, class.\n".into(),
        (_, "json") => {
            json!([{"start": 0.0, "end": 2.0, "speaker": "host", "text": "Good morning, class."}]).to_string()
        }
        _ => "[00:00:00] host: Good morning, class.\n".into(),
    }
}

//! Logs an operator can follow: one line per event, JSON by default, each written while an
//! invocation is answered carrying its `requestId` (and `xrayTraceId` when Lambda gives one), so
//! CloudWatch Logs Insights can group a request's lines (`filter requestId = "..."`).
//!
//! The level and the format follow Lambda's advanced logging controls and `RUST_LOG`:
//! - `AWS_LAMBDA_LOG_LEVEL` (what the function's logging configuration sets: TRACE, DEBUG, INFO,
//!   WARN, ERROR, FATAL) wins when set: an operator who changes the level there gets that level;
//! - else `RUST_LOG`: a level, or `target=level` directives (`warn,hms_shared=info`);
//! - else info.
//! - `AWS_LAMBDA_LOG_FORMAT`: `Text` gives plain lines; `JSON`, or unset, JSON lines (with a JSON
//!   log format Lambda filters them by their `level` field itself).
//!
//! A setting that is not one of these is reported in the logs at start, and logging goes on at
//! info, in JSON.

use std::fmt::{self, Write as _};

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::invocation;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line: `level`, `message`, `requestId`, `xrayTraceId`, the event's fields.
    Json,
    /// `LEVEL requestId message key=value ...`
    Text,
}

/// What the environment asks of logging, and what in it could not be followed.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub filter: Targets,
    pub format: LogFormat,
    /// Settings not followed, or asking for more than the build carries: logged once at start.
    pub notices: Vec<String>,
}

/// Sets up logging from the process environment, once per process, and reports what it could
/// not follow.
pub fn init_logging() {
    let settings = log_settings(|name| std::env::var(name).ok(), STATIC_MAX_LEVEL);
    if tracing::subscriber::set_global_default(log_subscriber(settings.filter, settings.format, std::io::stdout))
        .is_ok()
    {
        for notice in settings.notices {
            tracing::warn!("{notice}");
        }
    }
}

/// The settings `get` (the environment) asks for, given the most verbose level the build carries
/// (`built_max`; release builds stop at info: the workspace's Cargo.toml).
pub fn log_settings(get: impl Fn(&str) -> Option<String>, built_max: LevelFilter) -> LogSettings {
    let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut notices = Vec::new();
    let format = match get("AWS_LAMBDA_LOG_FORMAT").as_deref() {
        None => LogFormat::Json,
        Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
        Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
        Some(other) => {
            notices.push(format!("AWS_LAMBDA_LOG_FORMAT {other:?} is neither JSON nor Text: logging JSON"));
            LogFormat::Json
        }
    };
    let info = || Targets::new().with_default(Level::INFO);
    let (filter, asked_by) = match (get("AWS_LAMBDA_LOG_LEVEL"), get("RUST_LOG")) {
        (Some(level), _) => match lambda_level(&level) {
            Some(level) => (Targets::new().with_default(level), format!("AWS_LAMBDA_LOG_LEVEL {level:?}")),
            None => {
                notices.push(format!("AWS_LAMBDA_LOG_LEVEL {level:?} is not a level: logging at info"));
                (info(), String::new())
            }
        },
        (None, Some(text)) => match text.parse::<Targets>() {
            Ok(filter) => (filter, format!("RUST_LOG {text:?}")),
            Err(e) => {
                notices.push(format!("RUST_LOG {text:?} is not a log filter ({e}): logging at info"));
                (info(), String::new())
            }
        },
        (None, None) => (info(), String::new()),
    };
    let asked = filter.iter().map(|(_, level)| level).chain(filter.default_level()).max();
    if let Some(asked) = asked.filter(|&asked| asked > built_max) {
        notices.push(format!(
            "{asked_by} asks for {asked} events; this build carries {built_max} and above \
             (build with CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true for every level)"
        ));
    }
    LogSettings { filter, format, notices }
}

/// A level as Lambda's `AWS_LAMBDA_LOG_LEVEL` names it (FATAL is our error).
fn lambda_level(text: &str) -> Option<LevelFilter> {
    Some(match text.to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => return None,
    })
}

/// The subscriber with `filter`, writing `format` lines to `writer`, built but not installed:
/// apart from installing it, this is all logging costs at init (`cargo bench` measures it).
///
/// A registry with the filter and one formatting layer, not `tracing_subscriber::fmt()`: that
/// builder brings its own info filter, under which `filter` could never open up debug.
pub fn log_subscriber<W>(filter: Targets, format: LogFormat, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer().event_format(LambdaLines { format }).with_writer(writer);
    tracing_subscriber::registry().with(filter).with(lines)
}

/// Writes each event as one line of [`LogFormat`], with the current invocation's ids.
struct LambdaLines {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for LambdaLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = event.metadata().level().as_str();
        match self.format {
            LogFormat::Json => {
                // Written in a fixed order (level, message, ids, then the fields as recorded), so
                // a line reads the same way every time; each value through serde_json's escaping.
                write!(w, "{{\"level\":{},\"message\":{}", json(level)?, json(&fields.message)?)?;
                invocation::with_ids(|request_id, xray| -> fmt::Result {
                    write!(w, ",\"requestId\":{}", json(request_id)?)?;
                    if let Some(xray) = xray {
                        write!(w, ",\"xrayTraceId\":{}", json(xray)?)?;
                    }
                    Ok(())
                })
                .transpose()?;
                for (k, v) in &fields.rest {
                    if !matches!(k.as_str(), "level" | "message" | "requestId" | "xrayTraceId") {
                        write!(w, ",{}:{}", json(k)?, json(v)?)?;
                    }
                }
                writeln!(w, "}}")
            }
            LogFormat::Text => {
                write!(w, "{level}")?;
                invocation::with_ids(|request_id, _| write!(w, " {request_id}")).transpose()?;
                write!(w, " {}", fields.message)?;
                for (k, v) in fields.rest {
                    write!(w, " {k}={v}")?;
                }
                writeln!(w)
            }
        }
    }
}

/// A value as JSON text, through serde_json's escaping.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, fmt::Error> {
    serde_json::to_string(value).map_err(|_| fmt::Error)
}

/// An event's fields: its message apart, the rest as JSON values in the order recorded.
#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.rest.push((field.name().to_string(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.put(field, Value::String(text));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
}

/// Log lines captured in memory, for tests that read what was logged: the library's own unit
/// tests and the suites (it lives here, not in test-support, because the unit tests cannot use
/// test-support: it links another copy of this crate). A writer for [`log_subscriber`].
pub mod capture {
    use std::sync::{Arc, Mutex};

    /// Lines written by a subscriber, shared with the test.
    #[derive(Clone, Default)]
    pub struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        /// Everything written so far.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
        }

        /// Everything written so far, line by line.
        pub fn lines(&self) -> Vec<String> {
            self.text().lines().map(String::from).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Invocation;
    pub(crate) use capture::Captured;

    fn settings(vars: &[(&str, &str)], built_max: LevelFilter) -> LogSettings {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        log_settings(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), built_max)
    }

    #[test]
    fn rust_log_sets_levels_per_target_and_falls_back_to_info() {
        let all = LevelFilter::TRACE;
        let unset = settings(&[], all);
        assert!(unset.notices.is_empty());
        assert!(unset.filter.would_enable("hms_shared::hms", &Level::INFO));
        assert!(!unset.filter.would_enable("hms_shared::hms", &Level::DEBUG));

        let s = settings(&[("RUST_LOG", "warn,hms_shared=debug")], all);
        assert!(s.notices.is_empty());
        assert!(s.filter.would_enable("hms_shared::hms", &Level::DEBUG));
        assert!(!s.filter.would_enable("hms_shared::hms", &Level::TRACE));
        assert!(s.filter.would_enable("hyper_util::client", &Level::WARN));
        assert!(!s.filter.would_enable("hyper_util::client", &Level::INFO));

        let s = settings(&[("RUST_LOG", "hms_shared=loud")], all);
        assert!(s.notices[0].contains("\"hms_shared=loud\" is not a log filter"), "{:?}", s.notices);
        assert!(s.filter.would_enable("hms_shared", &Level::INFO));
        assert!(!s.filter.would_enable("hms_shared", &Level::DEBUG));
        assert!(settings(&[("RUST_LOG", "  ")], all).notices.is_empty(), "blank is unset");
    }

    #[test]
    fn lambdas_log_level_wins_over_rust_log_and_its_format_is_followed() {
        let all = LevelFilter::TRACE;
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")], all);
        assert!(!s.filter.would_enable("hms_shared", &Level::INFO));
        assert!(s.filter.would_enable("hms_shared", &Level::WARN));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "debug")], all);
        assert!(s.filter.would_enable("hms_shared", &Level::DEBUG));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")], all);
        assert!(!s.filter.would_enable("hms_shared", &Level::WARN) && s.filter.would_enable("x", &Level::ERROR));
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD"), ("RUST_LOG", "debug")], all);
        assert!(s.notices[0].contains("AWS_LAMBDA_LOG_LEVEL \"LOUD\" is not a level"), "{:?}", s.notices);
        assert!(s.filter.would_enable("hms_shared", &Level::INFO) && !s.filter.would_enable("x", &Level::DEBUG));

        assert_eq!(settings(&[], all).format, LogFormat::Json);
        assert_eq!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")], all).format, LogFormat::Json);
        assert_eq!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")], all).format, LogFormat::Text);
        let odd = settings(&[("AWS_LAMBDA_LOG_FORMAT", "xml")], all);
        assert_eq!(odd.format, LogFormat::Json);
        assert!(odd.notices[0].contains("\"xml\" is neither JSON nor Text"), "{:?}", odd.notices);
    }

    #[test]
    fn a_level_above_what_the_build_carries_is_kept_and_reported() {
        let release = LevelFilter::INFO;
        for (var, value, asked) in [
            ("RUST_LOG", "debug", "debug"),
            ("RUST_LOG", "warn,hyper_util=trace", "trace"),
            ("RUST_LOG", "hms_shared=debug", "debug"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG", "debug"),
        ] {
            let s = settings(&[(var, value)], release);
            let notice = s.notices.first().unwrap_or_else(|| panic!("{var}={value}: no notice"));
            assert!(notice.starts_with(var), "{notice}");
            assert!(
                notice.contains(&format!("asks for {asked} events; this build carries info and above")),
                "{notice}"
            );
            assert!(s.filter.would_enable("hms_shared", &Level::WARN), "{value}: the filter still applies");
        }
        for within in ["info", "warn,hms_shared=info", "error"] {
            assert!(settings(&[("RUST_LOG", within)], release).notices.is_empty(), "{within}: nothing to report");
        }
        assert!(settings(&[("RUST_LOG", "debug")], LevelFilter::DEBUG).notices.is_empty(), "a build with debug");
    }

    #[test]
    fn the_subscriber_logs_what_the_filter_asks_for() {
        let enabled = |rust_log: &str, level| {
            let s = settings(&[("RUST_LOG", rust_log)], LevelFilter::TRACE);
            let subscriber = log_subscriber(s.filter, LogFormat::Json, std::io::sink);
            tracing::subscriber::with_default(subscriber, || match level {
                Level::DEBUG => tracing::enabled!(Level::DEBUG),
                Level::INFO => tracing::enabled!(Level::INFO),
                _ => tracing::enabled!(Level::WARN),
            })
        };
        assert!(enabled("", Level::INFO));
        assert!(!enabled("", Level::DEBUG));
        assert!(enabled("debug", Level::DEBUG), "RUST_LOG=debug opens up debug");
        assert!(!enabled("warn", Level::INFO));
        assert!(enabled("warn", Level::WARN));
    }

    /// Emits lines inside two invocations and outside any, as `format`; returns the lines.
    fn lines_of_two_invocations(format: LogFormat) -> Vec<String> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = log_subscriber(Targets::new().with_default(Level::INFO), format, move || writer.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("before any invocation");
            for (id, xray) in [("req-1", Some("Root=1-5e1b4151-5ac6c58f")), ("req-2", None)] {
                let inv = Invocation::new(id, xray.map(String::from), None);
                runtime.block_on(inv.scope(async {
                    tracing::info!(status = 200u64, route = "/x", ok = true, "request");
                    tracing::warn!(why = "quote \" and newline \n", "something odd");
                }));
            }
        });
        out.lines()
    }

    #[test]
    fn json_lines_parse_and_carry_the_id_of_the_invocation_that_wrote_them() {
        let lines = lines_of_two_invocations(LogFormat::Json);
        assert_eq!(lines.len(), 5, "{lines:#?}");
        let parsed: Vec<Value> =
            lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
        assert_eq!(parsed[0]["message"], "before any invocation");
        assert!(parsed[0].get("requestId").is_none());
        for (line, id) in parsed[1..].iter().zip(["req-1", "req-1", "req-2", "req-2"]) {
            assert_eq!(line["requestId"], id, "{line}");
        }
        assert_eq!(parsed[1]["xrayTraceId"], "Root=1-5e1b4151-5ac6c58f");
        assert!(parsed[3].get("xrayTraceId").is_none(), "no trace id when Lambda gives none");
        assert_eq!(parsed[1]["level"], "INFO");
        assert_eq!(parsed[1]["message"], "request");
        assert_eq!((parsed[1]["status"].as_u64(), parsed[1]["route"].as_str()), (Some(200), Some("/x")));
        assert_eq!(parsed[1]["ok"], true);
        assert_eq!(parsed[2]["level"], "WARN");
        assert_eq!(parsed[2]["why"], "quote \" and newline \n");
    }

    #[test]
    fn text_lines_carry_the_level_and_request_id() {
        let lines = lines_of_two_invocations(LogFormat::Text);
        assert_eq!(lines[0], "INFO before any invocation");
        assert_eq!(lines[1], "INFO req-1 request status=200 route=\"/x\" ok=true");
        assert!(lines[4].starts_with("WARN req-2 something odd why="), "{}", lines[4]);
    }
}

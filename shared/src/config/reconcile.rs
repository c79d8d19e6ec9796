//! `reconcile`'s settings: `RECONCILE_SETTLE_SECONDS`, `RECONCILE_FIRST_LOOKBACK_HOURS`,
//! `RECONCILE_MAX_TRIES`, `RECONCILE_POLL_SECONDS` (what each does: [`crate::reconcile::Settings`]).

use std::time::Duration;

use chrono::TimeDelta;

use crate::error::ConfigError;
use crate::reconcile::Settings;

/// 100ms's retries end some 14 s after the first attempt, plus up to four attempts' timeouts (not
/// documented): five minutes is well past that, and past the end of a class's burst of events.
pub const DEFAULT_SETTLE_SECONDS: u32 = 300;
/// The first run reads back a day: the log's default window.
pub const DEFAULT_FIRST_LOOKBACK_HOURS: u32 = 24;
pub const DEFAULT_MAX_TRIES: u32 = 3;
pub const DEFAULT_POLL_SECONDS: u32 = 5;

/// `name`'s whole number within `range`, or `default` when unset.
fn number(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(value) = get(name) else { return Ok(default) };
    match value.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError(format!(
            "{name} must be a whole number from {} to {}, got {value:?}",
            range.start(),
            range.end()
        ))),
    }
}

/// The settings, or every error among them.
pub fn reconcile_settings(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let settle = number(get, "RECONCILE_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS, 1..=3_600);
    let lookback = number(get, "RECONCILE_FIRST_LOOKBACK_HOURS", DEFAULT_FIRST_LOOKBACK_HOURS, 1..=24 * 29);
    let tries = number(get, "RECONCILE_MAX_TRIES", DEFAULT_MAX_TRIES, 1..=10);
    let poll = number(get, "RECONCILE_POLL_SECONDS", DEFAULT_POLL_SECONDS, 1..=60);
    match (settle, lookback, tries, poll) {
        (Ok(settle), Ok(lookback), Ok(max_tries), Ok(poll)) => Ok(Settings {
            settle: TimeDelta::seconds(i64::from(settle)),
            first_lookback: TimeDelta::hours(i64::from(lookback)),
            max_tries,
            poll_every: Duration::from_secs(u64::from(poll)),
        }),
        (a, b, c, d) => {
            let errors: Vec<String> = [a.err(), b.err(), c.err(), d.err()].into_iter().flatten().map(|e| e.0).collect();
            Err(ConfigError(errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let none = |_: &str| None;
        let s = reconcile_settings(&none).unwrap();
        assert_eq!(s.settle, TimeDelta::seconds(300));
        assert_eq!((s.first_lookback, s.max_tries, s.poll_every), (TimeDelta::hours(24), 3, Duration::from_secs(5)));
        let set = |k: &str| match k {
            "RECONCILE_SETTLE_SECONDS" => Some("20".to_string()),
            "RECONCILE_MAX_TRIES" => Some("2".to_string()),
            _ => None,
        };
        let s = reconcile_settings(&set).unwrap();
        assert_eq!((s.settle, s.max_tries), (TimeDelta::seconds(20), 2));
        let bad = |k: &str| match k {
            "RECONCILE_MAX_TRIES" => Some("0".to_string()),
            "RECONCILE_POLL_SECONDS" => Some("x".to_string()),
            _ => None,
        };
        let e = reconcile_settings(&bad).unwrap_err().0;
        assert!(e.contains("RECONCILE_MAX_TRIES") && e.contains("RECONCILE_POLL_SECONDS"), "{e}");
    }
}

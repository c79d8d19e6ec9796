//! Who attended a session and for how long. Pure functions of a [`Session`] and "now".
//!
//! - An attendee is every peer sharing one non-empty `user_id`; a peer without one is its own.
//! - A peer is present from `joined_at` to `left_at`; without `left_at`, to now if the session is
//!   active, else to the session's end.
//! - An attendee's duration is the length of the union of its peers' presence, and its visits
//!   are that union's intervals: overlapping or touching presences merge into one visit.

mod json;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::hms::sessions::{Peer, Session};

/// One attendee's figures. Durations are kept exact; rounding happens when the report is
/// serialized. Strings borrow from the session.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendee<'a> {
    pub user_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub role: Option<&'a str>,
    pub joins: usize,
    pub first_join: DateTime<Utc>,
    /// `None` while one of its peers is still in an active session.
    pub last_leave: Option<DateTime<Utc>>,
    pub duration: TimeDelta,
    /// Its visits: indexes into [`Report::visits`].
    pub visits: std::ops::Range<usize>,
}

/// One visit: from a join to a leave (`None` while the attendee is still in an active session).
pub type Visit = (DateTime<Utc>, Option<DateTime<Utc>>);

/// The attendance of one session. Its JSON form ([`Report::to_json_bytes`]) is the answer of
/// `/session-analytics-by-room`: the sample's fields (minutes as numbers rounded to 2 decimals)
/// plus ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<'a> {
    pub room_id: &'a str,
    pub session_id: &'a str,
    pub active: bool,
    /// When the session started.
    pub started_at: DateTime<Utc>,
    pub session_duration: TimeDelta,
    pub attendees: Vec<Attendee<'a>>,
    /// Every attendee's visits, each attendee's together and in time order.
    pub visits: Vec<Visit>,
}

impl Report<'_> {
    pub fn total_peer_duration(&self) -> TimeDelta {
        self.attendees.iter().map(|a| a.duration).sum()
    }
}

pub(crate) fn seconds(d: TimeDelta) -> f64 {
    d.num_nanoseconds().map_or(d.num_seconds() as f64, |n| n as f64 / 1e9)
}

/// Rounds to 2 decimals, half away from zero.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A duration in minutes rounded to 2 decimals: the sample's unit, as a JSON number.
pub fn minutes(d: TimeDelta) -> f64 {
    round2(seconds(d) / 60.0)
}

/// When a closed session ended: `updated_at` when it is set and not before `created_at`, else the
/// latest time any peer was seen, else `created_at`.
pub fn session_end(session: &Session<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    if session.active {
        return now.max(session.created_at);
    }
    if let Some(updated) = session.updated_at.filter(|u| *u >= session.created_at) {
        return updated;
    }
    session
        .peers
        .iter()
        .map(|p| p.left_at.unwrap_or(p.joined_at))
        .max()
        .unwrap_or(session.created_at)
        .max(session.created_at)
}

/// Length of the union of intervals; empty or inverted intervals count nothing.
pub fn union_length(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> TimeDelta {
    intervals.sort_unstable();
    union_of_sorted(intervals.into_iter())
}

/// [`union_length`] of intervals already in order of their start: one pass, no allocation.
fn union_of_sorted(intervals: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>) -> TimeDelta {
    merge_sorted(intervals, |_, _| {})
}

/// The union of intervals already in order of their start, in one pass: each merged interval is
/// handed to `merged`, in order; answers the union's length.
fn merge_sorted(
    intervals: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    mut merged: impl FnMut(DateTime<Utc>, DateTime<Utc>),
) -> TimeDelta {
    let mut total = TimeDelta::zero();
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (s, e) in intervals.filter(|(s, e)| e > s) {
        match current {
            Some((cs, ce)) if s <= ce => current = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                merged(cs, ce);
                current = Some((s, e));
            }
            None => current = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
        merged(cs, ce);
    }
    total
}

/// The attendee a peer belongs to: its non-empty `user_id`, else the peer itself.
fn attendee_key<'a>(peer: &'a Peer<'_>) -> &'a str {
    match peer.user_id.as_deref() {
        Some(u) if !u.is_empty() => u,
        _ => &peer.key,
    }
}

/// Computes the attendance of `session` as of `now`.
///
/// Each attendee gets a number (in order of first appearance), then one sort by (number, join
/// time, peer id) groups the peers by attendee with each group in join order: each attendee's
/// union of intervals is a single pass, with no per-attendee allocation and no string compared
/// while sorting.
pub fn compute<'a>(session: &'a Session<'a>, now: DateTime<Utc>) -> Report<'a> {
    let end = session_end(session, now);
    let mut numbers: HashMap<&'a str, u32, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(session.peers.len(), Default::default());
    let mut peers: Vec<(u32, &'a Peer<'a>)> = session
        .peers
        .iter()
        .map(|p| {
            let next = numbers.len() as u32;
            (*numbers.entry(attendee_key(p)).or_insert(next), p)
        })
        .collect();
    peers.sort_unstable_by(|(na, a), (nb, b)| {
        na.cmp(nb).then_with(|| a.joined_at.cmp(&b.joined_at)).then_with(|| a.key.cmp(&b.key))
    });
    let mut visits: Vec<Visit> = Vec::with_capacity(session.peers.len());
    let mut attendees: Vec<Attendee<'a>> = peers
        .chunk_by(|(na, _), (nb, _)| na == nb)
        .map(|group| {
            let present = |p: &Peer<'_>| p.left_at.is_none() && session.active;
            let still_present = group.iter().any(|(_, p)| present(p));
            // The group is in join order: the latest-joined peer (ties: the larger id) names it.
            let (_, latest) = group[group.len() - 1];
            let first_visit = visits.len();
            let duration = merge_sorted(group.iter().map(|(_, p)| (p.joined_at, p.left_at.unwrap_or(end))), |s, e| {
                visits.push((s, Some(e)))
            });
            // A visit that runs to now is still going on.
            if still_present && let Some(last) = visits[first_visit..].last_mut().filter(|v| v.1 == Some(end)) {
                last.1 = None;
            }
            Attendee {
                user_id: latest.user_id.as_deref().filter(|u| !u.is_empty()),
                name: latest.name.as_deref(),
                role: latest.role.as_deref(),
                joins: group.len(),
                first_join: group[0].1.joined_at,
                last_leave: if still_present {
                    None
                } else {
                    group.iter().map(|(_, p)| p.left_at.unwrap_or(end)).max()
                },
                duration,
                visits: first_visit..visits.len(),
            }
        })
        .collect();
    // Stable: attendees alike in all three stay in order of first appearance, so the answer is
    // repeatable.
    attendees.sort_by(|a, b| {
        a.first_join.cmp(&b.first_join).then_with(|| a.user_id.cmp(&b.user_id)).then_with(|| a.name.cmp(&b.name))
    });
    Report {
        room_id: &session.room_id,
        session_id: &session.id,
        active: session.active,
        started_at: session.created_at,
        session_duration: end - session.created_at,
        attendees,
        visits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hms::sessions::{Page, parse};
    use crate::time::parse_rfc3339;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(&format!("2024-05-01T{s}Z")).unwrap()
    }

    fn peer(user: Option<&'static str>, name: &'static str, join: &str, leave: Option<&str>) -> Peer<'static> {
        Peer {
            key: Default::default(),
            name: Some(name.into()),
            role: Some("guest".into()),
            user_id: user.map(Into::into),
            joined_at: t(join),
            left_at: leave.map(t),
        }
    }

    fn session(active: bool, created: &str, updated: Option<&str>, peers: Vec<Peer<'static>>) -> Session<'static> {
        Session {
            id: "s1".into(),
            room_id: "r1".into(),
            active,
            created_at: t(created),
            updated_at: updated.map(t),
            peers: peers.into_iter().enumerate().map(|(i, p)| Peer { key: format!("peer-{i}").into(), ..p }).collect(),
        }
    }

    /// The answer as the handler sends it: the bytes, read back.
    fn to_json(r: &Report<'_>) -> serde_json::Value {
        serde_json::from_slice(&r.to_json_bytes()).unwrap()
    }

    fn by_user<'a>(r: &'a Report<'_>, user: &str) -> &'a Attendee<'a> {
        r.attendees.iter().find(|a| a.user_id == Some(user)).unwrap()
    }

    #[test]
    fn union_of_intervals() {
        let cases: Vec<(Vec<(&str, &str)>, i64)> = vec![
            (vec![], 0),
            (vec![("10:00:00", "10:10:00")], 600),
            (vec![("10:00:00", "10:10:00"), ("10:05:00", "10:15:00")], 900),
            (vec![("10:00:00", "10:10:00"), ("10:20:00", "10:30:00")], 1200),
            (vec![("10:00:00", "10:30:00"), ("10:05:00", "10:10:00")], 1800),
            (vec![("10:00:00", "10:10:00"), ("10:10:00", "10:20:00")], 1200),
            (vec![("10:20:00", "10:30:00"), ("10:00:00", "10:25:00"), ("10:40:00", "10:41:00")], 1860),
            (vec![("10:10:00", "10:00:00")], 0),
            (vec![("10:00:00", "10:00:00")], 0),
        ];
        for (intervals, secs) in cases {
            let iv = intervals.iter().map(|(s, e)| (t(s), t(e))).collect::<Vec<_>>();
            assert_eq!(union_length(iv).num_seconds(), secs, "{intervals:?}");
        }
    }

    #[test]
    fn rounding() {
        assert_eq!(round2(1.005 * 1000.0) / 1000.0, 1.005);
        assert_eq!(round2(0.125), 0.13);
        assert_eq!(round2(2.0 / 3.0), 0.67);
        assert_eq!(minutes(TimeDelta::seconds(90)), 1.5);
        assert_eq!(minutes(TimeDelta::milliseconds(1815)), 0.03);
        assert_eq!(minutes(TimeDelta::seconds(20)), 0.33);
        assert_eq!(minutes(TimeDelta::zero()), 0.0);
        assert_eq!(minutes(TimeDelta::nanoseconds(59_999_999_999)), 1.0);
    }

    #[test]
    fn two_devices_at_once_count_once_and_a_rejoin_counts_both_visits() {
        let s = session(
            false,
            "10:00:00",
            Some("11:00:00"),
            vec![
                peer(Some("alice"), "Alice phone", "10:00:00", Some("10:30:00")),
                peer(Some("alice"), "Alice laptop", "10:10:00", Some("10:20:00")),
                peer(Some("bob"), "Bob", "10:00:00", Some("10:10:00")),
                peer(Some("bob"), "Bob again", "10:40:00", Some("10:50:00")),
            ],
        );
        let r = compute(&s, t("12:00:00"));
        assert_eq!(r.attendees.len(), 2);
        let alice = by_user(&r, "alice");
        assert_eq!(alice.duration.num_seconds(), 1800);
        assert_eq!(alice.joins, 2);
        assert_eq!(alice.name, Some("Alice laptop"), "name of the latest-joined peer");
        let bob = by_user(&r, "bob");
        assert_eq!(bob.duration.num_seconds(), 1200);
        assert_eq!(bob.name, Some("Bob again"));
        assert_eq!(bob.last_leave, Some(t("10:50:00")));
        assert_eq!(r.session_duration.num_seconds(), 3600);
        assert_eq!(r.total_peer_duration().num_seconds(), 3000);
    }

    #[test]
    fn ties_go_to_the_larger_peer_id_then_user_id_then_name_then_first_appearance() {
        // Two peers of alice join at the same instant: the one with the larger peer id names her,
        // whichever came first in the answer.
        for (first, second, expected) in [("A1", "A2", "A2"), ("A2", "A1", "A1")] {
            let s = session(
                false,
                "10:00:00",
                Some("11:00:00"),
                vec![peer(Some("alice"), first, "10:00:00", None), peer(Some("alice"), second, "10:00:00", None)],
            );
            assert_eq!(compute(&s, t("12:00:00")).attendees[0].name, Some(expected));
        }
        // Attendees joining at the same instant: by user_id (none first), then name, then order.
        let s = session(
            false,
            "10:00:00",
            Some("11:00:00"),
            vec![
                peer(Some("carl"), "C", "10:05:00", None),
                peer(None, "Zed", "10:05:00", None),
                peer(Some("bob"), "B", "10:05:00", None),
                peer(None, "Amy", "10:05:00", Some("10:06:00")),
                peer(None, "Amy", "10:05:00", Some("10:07:00")),
                peer(Some("ann"), "A", "10:04:59.999999999", None),
            ],
        );
        let r = compute(&s, t("12:00:00"));
        let rows: Vec<(Option<&str>, Option<&str>, i64)> =
            r.attendees.iter().map(|a| (a.user_id, a.name, a.duration.num_seconds())).collect();
        assert_eq!(
            rows,
            [
                (Some("ann"), Some("A"), 3300),
                (None, Some("Amy"), 60),
                (None, Some("Amy"), 120),
                (None, Some("Zed"), 3300),
                (Some("bob"), Some("B"), 3300),
                (Some("carl"), Some("C"), 3300),
            ]
        );
    }

    #[test]
    fn peers_without_user_id_are_attendees_of_their_own() {
        let s = session(
            false,
            "10:00:00",
            Some("10:30:00"),
            vec![
                peer(None, "Anon A", "10:00:00", Some("10:10:00")),
                peer(None, "Anon B", "10:00:00", Some("10:20:00")),
                peer(Some(""), "Empty id", "10:05:00", Some("10:06:00")),
            ],
        );
        let r = compute(&s, t("12:00:00"));
        assert_eq!(r.attendees.len(), 3);
        assert!(r.attendees.iter().all(|a| a.user_id.is_none()));
        assert_eq!(r.total_peer_duration().num_seconds(), 600 + 1200 + 60);
        let json = to_json(&r);
        assert!(json["user_duration_list"].as_array().unwrap().iter().all(|row| row["user_id"].is_null()));
    }

    #[test]
    fn no_left_at_runs_to_now_when_active_and_to_the_session_end_when_closed() {
        let peers = vec![peer(Some("u"), "U", "10:00:00", None)];
        let active = session(true, "10:00:00", Some("10:01:00"), peers.clone());
        let active = compute(&active, t("10:45:00"));
        assert_eq!(by_user(&active, "u").duration.num_seconds(), 2700);
        assert_eq!(by_user(&active, "u").last_leave, None);
        assert_eq!(active.session_duration.num_seconds(), 2700);
        let closed = session(false, "10:00:00", Some("10:20:00"), peers.clone());
        let closed = compute(&closed, t("10:45:00"));
        assert_eq!(by_user(&closed, "u").duration.num_seconds(), 1200);
        assert_eq!(by_user(&closed, "u").last_leave, Some(t("10:20:00")));
        assert_eq!(closed.session_duration.num_seconds(), 1200);
    }

    #[test]
    fn closed_session_without_updated_at_ends_at_the_last_peer_seen() {
        let s = session(
            false,
            "10:00:00",
            None,
            vec![peer(Some("a"), "A", "10:00:00", Some("10:07:00")), peer(Some("b"), "B", "10:02:00", None)],
        );
        let r = compute(&s, t("23:00:00"));
        assert_eq!(r.session_duration.num_seconds(), 420);
        assert_eq!(by_user(&r, "b").duration.num_seconds(), 300);
        let empty = session(false, "10:00:00", None, vec![]);
        let empty = compute(&empty, t("23:00:00"));
        assert_eq!(empty.session_duration, TimeDelta::zero());
        assert!(empty.attendees.is_empty());
        assert_eq!(to_json(&empty)["total_peer_duration"], 0.0);
    }

    #[test]
    fn visits_are_the_merged_presences_and_one_still_going_is_open() {
        let s = session(
            true,
            "10:00:00",
            None,
            vec![
                peer(Some("a"), "A phone", "10:00:00", Some("10:10:00")),
                peer(Some("a"), "A laptop", "10:05:00", Some("10:15:00")),
                peer(Some("a"), "A again", "10:20:00", None),
                peer(Some("b"), "B", "10:01:00", Some("10:02:00")),
            ],
        );
        let json = to_json(&compute(&s, t("10:30:00")));
        let rows = json["user_duration_list"].as_array().unwrap();
        assert_eq!(rows[0]["user_id"], "a");
        assert_eq!(
            rows[0]["visits"],
            serde_json::json!([
                {"joined_at": "2024-05-01T10:00:00Z", "left_at": "2024-05-01T10:15:00Z"},
                {"joined_at": "2024-05-01T10:20:00Z", "left_at": null},
            ]),
            "overlapping devices are one visit; the rejoin still going has no end"
        );
        assert_eq!(rows[0]["duration_seconds"], 1500.0, "the visits' lengths add up to the duration");
        assert_eq!(
            rows[1]["visits"],
            serde_json::json!([{"joined_at": "2024-05-01T10:01:00Z", "left_at": "2024-05-01T10:02:00Z"}])
        );
        assert_eq!(json["session_started_at"], "2024-05-01T10:00:00Z");
    }

    #[test]
    fn output_shape_minutes_rounded_at_output_only() {
        // Three peers of 20 s each: 0.33 min each when rounded, but the total is 1.0 min, not 0.99.
        let s = session(
            false,
            "10:00:00",
            Some("10:01:00"),
            vec![
                peer(Some("a"), "A", "10:00:00", Some("10:00:20")),
                peer(Some("b"), "B", "10:00:20", Some("10:00:40")),
                peer(Some("c"), "C", "10:00:40", Some("10:01:00")),
            ],
        );
        let json = to_json(&compute(&s, t("11:00:00")));
        assert_eq!(json["total_peer_duration"], 1.0);
        assert_eq!(json["session_duration"], 1.0);
        let rows = json["user_duration_list"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["user_id"], "a", "ordered by first join");
        assert_eq!(rows[0]["name"], "A");
        assert_eq!(rows[0]["duration"], 0.33);
        assert_eq!(rows[0]["duration_seconds"], 20.0);
        assert_eq!(rows[0]["joins"], 1);
        assert_eq!(rows[0]["role"], "guest");
        assert_eq!(rows[0]["first_join_at"], "2024-05-01T10:00:00Z");
        assert_eq!(rows[0]["last_leave_at"], "2024-05-01T10:00:20Z");
        assert_eq!(json["room_id"], "r1");
        assert_eq!(json["session_id"], "s1");
        assert_eq!(json["active"], false);
        assert!(json["session_duration"].is_f64(), "a number, not a string");
    }

    #[test]
    fn docs_examples_give_the_expected_figures() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/100ms-examples/legacy_sessions_list_response.json"
        ))
        .unwrap();
        let page: Page<Session> = parse(&bytes, "page").unwrap();
        // The closed session: two peers of "Deep2" without user_id -> two attendees of their own.
        let closed = compute(&page.data[1], Utc::now());
        assert_eq!(closed.attendees.len(), 2);
        let mut secs: Vec<i64> = closed.attendees.iter().map(|a| a.duration.num_milliseconds()).collect();
        secs.sort();
        assert_eq!(secs, vec![5_531, 11_711]);
        assert_eq!(closed.session_duration.num_milliseconds(), 11_767);
        // The active session: its one peer is present until "now".
        let now = parse_rfc3339("2022-02-11T04:53:46.306Z").unwrap();
        let active = compute(&page.data[0], now);
        assert_eq!(active.attendees[0].duration.num_seconds(), 600);
        assert_eq!(to_json(&active)["user_duration_list"][0]["duration"], 10.0);
    }
}

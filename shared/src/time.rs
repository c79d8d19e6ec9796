//! RFC 3339 timestamps as 100ms writes them (0 to 9 fractional digits, `Z`, Go's zero time).

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};

/// Parses one RFC 3339 timestamp into UTC. Never a fixed format: 100ms varies the fraction.
///
/// The form 100ms writes (`Z`, upper case, 0 to 9 fraction digits) takes a fast path that reads
/// the digits in place; anything else (offsets, lower case, leap seconds, nonsense) goes to
/// chrono's parser, which also decides what is invalid. The fast path halves the cost of a
/// timestamp, and a session of 10,000 peers has 20,000 of them.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    parse_utc_z(s.as_bytes()).or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, or `None` to let chrono decide.
fn parse_utc_z(s: &[u8]) -> Option<DateTime<Utc>> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, rest @ ..] = s else {
        return None;
    };
    let [fraction @ .., b'Z'] = rest else {
        return None;
    };
    let digits = |ds: &[u8]| ds.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')));
    let nanos = match fraction {
        [] => 0,
        [b'.', ds @ ..] if (1..=9).contains(&ds.len()) => digits(ds)? * 10u32.pow(9 - ds.len() as u32),
        _ => return None,
    };
    let year = digits(&[*y0, *y1, *y2, *y3])?;
    NaiveDate::from_ymd_opt(year as i32, digits(&[*m0, *m1])?, digits(&[*d0, *d1])?)?
        .and_hms_nano_opt(digits(&[*h0, *h1])?, digits(&[*i0, *i1])?, digits(&[*s0, *s1])?, nanos)
        .map(|t| t.and_utc())
}

/// Appends `t` in RFC 3339, UTC, `Z`, with as many fraction digits as it needs (0, 3, 6 or 9):
/// exactly what chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes, without a `String`
/// and `fmt` machinery for each of the 7,000 timestamps of a 10,000-peer report. Years outside
/// 0..=9999 and leap seconds are left to chrono.
pub fn write_rfc3339(t: DateTime<Utc>, out: &mut Vec<u8>) {
    let (date, time) = (t.date_naive(), t.time());
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&date.year()) || nanos >= 1_000_000_000 {
        out.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes());
        return;
    }
    let mut buf = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |end: usize, width: usize, mut n: u32| {
        for i in (end - width..end).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(4, 4, date.year() as u32);
    put(7, 2, date.month());
    put(10, 2, date.day());
    put(13, 2, time.hour());
    put(16, 2, time.minute());
    put(19, 2, time.second());
    let digits = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    put(29, 9, nanos);
    if digits == 0 {
        out.extend_from_slice(&buf[..19]);
    } else {
        out.extend_from_slice(&buf[..20 + digits]);
    }
    out.push(b'Z');
}

/// Go's zero time (`0001-01-01T00:00:00Z`), which 100ms sends for "never set".
pub fn is_unset(t: &DateTime<Utc>) -> bool {
    t.year() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fraction_length_parses_to_the_same_instant_family() {
        let base = parse_rfc3339("2022-09-08T15:07:37Z").unwrap();
        let cases = [
            ("2022-09-08T15:07:37Z", 0),
            ("2022-09-08T15:07:37.8Z", 800_000_000),
            ("2022-09-08T15:07:37.83Z", 830_000_000),
            ("2022-09-08T15:07:37.009Z", 9_000_000),
            ("2022-09-08T15:07:37.0809Z", 80_900_000),
            ("2022-09-08T15:07:37.08099Z", 80_990_000),
            ("2022-09-08T15:07:37.080990Z", 80_990_000),
            ("2022-09-08T15:07:37.0809904Z", 80_990_400),
            ("2022-09-08T15:07:37.08099040Z", 80_990_400),
            ("2022-09-08T15:07:37.080990401Z", 80_990_401),
            ("2022-09-08T15:07:37.080990401+00:00", 80_990_401),
            ("2022-09-08T17:07:37.5+02:00", 500_000_000),
            ("2022-09-08t15:07:37.5z", 500_000_000),
        ];
        for (s, nanos) in cases {
            let t = parse_rfc3339(s).unwrap_or_else(|| panic!("{s} did not parse"));
            assert_eq!((t - base).num_nanoseconds(), Some(nanos), "{s}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_or_leaves_the_call_to_it() {
        for s in [
            "2022-09-08T15:07:37Z",
            "2022-09-08T15:07:37.1Z",
            "2022-09-08T15:07:37.123456789Z",
            "0001-01-01T00:00:00Z",
            "2024-02-29T23:59:59.999Z",
        ] {
            assert_eq!(parse_utc_z(s.as_bytes()), DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc()), "{s}");
        }
        // Not taken by the fast path; chrono decides (accepts the first three, rejects the rest).
        for s in [
            "2022-09-08T15:07:37+00:00",
            "2022-09-08t15:07:37z",
            "2016-12-31T23:59:60Z",
            "2022-09-08T15:07:37.Z",
            "2022-09-08T15:07:37.1234567891Z", // chrono reads (and truncates) 10 digits
            "2023-02-29T00:00:00Z",
            "2022-09-08T24:00:00Z",
            "2022-09-08T15:07:3xZ",
            "+2022-09-08T15:07:37Z",
            "2022-09-08T15:07:37ZZ",
        ] {
            assert_eq!(parse_utc_z(s.as_bytes()), None, "{s}");
        }
        assert!(parse_rfc3339("2016-12-31T23:59:60Z").is_some(), "a leap second still parses, through chrono");
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for s in [
            "",
            "2022-09-08",
            "1662649657",
            "2022-13-08T15:07:37Z",
            "2022-09-08T15:07:37",
            "2023-02-29T00:00:00Z",
            "2022-09-08T15:07:37.Z",
            "2022-09-08T15:07:37ZZ",
            "2022-09-08T15:07:37.12a4Z",
        ] {
            assert!(parse_rfc3339(s).is_none(), "{s} should not parse");
        }
    }

    #[test]
    fn go_zero_time_is_unset() {
        let zero = parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
        assert!(is_unset(&zero));
        assert!(!is_unset(&parse_rfc3339("1970-01-01T00:00:00Z").unwrap()));
        assert!(!is_unset(&parse_rfc3339("2022-09-08T15:07:37Z").unwrap()));
    }
}

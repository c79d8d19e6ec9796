//! The table: medians of the runs per binary, sizes from the build directories, and each
//! binary's ratios to the floor (and, over TLS, to the TLS floor), as Markdown.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use hms_e2e::FLOOR;

use crate::{Args, FLOOR_TLS};

pub(crate) fn median<T: Ord + Copy>(v: &mut [T]) -> Option<T> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// One row of the table: medians over the runs, sizes from the build directories.
pub(crate) struct Row {
    pub(crate) binary: &'static str,
    pub(crate) init: Duration,
    pub(crate) cold: Duration,
    pub(crate) warm: Duration,
    pub(crate) rss_kib: u64,
    pub(crate) stripped: Option<u64>,
    pub(crate) zip_arm64: Option<u64>,
    pub(crate) zip_x86_64: Option<u64>,
    /// Median handshakes per cold start; the most any run made over its warm invocations.
    pub(crate) handshakes_cold: u64,
    pub(crate) handshakes_warm: u64,
}

pub(crate) fn size(dir: &Option<PathBuf>, binary: &str, file: &str) -> Option<u64> {
    dir.as_ref().and_then(|d| std::fs::metadata(d.join(binary).join(file)).ok()).map(|m| m.len())
}

pub(crate) fn render(rows: &[Row], args: &Args) -> String {
    let floor = &rows[0];
    let tls_floor = rows.iter().find(|r| r.binary == FLOOR_TLS);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.2}x", a / b) } else { "-".into() };
    let opt_mb = |v: Option<u64>| v.map_or("-".into(), |b| format!("{:.2}", b as f64 / 1e6));
    let opt_ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => ratio(a as f64, b as f64),
        _ => "-".into(),
    };
    let mut t = String::new();
    writeln!(
        t,
        "Medians of {} runs per binary; warm = median of {} invocations per run; RSS = peak after {} invocations.",
        args.runs,
        args.invocations.saturating_sub(1),
        args.invocations
    )
    .unwrap();
    writeln!(t, "Sizes: stripped arm64 bootstrap and deflated zips, in MB (10^6 bytes).").unwrap();
    if args.tls {
        writeln!(
            t,
            "Over TLS: every service behind a TLS endpoint, the run's CA trusted through SSL_CERT_FILE ({}); \
             handshakes counted at the endpoints: per cold start (median), and the most any run made over its {} warm invocations.",
            if args.ca_base.is_some() { "the CA appended to a system bundle" } else { "the CA alone" },
            args.invocations.saturating_sub(1)
        )
        .unwrap();
    }
    writeln!(t).unwrap();
    let (tls_head, tls_rule) = if args.tls { (" handshakes cold | handshakes warm |", "---:|---:|") } else { ("", "") };
    writeln!(
        t,
        "| binary | init ms | cold first response ms | warm µs | peak RSS MiB | stripped arm64 MB | zip arm64 MB | zip x86_64 MB |{tls_head}"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|{tls_rule}").unwrap();
    for r in rows {
        let tls_cells =
            if args.tls { format!(" {} | {} |", r.handshakes_cold, r.handshakes_warm) } else { String::new() };
        writeln!(
            t,
            "| {} | {:.2} | {:.2} | {:.0} | {:.1} | {} | {} | {} |{tls_cells}",
            r.binary,
            ms(r.init),
            ms(r.cold),
            r.warm.as_secs_f64() * 1e6,
            r.rss_kib as f64 / 1024.0,
            opt_mb(r.stripped),
            opt_mb(r.zip_arm64),
            opt_mb(r.zip_x86_64),
        )
        .unwrap();
    }
    writeln!(t, "\nRatio to {FLOOR} (same profile, same run):\n").unwrap();
    let (tls_head, tls_rule) = match tls_floor {
        Some(_) => (format!(" cold first response to {FLOOR_TLS} |"), "---:|"),
        None => (String::new(), ""),
    };
    writeln!(
        t,
        "| binary | init | cold first response | warm | peak RSS | stripped arm64 | zip arm64 | zip x86_64 |{tls_head}"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|{tls_rule}").unwrap();
    for r in &rows[1..] {
        let tls_cell = tls_floor.map_or(String::new(), |f| format!(" {} |", ratio(ms(r.cold), ms(f.cold))));
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} |{tls_cell}",
            r.binary,
            ratio(ms(r.init), ms(floor.init)),
            ratio(ms(r.cold), ms(floor.cold)),
            ratio(r.warm.as_secs_f64(), floor.warm.as_secs_f64()),
            ratio(r.rss_kib as f64, floor.rss_kib as f64),
            opt_ratio(r.stripped, floor.stripped),
            opt_ratio(r.zip_arm64, floor.zip_arm64),
            opt_ratio(r.zip_x86_64, floor.zip_x86_64),
        )
        .unwrap();
    }
    t
}

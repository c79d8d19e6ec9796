//! gzip for clients that ask for it. Mobile HTTP clients send `Accept-Encoding: gzip` by default;
//! API Gateway passes a base64 body with `Content-Encoding: gzip` on to them as the compressed
//! bytes, and a JSON answer of attendees or sessions shrinks several times over (BENCHMARKS.md).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Answers shorter than this go as they are: a few hundred bytes gain little and cost a header.
pub const GZIP_MIN_BYTES: usize = 1_024;

/// The deflate level: chosen by time against size on the API's own answers (BENCHMARKS.md).
pub const GZIP_LEVEL: u32 = 1;

/// Whether an `Accept-Encoding` value lets us answer with gzip: `gzip` (or `x-gzip`, or `*`)
/// listed with a non-zero weight, and not refused by a `gzip;q=0` (RFC 9110, 12.5.3).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(value) = accept_encoding else { return false };
    let (mut gzip, mut star) = (None, None);
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(weight > 0.0),
            "*" => star = Some(weight > 0.0),
            _ => {}
        }
    }
    gzip.or(star).unwrap_or(false)
}

/// `body` gzip-compressed at [`GZIP_LEVEL`].
pub fn gzip(body: &[u8]) -> Vec<u8> {
    gzip_at(body, GZIP_LEVEL)
}

/// `body` gzip-compressed at `level` (0-9); the benchmarks compare levels with it.
pub fn gzip_at(body: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::new(level));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// The bytes `gzip` compressed; an error when they are not gzip.
pub fn gunzip(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(packed.len() * 8);
    flate2::read::GzDecoder::new(packed).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn accept_encoding_is_read_as_http_says() {
        for yes in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.8",
            "GZIP",
            "x-gzip",
            "*",
            "deflate, *;q=0.5",
            " gzip ;q=1",
        ] {
            assert!(accepts_gzip(Some(yes)), "{yes}");
        }
        for no in ["", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.0", "*, gzip;q=0", "*;q=0"] {
            assert!(!accepts_gzip(Some(no)), "{no}");
        }
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn gzip_round_trips_and_shrinks_json() {
        let body = serde_json::to_vec(&serde_json::json!({
            "rows": (0..500).map(|i| serde_json::json!({"name": format!("Student {i}"), "duration": 30.5})).collect::<Vec<_>>()
        }))
        .unwrap();
        let packed = gzip(&body);
        assert!(packed.len() * 4 < body.len(), "{} -> {}", body.len(), packed.len());
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, body);
    }
}

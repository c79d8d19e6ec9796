//! Where a recording's page may be: the hosts `MEETING_URL_HOSTS` allows.

/// `MEETING_URL_HOSTS`: the hosts a recording's `meeting_url` may point at (100ms's recorder
/// loads that page). Each pattern is a host name (`class.example.com`) or `*.` and a domain
/// (`*.app.100ms.live`: any name under it, not the domain itself); names compare in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPatterns(Vec<String>);

/// 100ms's own prebuilt rooms, where a recording's page is unless configured otherwise.
pub const DEFAULT_MEETING_URL_HOSTS: &str = "*.app.100ms.live";

impl HostPatterns {
    /// Comma-separated patterns, at least one; each a host name, optionally starting `*.`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let name = p.strip_prefix("*.").unwrap_or(p);
            let ok = name.contains('.')
                && name
                    .split('.')
                    .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            if !ok {
                return Err(format!("{p:?} is not a host name or *.domain"));
            }
            patterns.push(p.to_ascii_lowercase());
        }
        if patterns.is_empty() {
            return Err("names no host".into());
        }
        Ok(Self(patterns))
    }

    /// Whether `host` (lower case, as a parsed URL has it) is one of the patterns'.
    pub fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|p| match p.strip_prefix("*.") {
            Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == p,
        })
    }

    /// Whether `url` is an `https` URL without credentials or a port other than 443, on an
    /// allowed host.
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(parsed) = reqwest::Url::parse(url) else { return false };
        parsed.scheme() == "https"
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.port().is_none()
            && parsed.host_str().is_some_and(|h| self.allows(h))
    }
}

impl Default for HostPatterns {
    fn default() -> Self {
        Self::parse(DEFAULT_MEETING_URL_HOSTS).expect("the default parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_url_hosts() {
        let default = HostPatterns::default();
        assert!(default.allows_url("https://myapp.app.100ms.live/preview/r/host?skip_preview=true"));
        assert!(default.allows_url("https://A.App.100ms.Live/x"), "names compare in lower case");
        for no in [
            "https://app.100ms.live/x",
            "https://evil.com/x",
            "https://x.app.100ms.live.evil.com/",
            "https://xapp.100ms.live/",
            "http://x.app.100ms.live/",
            "https://user:pw@x.app.100ms.live/",
            "https://x.app.100ms.live:8443/",
            "https://evil.com#.app.100ms.live",
            "not a url",
        ] {
            assert!(!default.allows_url(no), "{no}");
        }
        let mine = HostPatterns::parse("class.example.com, *.rooms.example.org").unwrap();
        assert!(mine.allows_url("https://class.example.com/r") && mine.allows_url("https://a.b.rooms.example.org/"));
        assert!(!mine.allows_url("https://x.class.example.com/") && !mine.allows_url("https://rooms.example.org/"));
        for bad in ["", " , ", "*", "*.com.", "localhost", "a b.com", "https://x.com"] {
            assert!(HostPatterns::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! `GET /attendance`: the attendance page for hosts, one self-contained HTML document (its CSS
//! and JavaScript inline: no CDN, no font or script from elsewhere, so it works offline and tells
//! no third party who looked). It carries no data: its script reads this API with the bearer
//! token the host gives it, so the route needs no authorizer.
//!
//! The Content-Security-Policy allows exactly the inline style and script by their SHA-256
//! (`tests::the_policy_names_the_inline_style_and_script`), requests to this origin only, and
//! nothing else: no other script, no frame, no form target, no plugin.

use crate::edge::Reply;

/// The inline style.
#[cfg(test)]
const STYLE: &str = include_str!("attendance.css");
/// The inline script.
#[cfg(test)]
const SCRIPT: &str = include_str!("attendance.js");

/// The page as served.
pub const PAGE: &str = concat!(
    include_str!("head.html"),
    "<style>",
    include_str!("attendance.css"),
    "</style>\n",
    include_str!("body.html"),
    "<script>",
    include_str!("attendance.js"),
    "</script>\n</body>\n</html>\n"
);

/// What the page may load and run: its own inline style and script (by hash), requests to this
/// API, and an empty icon (`data:`) so the browser asks the API for no `/favicon.ico`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'sha256-FqZnYWxKMjga6BwiORO+Gg+rKdRUGIpAS7hRTQnjn2M='; \
     style-src 'sha256-zVW+sQnOcsxJG2ed1pqFYVhQIVG2d1FY+Bvm6P8S104='; \
     connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How long browsers and caches may keep the page: it changes only with a deploy.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The page's answer: the HTML and the headers that lock it down.
pub fn attendance_page() -> Reply {
    Reply {
        body: PAGE.as_bytes().to_vec(),
        content_type: "text/html; charset=utf-8",
        headers: vec![
            ("content-security-policy", CONTENT_SECURITY_POLICY.to_string()),
            ("x-content-type-options", "nosniff".to_string()),
            ("referrer-policy", "no-referrer".to_string()),
            ("x-frame-options", "DENY".to_string()),
            ("cache-control", CACHE_CONTROL.to_string()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::Digest;

    fn hash(text: &str) -> String {
        let digest = sha2::Sha256::digest(text.as_bytes());
        format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
    }

    #[test]
    fn the_policy_names_the_inline_style_and_script() {
        let (style, script) = (hash(STYLE), hash(SCRIPT));
        assert!(
            CONTENT_SECURITY_POLICY.contains(&format!("script-src {script};")),
            "the script changed: its hash is now {script}"
        );
        assert!(
            CONTENT_SECURITY_POLICY.contains(&format!("style-src {style};")),
            "the style changed: its hash is now {style}"
        );
        // Exactly one inline style and one inline script, the ones hashed.
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert_eq!(PAGE.matches("<style").count(), 1);
        assert!(PAGE.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(PAGE.contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for needle in
            ["http://", "https://", "//cdn", "@import", "url(", "src=", "eval(", "innerHTML", "document.write"]
        {
            assert!(!PAGE.contains(needle), "the page contains {needle:?}");
        }
        // Only relative API paths, so a stage prefix (`/prod/attendance`) keeps working.
        assert!(!SCRIPT.contains("\"/session") && !SCRIPT.contains("\"/attendance"));
    }

    #[test]
    fn the_answer_is_html_with_the_policy() {
        let reply = attendance_page();
        assert_eq!(reply.content_type, "text/html; charset=utf-8");
        let header = |n: &str| reply.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(header("content-security-policy"), Some(CONTENT_SECURITY_POLICY));
        assert_eq!(header("x-content-type-options"), Some("nosniff"));
        assert!(reply.body.starts_with(b"<!doctype html>"));
    }
}

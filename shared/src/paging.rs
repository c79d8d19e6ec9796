//! Pages of a list answer. A list route takes `limit` (how many items, up to a maximum chosen so
//! the worst-case page stays far under Lambda's 6 MB response limit) and `cursor` (where the page
//! starts: the previous page's `next_cursor`), and answers `next_cursor`, null on the last page.
//! Cursors are opaque to apps; each route says what it keeps in one.

use crate::input::Parse;

/// `limit`: a whole number from 1 to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const MAX: u32>(u32);

impl<const MAX: u32> Limit<MAX> {
    /// The largest limit accepted.
    pub const MAX: u32 = MAX;

    /// A limit of `n`, or of `MAX` when `n` is larger (for defaults).
    pub const fn new(n: u32) -> Self {
        Self(if n > MAX { MAX } else { n })
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl<const MAX: u32> Parse for Limit<MAX> {
    fn parse(s: &str) -> Result<Self, String> {
        match s.parse::<u32>() {
            Ok(n) if (1..=MAX).contains(&n) && !s.starts_with('+') => Ok(Self(n)),
            _ => Err(format!("must be a whole number from 1 to {MAX}")),
        }
    }
}

/// Longest cursor accepted.
pub const MAX_CURSOR_LEN: usize = 128;

/// `cursor`: the previous page's `next_cursor`, letters, digits, `-` and `_` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Parse for Cursor {
    fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_CURSOR_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err("is not a cursor this API gave (pass next_cursor from the previous page)".into());
        }
        Ok(Self(s.into()))
    }
}

/// A `true` / `false` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl Parse for Flag {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "true" => Ok(Self(true)),
            "false" => Ok(Self(false)),
            _ => Err("must be true or false".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_in_range() {
        assert_eq!(Limit::<100>::parse("1").unwrap().get(), 1);
        assert_eq!(Limit::<100>::parse("100").unwrap().get(), 100);
        for bad in ["0", "101", "-1", "+5", "1.5", "ten", "", " 5", "99999999999"] {
            assert!(Limit::<100>::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Limit::<100>::new(500).get(), 100);
    }

    #[test]
    fn cursors_are_tokens() {
        assert_eq!(Cursor::parse("63172c2d3e3d9fdb008322e1").unwrap().as_str(), "63172c2d3e3d9fdb008322e1");
        assert!(Cursor::parse("a_b-C9").is_ok());
        for bad in ["a b", "a/b", "a=b", "é", &"a".repeat(MAX_CURSOR_LEN + 1)] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flags_are_true_or_false() {
        assert_eq!(Flag::parse("true"), Ok(Flag(true)));
        assert_eq!(Flag::parse("false"), Ok(Flag(false)));
        for bad in ["1", "yes", "True", ""] {
            assert!(Flag::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! The parsed input types: ids, names and roles that flow from a request into a 100ms URL, a
//! 100ms body or a token. Each can only be made by [`Parse::parse`], so every value in the
//! program was checked once, at the edge, and nothing downstream builds a path segment or a
//! token claim from an unchecked string. The readers of a JSON request body's fields are
//! [`fields`]'s (re-exported here).

mod fields;

pub use fields::*;

use std::fmt;

use serde::Serialize;

/// Longest room name we forward. 100ms does not document one (UNCONFIRMED); this is a sanity cap.
pub const MAX_ROOM_NAME_LEN: usize = 255;
/// Longest room description we forward (also a sanity cap; 100ms documents none).
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
/// Longest `user_id` we put in an auth token.
pub const MAX_USER_ID_LEN: usize = 256;
/// Longest role name.
pub const MAX_ROLE_LEN: usize = 100;
/// Longest room member id, in bytes: a JWT `sub` (Cognito's are 36) kept as a sort key and
/// carried, base64url, in a `/room-members` cursor.
pub const MAX_MEMBER_ID_BYTES: usize = 64;
/// Longest reason (removing a peer, ending a room) we pass on: 100ms shows it to the peers.
pub const MAX_REASON_LEN: usize = 500;
/// Longest room code or peer id we accept; 100ms's are 10 to 12 and 36 characters.
pub const MAX_TOKEN_ID_LEN: usize = 64;
pub const REGIONS: [&str; 4] = ["in", "us", "eu", "auto"];
pub const MAX_ROOM_SIZE: u64 = 2_500;
pub const MAX_LARGE_ROOM_SIZE: u64 = 20_000;
pub const MIN_MAX_DURATION_SECONDS: u64 = 120;
pub const MAX_MAX_DURATION_SECONDS: u64 = 43_200;

/// A value made from text by the 100ms rules; `Err` says why the text is not one (the caller
/// names the field or parameter).
pub trait Parse: Sized {
    fn parse(text: &str) -> Result<Self, String>;
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

/// A 100ms object id: 24 hexadecimal characters, kept in lower case. 100ms writes its ids in
/// lower case, so an id given in upper case names the same room (or session): it is normalised
/// rather than minted into a token for an id no room has.
fn object_id(s: &str) -> Result<String, String> {
    if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("must be 24 hexadecimal characters".into())
    }
}

text_type!(
    /// A room's id (24 hex, lower case).
    RoomId
);
text_type!(
    /// A session's id (24 hex, lower case).
    SessionId
);
text_type!(
    /// A template's id (24 hex, lower case).
    TemplateId
);
text_type!(
    /// A room name: `A-Z a-z 0-9 . - : _`, 1 to [`MAX_ROOM_NAME_LEN`] characters.
    RoomName
);
text_type!(
    /// A role name: 1 to [`MAX_ROLE_LEN`] characters, no white space or control characters.
    Role
);
text_type!(
    /// A user id: not blank, at most [`MAX_USER_ID_LEN`] characters, no control characters.
    UserId
);
text_type!(
    /// A room member's user id, what the member's JWT `sub` is: not blank, at most
    /// [`MAX_MEMBER_ID_BYTES`] bytes, no control characters.
    MemberId
);
text_type!(
    /// A 100ms region: one of [`REGIONS`].
    Region
);
text_type!(
    /// A room code (`wpi-srjb-wer`): letters, digits and `-`, 1 to [`MAX_TOKEN_ID_LEN`]
    /// characters. The docs show two forms (3-4-3 and 3-3-3), so the exact form is not checked.
    RoomCode
);
text_type!(
    /// A peer's id (a UUID in 100ms's answers): letters, digits and `-`, 1 to
    /// [`MAX_TOKEN_ID_LEN`] characters.
    PeerId
);
text_type!(
    /// A recording asset's id (24 hex, lower case).
    AssetId
);
text_type!(
    /// A recording's id (24 hex, lower case).
    RecordingId
);
text_type!(
    /// A live stream's id (24 hex in 100ms's answers, a placeholder in its docs): letters,
    /// digits and `-`, 1 to [`MAX_TOKEN_ID_LEN`] characters.
    StreamId
);
text_type!(
    /// A reason shown to peers: at most [`MAX_REASON_LEN`] characters, no control characters
    /// but line breaks.
    Reason
);

impl Parse for RoomId {
    fn parse(s: &str) -> Result<Self, String> {
        object_id(s).map(Self)
    }
}

impl Parse for SessionId {
    fn parse(s: &str) -> Result<Self, String> {
        object_id(s).map(Self)
    }
}

impl Parse for TemplateId {
    fn parse(s: &str) -> Result<Self, String> {
        object_id(s).map(Self)
    }
}

impl Parse for RoomName {
    fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_ROOM_NAME_LEN {
            return Err(format!("must be at most {MAX_ROOM_NAME_LEN} characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_')) {
            return Err("may contain only letters, digits and . - : _".into());
        }
        Ok(Self(s.into()))
    }
}

impl Parse for Role {
    fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > MAX_ROLE_LEN {
            return Err(format!("must be at most {MAX_ROLE_LEN} characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain white space or control characters".into());
        }
        Ok(Self(s.into()))
    }
}

impl Parse for UserId {
    fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > MAX_USER_ID_LEN {
            return Err(format!("must be at most {MAX_USER_ID_LEN} characters"));
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.into()))
    }
}

/// Letters, digits and `-`, 1 to [`MAX_TOKEN_ID_LEN`] long: safe in a path and a JSON body.
fn token_id(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > MAX_TOKEN_ID_LEN {
        return Err(format!("must be 1 to {MAX_TOKEN_ID_LEN} characters"));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("may contain only letters, digits and -".into());
    }
    Ok(s.into())
}

impl Parse for MemberId {
    fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() || s.len() > MAX_MEMBER_ID_BYTES || s.chars().any(char::is_control) {
            return Err(format!(
                "must be a caller's 'sub': not blank, at most {MAX_MEMBER_ID_BYTES} bytes, no control characters"
            ));
        }
        Ok(Self(s.into()))
    }
}

impl Parse for RoomCode {
    fn parse(s: &str) -> Result<Self, String> {
        token_id(s).map(Self)
    }
}

impl Parse for PeerId {
    fn parse(s: &str) -> Result<Self, String> {
        token_id(s).map(Self)
    }
}

impl Parse for StreamId {
    fn parse(s: &str) -> Result<Self, String> {
        token_id(s).map(Self)
    }
}

impl Parse for RecordingId {
    fn parse(s: &str) -> Result<Self, String> {
        object_id(s).map(Self)
    }
}

impl Parse for AssetId {
    fn parse(s: &str) -> Result<Self, String> {
        object_id(s).map(Self)
    }
}

impl Parse for Reason {
    fn parse(s: &str) -> Result<Self, String> {
        if s.chars().count() > MAX_REASON_LEN {
            return Err(format!("must be at most {MAX_REASON_LEN} characters"));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.into()))
    }
}

impl Parse for Region {
    fn parse(s: &str) -> Result<Self, String> {
        if REGIONS.contains(&s) { Ok(Self(s.into())) } else { Err(format!("must be one of {}", REGIONS.join(", "))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_24_hex_and_kept_in_lower_case() {
        assert_eq!(RoomId::parse("631b2654f771854d9bf633df").unwrap(), "631b2654f771854d9bf633df");
        assert_eq!(RoomId::parse("631B2654F771854D9BF633DF").unwrap(), "631b2654f771854d9bf633df");
        assert_eq!(SessionId::parse("ABCDEF0123456789abcdef01").unwrap().as_str(), "abcdef0123456789abcdef01");
        assert_eq!(TemplateId::parse("63188115D11D6DB790C73C60").unwrap(), "63188115d11d6db790c73c60");
        for bad in [
            "",
            "631b2654f771854d9bf633d",
            "631b2654f771854d9bf633dff",
            "631b2654f771854d9bf633dg",
            "62bbc84********0a6aa1a",
            "631b2654f771854d9bf633d/",
            "../../rooms/631b2654f77",
        ] {
            assert!(RoomId::parse(bad).is_err(), "{bad}");
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn room_names() {
        for ok in ["new-room-1662723668", "a", "A.b:c_d-e", &"x".repeat(MAX_ROOM_NAME_LEN)] {
            assert_eq!(RoomName::parse(ok).unwrap(), ok, "kept as given");
        }
        for bad in ["", "has space", "slash/", "émoji", "semi;colon", &"x".repeat(MAX_ROOM_NAME_LEN + 1)] {
            assert!(RoomName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for ok in REGIONS {
            assert_eq!(Region::parse(ok).unwrap(), ok);
        }
        for bad in ["", "US", "ap", "in "] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_and_users() {
        assert_eq!(Role::parse("host").unwrap(), "host");
        assert_eq!(Role::parse("Host").unwrap(), "Host", "roles are case-sensitive, kept as given");
        assert!(Role::parse("guest-speaker_2").is_ok());
        for bad in ["", "ho st", "tab\t", &"r".repeat(MAX_ROLE_LEN + 1)] {
            assert!(Role::parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["Batch1-student1", "user@example.com", "José Müller", &"é".repeat(MAX_USER_ID_LEN)] {
            assert_eq!(UserId::parse(ok).unwrap(), ok);
        }
        for bad in ["", "   ", "a\nb", &"u".repeat(MAX_USER_ID_LEN + 1)] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codes_peers_assets_and_reasons() {
        for ok in ["wpi-srjb-wer", "hkj-sdf-fda", "ABC-1", "fd9e87d8-5c7b-4750-932f-d8d2ff18b70b"] {
            assert_eq!(RoomCode::parse(ok).unwrap(), ok);
            assert_eq!(PeerId::parse(ok).unwrap(), ok);
        }
        for bad in ["", "a b", "a/b", "../x", "é", &"a".repeat(MAX_TOKEN_ID_LEN + 1)] {
            assert!(RoomCode::parse(bad).is_err(), "{bad:?}");
            assert!(PeerId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(AssetId::parse("6425320E94091A5AF841456F").unwrap(), "6425320e94091a5af841456f");
        assert!(AssetId::parse("<asset-id>").is_err());
        assert_eq!(Reason::parse("").unwrap(), "");
        assert!(Reason::parse("Class has ended.\nSee you tomorrow").is_ok());
        assert!(Reason::parse(&"é".repeat(MAX_REASON_LEN)).is_ok());
        for bad in ["bell\u{7}", "tab\t", &"r".repeat(MAX_REASON_LEN + 1)] {
            assert!(Reason::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parsed_values_serialize_as_their_text() {
        let id = RoomId::parse("631B2654F771854D9BF633DF").unwrap();
        assert_eq!(serde_json::to_value(&id).unwrap(), "631b2654f771854d9bf633df");
        assert_eq!(id.to_string(), "631b2654f771854d9bf633df");
    }
}

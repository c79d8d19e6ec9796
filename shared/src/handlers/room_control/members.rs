//! Who may join a room (`membership`), managed by its owner and admins: `POST /room-access`
//! (open or members), `POST /room-members` (1 to 100 members and their roles), `POST
//! /room-members/remove`, `POST /room-members/ban` and `/unban`, and `GET /room-members`, a page
//! at a time. Every route parses its input first, then room-control checks the caller runs the
//! room (404 if not), then the table changes.
//!
//! A `members` room has no room codes: 100ms lets anyone holding a code in without asking us.
//! Switching a room to `members` records the setting first (so no code can be made or enabled
//! from then on), then disables every enabled code, and says how many.

use serde_json::{Value, json};

use super::codes;
use crate::auth::RoleAllowList;
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::input::{MemberId, Parse, Role, RoomId, json_object, only_fields, req_field, req_field_as};
use crate::membership::{Access, MAX_MEMBERS_PER_REQUEST};
use crate::paging::{Cursor, Limit};
use crate::store::Owners;

pub const ROOM_ACCESS_PATH: &str = "/room-access";
pub const ROOM_MEMBERS_PATH: &str = "/room-members";
pub const ROOM_MEMBERS_REMOVE_PATH: &str = "/room-members/remove";
pub const ROOM_MEMBERS_BAN_PATH: &str = "/room-members/ban";
pub const ROOM_MEMBERS_UNBAN_PATH: &str = "/room-members/unban";

/// `GET /room-members`'s `limit`: at most 100 members a page (each under 3 KB at the longest
/// ids and 20 roles of 100 characters: a page stays far under Lambda's 6 MB).
pub type MemberLimit = Limit<100>;
/// Members a page when `limit` is not given.
pub const DEFAULT_MEMBER_LIMIT: u32 = 50;

/// Parses `{room_id, access}`.
pub fn access_request(body: Option<&[u8]>) -> Result<(RoomId, Access), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "access"])?;
    Ok((req_field(&map, "room_id")?, req_field(&map, "access")?))
}

/// Parses `{room_id, user_id}`.
pub fn member_request(body: Option<&[u8]>) -> Result<(RoomId, MemberId), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "user_id"])?;
    Ok((req_field(&map, "room_id")?, req_field(&map, "user_id")?))
}

/// A parsed `POST /room-members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMembers {
    pub room_id: RoomId,
    pub members: Vec<(MemberId, Vec<Role>)>,
}

/// Parses `{room_id, members: [{user_id, roles: [...]}, ...]}`: 1 to 100 members, each once,
/// each with 1 to 20 roles of `allowed` (a role outside it is a 403 `role_not_allowed`).
pub fn members_request(body: Option<&[u8]>, allowed: &RoleAllowList) -> Result<PutMembers, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "members"])?;
    let room_id = req_field(&map, "room_id")?;
    let list = match map.get("members") {
        None | Some(Value::Null) => return Err(ApiError::missing_field("members")),
        Some(Value::Array(list)) if (1..=MAX_MEMBERS_PER_REQUEST).contains(&list.len()) => list,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "members",
                format!("must be a list of 1 to {MAX_MEMBERS_PER_REQUEST} members"),
            ));
        }
    };
    let mut members: Vec<(MemberId, Vec<Role>)> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let field = format!("members[{i}]");
        let Value::Object(entry) = entry else {
            return Err(ApiError::invalid_field(&field, "must be an object {user_id, roles}"));
        };
        if let Some(other) = entry.keys().find(|k| !["user_id", "roles"].contains(&k.as_str())) {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownField,
                format!("field '{field}.{}' is not accepted (only user_id and roles)", crate::input::echo(other)),
            ));
        }
        let user_field = format!("{field}.user_id");
        let user: MemberId = req_field_as(entry, "user_id", &user_field)?;
        if members.iter().any(|(u, _)| *u == user) {
            return Err(ApiError::invalid_field(&user_field, "names a member twice in one request"));
        }
        let roles = codes::role_list(entry.get("roles"), &format!("{field}.roles"), allowed)?
            .ok_or_else(|| ApiError::missing_field(&format!("{field}.roles")))?;
        members.push((user, roles));
    }
    Ok(PutMembers { room_id, members })
}

/// Where a page of `GET /room-members` starts: the last user id of the page before, opaque to
/// apps (base64url).
pub fn decode_cursor(cursor: &Cursor) -> Result<MemberId, ApiError> {
    use base64::Engine;
    let bad = || ApiError::invalid_parameter("cursor", "is not a cursor this route gave (pass next_cursor)");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.as_str()).map_err(|_| bad())?;
    MemberId::parse(&String::from_utf8(raw).map_err(|_| bad())?).map_err(|_| bad())
}

fn encode_cursor(after: &MemberId) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(after.as_str())
}

/// `POST /room-access`. Switching to `members` disables the room's enabled codes after the
/// setting is kept; a failure on the way is an error, and the same request again finishes it.
pub async fn set_access(
    hms: &impl HmsApi,
    owners: &dyn Owners,
    room: &RoomId,
    access: Access,
    by: &str,
) -> Result<Reply, ApiError> {
    owners.set_access(room, access, by, chrono::Utc::now()).await?;
    let mut disabled = 0;
    if access == Access::Members {
        for code in codes::all_codes(hms, room, None, Some(true)).await? {
            let code = crate::input::RoomCode::parse(&code.code).map_err(|_| {
                ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms listed a room code that is not one")
            })?;
            hms.set_room_code(&code, false).await?;
            disabled += 1;
        }
    }
    tracing::info!(room_id = %room, %access, by, codes_disabled = disabled, "room access set");
    Reply::ok_json(&json!({"success": true, "room_id": room, "access": access.as_str(), "codes_disabled": disabled}))
}

/// `POST /room-members`.
pub async fn put(owners: &dyn Owners, ask: &PutMembers, by: &str) -> Result<Reply, ApiError> {
    owners.put_members(&ask.room_id, &ask.members, by, chrono::Utc::now()).await?;
    tracing::info!(room_id = %ask.room_id, count = ask.members.len(), by, "room members set");
    Reply::ok_json(&json!({"success": true, "room_id": ask.room_id, "count": ask.members.len()}))
}

/// `POST /room-members/remove`: the member's roles go; a ban stays.
pub async fn remove(owners: &dyn Owners, room: &RoomId, user: &MemberId) -> Result<Reply, ApiError> {
    let removed = owners.remove_member(room, user).await?;
    Reply::ok_json(&json!({"success": true, "room_id": room, "user_id": user, "removed": removed}))
}

/// `POST /room-members/ban` and `/unban`: the roles granted stay as they are.
pub async fn ban(
    owners: &dyn Owners,
    room: &RoomId,
    user: &MemberId,
    banned: bool,
    by: &str,
) -> Result<Reply, ApiError> {
    owners.set_banned(room, user, banned, by, chrono::Utc::now()).await?;
    tracing::info!(room_id = %room, user_id = %user, banned, by, "room ban set");
    Reply::ok_json(&json!({"success": true, "room_id": room, "user_id": user, "banned": banned}))
}

/// `GET /room-members?room_id=&limit=&cursor=`.
pub async fn list(
    owners: &dyn Owners,
    room: &RoomId,
    limit: MemberLimit,
    after: Option<&MemberId>,
) -> Result<Reply, ApiError> {
    let (members, next) = owners.member_page(room, limit.get(), after).await?;
    Reply::ok_json(&json!({
        "success": true, "room_id": room, "members": members, "next_cursor": next.as_ref().map(encode_cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &str = "631b2654f771854d9bf633df";

    fn only(roles: &[&str]) -> RoleAllowList {
        RoleAllowList::Only(roles.iter().map(|r| Role::parse(r).unwrap()).collect())
    }

    #[test]
    fn member_lists_are_checked_whole_before_anything_is_written() {
        let allowed = only(&["host", "guest"]);
        let ok = json!({"room_id": ROOM, "members": [
            {"user_id": "s1", "roles": ["guest"]}, {"user_id": "co", "roles": ["host", "guest"]}]});
        let parsed = members_request(Some(ok.to_string().as_bytes()), &allowed).unwrap();
        assert_eq!(parsed.members.len(), 2);
        assert_eq!(parsed.members[1].1.len(), 2);
        let hundred: Vec<Value> = (0..100).map(|i| json!({"user_id": format!("u{i}"), "roles": ["guest"]})).collect();
        let body = json!({"room_id": ROOM, "members": hundred}).to_string();
        assert_eq!(members_request(Some(body.as_bytes()), &allowed).unwrap().members.len(), 100);
        let mut too_many = hundred.clone();
        too_many.push(json!({"user_id": "u100", "roles": ["guest"]}));
        let long = "x".repeat(65);
        let cases = [
            (json!({"room_id": ROOM, "members": too_many}), "invalid_field"),
            (json!({"room_id": ROOM, "members": []}), "invalid_field"),
            (json!({"room_id": ROOM}), "missing_field"),
            (json!({"room_id": ROOM, "members": [{"user_id": "a", "roles": ["admin"]}]}), "role_not_allowed"),
            (json!({"room_id": ROOM, "members": [{"user_id": "a"}]}), "missing_field"),
            (json!({"room_id": ROOM, "members": [{"user_id": "a", "roles": []}]}), "invalid_field"),
            (json!({"room_id": ROOM, "members": [{"user_id": long, "roles": ["guest"]}]}), "invalid_field"),
            (json!({"room_id": ROOM, "members": [{"user_id": " ", "roles": ["guest"]}]}), "invalid_field"),
            (json!({"room_id": ROOM, "members": [{"user_id": "a", "roles": ["guest"], "x": 1}]}), "unknown_field"),
            (json!({"room_id": ROOM, "members": ["a"]}), "invalid_field"),
            (
                json!({"room_id": ROOM, "members": [{"user_id": "a", "roles": ["guest"]}, {"user_id": "a", "roles": ["host"]}]}),
                "invalid_field",
            ),
            (json!({"room_id": "nope", "members": [{"user_id": "a", "roles": ["guest"]}]}), "invalid_field"),
        ];
        for (body, code) in cases {
            let err = members_request(Some(body.to_string().as_bytes()), &allowed).unwrap_err();
            assert_eq!(err.code().as_str(), code, "{body}: {err}");
        }
        let err = members_request(
            Some(
                json!({"room_id": ROOM, "members": [{"user_id": "a", "roles": ["guest"]}, {"user_id": 7}]})
                    .to_string()
                    .as_bytes(),
            ),
            &allowed,
        )
        .unwrap_err();
        assert!(err.to_string().contains("members[1].user_id"), "names the entry: {err}");
        let missing = members_request(
            Some(json!({"room_id": ROOM, "members": [{"roles": ["guest"]}]}).to_string().as_bytes()),
            &allowed,
        )
        .unwrap_err();
        assert_eq!(missing.to_string(), "field 'members[0].user_id' is required");
    }

    #[test]
    fn access_and_member_requests() {
        let (room, access) =
            access_request(Some(format!(r#"{{"room_id":"{ROOM}","access":"members"}}"#).as_bytes())).unwrap();
        assert_eq!((room.as_str(), access), (ROOM, Access::Members));
        for (body, code) in [
            (format!(r#"{{"room_id":"{ROOM}","access":"closed"}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{ROOM}"}}"#), "missing_field"),
            (format!(r#"{{"room_id":"{ROOM}","access":"open","x":1}}"#), "unknown_field"),
        ] {
            assert_eq!(access_request(Some(body.as_bytes())).unwrap_err().code().as_str(), code, "{body}");
        }
        let (_, user) = member_request(Some(format!(r#"{{"room_id":"{ROOM}","user_id":"s1"}}"#).as_bytes())).unwrap();
        assert_eq!(user.as_str(), "s1");
        assert_eq!(
            member_request(Some(format!(r#"{{"room_id":"{ROOM}"}}"#).as_bytes())).unwrap_err().code(),
            ErrorCode::MissingField
        );
    }

    #[test]
    fn cursors_carry_a_user_id_and_nothing_else() {
        let user = MemberId::parse("7d3f-alice").unwrap();
        let cursor = Cursor::parse(&encode_cursor(&user)).unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), user);
        let longest = MemberId::parse(&"é".repeat(32)).unwrap();
        assert!(Cursor::parse(&encode_cursor(&longest)).is_ok(), "the longest id fits a cursor");
        // Cursors in form holding no user id: base64 of nothing, and of three NUL bytes.
        for bad in ["", "AAAA"] {
            let cursor = Cursor::parse(bad).unwrap();
            assert_eq!(decode_cursor(&cursor).unwrap_err().code(), ErrorCode::InvalidParameter, "{bad:?}");
        }
    }
}

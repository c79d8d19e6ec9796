//! Room codes: `POST /room-codes`, `GET /room-codes`, `POST /room-codes/disable` and
//! `POST /room-codes/enable`. A code never expires and joins anyone who has it, so no code is
//! made or enabled for a role outside `ALLOWED_ROLES` (unless it is `*`).

use serde_json::{Value, json};

use super::upstream_404;
use crate::auth::{Caller, RoleAllowList};
use crate::edge::Reply;
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::room_codes::{Created, LIST_PAGE_LIMIT, RoomCodeObject};
use crate::hms::sessions::{self, Page};
use crate::input::{Parse, Role, RoomCode, RoomId, json_object, only_fields, opt_field, req_field};
use crate::owners::RoomAccess;

pub const ROOM_CODES_PATH: &str = "/room-codes";
pub const ROOM_CODES_DISABLE_PATH: &str = "/room-codes/disable";
pub const ROOM_CODES_ENABLE_PATH: &str = "/room-codes/enable";

/// Most roles one request may name.
pub const MAX_ROLES: usize = 20;
/// Most pages of codes read for one room: 100ms allows 100 codes per room, one page of
/// [`LIST_PAGE_LIMIT`]; five pages leave room for a limit we do not know of and still bound the
/// calls.
pub const MAX_CODE_PAGES: usize = 5;

/// A parsed `POST /room-codes`: the room, and the roles asked for (none: every allowed role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCodes {
    pub room_id: RoomId,
    pub roles: Option<Vec<Role>>,
}

/// Parses `{room_id, roles?}`; a role outside `allowed` is a 403 `role_not_allowed`.
pub fn create_request(body: Option<&[u8]>, allowed: &RoleAllowList) -> Result<CreateCodes, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "roles"])?;
    let room_id = req_field(&map, "room_id")?;
    let roles = role_list(map.get("roles"), "roles", allowed)?;
    Ok(CreateCodes { room_id, roles })
}

/// A list of 1 to [`MAX_ROLES`] role names of `allowed` in field `field` (`None` when absent or
/// null), each once: a role outside `allowed` is a 403 `role_not_allowed`.
pub fn role_list(value: Option<&Value>, field: &str, allowed: &RoleAllowList) -> Result<Option<Vec<Role>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_ROLES => {
            let mut roles = Vec::with_capacity(items.len());
            for item in items {
                let text = item.as_str().ok_or_else(|| ApiError::invalid_field(field, "must hold role names"))?;
                let role =
                    Role::parse(text).map_err(|why| ApiError::invalid_field(field, format!("'{text}' {why}")))?;
                allowed.require(&role)?;
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            Ok(Some(roles))
        }
        Some(_) => Err(ApiError::invalid_field(field, format!("must be a list of 1 to {MAX_ROLES} role names"))),
    }
}

/// Parses `{code, room_id?}`: the room the code is of, which a caller who is not an admin must
/// name (so that ownership can be checked before anything changes).
pub fn code_request(body: Option<&[u8]>) -> Result<(RoomCode, Option<RoomId>), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["code", "room_id"])?;
    Ok((req_field(&map, "code")?, opt_field(&map, "room_id")?))
}

/// `code` as one of `room`'s codes; 404 unless it is one.
pub async fn code_of(hms: &impl HmsApi, room: &RoomId, code: &RoomCode) -> Result<RoomCodeObject, ApiError> {
    let codes = all_codes(hms, room, None, None).await?;
    codes.into_iter().find(|c| c.code == code.as_str()).ok_or_else(|| ApiError::NotFound {
        code: ErrorCode::UpstreamNotFound,
        msg: format!("room code {code} does not exist"),
    })
}

/// Fails unless `caller` may make codes of these roles (`None`: every role of `allowed`): what a
/// token of each needs, `ALLOWED_ROLES` and `ROLE_CLAIMS` (a code joins whoever holds it, for as
/// long as it is enabled). `HOST_ROLES` need the room's owner or an admin, which every caller of
/// room-control is by then.
pub fn require_code_roles(
    caller: &Caller<'_>,
    roles: Option<&[Role]>,
    allowed: &RoleAllowList,
) -> Result<(), ApiError> {
    let all: Vec<Role> = match (roles, allowed) {
        (Some(roles), _) => roles.to_vec(),
        (None, RoleAllowList::Only(set)) => set.iter().cloned().collect(),
        (None, RoleAllowList::Any) => return Ok(()),
    };
    all.iter().try_for_each(|role| caller.require_role(role, allowed))
}

/// Fails unless `caller` may have `code` enabled: its role as for [`require_code_roles`] (a role
/// that is no valid role name is refused), and its room not `members` (`RoomAccess`).
pub async fn require_enable(
    caller: &Caller<'_>,
    access: &RoomAccess,
    code: &RoomCodeObject,
    allowed: &RoleAllowList,
) -> Result<(), ApiError> {
    let role = Role::parse(&code.role).map_err(|_| ApiError::Forbidden {
        code: ErrorCode::RoleNotAllowed,
        msg: format!("room code {} is for role '{}', which may not be requested here", code.code, code.role),
    })?;
    caller.require_role(&role, allowed)?;
    let room = RoomId::parse(&code.room_id).map_err(|_| {
        ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms answered a room code without a valid room id")
    })?;
    access.require_codes_allowed(&room).await
}

/// Every code of a room (every page, at most [`MAX_CODE_PAGES`]), optionally of one role or
/// enabled state.
pub async fn all_codes(
    hms: &impl HmsApi,
    room_id: &RoomId,
    role: Option<&Role>,
    enabled: Option<bool>,
) -> Result<Vec<RoomCodeObject>, ApiError> {
    let mut codes = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut start: Option<String> = None;
    for _ in 0..MAX_CODE_PAGES {
        let bytes = hms.list_room_codes(room_id, role, enabled, start.as_deref()).await?;
        let page: Page<RoomCodeObject> = sessions::parse(&bytes, "room code list")?;
        let count = page.data.len();
        codes.extend(page.data);
        match sessions::next_start(count, LIST_PAGE_LIMIT, page.last.as_deref(), &seen) {
            None => return Ok(codes),
            Some(next) => {
                seen.push(next.clone());
                start = Some(next);
            }
        }
    }
    Err(ApiError::upstream(
        ErrorCode::UpstreamInvalidResponse,
        format!("100ms listed more than {} room codes for room {room_id}", MAX_CODE_PAGES as u32 * LIST_PAGE_LIMIT),
    ))
}

/// An enabled code for each role asked for, made where the role has none: with `roles`, those;
/// without, each role of `allowed`, or with `*` every role of the room's template (100ms's
/// create-for-all, which keeps the codes that exist). A role that has an enabled code keeps it,
/// so asking twice gives the same codes; to replace a code, disable it and ask again.
pub async fn ensure_codes(
    hms: &impl HmsApi,
    room_id: &RoomId,
    roles: Option<&[Role]>,
    allowed: &RoleAllowList,
) -> Result<Vec<RoomCodeObject>, ApiError> {
    let roles: Vec<Role> = match (roles, allowed) {
        (Some(roles), _) => roles.to_vec(),
        (None, RoleAllowList::Only(set)) => set.iter().cloned().collect(),
        (None, RoleAllowList::Any) => {
            let bytes = hms.create_room_codes(room_id, None).await?;
            let created: Created = sessions::parse(&bytes, "room code list")?;
            return Ok(created.data.unwrap_or_default().into_iter().filter(|c| c.enabled).collect());
        }
    };
    let existing = all_codes(hms, room_id, None, Some(true)).await?;
    let mut codes = Vec::with_capacity(roles.len());
    for role in &roles {
        match existing.iter().find(|c| c.role == role.as_str() && c.enabled) {
            Some(code) => codes.push(code.clone()),
            None => {
                let bytes = hms.create_room_codes(room_id, Some(role)).await?;
                codes.push(sessions::parse(&bytes, "room code")?);
            }
        }
    }
    Ok(codes)
}

/// `POST /room-codes`.
pub async fn create(hms: &impl HmsApi, ask: &CreateCodes, allowed: &RoleAllowList) -> Result<Reply, ApiError> {
    let codes = ensure_codes(hms, &ask.room_id, ask.roles.as_deref(), allowed).await?;
    Reply::ok_json(&json!({"success": true, "room_id": ask.room_id, "count": codes.len(), "room_codes": codes}))
}

/// `GET /room-codes?room_id=&role=&enabled=`: every code of the room, every page read.
pub async fn list(
    hms: &impl HmsApi,
    room_id: &RoomId,
    role: Option<&Role>,
    enabled: Option<bool>,
) -> Result<Reply, ApiError> {
    let codes = all_codes(hms, room_id, role, enabled).await?;
    Reply::ok_json(&json!({"success": true, "room_id": room_id, "count": codes.len(), "room_codes": codes}))
}

/// Enables or disables `code`: 100ms's room code object after the switch.
pub async fn set(hms: &impl HmsApi, code: &RoomCode, enabled: bool) -> Result<RoomCodeObject, ApiError> {
    let bytes = hms
        .set_room_code(code, enabled)
        .await
        .map_err(upstream_404(ErrorCode::UpstreamNotFound, || format!("room code {code} does not exist")))?;
    sessions::parse(&bytes, "room code")
}

/// `POST /room-codes/enable` and `/disable`, once the caller may. Without the room (an admin's
/// request), 100ms says a code's role and room only once it has switched it: an enabled code the
/// caller may not have is disabled again at once (`refused`), and the answer is that refusal.
pub async fn switch(
    hms: &impl HmsApi,
    code: &RoomCode,
    enabled: bool,
    refused: impl AsyncFnOnce(&RoomCodeObject) -> Result<(), ApiError>,
) -> Result<Reply, ApiError> {
    let updated = set(hms, code, enabled).await?;
    if enabled && let Err(e) = refused(&updated).await {
        hms.set_room_code(code, false).await?;
        return Err(e);
    }
    Reply::ok_json(&json!({"success": true, "room_code": updated}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(roles: &[&str]) -> RoleAllowList {
        RoleAllowList::Only(roles.iter().map(|r| Role::parse(r).unwrap()).collect())
    }

    #[test]
    fn create_requests_name_allowed_roles_only() {
        let room = "631b2654f771854d9bf633df";
        let ok = create_request(
            Some(format!(r#"{{"room_id":"{room}","roles":["host","guest","host"]}}"#).as_bytes()),
            &only(&["host", "guest"]),
        )
        .unwrap();
        assert_eq!(ok.roles.unwrap().iter().map(Role::as_str).collect::<Vec<_>>(), ["host", "guest"], "deduplicated");
        let none = create_request(Some(format!(r#"{{"room_id":"{room}"}}"#).as_bytes()), &only(&["host"])).unwrap();
        assert_eq!(none.roles, None);
        let cases = [
            (format!(r#"{{"room_id":"{room}","roles":["admin"]}}"#), "role_not_allowed"),
            (format!(r#"{{"room_id":"{room}","roles":[]}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","roles":"host"}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","roles":[1]}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","roles":["ho st"]}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","role":"host"}}"#), "unknown_field"),
            (r#"{"roles":["host"]}"#.to_string(), "missing_field"),
            (r#"{"room_id":"nope"}"#.to_string(), "invalid_field"),
        ];
        for (body, code) in cases {
            let err = create_request(Some(body.as_bytes()), &only(&["host"])).unwrap_err();
            assert_eq!(err.code().as_str(), code, "{body}");
        }
        let many: Vec<String> = (0..=MAX_ROLES).map(|i| format!("r{i}")).collect();
        let body = json!({"room_id": room, "roles": many}).to_string();
        assert_eq!(
            create_request(Some(body.as_bytes()), &RoleAllowList::Any).unwrap_err().code(),
            ErrorCode::InvalidField
        );
    }

    #[test]
    fn code_requests() {
        let (code, room) = code_request(Some(br#"{"code":"wpi-srjb-wer"}"#)).unwrap();
        assert_eq!((code, room), (RoomCode::parse("wpi-srjb-wer").unwrap(), None));
        let with_room = br#"{"code":"wpi-srjb-wer","room_id":"631b2654f771854d9bf633df"}"#;
        assert_eq!(code_request(Some(with_room)).unwrap().1.unwrap().as_str(), "631b2654f771854d9bf633df");
        assert_eq!(
            code_request(Some(br#"{"code":"x","room_id":"nope"}"#)).unwrap_err().code(),
            ErrorCode::InvalidField
        );
        assert_eq!(code_request(Some(br#"{"code":"a/b"}"#)).unwrap_err().code(), ErrorCode::InvalidField);
        assert_eq!(code_request(Some(br#"{"code":"x","enabled":true}"#)).unwrap_err().code(), ErrorCode::UnknownField);
        assert_eq!(code_request(Some(b"{}")).unwrap_err().code(), ErrorCode::MissingField);
    }
}

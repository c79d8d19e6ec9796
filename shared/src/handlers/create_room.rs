//! `create-room`: `POST /create-room`, forwarded to 100ms's `POST /rooms`; with
//! `"room_codes": true`, the room's codes made in the same call (rooms created through the API
//! have none until asked). With a JWT the caller becomes the room's owner (see `owners`), and
//! `POST /room-owner` lets an admin assign one.

use lambda_http::http::Method;
use serde_json::{Value, json};

use super::Function;
use super::room_control::codes;
use crate::auth::{Caller, RoleAllowList};
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::room_codes::RoomCodeObject;
use crate::hms::rooms::NewRoom;
use crate::input::{
    MAX_DESCRIPTION_LEN, MAX_LARGE_ROOM_SIZE, MAX_MAX_DURATION_SECONDS, MAX_ROOM_SIZE, MIN_MAX_DURATION_SECONDS, Parse,
    RoomId, RoomName, json_object, only_fields, opt_bool, opt_field, opt_str, opt_u64, req_field,
};
use crate::membership::Access;
use crate::owners::RoomAccess;

pub const CREATE_ROOM_PATH: &str = "/create-room";
pub const ROOM_OWNER_PATH: &str = "/room-owner";

/// Longest `sub` accepted as an owner, in characters (Cognito's are 36; JWT subjects are short).
pub const MAX_OWNER_LEN: usize = 255;

/// Fields `/create-room` accepts.
pub const CREATE_ROOM_FIELDS: [&str; 9] = [
    "name",
    "description",
    "template_id",
    "region",
    "size",
    "max_duration_seconds",
    "large_room",
    "room_codes",
    "access",
];

/// The `create-room` function.
pub struct CreateRoom<H> {
    pub hms: H,
    /// Who may create and run rooms, and the owners' table.
    pub access: RoomAccess,
    /// The roles room codes are made for (`ALLOWED_ROLES`); only `"room_codes": true` needs it,
    /// so without it rooms are still created and that request is the 500 `config`.
    pub code_roles: Result<RoleAllowList, ConfigError>,
}

/// A parsed `/create-room` body: the room, and whether to make its room codes too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRoomRequest {
    pub room: NewRoom,
    pub room_codes: bool,
    /// Who may join (`membership`): kept once the room exists; unset, the room has
    /// `ROOM_ACCESS_DEFAULT` (or keeps the setting it has).
    pub access: Option<Access>,
}

impl<H: HmsApi> Function for CreateRoom<H> {
    const ROUTES: &'static [Route] = &[
        Route { path: CREATE_ROOM_PATH, method: Method::POST },
        Route { path: ROOM_OWNER_PATH, method: Method::POST },
    ];

    async fn call(&self, route: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        let caller = self.access.auth.caller(&req.claims)?;
        if route == ROOM_OWNER_PATH {
            caller.require_admin("assigning a room's owner")?;
            let (room, owner) = room_owner_request(req.body.as_deref())?;
            return assign_owner(&self.access, &room, &owner, caller.sub().unwrap_or("-")).await;
        }
        caller.require_creator()?;
        let ask = create_room_request(req.body.as_deref())?;
        let roles = if ask.room_codes {
            // Refused before the room is made: a members room (it has no codes), or codes the caller
            // may not have.
            if ask.access == Some(Access::Members) {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidBody,
                    "a members-only room has no room codes: ask for 'room_codes' or 'access': 'members', not both",
                ));
            }
            let roles = self.code_roles.as_ref().map_err(|e| ApiError::Config(e.to_string()))?;
            codes::require_code_roles(&caller, None, roles)?;
            Some(roles)
        } else {
            None
        };
        // Only a request that will be carried out reserves its name.
        if let Some(name) = &ask.room.name {
            name_is_free(&self.hms, &self.access, &caller, name).await?;
        }
        let answer = self.hms.create_room(&ask.room).await?;
        let (mut room, room_id) = created_room(&answer)?;
        record_owner(&self.access, &caller, &room_id).await?;
        if let Some(access) = ask.access {
            self.access.owners()?.set_access(&room_id, access, caller.sub().unwrap_or("-"), chrono::Utc::now()).await?;
            room.insert("access".into(), json!(access.as_str()));
        }
        if roles.is_some() {
            self.access.require_codes_allowed(&room_id).await?;
        }
        match roles {
            None if ask.access.is_none() => Ok(Reply::ok_raw(answer)),
            None => Reply::ok_json(&room),
            Some(roles) => {
                room.insert("room_codes".into(), json!(room_codes(&self.hms, &room_id, roles).await?));
                Reply::ok_json(&room)
            }
        }
    }
}

/// Parses `POST /room-owner`'s `{room_id, owner}` (`owner`: the `sub` of the caller who will own
/// the room).
pub fn room_owner_request(body: Option<&[u8]>) -> Result<(RoomId, String), ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &["room_id", "owner"])?;
    let room = req_field(&map, "room_id")?;
    let owner = opt_str(&map, "owner")?.ok_or_else(|| ApiError::missing_field("owner"))?;
    if owner.trim().is_empty() || owner.chars().count() > MAX_OWNER_LEN || owner.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "owner",
            format!("must be a caller's 'sub': 1 to {MAX_OWNER_LEN} characters, not blank, no control characters"),
        ));
    }
    Ok((room, owner.to_string()))
}

/// `POST /room-owner`: makes `owner` the room's owner.
async fn assign_owner(access: &RoomAccess, room: &RoomId, owner: &str, by: &str) -> Result<Reply, ApiError> {
    access.owners()?.assign_owner(room, owner, by, chrono::Utc::now()).await?;
    tracing::info!(room_id = %room, owner, by, "room owner assigned");
    Reply::ok_json(&json!({"success": true, "room_id": room, "owner": owner}))
}

/// For a caller who is not an admin: fails with 409 `name_taken` when a room of this name
/// exists that the caller does not own (create is an upsert by name: it would reconfigure it), or
/// when another creator has reserved the name; else reserves it for the caller.
async fn name_is_free(
    hms: &impl HmsApi,
    access: &RoomAccess,
    caller: &Caller<'_>,
    name: &RoomName,
) -> Result<(), ApiError> {
    if caller.is_admin() {
        return Ok(());
    }
    let owners = access.owners()?;
    let page: Value = serde_json::from_slice(&hms.rooms_named(name).await?).map_err(|_| {
        ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms answered GET /rooms with something not JSON")
    })?;
    let existing = page["data"].as_array().and_then(|rooms| {
        rooms.iter().find(|r| r["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name.as_str())))
    });
    if let Some(existing) = existing {
        let id = existing["id"].as_str().and_then(|id| RoomId::parse(id).ok()).ok_or_else(|| {
            ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms listed a room without a valid id")
        })?;
        if !caller.may_run(owners.owner_of(&id).await?.as_deref()) {
            return Err(name_taken(name));
        }
    }
    // Two creators can both find a new name free: the table decides which one makes the room
    // (a conditional write), before either reaches 100ms, whose create is an upsert.
    let sub = caller.sub().unwrap_or("-");
    if owners.reserve_name(name, sub, chrono::Utc::now()).await? { Ok(()) } else { Err(name_taken(name)) }
}

fn name_taken(name: &RoomName) -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::NameTaken,
        msg: format!("a room named '{name}' exists and is not yours: choose another name"),
    }
}

/// Records a signed-in caller as the owner of the room just created or updated. An admin
/// updating someone else's room leaves its owner as it is; anyone else finding the room owned by
/// another (two creators racing for one name) hears 409. A failed write fails the request: a
/// room without its owner would be for admins only.
async fn record_owner(access: &RoomAccess, caller: &Caller<'_>, room: &RoomId) -> Result<(), ApiError> {
    let Some(sub) = caller.sub() else { return Ok(()) };
    let claimed = access.owners()?.claim_owner(room, sub, chrono::Utc::now()).await.map_err(|e| match e {
        ApiError::StoreUnavailable(msg) => ApiError::StoreUnavailable(format!(
            "{msg}; room {room} was created (or updated) but its owner was not recorded: send the same request again"
        )),
        other => other,
    })?;
    if claimed || caller.is_admin() {
        return Ok(());
    }
    Err(ApiError::Conflict {
        code: ErrorCode::NameTaken,
        msg: format!("room {room} has another owner: choose another name"),
    })
}

/// Parses a `/create-room` body into the room to create: present fields only, `null` counting
/// as absent, any other field a 400.
pub fn new_room(body: Option<&[u8]>) -> Result<NewRoom, ApiError> {
    create_room_request(body).map(|ask| ask.room)
}

/// Parses a `/create-room` body: the room, and `room_codes` (false unless given).
pub fn create_room_request(body: Option<&[u8]>) -> Result<CreateRoomRequest, ApiError> {
    let map = json_object(body)?;
    only_fields(&map, &CREATE_ROOM_FIELDS)?;
    let description = opt_str(&map, "description")?;
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN) {
        return Err(ApiError::invalid_field(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    let large_room = opt_bool(&map, "large_room")?;
    let size = opt_u64(&map, "size")?;
    let max = if large_room == Some(true) { MAX_LARGE_ROOM_SIZE } else { MAX_ROOM_SIZE };
    if size.is_some_and(|size| size > max) {
        let hint = if max == MAX_LARGE_ROOM_SIZE { "" } else { " (up to 20000 with large_room: true)" };
        return Err(ApiError::invalid_field("size", format!("must be between 0 and {max}{hint}")));
    }
    let max_duration_seconds = opt_u64(&map, "max_duration_seconds")?;
    if max_duration_seconds.is_some_and(|d| !(MIN_MAX_DURATION_SECONDS..=MAX_MAX_DURATION_SECONDS).contains(&d)) {
        return Err(ApiError::invalid_field(
            "max_duration_seconds",
            format!("must be between {MIN_MAX_DURATION_SECONDS} and {MAX_MAX_DURATION_SECONDS}"),
        ));
    }
    let room = NewRoom {
        name: opt_field(&map, "name")?,
        description: description.map(String::from),
        template_id: opt_field(&map, "template_id")?,
        region: opt_field(&map, "region")?,
        size,
        max_duration_seconds,
        large_room,
    };
    Ok(CreateRoomRequest {
        room,
        room_codes: opt_bool(&map, "room_codes")?.unwrap_or(false),
        access: opt_field(&map, "access")?,
    })
}

/// 100ms's answer to `POST /rooms` as a room object with its id, or the 502 that says it is not.
fn created_room(answer: &[u8]) -> Result<(serde_json::Map<String, Value>, RoomId), ApiError> {
    let invalid =
        || ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms answered POST /rooms without a room object");
    match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Object(room)) => {
            let id =
                room.get("id").and_then(Value::as_str).and_then(|id| RoomId::parse(id).ok()).ok_or_else(invalid)?;
            Ok((room, id))
        }
        _ => Err(invalid()),
    }
}

/// `POST /create-room` with `"room_codes": true`: an enabled code for each allowed role of the
/// room just made (as `POST /room-codes` makes them), added to 100ms's room as `room_codes`. When
/// the codes cannot be made the room exists all the same: the error says so, and
/// `POST /room-codes` makes them later.
async fn room_codes(
    hms: &impl HmsApi,
    room_id: &RoomId,
    roles: &RoleAllowList,
) -> Result<Vec<RoomCodeObject>, ApiError> {
    codes::ensure_codes(hms, room_id, None, roles).await.map_err(|e| {
        let note = format!("room {room_id} was created, but its room codes were not (POST /room-codes makes them)");
        match e {
            ApiError::UpstreamRejected { status, msg } => {
                ApiError::UpstreamRejected { status, msg: format!("{msg}; {note}") }
            }
            ApiError::UpstreamFailed { code, msg } => ApiError::UpstreamFailed { code, msg: format!("{msg}; {note}") },
            other => other,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_owner_requests() {
        let room = "631b2654f771854d9bf633df";
        let ok = format!(r#"{{"room_id":"{room}","owner":"7d3f-alice-sub"}}"#);
        let (id, owner) = room_owner_request(Some(ok.as_bytes())).unwrap();
        assert_eq!((id.as_str(), owner.as_str()), (room, "7d3f-alice-sub"));
        let long = "x".repeat(MAX_OWNER_LEN + 1);
        for (body, code) in [
            (format!(r#"{{"room_id":"{room}"}}"#), "missing_field"),
            (format!(r#"{{"room_id":"{room}","owner":"  "}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","owner":"a\nb"}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","owner":"{long}"}}"#), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","owner":7}}"#), "invalid_field"),
            (r#"{"room_id":"nope","owner":"a"}"#.to_string(), "invalid_field"),
            (format!(r#"{{"room_id":"{room}","owner":"a","role":"x"}}"#), "unknown_field"),
        ] {
            assert_eq!(room_owner_request(Some(body.as_bytes())).unwrap_err().code(), code, "{body}");
        }
    }
}

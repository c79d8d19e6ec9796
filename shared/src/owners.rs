//! Who owns a room: the `sub` of the caller who created it through this API (or whom an admin
//! assigned), kept in the events table ([`crate::store::Owners`]). With `CALLER_AUTH=jwt`
//! a room's host operations (room control, analytics, session list, attendance history) are for
//! its owner and admins; anyone else hears 404, as for a room that does not exist, so ids cannot
//! be probed. A room without an owner (made before owners were kept, or in 100ms's dashboard) is
//! for admins only until one is assigned (`POST /room-owner`).

use crate::auth::{Caller, CallerAuth};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::input::{Role, RoomId};
use crate::membership::{Access, Asker, may_join};
use crate::store::{Owners, SharedOwners};

/// The 404 a caller who may not run a room hears: the same as for a room that does not exist.
pub fn room_not_found(room: &RoomId) -> ApiError {
    ApiError::NotFound { code: ErrorCode::RoomNotFound, msg: format!("room {room} not found") }
}

/// The 409 of a room code asked for in a `members` room.
pub fn members_only(room: &RoomId) -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::MembersOnly,
        msg: format!("room {room} is for its members only: it has no room codes (POST /room-access makes it open)"),
    }
}

/// Who may run which room: the caller rules and the owners' store.
#[derive(Clone)]
pub struct RoomAccess {
    pub auth: CallerAuth,
    /// Needed only for a signed-in caller who is not an admin (and to record owners).
    pub owners: Result<SharedOwners, ConfigError>,
}

impl RoomAccess {
    /// Open API, or JWT mode without the table: every check that needs an owner fails with the
    /// table's configuration error.
    pub fn new(auth: CallerAuth, owners: Result<SharedOwners, ConfigError>) -> Self {
        Self { auth, owners }
    }

    /// An open API without the table: nothing is asked of rooms.
    pub fn open() -> Self {
        Self::new(CallerAuth::Open, Err(ConfigError("EVENTS_TABLE is not set: room owners are not kept".into())))
    }

    pub fn owners(&self) -> Result<&dyn Owners, ApiError> {
        self.owners.as_deref().map_err(|e| ApiError::Config(e.to_string()))
    }

    /// Fails with 404 `room_not_found` unless `caller` may run `room`: an admin (no table read),
    /// or its owner.
    pub async fn require_room(&self, caller: &Caller<'_>, room: &RoomId) -> Result<(), ApiError> {
        if caller.is_admin() {
            return Ok(());
        }
        let owner = self.owners()?.owner_of(room).await?;
        if caller.may_run(owner.as_deref()) { Ok(()) } else { Err(room_not_found(room)) }
    }

    /// Fails with 409 `members_only` when callers sign in and `room` is `members` (its setting,
    /// or `ROOM_ACCESS_DEFAULT`): 100ms lets anyone holding a room code in without asking us, so
    /// such a room has none. One read of the room's item; on an open API, none.
    pub async fn require_codes_allowed(&self, room: &RoomId) -> Result<(), ApiError> {
        let CallerAuth::Jwt(rules) = &self.auth else { return Ok(()) };
        let read = self.owners()?.room_rules(room, None).await?;
        if read.access.unwrap_or(rules.join.default_access) == Access::Members {
            return Err(members_only(room));
        }
        Ok(())
    }

    /// Fails with 403 `banned` or `role_not_granted` unless a signed-in caller may get a token of
    /// `role` for `room` (`membership::may_join`): one read of the table. On an open API, no
    /// read: rooms decide nothing there.
    pub async fn require_join(&self, caller: &Caller<'_>, room: &RoomId, role: &Role) -> Result<(), ApiError> {
        let (Some(sub), CallerAuth::Jwt(rules)) = (caller.sub(), &self.auth) else { return Ok(()) };
        let read = self.owners()?.room_rules(room, Some(sub)).await?;
        may_join(Asker { sub, admin: caller.is_admin() }, role, room, &read, &rules.join)
    }
}

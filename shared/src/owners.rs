//! Who owns a room: the `sub` of the caller who created it through this API (or whom an admin
//! assigned), kept in the events table ([`crate::store::Owners`]). With `CALLER_AUTH=jwt`
//! a room's host operations (room control, analytics, session list, attendance history) are for
//! its owner and admins; anyone else hears 404, as for a room that does not exist, so ids cannot
//! be probed. A room without an owner (made before owners were kept, or in 100ms's dashboard) is
//! for admins only until one is assigned (`POST /room-owner`).

use crate::auth::{Caller, CallerAuth};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::input::RoomId;
use crate::store::{Owners, SharedOwners};

/// The 404 a caller who may not run a room hears: the same as for a room that does not exist.
pub fn room_not_found(room: &RoomId) -> ApiError {
    ApiError::NotFound { code: ErrorCode::RoomNotFound, msg: format!("room {room} not found") }
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
}

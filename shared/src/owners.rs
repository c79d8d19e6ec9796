//! Who owns a room: the `sub` of the caller who created it through this API (or whom an admin
//! assigned), kept in the events table as `ROOM#<room id>` / `OWNER`. With `CALLER_AUTH=jwt` a
//! room's host operations (room control, analytics, session list, attendance history) are for its
//! owner and admins; anyone else hears 404, as for a room that does not exist, so ids cannot be
//! probed. A room without an owner (made before owners were kept, or in 100ms's dashboard) is for
//! admins only until one is assigned (`POST /room-owner`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::auth::{Caller, CallerAuth};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::input::RoomId;
use crate::store::{EventsTable, Item, PARTITION_KEY, SORT_KEY};

const OWNER_SK: &str = "OWNER";
const OWNER: &str = "owner";

fn owner_item(room: &RoomId, owner: &str, by: &str, now: chrono::DateTime<chrono::Utc>) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_string(), AttributeValue::S(format!("ROOM#{room}"))),
        (SORT_KEY.to_string(), AttributeValue::S(OWNER_SK.into())),
        (OWNER.to_string(), AttributeValue::S(owner.into())),
        ("set_by".to_string(), AttributeValue::S(by.into())),
        ("set_at".to_string(), AttributeValue::S(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
    ])
}

/// The owner of `room`, if one is recorded.
pub async fn owner_of(table: &EventsTable, room: &RoomId) -> Result<Option<String>, ApiError> {
    let item = table.get(&format!("ROOM#{room}"), OWNER_SK).await?;
    Ok(item.and_then(|i| i.get(OWNER).and_then(|v| v.as_s().ok()).cloned()))
}

/// Records `sub` as the owner of `room` unless someone else owns it: `true` when `sub` owns it
/// now, `false` when another does (nothing changed).
pub async fn claim(table: &EventsTable, room: &RoomId, sub: &str) -> Result<bool, ApiError> {
    table.put_if_absent_or_equal(owner_item(room, sub, sub, chrono::Utc::now()), OWNER, sub).await
}

/// Makes `owner` the owner of `room`, whoever owned it (an admin's `POST /room-owner`).
pub async fn assign(table: &EventsTable, room: &RoomId, owner: &str, by: &str) -> Result<(), ApiError> {
    table.put(owner_item(room, owner, by, chrono::Utc::now())).await
}

/// The 404 a caller who may not run a room hears: the same as for a room that does not exist.
pub fn room_not_found(room: &RoomId) -> ApiError {
    ApiError::NotFound { code: ErrorCode::RoomNotFound, msg: format!("room {room} not found") }
}

/// Who may run which room: the caller rules and the owners' table.
#[derive(Clone)]
pub struct RoomAccess {
    pub auth: CallerAuth,
    /// Needed only for a signed-in caller who is not an admin (and to record owners).
    pub owners: Result<EventsTable, ConfigError>,
}

impl RoomAccess {
    /// Open API, or JWT mode without the table: every check that needs an owner fails with the
    /// table's configuration error.
    pub fn new(auth: CallerAuth, owners: Result<EventsTable, ConfigError>) -> Self {
        Self { auth, owners }
    }

    /// An open API without the owners' table (tests, and functions that keep no owners).
    pub fn open() -> Self {
        Self::new(CallerAuth::Open, Err(ConfigError("EVENTS_TABLE is not set: room owners are not kept".into())))
    }

    pub fn table(&self) -> Result<&EventsTable, ApiError> {
        self.owners.as_ref().map_err(|e| ApiError::Config(e.to_string()))
    }

    /// Fails with 404 `room_not_found` unless `caller` may run `room`: an admin (no table read),
    /// or its owner.
    pub async fn require_room(&self, caller: &Caller<'_>, room: &RoomId) -> Result<(), ApiError> {
        if caller.is_admin() {
            return Ok(());
        }
        let owner = owner_of(self.table()?, room).await?;
        if caller.may_run(owner.as_deref()) { Ok(()) } else { Err(room_not_found(room)) }
    }
}

//! The events table behind one typed store: the operations the functions need, as two traits by
//! concept, [`Owners`] (who owns a room: read, claim, assign) and [`Store`] (keep an event once,
//! close a session, mark and keep its report, a page of a room's reports), each with the same two
//! implementations:
//! - [`EventsTable`] (`dynamo.rs`): the DynamoDB table (`EVENTS_TABLE`). It alone knows the keys,
//!   the attribute names and `AttributeValue`; every conditional write is its own.
//! - [`MemoryStore`] (`memory.rs`): the same rules in memory, for unit tests of the logic above
//!   (history, owners, webhooks) without a server.
//!
//! `app` builds one table per container and every handler that needs it shares it, as
//! [`SharedOwners`] or [`SharedStore`]. Two traits, not one: a function that only checks owners
//! (create-room, room-control) then links only the owners' operations, not every query of the
//! history (BENCHMARKS.md, issue 29). A failure of the table is a 503 `events_table_unavailable`:
//! the caller (100ms's webhook delivery included) tries again.

mod dynamo;
mod memory;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use dynamo::{
    DYNAMODB_ATTEMPT_TIMEOUT, DYNAMODB_CONNECT_TIMEOUT, DYNAMODB_OPERATION_TIMEOUT, EVENT_KEY_PREFIXES, EventsTable,
    PARTITION_KEY, RECONCILE_PK, ROOM_RULES_KEY_PREFIXES, SORT_KEY, TTL_ATTRIBUTE, sdk_config,
};
pub use memory::MemoryStore;

use crate::error::ApiError;
use crate::input::{MemberId, Role, RoomId, RoomName};
use crate::membership::{Access, Member, RoomRules};

/// What a store operation answers: boxed, so the store can be shared as a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// The events and reports a container's handlers share.
pub type SharedStore = Arc<dyn Store>;

/// The room owners a container's handlers share (the same table).
pub type SharedOwners = Arc<dyn Owners>;

/// How 100ms writes room and session ids: 24 hexadecimal digits, lower case.
pub const HMS_ID_LEN: usize = 24;

/// Whether `id` is a room or session id as 100ms writes them ([`HMS_ID_LEN`] lower-case hex
/// digits): only such an id becomes part of a key, so a caller's text never shapes one.
pub fn is_hms_id(id: &str) -> bool {
    id.len() == HMS_ID_LEN && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `data`'s `key` when it is an id as 100ms writes them ([`is_hms_id`]).
pub fn key_id<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str).filter(|v| is_hms_id(v))
}

/// How many partitions a session's events are spread over. DynamoDB takes at most 1,000 writes
/// a second on one partition key: the end of a 20,000-peer class (20,000 leaves within seconds)
/// is 625 writes a second on each of 32 (docs/events-table.md has the arithmetic).
pub const SESSION_SHARDS: u32 = 32;

/// The shard of a session's partitions event `event_id` is kept in: FNV-1a of the id, so every
/// container (and every delivery of the event) finds the same one.
pub fn shard_of(event_id: &str) -> u32 {
    let hash =
        event_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash % u64::from(SESSION_SHARDS)) as u32
}

/// A webhook event to keep once: its envelope's id (what makes a repeat a duplicate), its type,
/// room and session (ids as 100ms writes them: [`key_id`]), the body exactly as received, when it
/// came and until when it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub room_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub body: &'a [u8],
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session 100ms has closed: what its report needs besides its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedSession {
    pub room_id: String,
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

const REPORT_PREFIX: &str = "REPORT#";

/// Timestamps as the store writes them (sortable text).
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ClosedSession {
    /// Where its report sits among its room's: newest first is descending order.
    pub fn report_key(&self) -> ReportKey {
        ReportKey(format!("{REPORT_PREFIX}{}#{}", stamp(self.started_at), self.session_id))
    }
}

/// A report's place in its room's history, newest first in descending order. History cursors
/// carry it; only the store reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportKey(String);

impl ReportKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key this store made (`None` for anything else).
    pub fn parse(text: String) -> Option<Self> {
        text.starts_with(REPORT_PREFIX).then_some(Self(text))
    }
}

/// A report as kept: the attendance JSON gzip-compressed, and how many peer events it was
/// built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltReport {
    pub gzip: Vec<u8>,
    pub events: u64,
}

/// A session's report item: its session, its generation (new each time a late event asks for it
/// to be built again), and the report once built, with the generation it was built at. A report
/// is never dropped: a stale one (built at an older generation) is kept until a build replaces
/// it with one of at least as many events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub closed: ClosedSession,
    pub generation: String,
    pub built: Option<BuiltReport>,
    pub built_generation: Option<String>,
}

impl StoredReport {
    /// Built at its current generation: nothing kept since changes it.
    pub fn is_fresh(&self) -> bool {
        self.built.is_some() && self.built_generation.as_deref() == Some(self.generation.as_str())
    }
}

/// What keeping a built report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportWrite {
    /// Kept as the session's report.
    Kept,
    /// The item was asked to build again since this build began (or is gone): nothing written.
    Superseded,
    /// The report kept has more events than this build found (raw events have expired since):
    /// it stays, now as the report of this generation (reads serve it without building), and
    /// this is it.
    Smaller(BuiltReport),
}

/// A session closed, as the shard of its partitions an event was kept in records it: whether a
/// report build has begun since (then an event kept now must ask for another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub closed: ClosedSession,
    pub build_begun: bool,
}

/// How long the items of a closed session live: its shard markers as long as its raw events; its
/// closed item and report as long as reports are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub events_until: DateTime<Utc>,
    pub report_until: DateTime<Utc>,
}

/// Who owns which room, who may join it (its access setting, members and bans: `membership`).
/// Claiming is a conditional write, so concurrent containers agree.
pub trait Owners: Send + Sync {
    /// Reserves the room name `name` (compared in lower case, as 100ms compares names) for `sub`
    /// unless another holds it: `true` when `sub` holds it now. A conditional write: of two
    /// creators racing for a new name exactly one gets it, before either reaches 100ms.
    fn reserve_name<'a>(&'a self, name: &'a RoomName, sub: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, bool>;

    /// `room`'s owner and access setting, and its member item for `user` if one is asked for and
    /// kept: one read of the table (strongly consistent, so a ban or a switch to `members` holds
    /// for the next request).
    fn room_rules<'a>(&'a self, room: &'a RoomId, user: Option<&'a str>) -> StoreFuture<'a, RoomRules>;

    /// Sets `room`'s access, keeping its owner.
    fn set_access<'a>(
        &'a self,
        room: &'a RoomId,
        access: Access,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    /// Grants each member its roles (replacing the roles granted before), keeping its ban.
    fn put_members<'a>(
        &'a self,
        room: &'a RoomId,
        members: &'a [(MemberId, Vec<Role>)],
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    /// Takes `user`'s roles in `room` away (a ban stays): `true` when the user had roles.
    fn remove_member<'a>(&'a self, room: &'a RoomId, user: &'a MemberId) -> StoreFuture<'a, bool>;

    /// Bans `user` from `room` (`true`) or lifts the ban, keeping the roles granted.
    fn set_banned<'a>(
        &'a self,
        room: &'a RoomId,
        user: &'a MemberId,
        banned: bool,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    /// Up to `limit` of `room`'s members (banned users included), by user id, after `after`; and
    /// the user id to continue after when more may follow.
    fn member_page<'a>(
        &'a self,
        room: &'a RoomId,
        limit: u32,
        after: Option<&'a MemberId>,
    ) -> StoreFuture<'a, (Vec<Member>, Option<MemberId>)>;

    /// The recorded owner (`sub`) of `room`, if any.
    fn owner_of<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Option<String>>;

    /// Records `sub` as the owner of `room` unless someone else owns it: `true` when `sub` owns it
    /// now, `false` when another does (nothing changed).
    fn claim_owner<'a>(&'a self, room: &'a RoomId, sub: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, bool>;

    /// Makes `owner` the owner of `room`, whoever owned it; `by` is who said so.
    fn assign_owner<'a>(
        &'a self,
        room: &'a RoomId,
        owner: &'a str,
        by: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
}

/// The events and the reports built from them. Every write that decides something is
/// conditional, so concurrent containers agree.
pub trait Store: Send + Sync {
    /// Keeps `event` unless an event with its id (in its session) is kept: `true` when kept now,
    /// `false` for a duplicate. Two deliveries racing each other keep it once. A session's events
    /// are spread over [`SESSION_SHARDS`] partitions by [`shard_of`] their id.
    fn put_event_once<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, bool>;

    /// Takes back `event`, kept by this delivery (its `received_at` says so), when what it changes
    /// could not be recorded: 100ms's retry then keeps it and finishes the work, instead of being
    /// a duplicate that changes nothing.
    fn forget_event<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, ()>;

    /// The body of the kept event `id` of `session_id` (or of no session), if kept.
    fn event_body<'a>(&'a self, id: &'a str, session_id: Option<&'a str>) -> StoreFuture<'a, Option<String>>;

    /// The bodies of every event kept for `session_id`, in the order of their ids.
    fn session_events<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<String>>;

    /// Records that `closed` is closed: its closed item, a marker in each of its partitions, its
    /// report item at `generation` (keeping a report built before) and its place in the queue of
    /// reports to build.
    fn close_session<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        lives: Lifetimes,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    /// The session of event `event_id` if it is closed, as the marker in the event's partition
    /// says: one read of the partition the event went to, so a burst of events reads as many
    /// partitions as it writes.
    fn closing<'a>(&'a self, session_id: &'a str, event_id: &'a str) -> StoreFuture<'a, Option<Closing>>;

    /// The closed session `session_id`, if its close was recorded.
    fn closed_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<ClosedSession>>;

    /// Asks for the report of `closed` to be built again, as `generation`: queued, then the item's
    /// generation changed (its report stays until a build replaces it).
    fn mark_stale<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    /// Records in each of the session's markers that a build of `generation` has begun, before
    /// the builder reads the events: an event kept after this asks for another build.
    fn begin_build<'a>(&'a self, closed: &'a ClosedSession, generation: &'a str) -> StoreFuture<'a, ()>;

    /// Keeps `report` as the report of `closed` if its item is still of `generation` and holds no
    /// report of more events.
    fn put_report<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        report: &'a BuiltReport,
    ) -> StoreFuture<'a, ReportWrite>;

    /// The report item of `closed`, if any.
    fn report<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, Option<StoredReport>>;

    /// Up to `limit` of `room_id`'s report items, newest first, after `after`; and the key to
    /// continue after when more may follow.
    fn report_page<'a>(
        &'a self,
        room_id: &'a str,
        limit: u32,
        after: Option<&'a ReportKey>,
    ) -> StoreFuture<'a, (Vec<StoredReport>, Option<ReportKey>)>;

    /// Up to `limit` sessions whose reports are queued to build, oldest first, each with when it
    /// was queued.
    fn queued_builds<'a>(&'a self, limit: u32) -> StoreFuture<'a, Vec<(ClosedSession, DateTime<Utc>)>>;

    /// Takes `closed` off the queue if it was not queued again since `queued_at`: `true` when taken.
    fn unqueue_build<'a>(&'a self, closed: &'a ClosedSession, queued_at: DateTime<Utc>) -> StoreFuture<'a, bool>;
}

/// What `reconcile` keeps between its runs: its checkpoint (one item, JSON written by
/// `reconcile`, replaced only by the run that read it: a version number decides) and the outcome
/// of each replay it asked for.
pub trait Checkpoints: Send + Sync {
    /// The checkpoint's JSON and version, if one was saved.
    fn checkpoint(&self) -> StoreFuture<'_, Option<(String, u64)>>;

    /// Saves `json` as the checkpoint if its version is still `read` (`None`: none was saved):
    /// `true` when saved (as version `read + 1`), `false` when another run saved one since.
    fn save_checkpoint<'a>(&'a self, json: &'a str, read: Option<u64>) -> StoreFuture<'a, bool>;

    /// Keeps the outcome of a replay (or of a recovery given up), as `json`, under `name`, until
    /// `until`.
    fn record_outcome<'a>(&'a self, name: &'a str, json: &'a str, until: DateTime<Utc>) -> StoreFuture<'a, ()>;
}

/// The table could not be read or written now: a 503, so a caller (100ms's webhook delivery
/// included) tries again; never an answer that claims what was not done. What failed (the SDK's
/// text can name the account, the role and the table's ARN) goes to the log only.
pub(crate) fn unavailable(why: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %why, "the events table failed");
    ApiError::StoreUnavailable("the events table is unavailable right now; try again shortly".into())
}

/// What the store's unit tests and the history's share: a day, and a session closed on it.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::ClosedSession;
    use chrono::{DateTime, Utc};

    /// 2026-11-27 at `time` (`HH:MM:SS`, UTC).
    pub fn t(time: &str) -> DateTime<Utc> {
        crate::time::parse_rfc3339(&format!("2026-11-27T{time}Z")).unwrap()
    }

    /// Room ids and session ids as 100ms writes them, for the tests: `R1`, `R2`; `S1` to `S4`.
    pub const R1: &str = "0000000000000000000000a1";
    pub const R2: &str = "0000000000000000000000a2";
    pub const S1: &str = "0000000000000000000000c1";
    pub const S2: &str = "0000000000000000000000c2";
    pub const S3: &str = "0000000000000000000000c3";
    pub const S4: &str = "0000000000000000000000c4";

    /// Session `S1` of room `R1`, from 10:00 to 11:00.
    pub fn closed() -> ClosedSession {
        ClosedSession {
            room_id: R1.into(),
            session_id: S1.into(),
            started_at: t("10:00:00"),
            stopped_at: Some(t("11:00:00")),
        }
    }
}

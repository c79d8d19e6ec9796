//! The store in memory, with the table's rules (each event once per id and session, owners
//! claimed once, reports kept only while their generation holds, newest report first): what the
//! unit tests of history, owners and webhooks run against. It can be told to fail, as a table
//! out of reach does.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use super::{
    BuiltReport, Checkpoints, ClosedSession, Closing, EventRecord, Lifetimes, Owners, ReportKey, ReportWrite, Store,
    StoreFuture, StoredReport, unavailable,
};
use crate::input::{MemberId, Role, RoomId, RoomName};
use crate::membership::{Access, Member, RoomRules};

#[derive(Debug, Default)]
struct Tables {
    owners: HashMap<String, String>,
    access: HashMap<String, Access>,
    /// Room names reserved, in lower case, by their creator.
    names: HashMap<String, String>,
    /// Each room's members by user id: roles granted and whether banned (kept while either is).
    members: HashMap<String, BTreeMap<MemberId, (Vec<Role>, bool)>>,
    /// Events by (session, id), with when they came; events of no session under `None`.
    events: BTreeMap<(Option<String>, String), (String, DateTime<Utc>)>,
    closed: HashMap<String, ClosedSession>,
    /// The session markers (one stands for all the shards' markers): the closed session and
    /// the generation of the build begun since, if any.
    markers: HashMap<String, (ClosedSession, Option<String>)>,
    /// Reports queued to build, by when queued and session.
    queue: BTreeMap<(DateTime<Utc>, String), ClosedSession>,
    /// Reconcile's checkpoint and its version; the outcomes it recorded, in order.
    checkpoint: Option<(String, u64)>,
    outcomes: Vec<(String, String)>,
    /// Reports by room, then by their key.
    reports: HashMap<String, BTreeMap<ReportKey, StoredReport>>,
}

/// The store in memory. `Default` is an empty one.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    down: AtomicBool,
    /// One operation to fail, counted from 1 (0: none).
    fail_at: AtomicUsize,
    /// Operations asked of it, as requests to the table would be counted.
    operations: AtomicUsize,
}

impl MemoryStore {
    /// From now on every operation fails (`true`) as an unreachable table does, or works again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The next `n` operations succeed, and the one after them fails (as an unreachable table's
    /// would); the rest succeed.
    pub fn fail_once_after(&self, n: usize) {
        self.fail_at.store(n + 1, Ordering::SeqCst);
    }

    /// Drops the raw events of `session_id`, as the table's TTL does.
    pub fn expire_events(&self, session_id: &str) {
        let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        t.events.retain(|(s, _), _| s.as_deref() != Some(session_id));
    }

    /// How many operations were asked of it so far (each one request to a table).
    pub fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }

    /// Runs `f` on the tables now (nothing here waits), or fails while the store is down.
    fn with<'a, T: Send + 'a>(&'a self, f: impl FnOnce(&mut Tables) -> T) -> StoreFuture<'a, T> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        let countdown = self.fail_at.load(Ordering::SeqCst);
        if countdown > 0 {
            self.fail_at.store(countdown - 1, Ordering::SeqCst);
        }
        let result = if self.down.load(Ordering::SeqCst) || countdown == 1 {
            Err(unavailable(&"the in-memory store is down"))
        } else {
            Ok(f(&mut self.tables.lock().unwrap_or_else(|e| e.into_inner())))
        };
        Box::pin(std::future::ready(result))
    }
}

impl Tables {
    /// `user`'s entry in `room` changed by `f`, dropped when it holds no role and no ban.
    fn change_member(&mut self, room: &RoomId, user: &MemberId, f: impl FnOnce(&mut (Vec<Role>, bool))) {
        let members = self.members.entry(room.to_string()).or_default();
        let entry = members.entry(user.clone()).or_default();
        f(entry);
        if entry.0.is_empty() && !entry.1 {
            members.remove(user);
        }
    }
}

fn member(user: &MemberId, (roles, banned): &(Vec<Role>, bool)) -> Member {
    Member { user_id: user.clone(), roles: roles.clone(), banned: *banned }
}

impl Owners for MemoryStore {
    fn reserve_name<'a>(&'a self, name: &'a RoomName, sub: &'a str, _now: DateTime<Utc>) -> StoreFuture<'a, bool> {
        self.with(|t| t.names.entry(name.as_str().to_ascii_lowercase()).or_insert_with(|| sub.to_string()) == sub)
    }

    fn room_rules<'a>(&'a self, room: &'a RoomId, user: Option<&'a str>) -> StoreFuture<'a, RoomRules> {
        self.with(|t| RoomRules {
            owner: t.owners.get(room.as_str()).cloned(),
            access: t.access.get(room.as_str()).copied(),
            member: t
                .members
                .get(room.as_str())
                .and_then(|m| m.iter().find(|(id, _)| Some(id.as_str()) == user))
                .map(|(id, entry)| member(id, entry)),
        })
    }

    fn set_access<'a>(
        &'a self,
        room: &'a RoomId,
        access: Access,
        _by: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(move |t| {
            t.access.insert(room.to_string(), access);
        })
    }

    fn put_members<'a>(
        &'a self,
        room: &'a RoomId,
        members: &'a [(MemberId, Vec<Role>)],
        _by: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(|t| {
            for (user, roles) in members {
                t.change_member(room, user, |entry| entry.0 = roles.clone());
            }
        })
    }

    fn remove_member<'a>(&'a self, room: &'a RoomId, user: &'a MemberId) -> StoreFuture<'a, bool> {
        self.with(|t| {
            let mut had = false;
            t.change_member(room, user, |entry| had = !std::mem::take(&mut entry.0).is_empty());
            had
        })
    }

    fn set_banned<'a>(
        &'a self,
        room: &'a RoomId,
        user: &'a MemberId,
        banned: bool,
        _by: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(move |t| t.change_member(room, user, |entry| entry.1 = banned))
    }

    fn member_page<'a>(
        &'a self,
        room: &'a RoomId,
        limit: u32,
        after: Option<&'a MemberId>,
    ) -> StoreFuture<'a, (Vec<Member>, Option<MemberId>)> {
        self.with(move |t| {
            let Some(members) = t.members.get(room.as_str()) else { return (Vec::new(), None) };
            let mut rest = members.iter().filter(|(id, _)| after.is_none_or(|a| *id > a));
            let page: Vec<Member> = rest.by_ref().take(limit as usize).map(|(id, e)| member(id, e)).collect();
            let next = if rest.next().is_some() { page.last().map(|m| m.user_id.clone()) } else { None };
            (page, next)
        })
    }

    fn owner_of<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Option<String>> {
        self.with(|t| t.owners.get(room.as_str()).cloned())
    }

    fn claim_owner<'a>(&'a self, room: &'a RoomId, sub: &'a str, _now: DateTime<Utc>) -> StoreFuture<'a, bool> {
        self.with(|t| t.owners.entry(room.to_string()).or_insert_with(|| sub.to_string()) == sub)
    }

    fn assign_owner<'a>(
        &'a self,
        room: &'a RoomId,
        owner: &'a str,
        _by: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(|t| {
            t.owners.insert(room.to_string(), owner.to_string());
        })
    }
}

impl Store for MemoryStore {
    fn put_event_once<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, bool> {
        self.with(|t| match t.events.entry((event.session_id.map(str::to_string), event.id.to_string())) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert((String::from_utf8_lossy(event.body).into_owned(), event.received_at));
                true
            }
        })
    }

    fn forget_event<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, ()> {
        self.with(|t| {
            let key = (event.session_id.map(str::to_string), event.id.to_string());
            if t.events.get(&key).is_some_and(|(_, at)| *at == event.received_at) {
                t.events.remove(&key);
            }
        })
    }

    fn event_body<'a>(&'a self, id: &'a str, session_id: Option<&'a str>) -> StoreFuture<'a, Option<String>> {
        self.with(|t| t.events.get(&(session_id.map(str::to_string), id.to_string())).map(|(b, _)| b.clone()))
    }

    fn session_events<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        self.with(|t| {
            let in_session = |s: &Option<String>| s.as_deref() == Some(session_id);
            t.events.iter().filter(|((s, _), _)| in_session(s)).map(|(_, (body, _))| body.clone()).collect()
        })
    }

    fn close_session<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        _lives: Lifetimes,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(move |t| {
            t.closed.insert(closed.session_id.clone(), closed.clone());
            t.markers.insert(closed.session_id.clone(), (closed.clone(), None));
            let reports = t.reports.entry(closed.room_id.clone()).or_default();
            let item = reports.entry(closed.report_key()).or_insert_with(|| StoredReport {
                closed: closed.clone(),
                generation: String::new(),
                built: None,
                built_generation: None,
            });
            item.generation = generation.to_string();
            t.queue.insert((now, closed.session_id.clone()), closed.clone());
        })
    }

    fn closing<'a>(&'a self, session_id: &'a str, _event_id: &'a str) -> StoreFuture<'a, Option<Closing>> {
        self.with(|t| {
            t.markers
                .get(session_id)
                .map(|(closed, build)| Closing { closed: closed.clone(), build_begun: build.is_some() })
        })
    }

    fn closed_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<ClosedSession>> {
        self.with(|t| t.closed.get(session_id).cloned())
    }

    fn mark_stale<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        self.with(move |t| {
            t.queue.insert((now, closed.session_id.clone()), closed.clone());
            if let Some(item) = t.reports.get_mut(&closed.room_id).and_then(|r| r.get_mut(&closed.report_key())) {
                item.generation = generation.to_string();
            }
        })
    }

    fn begin_build<'a>(&'a self, closed: &'a ClosedSession, generation: &'a str) -> StoreFuture<'a, ()> {
        self.with(|t| {
            if let Some(marker) = t.markers.get_mut(&closed.session_id) {
                marker.1 = Some(generation.to_string());
            }
        })
    }

    fn put_report<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        report: &'a BuiltReport,
    ) -> StoreFuture<'a, ReportWrite> {
        self.with(|t| match t.reports.get_mut(&closed.room_id).and_then(|r| r.get_mut(&closed.report_key())) {
            Some(current) if current.generation == generation => match &current.built {
                Some(kept) if kept.events > report.events => {
                    current.built_generation = Some(generation.to_string());
                    ReportWrite::Smaller(kept.clone())
                }
                _ => {
                    current.built = Some(report.clone());
                    current.built_generation = Some(generation.to_string());
                    ReportWrite::Kept
                }
            },
            _ => ReportWrite::Superseded,
        })
    }

    fn report<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, Option<StoredReport>> {
        self.with(|t| t.reports.get(&closed.room_id).and_then(|r| r.get(&closed.report_key())).cloned())
    }

    fn report_page<'a>(
        &'a self,
        room_id: &'a str,
        limit: u32,
        after: Option<&'a ReportKey>,
    ) -> StoreFuture<'a, (Vec<StoredReport>, Option<ReportKey>)> {
        self.with(|t| {
            let Some(reports) = t.reports.get(room_id) else { return (Vec::new(), None) };
            let page: Vec<(&ReportKey, &StoredReport)> =
                reports.iter().rev().filter(|(key, _)| after.is_none_or(|a| *key < a)).take(limit as usize).collect();
            // As DynamoDB does, a full page says where to go on even when nothing follows.
            let next = (page.len() == limit as usize).then(|| page.last().map(|(key, _)| (*key).clone())).flatten();
            (page.into_iter().map(|(_, report)| report.clone()).collect(), next)
        })
    }

    fn queued_builds<'a>(&'a self, limit: u32) -> StoreFuture<'a, Vec<(ClosedSession, DateTime<Utc>)>> {
        self.with(|t| t.queue.iter().take(limit as usize).map(|((at, _), c)| (c.clone(), *at)).collect())
    }

    fn unqueue_build<'a>(&'a self, closed: &'a ClosedSession, queued_at: DateTime<Utc>) -> StoreFuture<'a, bool> {
        self.with(|t| t.queue.remove(&(queued_at, closed.session_id.clone())).is_some())
    }
}

impl Checkpoints for MemoryStore {
    fn checkpoint(&self) -> StoreFuture<'_, Option<(String, u64)>> {
        self.with(|t| t.checkpoint.clone())
    }

    fn save_checkpoint<'a>(&'a self, json: &'a str, read: Option<u64>) -> StoreFuture<'a, bool> {
        self.with(move |t| {
            if t.checkpoint.as_ref().map(|(_, v)| *v) != read {
                return false;
            }
            t.checkpoint = Some((json.to_string(), read.map_or(1, |v| v + 1)));
            true
        })
    }

    fn record_outcome<'a>(&'a self, name: &'a str, json: &'a str, _until: DateTime<Utc>) -> StoreFuture<'a, ()> {
        self.with(|t| t.outcomes.push((name.to_string(), json.to_string())))
    }
}

impl MemoryStore {
    /// The outcomes reconcile recorded, in order: (name, JSON).
    pub fn outcomes(&self) -> Vec<(String, String)> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).outcomes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Parse;

    #[tokio::test]
    async fn an_owner_is_claimed_once_and_assigned_by_an_admin() {
        let store = MemoryStore::default();
        let room = RoomId::parse("631a0f990e6ffae22efa610c").unwrap();
        let now = Utc::now();
        assert_eq!(store.owner_of(&room).await.unwrap(), None);
        assert!(store.claim_owner(&room, "alice", now).await.unwrap());
        assert!(store.claim_owner(&room, "alice", now).await.unwrap(), "the owner claiming again keeps it");
        assert!(!store.claim_owner(&room, "bob", now).await.unwrap(), "another may not take it");
        assert_eq!(store.owner_of(&room).await.unwrap().as_deref(), Some("alice"));
        store.assign_owner(&room, "bob", "admin-1", now).await.unwrap();
        assert_eq!(store.owner_of(&room).await.unwrap().as_deref(), Some("bob"));
    }

    #[tokio::test]
    async fn events_are_kept_once_per_id_in_their_session() {
        let store = MemoryStore::default();
        let at = Utc::now();
        let event = |id, session| EventRecord {
            id,
            kind: "peer.join.success",
            room_id: None,
            session_id: session,
            body: b"{}",
            received_at: at,
            expires_at: at,
        };
        assert!(store.put_event_once(&event("e1", Some("s1"))).await.unwrap());
        assert!(!store.put_event_once(&event("e1", Some("s1"))).await.unwrap());
        assert!(store.put_event_once(&event("e1", None)).await.unwrap(), "keyed by session, as in the table");
        assert!(store.put_event_once(&event("e2", Some("s1"))).await.unwrap());
        assert_eq!(store.session_events("s1").await.unwrap().len(), 2);
    }
}

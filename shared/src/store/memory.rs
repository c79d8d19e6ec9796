//! The store in memory, with the table's rules (each event once per id and session, owners
//! claimed once, reports kept only while their generation holds, newest report first): what the
//! unit tests of history, owners and webhooks run against. It can be told to fail, as a table
//! out of reach does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::{
    BuiltReport, ClosedSession, EventRecord, Owners, ReportKey, Store, StoreFuture, StoredReport, unavailable,
};
use crate::input::RoomId;

#[derive(Debug, Default)]
struct Tables {
    owners: HashMap<String, String>,
    /// Events by (session, id); events of no session under `None`.
    events: BTreeMap<(Option<String>, String), String>,
    closed: HashMap<String, ClosedSession>,
    /// Reports by room, then by their key.
    reports: HashMap<String, BTreeMap<ReportKey, StoredReport>>,
}

/// The store in memory. `Default` is an empty one.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    down: AtomicBool,
}

impl MemoryStore {
    /// From now on every operation fails (`true`) as an unreachable table does, or works again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Runs `f` on the tables, or fails while the store is down.
    fn with<T: Send + 'static>(&self, f: impl FnOnce(&mut Tables) -> T) -> StoreFuture<'_, T> {
        let result = if self.down.load(Ordering::SeqCst) {
            Err(unavailable(&"the in-memory store is down"))
        } else {
            Ok(f(&mut self.tables.lock().unwrap_or_else(|e| e.into_inner())))
        };
        Box::pin(std::future::ready(result))
    }
}

impl Owners for MemoryStore {
    fn owner_of<'a>(&'a self, room: &'a RoomId) -> StoreFuture<'a, Option<String>> {
        let room = room.to_string();
        self.with(move |t| t.owners.get(&room).cloned())
    }

    fn claim_owner<'a>(&'a self, room: &'a RoomId, sub: &'a str, _now: DateTime<Utc>) -> StoreFuture<'a, bool> {
        let (room, sub) = (room.to_string(), sub.to_string());
        self.with(move |t| match t.owners.get(&room) {
            Some(owner) => *owner == sub,
            None => {
                t.owners.insert(room, sub);
                true
            }
        })
    }

    fn assign_owner<'a>(
        &'a self,
        room: &'a RoomId,
        owner: &'a str,
        _by: &'a str,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        let (room, owner) = (room.to_string(), owner.to_string());
        self.with(move |t| {
            t.owners.insert(room, owner);
        })
    }
}

impl Store for MemoryStore {
    fn put_event_once<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, bool> {
        let key = (event.session_id.map(str::to_string), event.id.to_string());
        let body = String::from_utf8_lossy(event.body).into_owned();
        self.with(move |t| match t.events.entry(key) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(body);
                true
            }
        })
    }

    fn event_body<'a>(&'a self, id: &'a str, session_id: Option<&'a str>) -> StoreFuture<'a, Option<String>> {
        let key = (session_id.map(str::to_string), id.to_string());
        self.with(move |t| t.events.get(&key).cloned())
    }

    fn session_events<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        let session = Some(session_id.to_string());
        self.with(move |t| t.events.iter().filter(|((s, _), _)| *s == session).map(|(_, body)| body.clone()).collect())
    }

    fn mark_closed<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, ()> {
        let closed = closed.clone();
        self.with(move |t| {
            t.closed.insert(closed.session_id.clone(), closed);
        })
    }

    fn closed_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<ClosedSession>> {
        let session = session_id.to_string();
        self.with(move |t| t.closed.get(&session).cloned())
    }

    fn mark_report_to_build<'a>(&'a self, closed: &'a ClosedSession, generation: &'a str) -> StoreFuture<'a, ()> {
        let report = StoredReport { closed: closed.clone(), generation: generation.to_string(), built: None };
        self.with(move |t| {
            let room = t.reports.entry(report.closed.room_id.clone()).or_default();
            room.insert(report.closed.report_key(), report);
        })
    }

    fn put_report<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        report: &'a BuiltReport,
    ) -> StoreFuture<'a, bool> {
        let stored =
            StoredReport { closed: closed.clone(), generation: generation.to_string(), built: Some(report.clone()) };
        self.with(move |t| {
            let slot = t.reports.get_mut(&stored.closed.room_id).and_then(|r| r.get_mut(&stored.closed.report_key()));
            match slot {
                Some(current) if current.generation == stored.generation => {
                    *current = stored;
                    true
                }
                _ => false,
            }
        })
    }

    fn report<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, Option<StoredReport>> {
        let (room, key) = (closed.room_id.clone(), closed.report_key());
        self.with(move |t| t.reports.get(&room).and_then(|r| r.get(&key)).cloned())
    }

    fn report_page<'a>(
        &'a self,
        room_id: &'a str,
        limit: u32,
        after: Option<&'a ReportKey>,
    ) -> StoreFuture<'a, (Vec<StoredReport>, Option<ReportKey>)> {
        let (room, after) = (room_id.to_string(), after.cloned());
        self.with(move |t| {
            let Some(reports) = t.reports.get(&room) else { return (Vec::new(), None) };
            let mut newest_first = reports.iter().rev().filter(|(key, _)| after.as_ref().is_none_or(|a| *key < a));
            let mut page = Vec::new();
            let mut last = None;
            while page.len() < limit as usize {
                let Some((key, report)) = newest_first.next() else { break };
                page.push(report.clone());
                last = Some(key.clone());
            }
            // As DynamoDB does, a full page says where to go on even when nothing follows.
            let next = if page.len() == limit as usize { last } else { None };
            (page, next)
        })
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

//! The events, closed sessions, reports and the queue of reports to build in the events table
//! (`Store`): the keys of mod.rs's list, the partitions `SESSION#`, `EVENT#`, `ROOM#`, `BUILD#`.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{
    BODY, BUILD_GEN, BUILD_QUEUE_PK, BUILT_GEN, CLOSED_SK, EVENT_PREFIX, EVENTS, EventsTable, GENERATION, Item, REPORT,
    SORT_KEY, TTL_ATTRIBUTE, epoch, keys, s, text,
};
use crate::error::ApiError;
use crate::store::{
    BuiltReport, ClosedSession, Closing, EventRecord, Lifetimes, ReportKey, ReportWrite, SESSION_SHARDS, Store,
    StoreFuture, StoredReport, shard_of, stamp,
};
use crate::time::parse_rfc3339;

fn session_pk(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

fn room_pk(room_id: &str) -> String {
    format!("ROOM#{room_id}")
}

/// Shard `shard` of session `session_id`'s partitions.
fn shard_pk(session_id: &str, shard: u32) -> String {
    format!("SESSION#{session_id}#{shard:02}")
}

/// The keys an event is kept under: in its shard of its session's partitions when it names a
/// session.
fn event_keys(event_id: &str, session_id: Option<&str>) -> (String, String) {
    match session_id {
        Some(session) => (shard_pk(session, shard_of(event_id)), format!("{EVENT_PREFIX}{event_id}")),
        None => (format!("{EVENT_PREFIX}{event_id}"), "EVENT".into()),
    }
}

fn event_item(event: &EventRecord<'_>) -> Item {
    let (pk, sk) = event_keys(event.id, event.session_id);
    let mut item = keys(pk, sk);
    item.insert("type".into(), s(event.kind));
    item.insert(BODY.into(), s(&String::from_utf8_lossy(event.body)));
    item.insert("received_at".into(), s(&stamp(event.received_at)));
    item.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(event.expires_at.timestamp().to_string()));
    for (name, value) in [("room_id", event.room_id), ("session_id", event.session_id)] {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    item
}

fn describe(closed: &ClosedSession, item: &mut Item) {
    item.insert("room_id".into(), s(&closed.room_id));
    item.insert("session_id".into(), s(&closed.session_id));
    item.insert("started_at".into(), s(&stamp(closed.started_at)));
    if let Some(t) = closed.stopped_at {
        item.insert("stopped_at".into(), s(&stamp(t)));
    }
}

/// The closed item (`pk` the session's) or a shard's marker, living until `until`.
fn closed_item(pk: String, closed: &ClosedSession, until: chrono::DateTime<chrono::Utc>) -> Item {
    let mut item = keys(pk, CLOSED_SK.into());
    describe(closed, &mut item);
    item.insert(TTL_ATTRIBUTE.into(), epoch(until));
    item
}

/// The queue item of a report to build, queued at `at`.
fn queue_item(closed: &ClosedSession, at: chrono::DateTime<chrono::Utc>) -> Item {
    let mut item = keys(BUILD_QUEUE_PK.into(), format!("{}#{}", stamp(at), closed.session_id));
    describe(closed, &mut item);
    item.insert("queued_at".into(), s(&stamp(at)));
    item
}

/// From a closed-session or a report item.
fn closed_from(item: &Item) -> Option<ClosedSession> {
    Some(ClosedSession {
        room_id: text(item, "room_id")?.to_string(),
        session_id: text(item, "session_id")?.to_string(),
        started_at: parse_rfc3339(text(item, "started_at")?)?,
        stopped_at: text(item, "stopped_at").and_then(parse_rfc3339),
    })
}

fn report_keys(closed: &ClosedSession) -> (String, String) {
    (room_pk(&closed.room_id), closed.report_key().0)
}

fn report_from(item: &Item) -> Result<StoredReport, ApiError> {
    let closed = closed_from(item).ok_or_else(|| ApiError::Internal("a report item without its session".into()))?;
    let built = item.get(REPORT).and_then(|v| v.as_b().ok()).map(|gzip| BuiltReport {
        gzip: gzip.as_ref().to_vec(),
        events: item.get(EVENTS).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or_default(),
    });
    Ok(StoredReport {
        closed,
        generation: text(item, GENERATION).unwrap_or_default().to_string(),
        built,
        built_generation: text(item, BUILT_GEN).map(str::to_string),
    })
}

/// Every partition a session's events may be in: its shards, and the one partition events were
/// kept in before the shards (read so that no event kept then is left out of a report).
fn event_partitions(session_id: &str) -> impl Iterator<Item = String> + '_ {
    (0..SESSION_SHARDS).map(move |n| shard_pk(session_id, n)).chain(std::iter::once(session_pk(session_id)))
}

impl EventsTable {
    /// Every event body of partition `pk`, with its sort key.
    async fn partition_events(&self, pk: String) -> Result<Vec<(String, String)>, ApiError> {
        let mut events = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (items, next) = self.query(&pk, EVENT_PREFIX, true, None, after.as_deref()).await?;
            for item in &items {
                if let (Some(sk), Some(body)) = (text(item, SORT_KEY), text(item, BODY)) {
                    events.push((sk.to_string(), body.to_string()));
                }
            }
            match next {
                Some(sk) => after = Some(sk),
                None => return Ok(events),
            }
        }
    }
}

impl Store for EventsTable {
    fn put_event_once<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, bool> {
        Box::pin(self.put_new(event_item(event)))
    }

    fn forget_event<'a>(&'a self, event: &'a EventRecord<'a>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let at = vec![(":at".to_string(), s(&stamp(event.received_at)))];
            self.delete(event_keys(event.id, event.session_id), Some("received_at = :at"), at).await.map(|_| ())
        })
    }

    fn event_body<'a>(&'a self, id: &'a str, session_id: Option<&'a str>) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let (pk, sk) = event_keys(id, session_id);
            if let Some(body) = self.get(&pk, &sk).await?.as_ref().and_then(|i| text(i, BODY)) {
                return Ok(Some(body.to_string()));
            }
            // Kept before the shards, in the session's one partition.
            let Some(session) = session_id else { return Ok(None) };
            Ok(self.get(&session_pk(session), &sk).await?.as_ref().and_then(|i| text(i, BODY)).map(str::to_string))
        })
    }

    fn session_events<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move {
            let reads = event_partitions(session_id).map(|pk| self.partition_events(pk));
            let mut events: Vec<(String, String)> =
                futures_util::future::try_join_all(reads).await?.into_iter().flatten().collect();
            events.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Ok(events.into_iter().map(|(_, body)| body).collect())
        })
    }

    fn close_session<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        lives: Lifetimes,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut items = vec![closed_item(session_pk(&closed.session_id), closed, lives.report_until)];
            items.extend(
                (0..SESSION_SHARDS).map(|n| closed_item(shard_pk(&closed.session_id, n), closed, lives.events_until)),
            );
            self.put_all(items).await?;
            let mut fields = vec![(GENERATION, s(generation)), (TTL_ATTRIBUTE, epoch(lives.report_until))];
            let mut described = Item::new();
            describe(closed, &mut described);
            let described: Vec<(String, AttributeValue)> = described.into_iter().collect();
            fields.extend(described.iter().map(|(k, v)| (k.as_str(), v.clone())));
            self.set(report_keys(closed), fields, None).await?;
            self.put(queue_item(closed, now)).await
        })
    }

    fn closing<'a>(&'a self, session_id: &'a str, event_id: &'a str) -> StoreFuture<'a, Option<Closing>> {
        Box::pin(async move {
            let marker = self.get(&shard_pk(session_id, shard_of(event_id)), CLOSED_SK).await?;
            Ok(marker
                .as_ref()
                .and_then(|m| Some(Closing { closed: closed_from(m)?, build_begun: text(m, BUILD_GEN).is_some() })))
        })
    }

    fn closed_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<ClosedSession>> {
        Box::pin(async move { Ok(self.get(&session_pk(session_id), CLOSED_SK).await?.as_ref().and_then(closed_from)) })
    }

    fn mark_stale<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // Queued first: a failure after it leaves a build queued, never a stale report forgotten.
            self.put(queue_item(closed, now)).await?;
            self.set(report_keys(closed), vec![(GENERATION, s(generation))], Some("attribute_exists(pk)")).await?;
            Ok(())
        })
    }

    fn begin_build<'a>(&'a self, closed: &'a ClosedSession, generation: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // Markers that have expired (with the raw events) are not made again.
            let marks = (0..SESSION_SHARDS).map(|n| {
                let fields = vec![(BUILD_GEN, s(generation))];
                self.set((shard_pk(&closed.session_id, n), CLOSED_SK.into()), fields, Some("attribute_exists(pk)"))
            });
            futures_util::future::try_join_all(marks).await.map(|_| ())
        })
    }

    fn put_report<'a>(
        &'a self,
        closed: &'a ClosedSession,
        generation: &'a str,
        report: &'a BuiltReport,
    ) -> StoreFuture<'a, ReportWrite> {
        Box::pin(async move {
            let count = AttributeValue::N(report.events.to_string());
            let fields = vec![
                (REPORT, AttributeValue::B(report.gzip.clone().into())),
                (EVENTS, count),
                (BUILT_GEN, s(generation)),
                (GENERATION, s(generation)),
            ];
            // #n3 = :v3: the generation is still this build's; #n1 <= :v1: no report of more events.
            let condition = "#n3 = :v3 AND (attribute_not_exists(#n1) OR #n1 <= :v1)";
            if self.set(report_keys(closed), fields, Some(condition)).await?.is_some() {
                return Ok(ReportWrite::Kept);
            }
            let (pk, sk) = report_keys(closed);
            match self.get(&pk, &sk).await?.as_ref().map(report_from).transpose()? {
                Some(StoredReport { generation: now_at, built: Some(kept), .. })
                    if now_at == generation && kept.events > report.events =>
                {
                    // The kept report stands for this generation: reads serve it without building.
                    let fields = vec![(BUILT_GEN, s(generation)), (GENERATION, s(generation))];
                    self.set((pk, sk), fields, Some("#n1 = :v1")).await?;
                    Ok(ReportWrite::Smaller(kept))
                }
                _ => Ok(ReportWrite::Superseded),
            }
        })
    }

    fn report<'a>(&'a self, closed: &'a ClosedSession) -> StoreFuture<'a, Option<StoredReport>> {
        Box::pin(async move {
            let (pk, sk) = report_keys(closed);
            match self.get(&pk, &sk).await? {
                Some(item) => report_from(&item).map(Some),
                None => Ok(None),
            }
        })
    }

    fn report_page<'a>(
        &'a self,
        room_id: &'a str,
        limit: u32,
        after: Option<&'a ReportKey>,
    ) -> StoreFuture<'a, (Vec<StoredReport>, Option<ReportKey>)> {
        Box::pin(async move {
            let after = after.map(ReportKey::as_str);
            let pk = room_pk(room_id);
            let (items, next) = self.query(&pk, crate::store::REPORT_PREFIX, false, Some(limit), after).await?;
            let reports = items.iter().map(report_from).collect::<Result<Vec<_>, _>>()?;
            Ok((reports, next.and_then(ReportKey::parse)))
        })
    }

    fn queued_builds<'a>(&'a self, limit: u32) -> StoreFuture<'a, Vec<(ClosedSession, DateTime<Utc>)>> {
        Box::pin(async move {
            let (items, _) = self.query(BUILD_QUEUE_PK, "", true, Some(limit), None).await?;
            Ok(items
                .iter()
                .filter_map(|i| Some((closed_from(i)?, text(i, "queued_at").and_then(parse_rfc3339)?)))
                .collect())
        })
    }

    fn unqueue_build<'a>(&'a self, closed: &'a ClosedSession, queued_at: DateTime<Utc>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let sk = format!("{}#{}", stamp(queued_at), closed.session_id);
            self.delete((BUILD_QUEUE_PK.into(), sk), None, Vec::new()).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::PARTITION_KEY;
    use super::*;
    use crate::store::fixtures::{R1, S1, closed, t};

    #[test]
    fn a_sessions_events_spread_over_its_shards() {
        let partitions: std::collections::BTreeSet<String> =
            (0..2_000).map(|n| event_keys(&uuid_like(n), Some(S1)).0).collect();
        assert_eq!(partitions.len(), SESSION_SHARDS as usize, "every shard takes events");
        assert!(partitions.iter().all(|p| p.starts_with(&format!("SESSION#{S1}#"))));
        assert_eq!(event_partitions(S1).count(), SESSION_SHARDS as usize + 1, "and the partition before shards");
        let marker = closed_item(shard_pk(S1, 3), &closed(), t("12:00:00"));
        assert_eq!(marker[PARTITION_KEY], s(&format!("SESSION#{S1}#03")));
        assert_eq!(closed_from(&marker), Some(closed()));
    }

    fn uuid_like(n: u32) -> String {
        format!("{n:08x}-4de0-ba7c-4c58a4de6c74")
    }

    #[test]
    fn an_event_is_kept_in_its_sessions_partition_with_its_body_as_sent() {
        let body = br#"{"id":"e1","type":"peer.leave.success"}"#;
        let event = EventRecord {
            id: "e1",
            kind: "peer.leave.success",
            room_id: Some(R1),
            session_id: Some(S1),
            body,
            received_at: t("10:00:00"),
            expires_at: t("10:00:00") + chrono::TimeDelta::days(90),
        };
        let item = event_item(&event);
        assert_eq!(item[PARTITION_KEY], s(&format!("SESSION#{S1}#{:02}", crate::store::shard_of("e1"))));
        assert_eq!(item[SORT_KEY], s("EVENT#e1"));
        assert_eq!(item[BODY], s(std::str::from_utf8(body).unwrap()));
        assert_eq!(item["type"], s("peer.leave.success"));
        assert_eq!(item["room_id"], s(R1));
        assert_eq!(item[TTL_ATTRIBUTE], AttributeValue::N((t("10:00:00").timestamp() + 90 * 86_400).to_string()));
        let no_session = event_item(&EventRecord { session_id: None, room_id: None, ..event });
        assert_eq!((&no_session[PARTITION_KEY], &no_session[SORT_KEY]), (&s("EVENT#e1"), &s("EVENT")));
        assert!(!no_session.contains_key("room_id"));
    }

    #[test]
    fn report_closed_and_queue_items_read_back_as_written() {
        let until = t("12:00:00");
        let item = closed_item(session_pk(S1), &closed(), until);
        assert_eq!(closed_from(&item), Some(closed()));
        assert_eq!(item[TTL_ATTRIBUTE], epoch(until));
        let (pk, sk) = report_keys(&closed());
        assert_eq!((pk, sk), (format!("ROOM#{R1}"), format!("REPORT#2026-11-27T10:00:00.000Z#{S1}")));
        let mut marked = keys("p".into(), "s".into());
        describe(&closed(), &mut marked);
        marked.insert(GENERATION.into(), s("g1"));
        let read = report_from(&marked).unwrap();
        assert_eq!((read.generation.as_str(), read.built, read.built_generation), ("g1", None, None));
        marked.insert(REPORT.into(), AttributeValue::B(vec![1, 2, 3].into()));
        marked.insert(EVENTS.into(), AttributeValue::N("7".into()));
        marked.insert(BUILT_GEN.into(), s("g1"));
        let read = report_from(&marked).unwrap();
        assert_eq!(read.built, Some(BuiltReport { gzip: vec![1, 2, 3], events: 7 }));
        assert!(read.is_fresh());
        let queued = queue_item(&closed(), until);
        assert_eq!(queued[SORT_KEY], s(&format!("2026-11-27T12:00:00.000Z#{S1}")));
        assert_eq!(closed_from(&queued), Some(closed()));
    }
}

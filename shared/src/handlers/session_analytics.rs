//! `session-analytics`: `GET /session-analytics-by-room` (a session's attendance),
//! `GET /session-list-by-room` (a room's sessions, a page at a time) and
//! `GET /attendance-history` (a room's stored attendance reports, from the events table). With
//! `CALLER_AUTH=jwt` each is for the room's owner and admins (`owners`). And `GET /attendance`,
//! the page that shows them to a host ([`crate::page`]): it carries no data, so it is for anyone.

use chrono::{DateTime, Utc};
use lambda_http::http::Method;
use serde_json::{Map, Value, json};

use super::Function;
use crate::attendance;
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ConfigError, ErrorCode};
use crate::history::{self, HistoryCursor};
use crate::hms::HmsApi;
use crate::hms::sessions::{self, Page, Session, SessionWithoutPeers};
use crate::input::{Parse, RoomId, SessionId};
use crate::owners::RoomAccess;
use crate::paging::{Cursor, Flag, Limit};
use crate::store::{SharedStore, Store};

pub const SESSION_ANALYTICS_PATH: &str = "/session-analytics-by-room";
pub const SESSION_LIST_PATH: &str = "/session-list-by-room";
pub const ATTENDANCE_HISTORY_PATH: &str = "/attendance-history";
pub const ATTENDANCE_PAGE_PATH: &str = "/attendance";

/// The `session-analytics` function: its routes, over a 100ms client and the events table.
pub struct SessionAnalytics<H> {
    pub hms: H,
    /// The events table (`EVENTS_TABLE`), which only `/attendance-history` reads: without it that
    /// route answers 500 `config` and the others work. The same store as `access`'s owners.
    pub history: Result<SharedStore, ConfigError>,
    /// Who may read which room.
    pub access: RoomAccess,
}

/// `format`: the answer as JSON (the default) or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Parse for Format {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            _ => Err("must be json or csv".into()),
        }
    }
}

/// The header that carries the next page's cursor of a CSV answer (a CSV has no field for it).
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

impl<H: HmsApi> Function for SessionAnalytics<H> {
    const ROUTES: &'static [Route] = &[
        Route { path: SESSION_ANALYTICS_PATH, method: Method::GET },
        Route { path: SESSION_LIST_PATH, method: Method::GET },
        Route { path: ATTENDANCE_HISTORY_PATH, method: Method::GET },
        Route { path: ATTENDANCE_PAGE_PATH, method: Method::GET },
    ];

    async fn call(&self, route: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        if route == ATTENDANCE_PAGE_PATH {
            return Ok(crate::page::attendance_page());
        }
        let caller = self.access.auth.caller(&req.claims)?;
        let room_id: RoomId = req.required_param("room_id")?;
        self.access.require_room(&caller, &room_id).await?;
        if route == ATTENDANCE_HISTORY_PATH {
            let format = req.param("format")?.unwrap_or_default();
            let limit = req.param("limit")?.unwrap_or(HistoryLimit::new(HISTORY_DEFAULT_LIMIT));
            let cursor = match req.param::<Cursor>("cursor")? {
                None => None,
                Some(c) => Some(HistoryCursor::decode(c.as_str()).ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "cursor",
                        "is not a cursor this route gave (pass next_cursor from the previous page)",
                    )
                })?),
            };
            let session_id: Option<SessionId> = req.param("session_id")?;
            if session_id.is_some() && cursor.is_some() {
                return Err(ApiError::invalid_parameter(
                    "cursor",
                    "does not go with session_id (one report, one page)",
                ));
            }
            let store = self.history.as_deref().map_err(|e| ApiError::Config(e.to_string()))?;
            let which = match &session_id {
                Some(s) => Reports::Session(s),
                None => Reports::Page { limit, cursor: cursor.as_ref() },
            };
            return attendance_history(store, &room_id, which, format, chrono::Utc::now()).await;
        }
        if route == SESSION_ANALYTICS_PATH {
            let format: Format = req.param("format")?.unwrap_or_default();
            let limit = req.param("limit")?.unwrap_or(AttendeeLimit::new(ATTENDEES_DEFAULT_LIMIT));
            let offset = match req.param::<Cursor>("cursor")? {
                None => 0,
                Some(c) => c.as_str().parse::<usize>().map_err(|_| {
                    ApiError::invalid_parameter(
                        "cursor",
                        "is not a cursor this route gave (pass next_cursor from the previous page)",
                    )
                })?,
            };
            let page = AttendeePage { offset, limit: limit.get() as usize };
            let reply =
                session_analytics(&self.hms, &room_id, req.param("session_id")?, chrono::Utc::now(), page).await?;
            match format {
                Format::Json => Ok(reply),
                Format::Csv => analytics_as_csv(&reply.body, &room_id),
            }
        } else {
            let limit = req.param("limit")?.unwrap_or(SessionListLimit::new(SESSION_LIST_DEFAULT_LIMIT));
            let peers = req.param("peers")?.unwrap_or_default();
            session_list(&self.hms, &room_id, limit, req.param("cursor")?.as_ref(), peers).await
        }
    }
}

fn no_session(room_id: &RoomId) -> ApiError {
    ApiError::NotFound { code: ErrorCode::SessionNotFound, msg: format!("room {room_id} has no session") }
}

/// Attendees on one page of `/session-analytics-by-room` unless `limit` says otherwise: a class
/// of any usual size on one page, so an app that reads only the first page misses nobody.
pub const ATTENDEES_DEFAULT_LIMIT: u32 = 1_000;

/// `limit` of `/session-analytics-by-room`. A row is about 200 bytes of keys, figures and two
/// timestamps plus its name, user id and role; at 5,000 rows with 500-byte rows that is 2.5 MB,
/// well under Lambda's 6 MB. Longer text than that is caught by the answer's size check.
pub type AttendeeLimit = Limit<5_000>;

/// Which attendees one answer carries: from `offset` (the cursor), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttendeePage {
    pub offset: usize,
    pub limit: usize,
}

/// `GET /session-analytics-by-room?room_id=[&session_id=][&limit=][&cursor=]`: the attendance of
/// the room's latest session, or of the chosen one; one page of attendees, with the session's
/// figures (`session_duration`, `total_peer_duration`, `attendee_count`) over all of them. The
/// cursor is the offset of the page's first attendee in the report's order (first join, then
/// user id, then name), which later joins extend at the end.
pub async fn session_analytics(
    hms: &impl HmsApi,
    room_id: &RoomId,
    session_id: Option<SessionId>,
    now: DateTime<Utc>,
    page: AttendeePage,
) -> Result<Reply, ApiError> {
    // The session borrows its strings from these bytes, so they are fetched first and outlive it.
    let bytes = match &session_id {
        Some(session_id) => match hms.get_session(session_id).await {
            Ok(bytes) => bytes,
            Err(e) if e.code() == ErrorCode::UpstreamNotFound => {
                return Err(ApiError::NotFound {
                    code: ErrorCode::SessionNotFound,
                    msg: format!("session {session_id} does not exist"),
                });
            }
            Err(e) => return Err(e),
        },
        None => hms.list_sessions(room_id, sessions::LATEST_PAGE_LIMIT, None).await?,
    };
    let session: Session<'_> = match &session_id {
        Some(session_id) => {
            let session: Session<'_> = sessions::parse(&bytes, "session")?;
            if session.room_id != room_id.as_str() {
                return Err(ApiError::NotFound {
                    code: ErrorCode::SessionNotFound,
                    msg: format!("session {session_id} is not a session of room {room_id}"),
                });
            }
            session
        }
        None => {
            let page: Page<Session<'_>> = sessions::parse(&bytes, "session list")?;
            sessions::latest(page.data).ok_or_else(|| no_session(room_id))?
        }
    };
    Ok(Reply::ok_raw(attendance::compute(&session, now).to_json_page(page.offset, page.limit)))
}

/// The attendance answer as CSV: the same page of attendees, the next page's cursor in
/// [`NEXT_CURSOR_HEADER`].
fn analytics_as_csv(json: &[u8], room_id: &RoomId) -> Result<Reply, ApiError> {
    let report: Value =
        serde_json::from_slice(json).map_err(|e| ApiError::Internal(format!("the attendance is not JSON: {e}")))?;
    let mut out = Vec::with_capacity(json.len());
    crate::csv::header(&mut out);
    crate::csv::rows(&mut out, &report);
    let session = report["session_id"].as_str().unwrap_or("session");
    let reply = Reply::ok_csv(out, &format!("attendance-{room_id}-{session}.csv"));
    Ok(match report["next_cursor"].as_str() {
        Some(next) => reply.with_header(NEXT_CURSOR_HEADER, next.to_string()),
        None => reply,
    })
}

/// Reports on one page of `/attendance-history` unless `limit` says otherwise.
pub const HISTORY_DEFAULT_LIMIT: u32 = 10;

/// `limit` of `/attendance-history`.
pub type HistoryLimit = Limit<50>;

/// Reports stop being added to a page once they pass this many bytes (Lambda's answer is 6 MB).
pub const HISTORY_PAGE_BUDGET: usize = 4 * 1024 * 1024;

/// Which stored reports `/attendance-history` answers.
#[derive(Debug, Clone, Copy)]
pub enum Reports<'a> {
    /// A page of the room's reports, newest first.
    Page { limit: HistoryLimit, cursor: Option<&'a HistoryCursor> },
    /// One session's report (404 `session_not_found` when the table has none for the room).
    Session(&'a SessionId),
}

/// `GET /attendance-history?room_id=[&limit=][&cursor=][&session_id=][&format=]`: the room's
/// stored attendance reports, newest session first, each the answer `/session-analytics-by-room`
/// gives for that session (all its attendees), however long ago 100ms forgot it:
/// `{"success","room_id","count","next_cursor","reports":[...]}`; or as CSV, one row per attendee
/// and session, the next cursor in [`NEXT_CURSOR_HEADER`]. With `session_id`, that session's
/// report alone, in the same shape.
pub async fn attendance_history(
    store: &dyn Store,
    room_id: &RoomId,
    which: Reports<'_>,
    format: Format,
    now: DateTime<Utc>,
) -> Result<Reply, ApiError> {
    let (reports, next) = match which {
        Reports::Page { limit, cursor } => {
            history::reports_page(store, room_id.as_str(), limit.get(), cursor, HISTORY_PAGE_BUDGET, now).await?
        }
        Reports::Session(session_id) => {
            match history::session_report(store, room_id.as_str(), session_id.as_str(), now).await? {
                Some(report) => (vec![report], None),
                None => {
                    return Err(ApiError::NotFound {
                        code: ErrorCode::SessionNotFound,
                        msg: format!("room {room_id} has no stored report of session {session_id}"),
                    });
                }
            }
        }
    };
    let next = next.map(|c| c.encode());
    if format == Format::Csv {
        let mut out = Vec::new();
        crate::csv::header(&mut out);
        for r in &reports {
            let report: Value = serde_json::from_slice(r)
                .map_err(|e| ApiError::Internal(format!("a stored report is not JSON: {e}")))?;
            crate::csv::rows(&mut out, &report);
        }
        let reply = Reply::ok_csv(out, &format!("attendance-history-{room_id}.csv"));
        return Ok(match next {
            Some(n) => reply.with_header(NEXT_CURSOR_HEADER, n),
            None => reply,
        });
    }
    let head = json!({"success": true, "room_id": room_id, "count": reports.len(), "next_cursor": next});
    let mut out = serde_json::to_vec(&head).map_err(|e| ApiError::Internal(e.to_string()))?;
    // The reports are JSON already: spliced in as they are, not parsed and written again.
    out.pop();
    out.extend_from_slice(b",\"reports\":[");
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.extend_from_slice(b"]}");
    Ok(Reply::ok_raw(out))
}

/// Sessions on one page of `/session-list-by-room` unless `limit` says otherwise.
pub const SESSION_LIST_DEFAULT_LIMIT: u32 = 20;

/// `limit` of `/session-list-by-room`: 100ms's own page maximum, so one page is one call to 100ms
/// and the memory a request takes is bounded by one 100ms page. Without peers a session is about
/// 300 bytes, so a full page is about 30 KB; with `peers=true` each session carries every peer who
/// joined it (about 250 bytes each; a large room can have 20,000 at once), so no limit can
/// promise a page under 6 MB and the answer's size check has the last word.
pub type SessionListLimit = Limit<{ sessions::LIST_PAGE_LIMIT }>;

/// `GET /session-list-by-room?room_id=[&limit=][&cursor=][&peers=]`: one page of the room's
/// sessions, newest first, as 100ms sends them (without their `peers` unless `peers=true`). The
/// cursor is 100ms's own (`last` -> `start`); `next_cursor` is null when 100ms's page was short,
/// empty, or did not move on.
pub async fn session_list(
    hms: &impl HmsApi,
    room_id: &RoomId,
    limit: SessionListLimit,
    cursor: Option<&Cursor>,
    peers: Flag,
) -> Result<Reply, ApiError> {
    let start = cursor.map(Cursor::as_str);
    let bytes = hms.list_sessions(room_id, limit.get(), start).await?;
    let (sessions, last): (Vec<Map<String, Value>>, _) = if peers.0 {
        let page: Page<Map<String, Value>> = sessions::parse(&bytes, "session list")?;
        (page.data, page.last)
    } else {
        let page: Page<SessionWithoutPeers> = sessions::parse(&bytes, "session list")?;
        (page.data.into_iter().map(|s| s.0).collect(), page.last)
    };
    drop(bytes);
    let count = sessions.len();
    let mut out = Vec::with_capacity(count);
    for s in sessions {
        if !s.get("id").is_some_and(Value::is_string) {
            return Err(ApiError::upstream(ErrorCode::UpstreamInvalidResponse, "100ms sent a session without an id"));
        }
        out.push(Value::Object(s));
    }
    let seen: Vec<String> = start.map(String::from).into_iter().collect();
    let next_cursor = sessions::next_start(count, limit.get(), last.as_deref(), &seen);
    Reply::ok_json(&json!({
        "success": true,
        "room_id": room_id,
        "count": count,
        "limit": limit.get(),
        "next_cursor": next_cursor,
        "sessions": out,
    }))
}

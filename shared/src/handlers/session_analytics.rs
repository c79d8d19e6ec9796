//! `session-analytics`: `GET /session-analytics-by-room` (a session's attendance) and
//! `GET /session-list-by-room` (every session of a room).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use lambda_http::http::Method;
use serde_json::{Value, json};

use super::Function;
use crate::attendance;
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsApi;
use crate::hms::sessions::{self, Page, Session};
use crate::input::{RoomId, SessionId};

pub const SESSION_ANALYTICS_PATH: &str = "/session-analytics-by-room";
pub const SESSION_LIST_PATH: &str = "/session-list-by-room";

/// The `session-analytics` function: both routes, over a 100ms client.
pub struct SessionAnalytics<H> {
    pub hms: H,
}

impl<H: HmsApi> Function for SessionAnalytics<H> {
    const ROUTES: &'static [Route] = &[
        Route { path: SESSION_ANALYTICS_PATH, method: Method::GET },
        Route { path: SESSION_LIST_PATH, method: Method::GET },
    ];

    async fn call(&self, route: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        let room_id: RoomId = req.required_param("room_id")?;
        if route == SESSION_ANALYTICS_PATH {
            session_analytics(&self.hms, &room_id, req.param("session_id")?, chrono::Utc::now()).await
        } else {
            session_list(&self.hms, &room_id).await
        }
    }
}

fn no_session(room_id: &RoomId) -> ApiError {
    ApiError::NotFound { code: ErrorCode::SessionNotFound, msg: format!("room {room_id} has no session") }
}

/// `GET /session-analytics-by-room?room_id=[&session_id=]`: the attendance of the room's latest
/// session, or of the chosen one.
pub async fn session_analytics(
    hms: &impl HmsApi,
    room_id: &RoomId,
    session_id: Option<SessionId>,
    now: DateTime<Utc>,
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
    Ok(Reply::ok_raw(attendance::compute(&session, now).to_json_bytes()))
}

/// `GET /session-list-by-room?room_id=`: every session of the room, newest first, following the
/// `last` -> `start` cursor for at most [`sessions::LIST_MAX_PAGES`] pages.
pub async fn session_list(hms: &impl HmsApi, room_id: &RoomId) -> Result<Reply, ApiError> {
    let mut all: Vec<Value> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut cursors: Vec<String> = Vec::new();
    let mut start: Option<String> = None;
    let mut truncated = false;
    for page_no in 0.. {
        if page_no == sessions::LIST_MAX_PAGES {
            truncated = true;
            break;
        }
        let bytes = hms.list_sessions(room_id, sessions::LIST_PAGE_LIMIT, start.as_deref()).await?;
        let page: Page<Value> = sessions::parse(&bytes, "session list")?;
        let page_len = page.data.len();
        for s in page.data {
            let id = s.get("id").and_then(Value::as_str).map(String::from);
            let Some(id) = id else {
                return Err(ApiError::upstream(
                    ErrorCode::UpstreamInvalidResponse,
                    "100ms sent a session without an id",
                ));
            };
            if ids.insert(id) {
                all.push(s);
            }
        }
        match sessions::next_start(page_len, sessions::LIST_PAGE_LIMIT, page.last.as_deref(), &cursors) {
            Some(next) => {
                cursors.push(next.clone());
                start = Some(next);
            }
            None => break,
        }
    }
    Reply::ok_json(&json!({
        "success": true,
        "room_id": room_id,
        "count": all.len(),
        "truncated": truncated,
        "max_sessions": sessions::LIST_MAX_PAGES * sessions::LIST_PAGE_LIMIT as usize,
        "sessions": all,
    }))
}

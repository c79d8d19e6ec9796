//! `room-control`: what a host does with a room beyond creating it. Room codes ([`codes`]), who
//! is in the room, removing a peer and ending the session ([`peers`]), recordings and their
//! links ([`recordings`]). Every route is a host operation: with `CALLER_AUTH=jwt` each requires
//! the admin claim, as `/create-room` does.

pub mod codes;
pub mod peers;
pub mod recordings;

use lambda_http::http::Method;

use super::Function;
use crate::auth::{CallerAuth, RoleAllowList};
use crate::credentials::SecretSource;
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::hms::HmsClient;
use crate::input::RoomId;

pub use codes::{ROOM_CODES_DISABLE_PATH, ROOM_CODES_ENABLE_PATH, ROOM_CODES_PATH};
pub use peers::{ACTIVE_PEERS_PATH, END_ROOM_PATH, REMOVE_PEER_PATH};
pub use recordings::{RECORDING_URL_PATH, RECORDINGS_PATH, RECORDINGS_START_PATH, RECORDINGS_STOP_PATH};

/// The `room-control` function.
pub struct RoomControl<S> {
    pub hms: HmsClient<S>,
    /// The roles room codes may be made (or enabled) for: `ALLOWED_ROLES`, as for tokens.
    pub roles: RoleAllowList,
    pub caller_auth: CallerAuth,
}

impl<S: SecretSource> Function for RoomControl<S> {
    const ROUTES: &'static [Route] = &[
        Route { path: ROOM_CODES_PATH, method: Method::POST },
        Route { path: ROOM_CODES_PATH, method: Method::GET },
        Route { path: ROOM_CODES_DISABLE_PATH, method: Method::POST },
        Route { path: ROOM_CODES_ENABLE_PATH, method: Method::POST },
        Route { path: ACTIVE_PEERS_PATH, method: Method::GET },
        Route { path: REMOVE_PEER_PATH, method: Method::POST },
        Route { path: END_ROOM_PATH, method: Method::POST },
        Route { path: RECORDINGS_START_PATH, method: Method::POST },
        Route { path: RECORDINGS_STOP_PATH, method: Method::POST },
        Route { path: RECORDINGS_PATH, method: Method::GET },
        Route { path: RECORDING_URL_PATH, method: Method::GET },
    ];

    async fn call(&self, route: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        self.caller_auth.require_admin(&req.claims)?;
        let hms = &self.hms;
        let body = req.body.as_deref();
        match (route, &req.method) {
            (ROOM_CODES_PATH, &Method::POST) => {
                let ask = codes::create_request(body, &self.roles)?;
                codes::create(hms, &ask, &self.roles).await
            }
            (ROOM_CODES_PATH, _) => {
                let room_id = req.required_param("room_id")?;
                let role = req.param("role")?;
                let enabled = req.param::<crate::paging::Flag>("enabled")?.map(|f| f.0);
                codes::list(hms, &room_id, role.as_ref(), enabled).await
            }
            (ROOM_CODES_DISABLE_PATH, _) => codes::switch(hms, &codes::code_request(body)?, false, &self.roles).await,
            (ROOM_CODES_ENABLE_PATH, _) => codes::switch(hms, &codes::code_request(body)?, true, &self.roles).await,
            (ACTIVE_PEERS_PATH, _) => peers::active(hms, &req.required_param("room_id")?).await,
            (REMOVE_PEER_PATH, _) => peers::remove(hms, &peers::removal_request(body)?).await,
            (END_ROOM_PATH, _) => peers::end(hms, &peers::end_request(body)?).await,
            (RECORDINGS_START_PATH, _) => recordings::start(hms, &recordings::start_request(body)?).await,
            (RECORDINGS_STOP_PATH, _) => recordings::stop(hms, &recordings::room_request(body)?).await,
            (RECORDINGS_PATH, _) => {
                let room_id = req.required_param("room_id")?;
                let limit =
                    req.param("limit")?.unwrap_or(recordings::RecordingListLimit::new(recordings::DEFAULT_LIMIT));
                recordings::list(hms, &room_id, limit, req.param("cursor")?.as_ref()).await
            }
            (RECORDING_URL_PATH, _) => {
                let asset_id = req.required_param("asset_id")?;
                let duration = req.param("duration")?.unwrap_or_default();
                recordings::url(hms, &asset_id, duration, chrono::Utc::now()).await
            }
            (other, _) => Err(ApiError::Internal(format!("route {other} is listed but has no handler"))),
        }
    }
}

/// A 404 from 100ms where the room has no live session: the room's `session_not_found`, with
/// 100ms's own words after it; any other error unchanged.
pub(crate) fn no_live_session(room_id: &RoomId) -> impl FnOnce(ApiError) -> ApiError + '_ {
    move |e| match e {
        ApiError::UpstreamRejected { status: 404, msg } => ApiError::NotFound {
            code: ErrorCode::SessionNotFound,
            msg: format!("room {room_id} has no live session (100ms: {msg})"),
        },
        other => other,
    }
}

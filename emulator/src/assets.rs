//! `/v2/recording-assets`: what recordings and live streams leave behind (docs: recording
//! assets), listed, read one by one, and reached through presigned URLs that expire. A presigned
//! URL points at this emulator (`/_emulator/assets/{id}?token=`), signed with the app secret;
//! after its expiry it is refused with 403, as S3 refuses one. `presign_duration` is any whole
//! number of seconds from 1, 3 days by default. Transcripts and summaries serve their text
//! (made with them, [`crate::transcription`]); other assets a line naming them.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::TimeDelta;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::guard;
use crate::{Emulator, Inner, ListQuery, api_error, page, parse_limit};

/// A presigned URL's lifetime unless `presign_duration` says otherwise (the docs: 3 days).
const DEFAULT_PRESIGN_SECONDS: i64 = 3 * 86_400;

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2/recording-assets", get(list_assets))
        .route("/v2/recording-assets/{id}", get(get_asset))
        .route("/v2/recording-assets/{id}/presigned-url", get(presigned_url))
}

/// A recording asset, as the docs' asset object.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Asset {
    pub(crate) id: String,
    pub(crate) job_id: String,
    pub(crate) room_id: String,
    pub(crate) session_id: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) path: String,
    pub(crate) status: String,
    pub(crate) size: u64,
    pub(crate) duration: u64,
    pub(crate) created_at: String,
    pub(crate) thumbnails: Option<Vec<String>>,
    pub(crate) metadata: Value,
    /// What its link serves (a transcript's lines, a summary's file); a line naming it if none.
    #[serde(skip)]
    pub(crate) content: Option<String>,
}

impl Asset {
    /// The asset as a recording or a stream lists it: without `job_id`, `room_id` and
    /// `session_id` (the docs' examples of GET by id).
    pub(crate) fn embedded(&self) -> Value {
        let mut a = serde_json::to_value(self).expect("an asset serializes");
        for k in ["job_id", "room_id", "session_id"] {
            a.as_object_mut().expect("an object").remove(k);
        }
        a
    }

    /// The id of the recording (or stream) it is of.
    pub(crate) fn job_id(&self) -> &str {
        &self.job_id
    }

    /// An asset of recording `of` (its id, room and session).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: &str,
        of: (&str, &str, &str),
        kind: &str,
        path: &str,
        size: u64,
        duration: u64,
        created_at: String,
        metadata: Value,
    ) -> Self {
        Self {
            content: None,
            id: id.into(),
            job_id: of.0.into(),
            room_id: of.1.into(),
            session_id: of.2.into(),
            kind: kind.into(),
            path: path.into(),
            status: "completed".into(),
            size,
            duration,
            created_at,
            thumbnails: None,
            metadata,
        }
    }
}

impl Inner {
    /// A presigned URL of asset `id` on the emulator at `base`, working for `seconds`.
    pub(crate) fn presign(&self, base: &str, id: &str, seconds: i64) -> String {
        let claims =
            UrlClaims { asset_id: id.to_string(), exp: (self.now() + TimeDelta::seconds(seconds)).timestamp() };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .expect("HS256 signing of a JSON object cannot fail");
        format!("{base}/_emulator/assets/{id}?token={token}")
    }
}

/// `GET /recording-assets?room_id=&session_id=&status=&limit=&start=`: newest first.
async fn list_assets(State(emu): State<Emulator>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    if let Err(r) = guard(&emu, "GET /recording-assets", &headers).await {
        return r;
    }
    let limit = match parse_limit(q.limit.as_deref()) {
        Ok(l) => l,
        Err(msg) => return api_error(StatusCode::BAD_REQUEST, msg, &[]),
    };
    let mut s = emu.lock();
    s.settle();
    let items: Vec<(String, Asset)> = s
        .assets
        .iter()
        .rev()
        .filter(|a| q.room_id.as_ref().is_none_or(|x| &a.room_id == x))
        .filter(|a| q.session_id.as_ref().is_none_or(|x| &a.session_id == x))
        .filter(|a| q.status.as_ref().is_none_or(|x| &a.status == x))
        .map(|a| (a.id.clone(), a.clone()))
        .collect();
    Json(page(items, limit, q.start.as_deref())).into_response()
}

/// `GET /recording-assets/{id}`.
async fn get_asset(State(emu): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = guard(&emu, "GET /recording-assets/{id}", &headers).await {
        return r;
    }
    let mut s = emu.lock();
    s.settle();
    match s.assets.iter().find(|a| a.id == id) {
        Some(a) => Json(a.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "asset not found", &[]),
    }
}

#[derive(Deserialize)]
struct PresignQuery {
    presign_duration: Option<String>,
}

/// What a presigned URL signs: the asset and when the URL stops working.
#[derive(Serialize, Deserialize)]
struct UrlClaims {
    asset_id: String,
    exp: i64,
}

/// `GET /recording-assets/{id}/presigned-url?presign_duration=`: `{id, path, url, expiry}`, the
/// URL on this emulator (`/_emulator/assets/{id}?token=`), refused once it expired.
async fn presigned_url(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PresignQuery>,
) -> Response {
    if let Err(r) = guard(&emu, "GET /recording-assets/{id}/presigned-url", &headers).await {
        return r;
    }
    let expiry = match q.presign_duration.as_deref().map(str::parse::<i64>) {
        None => DEFAULT_PRESIGN_SECONDS,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "invalid query parameter", &["presign_duration"]),
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    let mut s = emu.lock();
    s.settle();
    let Some(asset) = s.assets.iter().find(|a| a.id == id) else {
        return api_error(StatusCode::NOT_FOUND, "asset not found", &[]);
    };
    let url = s.presign(&format!("http://{host}"), &id, expiry);
    Json(json!({"id": id, "path": asset.path, "url": url, "expiry": expiry})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct DownloadQuery {
    token: String,
}

/// A presigned URL's target: the asset's bytes while the URL is valid, 403 after (as S3 answers).
pub(crate) async fn download(
    State(emu): State<Emulator>,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Response {
    let s = emu.lock();
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let claims = match jsonwebtoken::decode::<UrlClaims>(&q.token, &DecodingKey::from_secret(s.secret.as_bytes()), &v) {
        Ok(d) if d.claims.asset_id == id => d.claims,
        _ => return (StatusCode::FORBIDDEN, "SignatureDoesNotMatch").into_response(),
    };
    if s.now().timestamp() >= claims.exp {
        return (StatusCode::FORBIDDEN, "Request has expired").into_response();
    }
    let Some(a) = s.assets.iter().find(|a| a.id == id) else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    let body = a.content.clone().unwrap_or_else(|| format!("asset {} ({})", a.id, a.kind));
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

//! The one error type of the API, its stable codes and their mapping to HTTP answers.
//!
//! Every handler returns `Result<_, ApiError>`. [`ErrorCode`] lists every code a caller can see
//! and gives each its status: the only place a failure becomes an HTTP status.

use serde_json::json;

/// The stable snake_case codes clients switch on, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    MissingBody,
    InvalidJson,
    InvalidBody,
    InvalidBase64,
    MissingField,
    InvalidField,
    UnknownField,
    MissingParameter,
    InvalidParameter,
    UpstreamRejected,
    Unauthenticated,
    RoleNotAllowed,
    UserMismatch,
    AdminRequired,
    RoleNotGranted,
    Banned,
    SessionNotFound,
    RoomNotFound,
    UpstreamNotFound,
    RouteNotFound,
    MethodNotAllowed,
    NameTaken,
    MembersOnly,
    UpstreamConflict,
    PayloadTooLarge,
    ResponseTooLarge,
    Config,
    Internal,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamInvalidResponse,
    UpstreamUnreachable,
    UpstreamAuth,
    CredentialsUnavailable,
    EventsTableUnavailable,
    UpstreamTimeout,
}

impl ErrorCode {
    /// Every code, in the order openapi.yaml lists them.
    pub const ALL: [ErrorCode; 36] = [
        Self::MissingBody,
        Self::InvalidJson,
        Self::InvalidBody,
        Self::InvalidBase64,
        Self::MissingField,
        Self::InvalidField,
        Self::UnknownField,
        Self::MissingParameter,
        Self::InvalidParameter,
        Self::UpstreamRejected,
        Self::Unauthenticated,
        Self::RoleNotAllowed,
        Self::UserMismatch,
        Self::AdminRequired,
        Self::RoleNotGranted,
        Self::Banned,
        Self::SessionNotFound,
        Self::RoomNotFound,
        Self::UpstreamNotFound,
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::NameTaken,
        Self::MembersOnly,
        Self::UpstreamConflict,
        Self::PayloadTooLarge,
        Self::ResponseTooLarge,
        Self::Config,
        Self::Internal,
        Self::UpstreamError,
        Self::UpstreamRateLimited,
        Self::UpstreamInvalidResponse,
        Self::UpstreamUnreachable,
        Self::UpstreamAuth,
        Self::CredentialsUnavailable,
        Self::EventsTableUnavailable,
        Self::UpstreamTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingBody => "missing_body",
            Self::InvalidJson => "invalid_json",
            Self::InvalidBody => "invalid_body",
            Self::InvalidBase64 => "invalid_base64",
            Self::MissingField => "missing_field",
            Self::InvalidField => "invalid_field",
            Self::UnknownField => "unknown_field",
            Self::MissingParameter => "missing_parameter",
            Self::InvalidParameter => "invalid_parameter",
            Self::UpstreamRejected => "upstream_rejected",
            Self::Unauthenticated => "unauthenticated",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::UserMismatch => "user_mismatch",
            Self::AdminRequired => "admin_required",
            Self::RoleNotGranted => "role_not_granted",
            Self::Banned => "banned",
            Self::SessionNotFound => "session_not_found",
            Self::RoomNotFound => "room_not_found",
            Self::UpstreamNotFound => "upstream_not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NameTaken => "name_taken",
            Self::MembersOnly => "members_only",
            Self::UpstreamConflict => "upstream_conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ResponseTooLarge => "response_too_large",
            Self::Config => "config",
            Self::Internal => "internal",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamRateLimited => "upstream_rate_limited",
            Self::UpstreamInvalidResponse => "upstream_invalid_response",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::UpstreamAuth => "upstream_auth",
            Self::CredentialsUnavailable => "credentials_unavailable",
            Self::EventsTableUnavailable => "events_table_unavailable",
            Self::UpstreamTimeout => "upstream_timeout",
        }
    }

    /// The HTTP status a failure with this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::MissingBody
            | Self::InvalidJson
            | Self::InvalidBody
            | Self::InvalidBase64
            | Self::MissingField
            | Self::InvalidField
            | Self::UnknownField
            | Self::MissingParameter
            | Self::InvalidParameter
            | Self::UpstreamRejected => 400,
            Self::Unauthenticated => 401,
            Self::RoleNotAllowed | Self::UserMismatch | Self::AdminRequired | Self::RoleNotGranted | Self::Banned => {
                403
            }
            Self::SessionNotFound | Self::RoomNotFound | Self::UpstreamNotFound | Self::RouteNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::NameTaken | Self::MembersOnly | Self::UpstreamConflict => 409,
            Self::PayloadTooLarge => 413,
            Self::ResponseTooLarge => 422,
            Self::Config | Self::Internal => 500,
            Self::UpstreamRateLimited => 429,
            Self::UpstreamError | Self::UpstreamInvalidResponse | Self::UpstreamUnreachable | Self::UpstreamAuth => 502,
            Self::CredentialsUnavailable | Self::EventsTableUnavailable => 503,
            Self::UpstreamTimeout => 504,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// So tests and logs can compare a code with its text.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A configuration value that is missing or wrong. The function logs it once at start and
/// answers every request with a 500 `config` naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        ApiError::Config(e.to_string())
    }
}

/// Every failure an invocation can end with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The caller's input is wrong; `code` names what kind of wrong.
    #[error("{msg}")]
    BadRequest { code: ErrorCode, msg: String },
    /// The request body is larger than we accept.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The answer would be larger than Lambda passes on (6 MB): the caller must ask for less.
    #[error(
        "the answer would be {bytes} bytes, over the {limit} bytes a Lambda function may answer with: ask for less (a smaller limit, or without peers)"
    )]
    ResponseTooLarge { bytes: usize, limit: usize },
    /// The caller did not prove who it is (no verified JWT where one is required).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{msg}")]
    Forbidden { code: ErrorCode, msg: String },
    /// The request conflicts with what exists (a room name someone else's room has).
    #[error("{msg}")]
    Conflict { code: ErrorCode, msg: String },
    /// The thing asked for does not exist.
    #[error("{msg}")]
    NotFound { code: ErrorCode, msg: String },
    /// The path exists but not with this method.
    #[error("method {method} is not allowed here; use {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    /// The deployment is misconfigured (environment or secret content).
    #[error("{0}")]
    Config(String),
    /// Credentials could not be read right now (Secrets Manager unreachable, denied, missing).
    #[error("{0}")]
    CredentialsUnavailable(String),
    /// The events table could not be read or written right now (the message is the public one;
    /// what failed went to the log).
    #[error("{0}")]
    StoreUnavailable(String),
    /// 100ms refused the request because of the caller's input (its 4xx), with 100ms's message.
    #[error("100ms rejected the request: {msg}")]
    UpstreamRejected { status: u16, msg: String },
    /// 100ms failed, answered nonsense, kept refusing our credentials or rate-limiting us.
    #[error("{msg}")]
    UpstreamFailed { code: ErrorCode, msg: String },
    /// 100ms did not answer in time.
    #[error("100ms did not answer in time")]
    UpstreamTimeout,
    /// A bug or an impossible state on our side.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, msg: impl Into<String>) -> Self {
        Self::BadRequest { code, msg: msg.into() }
    }

    pub fn invalid_field(field: &str, why: impl std::fmt::Display) -> Self {
        Self::bad_request(ErrorCode::InvalidField, format!("field '{field}' {why}"))
    }

    pub fn missing_field(field: &str) -> Self {
        Self::bad_request(ErrorCode::MissingField, format!("field '{field}' is required"))
    }

    pub fn invalid_parameter(name: &str, why: impl std::fmt::Display) -> Self {
        Self::bad_request(ErrorCode::InvalidParameter, format!("query parameter '{name}' {why}"))
    }

    pub fn upstream(code: ErrorCode, msg: impl Into<String>) -> Self {
        Self::UpstreamFailed { code, msg: msg.into() }
    }

    /// The stable code clients can switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::UpstreamFailed { code, .. } => *code,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::Config(_) => ErrorCode::Config,
            Self::CredentialsUnavailable(_) => ErrorCode::CredentialsUnavailable,
            Self::StoreUnavailable(_) => ErrorCode::EventsTableUnavailable,
            Self::UpstreamRejected { status: 404, .. } => ErrorCode::UpstreamNotFound,
            Self::UpstreamRejected { .. } => ErrorCode::UpstreamRejected,
            Self::UpstreamTimeout => ErrorCode::UpstreamTimeout,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status this error is answered with: its code's.
    pub fn status(&self) -> u16 {
        self.code().status()
    }

    /// The JSON envelope every non-2xx answer carries.
    pub fn body(&self) -> serde_json::Value {
        json!({ "success": false, "msg": self.public_message(), "error": self.code().as_str() })
    }

    /// What the caller reads. Failures on our side whose text can name AWS accounts, roles and
    /// secret ARNs (a Secrets Manager error), our internals or how the deployment is configured
    /// get a generic message; the full text goes to the function's log (the summary line of the
    /// request).
    pub fn public_message(&self) -> String {
        match self {
            Self::Config(_) => "this function is misconfigured (its log says what to fix)".into(),
            Self::CredentialsUnavailable(_) => {
                "the app's credentials could not be read right now; try again shortly (the function's log says why)"
                    .into()
            }
            Self::Internal(_) => "something went wrong on our side (the function's log says what)".into(),
            other => other.to_string(),
        }
    }

    /// Extra headers this error needs (`Allow` on a 405).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed { allowed, .. } => vec![("allow", allowed.clone())],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_status_and_code() {
        let cases = [
            (ApiError::bad_request(ErrorCode::InvalidJson, "x"), 400, "invalid_json"),
            (ApiError::PayloadTooLarge { limit: 16384 }, 413, "payload_too_large"),
            (ApiError::ResponseTooLarge { bytes: 7_000_000, limit: 6_291_556 }, 422, "response_too_large"),
            (ApiError::Unauthenticated("x".into()), 401, "unauthenticated"),
            (ApiError::Forbidden { code: ErrorCode::RoleNotAllowed, msg: "x".into() }, 403, "role_not_allowed"),
            (ApiError::NotFound { code: ErrorCode::SessionNotFound, msg: "x".into() }, 404, "session_not_found"),
            (ApiError::MethodNotAllowed { method: "GET".into(), allowed: "POST".into() }, 405, "method_not_allowed"),
            (ApiError::Config("x".into()), 500, "config"),
            (ApiError::CredentialsUnavailable("x".into()), 503, "credentials_unavailable"),
            (ApiError::StoreUnavailable("x".into()), 503, "events_table_unavailable"),
            (ApiError::UpstreamRejected { status: 400, msg: "template not found".into() }, 400, "upstream_rejected"),
            (ApiError::UpstreamRejected { status: 422, msg: "x".into() }, 400, "upstream_rejected"),
            (ApiError::UpstreamRejected { status: 404, msg: "room not found".into() }, 404, "upstream_not_found"),
            (ApiError::upstream(ErrorCode::UpstreamError, "500"), 502, "upstream_error"),
            (ApiError::UpstreamTimeout, 504, "upstream_timeout"),
            (ApiError::Internal("x".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
            let body = err.body();
            assert_eq!(body["success"], false);
            assert_eq!(body["error"], code);
            assert_eq!(body["msg"], err.public_message());
        }
    }

    #[test]
    fn every_code_has_a_distinct_snake_case_name_and_an_error_status() {
        let names: std::collections::BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "no two codes share a name");
        for code in ErrorCode::ALL {
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{code}");
            assert!((400..600).contains(&code.status()), "{code}: {}", code.status());
        }
    }

    #[test]
    fn all_lists_every_code_once_in_declaration_order() {
        assert_eq!(ErrorCode::ALL.len(), ErrorCode::UpstreamTimeout as usize + 1, "the last variant closes the list");
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code}");
        }
    }

    #[test]
    fn failures_on_our_side_answer_a_generic_message() {
        let arn = "User: arn:aws:sts::123456789012:assumed-role/x is not authorized on arn:aws:secretsmanager:eu-west-1:123456789012:secret:hms";
        for err in
            [ApiError::CredentialsUnavailable(arn.into()), ApiError::Internal(arn.into()), ApiError::Config(arn.into())]
        {
            let body = err.body().to_string();
            assert!(!body.contains("123456789012") && !body.contains("arn:"), "{body}");
            assert!(err.to_string().contains("arn:aws:secretsmanager"), "the log keeps the full text");
        }
    }

    #[test]
    fn upstream_message_is_kept_for_the_caller() {
        let err = ApiError::UpstreamRejected { status: 400, msg: "template not found".into() };
        assert_eq!(err.body()["msg"], "100ms rejected the request: template not found");
    }

    #[test]
    fn method_not_allowed_carries_allow_header() {
        let err = ApiError::MethodNotAllowed { method: "GET".into(), allowed: "POST".into() };
        assert_eq!(err.headers(), vec![("allow", "POST".to_string())]);
        assert!(ApiError::UpstreamTimeout.headers().is_empty());
    }

    #[test]
    fn config_error_maps_to_500_config() {
        let e: ApiError = ConfigError("x".into()).into();
        assert_eq!((e.status(), e.code()), (500, ErrorCode::Config));
    }
}

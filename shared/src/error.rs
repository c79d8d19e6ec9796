//! The one error type of the API and its mapping to HTTP answers.
//!
//! Every handler returns `Result<_, ApiError>`; [`ApiError::status`] and [`ApiError::code`] are the
//! only place a failure becomes a status code and a stable machine-readable code.

use serde_json::json;

/// Every failure an invocation can end with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The caller's input is wrong; `code` names what kind of wrong.
    #[error("{msg}")]
    BadRequest { code: &'static str, msg: String },
    /// The request body is larger than we accept.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The caller did not prove who it is (no verified JWT where one is required).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{msg}")]
    Forbidden { code: &'static str, msg: String },
    /// The thing asked for does not exist.
    #[error("{msg}")]
    NotFound { code: &'static str, msg: String },
    /// The path exists but not with this method.
    #[error("method {method} is not allowed here; use {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    /// The deployment is misconfigured (environment or secret content).
    #[error("{0}")]
    Config(String),
    /// Credentials could not be read right now (Secrets Manager unreachable, denied, missing).
    #[error("{0}")]
    CredentialsUnavailable(String),
    /// 100ms refused the request because of the caller's input (its 4xx), with 100ms's message.
    #[error("100ms rejected the request: {msg}")]
    UpstreamRejected { status: u16, msg: String },
    /// 100ms failed, answered nonsense, kept refusing our credentials or rate-limiting us.
    #[error("{msg}")]
    UpstreamFailed { code: &'static str, msg: String },
    /// 100ms did not answer in time.
    #[error("100ms did not answer in time")]
    UpstreamTimeout,
    /// A bug or an impossible state on our side.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, msg: impl Into<String>) -> Self {
        Self::BadRequest { code, msg: msg.into() }
    }

    pub fn invalid_field(field: &str, why: impl std::fmt::Display) -> Self {
        Self::bad_request("invalid_field", format!("field '{field}' {why}"))
    }

    pub fn missing_field(field: &str) -> Self {
        Self::bad_request("missing_field", format!("field '{field}' is required"))
    }

    pub fn upstream(code: &'static str, msg: impl Into<String>) -> Self {
        Self::UpstreamFailed { code, msg: msg.into() }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::PayloadTooLarge { .. } => 413,
            Self::Unauthenticated(_) => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Config(_) | Self::Internal(_) => 500,
            Self::CredentialsUnavailable(_) => 503,
            Self::UpstreamRejected { status, .. } => {
                if *status == 404 {
                    404
                } else {
                    400
                }
            }
            Self::UpstreamFailed { .. } => 502,
            Self::UpstreamTimeout => 504,
        }
    }

    /// The stable snake_case code clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::UpstreamFailed { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Config(_) => "config",
            Self::CredentialsUnavailable(_) => "credentials_unavailable",
            Self::UpstreamRejected { status, .. } => {
                if *status == 404 {
                    "upstream_not_found"
                } else {
                    "upstream_rejected"
                }
            }
            Self::UpstreamTimeout => "upstream_timeout",
            Self::Internal(_) => "internal",
        }
    }

    /// The JSON envelope every non-2xx answer carries.
    pub fn body(&self) -> serde_json::Value {
        json!({ "success": false, "msg": self.to_string(), "error": self.code() })
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
            (ApiError::bad_request("invalid_json", "x"), 400, "invalid_json"),
            (ApiError::PayloadTooLarge { limit: 16384 }, 413, "payload_too_large"),
            (ApiError::Unauthenticated("x".into()), 401, "unauthenticated"),
            (ApiError::Forbidden { code: "role_not_allowed", msg: "x".into() }, 403, "role_not_allowed"),
            (ApiError::NotFound { code: "session_not_found", msg: "x".into() }, 404, "session_not_found"),
            (ApiError::MethodNotAllowed { method: "GET".into(), allowed: "POST".into() }, 405, "method_not_allowed"),
            (ApiError::Config("x".into()), 500, "config"),
            (ApiError::CredentialsUnavailable("x".into()), 503, "credentials_unavailable"),
            (ApiError::UpstreamRejected { status: 400, msg: "template not found".into() }, 400, "upstream_rejected"),
            (ApiError::UpstreamRejected { status: 422, msg: "x".into() }, 400, "upstream_rejected"),
            (ApiError::UpstreamRejected { status: 404, msg: "room not found".into() }, 404, "upstream_not_found"),
            (ApiError::upstream("upstream_error", "500"), 502, "upstream_error"),
            (ApiError::UpstreamTimeout, 504, "upstream_timeout"),
            (ApiError::Internal("x".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
            let body = err.body();
            assert_eq!(body["success"], false);
            assert_eq!(body["error"], code);
            assert_eq!(body["msg"], err.to_string());
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
}

//! RFC 9457 problem details: the one error shape of the HTTP API.
//!
//! Every refusal leaves as `application/problem+json` whose `type` ends in a stable code of
//! `spec/SCENARIOS.md` (`urn:tenure:problem:insufficient_funds`). The status follows from the
//! code alone ([`status_of`]), so the same refusal always answers the same status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenure_core::{ErrorCode, Refusal};
use tenure_engine::EngineError;
use utoipa::ToSchema;

/// The prefix of every problem `type`; the stable code follows it.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:tenure:problem:";

/// The media type of problem responses (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The suffix of the `type` of a failure that is ours, not the caller's (a 5xx). Not one of the
/// stable refusal codes: nothing the caller sent was wrong.
pub const INTERNAL_ERROR_CODE: &str = "internal_error";

/// The suffix of the `type` when the database is too busy right now (a 503; retry).
pub const UNAVAILABLE_CODE: &str = "unavailable";

/// A problem details object (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:tenure:problem:invalid_input",
    "title": "Invalid input",
    "status": 400,
    "detail": "amount must be positive, got -5.00"
}))]
pub struct Problem {
    /// `urn:tenure:problem:<code>`, the code being one of the stable error codes.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the code, the same for every problem of that code.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What exactly was wrong with this request, for people.
    pub detail: String,
    /// The request path the problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// The HTTP status a refusal code answers with.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict | ErrorCode::IdempotencyKeyReused => StatusCode::CONFLICT,
        ErrorCode::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
        ErrorCode::NotSupported => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::IdentityNotVerified
        | ErrorCode::PaygNotActivated
        | ErrorCode::QuotaExhausted
        | ErrorCode::AccountOverdue
        | ErrorCode::ServiceStopped
        | ErrorCode::NotRenewable
        | ErrorCode::InvalidTerm
        | ErrorCode::AutoRenewNotAllowed
        | ErrorCode::NotRefundable
        | ErrorCode::LateEvent
        | ErrorCode::ReservationExpired => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// "insufficient_funds" → "Insufficient funds".
fn title_of(code: &str) -> String {
    let words = code.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Problem {
    /// A refusal with a stable code.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Problem {
        Problem::raw(code.as_str(), status_of(code), detail)
    }

    fn raw(code: &str, status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{code}"),
            title: title_of(code),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
        }
    }

    /// `invalid_input` (400).
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(ErrorCode::InvalidInput, detail)
    }

    /// `not_found` (404).
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(ErrorCode::NotFound, detail)
    }

    /// `forbidden` (403).
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(ErrorCode::Forbidden, detail)
    }

    /// `unauthorized` (401, with `WWW-Authenticate: Bearer`).
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(ErrorCode::Unauthorized, detail)
    }

    /// A failure of ours (500). The detail is generic on purpose: the cause is logged, not shown.
    pub fn internal() -> Problem {
        Problem::raw(
            INTERNAL_ERROR_CODE,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle this request; it has been logged",
        )
    }

    /// The database is busy (503): nothing was written, the same request may be retried.
    pub fn unavailable() -> Problem {
        Problem::raw(
            UNAVAILABLE_CODE,
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is busy; nothing was written, retry the request",
        )
    }

    /// `invalid_input` with a status other than 400 (405 for a method a path does not allow).
    pub fn invalid_with_status(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem::raw(ErrorCode::InvalidInput.as_str(), status, detail)
    }

    /// The stable code at the end of `type`.
    pub fn code(&self) -> &str {
        self.type_uri
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .unwrap_or(&self.type_uri)
    }

    /// Names the request path the problem is about.
    pub fn at(mut self, instance: impl Into<String>) -> Problem {
        self.instance = Some(instance.into());
        self
    }
}

impl From<Refusal> for Problem {
    fn from(r: Refusal) -> Problem {
        Problem::new(r.code, r.detail)
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Problem {
        match e {
            EngineError::Refused(r) => r.into(),
            EngineError::Store(s) if s.is_retryable() => {
                tracing::warn!(error = %s, "store contention outlasted the retries");
                Problem::unavailable()
            }
            other => {
                tracing::error!(error = %other, "request failed inside the engine");
                Problem::internal()
            }
        }
    }
}

impl From<tenure_store::StoreError> for Problem {
    fn from(e: tenure_store::StoreError) -> Problem {
        EngineError::Store(e).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match serde_json::to_vec(&self) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a problem");
                b"{}".to_vec()
            }
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tenure\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_title() {
        for code in ErrorCode::ALL {
            let p = Problem::new(code, "x");
            assert_eq!(p.code(), code.as_str());
            assert_eq!(p.status, status_of(code).as_u16());
            assert!(!p.title.is_empty());
        }
        assert_eq!(
            Problem::new(ErrorCode::InsufficientFunds, "x").title,
            "Insufficient funds"
        );
        assert_eq!(Problem::new(ErrorCode::LateEvent, "x").status, 422);
    }
}

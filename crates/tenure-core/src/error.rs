//! Stable error codes (`spec/SCENARIOS.md`), one enum mapped one to one onto the scenario
//! `expect_error` values and the suffix of every HTTP problem `type`.

use serde::{Deserialize, Serialize};

/// A refusal code. Operating errors are values of this type; programmer errors are assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InsufficientFunds,
    IdentityNotVerified,
    PaygNotActivated,
    QuotaExhausted,
    AccountOverdue,
    ServiceStopped,
    NotRenewable,
    InvalidTerm,
    AutoRenewNotAllowed,
    NotRefundable,
    LateEvent,
    ReservationExpired,
    NotFound,
    InvalidInput,
    /// HTTP only: the same `Idempotency-Key` was sent with another request body.
    IdempotencyKeyReused,
    /// HTTP only: no or unknown API key.
    Unauthorized,
    /// HTTP only: the key is valid but lacks the permission (IAM-1).
    Forbidden,
    /// The named object exists already (an account id taken, for example).
    Conflict,
    /// A verb or capability that a later release brings.
    NotSupported,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::InsufficientFunds,
        ErrorCode::IdentityNotVerified,
        ErrorCode::PaygNotActivated,
        ErrorCode::QuotaExhausted,
        ErrorCode::AccountOverdue,
        ErrorCode::ServiceStopped,
        ErrorCode::NotRenewable,
        ErrorCode::InvalidTerm,
        ErrorCode::AutoRenewNotAllowed,
        ErrorCode::NotRefundable,
        ErrorCode::LateEvent,
        ErrorCode::ReservationExpired,
        ErrorCode::NotFound,
        ErrorCode::InvalidInput,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::NotSupported,
    ];

    /// The stable code string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InsufficientFunds => "insufficient_funds",
            ErrorCode::IdentityNotVerified => "identity_not_verified",
            ErrorCode::PaygNotActivated => "payg_not_activated",
            ErrorCode::QuotaExhausted => "quota_exhausted",
            ErrorCode::AccountOverdue => "account_overdue",
            ErrorCode::ServiceStopped => "service_stopped",
            ErrorCode::NotRenewable => "not_renewable",
            ErrorCode::InvalidTerm => "invalid_term",
            ErrorCode::AutoRenewNotAllowed => "auto_renew_not_allowed",
            ErrorCode::NotRefundable => "not_refundable",
            ErrorCode::LateEvent => "late_event",
            ErrorCode::ReservationExpired => "reservation_expired",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NotSupported => "not_supported",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused command: a stable code and a sentence for people. Nothing of a refused command is
/// applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub detail: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Refusal {
        Refusal {
            code,
            detail: detail.into(),
        }
    }
    pub fn invalid(detail: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::InvalidInput, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::NotFound, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }
}

use tenure_core::{ErrorCode, Refusal};
use tenure_store::StoreError;

/// Why a command did not happen: refused by a rule (a 4xx), or storage failed (a 5xx).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("corrupt stored state: {0}")]
    Corrupt(String),
}

impl EngineError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            EngineError::Refused(r) => Some(r.code),
            _ => None,
        }
    }
    pub(crate) fn refused(code: ErrorCode, detail: impl Into<String>) -> EngineError {
        EngineError::Refused(Refusal::new(code, detail))
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::Corrupt(e.to_string())
    }
}

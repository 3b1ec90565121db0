//! `Idempotency-Key` for the writes that do not go through the engine's own idempotent path
//! (API keys, clock advances), with the same semantics: a replay gets the stored answer, the same
//! key with another request is refused.

use crate::problem::Problem;
use axum::http::StatusCode;
use serde::Serialize;
use tenure_core::{ErrorCode, Timestamp};
use tenure_engine::Idem;
use tenure_store::{IdemRow, Store, Tx};

/// Whether a write ran now or was answered from a stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Fresh,
    /// The stored body of the first answer.
    Replay(String),
}

fn reused(idem: &Idem) -> Problem {
    Problem::new(
        ErrorCode::IdempotencyKeyReused,
        format!(
            "Idempotency-Key {:?} was already used with a different request",
            idem.key
        ),
    )
}

/// The stored answer for `idem`, in the transaction `tx`; 409 if the key came with another request.
fn replay(tx: &mut Tx, idem: Option<&Idem>) -> Result<Option<String>, Problem> {
    let Some(idem) = idem else { return Ok(None) };
    match tx.idem_get(&idem.scope, &idem.key)? {
        None => Ok(None),
        Some(row) if row.request_hash == idem.request_hash => Ok(Some(row.body)),
        Some(_) => Err(reused(idem)),
    }
}

fn row(idem: &Idem, status: StatusCode, body: String, now: Timestamp) -> IdemRow {
    IdemRow {
        scope: idem.scope.clone(),
        key: idem.key.clone(),
        request_hash: idem.request_hash.clone(),
        status: status.as_u16(),
        body,
        created_us: now.as_microsecond(),
    }
}

fn to_json<T: Serialize>(answer: &T) -> Result<String, Problem> {
    serde_json::to_string(answer).map_err(|e| {
        tracing::error!(error = %e, "could not serialise an answer");
        Problem::internal()
    })
}

/// Runs `effect` and stores `answer` under `idem` in one transaction, unless `idem` was seen:
/// then nothing runs and the stored answer comes back.
pub(crate) fn write_once<T: Serialize>(
    store: &Store,
    idem: Option<&Idem>,
    status: StatusCode,
    answer: &T,
    now: Timestamp,
    mut effect: impl FnMut(&mut Tx) -> Result<(), Problem>,
) -> Result<Outcome, Problem> {
    let body = to_json(answer)?;
    store.write(|tx| {
        if let Some(found) = replay(tx, idem)? {
            return Ok(Outcome::Replay(found));
        }
        effect(tx)?;
        if let Some(idem) = idem {
            tx.idem_put(&row(idem, status, body.clone(), now))?;
        }
        Ok(Outcome::Fresh)
    })
}

/// The stored answer for `idem`, if any (for writes that span several transactions).
pub(crate) fn lookup(store: &Store, idem: Option<&Idem>) -> Result<Option<String>, Problem> {
    store.read(|tx| replay(tx, idem))
}

/// Stores the answer of a write that spanned several transactions. A key stored meanwhile by a
/// racing request is left as it is.
pub(crate) fn remember<T: Serialize>(
    store: &Store,
    idem: Option<&Idem>,
    status: StatusCode,
    answer: &T,
    now: Timestamp,
) -> Result<(), Problem> {
    let Some(idem) = idem else { return Ok(()) };
    let body = to_json(answer)?;
    store.write(|tx| {
        if tx.idem_get(&idem.scope, &idem.key)?.is_none() {
            tx.idem_put(&row(idem, status, body.clone(), now))?;
        }
        Ok::<_, Problem>(())
    })
}

//! What every handler shares.

use crate::metrics::Metrics;
use axum::body::Bytes;
use std::sync::{Arc, Mutex};
use tenure_core::clock::SandboxClock;
use tenure_engine::Engine;

/// The router's state: one per server.
pub(crate) type AppState = Arc<App>;

pub(crate) struct App {
    pub engine: Arc<Engine>,
    /// [`tenure_store::hash_key`] of the operator key.
    pub admin_key_hash: String,
    pub sandbox: Option<Arc<SandboxClock>>,
    pub metrics: Metrics,
    /// Serialises sandbox advances.
    pub advance_lock: Mutex<()>,
    /// `GET /v1/catalog`, serialised once.
    pub catalog_json: Bytes,
    /// `GET /openapi.json`, serialised once.
    pub openapi_json: Bytes,
}

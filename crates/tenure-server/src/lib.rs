//! Tenure's HTTP API (axum): `/v1` accounts, top-ups, coupons, notices, events, journal, API keys,
//! plans, usage, reservations, bills, usage statistics, the entitlement check, subscriptions and
//! renewal management, the catalog and, in sandbox mode, the clock; `/healthz`, `/metrics`,
//! `/openapi.json`.
//!
//! *Boundary:* the HTTP API is a public contract. Requests are parsed here into the engine's
//! typed arguments (parse, don't validate); every refusal leaves as an RFC 9457 problem whose
//! `type` ends in a stable code of `spec/SCENARIOS.md`.
//! *Invariant:* this crate holds no billing rule. It authenticates, parses, calls the engine on
//! the blocking pool (the engine's storage calls block), and renders the answer.
//! *Invariant:* a refused request writes nothing: parsing and permission checks happen before
//! the engine is called, and the engine applies a command whole or not at all.

mod auth;
mod extract;
mod idem;
mod metrics;
mod openapi;
mod problem;
mod routes;
mod state;

pub use auth::{
    ADMIN_KEY_HASH_META, AdminKey, AdminKeyError, Caller, OPERATOR_KEY_ID, Permission, Scope,
    ensure_admin_key, hash_admin_key,
};
pub use extract::{BODY_BYTES_MAX, IDEMPOTENCY_KEY_LEN_MAX, request_hash};
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use problem::{PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX, Problem, status_of};
pub use routes::accounts::{
    AccountListParams, ApiKeyCreated, CreateApiKeyRequest, GrantCouponRequest, JournalParams,
    MessageListParams, OpenAccountRequest, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TopUpRequest,
    UpdateAccountRequest,
};
pub use routes::plans::{
    BuyPlanRequest, PlanAutoRenewRequest, PlanListParams, USAGE_ALERT_THRESHOLDS_MAX,
    UsageAlertRequest,
};
pub use routes::subscriptions::{
    CoTermDayInput, EXPIRES_WITHIN_DAYS, RenewBatchRequest, RenewBatchResponse, RenewItemRequest,
    RenewalListParams, RenewalQuoteParams, RenewalSettingsRequest, RenewalSettingsResponse,
    SUB_BATCH_ITEMS_MAX, SubscribeRequest, SubscriptionListParams, SubscriptionRef, UpgradeRequest,
};
pub use routes::system::{AdvanceRequest, CatalogView, ClockView, Health};
pub use routes::usage::{
    BillListParams, CommitRequest, DIMENSIONS_BYTES_MAX, PaygActivationRequest,
    RESERVATION_TIMEOUT_DEFAULT, ReserveRequest, USAGE_BATCH_EVENTS_MAX, USAGE_BODY_BYTES_MAX,
    UsageBatchRequest, UsageBatchResponse, UsageEventRequest, UsageStatsParams, UsageStatsResponse,
};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post, put};
use routes::{accounts, plans, subscriptions, system, usage};
use state::App;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tenure_core::clock::SandboxClock;
use tenure_engine::Engine;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The sandbox clock, in `tenure serve --sandbox`: adds `GET /v1/clock` and
    /// `POST /v1/clock/advance`. Without it those routes answer 404.
    pub sandbox: Option<Arc<SandboxClock>>,
    /// The hash of the operator key ([`AdminKey::hash`] from [`ensure_admin_key`], or
    /// [`hash_admin_key`] of a known key). The plaintext is never kept (IAM-5).
    pub admin_key_hash: String,
    /// Where request and due-action counts go; keep a clone to count the scheduler's runs.
    pub metrics: Metrics,
}

impl ServerConfig {
    /// A configuration without sandbox, with fresh metrics.
    pub fn new(admin_key_hash: impl Into<String>) -> ServerConfig {
        ServerConfig {
            sandbox: None,
            admin_key_hash: admin_key_hash.into(),
            metrics: Metrics::new(),
        }
    }

    /// The same, with the sandbox clock.
    pub fn with_sandbox(mut self, clock: Arc<SandboxClock>) -> ServerConfig {
        self.sandbox = Some(clock);
        self
    }
}

/// The whole HTTP API as an axum router.
pub fn router(engine: Arc<Engine>, config: ServerConfig) -> Router {
    let catalog_json = catalog_json(&engine);
    let metrics = config.metrics.clone();
    let sandbox = config.sandbox.is_some();
    let app = Arc::new(App {
        engine,
        admin_key_hash: config.admin_key_hash,
        sandbox: config.sandbox,
        metrics: config.metrics,
        advance_lock: Mutex::new(()),
        catalog_json,
        openapi_json: Bytes::from(openapi::document()),
    });
    let mut routes = Router::new()
        .route(
            "/v1/accounts",
            post(accounts::open_account).get(accounts::list_accounts),
        )
        .route(
            "/v1/accounts/{id}",
            get(accounts::get_account).patch(accounts::update_account),
        )
        .route(
            "/v1/accounts/{id}/identity-verification",
            post(accounts::verify_identity),
        )
        .route("/v1/accounts/{id}/top-ups", post(accounts::top_up))
        .route(
            "/v1/accounts/{id}/coupons",
            post(accounts::grant_coupon).get(accounts::list_coupons),
        )
        .route("/v1/accounts/{id}/notices", get(accounts::list_notices))
        .route("/v1/accounts/{id}/events", get(accounts::list_events))
        .route("/v1/accounts/{id}/journal", get(accounts::journal))
        .route("/v1/accounts/{id}/api-keys", post(accounts::create_api_key))
        .route(
            "/v1/accounts/{id}/plans",
            post(plans::buy_plan).get(plans::list_plans),
        )
        .route("/v1/accounts/{id}/plans/{plan}", get(plans::get_plan))
        .route(
            "/v1/accounts/{id}/plans/{plan}/refund",
            post(plans::refund_plan),
        )
        .route(
            "/v1/accounts/{id}/plans/{plan}/renewal",
            post(plans::renew_plan),
        )
        .route(
            "/v1/accounts/{id}/usage-alerts/{product}",
            put(plans::set_usage_alert),
        )
        .route(
            "/v1/accounts/{id}/plan-auto-renew/{product}",
            put(plans::set_plan_auto_renew),
        )
        .route(
            "/v1/accounts/{id}/payg-activations",
            post(usage::activate_payg),
        )
        .route("/v1/accounts/{id}/bills", get(usage::list_bills))
        .route("/v1/accounts/{id}/usage-stats", get(usage::usage_stats))
        .route("/v1/accounts/{id}/reservations", post(usage::reserve))
        .route(
            "/v1/accounts/{id}/reservations/{reservation}/commit",
            post(usage::commit),
        )
        .route(
            "/v1/accounts/{id}/reservations/{reservation}/release",
            post(usage::release),
        )
        .route("/v1/accounts/{id}/services/{product}", get(usage::service))
        .route(
            "/v1/accounts/{id}/subscriptions",
            post(subscriptions::subscribe).get(subscriptions::list_subscriptions),
        )
        .route(
            "/v1/accounts/{id}/subscriptions/{sub}",
            get(subscriptions::get_subscription),
        )
        .route(
            "/v1/accounts/{id}/subscriptions/{sub}/renewal-quote",
            get(subscriptions::renewal_quote),
        )
        .route(
            "/v1/accounts/{id}/subscriptions/{sub}/unsubscribe",
            post(subscriptions::unsubscribe),
        )
        .route(
            "/v1/accounts/{id}/subscriptions/{sub}/continue-trial",
            post(subscriptions::continue_trial),
        )
        .route(
            "/v1/accounts/{id}/subscriptions/{sub}/upgrade",
            post(subscriptions::upgrade),
        )
        .route(
            "/v1/renewals",
            post(subscriptions::renew).get(subscriptions::list_renewals),
        )
        .route("/v1/renewals/settings", post(subscriptions::set_renewal))
        .route("/v1/usage", post(usage::ingest))
        .route("/v1/catalog", get(system::catalog))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi));
    if sandbox {
        routes = routes
            .route("/v1/clock", get(system::clock))
            .route("/v1/clock/advance", post(system::advance));
    }
    routes
        .fallback(system::no_route)
        .method_not_allowed_fallback(system::wrong_method)
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
}

fn catalog_json(engine: &Engine) -> Bytes {
    let view = CatalogView {
        version: engine.catalog_version(),
        catalog: serde_json::to_value(engine.catalog()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not serialise the catalog");
            serde_json::Value::Null
        }),
    };
    Bytes::from(serde_json::to_vec(&view).unwrap_or_default())
}

/// Serves `router` on `listener` until `shutdown` completes; requests in flight then finish
/// before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Runs a blocking engine or store call on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Problem> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "a blocking task failed");
            Err(Problem::internal())
        }
    }
}

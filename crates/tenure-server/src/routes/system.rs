//! The catalog, the sandbox clock, health, metrics, the OpenAPI document and the fallbacks.

use crate::auth::Caller;
use crate::extract::{IdemKey, JsonBody};
use crate::metrics::METRICS_CONTENT_TYPE;
use crate::problem::Problem;
use crate::state::AppState;
use crate::{blocking, idem};
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tenure_core::TimeZone;
use tenure_core::clock::Clock;
use tenure_core::span::{Span, parse_instant};
use tenure_engine::{AdvanceReport, Scheduler};
use utoipa::ToSchema;

/// The owner name the sandbox advance claims due actions under.
pub const SANDBOX_SCHEDULER_OWNER: &str = "tenure-server-sandbox";

/// The loaded catalog (CAT-1) and its version number in the store.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogView {
    /// Increases each time a different catalog text is loaded.
    pub version: i64,
    /// The catalog as loaded: products, meters, plan specs, editions, prices, policies.
    #[schema(value_type = Object)]
    pub catalog: serde_json::Value,
}

/// The sandbox clock's instant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    /// RFC 3339, UTC.
    #[schema(example = "2026-03-01T01:00:00Z")]
    pub now: String,
}

/// Moves the sandbox clock forward, running every due action on the way (TIME-3). Give `by` or
/// `to`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// A positive span ("1h", "2d", "1 month"; calendar units in UTC).
    #[schema(example = "1h")]
    pub by: Option<String>,
    /// An RFC 3339 instant not before now.
    #[schema(example = "2026-03-02T00:00:00+08:00")]
    pub to: Option<String>,
}

/// Liveness and store reachability.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The loaded catalog and its version (any valid key).
#[utoipa::path(get, path = "/v1/catalog", tag = "catalog",
    responses((status = 200, description = "The catalog", body = CatalogView)))]
pub(crate) async fn catalog(State(app): State<AppState>, _caller: Caller) -> Response {
    // Serialised once at start: the catalog does not change while the server runs.
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        app.catalog_json.clone(),
    )
        .into_response()
}

/// The sandbox clock (sandbox only; any valid key).
#[utoipa::path(get, path = "/v1/clock", tag = "sandbox",
    responses((status = 200, description = "Now, on the sandbox clock", body = ClockView)))]
pub(crate) async fn clock(
    State(app): State<AppState>,
    _caller: Caller,
) -> Result<Json<ClockView>, Problem> {
    let sandbox = app
        .sandbox
        .as_ref()
        .ok_or_else(|| Problem::not_found("no sandbox clock"))?;
    Ok(Json(ClockView {
        now: sandbox.now().to_string(),
    }))
}

/// Advance the sandbox clock, running due actions in time order (TIME-3; sandbox, operator only).
#[utoipa::path(post, path = "/v1/clock/advance", tag = "sandbox", request_body = AdvanceRequest,
    responses((status = 200, description = "What the advance did", body = AdvanceReport)))]
pub(crate) async fn advance(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    body: JsonBody<AdvanceRequest>,
) -> Result<Response, Problem> {
    caller.require_operator()?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let state = app.clone();
    let answer = blocking(move || {
        let sandbox = state
            .sandbox
            .as_ref()
            .ok_or_else(|| Problem::not_found("no sandbox clock"))?;
        // One advance at a time: two would claim each other's actions.
        let _one = state.advance_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(stored) = idem::lookup(state.engine.store(), idem.as_ref())? {
            return parse_stored(&stored);
        }
        let now = sandbox.now();
        let to = match (&body.value.by, &body.value.to) {
            (Some(_), Some(_)) => return Err(Problem::invalid("give by or to, not both")),
            (None, None) => {
                return Err(Problem::invalid(
                    "give by (a span such as \"1h\") or to (an RFC 3339 instant)",
                ));
            }
            (Some(by), None) => {
                let span =
                    Span::parse(by).map_err(|r| Problem::invalid(format!("by: {}", r.detail)))?;
                if span.count <= 0 {
                    return Err(Problem::invalid(format!(
                        "by must be a positive span, got {by:?}"
                    )));
                }
                span.add_to(now, &TimeZone::UTC)?
            }
            (None, Some(to)) => {
                parse_instant(to).map_err(|r| Problem::invalid(format!("to: {}", r.detail)))?
            }
        };
        let report =
            Scheduler::new(&state.engine, SANDBOX_SCHEDULER_OWNER).advance_to(sandbox, to)?;
        state.metrics.add_due_actions_run(report.actions_run);
        idem::remember(
            state.engine.store(),
            idem.as_ref(),
            StatusCode::OK,
            &report,
            sandbox.now(),
        )?;
        serde_json::to_value(&report).map_err(|e| {
            tracing::error!(error = %e, "could not serialise an advance report");
            Problem::internal()
        })
    })
    .await?;
    Ok(Json(answer).into_response())
}

fn parse_stored(body: &str) -> Result<serde_json::Value, Problem> {
    serde_json::from_str(body).map_err(|e| {
        tracing::error!(error = %e, "stored answer does not parse");
        Problem::internal()
    })
}

/// Health: 200 once the store answers a trivial read (no key needed).
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "Up", body = Health),
              (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn healthz(State(app): State<AppState>) -> Result<Json<Health>, Problem> {
    let engine = app.engine.clone();
    blocking(move || {
        engine.store().read(|tx| tx.meta_get("health"))?;
        Ok(())
    })
    .await
    .map_err(|p| {
        if p.status >= 500 {
            Problem::unavailable()
        } else {
            p
        }
    })?;
    Ok(Json(Health {
        status: "ok".to_string(),
    }))
}

/// Prometheus metrics in the OpenMetrics text format (no key needed).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        )],
        app.metrics.encode(),
    )
        .into_response()
}

/// This document (no key needed).
#[utoipa::path(get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        app.openapi_json.clone(),
    )
        .into_response()
}

/// Any path no route serves.
pub(crate) async fn no_route(OriginalUri(uri): OriginalUri) -> Problem {
    Problem::not_found(format!("no route {}", uri.path())).at(uri.path().to_string())
}

/// A path that exists, with a method it does not take.
pub(crate) async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> Problem {
    Problem::invalid_with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
    .at(uri.path().to_string())
}

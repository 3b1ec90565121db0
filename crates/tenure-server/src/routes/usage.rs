//! Metered usage and pay-as-you-go: `POST /v1/usage` (USE-1, USE-2), reservations (PLAN-10),
//! activation (PAYG-1), bills (PAYG-2, PAYG-3), usage statistics (PAYG-4) and the entitlement
//! check (OVD-2).
//!
//! *Decision:* a usage batch is parsed per event. Only what makes the whole body unreadable (not
//! JSON, no `events` list, too many events, too many bytes) is a 400 for the request; anything
//! wrong with one event (a malformed timestamp, a fractional quantity, an account the key may
//! not see) is that event's `refused` result, and the others proceed (USE-2).

use super::accounts::{account_location, created, field_error, page_limit, seq_cursor};
use crate::auth::{Caller, Permission};
use crate::extract::{AccountItemPath, AccountPath, IdemKey, JsonBody, Params};
use crate::problem::Problem;
use crate::state::AppState;
use crate::{blocking, idem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenure_core::ids::ReservationId;
use tenure_core::span::parse_instant;
use tenure_core::usage::{EVENT_ID_LEN_MAX, QUANTITY_MAX, UsageEvent};
use tenure_core::{ErrorCode, Refusal, Span};
use tenure_engine::IncomingEvent;
use tenure_engine::views::{
    AccountView, BillView, Page, ReservationView, ServiceView, UsageDayView, UsageResultView,
};
use utoipa::{IntoParams, ToSchema};

/// The most events one `POST /v1/usage` may carry: the engine's limit of one batch.
pub use tenure_engine::USAGE_BATCH_EVENTS_MAX;
/// The largest `POST /v1/usage` body: 10 MiB (every other body is limited to 1 MiB).
pub const USAGE_BODY_BYTES_MAX: usize = 10 * 1024 * 1024;
/// The longest `dimensions` object of one event, as JSON text.
pub const DIMENSIONS_BYTES_MAX: usize = 4 * 1024;
/// How long a reservation holds when `timeout` is not given (PLAN-10).
pub const RESERVATION_TIMEOUT_DEFAULT: Span = Span::new(5, tenure_core::SpanUnit::Minute);

// ---- request and response bodies ----------------------------------------------------------------

/// A batch of usage events (USE-2), each applied on its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBatchRequest {
    /// 1–10,000 events.
    #[schema(value_type = Vec<UsageEventRequest>)]
    pub events: Vec<Value>,
}

/// One usage event (USE-1). An account key may send only its own account's events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageEventRequest {
    #[schema(example = "acme")]
    pub account: String,
    /// Unique per account: the same (account, id) again is a duplicate and changes nothing.
    #[schema(example = "evt-0001")]
    pub id: String,
    #[schema(example = "sms.cn")]
    pub meter: String,
    /// A JSON integer, 0 to 2^53.
    #[schema(example = 1200)]
    pub quantity: u64,
    /// When it happened (RFC 3339); more than the late window ago is refused (`late_event`).
    #[schema(example = "2026-03-01T09:30:00+08:00")]
    pub timestamp: String,
    /// Free attributes kept with the event.
    #[schema(value_type = Option<Object>)]
    pub dimensions: Option<Value>,
}

/// One result per event, in the order sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageBatchResponse {
    pub results: Vec<UsageResultView>,
}

/// Activates pay-as-you-go for a product (PAYG-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaygActivationRequest {
    #[schema(example = "msg")]
    pub product: String,
}

/// Reserves plan quota before use (PLAN-10).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    #[schema(example = "msg.send")]
    pub meter: String,
    #[schema(example = 100)]
    pub quantity: u64,
    /// How long it holds before it lapses; default "5m".
    #[schema(example = "5m")]
    pub timeout: Option<String>,
}

/// Commits a reservation's actual quantity (PLAN-10).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    #[schema(example = 80)]
    pub quantity: u64,
}

/// Cursor of the bills.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BillListParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// The days of usage statistics, in the account's zone, both ends included.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageStatsParams {
    /// First day (YYYY-MM-DD); from the first day with usage when absent.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); to the last day with usage when absent.
    pub to: Option<String>,
}

/// Usage statistics per day, product and meter (PAYG-4).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageStatsResponse {
    pub items: Vec<UsageDayView>,
}

// ---- POST /v1/usage -----------------------------------------------------------------------------

/// A string field of one event, as far as it can be read (for its refused result).
fn text_of<'v>(event: &'v Value, key: &str) -> &'v str {
    event.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Parses one event of a batch; a refusal is that event's alone.
fn parse_event(caller: &Caller, event: &Value) -> Result<IncomingEvent, Refusal> {
    let Value::Object(fields) = event else {
        return Err(Refusal::invalid("an event is a JSON object"));
    };
    // IAM-3: another account's event is answered as if that account did not exist, before
    // anything else about the event is looked at.
    let account = text_of(event, "account");
    if fields.contains_key("account") && !caller.sees(account) {
        return Err(Refusal::not_found(format!("no account {account:?}")));
    }
    let wire: UsageEventRequest = serde_json::from_value(event.clone())
        .map_err(|e| Refusal::invalid(format!("invalid event: {e}")))?;
    if wire.id.is_empty() || wire.id.len() > EVENT_ID_LEN_MAX {
        return Err(Refusal::invalid(format!(
            "id must be 1–{EVENT_ID_LEN_MAX} characters"
        )));
    }
    if wire.quantity > QUANTITY_MAX {
        return Err(Refusal::invalid(format!(
            "quantity {} is beyond 2^53",
            wire.quantity
        )));
    }
    let at = parse_instant(&wire.timestamp)
        .map_err(|r| Refusal::invalid(format!("timestamp: {}", r.detail)))?;
    let dimensions = match wire.dimensions {
        None | Some(Value::Null) => None,
        Some(d @ Value::Object(_)) if d.to_string().len() <= DIMENSIONS_BYTES_MAX => Some(d),
        Some(Value::Object(_)) => {
            return Err(Refusal::invalid(format!(
                "dimensions are larger than {DIMENSIONS_BYTES_MAX} bytes"
            )));
        }
        Some(_) => return Err(Refusal::invalid("dimensions must be an object")),
    };
    Ok(IncomingEvent {
        account: wire.account,
        event: UsageEvent {
            id: wire.id,
            meter: wire.meter,
            quantity: wire.quantity,
            at,
            dimensions,
        },
    })
}

/// Report usage: a batch of up to 10,000 events, each applied, answered as a duplicate, or
/// refused on its own (USE-1, USE-2; `usage:write`). An account key may send only its own
/// account's events; others are refused `not_found`.
#[utoipa::path(post, path = "/v1/usage", tag = "usage", request_body = UsageBatchRequest,
    responses((status = 200, description = "One result per event, in the order sent", body = UsageBatchResponse)))]
pub(crate) async fn ingest(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    body: JsonBody<UsageBatchRequest, USAGE_BODY_BYTES_MAX>,
) -> Result<Json<UsageBatchResponse>, Problem> {
    caller.require(Permission::UsageWrite)?;
    let events = body.value.events;
    if events.is_empty() || events.len() > USAGE_BATCH_EVENTS_MAX {
        return Err(Problem::invalid(format!(
            "events must hold 1–{USAGE_BATCH_EVENTS_MAX} events, got {}",
            events.len()
        )));
    }
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let (good, slots) = parse_batch(&caller, &events);
    drop(events);
    let engine = app.engine.clone();
    let answer = blocking(move || {
        if let Some(stored) = idem::lookup(engine.store(), idem.as_ref())? {
            return serde_json::from_str(&stored).map_err(|e| {
                tracing::error!(error = %e, "stored usage answer does not parse");
                Problem::internal()
            });
        }
        let now = engine.now();
        let applied = engine.ingest_usage(good)?;
        let answer = UsageBatchResponse {
            results: fill(slots, applied)?,
        };
        idem::remember(engine.store(), idem.as_ref(), StatusCode::OK, &answer, now)?;
        Ok(answer)
    })
    .await?;
    Ok(Json(answer))
}

/// The events to send to the engine, in order, and a slot per event of the batch holding its
/// result when it was refused here.
fn parse_batch(
    caller: &Caller,
    events: &[Value],
) -> (Vec<IncomingEvent>, Vec<Option<UsageResultView>>) {
    let mut good = Vec::new();
    let mut slots = Vec::with_capacity(events.len());
    for raw in events {
        match parse_event(caller, raw) {
            Ok(event) => {
                good.push(event);
                slots.push(None);
            }
            Err(r) => slots.push(Some(UsageResultView::refused(
                text_of(raw, "id"),
                text_of(raw, "account"),
                &r,
            ))),
        }
    }
    (good, slots)
}

/// The results in input order: the engine's, in order, in the empty slots.
fn fill(
    slots: Vec<Option<UsageResultView>>,
    applied: Vec<UsageResultView>,
) -> Result<Vec<UsageResultView>, Problem> {
    let mut applied = applied.into_iter();
    slots
        .into_iter()
        .map(|slot| {
            slot.or_else(|| applied.next()).ok_or_else(|| {
                tracing::error!("the engine answered fewer usage results than events");
                Problem::internal()
            })
        })
        .collect()
}

// ---- account routes -----------------------------------------------------------------------------

/// Activate pay-as-you-go for a product (PAYG-1; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/payg-activations", tag = "usage",
    params(("id" = String, Path)), request_body = PaygActivationRequest,
    responses((status = 200, description = "The account", body = AccountView)))]
pub(crate) async fn activate_payg(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<PaygActivationRequest>,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.activate_payg(&id, &body.value.product, idem.as_ref())?))
            .await?,
    ))
}

/// The account's pay-as-you-go bills, oldest first (PAYG-2, PAYG-3; `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/bills", tag = "usage",
    params(("id" = String, Path), BillListParams),
    responses((status = 200, description = "A page of bills", body = Page<BillView>)))]
pub(crate) async fn list_bills(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<BillListParams>,
) -> Result<Json<Page<BillView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let limit = page_limit(q.limit)?;
    let after = seq_cursor(q.after.as_deref())?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.bills(&id, after, limit)?)).await?,
    ))
}

/// Usage per day, product and meter: from plans, pay-as-you-go, refused (PAYG-4;
/// `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/usage-stats", tag = "usage",
    params(("id" = String, Path), UsageStatsParams),
    responses((status = 200, description = "The days, oldest first", body = UsageStatsResponse)))]
pub(crate) async fn usage_stats(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<UsageStatsParams>,
) -> Result<Json<UsageStatsResponse>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let date = |field: &'static str, text: Option<&str>| {
        text.map(|t| {
            t.parse::<jiff::civil::Date>().map_err(|_| {
                Problem::invalid(format!("{field}: {t:?} is not a date such as 2026-03-01"))
            })
        })
        .transpose()
    };
    let from = date("from", q.from.as_deref())?;
    let to = date("to", q.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Problem::invalid(format!("from {f} is after to {t}")));
    }
    let engine = app.engine.clone();
    let items = blocking(move || Ok(engine.usage_stats(&id, from, to)?)).await?;
    Ok(Json(UsageStatsResponse { items }))
}

/// Reserve plan quota before use; it lapses after its timeout unless committed or released
/// (PLAN-10; `usage:write`).
#[utoipa::path(post, path = "/v1/accounts/{id}/reservations", tag = "usage",
    params(("id" = String, Path)), request_body = ReserveRequest,
    responses((status = 201, description = "Reserved", body = ReservationView)))]
pub(crate) async fn reserve(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<ReserveRequest>,
) -> Result<Response, Problem> {
    caller.reach(&id, Permission::UsageWrite)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let req = body.value;
    let timeout = match &req.timeout {
        Some(t) => Span::parse(t).map_err(field_error("timeout"))?,
        None => RESERVATION_TIMEOUT_DEFAULT,
    };
    if req.quantity > QUANTITY_MAX {
        return Err(Problem::invalid(format!(
            "quantity {} is beyond 2^53",
            req.quantity
        )));
    }
    let engine = app.engine.clone();
    let account = id.clone();
    let view = blocking(move || {
        Ok(engine.reserve(&account, &req.meter, req.quantity, timeout, idem.as_ref())?)
    })
    .await?;
    let location = format!("{}/reservations/{}", account_location(id.as_str()), view.id);
    Ok(created(location, view))
}

/// Commit the quantity actually used; the rest of the reservation returns to the plans
/// (PLAN-10; `usage:write`).
#[utoipa::path(post, path = "/v1/accounts/{id}/reservations/{reservation}/commit", tag = "usage",
    params(("id" = String, Path), ("reservation" = String, Path)), request_body = CommitRequest,
    responses((status = 200, description = "The usage it became", body = UsageResultView)))]
pub(crate) async fn commit(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, reservation): AccountItemPath,
    body: JsonBody<CommitRequest>,
) -> Result<Json<UsageResultView>, Problem> {
    caller.reach(&id, Permission::UsageWrite)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let reservation = ReservationId::parse(&reservation)?;
    let quantity = body.value.quantity;
    let engine = app.engine.clone();
    let result = blocking(move || {
        Ok(engine.commit_reservation(&id, reservation, quantity, idem.as_ref())?)
    })
    .await?;
    refusal_of(&result)?;
    Ok(Json(result))
}

/// A refused commit is the request's problem, not a 200.
fn refusal_of(result: &UsageResultView) -> Result<(), Problem> {
    if result.status != "refused" {
        return Ok(());
    }
    let code = result
        .code
        .as_deref()
        .and_then(ErrorCode::parse)
        .unwrap_or(ErrorCode::InvalidInput);
    Err(Problem::new(
        code,
        result.detail.clone().unwrap_or_default(),
    ))
}

/// Release a reservation unused (PLAN-10; `usage:write`).
#[utoipa::path(post, path = "/v1/accounts/{id}/reservations/{reservation}/release", tag = "usage",
    params(("id" = String, Path), ("reservation" = String, Path)),
    responses((status = 200, description = "Released", body = ReservationView)))]
pub(crate) async fn release(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, reservation): AccountItemPath,
) -> Result<Json<ReservationView>, Problem> {
    caller.reach(&id, Permission::UsageWrite)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let reservation = ReservationId::parse(&reservation)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.release_reservation(&id, reservation, idem.as_ref())?)).await?,
    ))
}

/// The entitlement check: may the account use the product now, and how much plan quota is
/// left (OVD-2; `billing:read` or `usage:write`).
#[utoipa::path(get, path = "/v1/accounts/{id}/services/{product}", tag = "usage",
    params(("id" = String, Path), ("product" = String, Path)),
    responses((status = 200, description = "The product's service state", body = ServiceView)))]
pub(crate) async fn service(
    State(app): State<AppState>,
    caller: Caller,
    AccountItemPath(id, product): AccountItemPath,
) -> Result<Json<ServiceView>, Problem> {
    caller.reach_any(&id, &[Permission::BillingRead, Permission::UsageWrite])?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.service(&id, &product)?)).await?,
    ))
}

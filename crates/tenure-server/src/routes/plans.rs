//! `/v1/accounts/{id}/plans…`: prepaid resource plans (PLAN-1…13), their usage alerts (PLAN-7)
//! and repurchase (PLAN-9).

use super::accounts::{account_location, created, field_error, id_cursor, page_by_id, page_limit};
use crate::auth::{Caller, Permission};
use crate::blocking;
use crate::extract::{AccountItemPath, AccountPath, IdemKey, JsonBody, Params};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use tenure_core::ids::PlanId;
use tenure_core::span::parse_instant;
use tenure_engine::views::{AccountView, Page, PlanView};
use utoipa::{IntoParams, ToSchema};

/// The most thresholds one usage-alert setting may list (each kind).
pub const USAGE_ALERT_THRESHOLDS_MAX: usize = 20;

/// Buys a plan (PLAN-2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyPlanRequest {
    /// A plan spec of the catalog.
    #[schema(example = "sms-cn-1k")]
    pub spec: String,
    /// A later start (RFC 3339); effective at once when absent.
    #[schema(example = "2026-04-01T00:00:00+08:00")]
    pub start_at: Option<String>,
}

/// Usage alert thresholds of a product's plans (PLAN-7); replaces the previous setting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageAlertRequest {
    /// Percentages of the total quota used, 1–100, at which `plan.usage_alert` fires.
    #[serde(default)]
    #[schema(example = json!([50, 80]))]
    pub percent_used: Vec<u32>,
    /// Remaining quantities at which `plan.usage_alert` fires.
    #[serde(default)]
    #[schema(example = json!([100]))]
    pub remaining: Vec<u64>,
}

/// Plan repurchase of a product (PLAN-9).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAutoRenewRequest {
    /// The spec to buy; required when enabled (with `threshold`).
    #[schema(example = "sms-cn-1k")]
    pub spec: Option<String>,
    /// Buy when the product's total remaining quota falls to this or below; required when enabled.
    #[schema(example = 100)]
    pub threshold: Option<u64>,
    /// Default true. Switched off without `spec` and `threshold`, the saved ones stay.
    pub enabled: Option<bool>,
}

/// Cursor of the plans.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanListParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

fn plan_location(account: &str, plan: &str) -> String {
    format!("{}/plans/{plan}", account_location(account))
}

/// Buy a plan, paid at once per ACC-4 (PLAN-2; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/plans", tag = "plans",
    params(("id" = String, Path)), request_body = BuyPlanRequest,
    responses((status = 201, description = "Bought", body = PlanView)))]
pub(crate) async fn buy_plan(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<BuyPlanRequest>,
) -> Result<Response, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let start_at = body
        .value
        .start_at
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(field_error("start_at"))?;
    let engine = app.engine.clone();
    let account = id.clone();
    let plan = blocking(move || {
        Ok(engine.buy_plan(&account, &body.value.spec, start_at, idem.as_ref())?)
    })
    .await?;
    Ok(created(plan_location(id.as_str(), &plan.id), plan))
}

/// The account's plans in purchase order, expired and refunded ones included (PLAN-6;
/// `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/plans", tag = "plans",
    params(("id" = String, Path), PlanListParams),
    responses((status = 200, description = "A page of plans", body = Page<PlanView>)))]
pub(crate) async fn list_plans(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<PlanListParams>,
) -> Result<Json<Page<PlanView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let limit = page_limit(q.limit)?;
    let after = id_cursor(q.after.as_deref(), PlanId::parse)?;
    let engine = app.engine.clone();
    let plans = blocking(move || Ok(engine.plans(&id)?)).await?;
    Ok(Json(page_by_id(
        plans,
        |v| PlanId::parse(&v.id).ok(),
        after,
        limit,
    )))
}

/// One plan with its quota counters (`billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/plans/{plan}", tag = "plans",
    params(("id" = String, Path), ("plan" = String, Path)),
    responses((status = 200, description = "The plan", body = PlanView)))]
pub(crate) async fn get_plan(
    State(app): State<AppState>,
    caller: Caller,
    AccountItemPath(id, plan): AccountItemPath,
) -> Result<Json<PlanView>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let plan = PlanId::parse(&plan)?;
    let engine = app.engine.clone();
    Ok(Json(blocking(move || Ok(engine.plan(&id, plan)?)).await?))
}

/// Refund an unused, unexpired plan whose spec allows it: cash back, coupon not returned
/// (PLAN-12; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/plans/{plan}/refund", tag = "plans",
    params(("id" = String, Path), ("plan" = String, Path)),
    responses((status = 200, description = "The plan, refunded", body = PlanView)))]
pub(crate) async fn refund_plan(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, plan): AccountItemPath,
) -> Result<Json<PlanView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let plan = PlanId::parse(&plan)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.refund_plan(&id, plan, idem.as_ref())?)).await?,
    ))
}

/// Renew a plan: buys a successor of the same spec valid from the plan's expiry, before it or
/// within the grace and retention window after it (PLAN-13; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/plans/{plan}/renewal", tag = "plans",
    params(("id" = String, Path), ("plan" = String, Path)),
    responses((status = 201, description = "The successor plan", body = PlanView)))]
pub(crate) async fn renew_plan(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, plan): AccountItemPath,
) -> Result<Response, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let plan = PlanId::parse(&plan)?;
    let engine = app.engine.clone();
    let account = id.clone();
    let successor = blocking(move || Ok(engine.renew_plan(&account, plan, idem.as_ref())?)).await?;
    Ok(created(
        plan_location(id.as_str(), &successor.id),
        successor,
    ))
}

/// Set the usage alert thresholds of the account's plans of a product; they cover plans bought
/// later too (PLAN-7; `billing:order`).
#[utoipa::path(put, path = "/v1/accounts/{id}/usage-alerts/{product}", tag = "plans",
    params(("id" = String, Path), ("product" = String, Path)), request_body = UsageAlertRequest,
    responses((status = 200, description = "The account", body = AccountView)))]
pub(crate) async fn set_usage_alert(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, product): AccountItemPath,
    body: JsonBody<UsageAlertRequest>,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let req = body.value;
    if req.percent_used.len() > USAGE_ALERT_THRESHOLDS_MAX
        || req.remaining.len() > USAGE_ALERT_THRESHOLDS_MAX
    {
        return Err(Problem::invalid(format!(
            "at most {USAGE_ALERT_THRESHOLDS_MAX} thresholds of each kind"
        )));
    }
    let engine = app.engine.clone();
    let view = blocking(move || {
        Ok(engine.set_usage_alert(
            &id,
            &product,
            req.percent_used,
            req.remaining,
            idem.as_ref(),
        )?)
    })
    .await?;
    Ok(Json(view))
}

/// Switch plan repurchase of a product on or off (PLAN-9; `billing:order`).
#[utoipa::path(put, path = "/v1/accounts/{id}/plan-auto-renew/{product}", tag = "plans",
    params(("id" = String, Path), ("product" = String, Path)), request_body = PlanAutoRenewRequest,
    responses((status = 200, description = "The account", body = AccountView)))]
pub(crate) async fn set_plan_auto_renew(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, product): AccountItemPath,
    body: JsonBody<PlanAutoRenewRequest>,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let req = body.value;
    let enabled = req.enabled.unwrap_or(true);
    let setting = match (req.spec, req.threshold) {
        (Some(spec), Some(threshold)) => Some((spec, threshold)),
        // Off, without saying what was on: the saved spec and threshold stay.
        _ if !enabled => None,
        _ => {
            return Err(Problem::invalid(
                "give spec and threshold to switch repurchase on",
            ));
        }
    };
    let engine = app.engine.clone();
    let view = blocking(move || {
        Ok(match setting {
            Some((spec, threshold)) => engine.set_plan_auto_renew(
                &id,
                &product,
                &spec,
                threshold,
                enabled,
                idem.as_ref(),
            )?,
            None => engine.disable_plan_auto_renew(&id, &product, idem.as_ref())?,
        })
    })
    .await?;
    Ok(Json(view))
}

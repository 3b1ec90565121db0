//! `/v1/accounts/{id}/subscriptions…`: subscription instances (SUB-1…10); `/v1/renewals…`:
//! renewal management across accounts (SUB-3, SUB-8).
//!
//! *Decision:* a bulk body (`POST /v1/renewals`, `POST /v1/renewals/settings`) is refused whole
//! (400) only for what makes the request as a whole unusable: not JSON or not of the documented
//! shape, no items or more than [`SUB_BATCH_ITEMS_MAX`], an instance named twice, or (settings)
//! a `mode`/`period` that does not parse, since it is every item's. Anything wrong with one item
//! (an account the key may not see, an id that names nothing, a malformed term, a common renewal
//! day outside 1–28/`last`) is that item's `refused` result with its code, and the others
//! proceed (SUB-3: "each with its own reason while the rest of the batch proceeds").
//! *Decision:* an account-scoped key sees only its own account in `GET /v1/renewals`; naming
//! another with `account` is 404, as everywhere (IAM-3).

use super::accounts::{account_location, created, field_error, id_cursor, page_by_id, page_limit};
use crate::auth::{Caller, Permission, Scope};
use crate::blocking;
use crate::extract::{AccountItemPath, AccountPath, IdemKey, JsonBody, Params};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::span::parse_instant;
use tenure_core::subscription::{CoTermDay, RenewalMode};
use tenure_core::{Refusal, Span};
use tenure_engine::views::{
    ItemResultView, Page, RenewResultView, RenewalQuoteView, SubscriptionView, UnsubscribeView,
};
use tenure_engine::{RenewItem, RenewalQuery};
use utoipa::{IntoParams, ToSchema};

/// The most items one bulk renewal or settings change may carry: the engine's limit (SUB-3).
pub use tenure_engine::SUB_BATCH_ITEMS_MAX;

/// The "expires within" windows of the renewal console, in days (SUB-8).
pub const EXPIRES_WITHIN_DAYS: [u32; 3] = [7, 15, 30];

/// The renewal mode of a subscription when the request names none.
const RENEWAL_DEFAULT: &str = "manual";

// ---- request and response bodies ----------------------------------------------------------------

/// Subscribes to an edition (SUB-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    #[schema(example = "phone")]
    pub product: String,
    #[schema(example = "phone-std")]
    pub edition: String,
    /// One of the edition's terms ("1 month", "1 year"); absent for a free edition or a trial.
    #[schema(example = "1 month")]
    pub term: Option<String>,
    /// `manual` (default), `auto`, `payg_after_expiry` or `canceled` (SUB-2).
    #[schema(example = "auto")]
    pub renewal: Option<String>,
    /// The period auto-renewal extends by; required with `renewal = "auto"`.
    #[schema(example = "1 month")]
    pub auto_period: Option<String>,
}

/// Upgrades a trial or free instance to a paid edition of its product (SUB-9).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    #[schema(example = "iot-enterprise")]
    pub edition: String,
    /// One of the new edition's terms; it starts now.
    #[schema(example = "1 month")]
    pub term: String,
}

/// A common renewal day (SUB-5): a day of the month 1–28, or `"last"`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CoTermDayInput {
    #[schema(example = 1)]
    Day(i64),
    #[schema(example = "last")]
    Word(String),
}

impl CoTermDayInput {
    fn parse(&self) -> Result<CoTermDay, Refusal> {
        match self {
            CoTermDayInput::Day(n) => CoTermDay::from_number(*n),
            CoTermDayInput::Word(w) => CoTermDay::parse(w),
        }
    }
}

/// One instance to renew (SUB-3).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewItemRequest {
    #[schema(example = "acme")]
    pub account: String,
    #[schema(example = "s1")]
    pub subscription: String,
    /// One of the edition's terms; the new term starts at the current expiry.
    #[schema(example = "1 month")]
    pub term: String,
    /// End on the next such day on or after the normal end; extra days pro rata (SUB-5).
    pub co_term_day: Option<CoTermDayInput>,
}

/// Renews up to 200 instances, each on its own (SUB-3, SUB-8).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewBatchRequest {
    /// 1–200 items, each instance once.
    pub items: Vec<RenewItemRequest>,
}

/// One result per item, in the order sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenewBatchResponse {
    pub results: Vec<RenewResultView>,
}

/// One instance of a bulk settings change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRef {
    #[schema(example = "acme")]
    pub account: String,
    #[schema(example = "s1")]
    pub subscription: String,
}

/// Sets the renewal mode of up to 200 instances (SUB-2, SUB-8): enable auto-renewal with a
/// period, modify the period, set to manual, cancel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalSettingsRequest {
    /// 1–200 items, each instance once.
    pub items: Vec<SubscriptionRef>,
    /// `manual`, `auto`, `payg_after_expiry` or `canceled`.
    #[schema(example = "auto")]
    pub mode: String,
    /// Required with `auto`: one of the edition's auto-renew periods.
    #[schema(example = "1 month")]
    pub period: Option<String>,
}

/// One result per item, in the order sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenewalSettingsResponse {
    pub results: Vec<ItemResultView>,
}

/// Cursor of an account's subscriptions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionListParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// What a renewal would cost (SUB-3, SUB-5).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RenewalQuoteParams {
    /// One of the edition's terms, e.g. `1 month`.
    pub term: String,
    /// 1–28 or `last`.
    pub co_term_day: Option<String>,
}

/// Filters, order and cursor of renewal management (SUB-8). Sorted by expiry, then account,
/// then id; instances without an expiry last.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RenewalListParams {
    /// The operator only: one account's instances. An account key sees its own account.
    pub account: Option<String>,
    /// The tab: `manual`, `auto`, `payg_after_expiry` or `canceled`.
    pub tab: Option<String>,
    pub product: Option<String>,
    /// `active`, `trial`, `frozen`, `grace`, `stopped`, `retention`, `released` or `payg`.
    pub status: Option<String>,
    /// Expiring within 7, 15 or 30 days from now.
    pub expires_within: Option<u32>,
    /// Expiring at or after this instant (RFC 3339); not with `expires_within`.
    pub from: Option<String>,
    /// Expiring before this instant (RFC 3339); not with `expires_within`.
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

// ---- parsing at the boundary --------------------------------------------------------------------

fn subscription_location(account: &str, sub: &str) -> String {
    format!("{}/subscriptions/{sub}", account_location(account))
}

fn span_of(field: &'static str, text: &str) -> Result<Span, Problem> {
    Span::parse(text).map_err(field_error(field))
}

fn optional_span(field: &'static str, text: Option<&str>) -> Result<Option<Span>, Problem> {
    text.map(|t| span_of(field, t)).transpose()
}

/// A renewal mode and, for `auto`, its period (SUB-2).
fn renewal_mode(mode: &str, period: Option<&str>) -> Result<RenewalMode, Problem> {
    let period = optional_span("period", period)?;
    Ok(RenewalMode::parse(mode, period)?)
}

/// The 400 of a bulk body with no items, too many, or one instance twice.
fn check_batch<'a>(refs: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> Result<(), Problem> {
    let n = refs.len();
    if n == 0 || n > SUB_BATCH_ITEMS_MAX {
        return Err(Problem::invalid(format!(
            "items must hold 1–{SUB_BATCH_ITEMS_MAX} items, got {n}"
        )));
    }
    let mut seen = HashSet::with_capacity(n);
    for (account, sub) in refs {
        if !seen.insert((account, sub)) {
            return Err(Problem::invalid(format!(
                "items name {account}/{sub} more than once"
            )));
        }
    }
    Ok(())
}

/// The instance one item names, as far as the caller may see it. IAM-3: another account's
/// item is answered as if that account did not exist, before anything else about it.
fn item_ref(
    caller: &Caller,
    account: &str,
    sub: &str,
) -> Result<(AccountId, SubscriptionId), Refusal> {
    if !caller.sees(account) {
        return Err(Refusal::not_found(format!("no account {account:?}")));
    }
    let account = AccountId::parse(account)
        .map_err(|_| Refusal::not_found(format!("no account {account:?}")))?;
    Ok((account, SubscriptionId::parse(sub)?))
}

fn renew_item(caller: &Caller, item: &RenewItemRequest) -> Result<RenewItem, Refusal> {
    let (account, subscription) = item_ref(caller, &item.account, &item.subscription)?;
    let term =
        Span::parse(&item.term).map_err(|r| Refusal::invalid(format!("term: {}", r.detail)))?;
    let co_term_day = item
        .co_term_day
        .as_ref()
        .map(CoTermDayInput::parse)
        .transpose()?;
    Ok(RenewItem {
        account,
        subscription,
        term,
        co_term_day,
    })
}

/// The results in input order: those refused here in their slots, the engine's, in order, in
/// the others.
fn fill<T>(slots: Vec<Option<T>>, answered: Vec<T>) -> Result<Vec<T>, Problem> {
    let mut answered = answered.into_iter();
    slots
        .into_iter()
        .map(|slot| {
            slot.or_else(|| answered.next()).ok_or_else(|| {
                tracing::error!("the engine answered fewer results than items");
                Problem::internal()
            })
        })
        .collect()
}

// ---- account routes -----------------------------------------------------------------------------

/// Subscribe to an edition: paid per ACC-4 for its term, or a free instance, or a trial
/// (SUB-1, SUB-2; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/subscriptions", tag = "subscriptions",
    params(("id" = String, Path)), request_body = SubscribeRequest,
    responses((status = 201, description = "Subscribed", body = SubscriptionView)))]
pub(crate) async fn subscribe(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<SubscribeRequest>,
) -> Result<Response, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let req = body.value;
    let term = optional_span("term", req.term.as_deref())?;
    let mode = {
        let period = optional_span("auto_period", req.auto_period.as_deref())?;
        let mode = req.renewal.as_deref().unwrap_or(RENEWAL_DEFAULT);
        RenewalMode::parse(mode, period)?
    };
    let engine = app.engine.clone();
    let account = id.clone();
    let view = blocking(move || {
        Ok(engine.subscribe(
            &account,
            &req.product,
            &req.edition,
            term,
            mode,
            idem.as_ref(),
        )?)
    })
    .await?;
    Ok(created(subscription_location(id.as_str(), &view.id), view))
}

/// The account's subscription instances in subscription order, released ones included
/// (`billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/subscriptions", tag = "subscriptions",
    params(("id" = String, Path), SubscriptionListParams),
    responses((status = 200, description = "A page of instances", body = Page<SubscriptionView>)))]
pub(crate) async fn list_subscriptions(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<SubscriptionListParams>,
) -> Result<Json<Page<SubscriptionView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let limit = page_limit(q.limit)?;
    let after = id_cursor(q.after.as_deref(), SubscriptionId::parse)?;
    let engine = app.engine.clone();
    let subs = blocking(move || Ok(engine.subscriptions(&id)?)).await?;
    Ok(Json(page_by_id(
        subs,
        |v| SubscriptionId::parse(&v.id).ok(),
        after,
        limit,
    )))
}

/// One instance (`billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/subscriptions/{sub}", tag = "subscriptions",
    params(("id" = String, Path), ("sub" = String, Path)),
    responses((status = 200, description = "The instance", body = SubscriptionView)))]
pub(crate) async fn get_subscription(
    State(app): State<AppState>,
    caller: Caller,
    AccountItemPath(id, sub): AccountItemPath,
) -> Result<Json<SubscriptionView>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let sub = SubscriptionId::parse(&sub)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.subscription(&id, sub)?)).await?,
    ))
}

/// What renewing for `term` (to a common renewal day) would cost now and where it would end;
/// changes nothing (SUB-3, SUB-5; `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/subscriptions/{sub}/renewal-quote",
    tag = "subscriptions",
    params(("id" = String, Path), ("sub" = String, Path), RenewalQuoteParams),
    responses((status = 200, description = "The quote", body = RenewalQuoteView)))]
pub(crate) async fn renewal_quote(
    State(app): State<AppState>,
    caller: Caller,
    AccountItemPath(id, sub): AccountItemPath,
    Params(q): Params<RenewalQuoteParams>,
) -> Result<Json<RenewalQuoteView>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let sub = SubscriptionId::parse(&sub)?;
    let term = span_of("term", &q.term)?;
    let co_term_day = q.co_term_day.as_deref().map(CoTermDay::parse).transpose()?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.renewal_quote(&id, sub, term, co_term_day)?)).await?,
    ))
}

/// Unsubscribe: released at once; the cash paid for the current term less its used share (by
/// whole hours) and the handling fee is refunded (SUB-10; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/subscriptions/{sub}/unsubscribe",
    tag = "subscriptions", params(("id" = String, Path), ("sub" = String, Path)),
    responses((status = 200, description = "The refund and the released instance", body = UnsubscribeView)))]
pub(crate) async fn unsubscribe(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, sub): AccountItemPath,
) -> Result<Json<UnsubscribeView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let sub = SubscriptionId::parse(&sub)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.unsubscribe(&id, sub, idem.as_ref())?)).await?,
    ))
}

/// Continue an idle-frozen trial or free instance; its idle clock restarts (SUB-9;
/// `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/subscriptions/{sub}/continue-trial",
    tag = "subscriptions", params(("id" = String, Path), ("sub" = String, Path)),
    responses((status = 200, description = "The instance", body = SubscriptionView)))]
pub(crate) async fn continue_trial(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, sub): AccountItemPath,
) -> Result<Json<SubscriptionView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let sub = SubscriptionId::parse(&sub)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.continue_trial(&id, sub, idem.as_ref())?)).await?,
    ))
}

/// Upgrade a trial or free instance to a paid edition of its product for a term starting now,
/// paid per ACC-4 (SUB-9; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/subscriptions/{sub}/upgrade",
    tag = "subscriptions", params(("id" = String, Path), ("sub" = String, Path)),
    request_body = UpgradeRequest,
    responses((status = 200, description = "The upgraded instance", body = SubscriptionView)))]
pub(crate) async fn upgrade(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountItemPath(id, sub): AccountItemPath,
    body: JsonBody<UpgradeRequest>,
) -> Result<Json<SubscriptionView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let sub = SubscriptionId::parse(&sub)?;
    let req = body.value;
    let term = span_of("term", &req.term)?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.upgrade(&id, sub, &req.edition, term, idem.as_ref())?)).await?,
    ))
}

// ---- renewal management -------------------------------------------------------------------------

/// Renew up to 200 instances, each for its term from its current expiry (optionally to a common
/// renewal day), each paid on its own: one result per item, `renewed` with its quote or
/// `refused` with its own code (released or converted: `not_renewable`; overdue:
/// `account_overdue`…) while the rest proceed (SUB-3, SUB-5, SUB-8; `billing:order`). An
/// account key may renew only its own account's instances; others are refused `not_found`.
#[utoipa::path(post, path = "/v1/renewals", tag = "subscriptions",
    request_body = RenewBatchRequest,
    responses((status = 200, description = "One result per item, in the order sent", body = RenewBatchResponse)))]
pub(crate) async fn renew(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    body: JsonBody<RenewBatchRequest>,
) -> Result<Json<RenewBatchResponse>, Problem> {
    caller.require(Permission::BillingOrder)?;
    let items = body.value.items;
    check_batch(
        items
            .iter()
            .map(|i| (i.account.as_str(), i.subscription.as_str())),
    )?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let mut good = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for item in &items {
        match renew_item(&caller, item) {
            Ok(parsed) => {
                good.push(parsed);
                slots.push(None);
            }
            Err(r) => slots.push(Some(RenewResultView::refused(
                &item.account,
                &item.subscription,
                &r,
            ))),
        }
    }
    let engine = app.engine.clone();
    let answered = blocking(move || {
        if good.is_empty() {
            return Ok(Vec::new());
        }
        Ok(engine.renew(good, idem.as_ref())?)
    })
    .await?;
    Ok(Json(RenewBatchResponse {
        results: fill(slots, answered)?,
    }))
}

/// Set the renewal mode of up to 200 instances: enable auto-renewal with a period, modify the
/// period, set to manual, cancel. One result per item, `updated` with the instance or `refused`
/// with its own code (SUB-2, SUB-8; `billing:order`).
#[utoipa::path(post, path = "/v1/renewals/settings", tag = "subscriptions",
    request_body = RenewalSettingsRequest,
    responses((status = 200, description = "One result per item, in the order sent", body = RenewalSettingsResponse)))]
pub(crate) async fn set_renewal(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    body: JsonBody<RenewalSettingsRequest>,
) -> Result<Json<RenewalSettingsResponse>, Problem> {
    caller.require(Permission::BillingOrder)?;
    let req = body.value;
    check_batch(
        req.items
            .iter()
            .map(|i| (i.account.as_str(), i.subscription.as_str())),
    )?;
    let mode = renewal_mode(&req.mode, req.period.as_deref())?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let mut good = Vec::with_capacity(req.items.len());
    let mut slots = Vec::with_capacity(req.items.len());
    for item in &req.items {
        match item_ref(&caller, &item.account, &item.subscription) {
            Ok(parsed) => {
                good.push(parsed);
                slots.push(None);
            }
            Err(r) => slots.push(Some(ItemResultView::refused(
                &item.account,
                &item.subscription,
                &r,
            ))),
        }
    }
    let engine = app.engine.clone();
    let answered = blocking(move || {
        if good.is_empty() {
            return Ok(Vec::new());
        }
        Ok(engine.set_renewal(good, mode, idem.as_ref())?)
    })
    .await?;
    Ok(Json(RenewalSettingsResponse {
        results: fill(slots, answered)?,
    }))
}

/// Renewal management: instances by tab, product, status, "expires within 7 / 15 / 30 days" or
/// a range, sorted by expiry and paged (SUB-8; `billing:read`). The operator sees every
/// account; an account key its own.
#[utoipa::path(get, path = "/v1/renewals", tag = "subscriptions", params(RenewalListParams),
    responses((status = 200, description = "A page of instances, soonest expiry first", body = Page<SubscriptionView>)))]
pub(crate) async fn list_renewals(
    State(app): State<AppState>,
    caller: Caller,
    Params(q): Params<RenewalListParams>,
) -> Result<Json<Page<SubscriptionView>>, Problem> {
    caller.require(Permission::BillingRead)?;
    let asked = q.account.as_deref().map(AccountId::parse).transpose()?;
    let account = match (&caller.scope, asked) {
        (Scope::Operator, asked) => asked,
        (Scope::Account { account, .. }, None) => Some(account.clone()),
        (Scope::Account { .. }, Some(asked)) => {
            caller.reach(&asked, Permission::BillingRead)?;
            Some(asked)
        }
    };
    if let Some(days) = q.expires_within
        && !EXPIRES_WITHIN_DAYS.contains(&days)
    {
        return Err(Problem::invalid(format!(
            "expires_within must be 7, 15 or 30 (days), got {days}"
        )));
    }
    let instant = |field: &'static str, text: Option<&str>| {
        text.map(|t| parse_instant(t).map_err(field_error(field)))
            .transpose()
    };
    let query = RenewalQuery {
        account,
        tab: q.tab,
        product: q.product,
        status: q.status,
        expires_within_days: q.expires_within,
        expires_from: instant("from", q.from.as_deref())?,
        expires_to: instant("to", q.to.as_deref())?,
        after: q.after,
        limit: page_limit(q.limit)?,
    };
    let engine = app.engine.clone();
    Ok(Json(blocking(move || Ok(engine.renewals(query)?)).await?))
}

//! `/v1/accounts…`: accounts, identity, top-ups, coupons, notices, events, journal, API keys.

use crate::auth::{Caller, KEY_ID_PREFIX, Permission, SECRET_PREFIX, encode_permissions};
use crate::extract::{AccountPath, IdemKey, JsonBody, MoneyText, Params, present};
use crate::problem::Problem;
use crate::state::AppState;
use crate::{blocking, idem};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tenure_core::account::OpenAccount;
use tenure_core::ids::AccountId;
use tenure_core::message::{Audience, MessageKind};
use tenure_core::money::parse_decimal;
use tenure_core::span::{format_in_zone, parse_instant, parse_zone};
use tenure_core::{Currency, Decimal, Span};
use tenure_engine::views::{AccountView, CouponView, JournalView, MessageView, Page};
use tenure_engine::{CouponExpiry, Engine};
use tenure_store::ApiKeyRow;
use utoipa::{IntoParams, ToSchema};

/// Items per page when `limit` is not given.
pub const PAGE_LIMIT_DEFAULT: u32 = 50;
/// The most items one page may ask for (the engine's own limit).
pub const PAGE_LIMIT_MAX: u32 = 500;
/// Hex digits of random in an API key's public id.
pub const KEY_ID_HEX_LEN: usize = 16;
/// The zone of an account opened without one.
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

// ---- request and response bodies ----------------------------------------------------------------

/// Opens an account (ACC-1, TIME-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountRequest {
    /// 1–64 letters, digits, `_`, `.`, `:` or `-`, starting with a letter or digit.
    #[schema(example = "acme")]
    pub id: String,
    /// ISO 4217 code; must be the catalog's currency (the default).
    #[schema(example = "CNY")]
    pub currency: Option<String>,
    /// IANA time zone; default `Asia/Shanghai`.
    #[schema(example = "Asia/Shanghai")]
    pub zone: Option<String>,
    /// Identity already verified (ACC-6); default false.
    pub verified: Option<bool>,
    /// Credit line, ≥ 0; default "0.00".
    #[schema(value_type = Option<String>, example = "0.00")]
    pub credit_line: Option<MoneyText>,
    /// Low-balance alert threshold (ACC-7), ≥ 0; none by default.
    #[schema(value_type = Option<String>, example = "10.00")]
    pub low_balance_threshold: Option<MoneyText>,
}

/// Changes an account's settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountRequest {
    /// The low-balance alert threshold (ACC-7), or null to switch the alert off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = true, example = "10.00")]
    pub low_balance_threshold: Option<Option<MoneyText>>,
}

/// Adds cash (ACC-5).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    /// Positive, at most the currency's minor unit of decimals.
    #[schema(value_type = String, example = "100.00")]
    pub amount: MoneyText,
    /// If given, must be the account's currency.
    #[schema(example = "CNY")]
    pub currency: Option<String>,
}

/// Grants a coupon.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantCouponRequest {
    /// Positive, at most the currency's minor unit of decimals.
    #[schema(value_type = String, example = "20.00")]
    pub amount: MoneyText,
    /// Product ids it pays for; all products when absent.
    pub products: Option<Vec<String>>,
    /// Lapses this long after the grant ("30d", "1 month"); not with `expires_at`.
    #[schema(example = "30d")]
    pub expires_in: Option<String>,
    /// Lapses at this RFC 3339 instant; not with `expires_in`.
    #[schema(example = "2026-12-31T00:00:00+08:00")]
    pub expires_at: Option<String>,
}

/// Creates an API key for the account (IAM-1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// At least one.
    pub permissions: Vec<Permission>,
}

/// A new API key. `key` is the secret, shown in this answer only (IAM-5): a replay of the same
/// request with its `Idempotency-Key` returns the same key id without it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    pub id: String,
    /// The secret to send as `Authorization: Bearer <key>`. Absent on a replay.
    pub key: Option<String>,
    pub account: String,
    pub permissions: Vec<Permission>,
    pub created_at: String,
}

/// `after` and `limit` of a list of accounts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// Filters and cursor of notices and events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageListParams {
    /// A stable kind such as `account.low_balance`.
    pub kind: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// Cursor of the journal.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JournalParams {
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

// ---- parsing at the boundary --------------------------------------------------------------------

pub(crate) fn field_error(field: &str) -> impl Fn(tenure_core::Refusal) -> Problem + '_ {
    move |r| Problem::invalid(format!("{field}: {}", r.detail))
}

/// An amount ≥ 0 (credit line, threshold).
fn non_negative(currency: Currency, text: &MoneyText, field: &str) -> Result<Decimal, Problem> {
    let d = parse_decimal(&text.0).map_err(field_error(field))?;
    if d < Decimal::ZERO {
        return Err(Problem::invalid(format!(
            "{field} must not be negative, got {}",
            text.0
        )));
    }
    currency.check_amount(d).map_err(field_error(field))
}

/// An amount > 0 (top-up, coupon).
fn positive(currency: Currency, text: &MoneyText, field: &str) -> Result<Decimal, Problem> {
    currency.parse_amount(&text.0).map_err(field_error(field))
}

/// The currency of every account: the catalog's (ACC-1; `AccountState::open` refuses any other).
/// Taken from the catalog rather than read from the account, so that parsing needs no read and
/// the engine's idempotency check comes before any "no such account".
fn account_currency(engine: &Engine) -> Currency {
    engine.catalog().currency
}

pub(crate) fn page_limit(limit: Option<u32>) -> Result<usize, Problem> {
    match limit {
        None => Ok(PAGE_LIMIT_DEFAULT as usize),
        Some(n) if (1..=PAGE_LIMIT_MAX).contains(&n) => Ok(n as usize),
        Some(n) => Err(Problem::invalid(format!(
            "limit must be 1–{PAGE_LIMIT_MAX}, got {n}"
        ))),
    }
}

/// Parses the `after` cursor of a list of per-account sequence ids ("p3", "s7").
pub(crate) fn id_cursor<Id>(
    after: Option<&str>,
    parse: impl Fn(&str) -> Result<Id, tenure_core::Refusal>,
) -> Result<Option<Id>, Problem> {
    after
        .map(|a| {
            parse(a).map_err(|_| {
                Problem::invalid(format!(
                    "after {a:?} is not a cursor: pass the `next` of the previous page"
                ))
            })
        })
        .transpose()
}

/// The items whose sequence id comes after the cursor, `limit` of them, in sequence order, and
/// the cursor of the next page.
pub(crate) fn page_by_id<T, Id: Ord + Copy + std::fmt::Display>(
    items: Vec<T>,
    id_of: impl Fn(&T) -> Option<Id>,
    after: Option<Id>,
    limit: usize,
) -> tenure_engine::views::Page<T> {
    let mut numbered: Vec<(Id, T)> = items
        .into_iter()
        .filter_map(|item| id_of(&item).map(|id| (id, item)))
        .filter(|(id, _)| after.is_none_or(|a| *id > a))
        .collect();
    numbered.sort_by_key(|(id, _)| *id);
    let more = numbered.len() > limit;
    numbered.truncate(limit);
    let next = if more {
        numbered.last().map(|(id, _)| id.to_string())
    } else {
        None
    };
    tenure_engine::views::Page {
        items: numbered.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

pub(crate) fn seq_cursor(after: Option<&str>) -> Result<Option<i64>, Problem> {
    after
        .map(|a| {
            a.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                Problem::invalid(format!(
                    "after {a:?} is not a cursor: pass the `next` of the previous page"
                ))
            })
        })
        .transpose()
}

fn open_account_of(
    body: OpenAccountRequest,
    catalog_currency: Currency,
) -> Result<OpenAccount, Problem> {
    let id = AccountId::parse(&body.id)?;
    let currency = match body.currency.as_deref() {
        Some(code) => Currency::parse(code)?,
        None => catalog_currency,
    };
    let zone = body.zone.unwrap_or_else(|| DEFAULT_ZONE.to_string());
    parse_zone(&zone)?;
    let credit_line = match &body.credit_line {
        Some(t) => non_negative(currency, t, "credit_line")?,
        None => Decimal::ZERO,
    };
    let low_balance_threshold = body
        .low_balance_threshold
        .as_ref()
        .map(|t| non_negative(currency, t, "low_balance_threshold"))
        .transpose()?;
    Ok(OpenAccount {
        id,
        currency,
        zone,
        verified: body.verified.unwrap_or(false),
        credit_line,
        low_balance_threshold,
    })
}

fn coupon_expiry(body: &GrantCouponRequest) -> Result<CouponExpiry, Problem> {
    match (&body.expires_in, &body.expires_at) {
        (Some(_), Some(_)) => Err(Problem::invalid("give expires_in or expires_at, not both")),
        (Some(span), None) => Ok(CouponExpiry::In(
            Span::parse(span).map_err(field_error("expires_in"))?,
        )),
        (None, Some(at)) => Ok(CouponExpiry::At(
            parse_instant(at).map_err(field_error("expires_at"))?,
        )),
        (None, None) => Ok(CouponExpiry::Never),
    }
}

pub(crate) fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

pub(crate) fn account_location(id: &str) -> String {
    format!("/v1/accounts/{id}")
}

// ---- handlers -----------------------------------------------------------------------------------

/// Open an account (operator only).
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = OpenAccountRequest,
    responses((status = 201, description = "Opened", body = AccountView)))]
pub(crate) async fn open_account(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    body: JsonBody<OpenAccountRequest>,
) -> Result<Response, Problem> {
    caller.require_operator()?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let engine = app.engine.clone();
    let view = blocking(move || {
        let req = open_account_of(body.value, engine.catalog().currency)?;
        Ok(engine.open_account(req, idem.as_ref())?)
    })
    .await?;
    Ok(created(account_location(&view.id), view))
}

/// List accounts by id (operator only).
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(AccountListParams),
    responses((status = 200, description = "A page of accounts", body = Page<AccountView>)))]
pub(crate) async fn list_accounts(
    State(app): State<AppState>,
    caller: Caller,
    Params(q): Params<AccountListParams>,
) -> Result<Json<Page<AccountView>>, Problem> {
    caller.require_operator()?;
    let limit = page_limit(q.limit)?;
    let engine = app.engine.clone();
    let page = blocking(move || Ok(engine.list_accounts(q.after.as_deref(), limit)?)).await?;
    Ok(Json(page))
}

/// Read an account with its balances (`billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, description = "The account", body = AccountView)))]
pub(crate) async fn get_account(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let engine = app.engine.clone();
    Ok(Json(blocking(move || Ok(engine.account(&id)?)).await?))
}

/// Change the low-balance threshold (`billing:order`).
#[utoipa::path(patch, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    request_body = UpdateAccountRequest,
    responses((status = 200, description = "The account", body = AccountView)))]
pub(crate) async fn update_account(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<UpdateAccountRequest>,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let Some(threshold) = body.value.low_balance_threshold else {
        return Err(Problem::invalid(
            "nothing to change: give low_balance_threshold (an amount, or null to switch the alert off)",
        ));
    };
    let engine = app.engine.clone();
    let view = blocking(move || {
        let currency = account_currency(&engine);
        let threshold = threshold
            .as_ref()
            .map(|t| non_negative(currency, t, "low_balance_threshold"))
            .transpose()?;
        Ok(engine.set_low_balance_threshold(&id, threshold, idem.as_ref())?)
    })
    .await?;
    Ok(Json(view))
}

/// Mark the account's identity verified (ACC-6; operator only).
#[utoipa::path(post, path = "/v1/accounts/{id}/identity-verification", tag = "accounts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The account, verified", body = AccountView)))]
pub(crate) async fn verify_identity(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
) -> Result<Json<AccountView>, Problem> {
    caller.reach_as_operator(&id)?;
    let idem = idem_key.resolve(&caller.key_id, b"");
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.verify_identity(&id, idem.as_ref())?)).await?,
    ))
}

/// Add cash; settles unpaid bills at once (ACC-5; `billing:order`).
#[utoipa::path(post, path = "/v1/accounts/{id}/top-ups", tag = "accounts",
    params(("id" = String, Path)), request_body = TopUpRequest,
    responses((status = 200, description = "The account after the top-up", body = AccountView)))]
pub(crate) async fn top_up(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<TopUpRequest>,
) -> Result<Json<AccountView>, Problem> {
    caller.reach(&id, Permission::BillingOrder)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let engine = app.engine.clone();
    let view = blocking(move || {
        let currency = account_currency(&engine);
        if let Some(code) = &body.value.currency {
            let given = Currency::parse(code)?;
            if given != currency {
                return Err(Problem::invalid(format!(
                    "currency {given} differs from the account's {currency}"
                )));
            }
        }
        let amount = positive(currency, &body.value.amount, "amount")?;
        Ok(engine.top_up(&id, amount, idem.as_ref())?)
    })
    .await?;
    Ok(Json(view))
}

/// Grant a coupon (operator only).
#[utoipa::path(post, path = "/v1/accounts/{id}/coupons", tag = "coupons",
    params(("id" = String, Path)), request_body = GrantCouponRequest,
    responses((status = 201, description = "Granted", body = CouponView)))]
pub(crate) async fn grant_coupon(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<GrantCouponRequest>,
) -> Result<Response, Problem> {
    caller.reach_as_operator(&id)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    let engine = app.engine.clone();
    let location = format!("{}/coupons", account_location(id.as_str()));
    let view = blocking(move || {
        let req = body.value;
        let expiry = coupon_expiry(&req)?;
        let amount = positive(account_currency(&engine), &req.amount, "amount")?;
        Ok(engine.grant_coupon(&id, amount, req.products, expiry, idem.as_ref())?)
    })
    .await?;
    Ok(created(location, view))
}

/// The account's coupons, oldest first (`billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/coupons", tag = "coupons",
    params(("id" = String, Path)),
    responses((status = 200, description = "Every coupon, on one page", body = Page<CouponView>)))]
pub(crate) async fn list_coupons(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
) -> Result<Json<Page<CouponView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let engine = app.engine.clone();
    let items = blocking(move || Ok(engine.coupons(&id)?)).await?;
    Ok(Json(Page { items, next: None }))
}

async fn messages(
    app: AppState,
    caller: Caller,
    id: AccountId,
    audience: Audience,
    q: MessageListParams,
) -> Result<Json<Page<MessageView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let limit = page_limit(q.limit)?;
    let after = seq_cursor(q.after.as_deref())?;
    if let Some(kind) = &q.kind
        && MessageKind::parse(kind).is_none()
    {
        return Err(Problem::invalid(format!(
            "unknown kind {kind:?} (stable kinds such as \"account.low_balance\")"
        )));
    }
    let engine = app.engine.clone();
    let page =
        blocking(move || Ok(engine.messages(&id, audience, q.kind.as_deref(), after, limit)?))
            .await?;
    Ok(Json(page))
}

/// The account's in-console notices, oldest first (NTF-1; `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/notices", tag = "messages",
    params(("id" = String, Path), MessageListParams),
    responses((status = 200, description = "A page of notices", body = Page<MessageView>)))]
pub(crate) async fn list_notices(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<MessageListParams>,
) -> Result<Json<Page<MessageView>>, Problem> {
    messages(app, caller, id, Audience::Notice, q).await
}

/// The provider events about the account, oldest first (NTF-1; `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/events", tag = "messages",
    params(("id" = String, Path), MessageListParams),
    responses((status = 200, description = "A page of events", body = Page<MessageView>)))]
pub(crate) async fn list_events(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<MessageListParams>,
) -> Result<Json<Page<MessageView>>, Problem> {
    messages(app, caller, id, Audience::Event, q).await
}

/// The account's journal, oldest first (ACC-2; `billing:read`).
#[utoipa::path(get, path = "/v1/accounts/{id}/journal", tag = "accounts",
    params(("id" = String, Path), JournalParams),
    responses((status = 200, description = "A page of journal transactions", body = Page<JournalView>)))]
pub(crate) async fn journal(
    State(app): State<AppState>,
    caller: Caller,
    AccountPath(id): AccountPath,
    Params(q): Params<JournalParams>,
) -> Result<Json<Page<JournalView>>, Problem> {
    caller.reach(&id, Permission::BillingRead)?;
    let limit = page_limit(q.limit)?;
    let after = seq_cursor(q.after.as_deref())?;
    let engine = app.engine.clone();
    Ok(Json(
        blocking(move || Ok(engine.journal(&id, after, limit)?)).await?,
    ))
}

/// Create an API key for the account (IAM-1, IAM-5; operator, or the account's `admin` key).
#[utoipa::path(post, path = "/v1/accounts/{id}/api-keys", tag = "api-keys",
    params(("id" = String, Path)), request_body = CreateApiKeyRequest,
    responses((status = 201, description = "Created; the secret is shown this once", body = ApiKeyCreated)))]
pub(crate) async fn create_api_key(
    State(app): State<AppState>,
    caller: Caller,
    idem_key: IdemKey,
    AccountPath(id): AccountPath,
    body: JsonBody<CreateApiKeyRequest>,
) -> Result<Response, Problem> {
    caller.reach(&id, Permission::Admin)?;
    let idem = idem_key.resolve(&caller.key_id, &body.raw);
    if body.value.permissions.is_empty() {
        return Err(Problem::invalid(
            "permissions must name at least one of billing:read, billing:order, usage:write, catalog:admin, admin",
        ));
    }
    let engine = app.engine.clone();
    let location = format!("{}/api-keys", account_location(id.as_str()));
    let answer = blocking(move || {
        let now = engine.now();
        let secret = tenure_store::new_secret(SECRET_PREFIX);
        // 64 random bits: an id to name the key by, not a secret.
        let mut key_id = tenure_store::new_secret(KEY_ID_PREFIX);
        key_id.truncate(KEY_ID_PREFIX.len() + KEY_ID_HEX_LEN);
        let mut permissions = body.value.permissions;
        permissions.sort();
        permissions.dedup();
        let row = ApiKeyRow {
            id: key_id.clone(),
            hash: tenure_store::hash_key(&secret),
            account_id: Some(id.to_string()),
            permissions: encode_permissions(&permissions),
            created_us: now.as_microsecond(),
            revoked_us: None,
        };
        let view = ApiKeyCreated {
            id: key_id,
            key: None,
            account: id.to_string(),
            permissions,
            created_at: format_in_zone(now, &tenure_core::TimeZone::UTC),
        };
        // The stored answer never holds the secret (IAM-5): a replay gets the id without it.
        let stored = idem::write_once(
            engine.store(),
            idem.as_ref(),
            StatusCode::CREATED,
            &view,
            now,
            |tx| {
                if tx.get_account(id.as_str())?.is_none() {
                    return Err(Problem::not_found(format!("no account {:?}", id.as_str())));
                }
                tx.insert_api_key(&row)?;
                Ok(())
            },
        )?;
        Ok(match stored {
            idem::Outcome::Fresh => ApiKeyCreated {
                key: Some(secret),
                ..view
            },
            idem::Outcome::Replay(body) => serde_json::from_str(&body).map_err(|e| {
                tracing::error!(error = %e, "stored API key answer does not parse");
                Problem::internal()
            })?,
        })
    })
    .await?;
    Ok(created(location, answer))
}

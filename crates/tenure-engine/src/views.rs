//! What the engine answers: plain serialisable views, amounts as strings in the currency's minor
//! unit, instants as RFC 3339 in the account's zone. The HTTP API and `simulate` show these.

mod subscriptions;
pub use subscriptions::{
    ItemResultView, RenewResultView, RenewalQuoteView, SubscriptionView, UnsubscribeView,
};

use serde::{Deserialize, Serialize};
use tenure_core::account::{AccountState, AccountStatus};
use tenure_core::catalog::PlanKind;
use tenure_core::ledger::Book;
use tenure_core::payg::Bill;
use tenure_core::plan::Plan;
use tenure_core::span::format_in_zone;
use tenure_core::usage::UsageOutcome;
use tenure_core::{Decimal, Timestamp};
use utoipa::ToSchema;

/// An account with its derived balances (ACC-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub currency: String,
    pub zone: String,
    pub verified: bool,
    pub credit_line: String,
    /// Cash balance; negative while the credit line is in use.
    pub cash: String,
    /// Cash + credit line − unpaid bills (ACC-3).
    pub available: String,
    pub unpaid: String,
    /// What is left on coupons still valid now (not part of `available`).
    pub coupon_remaining: String,
    /// `active` or `overdue` (OVD-1).
    pub status: String,
    pub low_balance_threshold: Option<String>,
    pub created_at: String,
}

impl AccountView {
    pub fn of(s: &AccountState, now: Timestamp) -> AccountView {
        let c = s.currency;
        AccountView {
            id: s.id.to_string(),
            currency: c.to_string(),
            zone: s.zone.clone(),
            verified: s.verified,
            credit_line: c.format(s.credit_line),
            cash: c.format(s.cash()),
            available: c.format(s.available()),
            unpaid: c.format(s.unpaid()),
            coupon_remaining: c.format(s.coupons_remaining(now)),
            status: match s.status() {
                AccountStatus::Active => "active".into(),
                AccountStatus::Overdue => "overdue".into(),
            },
            low_balance_threshold: s.low_balance.threshold.map(|t| c.format(t)),
            created_at: format_in_zone(s.created_at, &s.time_zone()),
        }
    }
}

/// A coupon and what is left of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CouponView {
    pub id: String,
    pub account: String,
    pub amount: String,
    pub remaining: String,
    /// Products it pays for; absent for all.
    pub products: Option<Vec<String>>,
    pub issued_at: String,
    pub expires_at: Option<String>,
    /// `active`, `used` or `expired`.
    pub status: String,
}

impl CouponView {
    pub fn list(s: &AccountState, now: Timestamp) -> Vec<CouponView> {
        let zone = s.time_zone();
        s.coupons
            .iter()
            .map(|c| {
                let remaining = s.coupon_remaining(c.id);
                let status = if c.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else if remaining.is_zero() {
                    "used"
                } else {
                    "active"
                };
                CouponView {
                    id: c.id.to_string(),
                    account: s.id.to_string(),
                    amount: s.currency.format(c.amount),
                    remaining: s.currency.format(remaining),
                    products: c.products.clone(),
                    issued_at: format_in_zone(c.issued_at, &zone),
                    expires_at: c.expires_at.map(|e| format_in_zone(e, &zone)),
                    status: status.into(),
                }
            })
            .collect()
    }
}

/// A customer notice or a provider event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub seq: i64,
    pub account: String,
    pub kind: String,
    pub subject: String,
    pub at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One journal transaction with its entries (ACC-2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JournalView {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub entries: Vec<EntryView>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One entry of a journal transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    pub book: String,
    pub unit: String,
    pub amount: String,
}

/// A page of a list and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<String>,
}

/// A prepaid plan with its quota counters (PLAN-1…13). `remaining` is what new usage could
/// still take (quota − consumed − reserved − expired; for a resetting plan, of its current cycle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    pub id: String,
    pub account: String,
    pub spec: String,
    pub product: String,
    pub meters: Vec<String>,
    /// `pending`, `active`, `exhausted`, `expired` or `refunded`.
    pub status: String,
    /// `aggregate` or `resetting`.
    pub kind: String,
    /// For a resetting plan: `hour`, `day` or `month`.
    pub reset: Option<String>,
    /// `free`, `promotional` or `purchased` (PLAN-3).
    pub source: String,
    /// `pay_per_use` or `stop_before_excess` (PLAN-5).
    pub overflow: String,
    pub refundable: bool,
    /// Quota per validity (aggregate) or per cycle (resetting).
    pub quota: u64,
    /// Everything ever issued into the plan (grows at every reset).
    pub bought: u64,
    pub consumed: u64,
    pub reserved: u64,
    pub expired: u64,
    pub remaining: u64,
    pub price: String,
    pub catalog_version: i64,
    pub purchased_at: String,
    pub effective_at: String,
    /// Exclusive: usable until this instant, not at it.
    pub expires_at: String,
    pub period_start: String,
    pub period_end: String,
    pub renewal_of: Option<String>,
    pub renewed_by: Option<String>,
}

impl PlanView {
    pub fn of(s: &AccountState, p: &Plan, now: Timestamp) -> PlanView {
        let zone = s.time_zone();
        let at = |t: Timestamp| format_in_zone(t, &zone);
        let (kind, reset) = match p.kind {
            PlanKind::Aggregate => ("aggregate", None),
            PlanKind::Resetting { reset } => ("resetting", Some(snake(&reset))),
        };
        PlanView {
            id: p.id.to_string(),
            account: s.id.to_string(),
            spec: p.spec.clone(),
            product: p.product.clone(),
            meters: p.meters.clone(),
            status: p.status(now).as_str().into(),
            kind: kind.into(),
            reset,
            source: snake(&p.source),
            overflow: snake(&p.overflow),
            refundable: p.refundable,
            quota: p.quota,
            bought: p.bought,
            consumed: p.consumed,
            reserved: p.reserved,
            expired: p.expired,
            remaining: p.remaining(),
            price: s.currency.format(p.price),
            catalog_version: p.catalog_version,
            purchased_at: at(p.purchased_at),
            effective_at: at(p.effective_at),
            expires_at: at(p.expires_at),
            period_start: at(p.period_start),
            period_end: at(p.period_end),
            renewal_of: p.renewal_of.map(|id| id.to_string()),
            renewed_by: p.renewed_by.map(|id| id.to_string()),
        }
    }
}

/// The snake_case name serde gives a unit enum variant.
fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// One plan's share of a usage event (PLAN-3 order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TakeView {
    pub plan: String,
    pub quantity: u64,
}

/// What became of one usage event (USE-1, USE-2): `applied` with its split, `duplicate` with the
/// first outcome's fields, or `refused` with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageResultView {
    pub id: String,
    pub account: String,
    /// `applied`, `duplicate` or `refused`.
    pub status: String,
    /// The split across plans, in deduction order (applied events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takes: Option<Vec<TakeView>>,
    /// What no plan covered, rated pay-as-you-go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payg_quantity: Option<u64>,
    /// `payg_quantity` × unit price, not rounded (a bill line rounds once, ACC-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payg_amount: Option<String>,
    /// The refusal's stable code (refused events, and duplicates of refused events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl UsageResultView {
    /// The view of an outcome; `duplicate` answers with the first outcome's fields.
    pub fn of(id: &str, account: &str, outcome: &UsageOutcome, duplicate: bool) -> Self {
        let mut view = UsageResultView {
            id: id.to_string(),
            account: account.to_string(),
            status: String::new(),
            takes: None,
            payg_quantity: None,
            payg_amount: None,
            code: None,
            detail: None,
        };
        view.status = match outcome {
            UsageOutcome::Applied {
                takes,
                payg_quantity,
                payg_amount,
            } => {
                view.takes = Some(
                    takes
                        .iter()
                        .map(|t| TakeView {
                            plan: t.plan.to_string(),
                            quantity: t.quantity,
                        })
                        .collect(),
                );
                view.payg_quantity = Some(*payg_quantity);
                view.payg_amount = Some(payg_amount.normalize().to_string());
                "applied".into()
            }
            UsageOutcome::Refused { code, detail } => {
                view.code = Some(code.as_str().into());
                view.detail = Some(detail.clone());
                "refused".into()
            }
        };
        if duplicate {
            view.status = "duplicate".into();
        }
        view
    }

    /// A refusal of an event that never reached an account (unknown account, malformed id):
    /// nothing is stored for it.
    pub fn refused(id: &str, account: &str, refusal: &tenure_core::Refusal) -> Self {
        UsageResultView {
            id: id.to_string(),
            account: account.to_string(),
            status: "refused".into(),
            takes: None,
            payg_quantity: None,
            payg_amount: None,
            code: Some(refusal.code.as_str().into()),
            detail: Some(refusal.detail.clone()),
        }
    }
}

/// One line of a pay-as-you-go bill: a meter and a cycle, rounded once (ACC-1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BillLineView {
    pub meter: String,
    pub cycle_start: String,
    pub cycle_end: String,
    pub quantity: u64,
    /// Up to six decimals, not rounded.
    pub unit_price: String,
    pub amount: String,
    /// A line for a cycle an earlier bill already closed (PAYG-2).
    pub late: bool,
}

/// A pay-as-you-go bill (PAYG-2, PAYG-3) and what it still owes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BillView {
    pub id: String,
    pub account: String,
    pub product: String,
    pub cycle_end: String,
    pub issued_at: String,
    pub total: String,
    pub unpaid: String,
    /// `paid` or `unpaid` (some of it still owed).
    pub status: String,
    pub lines: Vec<BillLineView>,
}

impl BillView {
    pub fn of(s: &AccountState, b: &Bill) -> BillView {
        let zone = s.time_zone();
        let c = s.currency;
        let owed = Decimal::ZERO - s.books.get(c.code(), &Book::Unpaid(b.id));
        BillView {
            id: b.id.to_string(),
            account: s.id.to_string(),
            product: b.product.clone(),
            cycle_end: format_in_zone(b.cycle_end, &zone),
            issued_at: format_in_zone(b.issued_at, &zone),
            total: c.format(b.total),
            unpaid: c.format(owed),
            status: if owed > Decimal::ZERO {
                "unpaid".into()
            } else {
                "paid".into()
            },
            lines: b
                .lines
                .iter()
                .map(|l| BillLineView {
                    meter: l.meter.clone(),
                    cycle_start: format_in_zone(l.cycle_start, &zone),
                    cycle_end: format_in_zone(l.cycle_end, &zone),
                    quantity: l.quantity,
                    unit_price: l.unit_price.normalize().to_string(),
                    amount: c.format(l.amount),
                    late: l.late,
                })
                .collect(),
        }
    }
}

/// PAYG-4: one day's usage of one meter, in the account's zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageDayView {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    pub product: String,
    pub meter: String,
    pub from_plans: u64,
    pub payg_quantity: u64,
    /// Sum of the unrounded pay-as-you-go amounts of the day.
    pub payg_amount: String,
    /// Quantity of refused events.
    pub refused: u64,
}

/// PLAN-10: units held on plans for a later commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    pub id: String,
    pub account: String,
    pub product: String,
    pub meter: String,
    pub quantity: u64,
    /// Where the units are held, in PLAN-3 order.
    pub takes: Vec<TakeView>,
    pub at: String,
    /// Exclusive: it can be committed until this instant.
    pub expires_at: String,
    /// `open` or `lapsed`.
    pub status: String,
}

impl ReservationView {
    pub fn of(s: &AccountState, r: &tenure_core::reservation::Reservation) -> ReservationView {
        let zone = s.time_zone();
        ReservationView {
            id: r.id.to_string(),
            account: s.id.to_string(),
            product: r.product.clone(),
            meter: r.meter.clone(),
            quantity: r.quantity,
            takes: r
                .takes
                .iter()
                .map(|t| TakeView {
                    plan: t.plan.to_string(),
                    quantity: t.quantity,
                })
                .collect(),
            at: format_in_zone(r.at, &zone),
            expires_at: format_in_zone(r.expires_at, &zone),
            status: if r.is_open() { "open" } else { "lapsed" }.into(),
        }
    }
}

/// May the account use a product now (OVD-2, `expect_service`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceView {
    pub product: String,
    /// `available` or `stopped` (stopped or released for overdue).
    pub status: String,
    /// Whether usage could be accepted now: not stopped, and plan quota or usable
    /// pay-as-you-go for at least one meter.
    pub available: bool,
    /// What the product's plans in force could still give (reserved units excluded).
    pub quota_remaining: u64,
    pub stopped_at: Option<String>,
    pub released_at: Option<String>,
    /// While overdue and not yet stopped: when a `stop_after` stop will happen.
    pub stops_at: Option<String>,
}

impl ServiceView {
    pub fn of(s: &AccountState, st: &tenure_core::overdue::ServiceStatus) -> ServiceView {
        let zone = s.time_zone();
        ServiceView {
            product: st.product.clone(),
            status: st.status.as_str().into(),
            available: st.available,
            quota_remaining: st.quota_remaining,
            stopped_at: st.stopped_at.map(|t| format_in_zone(t, &zone)),
            released_at: st.released_at.map(|t| format_in_zone(t, &zone)),
            stops_at: st.stops_at.map(|t| format_in_zone(t, &zone)),
        }
    }
}

//! What the engine answers: plain serialisable views, amounts as strings in the currency's minor
//! unit, instants as RFC 3339 in the account's zone. The HTTP API and `simulate` show these.

use serde::{Deserialize, Serialize};
use tenure_core::Timestamp;
use tenure_core::account::{AccountState, AccountStatus};
use tenure_core::span::format_in_zone;
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

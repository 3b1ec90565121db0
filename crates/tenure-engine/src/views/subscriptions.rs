//! Views of subscriptions (SUB-1…10) and renewal management (SUB-8).

use serde::{Deserialize, Serialize};
use tenure_core::account::AccountState;
use tenure_core::span::format_in_zone;
use tenure_core::subscription::{RenewalMode, RenewalQuote, Subscription};
use tenure_core::{Refusal, Span};
use utoipa::ToSchema;

/// A subscription instance (SUB-1) with its renewal mode (SUB-2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub account: String,
    pub product: String,
    pub edition: String,
    /// `active`, `trial`, `frozen`, `grace`, `stopped`, `retention`, `released` or `payg`.
    pub status: String,
    /// The renewal mode, the tab of SUB-8: `manual`, `auto`, `payg_after_expiry` or `canceled`.
    pub renewal: String,
    /// The period auto-renewal extends by (mode `auto` only), e.g. `1 month`.
    pub auto_period: Option<String>,
    /// The term of the last purchase, renewal or upgrade; absent for a free instance.
    pub term: Option<String>,
    pub started_at: String,
    /// Exclusive: usable until this instant, not at it. Absent for a free instance.
    pub expires_at: Option<String>,
    /// Everything paid for it so far (purchase, renewals, upgrade).
    pub paid: String,
}

impl SubscriptionView {
    pub fn of(s: &AccountState, sub: &Subscription) -> SubscriptionView {
        let zone = s.time_zone();
        SubscriptionView {
            id: sub.id.to_string(),
            account: s.id.to_string(),
            product: sub.product.clone(),
            edition: sub.edition.clone(),
            status: sub.status.as_str().into(),
            renewal: sub.mode.as_str().into(),
            auto_period: match sub.mode {
                RenewalMode::Auto { period } => Some(period.to_string()),
                _ => None,
            },
            term: sub.term.map(|t| t.to_string()),
            started_at: format_in_zone(sub.started_at, &zone),
            expires_at: sub.expires_at.map(|t| format_in_zone(t, &zone)),
            paid: s.currency.format(sub.paid_total),
        }
    }
}

/// SUB-3, SUB-5: what a renewal would cost and where it would end, before paying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenewalQuoteView {
    pub account: String,
    pub subscription: String,
    pub term: String,
    /// The common renewal day asked for (`1`…`28` or `last`), if any.
    pub co_term_day: Option<String>,
    /// The price of the term.
    pub price: String,
    /// Days added to reach the common renewal day (SUB-5).
    pub extra_days: u32,
    /// What those days cost, pro rata by the day.
    pub extra_price: String,
    /// `price` + `extra_price`: what the renewal charges.
    pub total: String,
    /// The expiry after the renewal.
    pub new_expires_at: String,
}

impl RenewalQuoteView {
    pub fn of(
        s: &AccountState,
        sub: &Subscription,
        term: Span,
        co_term_day: Option<String>,
        q: &RenewalQuote,
    ) -> RenewalQuoteView {
        let c = s.currency;
        RenewalQuoteView {
            account: s.id.to_string(),
            subscription: sub.id.to_string(),
            term: term.to_string(),
            co_term_day,
            price: c.format(q.price),
            extra_days: q.extra_days,
            extra_price: c.format(q.extra_price),
            total: c.format(q.total),
            new_expires_at: format_in_zone(q.new_expires_at, &s.time_zone()),
        }
    }
}

/// One item of a batch renewal (SUB-3): `renewed` with its quote, or `refused` with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenewResultView {
    pub account: String,
    pub subscription: String,
    /// `renewed` or `refused`.
    pub status: String,
    /// What the renewal charged and the new expiry (renewed items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<RenewalQuoteView>,
    /// The refusal's stable code (refused items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl RenewResultView {
    pub fn refused(account: &str, subscription: &str, r: &Refusal) -> RenewResultView {
        RenewResultView {
            account: account.to_string(),
            subscription: subscription.to_string(),
            status: "refused".into(),
            quote: None,
            code: Some(r.code.as_str().into()),
            detail: Some(r.detail.clone()),
        }
    }
}

/// One item of a bulk change (SUB-8): `updated` with the instance as it is now, or `refused`
/// with a stable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemResultView {
    pub account: String,
    pub subscription: String,
    /// `updated` or `refused`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<SubscriptionView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ItemResultView {
    pub fn refused(account: &str, subscription: &str, r: &Refusal) -> ItemResultView {
        ItemResultView {
            account: account.to_string(),
            subscription: subscription.to_string(),
            status: "refused".into(),
            result: None,
            code: Some(r.code.as_str().into()),
            detail: Some(r.detail.clone()),
        }
    }
}

/// SUB-10: what an unsubscribe refunded, and the (released) instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnsubscribeView {
    /// Cash returned to the balance.
    pub refund: String,
    pub subscription: SubscriptionView,
}

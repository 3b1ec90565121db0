//! Subscriptions (SUB-1 … SUB-10): the product-wide renewal policy and the editions sold.

use super::policy::{Funding, Overdue, Payg};
use crate::span::{Span, SpanUnit};
use jiff::civil::Time;
use rust_decimal::Decimal;
use serde::Serialize;

/// `[product.subscription]`: renewal and expiry policy for every edition of a product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionPolicy {
    /// SUB-4 timing of automatic renewal.
    pub auto_renew: AutoRenewTiming,
    /// SUB-5: renewals may end on a common renewal day.
    pub co_term: bool,
    /// SUB-5: the extra days of a co-term renewal cost the monthly price ÷ this, per day …
    pub prorate_days_per_month: u32,
    /// … or the yearly price ÷ this, per day.
    pub prorate_days_per_year: u32,
    /// SUB-6: what happens after expiry.
    pub expiry: ExpiryFlow,
    /// SUB-2: `subscription.expiring` reminders this long before expiry in `manual` mode.
    pub expiry_reminders: Vec<Span>,
    /// SUB-2: the one notice a `canceled` instance gets, this long before expiry.
    pub canceled_notice_before: Span,
    /// SUB-6: `subscription.release_warning` goes out this long before release.
    pub release_warning_before: Span,
    /// SUB-10: handling fee kept on unsubscribe, percent of the current term's payment.
    pub unsubscribe_fee_percent: Decimal,
}

/// SUB-4: attempts run once a day at `run_time` (account zone), from the day
/// `first_attempt_before` the expiry day to the day `last_attempt_before` it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoRenewTiming {
    pub first_attempt_before: Span,
    pub last_attempt_before: Span,
    pub run_time: Time,
    /// Funds an attempt may use (coupons and cash by default).
    pub pay_with: Vec<Funding>,
}

/// SUB-6 expiry flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum ExpiryFlow {
    /// Stopped at expiry, released with its data `release_after` the expiry.
    StopThenRelease { release_after: Span },
    /// Usable during `grace`, then frozen with data kept during `retention`, then released.
    GraceRetentionRelease { grace: Span, retention: Span },
}

/// An edition (SUB-1): what a subscription instance is an instance of. Every value is resolved:
/// what the edition does not set it inherits from its product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edition {
    /// Unique in the whole catalog (an upgrade names the edition only).
    pub id: String,
    pub name: String,
    pub pricing: EditionPricing,
    /// SUB-1: length of a trial (price 0), if the edition offers one.
    pub trial: Option<Span>,
    /// SUB-3: terms a subscription may be bought or renewed for.
    pub terms: Terms,
    /// OVD-2: overdue impact on instances of this edition.
    pub overdue: Overdue,
    /// Pay-as-you-go meters billed to instances of this edition (e.g. a legacy public instance).
    pub payg: Option<Payg>,
    /// SUB-9: a trial or free instance with no usage for this long is frozen.
    pub idle_freeze_after: Span,
}

impl Edition {
    pub fn is_free(&self) -> bool {
        self.pricing == EditionPricing::Free
    }

    /// The price of one `term`, if the edition sells that term.
    pub fn price_for(&self, term: Span) -> Option<Decimal> {
        let EditionPricing::Paid {
            price_per_month,
            price_per_year,
        } = self.pricing
        else {
            return None;
        };
        if !self.terms.allows(term) {
            return None;
        }
        let per_unit = match term.unit {
            SpanUnit::Month => price_per_month?,
            SpanUnit::Year => price_per_year?,
            _ => return None,
        };
        Some(per_unit * Decimal::from(term.count))
    }
}

/// How an edition is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EditionPricing {
    /// No price, no term, no expiry.
    Free,
    /// A price per month and/or per year. A yearly price left out of the file is 12 × monthly.
    Paid {
        price_per_month: Option<Decimal>,
        price_per_year: Option<Decimal>,
    },
}

/// SUB-2, SUB-3: allowed terms and auto-renew periods.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Terms {
    /// Allowed terms in months (e.g. 1 … 9).
    pub months: Vec<u32>,
    /// Allowed terms in years (e.g. 1 … 3).
    pub years: Vec<u32>,
    /// Periods auto-renewal may extend by; each one is an allowed term.
    pub auto_renew_periods: Vec<Span>,
}

impl Terms {
    /// Whether `term` (months or years) is allowed for manual purchase or renewal.
    pub fn allows(&self, term: Span) -> bool {
        let Ok(count) = u32::try_from(term.count) else {
            return false;
        };
        match term.unit {
            SpanUnit::Month => self.months.contains(&count),
            SpanUnit::Year => self.years.contains(&count),
            _ => false,
        }
    }

    /// Whether `period` may be chosen for auto-renewal.
    pub fn allows_auto_renew(&self, period: Span) -> bool {
        self.auto_renew_periods.contains(&period)
    }
}

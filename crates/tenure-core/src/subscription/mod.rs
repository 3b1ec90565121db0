//! Subscriptions (SUB-1…10): yearly/monthly instances of an edition, their renewal modes, manual
//! and automatic renewal, the expiry flows, idle freeze, upgrade and unsubscribe.
//!
//! - [`machine`]: THE transition table ([`TRANSITIONS`]). Every change of an instance's status
//!   goes through one function that looks the (status, event) pair up; an event with no row is
//!   a refusal (commands) or does nothing (due actions). Every row emits a provider event, and a
//!   customer notice where it says so.
//! - `lifecycle.rs`: subscribe (SUB-1), the expiry flows (SUB-6, SUB-7), idle
//!   freeze and continue trial (SUB-9), upgrade (SUB-9), unsubscribe (SUB-10).
//! - `renewal.rs`: renewal modes (SUB-2), quotes and manual renewal (SUB-3),
//!   co-term (SUB-5), auto-renewal attempts (SUB-4), expiry reminders (SUB-2).
//!
//! Time-driven work is due actions (TIME-4), each carrying the expiry instant (or the check
//! instant) it was scheduled for: after a renewal, an upgrade or an unsubscribe they see another
//! expiry or another status and do nothing. Running one twice has the effect of running it once:
//! state changes are idempotent through the table (a second `GraceEnd` finds `retention`, which
//! has no row for it), and the messages that do not change the status (reminders, failed
//! attempts, release warnings) are recorded on the instance per expiry.
//!
//! # Decisions where the rules are silent
//!
//! - **Creation** is not a transition: a new instance starts `active` (paid or free edition) or
//!   `trial` (SUB-1) and emits no message (the kinds list has none for it; the order is the
//!   journal's `subscription.purchase`).
//! - **Trial editions**: an edition with a `trial` subscribed with no term starts in `trial`
//!   for the trial's length at price 0; with a term it is bought paid at once. A trial is
//!   renewable like any instance (the first paid term starts at the trial's end) and can be
//!   upgraded (SUB-9). No limit on trials per account.
//! - **Free editions** (`free = true`) have no term and no expiry; their mode is `manual` and
//!   cannot be anything else (`auto` is `auto_renew_not_allowed`, the others `invalid_input`).
//! - **Terms bought under** (CAT-1): an instance records its edition's prices, allowed terms,
//!   auto-renew periods and idle-freeze length at purchase ([`BoughtTerms`]); renewals, quotes,
//!   co-term pro rata and auto-renewals are priced from them, not from a later catalog. An
//!   upgrade records the new edition's. Policies (expiry flow, reminders, attempt timing, fee
//!   percent) are the product's in the catalog at the time they apply.
//! - **Overdue gate** (OVD-2, ACC-6): subscribe, renew and upgrade are refused while overdue
//!   when the *edition's* impact is anything but `none` (so a free public instance, impact
//!   `none`, can still be created), as purchases of plans are ([`AccountState::check_not_overdue_for`]).
//!   An auto-renewal attempt while overdue under such an impact fails (notified) with reason
//!   `account_overdue`.
//! - **Renewal refusals** in SUB-3's order: `not_renewable` (released, converted to payg, or a
//!   free instance), then `account_overdue`, then `invalid_term`. A co-term day on a product
//!   whose `co_term` is off is `invalid_input`.
//! - **Renewing after expiry** (grace, retention, stopped): the new expiry is the old expiry +
//!   term (+ co-term days); the instance is `active` at once. If that expiry is already past
//!   (a month shorter than grace + retention), the expiry action runs at the next scheduler run.
//! - **Mode changes** (SUB-2) are not status transitions and emit nothing (the engine audits
//!   them). Allowed in every status but `released` and `payg` (`not_renewable`);
//!   `payg_after_expiry` only before expiry (`invalid_input`). `auto` needs a period from the
//!   edition's list (`invalid_term`; an edition with no periods: `auto_renew_not_allowed`).
//! - **Reminders** (SUB-2): `manual`, `auto` and `payg_after_expiry` get the catalog's
//!   `expiry_reminders` (`payg_after_expiry` too: at expiry the billing changes); `canceled`
//!   gets one notice `canceled_notice_before` the expiry and nothing else. Reminders whose
//!   instant is already past when the term starts are not sent. Which reminders apply is decided
//!   when they fall due, from the mode at that time.
//! - **At expiry** with a grace flow or into pay-as-you-go, nothing stops, and the stable kinds
//!   have no "expired": the transition emits `subscription.expiring` (an at-expiry reminder,
//!   data `at_expiry: true` and the new status). State-change messages go to `canceled`
//!   instances too; only reminders follow the mode.
//! - **Auto-renewal attempts** (SUB-4): days are the account zone's calendar days; one attempt
//!   per day, chained (a failure schedules the next day's). Enabling `auto` at or after the first
//!   attempt instant and before expiry attempts at once (as that day's attempt; if that day was
//!   attempted already, the next day's is scheduled). An attempt pays from the product's
//!   `pay_with` (coupons and cash by default), at the bought price of the period. Keys carry the
//!   subscription, expiry, day and due instant; the instance records the days attempted per
//!   expiry, so an attempt runs once per day.
//! - **Co-term** (SUB-5): the common day is taken on or after the *local date* of the normal end;
//!   the new expiry is that date at the normal end's local time of day; the extra days are whole
//!   calendar days, charged `price ÷ prorate_days × days`, rounded half-up once (ACC-1).
//! - **Pay-as-you-go after expiry** (SUB-7): the catalog has no rate, so a converted instance
//!   costs the bought monthly price ÷ `prorate_days_per_month` per day (yearly price ÷
//!   `prorate_days_per_year` for a yearly-only edition), kept at 6 decimals (ACC-1 unit price).
//!   Days run from the expiry instant (a day is a calendar day in the account's zone), and each
//!   ended day is one bill with one line (`subscription:<id>`) issued through
//!   [`AccountState::issue_bill`] (PAYG-3: in part if need be; OVD-1 follows). Aligning to the
//!   expiry, not midnight, means every bill is one whole day at the day price. A `payg` instance
//!   is converted: renew and upgrade answer `not_renewable`; unsubscribe releases it, the day
//!   in progress is not billed.
//! - **Idle freeze** (SUB-9): applies to trials and free instances (the legacy public instance
//!   too: it is public). Activity is any usage event on a meter of the product that passes
//!   USE-1's checks (applied or refused later), noted by [`AccountState::apply_usage`] through
//!   [`AccountState::note_subscription_activity`]; the clock starts at subscription. Activity
//!   of a frozen instance does not count: only `continue_trial` unfreezes it and restarts the
//!   clock. A frozen trial still reaches its expiry and follows the flow.
//! - **Continue trial** emits a provider event `subscription.renewed` (data `reason:
//!   "continue_trial"`, no notice): the kinds list is closed and has nothing closer. **Upgrade**
//!   emits `subscription.renewed` (notice and event, `reason: "upgrade"`). Only a trial or free
//!   instance may be upgraded (`invalid_input` otherwise), to a paid edition of the same product;
//!   the term starts now; an `auto` period the new edition does not sell falls back to `manual`.
//!   Continue trial on an instance that is not frozen is `invalid_input`.
//! - **Refusal codes** of a command whose event has no row from the status
//!   ([`SubEvent::refusal`]): renew and upgrade `not_renewable`; the others `invalid_input`.
//! - **Unsubscribe refund** (SUB-10): "the current term" is everything paid for and not yet
//!   ended: from the start of the term in force to the expiry, with renewals paid ahead added
//!   (after expiry, a renewal starts a new term at the old expiry). Cash = what cash and credit
//!   line paid for it (coupons are not returned). used = cash × whole hours elapsed ÷ hours of
//!   the term; fee = cash × `unsubscribe_fee_percent` ÷ 100; refund = cash − used − fee, rounded
//!   half-up once, floored at 0, journaled Revenue(product) → Cash. Unsubscribing a released
//!   instance is `invalid_input`.
//! - **`paid`** (the `expect_subscription` view) is the sum of the orders charged (purchase,
//!   renewals, upgrade; coupon parts included), refunds not deducted ([`Subscription::refunded`]
//!   holds them); pay-as-you-go bills are bills, not orders.
//! - **Overdue stops** of subscription products keep the product-level episode machinery of
//!   `overdue.rs`; instances are counted as use ([`AccountState::products_in_use`]).

mod lifecycle;
pub mod machine;
mod renewal;

pub use lifecycle::UnsubscribeRefund;
pub use machine::{SubEvent, TRANSITIONS, Transition, transition};
pub use renewal::{CoTermDay, RenewalQuote};

use crate::account::AccountState;
use crate::catalog::{Edition, EditionPricing, Product};
use crate::due::{DueAction, DueKind};
use crate::error::Refusal;
use crate::ids::SubscriptionId;
use crate::money::UNIT_PRICE_SCALE_MAX;
use crate::span::{Span, SpanUnit};
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An instance's status, as the scenario format and the API name it (`expect_subscription`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubStatus {
    /// Paid and running (or a free instance, which never expires).
    Active,
    /// A trial (SUB-1): its own length, price 0.
    Trial,
    /// Idle-frozen (SUB-9): a trial or free instance unused for too long.
    Frozen,
    /// After expiry, still usable (SUB-6 grace flow).
    Grace,
    /// Stopped at expiry (SUB-6 stop-then-release flow).
    Stopped,
    /// After grace: frozen, data kept (SUB-6).
    Retention,
    /// Released, data deleted: final (SUB-6, SUB-10).
    Released,
    /// Converted to pay-as-you-go at expiry (SUB-7).
    Payg,
}

impl SubStatus {
    pub const ALL: [SubStatus; 8] = [
        SubStatus::Active,
        SubStatus::Trial,
        SubStatus::Frozen,
        SubStatus::Grace,
        SubStatus::Stopped,
        SubStatus::Retention,
        SubStatus::Released,
        SubStatus::Payg,
    ];

    /// The stable status string of `expect_subscription status`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubStatus::Active => "active",
            SubStatus::Trial => "trial",
            SubStatus::Frozen => "frozen",
            SubStatus::Grace => "grace",
            SubStatus::Stopped => "stopped",
            SubStatus::Retention => "retention",
            SubStatus::Released => "released",
            SubStatus::Payg => "payg",
        }
    }

    pub fn parse(s: &str) -> Option<SubStatus> {
        SubStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for SubStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SUB-2: the renewal mode, the four tabs of renewal management.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum RenewalMode {
    Manual,
    /// Renewed automatically by `period` (one of the edition's auto-renew periods), SUB-4.
    Auto {
        period: Span,
    },
    /// Converted to pay-as-you-go at expiry (SUB-7).
    PaygAfterExpiry,
    /// Not renewed; one notice before expiry.
    Canceled,
}

impl RenewalMode {
    /// The stable string: `manual`, `auto`, `payg_after_expiry`, `canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalMode::Manual => "manual",
            RenewalMode::Auto { .. } => "auto",
            RenewalMode::PaygAfterExpiry => "payg_after_expiry",
            RenewalMode::Canceled => "canceled",
        }
    }

    /// Parses a mode string and, for `auto`, its period (required); `invalid_input` otherwise.
    pub fn parse(mode: &str, period: Option<Span>) -> Result<RenewalMode, Refusal> {
        match (mode, period) {
            ("manual", None) => Ok(RenewalMode::Manual),
            ("auto", Some(period)) => Ok(RenewalMode::Auto { period }),
            ("auto", None) => Err(Refusal::invalid("mode \"auto\" needs a period")),
            ("payg_after_expiry", None) => Ok(RenewalMode::PaygAfterExpiry),
            ("canceled", None) => Ok(RenewalMode::Canceled),
            ("manual" | "payg_after_expiry" | "canceled", Some(_)) => Err(Refusal::invalid(
                format!("a period is only for mode \"auto\", not {mode:?}"),
            )),
            _ => Err(Refusal::invalid(format!(
                "unknown renewal mode {mode:?} (manual, auto, payg_after_expiry, canceled)"
            ))),
        }
    }
}

/// The prices and terms an instance was bought under (CAT-1): its edition's at purchase (or at
/// the last upgrade).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoughtTerms {
    pub price_per_month: Option<Decimal>,
    pub price_per_year: Option<Decimal>,
    /// SUB-3: allowed terms in months and in years.
    pub term_months: Vec<u32>,
    pub term_years: Vec<u32>,
    /// SUB-2: periods `auto` may renew by.
    pub auto_renew_periods: Vec<Span>,
    /// SUB-9: idle time before a trial or free instance is frozen.
    pub idle_freeze_after: Span,
}

impl BoughtTerms {
    /// The terms of `edition` as the catalog has them now.
    pub fn of(edition: &Edition) -> BoughtTerms {
        let (price_per_month, price_per_year) = match edition.pricing {
            EditionPricing::Free => (None, None),
            EditionPricing::Paid {
                price_per_month,
                price_per_year,
            } => (price_per_month, price_per_year),
        };
        BoughtTerms {
            price_per_month,
            price_per_year,
            term_months: edition.terms.months.clone(),
            term_years: edition.terms.years.clone(),
            auto_renew_periods: edition.terms.auto_renew_periods.clone(),
            idle_freeze_after: edition.idle_freeze_after,
        }
    }

    /// SUB-1, SUB-3: the price of one `term`, if it is an allowed term.
    pub fn price_for(&self, term: Span) -> Option<Decimal> {
        let count = u32::try_from(term.count).ok()?;
        let per_unit = match term.unit {
            SpanUnit::Month if self.term_months.contains(&count) => self.price_per_month?,
            SpanUnit::Year if self.term_years.contains(&count) => self.price_per_year?,
            _ => return None,
        };
        Some(per_unit * Decimal::from(count))
    }

    /// SUB-2: whether `auto` may renew by `period`.
    pub fn allows_auto_renew(&self, period: Span) -> bool {
        self.auto_renew_periods.contains(&period) && self.price_for(period).is_some()
    }

    /// SUB-7: the price of one day of pay-as-you-go after expiry: the monthly price ÷
    /// `days_per_month`, or the yearly price ÷ `days_per_year` for a yearly-only edition, kept
    /// at [`UNIT_PRICE_SCALE_MAX`] decimals (half-up). `None` for a free edition.
    pub fn payg_price_per_day(&self, days_per_month: u32, days_per_year: u32) -> Option<Decimal> {
        let per_day = match (self.price_per_month, self.price_per_year) {
            (Some(m), _) => m / Decimal::from(days_per_month.max(1)),
            (None, Some(y)) => y / Decimal::from(days_per_year.max(1)),
            (None, None) => return None,
        };
        Some(
            per_day.round_dp_with_strategy(
                UNIT_PRICE_SCALE_MAX,
                RoundingStrategy::MidpointAwayFromZero,
            ),
        )
    }
}

/// One subscription instance (SUB-1) with the terms it was bought under and what its due
/// actions have done for the current expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub product: String,
    pub edition: String,
    pub status: SubStatus,
    /// When the status last changed.
    pub status_since: Timestamp,
    pub mode: RenewalMode,
    /// The term of the last purchase, renewal or upgrade (a trial's length for a trial);
    /// `None` for a free instance.
    pub term: Option<Span>,
    /// A free edition: no term, no expiry.
    pub free: bool,
    /// Still a trial: never paid for (SUB-1, SUB-9).
    pub trial: bool,
    pub started_at: Timestamp,
    /// Exclusive: usable until this instant, not at it. `None` for a free instance.
    pub expires_at: Option<Timestamp>,
    /// Sum of the orders charged: purchase, renewals, upgrade (coupon parts included).
    pub paid_total: Decimal,
    /// Cash returned by an unsubscribe (SUB-10).
    pub refunded: Decimal,
    /// CAT-1: the catalog version of the purchase (or of the last upgrade).
    pub catalog_version: i64,
    pub terms: BoughtTerms,
    /// SUB-10: the start of the term in force, and the cash (cash + credit line) paid for the
    /// time from it to `expires_at`.
    pub term_started_at: Timestamp,
    pub term_cash: Decimal,
    /// SUB-9: the last activity (the clock starts at subscription and at continue trial).
    pub last_activity_at: Timestamp,
    /// SUB-9: the idle check in the queue; any other is stale.
    pub idle_check_at: Option<Timestamp>,
    /// SUB-2: reminders sent for the current expiry.
    pub reminders_sent: Vec<Span>,
    /// SUB-4: local days attempted for the current expiry.
    pub attempt_days: Vec<Date>,
    /// SUB-6: the release warning went out for the current expiry.
    pub release_warned: bool,
    /// SUB-7: pay-as-you-go days billed up to this instant.
    pub payg_billed_through: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
}

impl Subscription {
    /// Not released: the instance exists for its product (OVD-2 counts it as use).
    pub fn is_live(&self) -> bool {
        self.status != SubStatus::Released
    }

    /// SUB-9: idle freeze applies to trials and free instances.
    pub fn freezes_when_idle(&self) -> bool {
        self.trial || self.free
    }

    /// The renewal tab (`expect_subscription renewal`).
    pub fn renewal(&self) -> &'static str {
        self.mode.as_str()
    }

    /// Forgets what the due actions of the previous expiry did (a new term begins).
    fn new_cycle(&mut self) {
        self.reminders_sent.clear();
        self.attempt_days.clear();
        self.release_warned = false;
    }
}

impl AccountState {
    /// The instance `id`, if this account has it.
    pub fn subscription(&self, id: SubscriptionId) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.id == id)
    }

    pub(crate) fn subscription_mut(&mut self, id: SubscriptionId) -> Option<&mut Subscription> {
        self.subscriptions.iter_mut().find(|s| s.id == id)
    }

    /// The instance `id`, or `not_found`.
    fn subscription_or_not_found(&self, id: SubscriptionId) -> Result<&Subscription, Refusal> {
        self.subscription(id)
            .ok_or_else(|| Refusal::not_found(format!("no subscription {id}")))
    }

    /// The instance `id` of `product`, or `not_found`.
    fn subscription_of(
        &self,
        product: &Product,
        id: SubscriptionId,
    ) -> Result<&Subscription, Refusal> {
        let sub = self.subscription_or_not_found(id)?;
        if sub.product != product.id {
            return Err(Refusal::not_found(format!(
                "subscription {id} is not an instance of {}",
                product.id
            )));
        }
        Ok(sub)
    }

    /// A due action of an instance. Keys are unique forever: each carries the expiry (or the
    /// instant) it belongs to, and expiries only move forward.
    fn sub_due(&self, due_at: Timestamp, kind: DueKind) -> DueAction {
        let acct = &self.id;
        let name = kind.name();
        let key = match &kind {
            DueKind::SubscriptionReminder {
                sub,
                expires_at,
                before,
            } => format!(
                "{name}:{acct}:{sub}:{}:{before}",
                expires_at.as_microsecond()
            ),
            DueKind::SubscriptionAutoRenew {
                sub,
                expires_at,
                day,
            } => format!(
                "{name}:{acct}:{sub}:{}:{day}:{}",
                expires_at.as_microsecond(),
                due_at.as_microsecond()
            ),
            DueKind::SubscriptionExpiry { sub, expires_at }
            | DueKind::SubscriptionGraceEnd { sub, expires_at }
            | DueKind::SubscriptionReleaseWarning { sub, expires_at }
            | DueKind::SubscriptionRelease { sub, expires_at } => {
                format!("{name}:{acct}:{sub}:{}", expires_at.as_microsecond())
            }
            DueKind::SubscriptionIdleCheck { sub, due_at } => {
                format!("{name}:{acct}:{sub}:{}", due_at.as_microsecond())
            }
            DueKind::SubscriptionPaygDay { sub, day_end } => {
                format!("{name}:{acct}:{sub}:{}", day_end.as_microsecond())
            }
            other => unreachable!("not a subscription action: {other:?}"),
        };
        DueAction {
            key,
            account: acct.clone(),
            due_at,
            kind,
        }
    }
}

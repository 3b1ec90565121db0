//! Accounts and money (ACC-1…7): opening, identity, top-ups, coupons, the payment order, the
//! low-balance alert. Every command takes the state, the instant and its arguments, and returns
//! the [`Effects`] to persist; it mutates the state it is given only when it succeeds, so the
//! shell persists the state together with the effects in one transaction, or drops both.

use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::{AccountId, BillId, CouponId};
use crate::ledger::{Book, Books, Entry, JournalTx};
use crate::low_balance::LowBalance;
use crate::message::{Audience, Message, MessageKind};
use crate::money::Currency;
use crate::span::{Span, parse_zone};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The account-wide policy values a command needs, taken from the catalog's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountPolicy {
    /// ACC-7: notices in one low-balance episode (the first, then one per repeat).
    pub low_balance_notices: u32,
    /// ACC-7: time between two low-balance notices.
    pub low_balance_repeat: Span,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            low_balance_notices: 5,
            low_balance_repeat: Span::days(1),
        }
    }
}

/// A coupon: value a product (or any product) may be paid with, one per charge (ACC-4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: CouponId,
    pub amount: Decimal,
    /// Products it pays for; `None` for all.
    pub products: Option<Vec<String>>,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl Coupon {
    fn applies_to(&self, product: &str, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|e| now < e)
            && self
                .products
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| p == product))
    }
}

/// Per-account counters. Sequences are per account (never global), so every write stays inside
/// one account's rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sequences {
    pub journal: i64,
    pub notice: i64,
    pub event: i64,
    pub coupon: u64,
    pub bill: u64,
    #[serde(default)]
    pub plan: u64,
    #[serde(default)]
    pub reservation: u64,
    #[serde(default)]
    pub subscription: u64,
}

/// An unpaid (or partly paid) bill, oldest first. Bills themselves arrive with pay-as-you-go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenBill {
    pub id: BillId,
    pub issued_at: Timestamp,
}

/// Everything the core knows of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: AccountId,
    pub currency: Currency,
    /// IANA zone name (TIME-1).
    pub zone: String,
    pub verified: bool,
    pub credit_line: Decimal,
    pub created_at: Timestamp,
    pub low_balance: LowBalance,
    pub coupons: Vec<Coupon>,
    /// Bills with an unpaid remainder, oldest first.
    pub open_bills: Vec<OpenBill>,
    /// Derived from the journal (ACC-2); equal to `Books::rebuild` of it at all times.
    pub books: Books,
    pub seq: Sequences,
    /// Every plan ever bought, expired and refunded ones included (PLAN-6: they stay queryable).
    #[serde(default)]
    pub plans: Vec<crate::plan::Plan>,
    /// Reservations of plan quota (PLAN-10): the open ones, and the newest lapsed ones.
    #[serde(default)]
    pub reservations: Vec<crate::reservation::Reservation>,
    /// Pay-as-you-go activation and what has accrued for the next bills (PAYG-1, PAYG-2).
    #[serde(default)]
    pub payg: crate::payg::PaygState,
    /// Usage statistics per day, product and meter (PAYG-4).
    #[serde(default)]
    pub usage_stats: std::collections::BTreeMap<String, crate::usage::UsageDay>,
    /// Per-product alert and repurchase settings and their armed state (PLAN-7, PLAN-9).
    #[serde(default)]
    pub alerts: std::collections::BTreeMap<String, crate::alerts::ProductAlerts>,
    /// Per-product service state under overdue (OVD-2…5).
    #[serde(default)]
    pub services: std::collections::BTreeMap<String, crate::overdue::ServiceState>,
    /// The overdue episode in progress, if any (OVD-1…5).
    #[serde(default)]
    pub overdue: crate::overdue::OverdueState,
    /// Every subscription instance, released ones included (SUB-1…10).
    #[serde(default)]
    pub subscriptions: Vec<crate::subscription::Subscription>,
}

/// What a command asks the shell to persist, in one transaction with the new state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub journal: Vec<JournalTx>,
    pub messages: Vec<Message>,
    pub schedule: Vec<DueAction>,
}

/// Which sources a charge may use (ACC-4 order: coupon, cash, credit line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaySources {
    pub coupon: bool,
    pub cash: bool,
    pub credit: bool,
}

impl PaySources {
    /// Purchases: everything.
    pub const ALL: PaySources = PaySources {
        coupon: true,
        cash: true,
        credit: true,
    };
    /// Auto-renewal (SUB-4, PLAN-9): coupons and cash only.
    pub const COUPON_AND_CASH: PaySources = PaySources {
        coupon: true,
        cash: true,
        credit: false,
    };
}

/// How a charge is paid (ACC-4), computed before anything moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentSplit {
    pub coupon: Option<(CouponId, Decimal)>,
    pub cash: Decimal,
    pub credit: Decimal,
    /// Only for charges that may be settled in part (PAYG-3).
    pub unpaid: Decimal,
}

impl PaymentSplit {
    pub fn paid(&self) -> Decimal {
        self.coupon.as_ref().map_or(Decimal::ZERO, |(_, a)| *a) + self.cash + self.credit
    }
}

/// A charge for something bought: what, how much, from which sources, and how to book it.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub product: String,
    pub amount: Decimal,
    pub sources: PaySources,
    /// The journal transaction's kind (`plan.purchase`, `subscription.renewal`…).
    pub kind: String,
    pub data: serde_json::Value,
}

/// The arguments of `open`, already parsed at the boundary.
#[derive(Debug, Clone)]
pub struct OpenAccount {
    pub id: AccountId,
    pub currency: Currency,
    pub zone: String,
    pub verified: bool,
    pub credit_line: Decimal,
    pub low_balance_threshold: Option<Decimal>,
}

/// An account's status, derived (OVD-1): overdue while any bill is unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Overdue,
}

impl AccountState {
    /// Opens an account. Validates the zone and the money values; refuses a currency other than
    /// the catalog's (a catalog prices in one currency, CAT-1).
    pub fn open(
        req: OpenAccount,
        catalog_currency: Currency,
        now: Timestamp,
    ) -> Result<AccountState, Refusal> {
        parse_zone(&req.zone)?;
        if req.currency != catalog_currency {
            return Err(Refusal::invalid(format!(
                "account currency {} differs from the catalog's {}",
                req.currency, catalog_currency
            )));
        }
        check_non_negative(req.currency, req.credit_line, "credit_line")?;
        if let Some(t) = req.low_balance_threshold {
            check_non_negative(req.currency, t, "low_balance_threshold")?;
        }
        Ok(AccountState {
            id: req.id,
            currency: req.currency,
            zone: req.zone,
            verified: req.verified,
            credit_line: req.credit_line,
            created_at: now,
            low_balance: LowBalance {
                threshold: req.low_balance_threshold,
                armed: true,
                sent: 0,
                epoch: 0,
            },
            coupons: Vec::new(),
            open_bills: Vec::new(),
            books: Books::default(),
            seq: Sequences::default(),
            plans: Vec::new(),
            reservations: Vec::new(),
            payg: Default::default(),
            usage_stats: Default::default(),
            alerts: Default::default(),
            services: Default::default(),
            overdue: Default::default(),
            subscriptions: Vec::new(),
        })
    }

    pub fn time_zone(&self) -> TimeZone {
        // The zone was validated when the account was opened.
        parse_zone(&self.zone).unwrap_or(TimeZone::UTC)
    }

    fn unit(&self) -> &str {
        self.currency.code()
    }

    /// The cash balance; negative while the credit line is in use.
    pub fn cash(&self) -> Decimal {
        self.books.get(self.unit(), &Book::Cash)
    }

    /// Sum of what open bills still owe.
    pub fn unpaid(&self) -> Decimal {
        let owed: Decimal = self
            .books
            .of_unit(self.unit())
            .filter(|(b, _)| matches!(b, Book::Unpaid(_)))
            .map(|(_, a)| *a)
            .sum();
        // Negating zero would give Decimal's negative zero ("-0.00").
        Decimal::ZERO - owed
    }

    /// ACC-3: available credit = cash + credit line − unpaid bills. Coupons are not part of it.
    pub fn available(&self) -> Decimal {
        self.cash() + self.credit_line - self.unpaid()
    }

    /// OVD-1: overdue while any bill is unpaid.
    pub fn status(&self) -> AccountStatus {
        if self.unpaid() > Decimal::ZERO {
            AccountStatus::Overdue
        } else {
            AccountStatus::Active
        }
    }

    /// What is left of a coupon (zero once used up or lapsed).
    pub fn coupon_remaining(&self, id: CouponId) -> Decimal {
        self.books.get(self.unit(), &Book::Coupon(id))
    }

    /// Total left on coupons that are still valid at `now`.
    pub fn coupons_remaining(&self, now: Timestamp) -> Decimal {
        self.coupons
            .iter()
            .filter(|c| c.expires_at.is_none_or(|e| now < e))
            .map(|c| self.coupon_remaining(c.id))
            .sum()
    }

    // ---- commands ---------------------------------------------------------------------------

    /// ACC-6: marks the identity verified. Idempotent.
    pub fn verify_identity(&mut self) -> Effects {
        self.verified = true;
        Effects::default()
    }

    /// ACC-5: adds cash, then settles unpaid bills oldest first from cash and credit line. When
    /// none remains, the overdue episode ends and what it stopped is restored (OVD-4).
    pub fn top_up(
        &mut self,
        catalog: &crate::catalog::Catalog,
        amount: Decimal,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        self.currency.check_amount(amount)?;
        if amount <= Decimal::ZERO {
            return Err(Refusal::invalid("top-up amount must be positive"));
        }
        let mut fx = Effects::default();
        let unit = self.unit().to_string();
        self.post_entries(
            &mut fx,
            now,
            "top_up",
            vec![
                entry(Book::Funding, &unit, -amount),
                entry(Book::Cash, &unit, amount),
            ],
            json!({ "amount": amount }),
        );
        let was_overdue = self.status() == AccountStatus::Overdue;
        self.settle_open_bills(&mut fx, now);
        if was_overdue && self.status() == AccountStatus::Active {
            self.end_overdue_episode(&mut fx, catalog, now);
            let id = self.id.to_string();
            let key = format!("restored:{}", self.seq.journal);
            self.emit(
                &mut fx,
                MessageKind::AccountRestored,
                &id,
                &key,
                json!({}),
                now,
            );
        }
        self.after_balance_change(&mut fx, policy, now);
        Ok(fx)
    }

    /// Grants a coupon worth `amount` for `products` (all when `None`), lapsing at `expires_at`.
    pub fn grant_coupon(
        &mut self,
        amount: Decimal,
        products: Option<Vec<String>>,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(CouponId, Effects), Refusal> {
        self.currency.check_amount(amount)?;
        if amount <= Decimal::ZERO {
            return Err(Refusal::invalid("coupon amount must be positive"));
        }
        if expires_at.is_some_and(|e| e <= now) {
            return Err(Refusal::invalid("coupon must expire after it is granted"));
        }
        self.seq.coupon += 1;
        let id = CouponId(self.seq.coupon);
        self.coupons.push(Coupon {
            id,
            amount,
            products: products.clone(),
            issued_at: now,
            expires_at,
        });
        let mut fx = Effects::default();
        let unit = self.unit().to_string();
        self.post_entries(
            &mut fx,
            now,
            "coupon.granted",
            vec![
                entry(Book::Promotion, &unit, -amount),
                entry(Book::Coupon(id), &unit, amount),
            ],
            json!({ "coupon": id, "products": products, "expires_at": expires_at }),
        );
        if let Some(at) = expires_at {
            fx.schedule.push(DueAction {
                key: format!("coupon_expiry:{}:{id}", self.id),
                account: self.id.clone(),
                due_at: at,
                kind: DueKind::CouponExpiry { coupon: id },
            });
        }
        Ok((id, fx))
    }

    /// ACC-4: how a charge of `amount` for `product` would be paid: at most one coupon for the
    /// product (largest remaining, then earliest expiry, then earliest issued), then cash, then
    /// credit line. Refused whole (`insufficient_funds`) when it cannot be covered, unless
    /// `partial`, where the rest is left unpaid (PAYG-3). Pure: nothing moves.
    pub fn payment_split(
        &self,
        product: &str,
        amount: Decimal,
        sources: PaySources,
        partial: bool,
        now: Timestamp,
    ) -> Result<PaymentSplit, Refusal> {
        assert!(amount >= Decimal::ZERO, "charges are never negative");
        let mut rest = amount;
        let coupon = if sources.coupon {
            self.coupons
                .iter()
                .filter(|c| c.applies_to(product, now))
                .map(|c| (c, self.coupon_remaining(c.id)))
                .filter(|(_, left)| *left > Decimal::ZERO)
                .min_by(|(a, la), (b, lb)| {
                    lb.cmp(la)
                        .then_with(|| match (a.expires_at, b.expires_at) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            (Some(_), None) => std::cmp::Ordering::Less,
                            (None, Some(_)) => std::cmp::Ordering::Greater,
                            (None, None) => std::cmp::Ordering::Equal,
                        })
                        .then_with(|| a.id.cmp(&b.id))
                })
                .map(|(c, left)| (c.id, left.min(rest)))
        } else {
            None
        };
        if let Some((_, used)) = coupon {
            rest -= used;
        }
        let cash_available = if sources.cash {
            self.cash().max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let cash = cash_available.min(rest);
        rest -= cash;
        let credit_available = if sources.credit {
            (self.credit_line + self.cash().min(Decimal::ZERO) - self.unpaid()).max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let credit = credit_available.min(rest);
        rest -= credit;
        if rest > Decimal::ZERO && !partial {
            return Err(Refusal::new(
                ErrorCode::InsufficientFunds,
                format!(
                    "{} {} cannot be covered: {} short",
                    self.currency.format(amount),
                    self.currency,
                    self.currency.format(rest)
                ),
            ));
        }
        Ok(PaymentSplit {
            coupon,
            cash,
            credit,
            unpaid: rest,
        })
    }

    /// Charges `amount` for `product` per ACC-4 and books it as revenue. Refused whole when it
    /// cannot be covered. Every purchase and renewal pays through here.
    pub fn charge(
        &mut self,
        charge: Charge,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(PaymentSplit, Effects), Refusal> {
        let Charge {
            product,
            amount,
            sources,
            kind,
            data,
        } = charge;
        let product = product.as_str();
        let kind = kind.as_str();
        if amount < Decimal::ZERO {
            return Err(Refusal::invalid("a charge is never negative"));
        }
        self.currency
            .check_amount(amount)
            .or_else(|e| if amount.is_zero() { Ok(amount) } else { Err(e) })?;
        let split = self.payment_split(product, amount, sources, false, now)?;
        let mut fx = Effects::default();
        let unit = self.unit().to_string();
        let mut entries = Vec::new();
        if let Some((id, used)) = split.coupon {
            entries.push(entry(Book::Coupon(id), &unit, -used));
        }
        let from_cash = split.cash + split.credit;
        if !from_cash.is_zero() {
            entries.push(entry(Book::Cash, &unit, -from_cash));
        }
        entries.push(entry(Book::Revenue(product.to_string()), &unit, amount));
        let mut data = data;
        if let Some(obj) = data.as_object_mut() {
            obj.insert("amount".into(), json!(amount));
            obj.insert("split".into(), json!(split));
        }
        self.post_entries(&mut fx, now, kind, entries, data);
        self.after_balance_change(&mut fx, policy, now);
        Ok((split, fx))
    }

    /// PAYG-3: charges a bill per ACC-4 but in part if need be; what cannot be covered stays
    /// unpaid and the account is overdue (OVD-1) until a top-up settles it (ACC-5).
    pub fn issue_bill(
        &mut self,
        product: &str,
        amount: Decimal,
        data: serde_json::Value,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(BillId, PaymentSplit, Effects), Refusal> {
        if amount <= Decimal::ZERO {
            return Err(Refusal::invalid("a bill is positive"));
        }
        let was_overdue = self.status() == AccountStatus::Overdue;
        let split = self.payment_split(product, amount, PaySources::ALL, true, now)?;
        self.seq.bill += 1;
        let bill = BillId(self.seq.bill);
        let unit = self.unit().to_string();
        let mut entries = Vec::new();
        if let Some((id, used)) = split.coupon {
            entries.push(entry(Book::Coupon(id), &unit, -used));
        }
        let from_cash = split.cash + split.credit;
        if !from_cash.is_zero() {
            entries.push(entry(Book::Cash, &unit, -from_cash));
        }
        if !split.unpaid.is_zero() {
            entries.push(entry(Book::Unpaid(bill), &unit, -split.unpaid));
            self.open_bills.push(OpenBill {
                id: bill,
                issued_at: now,
            });
        }
        entries.push(entry(Book::Revenue(product.to_string()), &unit, amount));
        let mut fx = Effects::default();
        let mut data = data;
        if let Some(obj) = data.as_object_mut() {
            obj.insert("bill".into(), json!(bill));
            obj.insert("amount".into(), json!(amount));
            obj.insert("split".into(), json!(split));
        }
        self.post_entries(&mut fx, now, "bill.issued", entries, data.clone());
        let id = self.id.to_string();
        self.emit(
            &mut fx,
            MessageKind::BillIssued,
            &bill.to_string(),
            &format!("bill:{bill}"),
            data,
            now,
        );
        if !was_overdue && self.status() == AccountStatus::Overdue {
            let unpaid = self.unpaid();
            self.emit(
                &mut fx,
                MessageKind::AccountOverdue,
                &id,
                &format!("overdue:{bill}"),
                json!({ "unpaid": unpaid }),
                now,
            );
        }
        self.after_balance_change(&mut fx, policy, now);
        Ok((bill, split, fx))
    }

    /// Runs a due action of this account. Stale or repeated actions do nothing (TIME-4).
    pub fn on_due(
        &mut self,
        kind: &DueKind,
        catalog: &crate::catalog::Catalog,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Effects {
        let mut fx = Effects::default();
        match kind {
            DueKind::LowBalanceRepeat { epoch, n } => {
                self.low_balance_repeat(&mut fx, *epoch, *n, policy, now)
            }
            DueKind::CouponExpiry { coupon } => {
                let left = self.coupon_remaining(*coupon);
                if left > Decimal::ZERO {
                    let unit = self.unit().to_string();
                    self.post_entries(
                        &mut fx,
                        now,
                        "coupon.expired",
                        vec![
                            entry(Book::Coupon(*coupon), &unit, -left),
                            entry(Book::Promotion, &unit, left),
                        ],
                        json!({ "coupon": coupon, "forfeited": left }),
                    );
                }
            }
            DueKind::PlanExpiry { plan } => {
                let remind = self
                    .plan(*plan)
                    .and_then(|p| catalog.product(&p.product))
                    .is_none_or(|p| p.plan_policy.remind_at_expiry);
                self.expire_plan(&mut fx, *plan, remind, now)
            }
            DueKind::PlanReset { plan, period_end } => {
                self.reset_plan(&mut fx, *plan, *period_end, now)
            }
            DueKind::PlanReminder { plan, before } => {
                self.remind_plan_expiry(&mut fx, *plan, *before, now)
            }
            DueKind::PlanRepurchase {
                product,
                expires_at,
            } => self.repurchase_before_expiry(&mut fx, catalog, product, *expires_at, policy, now),
            DueKind::BillCycle { product, cycle_end } => {
                self.bill_cycle(&mut fx, product, *cycle_end, policy, now);
                self.apply_overdue_impacts(&mut fx, catalog, now);
            }
            DueKind::ReservationTimeout { reservation } => {
                self.lapse_reservation(&mut fx, *reservation, now)
            }
            DueKind::OverdueStopWarning { product, epoch } => {
                self.overdue_stop_warning(&mut fx, catalog, product, *epoch, now)
            }
            DueKind::OverdueStop { product, epoch } => {
                self.overdue_stop(&mut fx, catalog, product, *epoch, now)
            }
            DueKind::OverdueReleaseWarning { product, epoch } => {
                self.overdue_release_warning(&mut fx, catalog, product, *epoch, now)
            }
            DueKind::OverdueRelease { product, epoch } => {
                self.overdue_release(&mut fx, product, *epoch, now)
            }
            DueKind::SubscriptionReminder {
                sub,
                expires_at,
                before,
            } => self.subscription_reminder(&mut fx, catalog, *sub, *expires_at, *before, now),
            DueKind::SubscriptionAutoRenew {
                sub,
                expires_at,
                day,
            } => {
                self.subscription_auto_renew(&mut fx, catalog, *sub, *expires_at, *day, policy, now)
            }
            DueKind::SubscriptionExpiry { sub, expires_at } => {
                self.subscription_expiry(&mut fx, catalog, *sub, *expires_at, now)
            }
            DueKind::SubscriptionGraceEnd { sub, expires_at } => {
                self.subscription_grace_end(&mut fx, *sub, *expires_at, now)
            }
            DueKind::SubscriptionReleaseWarning { sub, expires_at } => {
                self.subscription_release_warning(&mut fx, *sub, *expires_at, now)
            }
            DueKind::SubscriptionRelease { sub, expires_at } => {
                self.subscription_release(&mut fx, *sub, *expires_at, now)
            }
            DueKind::SubscriptionIdleCheck { sub, due_at } => {
                self.subscription_idle_check(&mut fx, *sub, *due_at, now)
            }
            DueKind::SubscriptionPaygDay { sub, day_end } => {
                self.subscription_payg_day(&mut fx, catalog, *sub, *day_end, policy, now);
                self.apply_overdue_impacts(&mut fx, catalog, now);
            }
        }
        fx
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// Appends a balanced journal transaction and applies it to the cached books.
    pub(crate) fn post_entries(
        &mut self,
        fx: &mut Effects,
        at: Timestamp,
        kind: &str,
        entries: Vec<Entry>,
        data: serde_json::Value,
    ) {
        self.seq.journal += 1;
        let tx = JournalTx {
            seq: self.seq.journal,
            at,
            kind: kind.to_string(),
            entries,
            data,
        };
        self.books.apply(&tx);
        fx.journal.push(tx);
    }

    /// Emits a notice to the customer and an event to the provider of the same kind.
    pub fn emit(
        &mut self,
        fx: &mut Effects,
        kind: MessageKind,
        subject: &str,
        key: &str,
        data: serde_json::Value,
        at: Timestamp,
    ) {
        for audience in [Audience::Notice, Audience::Event] {
            let seq = match audience {
                Audience::Notice => {
                    self.seq.notice += 1;
                    self.seq.notice
                }
                Audience::Event => {
                    self.seq.event += 1;
                    self.seq.event
                }
            };
            fx.messages.push(Message {
                seq,
                audience,
                kind,
                subject: subject.to_string(),
                at,
                dedup_key: key.to_string(),
                data: data.clone(),
            });
        }
    }

    /// Emits a provider event only (no customer notice).
    pub fn emit_event_only(
        &mut self,
        fx: &mut Effects,
        kind: MessageKind,
        subject: &str,
        key: &str,
        data: serde_json::Value,
        at: Timestamp,
    ) {
        self.seq.event += 1;
        fx.messages.push(Message {
            seq: self.seq.event,
            audience: Audience::Event,
            kind,
            subject: subject.to_string(),
            at,
            dedup_key: key.to_string(),
            data,
        });
    }

    /// ACC-5: pays open bills oldest first from cash and the credit line.
    fn settle_open_bills(&mut self, fx: &mut Effects, now: Timestamp) {
        let unit = self.unit().to_string();
        let bills: Vec<BillId> = self.open_bills.iter().map(|b| b.id).collect();
        for bill in bills {
            let owed = -self.books.get(&unit, &Book::Unpaid(bill));
            let spendable = (self.cash() + self.credit_line).max(Decimal::ZERO);
            let pay = owed.min(spendable);
            if pay <= Decimal::ZERO {
                break;
            }
            self.post_entries(
                fx,
                now,
                "bill.settled",
                vec![
                    entry(Book::Cash, &unit, -pay),
                    entry(Book::Unpaid(bill), &unit, pay),
                ],
                json!({ "bill": bill, "paid": pay }),
            );
        }
        self.open_bills
            .retain(|b| self.books.get(&unit, &Book::Unpaid(b.id)) < Decimal::ZERO);
    }
}

fn entry(book: Book, unit: &str, amount: Decimal) -> Entry {
    Entry {
        book,
        unit: unit.to_string(),
        amount,
    }
}

pub(crate) fn check_non_negative(
    currency: Currency,
    amount: Decimal,
    field: &str,
) -> Result<(), Refusal> {
    if amount < Decimal::ZERO {
        return Err(Refusal::invalid(format!("{field} must not be negative")));
    }
    if !amount.is_zero() {
        currency
            .check_amount(amount)
            .map_err(|r| Refusal::invalid(format!("{field}: {}", r.detail)))?;
    }
    Ok(())
}

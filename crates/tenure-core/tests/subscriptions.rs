//! SUB-1…10 on the pure core with the demo catalog: due actions run in time order by a tiny
//! scheduler, as `advance` does, each run twice to prove TIME-4.

mod common;

use common::DueQueue;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;
use tenure_core::account::{AccountPolicy, AccountState, AccountStatus, Effects};
use tenure_core::catalog::{Catalog, demo};
use tenure_core::due::DueKind;
use tenure_core::ids::SubscriptionId;
use tenure_core::ledger::{Books, JournalTx};
use tenure_core::message::{Audience, Message, MessageKind};
use tenure_core::subscription::{
    CoTermDay, RenewalMode, RenewalQuote, SubEvent, SubStatus, TRANSITIONS, transition,
};
use tenure_core::usage::UsageEvent;
use tenure_core::{ErrorCode, Refusal, Span};

const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn span(s: &str) -> Span {
    Span::parse(s).unwrap()
}

/// One account, its catalog, its due-action queue and everything it emitted.
struct World {
    c: Catalog,
    a: AccountState,
    due: DueQueue,
    messages: Vec<Message>,
    journal: Vec<JournalTx>,
    now: Timestamp,
    events: u32,
}

impl World {
    fn new(c: Catalog, start: &str) -> World {
        World::with_credit(c, start, Decimal::ZERO)
    }

    fn with_credit(c: Catalog, start: &str, credit_line: Decimal) -> World {
        let now = ts(start);
        let a = common::open_acme(now, credit_line);
        World {
            c,
            a,
            due: DueQueue::default(),
            messages: Vec::new(),
            journal: Vec::new(),
            now,
            events: 0,
        }
    }

    /// Persists a decision's effects; a key scheduled twice is scheduled once.
    fn take(&mut self, fx: Effects) {
        self.messages.extend(fx.messages);
        self.journal.extend(fx.journal);
        for due in &fx.schedule {
            assert!(due.due_at >= self.now, "{due:?} is scheduled in the past");
        }
        self.due.schedule(fx.schedule);
        assert_eq!(Books::rebuild(&self.journal), self.a.books);
    }

    /// Runs every due action up to and including `to`, in time order (then scheduling order),
    /// each at its own instant, and each twice (TIME-4: the second run does nothing).
    fn advance_to(&mut self, to: Timestamp) {
        while let Some(due) = self.due.next_until(to) {
            self.now = self.now.max(due.due_at);
            let fx = common::run_twice(&mut self.a, &due, &self.c, &P);
            self.take(fx);
        }
        self.now = to;
    }

    fn advance(&mut self, by: &str) {
        let to = span(by).add_to(self.now, &self.a.time_zone()).unwrap();
        self.advance_to(to);
    }

    fn top_up(&mut self, amount: &str) {
        let fx = self.a.top_up(&self.c, d(amount), &P, self.now).unwrap();
        self.take(fx);
    }

    fn subscribe(
        &mut self,
        product: &str,
        edition: &str,
        term: Option<&str>,
        mode: RenewalMode,
    ) -> Result<SubscriptionId, Refusal> {
        let c = self.c.clone();
        let p = c.product(product).unwrap();
        let e = p.edition(edition).unwrap();
        let (id, fx) = self
            .a
            .subscribe(p, e, term.map(span), mode, 7, &P, self.now)?;
        self.take(fx);
        Ok(id)
    }

    fn phone(&mut self) -> SubscriptionId {
        self.subscribe("phone", "phone-std", Some("1 month"), RenewalMode::Manual)
            .unwrap()
    }

    fn renew(
        &mut self,
        sub: SubscriptionId,
        term: &str,
        day: Option<CoTermDay>,
    ) -> Result<RenewalQuote, Refusal> {
        let c = self.c.clone();
        let p = c
            .product(&self.a.subscription(sub).unwrap().product)
            .unwrap();
        let (q, fx) = self
            .a
            .renew_subscription(p, sub, span(term), day, &P, self.now)?;
        self.take(fx);
        Ok(q)
    }

    fn set_mode(&mut self, sub: SubscriptionId, mode: RenewalMode) -> Result<Effects, Refusal> {
        let c = self.c.clone();
        let p = c
            .product(&self.a.subscription(sub).unwrap().product)
            .unwrap();
        let fx = self.a.set_renewal_mode(p, sub, mode, self.now)?;
        self.take(fx.clone());
        Ok(fx)
    }

    fn unsubscribe(&mut self, sub: SubscriptionId) -> Result<Decimal, Refusal> {
        let c = self.c.clone();
        let p = c
            .product(&self.a.subscription(sub).unwrap().product)
            .unwrap();
        let (refund, fx) = self.a.unsubscribe(p, sub, &P, self.now)?;
        self.take(fx);
        Ok(refund.refund)
    }

    fn usage(&mut self, meter: &str, quantity: u64) {
        self.events += 1;
        let ev = UsageEvent {
            id: format!("e{}", self.events),
            meter: meter.into(),
            quantity,
            at: self.now,
            dimensions: None,
        };
        let (_, fx) = self
            .a
            .apply_usage(&self.c, &ev, Span::hours(48), &P, self.now);
        self.take(fx);
    }

    /// msg pay-as-you-go with no money: an unpaid bill an hour later, the account overdue.
    fn go_overdue(&mut self) {
        let fx = self
            .a
            .activate_payg(self.c.product("msg").unwrap())
            .unwrap();
        self.take(fx);
        self.usage("msg.send", 100);
        self.advance("1h");
        assert_eq!(self.a.status(), AccountStatus::Overdue);
    }

    fn status(&self, sub: SubscriptionId) -> SubStatus {
        self.a.subscription(sub).unwrap().status
    }

    fn expires_at(&self, sub: SubscriptionId) -> Option<Timestamp> {
        self.a.subscription(sub).unwrap().expires_at
    }

    fn notices(&self, kind: MessageKind) -> usize {
        count(&self.messages, Audience::Notice, kind)
    }

    fn events_of(&self, kind: MessageKind) -> usize {
        count(&self.messages, Audience::Event, kind)
    }

    /// The instants of the notices of `kind` about `sub`.
    fn notice_times(&self, kind: MessageKind, sub: SubscriptionId) -> Vec<Timestamp> {
        self.messages
            .iter()
            .filter(|m| {
                m.audience == Audience::Notice && m.kind == kind && m.subject == sub.to_string()
            })
            .map(|m| m.at)
            .collect()
    }
}

fn count(messages: &[Message], audience: Audience, kind: MessageKind) -> usize {
    messages
        .iter()
        .filter(|m| m.audience == audience && m.kind == kind)
        .count()
}

fn code<T: std::fmt::Debug>(r: Result<T, Refusal>) -> ErrorCode {
    r.unwrap_err().code
}

/// The demo catalog where the IoT Enterprise Edition offers a 15-day trial.
fn demo_with_iot_trial() -> Catalog {
    let mut c = demo();
    let iot = c.products.iter_mut().find(|p| p.id == "iot").unwrap();
    let ent = iot
        .editions
        .iter_mut()
        .find(|e| e.id == "iot-enterprise")
        .unwrap();
    ent.trial = Some(Span::days(15));
    c
}

// ---- the transition table ------------------------------------------------------------------

#[test]
fn sub_machine_one_row_per_pair_each_naming_its_rule() {
    for (i, a) in TRANSITIONS.iter().enumerate() {
        for b in &TRANSITIONS[i + 1..] {
            assert!((a.from, a.on) != (b.from, b.on), "duplicate row {a:?}");
        }
        assert!(
            a.rule.starts_with("SUB-") || a.rule.starts_with("OVD-"),
            "{a:?} names no rule"
        );
        assert!(
            a.kind.as_str().starts_with("subscription."),
            "{a:?}: a subscription transition emits a subscription event"
        );
    }
    // Released is final; every other status has a way out; everything but payg renews.
    for st in SubStatus::ALL {
        let rows = TRANSITIONS.iter().filter(|t| t.from == st).count();
        assert_eq!(rows == 0, st == SubStatus::Released, "{st}");
        let renewable = transition(st, SubEvent::Renew).is_some();
        let want = !matches!(st, SubStatus::Released | SubStatus::Payg);
        assert_eq!(renewable, want, "{st}: renewable until released (SUB-6)");
    }
    // Every status is reachable.
    for st in SubStatus::ALL {
        let start = matches!(st, SubStatus::Active | SubStatus::Trial);
        assert!(
            start || TRANSITIONS.iter().any(|t| t.to == st && t.from != st),
            "{st} is unreachable"
        );
    }
    for st in SubStatus::ALL {
        assert_eq!(SubStatus::parse(st.as_str()), Some(st));
    }
}

// ---- SUB-1, SUB-3, SUB-6: the shared phone scenario ----------------------------------------

#[test]
fn sub_1_sub_3_sub_6_phone_manual_renewal_scenario() {
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("300.00");
    let kept = w.phone();
    let dropped = w.phone();
    assert_eq!(kept, SubscriptionId(1));
    assert_eq!(dropped.to_string(), "s2");
    assert_eq!(w.expires_at(kept), Some(ts("2026-02-15T14:00:00+08:00")));
    let q = w.renew(kept, "1 month", None).unwrap();
    assert_eq!(q.total, d("99.00"));
    assert_eq!(q.new_expires_at, ts("2026-03-15T14:00:00+08:00"));
    assert_eq!(w.expires_at(kept), Some(ts("2026-03-15T14:00:00+08:00")));
    assert_eq!(w.a.cash(), d("3.00"));
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 1);

    w.advance_to(ts("2026-02-15T13:59:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Active);
    w.advance_to(ts("2026-02-16T14:00:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Grace);
    assert_eq!(w.status(kept), SubStatus::Active);
    w.advance_to(ts("2026-03-02T13:59:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Grace);
    w.advance_to(ts("2026-03-02T14:00:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Retention);
    assert_eq!(w.notices(MessageKind::SubscriptionFrozen), 1);
    w.advance_to(ts("2026-03-17T13:59:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Retention);
    w.advance_to(ts("2026-03-17T14:00:00+08:00"));
    assert_eq!(w.status(dropped), SubStatus::Released);
    assert_eq!(w.status(kept), SubStatus::Grace);
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
    // Warned release_warning_before (3 days) before the release.
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionReleaseWarning, dropped),
        vec![ts("2026-03-14T14:00:00+08:00")]
    );
    // Manual mode: the 7d, 3d and 1d reminders of each expiry that was reached.
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionExpiring, dropped),
        vec![
            ts("2026-02-08T14:00:00+08:00"),
            ts("2026-02-12T14:00:00+08:00"),
            ts("2026-02-14T14:00:00+08:00"),
            ts("2026-02-15T14:00:00+08:00"), // at expiry, into grace
        ]
    );
    let k = w.a.subscription(kept).unwrap();
    assert_eq!((k.paid_total, k.renewal()), (d("198.00"), "manual"));
    assert_eq!(k.catalog_version, 7);
    assert_eq!(w.a.subscription(dropped).unwrap().paid_total, d("99.00"));
    // Renewable until released: the released one is not.
    assert_eq!(
        code(w.renew(dropped, "1 month", None)),
        ErrorCode::NotRenewable
    );
    // The product is in use while an instance lives (OVD-2).
    assert!(w.a.products_in_use().contains("phone"));
}

#[test]
fn sub_1_expiry_is_clamped_to_the_month_end_in_the_account_zone() {
    let mut w = World::new(demo(), "2026-01-31T10:00:00+08:00");
    w.top_up("2000.00");
    let s = w.phone();
    assert_eq!(w.expires_at(s), Some(ts("2026-02-28T10:00:00+08:00")));
    let y = w
        .subscribe("phone", "phone-std", Some("1 year"), RenewalMode::Manual)
        .unwrap();
    assert_eq!(w.expires_at(y), Some(ts("2027-01-31T10:00:00+08:00")));
    assert_eq!(w.a.subscription(y).unwrap().paid_total, d("990.00"));
    assert_eq!(w.a.cash(), d("2000.00") - d("99.00") - d("990.00"));
}

#[test]
fn sub_1_terms_not_sold_are_invalid_and_change_nothing() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("10000.00");
    let before = w.a.clone();
    for term in [Some("10 months"), Some("4 years"), Some("30d"), None] {
        let r = w.subscribe("phone", "phone-std", term, RenewalMode::Manual);
        assert_eq!(code(r), ErrorCode::InvalidTerm, "{term:?}");
    }
    let r = w.subscribe("iot", "iot-enterprise", Some("1 year"), RenewalMode::Manual);
    // 1 year is sold (12 × 3,000.00), but not affordable.
    assert_eq!(code(r), ErrorCode::InsufficientFunds);
    let mut w2 = World::new(demo(), "2026-03-01T09:00:00+08:00");
    let r = w2.subscribe("iot", "iot-public", Some("1 month"), RenewalMode::Manual);
    assert_eq!(code(r), ErrorCode::InvalidTerm);
    // Not enough money: refused whole.
    let r = w2.subscribe("phone", "phone-std", Some("1 month"), RenewalMode::Manual);
    assert_eq!(code(r), ErrorCode::InsufficientFunds);
    assert!(w2.a.subscriptions.is_empty());
    assert_eq!(w2.a.seq.subscription, 0);
    assert_eq!(w.a, before, "refusals change nothing");
}

#[test]
fn sub_1_a_free_edition_never_expires_and_a_trial_costs_nothing() {
    let mut w = World::new(demo_with_iot_trial(), "2026-03-01T09:00:00+08:00");
    let public = w
        .subscribe("iot", "iot-public", None, RenewalMode::Manual)
        .unwrap();
    let p = w.a.subscription(public).unwrap();
    assert_eq!(
        (p.status, p.expires_at, p.paid_total),
        (SubStatus::Active, None, d("0"))
    );
    let trial = w
        .subscribe("iot", "iot-enterprise", None, RenewalMode::Manual)
        .unwrap();
    let t = w.a.subscription(trial).unwrap();
    assert_eq!(t.status, SubStatus::Trial);
    assert_eq!(t.expires_at, Some(ts("2026-03-16T09:00:00+08:00")));
    assert_eq!(t.paid_total, Decimal::ZERO);
    // A free instance has no renewal but manual.
    assert_eq!(
        code(w.set_mode(
            public,
            RenewalMode::Auto {
                period: span("1 month")
            }
        )),
        ErrorCode::AutoRenewNotAllowed
    );
    assert_eq!(
        code(w.set_mode(public, RenewalMode::Canceled)),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.renew(public, "1 month", None)),
        ErrorCode::NotRenewable
    );
    // The trial ends into the product's flow (iot: stopped, released 15 days later). Keep it
    // in use so it does not freeze first.
    w.advance("10d");
    w.usage("iot.msg", 1);
    w.advance_to(ts("2026-03-16T09:00:00+08:00"));
    assert_eq!(w.status(trial), SubStatus::Stopped);
    assert_eq!(w.notices(MessageKind::SubscriptionStopped), 1);
    // Renewable while stopped: the first paid term starts at the trial's end.
    w.top_up("3000.00");
    w.renew(trial, "1 month", None).unwrap();
    assert_eq!(w.status(trial), SubStatus::Active);
    assert_eq!(w.expires_at(trial), Some(ts("2026-04-16T09:00:00+08:00")));
    assert!(!w.a.subscription(trial).unwrap().trial);
}

// ---- SUB-2: modes and reminders ----------------------------------------------------------------

#[test]
fn sub_2_auto_needs_an_allowed_period_and_any_mode_goes_back_to_manual() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("6000.00");
    let s = w
        .subscribe(
            "iot",
            "iot-enterprise",
            Some("1 month"),
            RenewalMode::Manual,
        )
        .unwrap();
    let r = w.set_mode(
        s,
        RenewalMode::Auto {
            period: span("1 year"),
        },
    );
    assert_eq!(code(r), ErrorCode::InvalidTerm);
    let r = w.subscribe(
        "iot",
        "iot-enterprise",
        Some("1 month"),
        RenewalMode::Auto {
            period: span("2 months"),
        },
    );
    assert_eq!(code(r), ErrorCode::InvalidTerm);
    for mode in [
        RenewalMode::Auto {
            period: span("1 month"),
        },
        RenewalMode::Manual,
        RenewalMode::Canceled,
        RenewalMode::Manual,
        RenewalMode::PaygAfterExpiry,
        RenewalMode::Manual,
    ] {
        w.set_mode(s, mode).unwrap();
        assert_eq!(w.a.subscription(s).unwrap().mode, mode);
    }
    assert_eq!(
        RenewalMode::parse("auto", Some(span("1 month"))).unwrap(),
        RenewalMode::Auto {
            period: span("1 month")
        }
    );
    assert!(RenewalMode::parse("auto", None).is_err());
    assert!(RenewalMode::parse("weekly", None).is_err());
}

#[test]
fn sub_2_canceled_gets_one_notice_three_days_before_and_manual_gets_the_reminders() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("300.00");
    let manual = w.phone();
    let canceled = w.phone();
    w.set_mode(canceled, RenewalMode::Canceled).unwrap();
    w.advance_to(ts("2026-04-01T08:59:00+08:00"));
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionExpiring, canceled),
        vec![ts("2026-03-29T09:00:00+08:00")]
    );
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionExpiring, manual),
        vec![
            ts("2026-03-25T09:00:00+08:00"),
            ts("2026-03-29T09:00:00+08:00"),
            ts("2026-03-31T09:00:00+08:00"),
        ]
    );
    // A canceled instance still follows the expiry flow.
    w.advance_to(ts("2026-04-01T09:00:00+08:00"));
    assert_eq!(w.status(canceled), SubStatus::Grace);
}

// ---- SUB-3: renewal blockers -------------------------------------------------------------------

#[test]
fn sub_3_renewal_is_refused_with_its_own_reason() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("600.00");
    let phone = w.phone();
    let payg = w
        .subscribe(
            "phone",
            "phone-std",
            Some("1 month"),
            RenewalMode::PaygAfterExpiry,
        )
        .unwrap();
    let gone = w.phone();
    w.unsubscribe(gone).unwrap();
    assert_eq!(
        code(w.renew(gone, "1 month", None)),
        ErrorCode::NotRenewable
    );
    assert_eq!(
        code(w.renew(phone, "10 months", None)),
        ErrorCode::InvalidTerm
    );
    assert_eq!(
        code(w.renew(phone, "2 weeks", None)),
        ErrorCode::InvalidTerm
    );
    // SUB-5 is not offered for iot (co_term off).
    w.top_up("3000.00");
    let iot = w
        .subscribe(
            "iot",
            "iot-enterprise",
            Some("1 month"),
            RenewalMode::Manual,
        )
        .unwrap();
    assert_eq!(
        code(w.renew(iot, "1 month", Some(CoTermDay::Last))),
        ErrorCode::InvalidInput
    );
    w.advance_to(ts("2026-04-01T09:00:00+08:00"));
    assert_eq!(w.status(payg), SubStatus::Payg);
    assert_eq!(
        code(w.renew(payg, "1 month", None)),
        ErrorCode::NotRenewable
    );
    // Overdue under block_fee_operations: subscribing is refused …
    let mut o = World::new(demo(), "2026-03-01T09:00:00+08:00");
    o.go_overdue();
    o.top_up("5.00"); // 5.50 owed: still overdue
    assert_eq!(o.a.status(), AccountStatus::Overdue);
    let r = o.subscribe("phone", "phone-std", Some("1 month"), RenewalMode::Manual);
    assert_eq!(code(r), ErrorCode::AccountOverdue);
    // … but not a free public instance (impact none).
    let public = o
        .subscribe("iot", "iot-public", None, RenewalMode::Manual)
        .unwrap();
    assert_eq!(o.status(public), SubStatus::Active);
}

#[test]
fn sub_3_renewing_in_overdue_is_account_overdue_and_released_comes_first() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("198.00");
    let phone = w.phone();
    let gone = w.phone();
    w.unsubscribe(gone).unwrap();
    let fx = w.a.activate_payg(w.c.product("msg").unwrap()).unwrap();
    w.take(fx);
    w.usage("msg.send", 100_000);
    w.advance("1h");
    assert_eq!(w.a.status(), AccountStatus::Overdue);
    assert_eq!(
        code(w.renew(phone, "1 month", None)),
        ErrorCode::AccountOverdue
    );
    assert_eq!(
        code(w.renew(gone, "1 month", None)),
        ErrorCode::NotRenewable
    );
}

#[test]
fn sub_3_renewing_in_grace_pays_for_the_gap() {
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("198.00");
    let s = w.phone();
    w.advance_to(ts("2026-02-20T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Grace);
    let q = w.renew(s, "1 month", None).unwrap();
    assert_eq!(q.new_expires_at, ts("2026-03-15T14:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    // The grace's stages are stale now.
    w.advance_to(ts("2026-03-15T13:59:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    assert_eq!(w.notices(MessageKind::SubscriptionFrozen), 0);
    assert_eq!(w.notices(MessageKind::SubscriptionReleaseWarning), 0);
    w.advance_to(ts("2026-03-15T14:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Grace);
    // In retention, too.
    w.advance_to(ts("2026-03-31T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Retention);
    w.top_up("99.00");
    w.renew(s, "1 month", None).unwrap();
    assert_eq!(w.expires_at(s), Some(ts("2026-04-15T14:00:00+08:00")));
    assert_eq!(w.status(s), SubStatus::Active);
    w.advance_to(ts("2026-05-10T00:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Retention);
    w.advance_to(ts("2026-05-15T14:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Released);
}

// ---- SUB-5 ----------------------------------------------------------------------------------------

#[test]
fn sub_5_the_rules_example_last_day_and_day_one() {
    let mut w = World::new(demo(), "2026-02-25T10:00:00+08:00");
    w.top_up("400.00");
    let s = w.phone();
    assert_eq!(w.expires_at(s), Some(ts("2026-03-25T10:00:00+08:00")));
    let c = w.c.clone();
    let phone = c.product("phone").unwrap();
    let last =
        w.a.renewal_quote(phone, s, span("1 month"), Some(CoTermDay::Last), w.now)
            .unwrap();
    assert_eq!(
        last,
        RenewalQuote {
            price: d("99.00"),
            extra_days: 5,
            extra_price: d("16.50"), // 99 ÷ 30 × 5
            total: d("115.50"),
            new_expires_at: ts("2026-04-30T10:00:00+08:00"),
        }
    );
    let first =
        w.a.renewal_quote(phone, s, span("1 month"), Some(CoTermDay::Day(1)), w.now)
            .unwrap();
    assert_eq!(first.new_expires_at, ts("2026-05-01T10:00:00+08:00"));
    assert_eq!((first.extra_days, first.extra_price), (6, d("19.80")));
    // The normal end itself when it is that day already.
    let same =
        w.a.renewal_quote(phone, s, span("1 month"), Some(CoTermDay::Day(25)), w.now)
            .unwrap();
    assert_eq!((same.extra_days, same.total), (0, d("99.00")));
    // Yearly terms prorate by the yearly price ÷ 365.
    let year =
        w.a.renewal_quote(phone, s, span("1 year"), Some(CoTermDay::Last), w.now)
            .unwrap();
    assert_eq!(year.new_expires_at, ts("2027-03-31T10:00:00+08:00"));
    assert_eq!(year.extra_price, d("16.27")); // 990 × 6 ÷ 365 = 16.274
    // Paying it.
    let q = w.renew(s, "1 month", Some(CoTermDay::Last)).unwrap();
    assert_eq!(q, last);
    assert_eq!(w.expires_at(s), Some(ts("2026-04-30T10:00:00+08:00")));
    assert_eq!(w.a.cash(), d("400.00") - d("99.00") - d("115.50"));
    assert_eq!(w.a.subscription(s).unwrap().paid_total, d("214.50"));
}

// ---- SUB-4 ----------------------------------------------------------------------------------------

fn iot_auto(w: &mut World) -> SubscriptionId {
    w.subscribe(
        "iot",
        "iot-enterprise",
        Some("1 month"),
        RenewalMode::Auto {
            period: span("1 month"),
        },
    )
    .unwrap()
}

#[test]
fn sub_4_nine_attempts_at_eight_failures_notified_then_success() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("3000.00");
    let s = iot_auto(&mut w);
    assert_eq!(w.expires_at(s), Some(ts("2026-04-01T09:00:00+08:00")));
    assert_eq!(w.a.cash(), Decimal::ZERO);
    w.advance_to(ts("2026-03-23T07:59:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 0);
    w.advance_to(ts("2026-03-26T12:00:00+08:00"));
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionAutoRenewFailed, s),
        vec![
            ts("2026-03-23T08:00:00+08:00"),
            ts("2026-03-24T08:00:00+08:00"),
            ts("2026-03-25T08:00:00+08:00"),
            ts("2026-03-26T08:00:00+08:00"),
        ]
    );
    assert_eq!(w.events_of(MessageKind::SubscriptionAutoRenewFailed), 4);
    w.top_up("3000.00");
    w.advance_to(ts("2026-03-27T08:00:00+08:00"));
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionRenewed, s),
        vec![ts("2026-03-27T08:00:00+08:00")]
    );
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
    assert_eq!(w.a.cash(), Decimal::ZERO);
    assert_eq!(w.status(s), SubStatus::Active);
    // No more attempts for the old expiry; the next cycle starts on 2026-04-22.
    w.advance_to(ts("2026-04-22T07:59:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 4);
    assert_eq!(w.notices(MessageKind::SubscriptionStopped), 0);
    w.advance_to(ts("2026-04-22T08:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 5);
    assert_eq!(w.a.subscription(s).unwrap().paid_total, d("6000.00"));
}

#[test]
fn sub_4_at_most_nine_attempts_then_the_expiry_flow() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("3000.00");
    let s = iot_auto(&mut w);
    w.advance_to(ts("2026-04-01T08:59:00+08:00"));
    let times = w.notice_times(MessageKind::SubscriptionAutoRenewFailed, s);
    let want: Vec<Timestamp> = (23..=31)
        .map(|day| ts(&format!("2026-03-{day}T08:00:00+08:00")))
        .collect();
    assert_eq!(times, want, "T-9 … T-1 at 08:00 local");
    assert_eq!(w.status(s), SubStatus::Active);
    w.advance_to(ts("2026-04-01T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Stopped);
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 9);
    // Released 15 days after expiry, warned 3 days before.
    w.advance_to(ts("2026-04-16T08:59:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Stopped);
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionReleaseWarning, s),
        vec![ts("2026-04-13T09:00:00+08:00")]
    );
    w.advance_to(ts("2026-04-16T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Released);
    assert_eq!(w.events_of(MessageKind::SubscriptionReleased), 1);
    assert!(!w.a.products_in_use().contains("iot"));
}

#[test]
fn sub_4_pays_with_coupons_and_cash_only_never_the_credit_line() {
    let mut w = World::with_credit(demo(), "2026-03-01T09:00:00+08:00", d("10000.00"));
    // The purchase may use the credit line (ACC-4) …
    let s = iot_auto(&mut w);
    assert_eq!(w.a.cash(), d("-3000.00"));
    // … the auto-renewal may not.
    w.advance_to(ts("2026-03-23T08:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 1);
    let failed = w
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::SubscriptionAutoRenewFailed)
        .unwrap();
    assert_eq!(failed.data["reason"], "insufficient_funds");
    assert_eq!(failed.data["attempt"], 1);
    let (_, fx) =
        w.a.grant_coupon(d("3000.00"), Some(vec!["iot".into()]), None, w.now)
            .unwrap();
    w.take(fx);
    w.advance_to(ts("2026-03-24T08:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 1);
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
    assert_eq!(w.a.cash(), d("-3000.00"));
}

#[test]
fn sub_4_a_manual_renewal_before_the_attempt_skips_that_cycle() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("6000.00");
    let s = iot_auto(&mut w);
    w.advance_to(ts("2026-03-20T10:00:00+08:00"));
    w.renew(s, "1 month", None).unwrap();
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
    // No attempt for the old expiry: neither a charge nor a failure notice.
    w.advance_to(ts("2026-04-21T09:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 0);
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 1);
    assert_eq!(w.a.cash(), Decimal::ZERO);
    // The new cycle's attempts run (and fail: no money) from 2026-04-22 08:00.
    w.advance_to(ts("2026-04-22T08:00:00+08:00"));
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionAutoRenewFailed, s),
        vec![ts("2026-04-22T08:00:00+08:00")]
    );
    // A manual renewal after a failed attempt also ends that cycle's attempts.
    w.top_up("3000.00");
    w.renew(s, "1 month", None).unwrap();
    w.advance_to(ts("2026-05-21T09:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 1);
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 2);
}

#[test]
fn sub_4_enabling_auto_after_the_first_attempt_time_attempts_at_once() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("6000.00");
    let s = w
        .subscribe(
            "iot",
            "iot-enterprise",
            Some("1 month"),
            RenewalMode::Manual,
        )
        .unwrap();
    w.advance_to(ts("2026-03-25T12:30:00+08:00"));
    let fx = w
        .set_mode(
            s,
            RenewalMode::Auto {
                period: span("1 month"),
            },
        )
        .unwrap();
    let attempt = fx
        .schedule
        .iter()
        .find(|due| matches!(due.kind, DueKind::SubscriptionAutoRenew { .. }))
        .unwrap();
    assert_eq!(attempt.due_at, w.now);
    w.advance_to(w.now);
    assert_eq!(
        w.notice_times(MessageKind::SubscriptionRenewed, s),
        vec![ts("2026-03-25T12:30:00+08:00")]
    );
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
    // Enabled before the first attempt time: it waits for it.
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("6000.00");
    let s = w
        .subscribe(
            "iot",
            "iot-enterprise",
            Some("1 month"),
            RenewalMode::Manual,
        )
        .unwrap();
    let fx = w
        .set_mode(
            s,
            RenewalMode::Auto {
                period: span("1 month"),
            },
        )
        .unwrap();
    assert_eq!(fx.schedule[0].due_at, ts("2026-03-23T08:00:00+08:00"));
}

#[test]
fn sub_4_switching_to_manual_makes_pending_attempts_stale() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("3000.00");
    let s = iot_auto(&mut w);
    w.advance_to(ts("2026-03-23T08:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 1);
    w.set_mode(s, RenewalMode::Manual).unwrap();
    w.top_up("3000.00");
    w.advance_to(ts("2026-03-31T23:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionAutoRenewFailed), 1);
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 0);
    // Back to auto the same evening: attempts at once, once per day.
    w.set_mode(
        s,
        RenewalMode::Auto {
            period: span("1 month"),
        },
    )
    .unwrap();
    w.advance_to(w.now);
    assert_eq!(w.notices(MessageKind::SubscriptionRenewed), 1);
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
}

// ---- SUB-6: stop then release (iot) ------------------------------------------------------------

#[test]
fn sub_6_iot_stops_at_expiry_and_is_renewable_until_released() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("6000.00");
    let s = w
        .subscribe(
            "iot",
            "iot-enterprise",
            Some("1 month"),
            RenewalMode::Manual,
        )
        .unwrap();
    w.advance_to(ts("2026-04-01T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Stopped);
    assert_eq!(w.notices(MessageKind::SubscriptionStopped), 1);
    assert_eq!(w.events_of(MessageKind::SubscriptionStopped), 1);
    w.advance_to(ts("2026-04-15T09:00:00+08:00"));
    w.renew(s, "1 month", None).unwrap();
    assert_eq!(w.status(s), SubStatus::Active);
    assert_eq!(w.expires_at(s), Some(ts("2026-05-01T09:00:00+08:00")));
    w.advance_to(ts("2026-04-30T00:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 0);
}

// ---- SUB-7 ----------------------------------------------------------------------------------------

#[test]
fn sub_7_payg_after_expiry_bills_one_day_at_a_time() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    w.top_up("110.00");
    let s = w
        .subscribe(
            "phone",
            "phone-std",
            Some("1 month"),
            RenewalMode::PaygAfterExpiry,
        )
        .unwrap();
    w.advance_to(ts("2026-04-01T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Payg);
    assert_eq!(w.a.subscription(s).unwrap().renewal(), "payg_after_expiry");
    w.advance_to(ts("2026-04-02T08:59:00+08:00"));
    assert!(w.a.payg.bills.is_empty());
    w.advance_to(ts("2026-04-04T09:00:00+08:00"));
    assert_eq!(w.a.payg.bills.len(), 3);
    assert!(w.a.payg.bills.iter().all(|b| b.total == d("3.30"))); // 99 ÷ 30
    assert_eq!(w.a.cash(), d("11.00") - d("9.90"));
    assert_eq!(w.notices(MessageKind::BillIssued), 3);
    assert_eq!(code(w.renew(s, "1 month", None)), ErrorCode::NotRenewable);
    assert_eq!(
        code(w.set_mode(s, RenewalMode::Manual)),
        ErrorCode::NotRenewable
    );
    // Unpaid days make the account overdue (PAYG-3).
    w.advance_to(ts("2026-04-05T09:00:00+08:00"));
    assert_eq!(w.a.status(), AccountStatus::Overdue);
    // Unsubscribing ends the billing.
    assert_eq!(w.unsubscribe(s).unwrap(), Decimal::ZERO);
    assert_eq!(w.status(s), SubStatus::Released);
    w.advance("10d");
    assert_eq!(w.a.payg.bills.len(), 4);
}

// ---- SUB-9 ----------------------------------------------------------------------------------------

#[test]
fn sub_9_idle_free_instance_freezes_continues_and_upgrades() {
    let mut w = World::new(demo(), "2026-03-01T09:00:00+08:00");
    let s = w
        .subscribe("iot", "iot-public", None, RenewalMode::Manual)
        .unwrap();
    // Usage on day 20 moves the freeze to day 50.
    w.advance("20d");
    w.usage("iot.msg", 1);
    w.advance_to(ts("2026-03-31T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    w.advance_to(ts("2026-04-20T08:59:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    w.advance_to(ts("2026-04-20T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Frozen);
    assert_eq!(w.notices(MessageKind::SubscriptionFrozen), 1);
    // Usage of a frozen instance does not unfreeze it.
    w.usage("iot.msg", 1);
    assert_eq!(w.status(s), SubStatus::Frozen);
    let fx = w.a.continue_trial(s, w.now).unwrap();
    w.take(fx);
    assert_eq!(w.status(s), SubStatus::Active);
    assert_eq!(code(w.a.continue_trial(s, w.now)), ErrorCode::InvalidInput);
    w.advance("30d");
    assert_eq!(w.status(s), SubStatus::Frozen);
    // Upgrade to the Enterprise Edition: charged, active, new expiry from now.
    let c = w.c.clone();
    let iot = c.product("iot").unwrap();
    let ent = iot.edition("iot-enterprise").unwrap();
    let r = w.a.upgrade(iot, s, ent, span("1 month"), 8, &P, w.now);
    assert_eq!(code(r), ErrorCode::InsufficientFunds);
    w.top_up("3000.00");
    let public = iot.edition("iot-public").unwrap();
    let r = w.a.upgrade(iot, s, public, span("1 month"), 8, &P, w.now);
    assert_eq!(code(r), ErrorCode::InvalidInput);
    let r = w.a.upgrade(iot, s, ent, span("12 months"), 8, &P, w.now);
    assert_eq!(code(r), ErrorCode::InvalidTerm);
    let fx =
        w.a.upgrade(iot, s, ent, span("1 month"), 8, &P, w.now)
            .unwrap();
    w.take(fx);
    let sub = w.a.subscription(s).unwrap();
    assert_eq!(sub.status, SubStatus::Active);
    assert_eq!(sub.edition, "iot-enterprise");
    assert_eq!(sub.expires_at, Some(ts("2026-06-20T09:00:00+08:00")));
    assert_eq!((sub.paid_total, sub.catalog_version), (d("3000.00"), 8));
    assert_eq!(w.a.cash(), Decimal::ZERO);
    // A paid instance does not freeze, and is not upgraded again.
    w.advance_to(ts("2026-06-19T00:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Active);
    let r = w.a.upgrade(iot, s, ent, span("1 month"), 8, &P, w.now);
    assert_eq!(code(r), ErrorCode::InvalidInput);
}

#[test]
fn sub_9_an_idle_trial_freezes_and_continue_trial_restores_the_trial() {
    let mut w = World::new(demo_with_iot_trial(), "2026-03-01T09:00:00+08:00");
    let mut c = w.c.clone();
    c.products
        .iter_mut()
        .find(|p| p.id == "iot")
        .unwrap()
        .editions
        .iter_mut()
        .find(|e| e.id == "iot-enterprise")
        .unwrap()
        .idle_freeze_after = Span::days(5);
    w.c = c;
    let s = w
        .subscribe("iot", "iot-enterprise", None, RenewalMode::Manual)
        .unwrap();
    w.advance("5d");
    assert_eq!(w.status(s), SubStatus::Frozen);
    let fx = w.a.continue_trial(s, w.now).unwrap();
    w.take(fx);
    assert_eq!(w.status(s), SubStatus::Trial);
    // A frozen trial still reaches its expiry.
    w.advance_to(ts("2026-03-16T09:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Stopped);
}

// ---- SUB-10 ---------------------------------------------------------------------------------------

#[test]
fn sub_10_refund_is_cash_less_whole_hours_used_less_the_fee() {
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("99.00");
    let s = w.phone();
    // 5 days and 59 minutes: 120 whole hours of 744 (31 days).
    w.advance_to(ts("2026-01-20T14:59:00+08:00"));
    let c = w.c.clone();
    let phone = c.product("phone").unwrap();
    let (refund, fx) = w.a.unsubscribe(phone, s, &P, w.now).unwrap();
    w.take(fx);
    assert_eq!(refund.hours_used, 120);
    assert_eq!(refund.hours_total, d("744"));
    assert_eq!(refund.fee, d("9.90"));
    // 99 − 99 × 120 ÷ 744 − 9.90 = 73.132…
    assert_eq!(refund.refund, d("73.13"));
    assert_eq!(w.a.cash(), d("73.13"));
    assert_eq!(w.status(s), SubStatus::Released);
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
    let sub = w.a.subscription(s).unwrap();
    assert_eq!((sub.paid_total, sub.refunded), (d("99.00"), d("73.13")));
    assert_eq!(code(w.unsubscribe(s)), ErrorCode::InvalidInput);
    // Nothing runs for a released instance any more.
    w.advance("60d");
    assert_eq!(w.notices(MessageKind::SubscriptionExpiring), 0);
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
}

#[test]
fn sub_10_coupons_are_not_returned_and_the_refund_is_floored_at_zero() {
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("49.00");
    let (_, fx) =
        w.a.grant_coupon(d("50.00"), Some(vec!["phone".into()]), None, w.now)
            .unwrap();
    w.take(fx);
    let s = w.phone();
    assert_eq!(w.a.cash(), Decimal::ZERO);
    w.advance_to(ts("2026-01-20T14:00:00+08:00"));
    // 49 − 49 × 120 ÷ 744 − 4.90 = 36.196…
    assert_eq!(w.unsubscribe(s).unwrap(), d("36.20"));
    // After expiry the term is used up: nothing back.
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("99.00");
    let s = w.phone();
    w.advance_to(ts("2026-02-20T14:00:00+08:00"));
    assert_eq!(w.status(s), SubStatus::Grace);
    assert_eq!(w.unsubscribe(s).unwrap(), Decimal::ZERO);
    assert_eq!(w.a.cash(), Decimal::ZERO);
    // Just before the end: used share + fee exceed the cash; floored at 0.
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("99.00");
    let s = w.phone();
    w.advance_to(ts("2026-02-14T14:00:00+08:00"));
    assert_eq!(w.unsubscribe(s).unwrap(), Decimal::ZERO);
}

#[test]
fn sub_10_a_renewal_paid_ahead_is_part_of_the_current_term() {
    let mut w = World::new(demo(), "2026-01-15T14:00:00+08:00");
    w.top_up("198.00");
    let s = w.phone();
    w.renew(s, "1 month", None).unwrap();
    // 2026-01-15 14:00 → 2026-03-15 14:00 is 59 days = 1416 hours; 10 days used.
    w.advance_to(ts("2026-01-25T14:00:00+08:00"));
    // 198 − 198 × 240 ÷ 1416 − 19.80 = 144.6406…
    assert_eq!(w.unsubscribe(s).unwrap(), d("144.64"));
}

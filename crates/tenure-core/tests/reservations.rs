//! PLAN-10 reservations on the pure core, with the demo catalog: hold, commit in part, release,
//! lapse at the timeout; quota conservation and the quota journal checked after every step.

mod common;

use common::DueQueue;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;
use tenure_core::account::{AccountPolicy, AccountState, Effects};
use tenure_core::catalog::{Catalog, demo};
use tenure_core::due::DueKind;
use tenure_core::ids::{PlanId, ReservationId};
use tenure_core::ledger::{Book, Books, JournalTx, QUOTA_UNIT};
use tenure_core::plan::Take;
use tenure_core::usage::{UsageEvent, UsageOutcome, usage_day_key};
use tenure_core::{ErrorCode, Refusal, Span};

const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};
const FIVE_MINUTES: Span = Span::new(5, tenure_core::SpanUnit::Minute);

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// One account, its catalog, its due-action queue and its journal.
struct World {
    c: Catalog,
    a: AccountState,
    due: DueQueue,
    journal: Vec<JournalTx>,
    now: Timestamp,
    events: u32,
}

impl World {
    fn new() -> World {
        let now = ts("2026-03-01T09:00:00+08:00");
        let a = common::open_acme(now, Decimal::ZERO);
        let mut w = World {
            c: demo(),
            a,
            due: DueQueue::default(),
            journal: Vec::new(),
            now,
            events: 0,
        };
        let fx = w.a.top_up(&w.c, d("1000.00"), &P, now).unwrap();
        w.take(fx);
        w
    }

    /// Persists a decision's effects, then checks conservation and the quota books.
    fn take(&mut self, fx: Effects) {
        self.journal.extend(fx.journal);
        self.due.schedule(fx.schedule);
        assert_eq!(Books::rebuild(&self.journal), self.a.books);
        for p in &self.a.plans {
            p.assert_conserved();
            // A plan's book holds what it still has, reserved units included.
            assert_eq!(
                self.a.books.get(QUOTA_UNIT, &Book::Plan(p.id)),
                Decimal::from(p.remaining() + p.reserved),
                "{}",
                p.id
            );
        }
        let held: u64 = self.a.plans.iter().map(|p| p.reserved).sum();
        let open: u64 = self
            .a
            .reservations
            .iter()
            .filter(|r| r.is_open())
            .map(|r| r.quantity)
            .sum();
        assert_eq!(
            held, open,
            "every reserved unit belongs to an open reservation"
        );
    }

    /// Runs every due action up to and including `to`, in time order, each at its instant.
    fn advance_to(&mut self, to: Timestamp) {
        while let Some(due) = self.due.next_until(to) {
            self.now = self.now.max(due.due_at);
            let fx = self.a.on_due(&due.kind, &self.c, &P, due.due_at);
            self.take(fx);
        }
        self.now = to;
    }

    fn advance(&mut self, span: &str) {
        let to = Span::parse(span)
            .unwrap()
            .add_to(self.now, &self.a.time_zone())
            .unwrap();
        self.advance_to(to);
    }

    fn buy(&mut self, spec: &str) -> PlanId {
        let (product, spec) = self.c.plan_spec(spec).unwrap();
        let (id, fx) = self
            .a
            .buy_plan(
                tenure_core::plan::BuyPlan {
                    product,
                    spec,
                    catalog_version: 1,
                    start_at: None,
                },
                &P,
                self.now,
            )
            .unwrap();
        self.take(fx);
        id
    }

    fn reserve(&mut self, meter: &str, q: u64, timeout: Span) -> Result<ReservationId, Refusal> {
        let (id, fx) = self.a.reserve(&self.c, meter, q, timeout, self.now)?;
        assert!(fx.schedule.iter().any(|s| s.kind
            == DueKind::ReservationTimeout { reservation: id }
            && s.due_at == timeout.add_to(self.now, &self.a.time_zone()).unwrap()));
        self.take(fx);
        Ok(id)
    }

    fn commit(&mut self, id: ReservationId, q: u64) -> Result<Vec<Take>, Refusal> {
        let before = self.a.clone();
        match self.a.commit(&self.c, id, q, &P, self.now) {
            Ok((takes, fx)) => {
                self.take(fx);
                Ok(takes)
            }
            Err(e) => {
                assert_eq!(self.a, before, "a refused commit changes nothing");
                Err(e)
            }
        }
    }

    fn release(&mut self, id: ReservationId) -> Result<(), Refusal> {
        let fx = self.a.release(id, self.now)?;
        self.take(fx);
        Ok(())
    }

    fn usage(&mut self, meter: &str, quantity: u64) -> UsageOutcome {
        self.events += 1;
        let ev = UsageEvent {
            id: format!("e{}", self.events),
            meter: meter.into(),
            quantity,
            at: self.now,
            dimensions: None,
        };
        let (out, fx) = self
            .a
            .apply_usage(&self.c, &ev, Span::hours(48), &P, self.now);
        self.take(fx);
        out
    }

    /// (remaining, reserved, consumed) of a plan.
    fn plan(&self, id: PlanId) -> (u64, u64, u64) {
        let p = self.a.plan(id).unwrap();
        (p.remaining(), p.reserved, p.consumed)
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, Refusal>) -> ErrorCode {
    r.unwrap_err().code
}

#[test]
fn plan_10_reserved_units_are_unavailable_to_others() {
    let mut w = World::new();
    let p = w.buy("msg-sbe-5k");
    w.reserve("msg.send", 4990, FIVE_MINUTES).unwrap();
    assert_eq!(w.plan(p), (10, 4990, 0));
    // 20 would fit in the plan's 5000 but for the reservation: stop_before_excess refuses it.
    let out = w.usage("msg.send", 20);
    assert!(
        matches!(
            out,
            UsageOutcome::Refused {
                code: ErrorCode::QuotaExhausted,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(w.plan(p), (10, 4990, 0));
    assert!(matches!(
        w.usage("msg.send", 10),
        UsageOutcome::Applied { .. }
    ));
    assert_eq!(w.plan(p), (0, 4990, 10));
    // Nor can another reservation take them.
    assert_eq!(
        code(w.reserve("msg.send", 1, FIVE_MINUTES)),
        ErrorCode::QuotaExhausted
    );
    let s = w.a.service_status(&w.c, "msg", w.now).unwrap();
    assert_eq!(s.quota_remaining, 0);
}

#[test]
fn plan_10_pay_per_use_plans_may_be_reserved_and_usage_beyond_them_goes_pay_as_you_go() {
    let mut w = World::new();
    let fx = w.a.activate_payg(w.c.product("msg").unwrap()).unwrap();
    w.take(fx);
    let p = w.buy("msg-ppu-5k");
    w.reserve("msg.send", 4990, FIVE_MINUTES).unwrap();
    let out = w.usage("msg.send", 20);
    let UsageOutcome::Applied {
        takes,
        payg_quantity,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        (takes, payg_quantity),
        (
            vec![Take {
                plan: p,
                quantity: 10
            }],
            10
        )
    );
}

#[test]
fn plan_10_reserve_takes_plan_3_order_and_holds_nothing_when_the_plans_cannot_hold_it_all() {
    let mut w = World::new();
    let big = w.buy("mail-10k");
    let free = w.buy("mail-free-daily");
    let r = w.reserve("mail.send", 300, FIVE_MINUTES).unwrap();
    assert_eq!(
        w.a.reservation(r).unwrap().takes,
        vec![
            Take {
                plan: free,
                quantity: 200
            },
            Take {
                plan: big,
                quantity: 100
            }
        ],
        "free first (PLAN-3)"
    );
    let before = w.a.clone();
    assert_eq!(
        code(w.reserve("mail.send", 10_000, FIVE_MINUTES)),
        ErrorCode::QuotaExhausted
    );
    assert_eq!(w.a, before, "nothing reserved");
    // Bad arguments.
    assert_eq!(
        code(w.reserve("mail.send", 0, FIVE_MINUTES)),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.reserve("mail.send", 1, Span::new(0, tenure_core::SpanUnit::Minute))),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.reserve("mail.send", 1, Span::days(2))),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.reserve("nope", 1, FIVE_MINUTES)),
        ErrorCode::NotFound
    );
}

#[test]
fn plan_10_a_partial_commit_uses_the_held_units_in_order_and_returns_the_rest() {
    let mut w = World::new();
    let big = w.buy("mail-10k");
    let free = w.buy("mail-free-daily");
    let r = w.reserve("mail.send", 300, FIVE_MINUTES).unwrap();
    w.advance("2m");
    assert_eq!(code(w.commit(r, 301)), ErrorCode::InvalidInput);
    let journal_before = w.journal.len();
    let used = w.commit(r, 250).unwrap();
    assert_eq!(
        used,
        vec![
            Take {
                plan: free,
                quantity: 200
            },
            Take {
                plan: big,
                quantity: 50
            }
        ]
    );
    assert_eq!(w.plan(free), (0, 0, 200));
    assert_eq!(w.plan(big), (9950, 0, 50));
    // Journalled like usage: the plans give, QuotaUsed takes.
    let tx = &w.journal[journal_before..];
    assert_eq!(tx.len(), 1);
    assert_eq!(w.a.books.get(QUOTA_UNIT, &Book::QuotaUsed), d("250"));
    // Counted in the day's statistics (PAYG-4).
    let key = usage_day_key(
        w.now.to_zoned_datetime(w.a.time_zone()).date(),
        "mail",
        "mail.send",
    );
    assert_eq!(w.a.usage_stats[&key].from_plans, 250);
    // Done: it is gone.
    assert_eq!(code(w.commit(r, 1)), ErrorCode::NotFound);
    assert_eq!(code(w.release(r)), ErrorCode::NotFound);
    assert!(w.a.reservations.is_empty());
}

#[test]
fn plan_10_release_returns_every_unit() {
    let mut w = World::new();
    let p = w.buy("msg-sbe-5k");
    let r = w.reserve("msg.send", 1200, FIVE_MINUTES).unwrap();
    assert_eq!(w.plan(p), (3800, 1200, 0));
    let journal_before = w.journal.len();
    w.release(r).unwrap();
    assert_eq!(w.plan(p), (5000, 0, 0));
    assert_eq!(w.journal.len(), journal_before, "holding moved nothing");
    assert_eq!(code(w.release(r)), ErrorCode::NotFound);
    // Committing zero is a release too.
    let r = w.reserve("msg.send", 10, FIVE_MINUTES).unwrap();
    assert!(w.commit(r, 0).unwrap().is_empty());
    assert_eq!(w.plan(p), (5000, 0, 0));
}

#[test]
fn plan_10_an_uncommitted_reservation_lapses_at_its_timeout_and_a_late_commit_is_expired() {
    let mut w = World::new();
    let p = w.buy("msg-sbe-5k");
    let r = w.reserve("msg.send", 100, FIVE_MINUTES).unwrap();
    w.advance("4m");
    assert_eq!(w.plan(p), (4900, 100, 0));
    // The timeout is exclusive: at 5m a commit is refused even before the lapse has run.
    w.now = ts("2026-03-01T09:05:00+08:00");
    assert_eq!(code(w.commit(r, 100)), ErrorCode::ReservationExpired);
    assert_eq!(code(w.release(r)), ErrorCode::ReservationExpired);
    // The due action gives the units back; running it again changes nothing.
    w.advance_to(ts("2026-03-01T09:05:00+08:00"));
    assert_eq!(w.plan(p), (5000, 0, 0));
    let again = w.a.on_due(
        &DueKind::ReservationTimeout { reservation: r },
        &w.c,
        &P,
        w.now,
    );
    w.take(again);
    assert_eq!(w.plan(p), (5000, 0, 0));
    w.advance("1h");
    assert_eq!(code(w.commit(r, 1)), ErrorCode::ReservationExpired);
    assert_eq!(code(w.release(r)), ErrorCode::ReservationExpired);
    // A committed reservation's timeout does nothing.
    let r2 = w.reserve("msg.send", 100, FIVE_MINUTES).unwrap();
    w.commit(r2, 100).unwrap();
    w.advance("10m");
    assert_eq!(w.plan(p), (4900, 0, 100));
}

#[test]
fn plan_10_plan_6_an_expiring_plan_forfeits_its_held_units_and_the_reservation_keeps_the_rest() {
    let mut w = World::new();
    let big = w.buy("mail-10k"); // expires 2026-09-01 09:00
    let free = w.buy("mail-free-daily"); // 12 months
    w.advance_to(ts("2026-09-01T08:00:00+08:00"));
    let r = w.reserve("mail.send", 300, Span::hours(2)).unwrap();
    assert_eq!(w.plan(big), (9900, 100, 0));
    w.advance_to(ts("2026-09-01T09:30:00+08:00"));
    let p = w.a.plan(big).unwrap();
    assert_eq!((p.reserved, p.expired), (0, 10_000));
    assert_eq!(w.a.reservation(r).unwrap().quantity, 200);
    assert_eq!(code(w.commit(r, 201)), ErrorCode::InvalidInput);
    w.commit(r, 200).unwrap();
    assert_eq!(w.plan(free), (0, 0, 200));
}

#[test]
fn plan_10_a_stopped_product_refuses_reservations_and_commits_but_may_release() {
    let mut w = World::new();
    // mail: free plan for the reservation, pay-as-you-go for a bill that leaves the account
    // overdue (stop_immediately).
    let fx = w.a.activate_payg(w.c.product("mail").unwrap()).unwrap();
    w.take(fx);
    w.buy("mail-free-daily");
    let r = w.reserve("mail.send", 50, Span::hours(3)).unwrap();
    let fx =
        w.a.charge(
            tenure_core::account::Charge {
                product: "sms".into(),
                amount: w.a.cash(),
                sources: tenure_core::account::PaySources::ALL,
                kind: "test.drain".into(),
                data: serde_json::json!({}),
            },
            &P,
            w.now,
        )
        .unwrap()
        .1;
    w.take(fx);
    assert!(matches!(
        w.usage("mail.send", 1000),
        UsageOutcome::Applied { .. }
    ));
    w.advance("1h");
    assert_eq!(
        code(w.reserve("mail.send", 1, FIVE_MINUTES)),
        ErrorCode::ServiceStopped
    );
    assert_eq!(code(w.commit(r, 10)), ErrorCode::ServiceStopped);
    w.release(r).unwrap();
}

#[test]
fn plan_10_plan_11_units_held_across_a_reset_are_not_carried_into_the_new_period() {
    let mut w = World::new();
    let free = w.buy("mail-free-daily");
    w.advance_to(ts("2026-03-01T23:58:00+08:00"));
    let r = w.reserve("mail.send", 150, FIVE_MINUTES).unwrap();
    w.advance_to(ts("2026-03-02T00:01:00+08:00"));
    // Reset at midnight: the new day has its full 200; the 150 are still held.
    assert_eq!(w.plan(free), (200, 150, 0));
    // The lapse gives nothing back to the new day: the 150 are forfeited with the old one.
    w.advance("5m");
    assert_eq!(w.plan(free), (200, 0, 0));
    assert_eq!(w.a.plan(free).unwrap().expired, 200);
    let _ = r;
    // A commit across the reset uses the held units and forfeits the rest.
    w.advance_to(ts("2026-03-02T23:58:00+08:00"));
    let r = w.reserve("mail.send", 100, FIVE_MINUTES).unwrap();
    w.advance_to(ts("2026-03-03T00:01:00+08:00"));
    w.commit(r, 30).unwrap();
    let p = w.a.plan(free).unwrap();
    assert_eq!((p.remaining(), p.reserved, p.consumed), (200, 0, 30));
    assert_eq!(p.expired, 200 + 100 + 70);
}

//! OVD-1…5 and ACC-5 on the pure core, with the demo catalog: due actions run in time order by a
//! tiny scheduler, as `advance` does.

mod common;

use common::DueQueue;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;
use tenure_core::account::{AccountPolicy, AccountState, AccountStatus, Effects};
use tenure_core::catalog::{Catalog, OverdueImpact, demo};
use tenure_core::ledger::{Books, JournalTx};
use tenure_core::message::{Audience, Message, MessageKind};
use tenure_core::overdue::ServiceCondition;
use tenure_core::plan::BuyPlan;
use tenure_core::usage::{UsageEvent, UsageOutcome};
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
    fn new(c: Catalog) -> World {
        let now = ts("2026-03-01T09:00:00+08:00");
        let a = common::open_acme(now, Decimal::ZERO);
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
        self.due.schedule(fx.schedule);
        assert_eq!(Books::rebuild(&self.journal), self.a.books);
        for p in &self.a.plans {
            p.assert_conserved();
        }
    }

    /// Runs every due action up to and including `to`, in time order (then scheduling order),
    /// each at its own instant.
    fn advance_to(&mut self, to: Timestamp) {
        while let Some(due) = self.due.next_until(to) {
            self.now = self.now.max(due.due_at);
            let fx = common::run_twice(&mut self.a, &due, &self.c, &P);
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

    fn top_up(&mut self, amount: &str) -> Effects {
        let fx = self.a.top_up(&self.c, d(amount), &P, self.now).unwrap();
        self.take(fx.clone());
        fx
    }

    fn activate(&mut self, product: &str) {
        let fx = self
            .a
            .activate_payg(self.c.product(product).unwrap())
            .unwrap();
        self.take(fx);
    }

    fn buy(&mut self, spec: &str) -> Result<(), Refusal> {
        let (product, spec) = self.c.plan_spec(spec).unwrap();
        let (_, fx) = self.a.buy_plan(
            BuyPlan {
                product,
                spec,
                catalog_version: 1,
                start_at: None,
            },
            &P,
            self.now,
        )?;
        self.take(fx);
        Ok(())
    }

    fn usage_at(&mut self, meter: &str, quantity: u64, at: Timestamp) -> UsageOutcome {
        self.events += 1;
        let ev = UsageEvent {
            id: format!("e{}", self.events),
            meter: meter.into(),
            quantity,
            at,
            dimensions: None,
        };
        let (out, fx) = self
            .a
            .apply_usage(&self.c, &ev, Span::hours(48), &P, self.now);
        self.take(fx);
        out
    }

    fn usage(&mut self, meter: &str, quantity: u64) -> UsageOutcome {
        self.usage_at(meter, quantity, self.now)
    }

    fn condition(&self, product: &str) -> ServiceCondition {
        self.a
            .service_status(&self.c, product, self.now)
            .unwrap()
            .status
    }

    /// In-console notices of `kind` so far.
    fn notices(&self, kind: MessageKind) -> usize {
        count(&self.messages, Audience::Notice, kind)
    }

    /// Provider events of `kind` so far.
    fn events(&self, kind: MessageKind) -> usize {
        count(&self.messages, Audience::Event, kind)
    }
}

fn count(messages: &[Message], audience: Audience, kind: MessageKind) -> usize {
    messages
        .iter()
        .filter(|m| m.audience == audience && m.kind == kind)
        .count()
}

fn refused(out: &UsageOutcome) -> Option<ErrorCode> {
    match out {
        UsageOutcome::Refused { code, .. } => Some(*code),
        UsageOutcome::Applied { .. } => None,
    }
}

/// A demo catalog whose `msg` product has another overdue impact.
fn demo_with_msg_impact(impact: OverdueImpact) -> Catalog {
    let mut c = demo();
    c.products
        .iter_mut()
        .find(|p| p.id == "msg")
        .unwrap()
        .overdue
        .impact = impact;
    c
}

/// msg pay-as-you-go with no money: 100 messages at 09:00 make a 5.50 bill at 10:00, unpaid.
fn msg_overdue_at_ten(c: Catalog) -> World {
    let mut w = World::new(c);
    w.activate("msg");
    assert_eq!(refused(&w.usage("msg.send", 100)), None);
    w.advance_to(ts("2026-03-01T10:00:00+08:00"));
    assert_eq!(w.a.unpaid(), d("5.50"));
    w
}

#[test]
fn ovd_1_an_unpaid_bill_makes_the_account_overdue_once_until_every_bill_is_paid() {
    let mut w = World::new(demo());
    w.activate("msg");
    w.usage("msg.send", 100);
    w.advance("1h");
    assert_eq!(w.a.status(), AccountStatus::Overdue);
    assert_eq!(w.a.overdue_since(), Some(ts("2026-03-01T10:00:00+08:00")));
    // A second unpaid bill in the same episode: no second notice.
    w.usage("msg.send", 100);
    w.advance("1h");
    assert_eq!(w.a.unpaid(), d("11.00"));
    assert_eq!(w.notices(MessageKind::AccountOverdue), 1);
    assert_eq!(w.events(MessageKind::AccountOverdue), 1);
    // Paying the first bill only: still overdue (OVD-1).
    w.top_up("6.00");
    assert_eq!(w.a.status(), AccountStatus::Overdue);
    w.top_up("5.00");
    assert_eq!(w.a.status(), AccountStatus::Active);
    assert_eq!(w.a.overdue_since(), None);
}

#[test]
fn ovd_2_stop_after_24h_warns_then_stops_at_24h_not_a_minute_before() {
    let mut w = msg_overdue_at_ten(demo());
    assert_eq!(w.notices(MessageKind::AccountOverdue), 1);
    let status = w.a.service_status(&w.c, "msg", w.now).unwrap();
    assert_eq!(status.status, ServiceCondition::Available);
    assert!(status.available, "pay-as-you-go goes on for 24 hours");
    assert_eq!(status.stops_at, Some(ts("2026-03-02T10:00:00+08:00")));

    // The warning goes out stop_warning_before (2h by default) before the stop.
    w.advance_to(ts("2026-03-02T07:59:00+08:00"));
    assert_eq!(w.notices(MessageKind::ServiceStopWarning), 0);
    w.advance_to(ts("2026-03-02T08:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::ServiceStopWarning), 1);
    assert_eq!(w.events(MessageKind::ServiceStopWarning), 1);

    // 23:59 after the start of overdue the service still runs.
    w.advance_to(ts("2026-03-02T09:59:00+08:00"));
    assert_eq!(refused(&w.usage("msg.send", 1)), None);
    assert_eq!(w.condition("msg"), ServiceCondition::Available);
    assert_eq!(w.notices(MessageKind::ServiceStopped), 0);

    // At 24:00 it stops.
    w.advance_to(ts("2026-03-02T10:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::ServiceStopped), 1);
    assert_eq!(w.events(MessageKind::ServiceStopped), 1);
    assert_eq!(
        w.a.services["msg"].stopped_at,
        Some(ts("2026-03-02T10:00:00+08:00"))
    );
    assert_eq!(
        refused(&w.usage("msg.send", 1)),
        Some(ErrorCode::ServiceStopped)
    );
    let status = w.a.service_status(&w.c, "msg", w.now).unwrap();
    assert_eq!(
        (status.status, status.available),
        (ServiceCondition::Stopped, false)
    );
    let stopped = w
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::ServiceStopped)
        .unwrap();
    assert_eq!(stopped.subject, "acme");
    assert_eq!(stopped.data["product"], "msg");
    // Purchases are refused while overdue (plan.rs check_not_overdue_for).
    w.top_up("1.00"); // not enough: 5.50 + 0.055 unpaid
    assert_eq!(
        w.buy("msg-sbe-5k").unwrap_err().code,
        ErrorCode::AccountOverdue
    );
}

#[test]
fn ovd_2_usage_that_happened_before_the_stop_is_still_accepted_after_it() {
    let mut w = msg_overdue_at_ten(demo());
    w.advance_to(ts("2026-03-02T10:05:00+08:00"));
    assert_eq!(w.condition("msg"), ServiceCondition::Stopped);
    let before = ts("2026-03-02T09:58:00+08:00");
    assert_eq!(refused(&w.usage_at("msg.send", 3, before)), None);
    let after = ts("2026-03-02T10:01:00+08:00");
    assert_eq!(
        refused(&w.usage_at("msg.send", 3, after)),
        Some(ErrorCode::ServiceStopped)
    );
}

#[test]
fn ovd_2_stop_immediately_stops_sms_with_the_bill_that_makes_the_account_overdue() {
    let mut w = World::new(demo());
    // sms needs no activation (DEMO_CATALOG.md).
    assert_eq!(refused(&w.usage("sms.cn", 100)), None);
    w.advance_to(ts("2026-03-01T10:00:00+08:00"));
    assert_eq!(w.a.unpaid(), d("4.50"));
    assert_eq!(w.notices(MessageKind::AccountOverdue), 1);
    assert_eq!(w.notices(MessageKind::ServiceStopped), 1);
    assert_eq!(w.notices(MessageKind::ServiceStopWarning), 0);
    assert_eq!(
        w.a.services["sms"].stopped_at,
        Some(ts("2026-03-01T10:00:00+08:00"))
    );
    // Every meter of the product is stopped.
    for meter in ["sms.cn", "sms.intl"] {
        assert_eq!(refused(&w.usage(meter, 1)), Some(ErrorCode::ServiceStopped));
    }
    assert_eq!(w.condition("sms"), ServiceCondition::Stopped);
    // A product the account does not use is not touched (OVD-2: products it uses).
    assert!(!w.a.services.contains_key("msg"));
    assert!(!w.a.services.contains_key("mail"));
}

#[test]
fn ovd_2_none_and_block_fee_operations_never_stop_and_only_block_fee_refuses_purchases() {
    for (impact, gate) in [
        (OverdueImpact::None, ErrorCode::InsufficientFunds),
        (OverdueImpact::BlockFeeOperations, ErrorCode::AccountOverdue),
    ] {
        let mut w = msg_overdue_at_ten(demo_with_msg_impact(impact));
        w.advance("20d");
        assert_eq!(w.a.status(), AccountStatus::Overdue);
        assert_eq!(
            w.condition("msg"),
            ServiceCondition::Available,
            "{impact:?}"
        );
        assert_eq!(refused(&w.usage("msg.send", 1)), None, "{impact:?}");
        for kind in [
            MessageKind::ServiceStopWarning,
            MessageKind::ServiceStopped,
            MessageKind::SubscriptionReleased,
        ] {
            assert_eq!(w.notices(kind), 0, "{impact:?} {kind:?}");
        }
        // `none` lets a purchase through the overdue gate (and it fails for want of money);
        // `block_fee_operations` refuses it.
        assert_eq!(w.buy("msg-sbe-5k").unwrap_err().code, gate, "{impact:?}");
    }
    // The IoT editions carry their own impacts for instances (subscriptions come later).
    let c = demo();
    let iot = c.product("iot").unwrap();
    assert_eq!(
        iot.overdue_for(Some("iot-public")).impact,
        OverdueImpact::None
    );
    assert_eq!(
        iot.overdue_for(Some("iot-legacy")).impact,
        OverdueImpact::StopAfter {
            after: Span::hours(24)
        }
    );
    assert_eq!(
        iot.overdue_for(Some("iot-legacy")).release_after,
        Span::days(15)
    );
}

#[test]
fn ovd_2_a_product_first_used_during_overdue_is_stopped_by_its_impact_too() {
    let mut w = msg_overdue_at_ten(demo());
    // sms was not in use when overdue began; stop_immediately refuses it at once.
    w.advance("1h");
    assert_eq!(w.condition("sms"), ServiceCondition::Stopped);
    assert_eq!(
        refused(&w.usage("sms.cn", 1)),
        Some(ErrorCode::ServiceStopped)
    );
    // msg's own stop still comes at 24h from the start of the episode.
    w.advance_to(ts("2026-03-02T10:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::ServiceStopped), 1);
}

#[test]
fn ovd_3_stopped_resources_are_released_after_15_days_and_never_restored() {
    let mut w = World::new(demo());
    w.usage("sms.cn", 100);
    w.advance_to(ts("2026-03-01T10:00:00+08:00"));
    assert_eq!(w.condition("sms"), ServiceCondition::Stopped);
    // Warned release_warning_before (3 days) before the release.
    w.advance_to(ts("2026-03-13T09:59:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionReleaseWarning), 0);
    w.advance_to(ts("2026-03-13T10:00:00+08:00"));
    assert_eq!(w.notices(MessageKind::SubscriptionReleaseWarning), 1);
    assert_eq!(w.events(MessageKind::SubscriptionReleaseWarning), 1);
    // Released 15 days after the stop, not before.
    w.advance_to(ts("2026-03-16T09:59:00+08:00"));
    assert_eq!(w.a.services["sms"].released_at, None);
    w.advance_to(ts("2026-03-16T10:00:00+08:00"));
    assert_eq!(
        w.a.services["sms"].released_at,
        Some(ts("2026-03-16T10:00:00+08:00"))
    );
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
    assert_eq!(w.events(MessageKind::SubscriptionReleased), 1);
    let released = w
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::SubscriptionReleased && m.audience == Audience::Event)
        .unwrap();
    assert_eq!(released.subject, "acme");
    assert_eq!(released.data["product"], "sms");
    assert_eq!(released.data["scope"], "service");
    // Settling afterwards restores the account, not what was released.
    let fx = w.top_up("10.00");
    assert_eq!(w.a.status(), AccountStatus::Active);
    assert_eq!(
        count(&fx.messages, Audience::Notice, MessageKind::AccountRestored),
        1
    );
    assert_eq!(w.notices(MessageKind::ServiceRestored), 0);
    assert_eq!(w.condition("sms"), ServiceCondition::Stopped);
    assert_eq!(
        refused(&w.usage("sms.cn", 1)),
        Some(ErrorCode::ServiceStopped)
    );
    w.advance("30d");
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
}

#[test]
fn ovd_4_a_top_up_before_the_stop_cancels_the_warning_and_the_stop() {
    let mut w = msg_overdue_at_ten(demo());
    w.advance("10h");
    let fx = w.top_up("10.00");
    assert_eq!(
        count(&fx.messages, Audience::Notice, MessageKind::AccountRestored),
        1
    );
    assert_eq!(
        count(&fx.messages, Audience::Notice, MessageKind::ServiceRestored),
        0,
        "nothing was stopped"
    );
    w.advance("30d");
    assert_eq!(w.notices(MessageKind::ServiceStopWarning), 0);
    assert_eq!(w.notices(MessageKind::ServiceStopped), 0);
    assert_eq!(w.condition("msg"), ServiceCondition::Available);
}

#[test]
fn ovd_4_restored_before_release_cancels_it_and_a_new_episode_runs_its_own_schedule() {
    let mut w = msg_overdue_at_ten(demo());
    w.advance_to(ts("2026-03-02T10:00:00+08:00"));
    assert_eq!(w.condition("msg"), ServiceCondition::Stopped);
    w.advance("5d");
    let fx = w.top_up("10.00");
    assert_eq!(
        count(&fx.messages, Audience::Notice, MessageKind::ServiceRestored),
        1
    );
    assert_eq!(
        count(&fx.messages, Audience::Notice, MessageKind::AccountRestored),
        1
    );
    assert_eq!(w.condition("msg"), ServiceCondition::Available);
    assert_eq!(w.a.services["msg"].stopped_at, None);
    // The episode's release warning and release are stale now.
    w.advance("30d");
    assert_eq!(w.notices(MessageKind::SubscriptionReleaseWarning), 0);
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 0);
    // A second episode: its own warning, stop, and release.
    assert_eq!(w.a.cash(), d("4.50"));
    assert_eq!(refused(&w.usage("msg.send", 1000)), None); // 55.00
    w.advance("1h");
    assert_eq!(w.a.status(), AccountStatus::Overdue);
    assert_eq!(w.notices(MessageKind::AccountOverdue), 2);
    w.advance("24h");
    assert_eq!(w.notices(MessageKind::ServiceStopWarning), 2);
    assert_eq!(w.notices(MessageKind::ServiceStopped), 2);
    w.advance("15d");
    assert_eq!(w.notices(MessageKind::SubscriptionReleased), 1);
}

#[test]
fn ovd_5_every_notice_once_per_product_and_episode() {
    let mut w = World::new(demo());
    w.activate("msg");
    w.activate("mail");
    w.usage("msg.send", 100);
    w.usage("sms.cn", 100);
    w.usage("mail.send", 100);
    w.advance("1h"); // three bills, all unpaid
    assert_eq!(w.a.payg.bills.len(), 3);
    w.advance("24h"); // msg stops too
    w.advance("5d");
    w.top_up("50.00");
    w.advance("30d");
    let expected = [
        (MessageKind::AccountOverdue, 1),
        (MessageKind::ServiceStopWarning, 1), // msg only: the others stop at once
        (MessageKind::ServiceStopped, 3),
        (MessageKind::ServiceRestored, 3),
        (MessageKind::AccountRestored, 1),
        (MessageKind::SubscriptionReleaseWarning, 0),
        (MessageKind::SubscriptionReleased, 0),
    ];
    for (kind, n) in expected {
        assert_eq!(w.notices(kind), n, "notices {kind:?}");
        assert_eq!(w.events(kind), n, "events {kind:?}");
    }
    let mut stopped: Vec<String> = w
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::ServiceStopped && m.audience == Audience::Notice)
        .map(|m| m.data["product"].as_str().unwrap().to_string())
        .collect();
    stopped.sort();
    assert_eq!(stopped, ["mail", "msg", "sms"]);
}

#[test]
fn acc_5_only_the_top_up_that_settles_the_last_bill_restores_and_in_the_same_operation() {
    let mut w = World::new(demo());
    w.activate("mail");
    w.usage("sms.cn", 100); // 4.50
    w.usage("mail.send", 1000); // 2.00
    w.advance("1h");
    assert_eq!(w.a.unpaid(), d("6.50"));
    assert_eq!(w.notices(MessageKind::ServiceStopped), 2);
    // Not enough: nothing comes back.
    let fx = w.top_up("6.00");
    assert!(fx.messages.is_empty(), "{:?}", fx.messages);
    assert_eq!(w.condition("sms"), ServiceCondition::Stopped);
    assert_eq!(w.condition("mail"), ServiceCondition::Stopped);
    // The last 0.50: both products and the account, in this one operation.
    let fx = w.top_up("0.50");
    let kinds: Vec<(Audience, MessageKind, String)> = fx
        .messages
        .iter()
        .map(|m| {
            (
                m.audience,
                m.kind,
                m.data["product"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                Audience::Notice,
                MessageKind::ServiceRestored,
                "mail".into()
            ),
            (Audience::Event, MessageKind::ServiceRestored, "mail".into()),
            (Audience::Notice, MessageKind::ServiceRestored, "sms".into()),
            (Audience::Event, MessageKind::ServiceRestored, "sms".into()),
            (
                Audience::Notice,
                MessageKind::AccountRestored,
                String::new()
            ),
            (Audience::Event, MessageKind::AccountRestored, String::new()),
        ]
    );
    assert_eq!(w.condition("sms"), ServiceCondition::Available);
    assert_eq!(refused(&w.usage("sms.cn", 1)), None);
    assert_eq!(refused(&w.usage("mail.send", 1)), None);
}

#[test]
fn ovd_2_service_status_reports_quota_and_whether_the_product_can_be_used_at_all() {
    let mut w = World::new(demo());
    // mail: no plan, pay-as-you-go not activated: not usable, yet not stopped.
    let s = w.a.service_status(&w.c, "mail", w.now).unwrap();
    assert_eq!(
        (s.available, s.status, s.quota_remaining),
        (false, ServiceCondition::Available, 0)
    );
    w.top_up("300.00");
    w.buy("msg-sbe-5k").unwrap();
    let s = w.a.service_status(&w.c, "msg", w.now).unwrap();
    assert_eq!((s.available, s.quota_remaining), (true, 5000));
    w.usage("msg.send", 5000);
    let s = w.a.service_status(&w.c, "msg", w.now).unwrap();
    assert_eq!(
        (s.available, s.quota_remaining),
        (false, 0),
        "stop_before_excess and nothing left"
    );
    assert_eq!(
        w.a.service_status(&w.c, "nope", w.now).unwrap_err().code,
        ErrorCode::NotFound
    );
}

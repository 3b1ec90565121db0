//! PLAN-7 usage alerts and exhaustion, PLAN-8 expiry reminders, PLAN-9 repurchase, on the pure
//! core with the demo catalog. A small harness plays the engine: it keeps the effects, and runs
//! due actions in time order, each key once (TIME-3, TIME-4).

use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::str::FromStr;
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::alerts::Threshold;
use tenure_core::catalog::{Catalog, demo};
use tenure_core::due::{DueAction, DueKind};
use tenure_core::ids::{AccountId, PlanId};
use tenure_core::message::{Audience, Message};
use tenure_core::plan::BuyPlan;
use tenure_core::usage::{UsageEvent, UsageOutcome};
use tenure_core::{Currency, ErrorCode, Refusal, Span};

const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};
const CATALOG_VERSION: i64 = 7;
const START: &str = "2026-03-01T09:00:00+08:00";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An account of the demo catalog, its clock, and everything its commands emitted.
struct World {
    a: AccountState,
    c: Catalog,
    now: Timestamp,
    messages: Vec<Message>,
    pending: Vec<DueAction>,
    keys: HashSet<String>,
    events: u32,
}

impl World {
    fn new(credit_line: &str) -> World {
        let now = ts(START);
        let a = AccountState::open(
            OpenAccount {
                id: AccountId::parse("acme").unwrap(),
                currency: Currency::CNY,
                zone: "Asia/Shanghai".into(),
                verified: true,
                credit_line: d(credit_line),
                low_balance_threshold: None,
            },
            Currency::CNY,
            now,
        )
        .unwrap();
        World {
            a,
            c: demo(),
            now,
            messages: Vec::new(),
            pending: Vec::new(),
            keys: HashSet::new(),
            events: 0,
        }
    }

    fn absorb(&mut self, fx: Effects) {
        self.messages.extend(fx.messages);
        for due in fx.schedule {
            // A key is scheduled once, forever (TIME-4).
            if self.keys.insert(due.key.clone()) {
                self.pending.push(due);
            }
        }
    }

    /// Runs every due action up to and including `at`, in time order, each at its instant.
    fn advance_to(&mut self, at: Timestamp) {
        loop {
            let next = self
                .pending
                .iter()
                .enumerate()
                .filter(|(_, due)| due.due_at <= at)
                .min_by_key(|(i, due)| (due.due_at, *i))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let due = self.pending.remove(i);
            self.now = self.now.max(due.due_at);
            let fx = self.a.on_due(&due.kind, &self.c, &P, self.now);
            self.absorb(fx);
        }
        self.now = self.now.max(at);
    }

    fn top_up(&mut self, amount: &str) {
        let fx = self.a.top_up(&self.c, d(amount), &P, self.now).unwrap();
        self.absorb(fx);
    }

    fn try_buy(&mut self, spec: &str) -> Result<PlanId, Refusal> {
        let (product, spec) = self.c.plan_spec(spec).unwrap();
        let req = BuyPlan {
            product,
            spec,
            catalog_version: CATALOG_VERSION,
            start_at: None,
        };
        let (id, fx) = self.a.buy_plan(req, &P, self.now)?;
        self.absorb(fx);
        Ok(id)
    }

    fn buy(&mut self, spec: &str) -> PlanId {
        self.try_buy(spec).unwrap()
    }

    fn use_(&mut self, meter: &str, quantity: u64) -> UsageOutcome {
        self.events += 1;
        let ev = UsageEvent {
            id: format!("ev{}", self.events),
            meter: meter.into(),
            quantity,
            at: self.now,
            dimensions: None,
        };
        let (out, fx) = self
            .a
            .apply_usage(&self.c, &ev, Span::hours(48), &P, self.now);
        self.absorb(fx);
        out
    }

    fn set_alert(&mut self, product: &str, percent_used: &[u32], remaining: &[u64]) {
        let fx = self
            .try_set_alert(product, percent_used, remaining)
            .unwrap();
        self.absorb(fx);
    }

    fn try_set_alert(
        &mut self,
        product: &str,
        percent_used: &[u32],
        remaining: &[u64],
    ) -> Result<Effects, Refusal> {
        let product = self.c.product(product).unwrap().clone();
        self.a
            .set_usage_alert(&product, percent_used.to_vec(), remaining.to_vec())
    }

    fn set_repurchase(&mut self, spec: &str, threshold: u64, enabled: bool) {
        let fx = self.try_set_repurchase(spec, threshold, enabled).unwrap();
        self.absorb(fx);
    }

    fn try_set_repurchase(
        &mut self,
        spec: &str,
        threshold: u64,
        enabled: bool,
    ) -> Result<Effects, Refusal> {
        let (product, spec) = self.c.plan_spec(spec).unwrap();
        let (product, spec) = (product.clone(), spec.clone());
        self.a.set_plan_auto_renew(
            &product,
            &spec,
            threshold,
            enabled,
            CATALOG_VERSION,
            self.now,
        )
    }

    /// Customer notices of `kind` so far.
    fn notices(&self, kind: &str) -> Vec<&Message> {
        self.of(kind, Audience::Notice)
    }

    fn of(&self, kind: &str, audience: Audience) -> Vec<&Message> {
        self.messages
            .iter()
            .filter(|m| m.kind.as_str() == kind && m.audience == audience)
            .collect()
    }

    /// Notices and provider events of `kind`: (notices, events).
    fn count(&self, kind: &str) -> (usize, usize) {
        (
            self.of(kind, Audience::Notice).len(),
            self.of(kind, Audience::Event).len(),
        )
    }

    fn sms_plans(&self) -> Vec<PlanId> {
        self.a
            .plans
            .iter()
            .filter(|p| p.product == "sms")
            .map(|p| p.id)
            .collect()
    }
}

fn thresholds(w: &World, kind: &str) -> Vec<Threshold> {
    w.notices(kind)
        .iter()
        .map(|m| serde_json::from_value(m.data["threshold"].clone()).unwrap())
        .collect()
}

fn assert_keys_unique(w: &World, kind: &str) {
    let keys: Vec<&str> = w
        .notices(kind)
        .iter()
        .map(|m| m.dedup_key.as_str())
        .collect();
    let unique: HashSet<&str> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "one key per crossing: {keys:?}");
}

// ---- PLAN-7 usage alerts ------------------------------------------------------------------

#[test]
fn plan_7_percent_used_fires_at_exactly_800_of_1000_not_at_799_and_once() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    w.set_alert("sms", &[80], &[]);
    w.use_("sms.cn", 799);
    assert_eq!(w.count("plan.usage_alert"), (0, 0), "79.9% is not 80%");
    w.use_("sms.cn", 1);
    assert_eq!(w.count("plan.usage_alert"), (1, 1), "a notice and an event");
    let m = w.notices("plan.usage_alert")[0];
    assert_eq!(m.subject, "acme");
    assert_eq!(m.data["product"], "sms");
    assert_eq!(m.data["used"], 800);
    assert_eq!(m.data["remaining"], 200);
    assert_eq!(
        thresholds(&w, "plan.usage_alert"),
        [Threshold::PercentUsed(80)]
    );
    // Edge-triggered: further usage past the threshold, even into overflow, fires nothing.
    w.use_("sms.cn", 150);
    w.use_("sms.cn", 300);
    assert_eq!(w.count("plan.usage_alert"), (1, 1));
}

#[test]
fn plan_7_remaining_fires_when_remaining_reaches_it_not_before() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    w.set_alert("sms", &[], &[100]);
    w.use_("sms.cn", 899);
    assert_eq!(w.count("plan.usage_alert").0, 0, "101 left is above 100");
    w.use_("sms.cn", 1);
    assert_eq!(
        w.count("plan.usage_alert").0,
        1,
        "100 left: remaining ≤ 100"
    );
    assert_eq!(w.notices("plan.usage_alert")[0].data["remaining"], 100);
    w.use_("sms.cn", 50);
    assert_eq!(w.count("plan.usage_alert").0, 1);
}

#[test]
fn plan_7_custom_list_fires_each_threshold_once_in_the_order_usage_crosses_them() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    // Unsorted, with a duplicate: merged and ordered as usage crosses them.
    w.set_alert("sms", &[90, 50, 90], &[300]);
    w.use_("sms.cn", 500);
    w.use_("sms.cn", 200);
    w.use_("sms.cn", 199);
    assert_eq!(
        thresholds(&w, "plan.usage_alert"),
        [Threshold::PercentUsed(50), Threshold::Remaining(300)],
        "89.9% has not reached 90%"
    );
    w.use_("sms.cn", 1);
    assert_eq!(
        thresholds(&w, "plan.usage_alert"),
        [
            Threshold::PercentUsed(50),
            Threshold::Remaining(300),
            Threshold::PercentUsed(90)
        ]
    );
    assert_keys_unique(&w, "plan.usage_alert");
}

#[test]
fn plan_7_one_event_crossing_several_thresholds_sends_one_message_each() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    w.set_alert("sms", &[50, 80], &[100, 10]);
    w.use_("sms.cn", 950);
    assert_eq!(
        thresholds(&w, "plan.usage_alert"),
        [
            Threshold::PercentUsed(50),
            Threshold::PercentUsed(80),
            Threshold::Remaining(100)
        ],
        "50 left has not reached remaining ≤ 10"
    );
    assert_keys_unique(&w, "plan.usage_alert");
}

#[test]
fn plan_7_a_purchase_rearms_what_it_puts_out_of_reach_and_those_fire_again() {
    let mut w = World::new("0.00");
    w.top_up("200.00");
    w.buy("sms-cn-1k");
    w.set_alert("sms", &[10, 80], &[100]);
    w.use_("sms.cn", 950);
    assert_eq!(w.count("plan.usage_alert").0, 3);
    // 950 of 2,000 used (47.5%), 1,050 left: 80% and remaining ≤ 100 are out of reach again;
    // 10% is still reached and stays quiet. The purchase itself re-arms: one event jumping
    // straight back past 80% fires.
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 650);
    assert_eq!(
        w.count("plan.usage_alert").0,
        4,
        "80% again, at exactly 1,600"
    );
    w.use_("sms.cn", 300);
    assert_eq!(
        thresholds(&w, "plan.usage_alert"),
        [
            Threshold::PercentUsed(10),
            Threshold::PercentUsed(80),
            Threshold::Remaining(100),
            Threshold::PercentUsed(80),
            Threshold::Remaining(100)
        ]
    );
    // Re-arming starts a new period: the second crossing is a new message, not a duplicate.
    assert_keys_unique(&w, "plan.usage_alert");
}

#[test]
fn plan_7_the_alert_covers_plans_bought_later_and_setting_it_past_a_threshold_fires_nothing() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    // No plan yet: the setting still holds, and covers the plan bought next.
    w.set_alert("sms", &[50], &[]);
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 500);
    assert_eq!(w.count("plan.usage_alert").0, 1);

    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 900);
    w.set_alert("sms", &[80], &[]);
    assert_eq!(
        w.count("plan.usage_alert").0,
        0,
        "saving a setting never notifies"
    );
    w.use_("sms.cn", 1);
    assert_eq!(
        w.count("plan.usage_alert").0,
        1,
        "the next usage does, once"
    );
    w.use_("sms.cn", 1);
    assert_eq!(w.count("plan.usage_alert").0, 1);
    // Cleared: nothing more, even after a re-arming purchase.
    let sms = w.c.product("sms").unwrap().clone();
    w.a.clear_usage_alert(&sms);
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 1000);
    assert_eq!(w.count("plan.usage_alert").0, 1);
}

#[test]
fn plan_7_invalid_settings_are_refused() {
    let mut w = World::new("0.00");
    for (product, pct, rem) in [
        ("sms", &[0][..], &[][..]),
        ("sms", &[101], &[]),
        ("sms", &[], &[]),
        ("phone", &[80], &[]),
    ] {
        let e = w.try_set_alert(product, pct, rem).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{product} {pct:?} {rem:?}");
    }
    assert!(w.a.alerts.values().all(|a| a.usage_alert.is_none()));
    w.set_alert("sms", &[1, 100], &[0]);
}

#[test]
fn plan_7_exhausted_fires_once_per_validity_and_again_after_a_purchase() {
    let mut w = World::new("0.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 999);
    assert_eq!(w.count("plan.exhausted"), (0, 0));
    w.use_("sms.cn", 1);
    assert_eq!(w.count("plan.exhausted"), (1, 1));
    w.use_("sms.cn", 20); // overflow, pay-as-you-go
    assert_eq!(w.count("plan.exhausted").0, 1);
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 1000);
    assert_eq!(w.count("plan.exhausted").0, 2);
    assert_keys_unique(&w, "plan.exhausted");
}

#[test]
fn plan_7_exhausted_fires_once_per_reset_period_of_a_resetting_plan() {
    let mut w = World::new("0.00");
    let free = w.buy("mail-free-daily");
    w.use_("mail.send", 200);
    assert_eq!(w.count("plan.exhausted").0, 1);
    let out = w.use_("mail.send", 5);
    assert!(matches!(out, UsageOutcome::Refused { .. }), "{out:?}");
    assert_eq!(w.count("plan.exhausted").0, 1, "once in the period");
    // The next day's quota (PLAN-11) starts a new period.
    w.advance_to(ts("2026-03-02T00:00:00+08:00"));
    assert_eq!(w.a.plan(free).unwrap().remaining(), 200);
    w.use_("mail.send", 199);
    assert_eq!(w.count("plan.exhausted").0, 1);
    w.use_("mail.send", 1);
    assert_eq!(w.count("plan.exhausted").0, 2);
    assert_keys_unique(&w, "plan.exhausted");
}

// ---- PLAN-8 expiry reminders ---------------------------------------------------------------

#[test]
fn plan_8_a_reminder_7_days_before_expiry_and_the_expired_notice_at_expiry() {
    let mut w = World::new("0.00");
    w.top_up("300.00");
    let p = w.buy("msg-ppu-5k");
    let expires_at = ts("2027-03-01T09:00:00+08:00");
    assert_eq!(w.a.plan(p).unwrap().expires_at, expires_at);
    let reminder = w
        .pending
        .iter()
        .find(|due| matches!(due.kind, DueKind::PlanReminder { .. }))
        .unwrap();
    assert_eq!(reminder.due_at, ts("2027-02-22T09:00:00+08:00"));

    w.advance_to(ts("2027-02-22T08:59:59+08:00"));
    assert_eq!(w.count("plan.expiring"), (0, 0));
    w.advance_to(ts("2027-02-22T09:00:00+08:00"));
    assert_eq!(w.count("plan.expiring"), (1, 1));
    let m = w.notices("plan.expiring")[0];
    assert_eq!(m.subject, p.to_string());
    assert_eq!(m.data["expires_at"], serde_json::json!(expires_at));

    w.advance_to(ts("2027-03-01T08:59:59+08:00"));
    assert_eq!(w.count("plan.expired"), (0, 0));
    w.advance_to(expires_at);
    assert_eq!(
        w.count("plan.expired"),
        (1, 1),
        "remind_at_expiry: a notice too"
    );
    assert_eq!(w.count("plan.expiring").0, 1);
}

#[test]
fn plan_8_a_renewed_plan_gets_no_reminder_its_successor_does() {
    let mut w = World::new("0.00");
    w.top_up("600.00");
    let p = w.buy("msg-ppu-5k");
    w.advance_to(ts("2027-01-10T09:00:00+08:00"));
    let (product, spec) = w.c.plan_spec("msg-ppu-5k").unwrap();
    let (product, spec) = (product.clone(), spec.clone());
    let (next, fx) =
        w.a.renew_plan(p, &product, &spec, CATALOG_VERSION, &P, w.now)
            .unwrap();
    w.absorb(fx);
    w.advance_to(ts("2027-03-01T09:00:00+08:00"));
    assert_eq!(
        w.count("plan.expiring").0,
        0,
        "renewed: nothing to remind of"
    );
    let successor = w.a.plan(next).unwrap().expires_at;
    assert_eq!(successor, ts("2028-03-01T09:00:00+08:00"));
    w.advance_to(ts("2028-02-23T09:00:00+08:00"));
    assert_eq!(w.count("plan.expiring").0, 1);
    assert_eq!(w.notices("plan.expiring")[0].subject, next.to_string());
}

// ---- PLAN-9 repurchase ---------------------------------------------------------------------

#[test]
fn plan_9_threshold_repurchase_buys_once_with_the_coupon_first_then_cash_never_credit() {
    let mut w = World::new("1000.00");
    w.top_up("100.00");
    w.buy("sms-cn-1k");
    assert_eq!(w.a.cash(), d("55.00"));
    let (coupon, fx) =
        w.a.grant_coupon(d("20.00"), Some(vec!["sms".into()]), None, w.now)
            .unwrap();
    w.absorb(fx);
    w.set_repurchase("sms-cn-1k", 200, true);
    w.use_("sms.cn", 799);
    assert_eq!(w.sms_plans().len(), 1, "201 left is above the threshold");
    w.advance_to(ts("2026-03-05T10:00:00+08:00"));
    w.use_("sms.cn", 1);
    let plans = w.sms_plans();
    assert_eq!(plans.len(), 2, "200 left: remaining ≤ threshold buys");
    let bought = w.a.plan(plans[1]).unwrap();
    assert_eq!(bought.spec, "sms-cn-1k");
    assert_eq!(bought.catalog_version, CATALOG_VERSION);
    assert_eq!(bought.effective_at, w.now, "a new purchase, valid from now");
    assert_eq!(bought.expires_at, ts("2027-03-05T10:00:00+08:00"));
    assert_eq!(bought.paid_coupon, Some((coupon, d("20.00"))));
    assert_eq!(bought.paid_cash, d("25.00"));
    assert_eq!(w.a.coupon_remaining(coupon), Decimal::ZERO);
    assert_eq!(w.a.cash(), d("30.00"));
    assert_eq!(w.count("plan.auto_renew_succeeded"), (1, 1));
    assert_eq!(w.count("plan.auto_renew_failed"), (0, 0));
    let m = w.notices("plan.auto_renew_succeeded")[0];
    assert_eq!(m.data["plan"], serde_json::json!(plans[1]));
    assert_eq!(m.data["trigger"]["kind"], "threshold");
    // One purchase per trigger: 1,200 left now, and usage above the threshold buys nothing.
    w.use_("sms.cn", 1000);
    assert_eq!(w.sms_plans().len(), 2);
    assert_eq!(w.count("plan.auto_renew_succeeded").0, 1);
}

#[test]
fn plan_9_a_failed_repurchase_is_not_retried_by_usage_until_remaining_rises_above_again() {
    let mut w = World::new("1000.00");
    w.top_up("45.00");
    w.buy("sms-cn-1k");
    assert_eq!(w.a.cash(), Decimal::ZERO);
    w.set_repurchase("sms-cn-1k", 200, true);
    w.use_("sms.cn", 800);
    // 1,000.00 of credit line is there, but repurchase pays from balance and coupons only.
    assert_eq!(w.sms_plans().len(), 1);
    assert_eq!(w.a.cash(), Decimal::ZERO);
    assert_eq!(w.count("plan.auto_renew_failed"), (1, 1));
    let m = w.notices("plan.auto_renew_failed")[0];
    assert_eq!(m.data["code"], "insufficient_funds");
    // Further usage, even with money back, does not retry.
    w.use_("sms.cn", 100);
    w.top_up("100.00");
    w.use_("sms.cn", 50);
    assert_eq!(w.sms_plans().len(), 1);
    assert_eq!(w.count("plan.auto_renew_failed").0, 1);
    assert_eq!(w.count("plan.auto_renew_succeeded").0, 0);
    // A manual purchase lifts remaining to 1,050 > 200 and so re-arms: one event from there
    // straight down to 200 buys.
    w.buy("sms-cn-1k");
    assert_eq!(w.a.cash(), d("55.00"));
    assert_eq!(w.sms_plans().len(), 2);
    w.use_("sms.cn", 850);
    assert_eq!(w.sms_plans().len(), 3);
    assert_eq!(w.a.cash(), d("10.00"));
    assert_eq!(w.count("plan.auto_renew_succeeded"), (1, 1));
    assert_eq!(w.count("plan.auto_renew_failed").0, 1);
}

#[test]
fn plan_9_expiry_trigger_10_days_before_buys_once_for_plans_expiring_together() {
    let mut w = World::new("0.00");
    w.top_up("200.00");
    w.set_repurchase("sms-cn-1k", 0, true);
    w.buy("sms-cn-1k");
    w.buy("sms-cn-1k");
    assert_eq!(w.a.cash(), d("110.00"));
    let expires_at = ts("2027-03-01T09:00:00+08:00");
    w.advance_to(ts("2027-02-19T08:59:59+08:00"));
    assert_eq!(w.sms_plans().len(), 2);
    w.advance_to(ts("2027-02-19T09:00:00+08:00"));
    let plans = w.sms_plans();
    assert_eq!(plans.len(), 3, "two plans expiring together: one purchase");
    assert_eq!(w.a.cash(), d("65.00"));
    let bought = w.a.plan(plans[2]).unwrap();
    assert_eq!(bought.effective_at, ts("2027-02-19T09:00:00+08:00"));
    assert_eq!(bought.expires_at, ts("2028-02-19T09:00:00+08:00"));
    let m = w.notices("plan.auto_renew_succeeded")[0];
    assert_eq!(m.data["trigger"]["kind"], "expiry");
    // Running the trigger again has the effect of running it once (TIME-4).
    let again = DueKind::PlanRepurchase {
        product: "sms".into(),
        expires_at,
    };
    let fx = w.a.on_due(&again, &w.c, &P, w.now);
    assert!(fx.messages.is_empty() && fx.journal.is_empty());
    w.advance_to(ts("2027-03-02T09:00:00+08:00"));
    assert_eq!(w.sms_plans().len(), 3);
    assert_eq!(w.count("plan.auto_renew_succeeded"), (1, 1));
}

#[test]
fn plan_9_switched_off_the_expiry_trigger_does_nothing_switched_on_late_it_runs_at_once() {
    let mut w = World::new("0.00");
    w.top_up("200.00");
    w.set_repurchase("sms-cn-1k", 0, true);
    w.buy("sms-cn-1k");
    w.set_repurchase("sms-cn-1k", 0, false);
    w.advance_to(ts("2027-02-20T09:00:00+08:00"));
    assert_eq!(w.sms_plans().len(), 1, "off at the trigger instant");
    assert_eq!(w.count("plan.auto_renew_succeeded").0, 0);
    // On again, 9 days before expiry: the trigger is due at once.
    w.set_repurchase("sms-cn-1k", 0, true);
    w.advance_to(w.now);
    assert_eq!(w.sms_plans().len(), 2);
    assert_eq!(w.count("plan.auto_renew_succeeded").0, 1);
}

#[test]
fn plan_9_an_exhausted_plan_does_not_trigger_at_expiry() {
    let mut w = World::new("0.00");
    w.top_up("200.00");
    w.buy("sms-cn-1k");
    w.use_("sms.cn", 1000);
    w.set_repurchase("sms-cn-1k", 0, true);
    w.advance_to(ts("2027-02-20T09:00:00+08:00"));
    assert_eq!(
        w.sms_plans().len(),
        1,
        "nothing left to forfeit, nothing to renew"
    );
}

#[test]
fn plan_9_auto_renew_not_allowed_for_msg_mail_and_other_products_specs() {
    let mut w = World::new("0.00");
    for spec in ["msg-ppu-5k", "mail-10k"] {
        let e = w.try_set_repurchase(spec, 100, true).unwrap_err();
        assert_eq!(e.code, ErrorCode::AutoRenewNotAllowed, "{spec}");
    }
    // A spec of another product is not one sms may repurchase.
    let sms = w.c.product("sms").unwrap().clone();
    let (_, mail) = w.c.plan_spec("mail-10k").unwrap();
    let mail = mail.clone();
    let e =
        w.a.set_plan_auto_renew(&sms, &mail, 100, true, CATALOG_VERSION, w.now)
            .unwrap_err();
    assert_eq!(e.code, ErrorCode::AutoRenewNotAllowed);
    assert!(w.a.alerts.values().all(|a| a.repurchase.is_none()));
    w.set_repurchase("sms-cn-10k", 100, true);
}

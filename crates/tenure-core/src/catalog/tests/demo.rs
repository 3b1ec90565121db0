//! CAT-2: the demo catalog holds every value of `spec/DEMO_CATALOG.md`, asserted one by one.

use super::dec;
use crate::catalog::*;
use crate::money::Currency;
use crate::span::{Span, SpanUnit};
use jiff::civil::Time;

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&str> {
    items.iter().map(id).collect()
}

#[test]
fn cat_2_demo_models_the_five_source_products_in_cny() {
    let c = demo();
    assert_eq!(c.currency, Currency::CNY);
    assert_eq!(
        ids(&c.products, |p| &p.id),
        ["sms", "msg", "phone", "iot", "mail"]
    );
}

#[test]
fn cat_2_demo_account_wide_defaults() {
    let d = demo().defaults;
    assert_eq!(d.late_window, Span::hours(48));
    assert_eq!(d.low_balance_notices, 5);
    assert_eq!(d.low_balance_repeat, Span::days(1));
    assert_eq!(d.unsubscribe_fee_percent, dec("10"));
    assert_eq!(d.bill_delay, Span::new(0, SpanUnit::Minute));
}

#[test]
fn cat_2_demo_sms() {
    let c = demo();
    let sms = c.product("sms").unwrap();
    assert_eq!(ids(&sms.meters, |m| &m.id), ["sms.cn", "sms.intl"]);
    let payg = sms.payg.as_ref().unwrap();
    assert_eq!(payg.cycle, Cycle::Hour);
    assert!(!payg.activation_required);
    assert_eq!(payg.prices["sms.cn"], dec("0.045"));
    assert_eq!(payg.prices["sms.intl"], dec("0.300"));
    assert_eq!(ids(&sms.plans, |p| &p.id), ["sms-cn-1k", "sms-cn-10k"]);
    for (id, quota, price) in [
        ("sms-cn-1k", 1_000, "45.00"),
        ("sms-cn-10k", 10_000, "420.00"),
    ] {
        let plan = sms.plan(id).unwrap();
        assert_eq!(plan.meters, ["sms.cn"], "{id}");
        assert_eq!(plan.quota, quota, "{id}");
        assert_eq!(plan.kind, PlanKind::Aggregate, "{id}");
        assert_eq!(plan.validity, Span::months(12), "{id}");
        assert_eq!(plan.price, dec(price), "{id}");
        assert_eq!(plan.overflow, Overflow::PayPerUse, "{id}");
        assert!(
            plan.refundable,
            "{id}: PLAN-12 refundable while unused and unexpired"
        );
        assert_eq!(plan.source, PlanSource::Purchased, "{id}");
    }
    let auto = sms.plan_auto_renew.as_ref().unwrap();
    assert_eq!(auto.specs, ["sms-cn-1k", "sms-cn-10k"]);
    assert_eq!(auto.before_expiry, Span::days(10));
    assert_eq!(auto.pay_with, [Funding::Coupon, Funding::Cash]);
    // sms.intl: pay-as-you-go only.
    assert_eq!(sms.plans_covering("sms.intl").count(), 0);
    assert_eq!(c.payg_price("sms.intl"), Some(dec("0.3")));
    assert_eq!(sms.overdue.impact, OverdueImpact::StopImmediately);
    assert!(sms.subscription.is_none() && sms.editions.is_empty());
}

#[test]
fn cat_2_demo_msg() {
    let c = demo();
    let msg = c.product("msg").unwrap();
    assert_eq!(ids(&msg.meters, |m| &m.id), ["msg.send"]);
    let payg = msg.payg.as_ref().unwrap();
    assert_eq!(payg.prices["msg.send"], dec("0.055"));
    assert_eq!(payg.cycle, Cycle::Hour);
    assert!(payg.activation_required);
    let ppu = msg.plan("msg-ppu-5k").unwrap();
    let sbe = msg.plan("msg-sbe-5k").unwrap();
    for plan in [ppu, sbe] {
        assert_eq!(plan.meters, ["msg.send"]);
        assert_eq!(plan.quota, 5_000);
        assert_eq!(plan.kind, PlanKind::Aggregate);
        assert_eq!(plan.validity, Span::months(12));
        assert!(!plan.refundable);
    }
    assert_eq!(
        (ppu.price, ppu.overflow),
        (dec("250.00"), Overflow::PayPerUse)
    );
    assert_eq!(
        (sbe.price, sbe.overflow),
        (dec("240.00"), Overflow::StopBeforeExcess)
    );
    let policy = &msg.plan_policy;
    assert_eq!(policy.expiry_reminders, [Span::days(7)]);
    assert!(policy.remind_at_expiry);
    assert_eq!(policy.renewal_grace, Span::days(15));
    assert_eq!(policy.renewal_retention, Span::days(15));
    assert!(msg.plan_auto_renew.is_none());
    assert_eq!(
        msg.overdue.impact,
        OverdueImpact::StopAfter {
            after: Span::hours(24)
        }
    );
}

#[test]
fn cat_2_demo_phone() {
    let c = demo();
    let phone = c.product("phone").unwrap();
    let std = phone.edition("phone-std").unwrap();
    assert_eq!(
        std.pricing,
        EditionPricing::Paid {
            price_per_month: Some(dec("99.00")),
            price_per_year: Some(dec("990.00")),
        }
    );
    assert_eq!(std.terms.months, (1..=9).collect::<Vec<u32>>());
    assert_eq!(std.terms.years, [1, 2, 3]);
    assert_eq!(
        std.terms.auto_renew_periods,
        [Span::months(1), Span::years(1)]
    );
    assert_eq!(std.price_for(Span::months(3)), Some(dec("297.00")));
    assert_eq!(std.price_for(Span::years(2)), Some(dec("1980.00")));
    assert_eq!(
        std.price_for(Span::months(10)),
        None,
        "10 months is not a term"
    );
    let sub = phone.subscription.as_ref().unwrap();
    assert_eq!(sub.auto_renew.first_attempt_before, Span::days(7));
    assert_eq!(sub.auto_renew.last_attempt_before, Span::days(1));
    assert_eq!(sub.auto_renew.run_time, Time::constant(3, 0, 0, 0));
    assert_eq!(
        sub.expiry,
        ExpiryFlow::GraceRetentionRelease {
            grace: Span::days(15),
            retention: Span::days(15),
        }
    );
    assert!(sub.co_term);
    assert_eq!(phone.overdue.impact, OverdueImpact::BlockFeeOperations);
    assert_eq!(std.overdue.impact, OverdueImpact::BlockFeeOperations);
}

#[test]
fn cat_2_demo_iot() {
    let c = demo();
    let iot = c.product("iot").unwrap();
    assert_eq!(
        ids(&iot.editions, |e| &e.id),
        ["iot-public", "iot-legacy", "iot-enterprise"]
    );

    let public = iot.edition("iot-public").unwrap();
    assert!(public.is_free());
    assert!(public.terms.months.is_empty() && public.terms.years.is_empty());
    assert_eq!(public.idle_freeze_after, Span::days(30));
    assert_eq!(public.overdue.impact, OverdueImpact::None);
    assert!(public.payg.is_none());

    let legacy = iot.edition("iot-legacy").unwrap();
    assert!(legacy.is_free());
    let payg = legacy.payg.as_ref().unwrap();
    assert_eq!(payg.prices["iot.msg"], dec("0.0012"));
    assert_eq!(payg.cycle, Cycle::Hour);
    assert_eq!(
        legacy.overdue.impact,
        OverdueImpact::StopAfter {
            after: Span::hours(24)
        }
    );
    assert_eq!(legacy.overdue.release_after, Span::days(15));
    let billed = c.payg("iot.msg").unwrap();
    assert_eq!(billed.edition.map(|e| e.id.as_str()), Some("iot-legacy"));
    assert_eq!(billed.unit_price, dec("0.0012"));

    let enterprise = iot.edition("iot-enterprise").unwrap();
    assert_eq!(enterprise.price_for(Span::months(1)), Some(dec("3000.00")));
    assert_eq!(enterprise.terms.months, (1..=11).collect::<Vec<u32>>());
    assert_eq!(enterprise.terms.years, [1, 2, 3]);
    assert_eq!(enterprise.terms.auto_renew_periods, [Span::months(1)]);
    assert!(!enterprise.terms.allows_auto_renew(Span::years(1)));
    assert_eq!(enterprise.overdue.impact, OverdueImpact::BlockFeeOperations);

    let sub = iot.subscription.as_ref().unwrap();
    assert_eq!(sub.auto_renew.first_attempt_before, Span::days(9));
    assert_eq!(sub.auto_renew.last_attempt_before, Span::days(1));
    assert_eq!(sub.auto_renew.run_time, Time::constant(8, 0, 0, 0));
    assert_eq!(sub.auto_renew.pay_with, [Funding::Coupon, Funding::Cash]);
    assert_eq!(
        sub.expiry,
        ExpiryFlow::StopThenRelease {
            release_after: Span::days(15)
        }
    );
}

#[test]
fn cat_2_demo_mail() {
    let c = demo();
    let mail = c.product("mail").unwrap();
    assert_eq!(ids(&mail.meters, |m| &m.id), ["mail.send"]);
    assert!(mail.purchase_requires_verified);
    let payg = mail.payg.as_ref().unwrap();
    assert_eq!(payg.prices["mail.send"], dec("0.002"));
    assert_eq!(payg.cycle, Cycle::Hour);
    assert!(payg.activation_required && payg.activation_requires_verified);

    let free = mail.plan("mail-free-daily").unwrap();
    assert_eq!(free.quota, 200);
    assert_eq!(free.kind, PlanKind::Resetting { reset: Cycle::Day });
    assert_eq!(free.source, PlanSource::Free);
    assert_eq!(free.validity, Span::months(12));
    assert_eq!(free.price, dec("0.00"));

    for (id, quota, price) in [
        ("mail-10k", 10_000, "15.00"),
        ("mail-100k", 100_000, "130.00"),
    ] {
        let plan = mail.plan(id).unwrap();
        assert_eq!(plan.quota, quota, "{id}");
        assert_eq!(plan.kind, PlanKind::Aggregate, "{id}");
        assert_eq!(plan.validity, Span::months(6), "{id}");
        assert_eq!(plan.price, dec(price), "{id}");
        assert_eq!(plan.overflow, Overflow::PayPerUse, "{id}");
        assert!(!plan.refundable, "{id}");
        assert_eq!(plan.source, PlanSource::Purchased, "{id}");
    }
    assert_eq!(mail.plan_policy.expiry_reminders, [Span::days(7)]);
    assert!(mail.plan_policy.remind_at_expiry);
    assert_eq!(mail.overdue.impact, OverdueImpact::StopImmediately);
}

#[test]
fn cat_2_demo_prices_the_scenario_overflow_bill() {
    // shared/scenarios/sms_overflow_bill.toml: 200 messages over the plan bill 9.00.
    let c = demo();
    let line = Currency::CNY.round(dec("200") * c.payg_price("sms.cn").unwrap());
    assert_eq!(line, dec("9.00"));
}

//! CAT-1: whole-file behaviour of the loader (all problems at once, syntax errors, the error
//! format), the RULES defaults of omitted values, and the lookups the engine uses.

use super::dec;
use crate::catalog::*;
use crate::span::{Span, SpanUnit};
use jiff::civil::Time;

/// A minimal valid product, appended to catalogs that test something else.
const PRODUCT: &str = "[[product]]\nid = \"p\"\nname = \"P\"\noverdue = { impact = \"none\" }\n";

#[test]
fn cat_1_reports_file_line_and_field() {
    let text = r#"[catalog]
name = "shop"
currency = "CNY"

[[product]]
id = "sms"
name = "SMS"
overdue = { impact = "none" }

[[product.meter]]
id = "sms.cn"

[[product.plan]]
id = "sms-cn-1k"
meters = ["sms.cn"]
quota = 1000
kind = "aggregate"
validity = "12 months"
price = "45.001"
overflow = "stop_before_excess"
"#;
    let errors = parse("shop.toml", text).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["shop.toml:19: product.sms.plan.sms-cn-1k.price: \
          amount 45.001 has more decimals than CNY allows (2)"]
    );
}

#[test]
fn cat_1_reports_every_problem_at_once_in_file_order() {
    let text = r#"[catalog]
name = "shop"
currency = "CNY"
colour = "blue"

[defaults]
late_window = "two days"

[[product]]
id = "p"
name = "P"
overdue = { impact = "sometimes" }

[[product.meter]]
id = "p.m"

[[product.plan]]
id = "s"
meters = ["p.m", "p.nope"]
quota = -5
kind = "aggregate"
validity = "1 month"
price = "1.00"
overflow = "stop_before_excess"
"#;
    let errors = parse("shop.toml", text).unwrap_err();
    let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (4, "catalog.colour"),
            (7, "defaults.late_window"),
            (12, "product.p.overdue.impact"),
            (19, "product.p.plan.s.meters"),
            (20, "product.p.plan.s.quota"),
        ]
    );
}

#[test]
fn cat_1_unknown_fields_are_reported_not_ignored() {
    let text = "[catalog]\nname = \"x\"\ncurrency = \"CNY\"\n[defaults]\nlate_windw = \"1h\"\n";
    let errors = parse("x.toml", &format!("{text}{PRODUCT}")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 5);
    assert_eq!(errors[0].field, "defaults.late_windw");
    assert!(errors[0].message.contains("did you mean `late_window`"));
    // A key far from every known one lists them instead.
    let text = "[catalog]\nname = \"x\"\ncurrency = \"CNY\"\nzzzzzzzzzz = 1\n";
    let errors = parse("x.toml", &format!("{text}{PRODUCT}")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "catalog.zzzzzzzzzz");
    assert!(
        errors[0]
            .message
            .contains("expected one of: name, currency, version")
    );
}

#[test]
fn cat_1_syntax_errors_name_their_line() {
    let text = "[catalog]\nname = \"x\"\ncurrency = \"CNY\n[[product]]\n";
    let errors = parse("x.toml", text).unwrap_err();
    assert_eq!(errors[0].line, 3);
    assert_eq!(errors[0].field, "");
    assert!(errors[0].to_string().starts_with("x.toml:3: "));
}

#[test]
fn cat_1_header_problems() {
    let errors = parse("x.toml", "").unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["catalog", "product"]);
    let text = format!("[catalog]\nname = \"x\"\ncurrency = \"XYZ\"\n{PRODUCT}");
    let errors = parse("x.toml", &text).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (3, "catalog.currency")
    );
    assert!(errors[0].message.contains("unknown currency"));
}

#[test]
fn cat_1_amounts_follow_the_catalog_currency() {
    let text = |currency: &str, price: &str| {
        format!(
            "[catalog]\nname = \"x\"\ncurrency = \"{currency}\"\n[[product]]\nid = \"p\"\n\
             name = \"P\"\noverdue = {{ impact = \"none\" }}\n[[product.meter]]\nid = \"p.m\"\n\
             [[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 1\nkind = \"aggregate\"\n\
             validity = \"1d\"\nprice = \"{price}\"\noverflow = \"stop_before_excess\"\n"
        )
    };
    assert!(parse("x.toml", &text("JPY", "100")).is_ok());
    assert!(parse("x.toml", &text("JPY", "100.5")).is_err());
    assert!(parse("x.toml", &text("KWD", "1.125")).is_ok());
}

/// A catalog that sets nothing it need not: every policy value takes its RULES default.
const SPARSE: &str = r#"[catalog]
name = "sparse"
currency = "CNY"

[[product]]
id = "p"
name = "P"
overdue = { impact = "stop_after", after = "24h" }

[[product.meter]]
id = "p.m"

[product.payg]
prices = { "p.m" = "0.01" }

[product.plan_auto_renew]
specs = ["s"]

[[product.plan]]
id = "s"
meters = ["p.m"]
quota = 10
kind = "aggregate"
validity = "1 month"
price = "1.00"

[[product.edition]]
id = "e"
price_per_month = "10.00"
term_months = [1]
"#;

#[test]
fn cat_1_omitted_policy_values_take_the_rules_defaults() {
    let c = parse("sparse.toml", SPARSE).unwrap();
    let d = &c.defaults;
    assert_eq!(d.late_window, Span::hours(48), "USE-1");
    assert_eq!(
        d.reservation_timeout,
        Span::new(5, SpanUnit::Minute),
        "PLAN-10"
    );
    assert_eq!(d.bill_delay, Span::new(0, SpanUnit::Minute), "PAYG-2");
    assert_eq!(
        (d.low_balance_notices, d.low_balance_repeat),
        (5, Span::days(1)),
        "ACC-7"
    );
    assert_eq!(d.unsubscribe_fee_percent, dec("10"), "SUB-10");
    assert_eq!(d.overdue_release_after, Span::days(15), "OVD-3");
    let p = c.product("p").unwrap();
    assert!(!p.purchase_requires_verified, "ACC-6");
    assert_eq!(p.overdue.release_after, Span::days(15), "OVD-3");
    assert_eq!(p.overdue.stop_warning_before, Span::hours(2), "OVD-5");
    assert_eq!(p.overdue.release_warning_before, Span::days(3), "OVD-5");
    let payg = p.payg.as_ref().unwrap();
    assert_eq!(payg.cycle, Cycle::Hour, "PAYG-2");
    assert!(payg.activation_required, "PAYG-1");
    assert!(!payg.activation_requires_verified, "ACC-6");
    let plan = p.plan("s").unwrap();
    assert_eq!(plan.name, "s");
    assert_eq!(plan.source, PlanSource::Purchased, "PLAN-3");
    assert_eq!(plan.overflow, Overflow::PayPerUse, "PLAN-5");
    assert!(!plan.refundable, "PLAN-12");
    assert_eq!(plan.region, None);
    let pp = &p.plan_policy;
    assert_eq!(pp.expiry_reminders, [Span::days(7)], "PLAN-8");
    assert!(pp.remind_at_expiry, "PLAN-8");
    assert_eq!(
        (pp.renewal_grace, pp.renewal_retention),
        (Span::days(15), Span::days(15))
    );
    assert_eq!(
        pp.source_order,
        [
            PlanSource::Free,
            PlanSource::Promotional,
            PlanSource::Purchased
        ],
        "PLAN-3"
    );
    assert!(pp.source_rank(PlanSource::Free) < pp.source_rank(PlanSource::Purchased));
    let auto = p.plan_auto_renew.as_ref().unwrap();
    assert_eq!(auto.before_expiry, Span::days(10), "PLAN-9");
    assert_eq!(auto.pay_with, [Funding::Coupon, Funding::Cash], "PLAN-9");
    let sub = p
        .subscription
        .as_ref()
        .expect("a product with editions has a policy");
    assert_eq!(sub.auto_renew.first_attempt_before, Span::days(9), "SUB-4");
    assert_eq!(sub.auto_renew.last_attempt_before, Span::days(1), "SUB-4");
    assert_eq!(sub.auto_renew.run_time, Time::constant(8, 0, 0, 0), "SUB-4");
    assert_eq!(
        sub.auto_renew.pay_with,
        [Funding::Coupon, Funding::Cash],
        "SUB-4"
    );
    assert!(!sub.co_term, "SUB-5");
    assert_eq!(
        (sub.prorate_days_per_month, sub.prorate_days_per_year),
        (30, 365),
        "SUB-5"
    );
    let release_after = Span::days(15);
    assert_eq!(
        sub.expiry,
        ExpiryFlow::StopThenRelease { release_after },
        "SUB-6"
    );
    assert_eq!(
        sub.expiry_reminders,
        [Span::days(7), Span::days(3), Span::days(1)],
        "SUB-2"
    );
    assert_eq!(sub.canceled_notice_before, Span::days(3), "SUB-2");
    assert_eq!(sub.release_warning_before, Span::days(3), "SUB-6");
    assert_eq!(sub.unsubscribe_fee_percent, dec("10"), "SUB-10");
    let e = p.edition("e").unwrap();
    assert_eq!(e.idle_freeze_after, Span::days(30), "SUB-9");
    assert_eq!(
        e.overdue, p.overdue,
        "an edition inherits its product's overdue policy"
    );
    assert_eq!(
        e.pricing,
        EditionPricing::Paid {
            price_per_month: Some(dec("10.00")),
            price_per_year: Some(dec("120.00")),
        },
        "a yearly price left out is 12 × monthly"
    );
    assert_eq!(e.trial, None);
}

#[test]
fn cat_1_defaults_table_and_edition_overrides_are_applied() {
    let text = SPARSE
        .replace(
            "[[product]]",
            "[defaults]\noverdue_release_after = \"20d\"\nunsubscribe_fee_percent = \"7.5\"\n\
             [[product]]",
        )
        .replace(
            "term_months = [1]",
            "term_months = [1]\ntrial = \"14d\"\nidle_freeze_after = \"10d\"\n\
             overdue = { impact = \"none\" }",
        );
    let c = parse("x.toml", &text).unwrap();
    let p = c.product("p").unwrap();
    assert_eq!(
        p.overdue.release_after,
        Span::days(20),
        "OVD-3 from [defaults]"
    );
    let sub = p.subscription.as_ref().unwrap();
    assert_eq!(
        sub.unsubscribe_fee_percent,
        dec("7.5"),
        "SUB-10 from [defaults]"
    );
    let e = p.edition("e").unwrap();
    assert_eq!(e.overdue.impact, OverdueImpact::None);
    assert_eq!(
        e.overdue.release_after,
        Span::days(20),
        "inherited from the product"
    );
    assert_eq!(p.overdue_for(Some("e")).impact, OverdueImpact::None);
    assert_eq!(e.trial, Some(Span::days(14)));
    assert_eq!(e.idle_freeze_after, Span::days(10));
}

#[test]
fn cat_1_lookups() {
    let c = demo();
    assert_eq!(
        c.meter("sms.cn").map(|(p, m)| (&*p.id, &*m.unit)),
        Some(("sms", "message"))
    );
    assert!(c.meter("sms.xx").is_none());
    assert_eq!(c.plan_spec("mail-10k").map(|(p, _)| &*p.id), Some("mail"));
    assert!(c.plan_spec("nope").is_none());
    assert_eq!(
        c.edition("iot", "iot-legacy").map(|e| &*e.id),
        Some("iot-legacy")
    );
    assert!(c.edition("phone", "iot-legacy").is_none());
    assert_eq!(
        c.find_edition("phone-std").map(|(p, _)| &*p.id),
        Some("phone")
    );
    let mail = c.payg("mail.send").unwrap();
    assert_eq!((&*mail.product.id, mail.edition), ("mail", None));
    assert_eq!(mail.unit_price, dec("0.002"));
    assert_eq!(c.payg_price("nope"), None);
    let impact = |p, e| c.overdue(p, e).map(|o| o.impact);
    assert_eq!(impact("iot", None), Some(OverdueImpact::BlockFeeOperations));
    assert_eq!(impact("iot", Some("iot-public")), Some(OverdueImpact::None));
    assert_eq!(impact("iot", Some("nope")), None);
    assert_eq!(impact("nope", None), None);
    let legacy = c.overdue("iot", Some("iot-legacy")).unwrap().impact;
    assert_eq!(legacy.stop_delay(), Some(Span::hours(24)));
    assert_eq!(
        OverdueImpact::StopImmediately.stop_delay().map(|s| s.count),
        Some(0)
    );
    assert_eq!(OverdueImpact::BlockFeeOperations.stop_delay(), None);
    assert!(OverdueImpact::BlockFeeOperations.blocks_fee_operations());
    let mail = c.product("mail").unwrap();
    assert_eq!(mail.plans_covering("mail.send").count(), 3);
    assert_eq!(Cycle::Day.span_unit(), SpanUnit::Day);
}

#[test]
fn cat_1_catalog_serves_as_json_in_the_file_s_words() {
    let json = serde_json::to_value(demo()).unwrap();
    let sms = &json["products"][0];
    assert_eq!(json["currency"], "CNY");
    assert_eq!(sms["overdue"]["impact"], "stop_immediately");
    assert_eq!(sms["plans"][0]["kind"], "aggregate");
    assert_eq!(sms["plans"][0]["price"], "45.00");
    assert_eq!(sms["plans"][0]["validity"], "12 months");
    assert_eq!(sms["plans"][0]["overflow"], "pay_per_use");
    assert_eq!(sms["payg"]["prices"]["sms.cn"], "0.045");
    assert_eq!(sms["payg"]["cycle"], "hour");
    let msg = &json["products"][1];
    assert_eq!(msg["overdue"]["impact"], "stop_after");
    assert_eq!(msg["overdue"]["after"], "24h");
    assert_eq!(msg["plans"][1]["overflow"], "stop_before_excess");
    let phone = &json["products"][2];
    assert_eq!(
        phone["subscription"]["expiry"]["flow"],
        "grace_retention_release"
    );
    assert_eq!(phone["subscription"]["auto_renew"]["run_time"], "03:00:00");
    assert_eq!(phone["editions"][0]["pricing"]["kind"], "paid");
    assert_eq!(
        json["products"][3]["editions"][0]["pricing"]["kind"],
        "free"
    );
    let free = &json["products"][4]["plans"][0];
    assert_eq!(
        (&free["kind"], &free["reset"], &free["source"]),
        (
            &serde_json::json!("resetting"),
            &serde_json::json!("day"),
            &serde_json::json!("free")
        )
    );
}

#[test]
fn cat_1_the_documented_example_loads() {
    let doc = include_str!("../../../../../docs/CATALOG.md");
    let example = doc
        .rsplit("```toml\n")
        .next()
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let c = parse("docs/CATALOG.md", example).unwrap();
    assert_eq!(c.plan_spec("sms-cn-1k").unwrap().1.price, dec("45.00"));
}

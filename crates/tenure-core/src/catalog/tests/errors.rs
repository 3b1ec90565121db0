//! CAT-1: a broken catalog is refused with every problem, each naming the file, the line of the
//! offending value and the field.

use crate::catalog::{CatalogError, parse};

/// A valid catalog: one product `p` with meter `p.m` priced pay-as-you-go. Cases append to it;
/// `[[product.plan]]` and the like then belong to `p`, and `[[product]]` starts another.
const BASE: &str = r#"[catalog]
name = "test"
currency = "CNY"

[[product]]
id = "p"
name = "P"
overdue = { impact = "none" }

[[product.meter]]
id = "p.m"

[product.payg]
prices = { "p.m" = "0.01" }
"#;

/// A second product `q` with meter `q.m` and no pay-as-you-go; cases go on from it.
const Q: &str = r#"
[[product]]
id = "q"
name = "Q"
overdue = { impact = "none" }

[[product.meter]]
id = "q.m"
"#;

/// Marks the line the error must name.
const MARK: &str = "# <-";

fn marked_line(text: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(MARK))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "one marked line expected in:\n{text}");
    lines[0]
}

fn errors(text: &str) -> Vec<CatalogError> {
    parse("test.toml", text).expect_err("the catalog should be refused")
}

#[test]
fn cat_1_base_catalogs_of_these_tests_are_valid() {
    parse("base.toml", BASE).unwrap();
    parse("base.toml", &format!("{BASE}{Q}")).unwrap();
}

/// (what is broken, text appended to BASE, field, part of the message)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "unknown key, with the likely one",
        r#"
[[product.plan]]
id = "s"
meters = ["p.m"]
quota = 10
kind = "aggregate"
validity = "1 month"
price = "1.00"
refundabel = true  # <-
"#,
        "product.p.plan.s.refundabel",
        "unknown field `refundabel` (did you mean `refundable`?)",
    ),
    (
        "co-term field on a product with no subscription",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\nco_term = true  # <-\n",
        "product.r.co_term",
        "unknown field `co_term`",
    ),
    (
        "duplicate product id",
        "\n[[product]]\nid = \"p\"  # <-\nname = \"P2\"\noverdue = { impact = \"none\" }\n",
        "product.p.id",
        "duplicate product `p` (first defined on line 6)",
    ),
    (
        "duplicate meter id, across products",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"p.m\"  # <-\n",
        "product.r.meter.p.m.id",
        "duplicate meter `p.m` (first defined on line 11)",
    ),
    (
        "duplicate plan spec id",
        r#"
[[product.plan]]
id = "s"
meters = ["p.m"]
quota = 10
kind = "aggregate"
validity = "1 month"
price = "1.00"
[[product.plan]]
id = "s"  # <-
meters = ["p.m"]
quota = 20
kind = "aggregate"
validity = "1 month"
price = "2.00"
"#,
        "product.p.plan.s.id",
        "duplicate plan spec `s` (first defined on line 17)",
    ),
    (
        "duplicate edition id",
        "\n[[product.edition]]\nid = \"e\"\nfree = true\n[[product.edition]]\nid = \"e\"  # <-\nfree = true\n",
        "product.p.edition.e.id",
        "duplicate edition `e`",
    ),
    (
        "plan covering a meter its product does not define",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"q.m\"]  # <-\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.meters",
        "this product defines no meter `q.m`",
    ),
    (
        "pay-as-you-go price for an unknown meter",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[product.payg]\nprices = { \"r.x\" = \"0.01\" }  # <-\n",
        "product.r.payg.prices.r.x",
        "this product defines no meter `r.x`",
    ),
    (
        "meter priced twice (product and edition)",
        "\n[[product.edition]]\nid = \"e\"\nfree = true\n[product.edition.payg]\nprices = { \"p.m\" = \"0.02\" }  # <-\n",
        "product.p.edition.e.payg.prices.p.m",
        "duplicate pay-as-you-go price for meter `p.m` (first defined on line 14)",
    ),
    (
        "unquoted dotted meter id in prices",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"r.m\"\n[product.payg]\nprices = { r.m = \"0.01\" }  # <-\n",
        "product.r.payg.prices.r",
        "quote meter ids that contain dots",
    ),
    (
        "negative unit price",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"r.m\"\n[product.payg]\nprices = { \"r.m\" = \"-0.01\" }  # <-\n",
        "product.r.payg.prices.r.m",
        "must not be negative",
    ),
    (
        "unit price with more than six decimals",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"r.m\"\n[product.payg]\nprices = { \"r.m\" = \"0.0000001\" }  # <-\n",
        "product.r.payg.prices.r.m",
        "more than 6 decimals",
    ),
    (
        "plan price finer than the currency's minor unit",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"45.001\"  # <-\n",
        "product.p.plan.s.price",
        "more decimals than CNY allows",
    ),
    (
        "negative plan price",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"-1.00\"  # <-\n",
        "product.p.plan.s.price",
        "must not be negative",
    ),
    (
        "price written as a float",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = 45.0  # <-\n",
        "product.p.plan.s.price",
        "write money as a string",
    ),
    (
        "zero quota",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 0  # <-\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.quota",
        "must be at least 1, got 0",
    ),
    (
        "missing required field, reported at the table",
        "\n[[product.plan]]  # <-\nid = \"s\"\nmeters = [\"p.m\"]\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.quota",
        "missing (required)",
    ),
    (
        "span that does not parse",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"12 moons\"  # <-\nprice = \"1.00\"\n",
        "product.p.plan.s.validity",
        "is not a span",
    ),
    (
        "span that is not positive",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"0d\"  # <-\nprice = \"1.00\"\n",
        "product.p.plan.s.validity",
        "must be longer than zero",
    ),
    (
        "validity in hours",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"36h\"  # <-\nprice = \"1.00\"\n",
        "product.p.plan.s.validity",
        "must be in days, weeks, months or years",
    ),
    (
        "resetting plan without reset",
        "\n[[product.plan]]  # <-\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"resetting\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.reset",
        "kind = \"resetting\" needs reset",
    ),
    (
        "aggregate plan with reset",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nreset = \"day\"  # <-\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.reset",
        "only allowed with kind = \"resetting\"",
    ),
    (
        "unknown enum value",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"monthly\"  # <-\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan.s.kind",
        "unknown value \"monthly\"; expected one of \"aggregate\", \"resetting\"",
    ),
    (
        "free plan with a price",
        "\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nsource = \"free\"\nprice = \"1.00\"  # <-\n",
        "product.p.plan.s.price",
        "source = \"free\" must cost 0",
    ),
    (
        "pay_per_use overflow with no pay-as-you-go price",
        "\n[[product]]\nid = \"q\"\nname = \"Q\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"q.m\"\n[[product.plan]]\nid = \"s\"\nmeters = [\"q.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\noverflow = \"pay_per_use\"  # <-\n",
        "product.q.plan.s.overflow",
        "overflow pay_per_use needs a pay-as-you-go price for `q.m`",
    ),
    (
        "stop_after without after",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"stop_after\" }  # <-\n",
        "product.r.overdue.after",
        "impact = \"stop_after\" needs `after`",
    ),
    (
        "after without stop_after",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\", after = \"24h\" }  # <-\n",
        "product.r.overdue.after",
        "only allowed with impact = \"stop_after\"",
    ),
    (
        "missing overdue impact",
        "\n[[product]]  # <-\nid = \"r\"\nname = \"R\"\n",
        "product.r.overdue",
        "missing (required)",
    ),
    (
        "unknown pay-as-you-go cycle",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"none\" }\n[[product.meter]]\nid = \"r.m\"\n[product.payg]\ncycle = \"week\"  # <-\nprices = { \"r.m\" = \"0.01\" }\n",
        "product.r.payg.cycle",
        "unknown value \"week\"",
    ),
    (
        "subscription policy on a product without editions",
        "\n[product.subscription]  # <-\nco_term = true\n",
        "product.p.subscription",
        "this product has no [[product.edition]]",
    ),
    (
        "plan auto-renewal naming an unknown spec",
        "\n[product.plan_auto_renew]\nspecs = [\"nope\"]  # <-\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan_auto_renew.specs",
        "this product has no plan spec `nope`",
    ),
    (
        "plan auto-renewal on a product without plans",
        "\n[product.plan_auto_renew]  # <-\nspecs = [\"s\"]\n",
        "product.p.plan_auto_renew",
        "this product has no [[product.plan]]",
    ),
    (
        "paid edition without a price",
        "\n[[product.edition]]  # <-\nid = \"e\"\nterm_months = [1]\n",
        "product.p.edition.e.price_per_month",
        "a paid edition needs price_per_month and/or price_per_year",
    ),
    (
        "paid edition selling no term",
        "\n[[product.edition]]  # <-\nid = \"e\"\nprice_per_month = \"10.00\"\n",
        "product.p.edition.e.term_months",
        "sells no term",
    ),
    (
        "zero edition price",
        "\n[[product.edition]]\nid = \"e\"\nprice_per_month = \"0.00\"  # <-\nterm_months = [1]\n",
        "product.p.edition.e.price_per_month",
        "must be positive",
    ),
    (
        "auto-renew period the edition does not sell",
        "\n[[product.edition]]\nid = \"e\"\nprice_per_month = \"10.00\"\nterm_months = [1, 2]\nauto_renew_periods = [\"1 year\"]  # <-\n",
        "product.p.edition.e.auto_renew_periods",
        "auto-renew period 1 year is not a term this edition sells",
    ),
    (
        "free edition with a price",
        "\n[[product.edition]]\nid = \"e\"\nfree = true\nprice_per_month = \"10.00\"  # <-\n",
        "product.p.edition.e.price_per_month",
        "a free edition (free = true) has no price",
    ),
    (
        "term out of range",
        "\n[[product.edition]]\nid = \"e\"\nprice_per_month = \"10.00\"\nterm_months = [0, 1]  # <-\n",
        "product.p.edition.e.term_months",
        "must be from 1 to 120, got 0",
    ),
    (
        "last auto-renew attempt before the first",
        "\n[product.subscription]\nfirst_attempt_before = \"2d\"\nlast_attempt_before = \"5d\"  # <-\n[[product.edition]]\nid = \"e\"\nfree = true\n",
        "product.p.subscription.last_attempt_before",
        "must not come before the first",
    ),
    (
        "auto-renew attempts counted in hours",
        "\n[product.subscription]\nfirst_attempt_before = \"48h\"  # <-\n[[product.edition]]\nid = \"e\"\nfree = true\n",
        "product.p.subscription.first_attempt_before",
        "must be in days",
    ),
    (
        "run time that is not a time of day",
        "\n[product.subscription]\nrun_time = \"25:00\"  # <-\n[[product.edition]]\nid = \"e\"\nfree = true\n",
        "product.p.subscription.run_time",
        "is not a time of day",
    ),
    (
        "expiry key of the other flow",
        "\n[product.subscription]\nexpiry = { flow = \"stop_then_release\", grace = \"15d\" }  # <-\n[[product.edition]]\nid = \"e\"\nfree = true\n",
        "product.p.subscription.expiry.grace",
        "only allowed with flow = \"grace_retention_release\"",
    ),
    (
        "pay_with naming a funding source twice",
        "\n[product.subscription]\npay_with = [\"cash\", \"cash\"]  # <-\n[[product.edition]]\nid = \"e\"\nfree = true\n",
        "product.p.subscription.pay_with",
        "cash is listed twice",
    ),
    (
        "incomplete deduction order",
        "\n[product.plan_policy]\nsource_order = [\"free\", \"purchased\"]  # <-\n[[product.plan]]\nid = \"s\"\nmeters = [\"p.m\"]\nquota = 10\nkind = \"aggregate\"\nvalidity = \"1 month\"\nprice = \"1.00\"\n",
        "product.p.plan_policy.source_order",
        "must list \"free\", \"promotional\" and \"purchased\", each once",
    ),
    (
        "stop warning not shorter than the stop delay",
        "\n[[product]]\nid = \"r\"\nname = \"R\"\noverdue = { impact = \"stop_after\", after = \"1h\" }  # <-\n",
        "product.r.overdue.after",
        "the stop warning (2h before) must be shorter than `after` (1h)",
    ),
    (
        "id with characters outside the id alphabet",
        "\n[[product]]\nid = \"Bad Id\"  # <-\nname = \"R\"\noverdue = { impact = \"none\" }\n",
        "product.Bad Id.id",
        "is not an id",
    ),
];

#[test]
fn cat_1_each_broken_catalog_is_reported_at_its_line_and_field() {
    let mut failures = Vec::new();
    for (what, appended, field, message) in CASES {
        let text = format!("{BASE}{appended}");
        let got: Vec<(usize, String, String)> = errors(&text)
            .into_iter()
            .map(|e| {
                assert_eq!(e.file, "test.toml");
                (e.line, e.field, e.message)
            })
            .collect();
        let ok = matches!(got.as_slice(), [(line, f, m)]
            if *line == marked_line(&text) && f == field && m.contains(message));
        if !ok {
            failures.push(format!(
                "{what}: want line {} {field}: …{message}…\n  got {got:?}",
                marked_line(&text)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! `[product.subscription]` and `[[product.edition]]` (SUB-*). Editions inherit the product's
//! terms, idle freeze and overdue impact unless they set their own; the result is resolved here.

use super::product::{PAYG_KEYS, load_overdue, load_payg};
use super::read::{Sink, Table};
use super::{Loader, PAY_WITH_DEFAULT, load_pay_with, report_duplicates, value};
use crate::catalog::policy::{Defaults, Overdue};
use crate::catalog::subscription::{
    AutoRenewTiming, Edition, EditionPricing, ExpiryFlow, SubscriptionPolicy, Terms,
};
use crate::span::Span;
use jiff::civil::Time;
use rust_decimal::Decimal;
use toml::Spanned;

const POLICY_KEYS: &[&str] = &[
    "term_months",
    "term_years",
    "auto_renew_periods",
    "idle_freeze_after",
    "first_attempt_before",
    "last_attempt_before",
    "run_time",
    "pay_with",
    "co_term",
    "prorate_days_per_month",
    "prorate_days_per_year",
    "expiry",
    "expiry_reminders",
    "canceled_notice_before",
    "release_warning_before",
    "unsubscribe_fee_percent",
];
const EDITION_KEYS: &[&str] = &[
    "id",
    "name",
    "free",
    "price_per_month",
    "price_per_year",
    "trial",
    "term_months",
    "term_years",
    "auto_renew_periods",
    "idle_freeze_after",
    "overdue",
    "payg",
];
/// Keys that make no sense on a free edition.
const PAID_ONLY_KEYS: &[&str] = &[
    "price_per_month",
    "price_per_year",
    "trial",
    "term_months",
    "term_years",
    "auto_renew_periods",
];
const EXPIRY_KEYS: &[&str] = &["flow", "release_after", "grace", "retention"];

/// The longest term in months and in years a catalog may sell.
const TERM_MONTHS_MAX: u32 = 120;
const TERM_YEARS_MAX: u32 = 10;
/// The most editions one product may define.
const EDITIONS_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Flow {
    StopThenRelease,
    GraceRetentionRelease,
}

const FLOWS: &[(&str, Flow)] = &[
    ("stop_then_release", Flow::StopThenRelease),
    ("grace_retention_release", Flow::GraceRetentionRelease),
];

/// What editions inherit from `[product.subscription]`.
#[derive(Default)]
struct Inherited {
    months: Option<Vec<u32>>,
    years: Option<Vec<u32>>,
    periods: Option<Vec<Span>>,
    idle_freeze_after: Option<Span>,
}

/// The product's subscription policy (present exactly when it has editions) and its editions.
pub(super) fn load(
    l: &mut Loader,
    product: &Table<'_>,
    meters: &[String],
    overdue: Option<&Overdue>,
) -> (Option<SubscriptionPolicy>, Vec<Edition>) {
    let tables = product.tables(&mut l.sink, "edition", EDITION_KEYS);
    if tables.len() > EDITIONS_MAX {
        product.report(
            &mut l.sink,
            "edition",
            format!("more than {EDITIONS_MAX} editions"),
        );
    }
    let sub = product.table(&mut l.sink, "subscription", POLICY_KEYS);
    if sub.is_some() && !product.has("edition") {
        let message = "this product has no [[product.edition]]; remove [product.subscription]";
        product.report(&mut l.sink, "subscription", message);
        return (None, Vec::new());
    }
    let policy = load_policy(&mut l.sink, &l.defaults, sub.as_ref());
    let inherited = match &sub {
        Some(t) => Inherited {
            months: read_counts(&mut l.sink, t, "term_months", TERM_MONTHS_MAX),
            years: read_counts(&mut l.sink, t, "term_years", TERM_YEARS_MAX),
            periods: read_periods(&mut l.sink, t),
            idle_freeze_after: t.opt(&mut l.sink, "idle_freeze_after", value::span),
        },
        None => Inherited::default(),
    };
    let editions: Vec<Edition> = tables
        .iter()
        .filter_map(|t| load_edition(l, t, &inherited, meters, overdue))
        .collect();
    (product.has("edition").then_some(policy), editions)
}

fn load_policy(sink: &mut Sink, d: &Defaults, sub: Option<&Table<'_>>) -> SubscriptionPolicy {
    let mut p = SubscriptionPolicy {
        auto_renew: AutoRenewTiming {
            first_attempt_before: Span::days(9),
            last_attempt_before: Span::days(1),
            run_time: Time::constant(8, 0, 0, 0),
            pay_with: PAY_WITH_DEFAULT.to_vec(),
        },
        co_term: false,
        prorate_days_per_month: 30,
        prorate_days_per_year: 365,
        expiry: ExpiryFlow::StopThenRelease {
            release_after: Span::days(15),
        },
        expiry_reminders: vec![Span::days(7), Span::days(3), Span::days(1)],
        canceled_notice_before: Span::days(3),
        release_warning_before: d.release_warning_before,
        unsubscribe_fee_percent: d.unsubscribe_fee_percent,
    };
    let Some(t) = sub else {
        return p;
    };
    let a = &mut p.auto_renew;
    a.first_attempt_before = t
        .opt(sink, "first_attempt_before", value::day_span)
        .unwrap_or(a.first_attempt_before);
    a.last_attempt_before = t
        .opt(sink, "last_attempt_before", value::day_span)
        .unwrap_or(a.last_attempt_before);
    if a.last_attempt_before.count > a.first_attempt_before.count {
        let message = format!(
            "the last attempt ({} before) must not come before the first ({} before)",
            a.last_attempt_before, a.first_attempt_before
        );
        t.report(sink, "last_attempt_before", message);
    }
    a.run_time = t
        .opt(sink, "run_time", value::time_of_day)
        .unwrap_or(a.run_time);
    a.pay_with = load_pay_with(sink, t);
    p.co_term = t.opt(sink, "co_term", value::boolean).unwrap_or(p.co_term);
    p.prorate_days_per_month = t
        .opt(sink, "prorate_days_per_month", value::count_u32(31))
        .unwrap_or(p.prorate_days_per_month);
    p.prorate_days_per_year = t
        .opt(sink, "prorate_days_per_year", value::count_u32(366))
        .unwrap_or(p.prorate_days_per_year);
    p.expiry = load_expiry(sink, t).unwrap_or(p.expiry);
    if let Some(reminders) = t.list(sink, "expiry_reminders", value::span) {
        report_duplicates(sink, t, "expiry_reminders", &reminders);
        p.expiry_reminders = reminders.into_iter().map(Spanned::into_inner).collect();
    }
    p.canceled_notice_before = t
        .opt(sink, "canceled_notice_before", value::span)
        .unwrap_or(p.canceled_notice_before);
    p.release_warning_before = t
        .opt(sink, "release_warning_before", value::span)
        .unwrap_or(p.release_warning_before);
    p.unsubscribe_fee_percent = t
        .opt(sink, "unsubscribe_fee_percent", value::percent)
        .unwrap_or(p.unsubscribe_fee_percent);
    p
}

/// `expiry = { flow = …, … }` (SUB-6); `None` when absent or unreadable.
fn load_expiry(sink: &mut Sink, sub: &Table<'_>) -> Option<ExpiryFlow> {
    let t = sub.table(sink, "expiry", EXPIRY_KEYS)?;
    let flow = t.req(sink, "flow", value::choice(FLOWS));
    let release_after = t.opt(sink, "release_after", value::span);
    let grace = t.opt(sink, "grace", value::span);
    let retention = t.opt(sink, "retention", value::span);
    let (misplaced, allowed_with): (&[&str], &str) = match flow? {
        Flow::StopThenRelease => (&["grace", "retention"], "grace_retention_release"),
        Flow::GraceRetentionRelease => (&["release_after"], "stop_then_release"),
    };
    for key in misplaced.iter().filter(|k| t.has(k)) {
        t.report(
            sink,
            key,
            format!("only allowed with flow = \"{allowed_with}\""),
        );
    }
    Some(match flow? {
        Flow::StopThenRelease => ExpiryFlow::StopThenRelease {
            release_after: release_after.unwrap_or(Span::days(15)),
        },
        Flow::GraceRetentionRelease => ExpiryFlow::GraceRetentionRelease {
            grace: grace.unwrap_or(Span::days(15)),
            retention: retention.unwrap_or(Span::days(15)),
        },
    })
}

/// A list of term counts (`term_months = [1, 2, 3]`), each from 1 to `max`, each once.
fn read_counts(sink: &mut Sink, t: &Table<'_>, key: &str, max: u32) -> Option<Vec<u32>> {
    let items = t.list(sink, key, value::count_u32(max))?;
    report_duplicates(sink, t, key, &items);
    Some(items.into_iter().map(Spanned::into_inner).collect())
}

fn read_periods(sink: &mut Sink, t: &Table<'_>) -> Option<Vec<Span>> {
    let items = t.list(sink, "auto_renew_periods", value::term_span)?;
    report_duplicates(sink, t, "auto_renew_periods", &items);
    Some(items.into_iter().map(Spanned::into_inner).collect())
}

fn load_edition(
    l: &mut Loader,
    t: &Table<'_>,
    inherited: &Inherited,
    meters: &[String],
    overdue: Option<&Overdue>,
) -> Option<Edition> {
    let id = t.req(&mut l.sink, "id", value::id);
    if let Some(id) = &id {
        l.claim("edition", id, &t.span_of("id"), t.field("id"));
    }
    let sink = &mut l.sink;
    let name = t.opt(sink, "name", value::string);
    let free = t.opt(sink, "free", value::boolean).unwrap_or(false);
    let positive = |v: &_| {
        let amount = value::amount(l.currency)(v)?;
        if amount == Decimal::ZERO {
            return Err("must be positive (a free edition says free = true)".to_owned());
        }
        Ok(amount)
    };
    let per_month = t.opt(sink, "price_per_month", positive);
    let per_year = t.opt(sink, "price_per_year", positive);
    let trial = t.opt(sink, "trial", value::calendar_span);
    let months = read_counts(sink, t, "term_months", TERM_MONTHS_MAX);
    let years = read_counts(sink, t, "term_years", TERM_YEARS_MAX);
    let periods = read_periods(sink, t);
    let idle_freeze_after = t.opt(sink, "idle_freeze_after", value::span);
    let (pricing, terms) = if free {
        for key in PAID_ONLY_KEYS.iter().filter(|k| t.has(k)) {
            t.report(
                sink,
                key,
                "a free edition (free = true) has no price, term or trial",
            );
        }
        (EditionPricing::Free, Terms::default())
    } else {
        let terms = Terms {
            months: months
                .or_else(|| inherited.months.clone())
                .unwrap_or_default(),
            years: years
                .or_else(|| inherited.years.clone())
                .unwrap_or_default(),
            auto_renew_periods: periods
                .or_else(|| inherited.periods.clone())
                .unwrap_or_default(),
        };
        let per_year = per_year.or(per_month.map(|m| m * Decimal::from(12)));
        check_paid(sink, t, &terms, per_month, per_year);
        let pricing = EditionPricing::Paid {
            price_per_month: per_month,
            price_per_year: per_year,
        };
        (pricing, terms)
    };
    let overdue = load_overdue(l, t, overdue);
    let payg = t
        .table(&mut l.sink, "payg", PAYG_KEYS)
        .map(|p| load_payg(l, &p, meters));
    let id = id?;
    Some(Edition {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        pricing,
        trial,
        terms,
        overdue: overdue?,
        payg,
        idle_freeze_after: idle_freeze_after
            .or(inherited.idle_freeze_after)
            .unwrap_or(Span::days(30)),
    })
}

/// A paid edition sells at least one term, has a price for each kind of term it sells, and
/// auto-renews only by terms it sells.
fn check_paid(
    sink: &mut Sink,
    t: &Table<'_>,
    terms: &Terms,
    per_month: Option<Decimal>,
    per_year: Option<Decimal>,
) {
    let priced = t.has("price_per_month") || t.has("price_per_year");
    if !priced {
        let message = "missing: a paid edition needs price_per_month and/or price_per_year \
                       (or free = true)";
        t.report(sink, "price_per_month", message);
    }
    if terms.months.is_empty() && terms.years.is_empty() {
        let message = "sells no term: set term_months and/or term_years here or in \
                       [product.subscription]";
        t.report(sink, "term_months", message);
    }
    if priced && !terms.months.is_empty() && per_month.is_none() && !t.has("price_per_month") {
        let message = "monthly terms need price_per_month";
        t.report(sink, "term_months", message);
    }
    if priced && !terms.years.is_empty() && per_year.is_none() && !t.has("price_per_year") {
        t.report(sink, "term_years", "yearly terms need price_per_year");
    }
    for period in &terms.auto_renew_periods {
        if !terms.allows(*period) {
            let message = format!("auto-renew period {period} is not a term this edition sells");
            t.report(sink, "auto_renew_periods", message);
        }
    }
}

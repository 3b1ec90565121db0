//! `[[product.plan]]`, `[product.plan_policy]` and `[product.plan_auto_renew]` (PLAN-*).

use super::read::Table;
use super::{CYCLES, Loader, load_pay_with, report_duplicates, value};
use crate::catalog::plan::{Overflow, PlanAutoRenew, PlanKind, PlanPolicy, PlanSource, PlanSpec};
use crate::catalog::policy::Payg;
use rust_decimal::Decimal;
use toml::Spanned;

const SPEC_KEYS: &[&str] = &[
    "id",
    "name",
    "meters",
    "quota",
    "kind",
    "reset",
    "validity",
    "price",
    "source",
    "overflow",
    "refundable",
    "region",
];
const POLICY_KEYS: &[&str] = &[
    "expiry_reminders",
    "remind_at_expiry",
    "renewal_grace",
    "renewal_retention",
    "source_order",
];
const AUTO_RENEW_KEYS: &[&str] = &["specs", "before_expiry", "pay_with"];

/// The largest quota one spec may grant: sums over many plans stay far from `u64::MAX`.
pub const QUOTA_MAX: u64 = 1_000_000_000_000;

/// The most plan specs one product may define.
const SPECS_MAX: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Aggregate,
    Resetting,
}

const KINDS: &[(&str, Kind)] = &[
    ("aggregate", Kind::Aggregate),
    ("resetting", Kind::Resetting),
];

const SOURCES: &[(&str, PlanSource)] = &[
    ("free", PlanSource::Free),
    ("promotional", PlanSource::Promotional),
    ("purchased", PlanSource::Purchased),
];

const OVERFLOWS: &[(&str, Overflow)] = &[
    ("pay_per_use", Overflow::PayPerUse),
    ("stop_before_excess", Overflow::StopBeforeExcess),
];

/// The specs of a product: those that loaded, and the ids of all that were declared (so that
/// references to a spec with a bad price are not reported as references to nothing).
pub(super) struct Specs {
    pub(super) loaded: Vec<PlanSpec>,
    declared: Vec<String>,
}

pub(super) fn load_specs(
    l: &mut Loader,
    product: &Table<'_>,
    meters: &[String],
    payg: Option<&Payg>,
) -> Specs {
    let tables = product.tables(&mut l.sink, "plan", SPEC_KEYS);
    if tables.len() > SPECS_MAX {
        product.report(
            &mut l.sink,
            "plan",
            format!("more than {SPECS_MAX} plan specs"),
        );
    }
    let mut specs = Specs {
        loaded: Vec::new(),
        declared: Vec::new(),
    };
    for t in &tables {
        let id = t.req(&mut l.sink, "id", value::id);
        if let Some(id) = &id {
            l.claim("plan spec", id, &t.span_of("id"), t.field("id"));
            specs.declared.push(id.clone());
        }
        specs.loaded.extend(load_spec(l, t, id, meters, payg));
    }
    specs
}

fn load_spec(
    l: &mut Loader,
    t: &Table<'_>,
    id: Option<String>,
    meters: &[String],
    payg: Option<&Payg>,
) -> Option<PlanSpec> {
    let sink = &mut l.sink;
    let name = t.opt(sink, "name", value::string);
    let covered = t.list(sink, "meters", value::id);
    match &covered {
        None if !t.has("meters") => t.report(sink, "meters", "missing (required)"),
        Some(list) if list.is_empty() => t.report(sink, "meters", "must name at least one meter"),
        _ => {}
    }
    for meter in covered.iter().flatten() {
        if !meters.contains(meter.get_ref()) {
            let message = format!("this product defines no meter `{}`", meter.get_ref());
            sink.report(&meter.span(), t.field("meters"), message);
        }
    }
    if let Some(list) = &covered {
        report_duplicates(sink, t, "meters", list);
    }
    let quota = t.req(sink, "quota", value::positive_u64);
    if quota.is_some_and(|q| q > QUOTA_MAX) {
        t.report(sink, "quota", format!("must be at most {QUOTA_MAX}"));
    }
    let kind = t.req(sink, "kind", value::choice(KINDS));
    let reset = t.opt(sink, "reset", value::choice(CYCLES));
    match kind {
        Some(Kind::Resetting) if !t.has("reset") => t.report(
            sink,
            "reset",
            "missing: kind = \"resetting\" needs reset = \"hour\" | \"day\" | \"month\"",
        ),
        Some(Kind::Aggregate) if t.has("reset") => {
            t.report(sink, "reset", "only allowed with kind = \"resetting\"")
        }
        _ => {}
    }
    let validity = t.req(sink, "validity", value::calendar_span);
    let price = t.req(sink, "price", value::amount(l.currency));
    let source = t.opt(sink, "source", value::choice(SOURCES));
    let source = source.unwrap_or(PlanSource::Purchased);
    if source == PlanSource::Free && price.is_some_and(|p| p != Decimal::ZERO) {
        t.report(sink, "price", "a plan with source = \"free\" must cost 0");
    }
    let overflow = t.opt(sink, "overflow", value::choice(OVERFLOWS));
    let overflow = overflow.unwrap_or(Overflow::PayPerUse);
    if overflow == Overflow::PayPerUse {
        // PLAN-5: excess is rated at the pay-as-you-go price, so there must be one.
        for meter in covered.iter().flatten() {
            let priced = payg.is_some_and(|p| p.prices.contains_key(meter.get_ref()));
            if meters.contains(meter.get_ref()) && !priced {
                let message = format!(
                    "overflow pay_per_use needs a pay-as-you-go price for `{}` in [product.payg] \
                     (or set overflow = \"stop_before_excess\")",
                    meter.get_ref()
                );
                t.report(sink, "overflow", message);
            }
        }
    }
    let refundable = t.opt(sink, "refundable", value::boolean).unwrap_or(false);
    let region = t.opt(sink, "region", value::string);
    let id = id?;
    Some(PlanSpec {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        meters: covered?.into_iter().map(Spanned::into_inner).collect(),
        quota: quota?,
        kind: match kind? {
            Kind::Aggregate => PlanKind::Aggregate,
            Kind::Resetting => PlanKind::Resetting { reset: reset? },
        },
        validity: validity?,
        price: price?,
        source,
        overflow,
        refundable,
        region,
    })
}

pub(super) fn load_policy(l: &mut Loader, product: &Table<'_>, specs: &Specs) -> PlanPolicy {
    let mut p = PlanPolicy::default();
    let Some(t) = product.table(&mut l.sink, "plan_policy", POLICY_KEYS) else {
        return p;
    };
    let sink = &mut l.sink;
    if specs.declared.is_empty() {
        let message = "this product has no [[product.plan]]; remove [product.plan_policy]";
        product.report(sink, "plan_policy", message);
        return p;
    }
    if let Some(reminders) = t.list(sink, "expiry_reminders", value::span) {
        report_duplicates(sink, &t, "expiry_reminders", &reminders);
        p.expiry_reminders = reminders.into_iter().map(Spanned::into_inner).collect();
    }
    p.remind_at_expiry = t
        .opt(sink, "remind_at_expiry", value::boolean)
        .unwrap_or(p.remind_at_expiry);
    p.renewal_grace = t
        .opt(sink, "renewal_grace", value::span)
        .unwrap_or(p.renewal_grace);
    p.renewal_retention = t
        .opt(sink, "renewal_retention", value::span)
        .unwrap_or(p.renewal_retention);
    if let Some(order) = t.list(sink, "source_order", value::choice(SOURCES)) {
        let order: Vec<PlanSource> = order.into_iter().map(Spanned::into_inner).collect();
        let complete =
            order.len() == SOURCES.len() && SOURCES.iter().all(|(_, s)| order.contains(s));
        if complete {
            p.source_order = order;
        } else {
            let message = "must list \"free\", \"promotional\" and \"purchased\", each once";
            t.report(sink, "source_order", message);
        }
    }
    p
}

pub(super) fn load_auto_renew(
    l: &mut Loader,
    product: &Table<'_>,
    specs: &Specs,
) -> Option<PlanAutoRenew> {
    let t = product.table(&mut l.sink, "plan_auto_renew", AUTO_RENEW_KEYS)?;
    let sink = &mut l.sink;
    if specs.declared.is_empty() {
        let message = "this product has no [[product.plan]]; remove [product.plan_auto_renew]";
        product.report(sink, "plan_auto_renew", message);
        return None;
    }
    let names = t.list(sink, "specs", value::id);
    match &names {
        None if !t.has("specs") => t.report(sink, "specs", "missing (required)"),
        Some(list) if list.is_empty() => t.report(sink, "specs", "must name at least one spec"),
        _ => {}
    }
    for name in names.iter().flatten() {
        if !specs.declared.contains(name.get_ref()) {
            let message = format!("this product has no plan spec `{}`", name.get_ref());
            sink.report(&name.span(), t.field("specs"), message);
        }
    }
    if let Some(list) = &names {
        report_duplicates(sink, &t, "specs", list);
    }
    let before_expiry = t.opt(sink, "before_expiry", value::span);
    let pay_with = load_pay_with(sink, &t);
    Some(PlanAutoRenew {
        specs: names?.into_iter().map(Spanned::into_inner).collect(),
        before_expiry: before_expiry.unwrap_or(crate::span::Span::days(10)),
        pay_with,
    })
}

//! `[[product]]`: identity, meters, overdue impact and pay-as-you-go terms; plans and editions
//! are read by their own modules.

use super::read::{Sink, Table};
use super::value;
use super::{CYCLES, Loader, plan, subscription};
use crate::catalog::policy::{Cycle, Overdue, OverdueImpact, Payg};
use crate::catalog::product::{Meter, Product};
use std::collections::BTreeMap;
use toml::de::DeValue;

pub(super) const KEYS: &[&str] = &[
    "id",
    "name",
    "purchase_requires_verified",
    "overdue",
    "meter",
    "payg",
    "plan",
    "plan_policy",
    "plan_auto_renew",
    "subscription",
    "edition",
];
const METER_KEYS: &[&str] = &["id", "name", "unit"];
pub(super) const PAYG_KEYS: &[&str] = &[
    "cycle",
    "activation_required",
    "activation_requires_verified",
    "prices",
];
const OVERDUE_KEYS: &[&str] = &[
    "impact",
    "after",
    "stop_warning_before",
    "release_after",
    "release_warning_before",
];

/// The most meters one product may define.
const METERS_MAX: usize = 100;

/// Tag of [`OverdueImpact`], read before its data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Impact {
    None,
    BlockFeeOperations,
    StopAfter,
    StopImmediately,
}

const IMPACTS: &[(&str, Impact)] = &[
    ("none", Impact::None),
    ("block_fee_operations", Impact::BlockFeeOperations),
    ("stop_after", Impact::StopAfter),
    ("stop_immediately", Impact::StopImmediately),
];

pub(super) fn load(l: &mut Loader, t: &Table<'_>) -> Option<Product> {
    let id = t.req(&mut l.sink, "id", value::id);
    if let Some(id) = &id {
        l.claim("product", id, &t.span_of("id"), t.field("id"));
    }
    let name = t.req(&mut l.sink, "name", value::string);
    let purchase_requires_verified = t
        .opt(&mut l.sink, "purchase_requires_verified", value::boolean)
        .unwrap_or(false);
    let overdue = load_overdue(l, t, None);
    let meters = load_meters(l, t);
    let meter_ids: Vec<String> = meters.iter().map(|m| m.id.clone()).collect();
    let payg = t
        .table(&mut l.sink, "payg", PAYG_KEYS)
        .map(|p| load_payg(l, &p, &meter_ids));
    let plans = plan::load_specs(l, t, &meter_ids, payg.as_ref());
    let plan_policy = plan::load_policy(l, t, &plans);
    let plan_auto_renew = plan::load_auto_renew(l, t, &plans);
    let (subscription, editions) = subscription::load(l, t, &meter_ids, overdue.as_ref());
    Some(Product {
        id: id?,
        name: name?,
        meters,
        purchase_requires_verified,
        overdue: overdue?,
        payg,
        plan_policy,
        plan_auto_renew,
        plans: plans.loaded,
        subscription,
        editions,
    })
}

fn load_meters(l: &mut Loader, t: &Table<'_>) -> Vec<Meter> {
    let tables = t.tables(&mut l.sink, "meter", METER_KEYS);
    if tables.len() > METERS_MAX {
        t.report(
            &mut l.sink,
            "meter",
            format!("more than {METERS_MAX} meters"),
        );
    }
    let mut meters = Vec::with_capacity(tables.len());
    for m in &tables {
        let Some(id) = m.req(&mut l.sink, "id", value::id) else {
            continue;
        };
        l.claim("meter", &id, &m.span_of("id"), m.field("id"));
        let name = m.opt(&mut l.sink, "name", value::string);
        let unit = m.opt(&mut l.sink, "unit", value::string);
        meters.push(Meter {
            name: name.unwrap_or_else(|| id.clone()),
            unit: unit.unwrap_or_else(|| "unit".to_owned()),
            id,
        });
    }
    meters
}

/// `[product.payg]` or `[product.edition.payg]`: prices for meters of the product, each meter
/// priced in one place only (so a usage event's meter names its price).
pub(super) fn load_payg(l: &mut Loader, t: &Table<'_>, meters: &[String]) -> Payg {
    let cycle = t.opt(&mut l.sink, "cycle", value::choice(CYCLES));
    let activation_required = t.opt(&mut l.sink, "activation_required", value::boolean);
    let activation_requires_verified =
        t.opt(&mut l.sink, "activation_requires_verified", value::boolean);
    let mut prices = BTreeMap::new();
    match t.data_table(&mut l.sink, "prices") {
        None if !t.has("prices") => t.report(&mut l.sink, "prices", "missing (required)"),
        None => {}
        Some(p) => {
            for (meter, key_span, price) in p.entries() {
                let field = p.field(meter);
                if let DeValue::Table(_) = price.get_ref() {
                    let message = format!(
                        "`{meter}` is a table: quote meter ids that contain dots \
                         (\"sms.cn\" = \"0.045\")"
                    );
                    l.sink.report(&key_span, field, message);
                } else if !meters.iter().any(|m| m == meter) {
                    let message = format!("this product defines no meter `{meter}`");
                    l.sink.report(&key_span, field, message);
                } else {
                    match value::unit_price(price.get_ref()) {
                        Ok(unit_price) => {
                            l.claim("pay-as-you-go price for meter", meter, &key_span, field);
                            prices.insert(meter.to_owned(), unit_price);
                        }
                        Err(message) => l.sink.report(&price.span(), field, message),
                    }
                }
            }
            if p.entries().next().is_none() {
                t.report(&mut l.sink, "prices", "must price at least one meter");
            }
        }
    }
    Payg {
        cycle: cycle.unwrap_or(Cycle::Hour),
        activation_required: activation_required.unwrap_or(true),
        activation_requires_verified: activation_requires_verified.unwrap_or(false),
        prices,
    }
}

/// `overdue = { … }` of a product (`inherit` is `None`: `impact` is required) or of an edition
/// (what it leaves out it inherits from its product).
pub(super) fn load_overdue(
    l: &mut Loader,
    parent: &Table<'_>,
    inherit: Option<&Overdue>,
) -> Option<Overdue> {
    let Some(t) = parent.table(&mut l.sink, "overdue", OVERDUE_KEYS) else {
        if !parent.has("overdue") && inherit.is_none() {
            let message = "missing (required): overdue = { impact = \"none\" | \
                           \"block_fee_operations\" | \"stop_after\" | \"stop_immediately\" }";
            parent.report(&mut l.sink, "overdue", message);
        }
        return inherit.cloned();
    };
    let sink: &mut Sink = &mut l.sink;
    let impact = match inherit {
        None => t.req(sink, "impact", value::choice(IMPACTS)),
        Some(_) => t.opt(sink, "impact", value::choice(IMPACTS)),
    };
    let after = t.opt(sink, "after", value::span);
    let stop_warning_before = t.opt(sink, "stop_warning_before", value::span);
    let release_after = t.opt(sink, "release_after", value::span);
    let release_warning_before = t.opt(sink, "release_warning_before", value::span);
    let d = &l.defaults;
    let base = inherit.cloned().unwrap_or(Overdue {
        impact: OverdueImpact::None,
        stop_warning_before: d.overdue_stop_warning_before,
        release_after: d.overdue_release_after,
        release_warning_before: d.release_warning_before,
    });
    let stop_after = impact == Some(Impact::StopAfter);
    if stop_after && !t.has("after") {
        let message = "missing: impact = \"stop_after\" needs `after` (e.g. \"24h\")";
        t.report(sink, "after", message);
    }
    if !stop_after && t.has("after") {
        t.report(
            sink,
            "after",
            "only allowed with impact = \"stop_after\" in the same table",
        );
    }
    let impact = match impact {
        Some(Impact::None) => OverdueImpact::None,
        Some(Impact::BlockFeeOperations) => OverdueImpact::BlockFeeOperations,
        Some(Impact::StopAfter) => OverdueImpact::StopAfter { after: after? },
        Some(Impact::StopImmediately) => OverdueImpact::StopImmediately,
        None => inherit?.impact,
    };
    let overdue = Overdue {
        impact,
        stop_warning_before: stop_warning_before.unwrap_or(base.stop_warning_before),
        release_after: release_after.unwrap_or(base.release_after),
        release_warning_before: release_warning_before.unwrap_or(base.release_warning_before),
    };
    check_stop_warning(sink, &t, &overdue);
    Some(overdue)
}

/// OVD-5: a stop warning must come after overdue starts, so it must be shorter than the delay
/// (compared when both are exact durations).
fn check_stop_warning(sink: &mut Sink, t: &Table<'_>, overdue: &Overdue) {
    let OverdueImpact::StopAfter { after } = overdue.impact else {
        return;
    };
    let warning = overdue.stop_warning_before;
    if let (Some(a), Some(w)) = (after.exact_seconds(), warning.exact_seconds())
        && w >= a
    {
        let key = if t.has("stop_warning_before") {
            "stop_warning_before"
        } else {
            "after"
        };
        let message =
            format!("the stop warning ({warning} before) must be shorter than `after` ({after})");
        t.report(sink, key, message);
    }
}

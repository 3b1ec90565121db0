//! Parsing and validation of a catalog file (CAT-1): TOML text in, a [`Catalog`] or every
//! problem out. The file is read from toml's spanned tree rather than through serde, so that a
//! bad value does not stop the load: each problem is reported with its line and the reading
//! goes on. Defaults are applied and edition overrides merged here, once.

mod plan;
mod product;
mod read;
mod subscription;
mod value;

use super::policy::{Cycle, Defaults, Funding};
use super::{Catalog, CatalogError};
use crate::money::Currency;
use read::{Sink, Table};
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::DeTable;

/// The largest catalog file accepted, in bytes (the demo is under 6 KiB).
pub const TEXT_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The most products one catalog may hold.
pub const PRODUCTS_MAX: usize = 1_000;

const ROOT_KEYS: &[&str] = &["catalog", "defaults", "product"];
const CATALOG_KEYS: &[&str] = &["name", "currency", "version"];
const DEFAULTS_KEYS: &[&str] = &[
    "late_window",
    "reservation_timeout",
    "bill_delay",
    "low_balance_notices",
    "low_balance_repeat",
    "unsubscribe_fee_percent",
    "overdue_stop_warning_before",
    "overdue_release_after",
    "release_warning_before",
];

/// The most low-balance notices one episode may send (ACC-7).
const LOW_BALANCE_NOTICES_MAX: u32 = 100;

const CYCLES: &[(&str, Cycle)] = &[
    ("hour", Cycle::Hour),
    ("day", Cycle::Day),
    ("month", Cycle::Month),
];

const FUNDING: &[(&str, Funding)] = &[
    ("coupon", Funding::Coupon),
    ("cash", Funding::Cash),
    ("credit_line", Funding::CreditLine),
];

/// Parses and validates the catalog in `text`; `file_name` only names the file in errors.
/// Returns every problem found, in file order, or the catalog if there is none.
pub fn parse(file_name: &str, text: &str) -> Result<Catalog, Vec<CatalogError>> {
    let mut sink = Sink::new(file_name, text);
    if text.len() > TEXT_BYTES_MAX {
        let message = format!("the file is larger than {TEXT_BYTES_MAX} bytes");
        sink.report(&(0..0), "", message);
        return Err(sink.into_errors());
    }
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The tree of a file with syntax errors is a guess; checking it would add noise.
        for e in syntax_errors {
            sink.report(&e.span().unwrap_or(0..0), "", e.message());
        }
        return Err(sink.into_errors());
    }
    let root = Table::root(&mut sink, &doc, ROOT_KEYS);
    let header = root.table(&mut sink, "catalog", CATALOG_KEYS);
    if header.is_none() && !root.has("catalog") {
        sink.report(
            &root.span,
            "catalog",
            "missing [catalog] table (name, currency)",
        );
    }
    let (name, currency, version) = match &header {
        Some(t) => (
            t.req(&mut sink, "name", value::string),
            t.req(&mut sink, "currency", |v| {
                Currency::parse(&value::string(v)?).map_err(|r| r.detail)
            }),
            t.opt(&mut sink, "version", value::string),
        ),
        None => (None, None, None),
    };
    let defaults = load_defaults(&mut sink, &root);
    let mut loader = Loader {
        sink,
        currency,
        defaults,
        first_seen: HashMap::new(),
    };
    let product_tables = root.tables(&mut loader.sink, "product", product::KEYS);
    if product_tables.is_empty() && !root.has("product") {
        loader.sink.report(
            &root.span,
            "product",
            "a catalog needs at least one [[product]]",
        );
    }
    if product_tables.len() > PRODUCTS_MAX {
        let message = format!("more than {PRODUCTS_MAX} products");
        loader
            .sink
            .report(&root.span_of("product"), "product", message);
    }
    let products: Vec<_> = product_tables
        .iter()
        .filter_map(|t| product::load(&mut loader, t))
        .collect();
    let Loader { sink, defaults, .. } = loader;
    match (sink.is_clean(), name, currency) {
        (true, Some(name), Some(currency)) => {
            assert_eq!(
                products.len(),
                product_tables.len(),
                "a product was dropped unreported"
            );
            Ok(Catalog {
                name,
                currency,
                version,
                defaults,
                products,
            })
        }
        _ => {
            let errors = sink.into_errors();
            assert!(
                !errors.is_empty(),
                "a required value was dropped unreported"
            );
            Err(errors)
        }
    }
}

/// State shared while loading one file.
struct Loader {
    sink: Sink,
    /// `None` when `[catalog] currency` is missing or bad (reported already).
    currency: Option<Currency>,
    defaults: Defaults,
    /// Line of the first definition of each (kind, id), to report duplicates.
    first_seen: HashMap<(&'static str, String), usize>,
}

impl Loader {
    /// Records the definition of `id` as a `kind` at `span`; reports it if one came before.
    fn claim(&mut self, kind: &'static str, id: &str, span: &Range<usize>, field: String) {
        let line = self.sink.line(span.start);
        if let Some(first) = self.first_seen.get(&(kind, id.to_owned())) {
            let message = format!("duplicate {kind} `{id}` (first defined on line {first})");
            self.sink.report(span, field, message);
        } else {
            self.first_seen.insert((kind, id.to_owned()), line);
        }
    }
}

fn load_defaults(sink: &mut Sink, root: &Table<'_>) -> Defaults {
    let mut d = Defaults::default();
    let Some(t) = root.table(sink, "defaults", DEFAULTS_KEYS) else {
        return d;
    };
    let span = value::span;
    d.late_window = t.opt(sink, "late_window", span).unwrap_or(d.late_window);
    d.reservation_timeout = t
        .opt(sink, "reservation_timeout", span)
        .unwrap_or(d.reservation_timeout);
    d.bill_delay = t
        .opt(sink, "bill_delay", value::span_or_zero)
        .unwrap_or(d.bill_delay);
    d.low_balance_notices = t
        .opt(
            sink,
            "low_balance_notices",
            value::count_u32(LOW_BALANCE_NOTICES_MAX),
        )
        .unwrap_or(d.low_balance_notices);
    d.low_balance_repeat = t
        .opt(sink, "low_balance_repeat", span)
        .unwrap_or(d.low_balance_repeat);
    d.unsubscribe_fee_percent = t
        .opt(sink, "unsubscribe_fee_percent", value::percent)
        .unwrap_or(d.unsubscribe_fee_percent);
    d.overdue_stop_warning_before = t
        .opt(sink, "overdue_stop_warning_before", span)
        .unwrap_or(d.overdue_stop_warning_before);
    d.overdue_release_after = t
        .opt(sink, "overdue_release_after", span)
        .unwrap_or(d.overdue_release_after);
    d.release_warning_before = t
        .opt(sink, "release_warning_before", span)
        .unwrap_or(d.release_warning_before);
    d
}

/// Reports every item of a list that repeats an earlier one.
fn report_duplicates<T: PartialEq + std::fmt::Display>(
    sink: &mut Sink,
    table: &Table<'_>,
    key: &str,
    items: &[Spanned<T>],
) {
    for (i, item) in items.iter().enumerate() {
        if items[..i]
            .iter()
            .any(|earlier| earlier.get_ref() == item.get_ref())
        {
            let message = format!("{} is listed twice", item.get_ref());
            sink.report(&item.span(), table.field(key), message);
        }
    }
}

/// SUB-4, PLAN-9: automatic purchases pay with coupons and cash only, unless a policy says.
const PAY_WITH_DEFAULT: [Funding; 2] = [Funding::Coupon, Funding::Cash];

/// A `pay_with` list (SUB-4, PLAN-9): funding sources, at least one, each once.
fn load_pay_with(sink: &mut Sink, t: &Table<'_>) -> Vec<Funding> {
    let Some(items) = t.list(sink, "pay_with", value::choice(FUNDING)) else {
        return PAY_WITH_DEFAULT.to_vec();
    };
    if items.is_empty() {
        t.report(
            sink,
            "pay_with",
            "must name at least one of coupon, cash, credit_line",
        );
    }
    let names: Vec<Spanned<&str>> = items
        .iter()
        .map(|f| {
            let name = FUNDING
                .iter()
                .find(|(_, v)| v == f.get_ref())
                .map_or("", |(n, _)| n);
            Spanned::new(f.span(), name)
        })
        .collect();
    report_duplicates(sink, t, "pay_with", &names);
    items.into_iter().map(Spanned::into_inner).collect()
}

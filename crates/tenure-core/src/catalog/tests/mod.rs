//! Tests of the catalog: the demo's values (CAT-2), the loader's reports (CAT-1), defaults and
//! lookups.

mod demo;
mod errors;
mod model;

use rust_decimal::Decimal;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

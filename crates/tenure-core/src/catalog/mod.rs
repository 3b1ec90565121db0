//! The declarative catalog (CAT-1, CAT-2): products, meters, plan specs, editions, prices and
//! every policy value, read from one TOML file whose format `docs/CATALOG.md` documents.
//!
//! - [`parse`] turns a file's text into a [`Catalog`], or into every problem it has, each naming
//!   the file, line and field ([`CatalogError`]).
//! - [`demo`] is the demo catalog of `spec/DEMO_CATALOG.md` (`catalog/demo.toml`), compiled in.
//!
//! *Invariant:* a `Catalog` has passed validation. Every id it names exists, ids are unique
//! catalog-wide, money is exact and in range, and every policy value is resolved (defaults
//! applied, edition overrides merged), so the engine reads values and never re-checks them.
//! *Invariant:* loading does no I/O; the caller reads the file and passes its text.
//! *Boundary:* the TOML format is a public contract; extend it only by adding keys.

mod error;
mod load;
mod plan;
mod policy;
mod product;
mod subscription;
#[cfg(test)]
mod tests;

pub use error::CatalogError;
pub use load::parse;
pub use plan::{Overflow, PlanAutoRenew, PlanKind, PlanPolicy, PlanSource, PlanSpec};
pub use policy::{Cycle, Defaults, Funding, Overdue, OverdueImpact, Payg};
pub use product::{Meter, Product};
pub use subscription::{
    AutoRenewTiming, Edition, EditionPricing, ExpiryFlow, SubscriptionPolicy, Terms,
};

use crate::money::Currency;
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::OnceLock;

/// A loaded, validated catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub name: String,
    /// ACC-1: every price is in this one currency, and so is every account that uses it.
    pub currency: Currency,
    /// CAT-1: a free-text label of this version of the catalog, recorded with purchases.
    pub version: Option<String>,
    pub defaults: Defaults,
    pub products: Vec<Product>,
}

/// Where and how a meter is billed pay-as-you-go (see [`Catalog::payg`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeterPayg<'c> {
    pub product: &'c Product,
    /// The edition whose instances are billed for the meter, when the price is an edition's.
    pub edition: Option<&'c Edition>,
    pub payg: &'c Payg,
    pub unit_price: Decimal,
}

impl Catalog {
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The meter `id` and the product it belongs to.
    pub fn meter(&self, id: &str) -> Option<(&Product, &Meter)> {
        self.products
            .iter()
            .find_map(|p| p.meter(id).map(|m| (p, m)))
    }

    /// The plan spec `id` and the product it belongs to.
    pub fn plan_spec(&self, id: &str) -> Option<(&Product, &PlanSpec)> {
        self.products
            .iter()
            .find_map(|p| p.plan(id).map(|s| (p, s)))
    }

    /// The edition `id` of product `product`.
    pub fn edition(&self, product: &str, id: &str) -> Option<&Edition> {
        self.product(product)?.edition(id)
    }

    /// The edition `id` in any product (edition ids are unique catalog-wide).
    pub fn find_edition(&self, id: &str) -> Option<(&Product, &Edition)> {
        self.products
            .iter()
            .find_map(|p| p.edition(id).map(|e| (p, e)))
    }

    /// The pay-as-you-go terms that price `meter`: the product's, or the one edition's that
    /// prices it. `None` when the meter is not sold pay-as-you-go.
    pub fn payg(&self, meter: &str) -> Option<MeterPayg<'_>> {
        let (product, _) = self.meter(meter)?;
        let own = product.payg.as_ref().map(|payg| (None, payg));
        let editions = product
            .editions
            .iter()
            .filter_map(|e| e.payg.as_ref().map(|payg| (Some(e), payg)));
        own.into_iter().chain(editions).find_map(|(edition, payg)| {
            payg.prices.get(meter).map(|&unit_price| MeterPayg {
                product,
                edition,
                payg,
                unit_price,
            })
        })
    }

    /// ACC-1: the pay-as-you-go unit price of `meter`.
    pub fn payg_price(&self, meter: &str) -> Option<Decimal> {
        self.payg(meter).map(|p| p.unit_price)
    }

    /// OVD-2: the overdue policy for `product`, or for an instance of its `edition`.
    pub fn overdue(&self, product: &str, edition: Option<&str>) -> Option<&Overdue> {
        let p = self.product(product)?;
        match edition {
            Some(id) => p.edition(id).map(|e| &e.overdue),
            None => Some(&p.overdue),
        }
    }
}

/// The text of `catalog/demo.toml` (CAT-2).
pub const DEMO_TOML: &str = include_str!("../../../../catalog/demo.toml");

/// The file name demo catalog errors would name.
pub const DEMO_FILE: &str = "catalog/demo.toml";

/// The demo catalog of `spec/DEMO_CATALOG.md` (CAT-2), parsed once.
pub fn demo() -> Catalog {
    static DEMO: OnceLock<Catalog> = OnceLock::new();
    DEMO.get_or_init(|| {
        parse(DEMO_FILE, DEMO_TOML).unwrap_or_else(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!(
                "the built-in demo catalog is invalid:\n{}",
                lines.join("\n")
            )
        })
    })
    .clone()
}

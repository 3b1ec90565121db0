//! Pay-as-you-go (PAYG-1…3): activation, accrual per meter and cycle aligned to the account's
//! zone, and the bill issued at the first scheduler run at or after the cycle closes. Lines are
//! rounded once (ACC-1); late events go on the next bill as lines marked with their own cycle.

use crate::account::{AccountPolicy, AccountState, Effects};
use crate::catalog::Product;
use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::BillId;
use crate::span::next_boundary;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

/// Usage rated pay-as-you-go, waiting for its bill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accrual {
    pub product: String,
    pub meter: String,
    pub cycle_start: Timestamp,
    pub cycle_end: Timestamp,
    /// The price in force when the usage happened (the terms it was used under).
    pub unit_price: Decimal,
    pub quantity: u64,
}

/// One bill line: a meter and a cycle, rounded once (ACC-1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillLine {
    pub meter: String,
    pub cycle_start: Timestamp,
    pub cycle_end: Timestamp,
    pub quantity: u64,
    pub unit_price: Decimal,
    pub amount: Decimal,
    /// A line for a cycle that an earlier bill already closed (PAYG-2).
    pub late: bool,
}

/// An issued pay-as-you-go bill. What it still owes is the `Unpaid` book of its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    pub id: BillId,
    pub product: String,
    pub cycle_end: Timestamp,
    pub issued_at: Timestamp,
    pub lines: Vec<BillLine>,
    pub total: Decimal,
}

/// Per-account pay-as-you-go state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaygState {
    /// PAYG-1: products activated by this account.
    pub activated: BTreeSet<String>,
    /// Rated usage not yet billed.
    pub accruals: Vec<Accrual>,
    /// Cycles already billed, per product: a late accrual for one of them goes on the next bill.
    pub billed_through: std::collections::BTreeMap<String, Timestamp>,
    /// Every bill issued.
    pub bills: Vec<Bill>,
}

impl AccountState {
    /// PAYG-1: activates pay-as-you-go for a product (ACC-6: verified first where required).
    /// Idempotent.
    pub fn activate_payg(&mut self, product: &Product) -> Result<Effects, Refusal> {
        let Some(payg) = &product.payg else {
            return Err(Refusal::invalid(format!(
                "{} has no pay-as-you-go",
                product.id
            )));
        };
        if payg.activation_requires_verified && !self.verified {
            return Err(Refusal::new(
                ErrorCode::IdentityNotVerified,
                format!(
                    "{} requires a verified identity to activate pay-as-you-go",
                    product.id
                ),
            ));
        }
        self.payg.activated.insert(product.id.clone());
        Ok(Effects::default())
    }

    /// PAYG-2: adds rated usage to its cycle and makes sure a bill is due for it.
    pub(crate) fn accrue_payg(
        &mut self,
        fx: &mut Effects,
        product: &Product,
        meter: &str,
        quantity: u64,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let payg = product
            .payg
            .as_ref()
            .ok_or_else(|| Refusal::invalid("no pay-as-you-go"))?;
        let zone = self.time_zone();
        let unit = payg.cycle.span_unit();
        let cycle_end = next_boundary(at, unit, &zone)?;
        let cycle_start = crate::span::Span::new(-1, unit).add_to(cycle_end, &zone)?;
        let unit_price = payg
            .prices
            .get(meter)
            .copied()
            .ok_or_else(|| Refusal::invalid("no price"))?;
        match self.payg.accruals.iter_mut().find(|a| {
            a.product == product.id
                && a.meter == meter
                && a.cycle_start == cycle_start
                && a.unit_price == unit_price
        }) {
            Some(a) => a.quantity += quantity,
            None => self.payg.accruals.push(Accrual {
                product: product.id.clone(),
                meter: meter.to_string(),
                cycle_start,
                cycle_end,
                unit_price,
                quantity,
            }),
        }
        // A cycle already billed, or already closed: the next bill after now takes it.
        let billed = self
            .payg
            .billed_through
            .get(&product.id)
            .is_some_and(|t| cycle_end <= *t);
        let bill_at = if billed || cycle_end <= now {
            next_boundary(now, unit, &zone)?
        } else {
            cycle_end
        };
        fx.schedule.push(DueAction {
            key: format!("bill:{}:{}:{}", self.id, product.id, bill_at.as_second()),
            account: self.id.clone(),
            due_at: bill_at,
            kind: DueKind::BillCycle {
                product: product.id.clone(),
                cycle_end: bill_at,
            },
        });
        Ok(())
    }

    /// PAYG-2, PAYG-3: issues the bill of everything accrued for `product` in cycles ending at
    /// or before `cycle_end`, one line per meter and cycle, charged per ACC-4 in part if need be.
    /// A cycle with nothing to charge issues no bill.
    pub(crate) fn bill_cycle(
        &mut self,
        fx: &mut Effects,
        product: &str,
        cycle_end: Timestamp,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let billed_through = self.payg.billed_through.get(product).copied();
        let (due, rest): (Vec<Accrual>, Vec<Accrual>) = std::mem::take(&mut self.payg.accruals)
            .into_iter()
            .partition(|a| a.product == product && a.cycle_end <= cycle_end);
        self.payg.accruals = rest;
        let lines: Vec<BillLine> = due
            .into_iter()
            .map(|a| BillLine {
                amount: self
                    .currency
                    .round(a.unit_price * Decimal::from(a.quantity)),
                late: billed_through.is_some_and(|t| a.cycle_end <= t) || a.cycle_end < cycle_end,
                meter: a.meter,
                cycle_start: a.cycle_start,
                cycle_end: a.cycle_end,
                quantity: a.quantity,
                unit_price: a.unit_price,
            })
            .collect();
        let through = billed_through.map_or(cycle_end, |t| t.max(cycle_end));
        self.payg
            .billed_through
            .insert(product.to_string(), through);
        let total: Decimal = lines.iter().map(|l| l.amount).sum();
        if total <= Decimal::ZERO {
            return;
        }
        let data = json!({ "product": product, "cycle_end": cycle_end, "lines": lines });
        match self.issue_bill(product, total, data, policy, now) {
            Ok((id, _, bill_fx)) => {
                crate::plan::merge(fx, bill_fx);
                self.payg.bills.push(Bill {
                    id,
                    product: product.to_string(),
                    cycle_end,
                    issued_at: now,
                    lines,
                    total,
                });
                self.after_bill(fx, id, now);
            }
            Err(e) => unreachable!("a positive bill is always issued, in part if need be: {e}"),
        }
    }
}

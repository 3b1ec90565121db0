//! What the core's scenario-style tests share: the demo account they open and a due-action
//! queue that behaves like the real scheduler (TIME-3, TIME-4).

// Each test file uses the part it needs.
#![allow(dead_code)]

use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::HashSet;
use tenure_core::Currency;
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::catalog::Catalog;
use tenure_core::due::DueAction;
use tenure_core::ids::AccountId;

/// Opens the verified CNY account "acme" in Shanghai at `now`.
pub fn open_acme(now: Timestamp, credit_line: Decimal) -> AccountState {
    AccountState::open(
        OpenAccount {
            id: AccountId::parse("acme").unwrap(),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: true,
            credit_line,
            low_balance_threshold: None,
        },
        Currency::CNY,
        now,
    )
    .unwrap()
}

/// The due-action queue: a key scheduled twice is scheduled once, and actions come out in due
/// order, then scheduling order.
#[derive(Default)]
pub struct DueQueue {
    queue: Vec<DueAction>,
    keys: HashSet<String>,
}

impl DueQueue {
    pub fn schedule(&mut self, actions: impl IntoIterator<Item = DueAction>) {
        for due in actions {
            if self.keys.insert(due.key.clone()) {
                self.queue.push(due);
            }
        }
    }

    /// The earliest action due at or before `to`, taken off the queue.
    pub fn next_until(&mut self, to: Timestamp) -> Option<DueAction> {
        let i = (0..self.queue.len())
            .filter(|&i| self.queue[i].due_at <= to)
            .min_by_key(|&i| (self.queue[i].due_at, i))?;
        Some(self.queue.remove(i))
    }
}

/// Runs a due action at its own instant, then once more to prove TIME-4: the second run emits
/// nothing and changes nothing.
pub fn run_twice(a: &mut AccountState, due: &DueAction, c: &Catalog, p: &AccountPolicy) -> Effects {
    let fx = a.on_due(&due.kind, c, p, due.due_at);
    let state = a.clone();
    let again = a.on_due(&due.kind, c, p, due.due_at);
    assert_eq!(again, Effects::default(), "{:?} ran twice", due.kind);
    assert_eq!(*a, state, "{:?} ran twice", due.kind);
    fx
}

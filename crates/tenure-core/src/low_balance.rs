//! The low-balance alert (ACC-7): when available credit falls to or below the account's
//! threshold, notify, then once per `low_balance_repeat` while it stays there, five notices in
//! all; none while overdue; rising above ends the episode and re-arms. Enabling it while already
//! below fires nothing until the balance next changes.

use crate::account::{AccountPolicy, AccountState, AccountStatus, Effects, check_non_negative};
use crate::due::{DueAction, DueKind};
use crate::error::Refusal;
use crate::message::MessageKind;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// ACC-7 state. `armed` means the next balance change at or below the threshold notifies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LowBalance {
    pub threshold: Option<Decimal>,
    pub armed: bool,
    /// Notices sent in the current episode.
    pub sent: u32,
    /// Bumped whenever an episode ends or the setting changes; stale repeats see another epoch.
    pub epoch: u32,
}

impl AccountState {
    /// ACC-7: sets or clears the low-balance threshold. Setting it while already below fires
    /// nothing until the balance next changes.
    pub fn set_low_balance_threshold(
        &mut self,
        threshold: Option<Decimal>,
    ) -> Result<Effects, Refusal> {
        if let Some(t) = threshold {
            check_non_negative(self.currency, t, "low_balance_threshold")?;
        }
        self.low_balance = LowBalance {
            threshold,
            armed: true,
            sent: 0,
            epoch: self.low_balance.epoch + 1,
        };
        Ok(Effects::default())
    }

    /// ACC-7: after any change of available credit. At or below the threshold and armed:
    /// notify, then schedule the next repeat. Above it: re-arm and end the episode.
    pub(crate) fn after_balance_change(
        &mut self,
        fx: &mut Effects,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let Some(threshold) = self.low_balance.threshold else {
            return;
        };
        if self.available() > threshold {
            if !self.low_balance.armed {
                self.low_balance.armed = true;
                self.low_balance.sent = 0;
                self.low_balance.epoch += 1;
            }
            return;
        }
        if !self.low_balance.armed || self.status() == AccountStatus::Overdue {
            return;
        }
        self.low_balance.armed = false;
        self.low_balance.sent = 0;
        self.low_balance_notice(fx, 1, policy, now);
    }

    pub(crate) fn low_balance_repeat(
        &mut self,
        fx: &mut Effects,
        epoch: u32,
        n: u32,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let lb = &self.low_balance;
        let still_below = lb.threshold.is_some_and(|t| self.available() <= t);
        if epoch != lb.epoch || lb.armed || lb.sent + 1 != n || !still_below {
            return;
        }
        if self.status() == AccountStatus::Overdue {
            return;
        }
        self.low_balance_notice(fx, n, policy, now);
    }

    fn low_balance_notice(
        &mut self,
        fx: &mut Effects,
        n: u32,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let epoch = self.low_balance.epoch;
        self.low_balance.sent = n;
        let id = self.id.to_string();
        let data = json!({
            "available": self.available(),
            "threshold": self.low_balance.threshold,
            "notice": n,
            "of": policy.low_balance_notices,
        });
        self.emit(
            fx,
            MessageKind::AccountLowBalance,
            &id,
            &format!("low_balance:{epoch}:{n}"),
            data,
            now,
        );
        if n < policy.low_balance_notices
            && let Ok(due_at) = policy.low_balance_repeat.add_to(now, &self.time_zone())
        {
            {
                fx.schedule.push(DueAction {
                    key: format!("low_balance:{}:{epoch}:{}", self.id, n + 1),
                    account: self.id.clone(),
                    due_at,
                    kind: DueKind::LowBalanceRepeat { epoch, n: n + 1 },
                });
            }
        }
    }
}

//! THE subscription state machine: one table of (status, event, next status, rule), with the
//! message each transition emits. Reading [`TRANSITIONS`] tells the whole lifecycle:
//!
//! - `active` / `trial` / `frozen` (before expiry): reminders, renewals (manual and automatic,
//!   to `active`), failed attempts, the expiry into the product's flow (`stopped` or `grace`) or
//!   into `payg`, idle freeze (trials and free instances only), continue trial, upgrade,
//!   unsubscribe.
//! - `grace` → `retention` → `released` (SUB-6 variant), or `stopped` → `released`; renewable
//!   (to `active`) until released.
//! - `payg`: converted (SUB-7); only unsubscribe leaves it.
//! - `released`: final, no row.
//!
//! Every state change goes through `AccountState::fire`: it looks the (status, event) pair up,
//! moves the instance, and emits the row's provider event (and customer notice when `notice`).
//! An event with no row changes nothing: commands turn that into a refusal
//! ([`SubEvent::refusal`]), due actions into a no-op.

use super::{SubStatus, Subscription};
use crate::account::{AccountState, Effects};
use crate::error::{ErrorCode, Refusal};
use crate::ids::SubscriptionId;
use crate::message::MessageKind;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What happens to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubEvent {
    /// SUB-2: an expiry reminder falls due (and applies to the mode).
    Remind,
    /// SUB-3: a manual renewal is paid.
    Renew,
    /// SUB-4: an auto-renewal attempt is paid.
    AutoRenew,
    /// SUB-4: an auto-renewal attempt could not be paid.
    AutoRenewFail,
    /// SUB-6: expiry under the `stop_then_release` flow.
    ExpireStop,
    /// SUB-6: expiry under the `grace_retention_release` flow.
    ExpireGrace,
    /// SUB-7: expiry in mode `payg_after_expiry`.
    ExpirePayg,
    /// SUB-6: the grace ends.
    GraceEnd,
    /// SUB-6: the release comes soon.
    ReleaseWarning,
    /// SUB-6: the release is due.
    Release,
    /// SUB-9: a trial or free instance was idle too long.
    IdleFreeze,
    /// SUB-9: continue trial, for a trial.
    ContinueTrial,
    /// SUB-9: continue trial, for a free (public) instance.
    ContinueFree,
    /// SUB-9: a trial or free instance is upgraded to a paid edition.
    Upgrade,
    /// SUB-10: the customer unsubscribes.
    Unsubscribe,
}

impl SubEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SubEvent::Remind => "remind",
            SubEvent::Renew => "renew",
            SubEvent::AutoRenew => "auto_renew",
            SubEvent::AutoRenewFail => "auto_renew_fail",
            SubEvent::ExpireStop => "expire_stop",
            SubEvent::ExpireGrace => "expire_grace",
            SubEvent::ExpirePayg => "expire_payg",
            SubEvent::GraceEnd => "grace_end",
            SubEvent::ReleaseWarning => "release_warning",
            SubEvent::Release => "release",
            SubEvent::IdleFreeze => "idle_freeze",
            SubEvent::ContinueTrial => "continue_trial",
            SubEvent::ContinueFree => "continue_free",
            SubEvent::Upgrade => "upgrade",
            SubEvent::Unsubscribe => "unsubscribe",
        }
    }

    /// The refusal a command gets when its event has no row from the instance's status.
    pub fn refusal(self, sub: &Subscription) -> Refusal {
        let (id, status) = (sub.id, sub.status);
        match self {
            SubEvent::Renew | SubEvent::AutoRenew => Refusal::new(
                ErrorCode::NotRenewable,
                match status {
                    SubStatus::Payg => format!(
                        "subscription {id} was converted to pay-as-you-go at expiry; subscribe anew"
                    ),
                    _ => format!("subscription {id} is {status}: it cannot be renewed"),
                },
            ),
            SubEvent::Upgrade => Refusal::new(
                ErrorCode::NotRenewable,
                format!("subscription {id} is {status}: it cannot be upgraded"),
            ),
            other => Refusal::invalid(format!(
                "subscription {id} is {status}: {} does not apply",
                other.as_str()
            )),
        }
    }
}

/// One row of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: SubStatus,
    pub on: SubEvent,
    pub to: SubStatus,
    /// The rule id the row implements.
    pub rule: &'static str,
    /// The provider event the transition emits (every row emits one).
    pub kind: MessageKind,
    /// Whether the customer gets it as a notice too.
    pub notice: bool,
}

const fn row(
    from: SubStatus,
    on: SubEvent,
    to: SubStatus,
    rule: &'static str,
    kind: MessageKind,
    notice: bool,
) -> Transition {
    Transition {
        from,
        on,
        to,
        rule,
        kind,
        notice,
    }
}

use MessageKind::{
    SubscriptionAutoRenewFailed as FAILED, SubscriptionExpiring as EXPIRING,
    SubscriptionFrozen as FROZEN, SubscriptionReleaseWarning as RELEASE_WARNING,
    SubscriptionReleased as RELEASED, SubscriptionRenewed as RENEWED,
    SubscriptionStopped as STOPPED,
};
use SubEvent::*;
use SubStatus::{Active, Frozen, Grace, Payg, Released, Retention, Stopped, Trial};

/// The subscription lifecycle: (from, on, to, rule, message kind, customer notice).
/// No (from, on) pair appears twice; `released` has no row (final).
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &[
    // Before expiry: paid, free (active), trial.
    row(Active,    Remind,         Active,    "SUB-2",  EXPIRING,        true),
    row(Active,    Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Active,    AutoRenew,      Active,    "SUB-4",  RENEWED,         true),
    row(Active,    AutoRenewFail,  Active,    "SUB-4",  FAILED,          true),
    row(Active,    ExpireStop,     Stopped,   "SUB-6",  STOPPED,         true),
    row(Active,    ExpireGrace,    Grace,     "SUB-6",  EXPIRING,        true),
    row(Active,    ExpirePayg,     Payg,      "SUB-7",  EXPIRING,        true),
    row(Active,    IdleFreeze,     Frozen,    "SUB-9",  FROZEN,          true),
    row(Active,    Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Active,    Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    row(Trial,     Remind,         Trial,     "SUB-2",  EXPIRING,        true),
    row(Trial,     Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Trial,     AutoRenew,      Active,    "SUB-4",  RENEWED,         true),
    row(Trial,     AutoRenewFail,  Trial,     "SUB-4",  FAILED,          true),
    row(Trial,     ExpireStop,     Stopped,   "SUB-6",  STOPPED,         true),
    row(Trial,     ExpireGrace,    Grace,     "SUB-6",  EXPIRING,        true),
    row(Trial,     ExpirePayg,     Payg,      "SUB-7",  EXPIRING,        true),
    row(Trial,     IdleFreeze,     Frozen,    "SUB-9",  FROZEN,          true),
    row(Trial,     Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Trial,     Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    // Idle-frozen trial or free instance.
    row(Frozen,    Remind,         Frozen,    "SUB-2",  EXPIRING,        true),
    row(Frozen,    Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Frozen,    AutoRenew,      Active,    "SUB-4",  RENEWED,         true),
    row(Frozen,    AutoRenewFail,  Frozen,    "SUB-4",  FAILED,          true),
    row(Frozen,    ExpireStop,     Stopped,   "SUB-6",  STOPPED,         true),
    row(Frozen,    ExpireGrace,    Grace,     "SUB-6",  EXPIRING,        true),
    row(Frozen,    ExpirePayg,     Payg,      "SUB-7",  EXPIRING,        true),
    row(Frozen,    ContinueTrial,  Trial,     "SUB-9",  RENEWED,         false),
    row(Frozen,    ContinueFree,   Active,    "SUB-9",  RENEWED,         false),
    row(Frozen,    Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Frozen,    Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    // After expiry, grace flow: usable, then frozen with data kept, then released.
    row(Grace,     Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Grace,     GraceEnd,       Retention, "SUB-6",  FROZEN,          true),
    row(Grace,     ReleaseWarning, Grace,     "SUB-6",  RELEASE_WARNING, true),
    row(Grace,     Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Grace,     Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    row(Retention, Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Retention, ReleaseWarning, Retention, "SUB-6",  RELEASE_WARNING, true),
    row(Retention, Release,        Released,  "SUB-6",  RELEASED,        true),
    row(Retention, Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Retention, Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    // After expiry, stop flow: stopped, then released.
    row(Stopped,   Renew,          Active,    "SUB-3",  RENEWED,         true),
    row(Stopped,   ReleaseWarning, Stopped,   "SUB-6",  RELEASE_WARNING, true),
    row(Stopped,   Release,        Released,  "SUB-6",  RELEASED,        true),
    row(Stopped,   Upgrade,        Active,    "SUB-9",  RENEWED,         true),
    row(Stopped,   Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
    // Converted to pay-as-you-go: only unsubscribe ends it.
    row(Payg,      Unsubscribe,    Released,  "SUB-10", RELEASED,        true),
];

/// The row for `on` from `from`, if there is one.
pub fn transition(from: SubStatus, on: SubEvent) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.from == from && t.on == on)
}

impl AccountState {
    /// The one place an instance's status changes: looks (status, `on`) up in [`TRANSITIONS`];
    /// without a row nothing happens and `None` comes back. With one, the instance moves and
    /// the row's message goes out (provider event, and notice when the row says so), keyed by
    /// kind, instance and `key` (NTF-2), with `data` added to the instance's own.
    pub(crate) fn fire(
        &mut self,
        fx: &mut Effects,
        id: SubscriptionId,
        on: SubEvent,
        key: &str,
        data: serde_json::Value,
        now: Timestamp,
    ) -> Option<&'static Transition> {
        let sub = self.subscription_mut(id)?;
        let t = transition(sub.status, on)?;
        if t.to != sub.status {
            sub.status = t.to;
            sub.status_since = now;
        }
        if t.to == Released {
            sub.released_at = Some(now);
        }
        let mut message = json!({
            "subscription": id,
            "product": sub.product,
            "edition": sub.edition,
            "event": on.as_str(),
            "from": t.from,
            "status": t.to,
            "rule": t.rule,
            "renewal": sub.mode.as_str(),
            "expires_at": sub.expires_at,
        });
        if let (Some(into), serde_json::Value::Object(extra)) = (message.as_object_mut(), data) {
            into.extend(extra);
        }
        let subject = id.to_string();
        let key = format!("{}:{subject}:{key}", t.kind.as_str());
        if t.notice {
            self.emit(fx, t.kind, &subject, &key, message, now);
        } else {
            self.emit_event_only(fx, t.kind, &subject, &key, message, now);
        }
        Some(t)
    }

    /// A command's check that `on` applies to the instance now; the refusal otherwise.
    pub(crate) fn require_transition(
        &self,
        id: SubscriptionId,
        on: SubEvent,
    ) -> Result<&'static Transition, Refusal> {
        let sub = self.subscription_or_not_found(id)?;
        transition(sub.status, on).ok_or_else(|| on.refusal(sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_pair_and_released_is_final() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(
                    (a.from, a.on) != (b.from, b.on),
                    "duplicate {:?}",
                    (a.from, a.on)
                );
            }
            assert!(a.from != Released, "released is final");
        }
    }
}

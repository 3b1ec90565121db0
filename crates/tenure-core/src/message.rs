//! Customer notices (in-console inbox) and provider events: durable records of the stable kinds
//! listed in `spec/SCENARIOS.md` (NTF-1). Delivery by e-mail, SMS and webhook comes later; the
//! record is written in the same transaction as the change it reports.

use serde::{Deserialize, Serialize};

/// The stable notice and event kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum MessageKind {
    #[serde(rename = "account.low_balance")]
    AccountLowBalance,
    #[serde(rename = "account.overdue")]
    AccountOverdue,
    #[serde(rename = "account.restored")]
    AccountRestored,
    #[serde(rename = "service.stop_warning")]
    ServiceStopWarning,
    #[serde(rename = "service.stopped")]
    ServiceStopped,
    #[serde(rename = "service.restored")]
    ServiceRestored,
    #[serde(rename = "plan.usage_alert")]
    PlanUsageAlert,
    #[serde(rename = "plan.exhausted")]
    PlanExhausted,
    #[serde(rename = "plan.expiring")]
    PlanExpiring,
    #[serde(rename = "plan.expired")]
    PlanExpired,
    #[serde(rename = "plan.auto_renew_succeeded")]
    PlanAutoRenewSucceeded,
    #[serde(rename = "plan.auto_renew_failed")]
    PlanAutoRenewFailed,
    #[serde(rename = "subscription.expiring")]
    SubscriptionExpiring,
    #[serde(rename = "subscription.renewed")]
    SubscriptionRenewed,
    #[serde(rename = "subscription.auto_renew_failed")]
    SubscriptionAutoRenewFailed,
    #[serde(rename = "subscription.stopped")]
    SubscriptionStopped,
    #[serde(rename = "subscription.frozen")]
    SubscriptionFrozen,
    #[serde(rename = "subscription.release_warning")]
    SubscriptionReleaseWarning,
    #[serde(rename = "subscription.released")]
    SubscriptionReleased,
    #[serde(rename = "bill.issued")]
    BillIssued,
}

impl MessageKind {
    pub const ALL: [MessageKind; 20] = [
        MessageKind::AccountLowBalance,
        MessageKind::AccountOverdue,
        MessageKind::AccountRestored,
        MessageKind::ServiceStopWarning,
        MessageKind::ServiceStopped,
        MessageKind::ServiceRestored,
        MessageKind::PlanUsageAlert,
        MessageKind::PlanExhausted,
        MessageKind::PlanExpiring,
        MessageKind::PlanExpired,
        MessageKind::PlanAutoRenewSucceeded,
        MessageKind::PlanAutoRenewFailed,
        MessageKind::SubscriptionExpiring,
        MessageKind::SubscriptionRenewed,
        MessageKind::SubscriptionAutoRenewFailed,
        MessageKind::SubscriptionStopped,
        MessageKind::SubscriptionFrozen,
        MessageKind::SubscriptionReleaseWarning,
        MessageKind::SubscriptionReleased,
        MessageKind::BillIssued,
    ];

    /// The stable kind string ("account.low_balance").
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::AccountLowBalance => "account.low_balance",
            MessageKind::AccountOverdue => "account.overdue",
            MessageKind::AccountRestored => "account.restored",
            MessageKind::ServiceStopWarning => "service.stop_warning",
            MessageKind::ServiceStopped => "service.stopped",
            MessageKind::ServiceRestored => "service.restored",
            MessageKind::PlanUsageAlert => "plan.usage_alert",
            MessageKind::PlanExhausted => "plan.exhausted",
            MessageKind::PlanExpiring => "plan.expiring",
            MessageKind::PlanExpired => "plan.expired",
            MessageKind::PlanAutoRenewSucceeded => "plan.auto_renew_succeeded",
            MessageKind::PlanAutoRenewFailed => "plan.auto_renew_failed",
            MessageKind::SubscriptionExpiring => "subscription.expiring",
            MessageKind::SubscriptionRenewed => "subscription.renewed",
            MessageKind::SubscriptionAutoRenewFailed => "subscription.auto_renew_failed",
            MessageKind::SubscriptionStopped => "subscription.stopped",
            MessageKind::SubscriptionFrozen => "subscription.frozen",
            MessageKind::SubscriptionReleaseWarning => "subscription.release_warning",
            MessageKind::SubscriptionReleased => "subscription.released",
            MessageKind::BillIssued => "bill.issued",
        }
    }

    pub fn parse(s: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The customer's in-console inbox.
    Notice,
    /// The provider's own systems (signed webhook, later).
    Event,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Notice => "notice",
            Audience::Event => "event",
        }
    }
}

/// One message a decision emits. The same change usually emits a notice and an event of the same
/// kind; `dedup_key` makes it one message per crossing (NTF-2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The account's own sequence for this audience: the cursor of its inbox or event feed.
    pub seq: i64,
    pub audience: Audience,
    pub kind: MessageKind,
    /// What it is about: an account, plan, subscription or bill id.
    pub subject: String,
    pub at: jiff::Timestamp,
    pub dedup_key: String,
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_their_stable_strings() {
        for k in MessageKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
        }
    }
}

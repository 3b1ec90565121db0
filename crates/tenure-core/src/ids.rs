//! Typed identifiers. Parse, don't validate: an `AccountId` cannot hold an invalid value.

use crate::error::Refusal;
use serde::{Deserialize, Serialize};

/// The longest account id accepted.
pub const ACCOUNT_ID_LEN_MAX: usize = 64;

/// A provider-chosen account id: 1–64 characters of `A-Z a-z 0-9 _ . : -`, starting with a letter
/// or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(text: &str) -> Result<AccountId, Refusal> {
        let ok = !text.is_empty()
            && text.len() <= ACCOUNT_ID_LEN_MAX
            && text
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
        if ok {
            Ok(AccountId(text.to_string()))
        } else {
            Err(Refusal::invalid(format!(
                "account id {text:?} must be 1–{ACCOUNT_ID_LEN_MAX} characters of letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountId::parse(&s).map_err(|r| r.detail)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Defines a per-account sequence id written `<prefix><n>` ("c3"), unique within its account.
macro_rules! seq_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub u64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub fn parse(text: &str) -> Result<$name, Refusal> {
                text.strip_prefix($prefix)
                    .and_then(|n| n.parse::<u64>().ok())
                    .map($name)
                    .ok_or_else(|| Refusal::not_found(format!("no {} {text:?}", stringify!($name))))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s).map_err(|r| r.detail)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

seq_id!(
    /// A coupon granted to an account.
    CouponId,
    "c"
);
seq_id!(
    /// A pay-as-you-go bill of an account.
    BillId,
    "b"
);
seq_id!(
    /// A prepaid resource plan bought by an account.
    PlanId,
    "p"
);
seq_id!(
    /// A reservation of plan quota (PLAN-10).
    ReservationId,
    "r"
);
seq_id!(
    /// A subscription instance (SUB-1).
    SubscriptionId,
    "s"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_refuse_what_cannot_be_a_path_segment() {
        assert!(AccountId::parse("acme").is_ok());
        assert!(AccountId::parse("acme-01.cn:team_2").is_ok());
        for bad in ["", "-acme", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sequence_ids_print_and_parse() {
        assert_eq!(CouponId(3).to_string(), "c3");
        assert_eq!(CouponId::parse("c3").unwrap(), CouponId(3));
        assert!(CouponId::parse("b3").is_err());
        assert_eq!(BillId::parse("b12").unwrap(), BillId(12));
    }
}

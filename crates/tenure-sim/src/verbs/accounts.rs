//! Accounts and money (ACC-1…7): `open_account`, `verify_identity`, `top_up`, `grant_coupon`.

use super::{Action, FromArgs};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, ObjectKind, Sim};
use tenure_core::account::OpenAccount as OpenRequest;
use tenure_core::ids::AccountId;
use tenure_core::{Currency, Decimal, Span};
use tenure_engine::CouponExpiry;

/// The zone of an account opened without one.
const ZONE_DEFAULT: &str = "Asia/Shanghai";

/// `open_account = ID`: `currency`, `zone`, `verified`, `credit_line`, `low_balance_alert`.
pub(crate) struct OpenAccount {
    currency: Parsed<Currency>,
    zone: String,
    verified: bool,
    credit_line: Parsed<Decimal>,
    low_balance_alert: Option<Parsed<Decimal>>,
}

impl FromArgs for OpenAccount {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(OpenAccount {
            currency: a
                .string("currency")?
                .map_or(Ok(Currency::CNY), |c| Currency::parse(&c)),
            zone: a
                .string("zone")?
                .unwrap_or_else(|| ZONE_DEFAULT.to_string()),
            verified: a.bool("verified")?.unwrap_or(false),
            credit_line: a.amount("credit_line")?.unwrap_or(Ok(Decimal::ZERO)),
            low_balance_alert: a.amount("low_balance_alert")?,
        })
    }
}

impl Action for OpenAccount {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        sim.check_not_alias(subject)?;
        let request = OpenRequest {
            id: AccountId::parse(subject)?,
            currency: self.currency.clone()?,
            zone: self.zone.clone(),
            verified: self.verified,
            credit_line: self.credit_line.clone()?,
            low_balance_threshold: self.low_balance_alert.clone().transpose()?,
        };
        sim.engine.open_account(request, None)?;
        Ok(None)
    }
}

/// `verify_identity = ID` (ACC-6).
pub(crate) struct VerifyIdentity;

impl FromArgs for VerifyIdentity {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(VerifyIdentity)
    }
}

impl Action for VerifyIdentity {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let id = sim.account(subject)?;
        sim.engine.verify_identity(&id, None)?;
        Ok(None)
    }
}

/// `top_up = ID`: `amount` (ACC-5).
pub(crate) struct TopUp {
    amount: Parsed<Decimal>,
}

impl FromArgs for TopUp {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let amount = a.amount("amount")?;
        Ok(TopUp {
            amount: a.need("amount", amount)?,
        })
    }
}

impl Action for TopUp {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let id = sim.account(subject)?;
        sim.engine.top_up(&id, self.amount.clone()?, None)?;
        Ok(None)
    }
}

/// `grant_coupon = ID`: `amount`, `products` (default all), `expires_in`; `as` names the coupon.
pub(crate) struct GrantCoupon {
    amount: Parsed<Decimal>,
    products: Option<Vec<String>>,
    expires_in: Option<Parsed<Span>>,
}

impl FromArgs for GrantCoupon {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let amount = a.amount("amount")?;
        Ok(GrantCoupon {
            amount: a.need("amount", amount)?,
            products: a.strings("products")?,
            expires_in: a.span("expires_in")?,
        })
    }
}

impl Action for GrantCoupon {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let id = sim.account(subject)?;
        let expiry = match &self.expires_in {
            None => CouponExpiry::Never,
            Some(span) => CouponExpiry::In(span.clone()?),
        };
        let coupon = sim.engine.grant_coupon(
            &id,
            self.amount.clone()?,
            self.products.clone(),
            expiry,
            None,
        )?;
        Ok(Some(Object {
            kind: ObjectKind::Coupon,
            account: id,
            id: coupon.id,
        }))
    }
}

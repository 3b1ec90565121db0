//! Prepaid resource plans (PLAN): `buy_plan`, `refund_plan`, `renew_plan`, `set_usage_alert`,
//! `set_plan_auto_renew`. Parsed now; they run when plans arrive in the engine.

use super::{Action, FromArgs, not_supported};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, Sim};
use tenure_core::Timestamp;

/// `buy_plan = ID`: `spec`, `start_at`; `as` names the plan (PLAN-2).
#[expect(dead_code, reason = "read when plans arrive")]
pub(crate) struct BuyPlan {
    spec: String,
    start_at: Option<Parsed<Timestamp>>,
}

impl FromArgs for BuyPlan {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let spec = a.string("spec")?;
        Ok(BuyPlan {
            spec: a.need("spec", spec)?,
            start_at: a.instant("start_at")?,
        })
    }
}

impl Action for BuyPlan {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("buy_plan"))
    }
}

/// `refund_plan = PLAN` (PLAN-12).
pub(crate) struct RefundPlan;

impl FromArgs for RefundPlan {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(RefundPlan)
    }
}

impl Action for RefundPlan {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("refund_plan"))
    }
}

/// `renew_plan = PLAN` (PLAN-13).
pub(crate) struct RenewPlan;

impl FromArgs for RenewPlan {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(RenewPlan)
    }
}

impl Action for RenewPlan {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("renew_plan"))
    }
}

/// `set_usage_alert = ID`: `product`, and one or more of `percent_used`, `remaining` (PLAN-7).
#[expect(dead_code, reason = "read when plans arrive")]
pub(crate) struct SetUsageAlert {
    product: String,
    percent_used: Vec<i64>,
    remaining: Vec<i64>,
}

impl FromArgs for SetUsageAlert {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let product = a.string("product")?;
        let percent_used = a.ints("percent_used")?;
        let remaining = a.ints("remaining")?;
        if percent_used.is_none() && remaining.is_none() {
            return Err(a.invalid("give `percent_used`, `remaining` or both"));
        }
        Ok(SetUsageAlert {
            product: a.need("product", product)?,
            percent_used: percent_used.unwrap_or_default(),
            remaining: remaining.unwrap_or_default(),
        })
    }
}

impl Action for SetUsageAlert {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("set_usage_alert"))
    }
}

/// `set_plan_auto_renew = ID`: `product`, `spec`, `threshold`, `enabled` (PLAN-9).
#[expect(dead_code, reason = "read when plans arrive")]
pub(crate) struct SetPlanAutoRenew {
    product: String,
    spec: Option<String>,
    threshold: Option<i64>,
    enabled: bool,
}

impl FromArgs for SetPlanAutoRenew {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let product = a.string("product")?;
        Ok(SetPlanAutoRenew {
            product: a.need("product", product)?,
            spec: a.string("spec")?,
            threshold: a.int("threshold")?,
            enabled: a.bool("enabled")?.unwrap_or(true),
        })
    }
}

impl Action for SetPlanAutoRenew {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("set_plan_auto_renew"))
    }
}

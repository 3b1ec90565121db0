//! Prepaid resource plans (PLAN): `buy_plan`, `refund_plan`, `renew_plan`, `set_usage_alert`,
//! `set_plan_auto_renew`.

use super::{Action, FromArgs};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, ObjectKind, Sim};
use tenure_core::ids::{AccountId, PlanId};
use tenure_core::{Refusal, Timestamp};

/// The plan an alias names, as the engine knows it.
fn plan_of(sim: &Sim, name: &str) -> Result<(AccountId, PlanId), Fault> {
    let object = sim.object(name, ObjectKind::Plan)?;
    let id = PlanId::parse(&object.id)?;
    Ok((object.account, id))
}

/// The alias object of a plan the engine answered with.
fn plan_object(account: AccountId, id: String) -> Option<Object> {
    Some(Object {
        kind: ObjectKind::Plan,
        account,
        id,
    })
}

/// A list of integers an action needs as unsigned numbers; a negative one is `invalid_input`.
fn unsigned<T: TryFrom<i64>>(key: &str, values: &[i64]) -> Result<Vec<T>, Refusal> {
    values
        .iter()
        .map(|&v| {
            T::try_from(v)
                .map_err(|_| Refusal::invalid(format!("{key}: {v} is not a number from 0 up")))
        })
        .collect()
}

/// `buy_plan = ID`: `spec`, `start_at`; `as` names the plan (PLAN-2).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let start_at = self.start_at.clone().transpose()?;
        let plan = sim.engine.buy_plan(&account, &self.spec, start_at, None)?;
        Ok(plan_object(account, plan.id))
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, plan) = plan_of(sim, subject)?;
        sim.engine.refund_plan(&account, plan, None)?;
        Ok(None)
    }
}

/// `renew_plan = PLAN` (PLAN-13); `as` names the successor (an addition to the contract's
/// arguments: without it, the successor could not be checked).
pub(crate) struct RenewPlan;

impl FromArgs for RenewPlan {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(RenewPlan)
    }
}

impl Action for RenewPlan {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, plan) = plan_of(sim, subject)?;
        let successor = sim.engine.renew_plan(&account, plan, None)?;
        Ok(plan_object(account, successor.id))
    }
}

/// `set_usage_alert = ID`: `product`, and one or more of `percent_used`, `remaining` (PLAN-7).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let percent_used = unsigned::<u32>("percent_used", &self.percent_used)?;
        let remaining = unsigned::<u64>("remaining", &self.remaining)?;
        sim.engine
            .set_usage_alert(&account, &self.product, percent_used, remaining, None)?;
        Ok(None)
    }
}

/// `set_plan_auto_renew = ID`: `product`, `spec`, `threshold`, `enabled` (PLAN-9).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let threshold = self
            .threshold
            .map(|t| unsigned::<u64>("threshold", &[t]).map(|v| v[0]))
            .transpose()?;
        match (&self.spec, threshold) {
            (Some(spec), Some(threshold)) => sim.engine.set_plan_auto_renew(
                &account,
                &self.product,
                spec,
                threshold,
                self.enabled,
                None,
            )?,
            // Off, without saying what was on: the saved spec and threshold stay.
            _ if !self.enabled => {
                sim.engine
                    .disable_plan_auto_renew(&account, &self.product, None)?
            }
            _ => {
                return Err(Refusal::invalid(
                    "give `spec` and `threshold` to switch repurchase on",
                )
                .into());
            }
        };
        Ok(None)
    }
}

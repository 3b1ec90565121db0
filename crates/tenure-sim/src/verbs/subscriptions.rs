//! Subscriptions (SUB): `subscribe`, `renew`, `set_renewal`, `unsubscribe`, `continue_trial`,
//! `upgrade`. Parsed now; they run when subscriptions arrive in the engine.

use super::{Action, FromArgs, not_supported};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, Sim};
use tenure_core::{Refusal, Span};

/// The renewal modes, the four tabs of SUB-2.
const RENEWAL_MODES: [&str; 4] = ["manual", "auto", "payg_after_expiry", "canceled"];

/// The last day a common renewal day may name (SUB-5); `"last"` names the month's end.
const CO_TERM_DAY_MAX: i64 = 28;

/// `subscribe = ID`: `product`, `edition`, `term`, `renewal`, `auto_period`; `as` names it.
#[expect(dead_code, reason = "read when subscriptions arrive")]
pub(crate) struct Subscribe {
    product: String,
    edition: String,
    term: Option<Parsed<Span>>,
    renewal: Parsed<String>,
    auto_period: Option<Parsed<Span>>,
}

impl FromArgs for Subscribe {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let product = a.string("product")?;
        let edition = a.string("edition")?;
        Ok(Subscribe {
            product: a.need("product", product)?,
            edition: a.need("edition", edition)?,
            term: a.span("term")?,
            renewal: a
                .one_of("renewal", &RENEWAL_MODES)?
                .unwrap_or_else(|| Ok("manual".to_string())),
            auto_period: a.span("auto_period")?,
        })
    }
}

impl Action for Subscribe {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("subscribe"))
    }
}

/// SUB-5: a common renewal day, 1–28, or the month's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoTermDay {
    Day(u8),
    Last,
}

/// `renew = SUB or [SUB…]`: `term`, `co_term_day` (SUB-3, SUB-5).
#[expect(dead_code, reason = "read when subscriptions arrive")]
pub(crate) struct Renew {
    term: Parsed<Span>,
    co_term_day: Option<Parsed<CoTermDay>>,
}

impl FromArgs for Renew {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let term = a.span("term")?;
        let co_term_day = a.int_or_string("co_term_day")?.map(|day| match day {
            Ok(d) if (1..=CO_TERM_DAY_MAX).contains(&d) => Ok(CoTermDay::Day(d as u8)),
            Err(word) if word == "last" => Ok(CoTermDay::Last),
            Ok(d) => Err(Refusal::invalid(format!(
                "co_term_day {d} is not a day from 1 to {CO_TERM_DAY_MAX}"
            ))),
            Err(word) => Err(Refusal::invalid(format!(
                "co_term_day {word:?} is neither a day from 1 to {CO_TERM_DAY_MAX} nor \"last\""
            ))),
        });
        Ok(Renew {
            term: a.need("term", term)?,
            co_term_day,
        })
    }
}

impl Action for Renew {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("renew"))
    }
}

/// `set_renewal = SUB or [SUB…]`: `mode`, `period` (SUB-2, SUB-8).
#[expect(dead_code, reason = "read when subscriptions arrive")]
pub(crate) struct SetRenewal {
    mode: Parsed<String>,
    period: Option<Parsed<Span>>,
}

impl FromArgs for SetRenewal {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let mode = a.one_of("mode", &RENEWAL_MODES)?;
        Ok(SetRenewal {
            mode: a.need("mode", mode)?,
            period: a.span("period")?,
        })
    }
}

impl Action for SetRenewal {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("set_renewal"))
    }
}

/// `unsubscribe = SUB` (SUB-10).
pub(crate) struct Unsubscribe;

impl FromArgs for Unsubscribe {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(Unsubscribe)
    }
}

impl Action for Unsubscribe {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("unsubscribe"))
    }
}

/// `continue_trial = SUB` (SUB-9).
pub(crate) struct ContinueTrial;

impl FromArgs for ContinueTrial {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(ContinueTrial)
    }
}

impl Action for ContinueTrial {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("continue_trial"))
    }
}

/// `upgrade = SUB`: `edition`, `term` (SUB-9).
#[expect(dead_code, reason = "read when subscriptions arrive")]
pub(crate) struct Upgrade {
    edition: String,
    term: Option<Parsed<Span>>,
}

impl FromArgs for Upgrade {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let edition = a.string("edition")?;
        Ok(Upgrade {
            edition: a.need("edition", edition)?,
            term: a.span("term")?,
        })
    }
}

impl Action for Upgrade {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("upgrade"))
    }
}

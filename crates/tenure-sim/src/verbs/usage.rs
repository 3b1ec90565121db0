//! Metered usage and pay-as-you-go (USE, PAYG, PLAN-10): `activate_payg`, `usage`, `reserve`,
//! `commit`, `release`. Parsed now; they run when usage arrives in the engine.

use super::{Action, FromArgs, not_supported};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, Sim};
use tenure_core::span::parse_instant;
use tenure_core::{Refusal, Span, Timestamp};

/// How long a reservation holds when `timeout` is not given (PLAN-10).
const RESERVE_TIMEOUT_DEFAULT: &str = "5m";

/// `activate_payg = ID`: `product` (PAYG-1).
#[expect(dead_code, reason = "read when pay-as-you-go arrives")]
pub(crate) struct ActivatePayg {
    product: String,
}

impl FromArgs for ActivatePayg {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let product = a.string("product")?;
        Ok(ActivatePayg {
            product: a.need("product", product)?,
        })
    }
}

impl Action for ActivatePayg {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("activate_payg"))
    }
}

/// When a usage event happened: an instant, or a span before now (`"-3h"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum At {
    Instant(Timestamp),
    Ago(Span),
}

impl At {
    fn parse(text: &str) -> Parsed<At> {
        if text.trim_start().starts_with('-') {
            let span = Span::parse(text)?;
            return Ok(At::Ago(span.negate()));
        }
        parse_instant(text).map(At::Instant).map_err(|_| {
            Refusal::invalid(format!(
                "at: {text:?} is neither an RFC 3339 instant nor a negative span such as \"-3h\""
            ))
        })
    }
}

/// `usage = ID`: `meter`, `quantity`, `id`, `at`, `expect_result` (USE-1).
#[expect(dead_code, reason = "read when usage arrives")]
pub(crate) struct Usage {
    meter: String,
    quantity: i64,
    id: Option<String>,
    at: Option<Parsed<At>>,
    /// `"applied"` or `"duplicate"`.
    expect_result: Option<String>,
}

impl FromArgs for Usage {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let meter = a.string("meter")?;
        let quantity = a.int("quantity")?;
        Ok(Usage {
            meter: a.need("meter", meter)?,
            quantity: a.need("quantity", quantity)?,
            id: a.string("id")?,
            at: a.instant_text("at")?.map(|t| At::parse(&t)),
            expect_result: a.expected_one_of("expect_result", &["applied", "duplicate"])?,
        })
    }
}

impl Action for Usage {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("usage"))
    }
}

/// `reserve = ID`: `meter`, `quantity`, `timeout`; `as` names the reservation (PLAN-10).
#[expect(dead_code, reason = "read when reservations arrive")]
pub(crate) struct Reserve {
    meter: String,
    quantity: i64,
    timeout: Parsed<Span>,
}

impl FromArgs for Reserve {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let meter = a.string("meter")?;
        let quantity = a.int("quantity")?;
        Ok(Reserve {
            meter: a.need("meter", meter)?,
            quantity: a.need("quantity", quantity)?,
            timeout: a
                .span("timeout")?
                .unwrap_or_else(|| Span::parse(RESERVE_TIMEOUT_DEFAULT)),
        })
    }
}

impl Action for Reserve {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("reserve"))
    }
}

/// `commit = RESERVATION`: `quantity` (PLAN-10).
#[expect(dead_code, reason = "read when reservations arrive")]
pub(crate) struct Commit {
    quantity: i64,
}

impl FromArgs for Commit {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let quantity = a.int("quantity")?;
        Ok(Commit {
            quantity: a.need("quantity", quantity)?,
        })
    }
}

impl Action for Commit {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("commit"))
    }
}

/// `release = RESERVATION` (PLAN-10).
pub(crate) struct Release;

impl FromArgs for Release {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(Release)
    }
}

impl Action for Release {
    fn run(&self, _: &mut Sim, _: &str) -> Result<Option<Object>, Fault> {
        Err(not_supported("release"))
    }
}

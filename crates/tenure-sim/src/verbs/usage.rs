//! Metered usage and pay-as-you-go (USE, PAYG, PLAN-10): `activate_payg`, `usage`, `reserve`,
//! `commit`, `release`.

use super::{Action, FromArgs};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, ObjectKind, Sim};
use tenure_core::ids::{AccountId, ReservationId};
use tenure_core::span::parse_instant;
use tenure_core::usage::UsageEvent;
use tenure_core::{ErrorCode, Refusal, Span, Timestamp};
use tenure_engine::IncomingEvent;
use tenure_engine::views::UsageResultView;

/// How long a reservation holds when `timeout` is not given (PLAN-10).
const RESERVE_TIMEOUT_DEFAULT: &str = "5m";

/// A quantity an action sends: an integer from 0 up; a negative one is `invalid_input`.
fn quantity(q: i64) -> Result<u64, Refusal> {
    u64::try_from(q).map_err(|_| Refusal::invalid(format!("quantity {q} is negative")))
}

/// What the engine answered for one event: its status (`applied`, `duplicate`), or the refusal.
fn outcome(result: UsageResultView) -> Result<String, Fault> {
    if result.status != "refused" {
        return Ok(result.status);
    }
    let code = result.code.as_deref().unwrap_or_default();
    let code = ErrorCode::parse(code).ok_or_else(|| {
        Fault::Broken(format!(
            "the engine refused an event with an unknown code {code:?}"
        ))
    })?;
    Err(Refusal::new(code, result.detail.unwrap_or_default()).into())
}

/// The reservation an alias names, as the engine knows it.
fn reservation_of(sim: &Sim, name: &str) -> Result<(AccountId, ReservationId), Fault> {
    let object = sim.object(name, ObjectKind::Reservation)?;
    let id = ReservationId::parse(&object.id)?;
    Ok((object.account, id))
}

/// `activate_payg = ID`: `product` (PAYG-1).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        sim.engine.activate_payg(&account, &self.product, None)?;
        Ok(None)
    }
}

/// When a usage event happened: an instant, or a span before now (`"-3h"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum At {
    Instant(Timestamp),
    Ago(Span),
}

impl At {
    /// The instant it names, `now` being the sandbox clock's and calendar spans counted in
    /// `zone`.
    fn resolve(self, now: Timestamp, zone: &tenure_core::TimeZone) -> Result<Timestamp, Refusal> {
        match self {
            At::Instant(at) => Ok(at),
            At::Ago(span) => span.sub_from(now, zone),
        }
    }

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

/// `usage = ID`: `meter`, `quantity`, `id`, `at`, `expect_result` (USE-1). Without
/// `expect_result`, applied and duplicate are both success; a refused event fails the step with
/// its code, which `expect_error` can expect.
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let at = match &self.at {
            None => sim.now(),
            Some(at) => at.clone()?.resolve(sim.now(), sim.zone())?,
        };
        let event = UsageEvent {
            id: match &self.id {
                Some(id) => id.clone(),
                None => sim.fresh_event_id(),
            },
            meter: self.meter.clone(),
            quantity: quantity(self.quantity)?,
            at,
            dimensions: None,
        };
        let results = sim.engine.ingest_usage(vec![IncomingEvent {
            account: account.to_string(),
            event,
        }])?;
        let [result] = <[UsageResultView; 1]>::try_from(results).map_err(|r| {
            Fault::Broken(format!("one event was sent, {} results came back", r.len()))
        })?;
        let status = outcome(result)?;
        match &self.expect_result {
            Some(expected) if *expected != status => Err(Fault::Unexpected {
                expected: format!("result {expected}"),
                found: format!("result {status}"),
            }),
            _ => Ok(None),
        }
    }
}

/// `reserve = ID`: `meter`, `quantity`, `timeout`; `as` names the reservation (PLAN-10).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let reservation = sim.engine.reserve(
            &account,
            &self.meter,
            quantity(self.quantity)?,
            self.timeout.clone()?,
            None,
        )?;
        Ok(Some(Object {
            kind: ObjectKind::Reservation,
            account,
            id: reservation.id,
        }))
    }
}

/// `commit = RESERVATION`: `quantity` (PLAN-10).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, id) = reservation_of(sim, subject)?;
        let result = sim
            .engine
            .commit_reservation(&account, id, quantity(self.quantity)?, None)?;
        outcome(result)?;
        Ok(None)
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, id) = reservation_of(sim, subject)?;
        sim.engine.release_reservation(&account, id, None)?;
        Ok(None)
    }
}

//! The sandbox clock (TIME-3): `advance = SPAN`, `advance_to = INSTANT`. Both run every due
//! action up to and including the new instant, in time order, with the clock standing at each
//! action's instant, including actions created while advancing.

use super::{Action, FromArgs};
use crate::args::Args;
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, Sim};
use tenure_core::Span;
use tenure_core::span::parse_instant;

/// `advance = SPAN` ("90m", "1d", "1 month"); calendar units in the fixed offset of `start`.
pub(crate) struct Advance;

impl FromArgs for Advance {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(Advance)
    }
}

impl Action for Advance {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let to = Span::parse(subject)?.add_to(sim.now(), sim.zone())?;
        sim.advance_to(to)?;
        Ok(None)
    }
}

/// `advance_to = INSTANT` (RFC 3339 with an offset).
pub(crate) struct AdvanceTo;

impl FromArgs for AdvanceTo {
    fn from_args(_: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(AdvanceTo)
    }
}

impl Action for AdvanceTo {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        sim.advance_to(parse_instant(subject)?)?;
        Ok(None)
    }
}

//! Subscriptions (SUB): `subscribe`, `renew`, `set_renewal`, `unsubscribe`, `continue_trial`,
//! `upgrade`.
//!
//! `renew` and `set_renewal` take one subject or a list; either way the items go to the engine
//! as one batch (SUB-3, SUB-8), each with its own result, as a provider's batch call would.

use super::{Action, FromArgs};
use crate::args::{Args, Parsed};
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, ObjectKind, Sim};
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::subscription::{CoTermDay, RenewalMode};
use tenure_core::{ErrorCode, Refusal, Span};
use tenure_engine::views::{ItemResultView, RenewResultView};
use tenure_engine::{EngineError, RenewItem};

/// The renewal modes, the four tabs of SUB-2.
const RENEWAL_MODES: [&str; 4] = ["manual", "auto", "payg_after_expiry", "canceled"];

/// The subscription an alias names, as the engine knows it.
fn subscription_of(sim: &Sim, name: &str) -> Result<(AccountId, SubscriptionId), Fault> {
    let object = sim.object(name, ObjectKind::Subscription)?;
    let id = SubscriptionId::parse(&object.id)?;
    Ok((object.account, id))
}

/// A renewal mode from its word and, for `auto`, its period (SUB-2).
fn renewal_mode(
    mode: &Parsed<String>,
    period: &Option<Parsed<Span>>,
) -> Result<RenewalMode, Fault> {
    let period = period.clone().transpose()?;
    Ok(RenewalMode::parse(&mode.clone()?, period)?)
}

/// The refusal an engine's per-item result carries (`code`, `detail`).
fn item_refusal(code: Option<&str>, detail: Option<&str>) -> Fault {
    let detail = detail.unwrap_or("refused").to_string();
    match code.and_then(ErrorCode::parse) {
        Some(code) => Fault::Refused(Refusal::new(code, detail)),
        None => Fault::Broken(format!("an item was refused with code {code:?}: {detail}")),
    }
}

/// The instance one subject of a batch names.
type Instance = (AccountId, SubscriptionId);

/// One result per subject of a list step.
type ItemResults = Vec<Result<(), Fault>>;

/// Runs a batch command on the subjects of a list step: subjects whose alias names no
/// subscription are refused `not_found` on their own; the others go to `send` as one batch,
/// whose answers `refused` reads (the fault of an item refused, or none). A batch refused whole
/// fails every item it carried.
fn run_batch<T>(
    sim: &Sim,
    subjects: &[String],
    send: impl FnOnce(&Sim, Vec<Instance>) -> Result<Vec<T>, EngineError>,
    refused: impl Fn(&T) -> Option<Fault>,
) -> ItemResults {
    let mut results: ItemResults = vec![Ok(()); subjects.len()];
    let mut slots = Vec::new();
    let mut batch = Vec::new();
    for (i, subject) in subjects.iter().enumerate() {
        match subscription_of(sim, subject) {
            Ok(instance) => {
                slots.push(i);
                batch.push(instance);
            }
            Err(fault) => results[i] = Err(fault),
        }
    }
    if batch.is_empty() {
        return results;
    }
    let answers = match send(sim, batch) {
        Ok(answers) if answers.len() == slots.len() => answers,
        Ok(answers) => {
            let fault = Fault::Broken(format!(
                "the engine answered {} results for {} items",
                answers.len(),
                slots.len()
            ));
            slots.iter().for_each(|&i| results[i] = Err(fault.clone()));
            return results;
        }
        Err(e) => {
            let fault = Fault::from(e);
            slots.iter().for_each(|&i| results[i] = Err(fault.clone()));
            return results;
        }
    };
    for (&i, answer) in slots.iter().zip(&answers) {
        if let Some(fault) = refused(answer) {
            results[i] = Err(fault);
        }
    }
    results
}

/// The same fault for every item (an argument every item shares that does not parse).
fn all_fail(n: usize, fault: &Fault) -> ItemResults {
    vec![Err(fault.clone()); n]
}

/// `subscribe = ID`: `product`, `edition`, `term`, `renewal`, `auto_period`; `as` names it.
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let account = sim.account(subject)?;
        let term = self.term.clone().transpose()?;
        let mode = renewal_mode(&self.renewal, &self.auto_period)?;
        let view =
            sim.engine
                .subscribe(&account, &self.product, &self.edition, term, mode, None)?;
        Ok(Some(Object {
            kind: ObjectKind::Subscription,
            account,
            id: view.id,
        }))
    }
}

/// A common renewal day as the file writes it: 1–28 or `"last"` (SUB-5).
fn co_term_day(day: Result<i64, String>) -> Parsed<CoTermDay> {
    match day {
        Ok(n) => CoTermDay::from_number(n),
        Err(word) => CoTermDay::parse(&word),
    }
}

/// `renew = SUB or [SUB…]`: `term`, `co_term_day` (SUB-3, SUB-5).
pub(crate) struct Renew {
    term: Parsed<Span>,
    co_term_day: Option<Parsed<CoTermDay>>,
}

impl FromArgs for Renew {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let term = a.span("term")?;
        let co_term_day = a.int_or_string("co_term_day")?.map(co_term_day);
        Ok(Renew {
            term: a.need("term", term)?,
            co_term_day,
        })
    }
}

impl Renew {
    fn arguments(&self) -> Result<(Span, Option<CoTermDay>), Fault> {
        Ok((self.term.clone()?, self.co_term_day.clone().transpose()?))
    }
}

impl Action for Renew {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let mut results = self.run_list(sim, &[subject.to_string()]);
        results.pop().unwrap_or(Ok(())).map(|()| None)
    }

    fn run_list(&self, sim: &mut Sim, subjects: &[String]) -> ItemResults {
        let (term, co_term_day) = match self.arguments() {
            Ok(args) => args,
            Err(fault) => return all_fail(subjects.len(), &fault),
        };
        let send = |sim: &Sim, batch: Vec<Instance>| {
            let items = batch
                .into_iter()
                .map(|(account, subscription)| RenewItem {
                    account,
                    subscription,
                    term,
                    co_term_day,
                })
                .collect();
            sim.engine.renew(items, None)
        };
        run_batch(sim, subjects, send, |answer: &RenewResultView| {
            (answer.status != "renewed")
                .then(|| item_refusal(answer.code.as_deref(), answer.detail.as_deref()))
        })
    }
}

/// `set_renewal = SUB or [SUB…]`: `mode`, `period` (SUB-2, SUB-8).
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let mut results = self.run_list(sim, &[subject.to_string()]);
        results.pop().unwrap_or(Ok(())).map(|()| None)
    }

    fn run_list(&self, sim: &mut Sim, subjects: &[String]) -> ItemResults {
        let mode = match renewal_mode(&self.mode, &self.period) {
            Ok(mode) => mode,
            Err(fault) => return all_fail(subjects.len(), &fault),
        };
        let send = |sim: &Sim, batch: Vec<Instance>| sim.engine.set_renewal(batch, mode, None);
        run_batch(sim, subjects, send, |answer: &ItemResultView| {
            (answer.status != "updated")
                .then(|| item_refusal(answer.code.as_deref(), answer.detail.as_deref()))
        })
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, id) = subscription_of(sim, subject)?;
        sim.engine.unsubscribe(&account, id, None)?;
        Ok(None)
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
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, id) = subscription_of(sim, subject)?;
        sim.engine.continue_trial(&account, id, None)?;
        Ok(None)
    }
}

/// `upgrade = SUB`: `edition`, `term` (SUB-9).
pub(crate) struct Upgrade {
    edition: String,
    term: Parsed<Span>,
}

impl FromArgs for Upgrade {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let edition = a.string("edition")?;
        let term = a.span("term")?;
        Ok(Upgrade {
            edition: a.need("edition", edition)?,
            term: a.need("term", term)?,
        })
    }
}

impl Action for Upgrade {
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault> {
        let (account, id) = subscription_of(sim, subject)?;
        let term = self.term.clone()?;
        sim.engine
            .upgrade(&account, id, &self.edition, term, None)?;
        Ok(None)
    }
}

//! The verb table: every verb of `spec/SCENARIOS.md`, the shape of its subject, and the parser
//! of its arguments. What each verb does lives with its family under `verbs/`.
//!
//! Adding a verb: a struct with its arguments implementing [`FromArgs`] and [`Action`] (or
//! [`Expectation`]) in its family's file, and one row in [`VERBS`].

mod accounts;
mod clock;
mod expectations;
mod plans;
mod subscriptions;
mod usage;

use crate::args::Args;
use crate::scenario::ParseError;
use crate::sim::{Fault, Object, Sim};

/// How a verb is written and what it is.
pub(crate) struct Verb {
    pub(crate) name: &'static str,
    pub(crate) form: Form,
    pub(crate) parse: fn(&mut Args<'_>) -> Result<Command, ParseError>,
}

/// Whether a verb acts or checks, and the shape of its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Action {
        /// The subject may be a list (`renew = ["a", "b"]`); each item runs on its own.
        list: bool,
        /// The step may name what it makes with `as`.
        alias: bool,
    },
    Expectation,
}

/// A parsed step's work.
pub(crate) enum Command {
    Action(Box<dyn Action>),
    Expectation(Box<dyn Expectation>),
}

/// Builds a verb's arguments from its step.
pub(crate) trait FromArgs: Sized {
    fn from_args(args: &mut Args<'_>) -> Result<Self, ParseError>;
}

/// A verb that changes the sandbox.
pub(crate) trait Action {
    /// Runs on one subject (an account id or alias, a span, an instant, as the verb says).
    /// Returns the object it made, which the runner names when the step has `as`. Refused,
    /// it changes nothing.
    fn run(&self, sim: &mut Sim, subject: &str) -> Result<Option<Object>, Fault>;

    /// Runs on every item of a list subject (`renew = ["a", "b"]`), one result per item in
    /// order. By default each item on its own; a verb whose engine command takes a batch sends
    /// the list as one batch, so the file exercises what a provider's batch call does.
    fn run_list(&self, sim: &mut Sim, subjects: &[String]) -> Vec<Result<(), Fault>> {
        subjects
            .iter()
            .map(|s| self.run(sim, s).map(|_| ()))
            .collect()
    }
}

/// A verb that checks the sandbox.
pub(crate) trait Expectation {
    /// Checks the keys given; returns one [`Mismatch`] per key that does not hold.
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault>;
}

/// One expectation that did not hold, as the report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub(crate) expected: String,
    pub(crate) found: String,
}

impl Mismatch {
    /// `KEY EXPECTED` against `KEY FOUND`.
    pub(crate) fn key(
        key: &str,
        expected: impl std::fmt::Display,
        found: impl std::fmt::Display,
    ) -> Mismatch {
        Mismatch {
            expected: format!("{key} {expected}"),
            found: format!("{key} {found}"),
        }
    }
}

fn parse_action<T: FromArgs + Action + 'static>(
    args: &mut Args<'_>,
) -> Result<Command, ParseError> {
    Ok(Command::Action(Box::new(T::from_args(args)?)))
}

fn parse_expectation<T: FromArgs + Expectation + 'static>(
    args: &mut Args<'_>,
) -> Result<Command, ParseError> {
    Ok(Command::Expectation(Box::new(T::from_args(args)?)))
}

/// An action on one subject.
const fn action<T: FromArgs + Action + 'static>(name: &'static str) -> Verb {
    Verb {
        name,
        form: Form::Action {
            list: false,
            alias: false,
        },
        parse: parse_action::<T>,
    }
}

/// An action on one subject that makes an object the step may name with `as`.
const fn action_as<T: FromArgs + Action + 'static>(name: &'static str) -> Verb {
    Verb {
        name,
        form: Form::Action {
            list: false,
            alias: true,
        },
        parse: parse_action::<T>,
    }
}

/// An action on one subject or a list of them.
const fn action_list<T: FromArgs + Action + 'static>(name: &'static str) -> Verb {
    Verb {
        name,
        form: Form::Action {
            list: true,
            alias: false,
        },
        parse: parse_action::<T>,
    }
}

const fn expectation<T: FromArgs + Expectation + 'static>(name: &'static str) -> Verb {
    Verb {
        name,
        form: Form::Expectation,
        parse: parse_expectation::<T>,
    }
}

/// Every verb, in the order of `spec/SCENARIOS.md`.
pub(crate) static VERBS: &[Verb] = &[
    // Accounts and money (ACC).
    action::<accounts::OpenAccount>("open_account"),
    action::<accounts::VerifyIdentity>("verify_identity"),
    action::<accounts::TopUp>("top_up"),
    action_as::<accounts::GrantCoupon>("grant_coupon"),
    // Usage and pay-as-you-go (USE, PAYG, PLAN-10).
    action::<usage::ActivatePayg>("activate_payg"),
    // Resource plans (PLAN).
    action_as::<plans::BuyPlan>("buy_plan"),
    action::<plans::RefundPlan>("refund_plan"),
    action_as::<plans::RenewPlan>("renew_plan"),
    action::<plans::SetUsageAlert>("set_usage_alert"),
    action::<plans::SetPlanAutoRenew>("set_plan_auto_renew"),
    action::<usage::Usage>("usage"),
    action_as::<usage::Reserve>("reserve"),
    action::<usage::Commit>("commit"),
    action::<usage::Release>("release"),
    // Subscriptions (SUB).
    action_as::<subscriptions::Subscribe>("subscribe"),
    action_list::<subscriptions::Renew>("renew"),
    action_list::<subscriptions::SetRenewal>("set_renewal"),
    action::<subscriptions::Unsubscribe>("unsubscribe"),
    action::<subscriptions::ContinueTrial>("continue_trial"),
    action::<subscriptions::Upgrade>("upgrade"),
    // The sandbox clock (TIME-3).
    action::<clock::Advance>("advance"),
    action::<clock::AdvanceTo>("advance_to"),
    // Expectations.
    expectation::<expectations::ExpectAccount>("expect_account"),
    expectation::<expectations::ExpectPlan>("expect_plan"),
    expectation::<expectations::ExpectSubscription>("expect_subscription"),
    expectation::<expectations::ExpectService>("expect_service"),
    expectation::<expectations::ExpectUsage>("expect_usage"),
    expectation::<expectations::ExpectBills>("expect_bills"),
    expectation::<expectations::ExpectNotices>("expect_notices"),
    expectation::<expectations::ExpectEvents>("expect_events"),
];

/// The verb named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Verb> {
    VERBS.iter().find(|v| v.name == name)
}

/// Every verb name, for hints.
pub(crate) fn names() -> Vec<&'static str> {
    VERBS.iter().map(|v| v.name).collect()
}

//! Running a parsed scenario's steps in order, and saying what did not hold.

use crate::scenario::{Scenario, Step};
use crate::sim::{Fault, Object, Sim};
use crate::verbs::{Action, Command, Expectation, Form};
use tenure_core::ErrorCode;

/// A step that did not hold. Displays as `step N (line L): VERB: expected WHAT, found WHAT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) step: usize,
    pub(crate) line: usize,
    pub(crate) verb: &'static str,
    pub(crate) expected: String,
    pub(crate) found: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} (line {}): {}: expected {}, found {}",
            self.step, self.line, self.verb, self.expected, self.found
        )
    }
}

/// Runs every step; stops at an action step that did not go as expected, since later steps
/// would be meaningless, and keeps going after a failed expectation.
pub(crate) fn run(scenario: &Scenario, sim: &mut Sim) -> Vec<Failure> {
    let mut failures = Vec::new();
    for step in &scenario.steps {
        let fail = |expected: String, found: String| Failure {
            step: step.number,
            line: step.line,
            verb: step.verb.name,
            expected,
            found,
        };
        match &step.command {
            Command::Action(action) => {
                if let Err((expected, found)) = run_action(sim, step, action.as_ref()) {
                    failures.push(fail(expected, found));
                    break;
                }
            }
            Command::Expectation(expectation) => {
                if let Err((expected, found)) = check(sim, step, expectation.as_ref()) {
                    failures.push(fail(expected, found));
                }
            }
        }
    }
    failures
}

/// `Err((expected, found))` when the step did not go as the file says.
type Verdict = Result<(), (String, String)>;

fn run_action(sim: &mut Sim, step: &Step, action: &dyn Action) -> Verdict {
    match step.expect_error {
        None => run_items(sim, step, action).map_err(|(item, fault)| match fault {
            Fault::Unexpected { expected, found } => (expected, at_item(step, item, &found)),
            other => (
                "success".to_string(),
                at_item(step, item, &other.to_string()),
            ),
        }),
        Some(code) => run_refused(sim, step, action, code),
    }
}

/// Runs the action on each subject; then what fell due meanwhile. Stops at the first fault,
/// returning the subject it was about.
fn run_items<'s>(
    sim: &mut Sim,
    step: &'s Step,
    action: &dyn Action,
) -> Result<(), (&'s str, Fault)> {
    if takes_list(step) {
        let results = list_results(sim, step, action);
        for (subject, result) in step.subjects.iter().zip(results) {
            result.map_err(|f| (subject.as_str(), f))?;
        }
    } else {
        for subject in &step.subjects {
            let made = run_one(sim, step, action, subject).map_err(|f| (subject.as_str(), f))?;
            if let (Some(alias), Some(object)) = (&step.alias, made) {
                sim.bind(alias, object);
            }
        }
    }
    let last = step.subjects.last().map_or("", String::as_str);
    sim.run_due().map_err(|f| (last, f))
}

/// The results of a list step, one per item: an item the verb gave no result for is a fault of
/// the sandbox, never a silent success.
fn list_results(sim: &mut Sim, step: &Step, action: &dyn Action) -> Vec<Result<(), Fault>> {
    let mut results = action.run_list(sim, &step.subjects);
    let given = results.len();
    results.truncate(step.subjects.len());
    results.resize_with(step.subjects.len(), || {
        Err(Fault::Broken(format!(
            "{} gave {given} results for {} items",
            step.verb.name,
            step.subjects.len()
        )))
    });
    results
}

/// Whether the step's verb takes a list subject: then its items go to [`Action::run_list`]
/// together, a single subject as a list of one.
fn takes_list(step: &Step) -> bool {
    matches!(step.verb.form, Form::Action { list: true, .. })
}

/// Runs the action on one subject, after checking that the name `as` gives is free.
fn run_one(
    sim: &mut Sim,
    step: &Step,
    action: &dyn Action,
    subject: &str,
) -> Result<Option<Object>, Fault> {
    if let Some(alias) = &step.alias {
        sim.check_alias_free(alias)?;
    }
    action.run(sim, subject)
}

/// `expect_error`: every subject must be refused with `code`, and nothing may change.
fn run_refused(sim: &mut Sim, step: &Step, action: &dyn Action, code: ErrorCode) -> Verdict {
    let expected = || format!("error {code}");
    let broken = |f: Fault| (expected(), f.to_string());
    let before = sim.snapshot().map_err(broken)?;
    if takes_list(step) {
        let results = list_results(sim, step, action);
        for (subject, result) in step.subjects.iter().zip(results) {
            refused_with(step, subject, result, code)?;
        }
    } else {
        for subject in &step.subjects {
            let result = run_one(sim, step, action, subject).map(|_| ());
            refused_with(step, subject, result, code)?;
        }
    }
    let after = sim.snapshot().map_err(broken)?;
    if before != after {
        return Err((
            format!("{} and no change", expected()),
            "a change".to_string(),
        ));
    }
    Ok(())
}

/// One item of an `expect_error` step: it must have been refused with `code`.
fn refused_with(step: &Step, subject: &str, result: Result<(), Fault>, code: ErrorCode) -> Verdict {
    let expected = || format!("error {code}");
    match result {
        Err(Fault::Refused(r)) if r.code == code => Ok(()),
        Err(other) => Err((expected(), at_item(step, subject, &other.to_string()))),
        Ok(()) => Err((expected(), at_item(step, subject, "success"))),
    }
}

/// Names the item of a list subject that a finding is about.
fn at_item(step: &Step, subject: &str, found: &str) -> String {
    if step.subjects.len() > 1 {
        format!("{found} for {subject:?}")
    } else {
        found.to_string()
    }
}

fn check(sim: &Sim, step: &Step, expectation: &dyn Expectation) -> Verdict {
    let subject = step.subjects.first().map_or("", String::as_str);
    match expectation.check(sim, subject) {
        Ok(mismatches) if mismatches.is_empty() => Ok(()),
        Ok(mismatches) => {
            let expected: Vec<&str> = mismatches.iter().map(|m| m.expected.as_str()).collect();
            let found: Vec<&str> = mismatches.iter().map(|m| m.found.as_str()).collect();
            Err((expected.join(" and "), found.join(" and ")))
        }
        Err(fault) => {
            let expected = if step.described.is_empty() {
                format!("{subject:?} to exist")
            } else {
                step.described.clone()
            };
            Err((expected, fault.to_string()))
        }
    }
}

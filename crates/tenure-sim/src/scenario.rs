//! Parsing a scenario file: its header (`name`, `rules`, `catalog`, `start`) and its `[[step]]`s,
//! each with exactly one verb. Every problem names its line; one parse reports every problem of
//! the file (at most one per step).

use crate::args::{Args, Lines, Value, nearest};
use crate::verbs::{self, Command, Form, Verb};
use jiff::fmt::temporal::Pieces;
use tenure_core::span::parse_instant;
use tenure_core::{ErrorCode, TimeZone, Timestamp};
use toml::de::{DeTable, DeValue};

/// Keys a file may have at its top level.
const FILE_KEYS: [&str; 5] = ["name", "rules", "catalog", "start", "step"];

/// Most steps one file may have: a limit on the work one file can ask for.
pub(crate) const STEPS_MAX: usize = 10_000;

/// A problem that keeps a file from running, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Which catalog a scenario runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogRef {
    /// `catalog = "demo"`: the demo catalog of `spec/DEMO_CATALOG.md`.
    Demo,
    /// A catalog file, relative to the scenario file's folder.
    File(String),
}

/// A parsed scenario, ready to run.
pub struct Scenario {
    pub name: String,
    /// The rule ids it proves (`"PLAN-3"`).
    pub rules: Vec<String>,
    pub catalog: CatalogRef,
    pub(crate) catalog_line: usize,
    /// The sandbox clock's first instant.
    pub start: Timestamp,
    /// The fixed offset `start` was written with.
    pub(crate) zone: TimeZone,
    pub(crate) steps: Vec<Step>,
}

impl Scenario {
    /// The verb of each step, in order.
    pub fn verbs(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.verb.name).collect()
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("rules", &self.rules)
            .field("catalog", &self.catalog)
            .field("start", &self.start)
            .field("verbs", &self.verbs())
            .finish()
    }
}

/// One `[[step]]`.
pub(crate) struct Step {
    /// 1-based position among the file's steps.
    pub(crate) number: usize,
    /// The line of its verb key.
    pub(crate) line: usize,
    pub(crate) verb: &'static Verb,
    /// One subject, or the items of a list.
    pub(crate) subjects: Vec<String>,
    pub(crate) command: Command,
    pub(crate) expect_error: Option<ErrorCode>,
    /// The name `as` gives to what the step makes.
    pub(crate) alias: Option<String>,
    /// Its arguments as a phrase, for reports (`cash 46.00 and status active`).
    pub(crate) described: String,
}

/// Parses a scenario file's text.
pub fn parse(text: &str) -> Result<Scenario, Vec<ParseError>> {
    let lines = Lines::new(text);
    let doc = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        vec![lines.error(&span, format!("not valid TOML: {}", e.message()))]
    })?;
    let root = doc.get_ref();
    let mut errors = Vec::new();
    let whole = doc.span();

    for (key, _) in root.iter() {
        let name: &str = key.get_ref();
        if !FILE_KEYS.contains(&name) {
            let hint = match nearest(name, &FILE_KEYS) {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("a file has {}", FILE_KEYS.join(", ")),
            };
            errors.push(lines.error(&key.span(), format!("unknown key `{name}` ({hint})")));
        }
    }

    let name = header_string(&lines, root, "name", &mut errors);
    let rules = header_rules(&lines, root, &mut errors);
    let catalog_line = root
        .get("catalog")
        .map_or(1, |v| lines.line(v.span().start));
    let catalog = header_string(&lines, root, "catalog", &mut errors).map(|c| {
        if c == "demo" {
            CatalogRef::Demo
        } else {
            CatalogRef::File(c)
        }
    });
    let start = header_start(&lines, root, &mut errors);
    let steps = match root.get("step") {
        None => {
            errors.push(lines.error(
                &(whole.end..whole.end),
                "no [[step]]: a scenario has at least one step",
            ));
            Vec::new()
        }
        Some(v) => match v.get_ref() {
            DeValue::Array(items) if items.len() > STEPS_MAX => {
                errors.push(lines.error(&v.span(), format!("more than {STEPS_MAX} steps")));
                Vec::new()
            }
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    parse_step(&lines, i + 1, item)
                        .map_err(|e| errors.push(e))
                        .ok()
                })
                .collect(),
            other => {
                let found = other.type_str();
                errors.push(lines.error(
                    &v.span(),
                    format!("`step` must be an array of tables ([[step]]), found {found}"),
                ));
                Vec::new()
            }
        },
    };

    match (name, catalog, start) {
        (Some(name), Some(catalog), Some((start, zone))) if errors.is_empty() => Ok(Scenario {
            name,
            rules,
            catalog,
            catalog_line,
            start,
            zone,
            steps,
        }),
        _ => {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }
}

fn missing(errors: &mut Vec<ParseError>, key: &str, example: &str) {
    errors.push(ParseError {
        line: 1,
        message: format!("missing `{key}` (for example `{key} = {example}`)"),
    });
}

fn header_string(
    lines: &Lines,
    root: &DeTable<'_>,
    key: &str,
    errors: &mut Vec<ParseError>,
) -> Option<String> {
    let Some(v) = root.get(key) else {
        let example = if key == "catalog" {
            "\"demo\""
        } else {
            "\"what the scenario shows\""
        };
        missing(errors, key, example);
        return None;
    };
    match v.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
        DeValue::String(_) => {
            errors.push(lines.error(&v.span(), format!("`{key}` must not be empty")));
            None
        }
        other => {
            errors.push(lines.error(
                &v.span(),
                format!("`{key}` must be a string, found {}", other.type_str()),
            ));
            None
        }
    }
}

/// `rules = ["PLAN-3", …]`: optional; each a rule id of `spec/RULES.md` (`AREA-N`).
fn header_rules(lines: &Lines, root: &DeTable<'_>, errors: &mut Vec<ParseError>) -> Vec<String> {
    let Some(v) = root.get("rules") else {
        return Vec::new();
    };
    let DeValue::Array(items) = v.get_ref() else {
        errors.push(lines.error(
            &v.span(),
            "`rules` must be a list of rule ids such as [\"PLAN-3\"]",
        ));
        return Vec::new();
    };
    let mut rules = Vec::new();
    for item in items.iter() {
        match item.get_ref().as_str() {
            Some(id) if is_rule_id(id) => rules.push(id.to_string()),
            _ => errors.push(lines.error(
                &item.span(),
                format!(
                    "`rules`: {} is not a rule id such as \"PLAN-3\"",
                    crate::args::show(item.get_ref())
                ),
            )),
        }
    }
    rules
}

fn is_rule_id(id: &str) -> bool {
    let Some((area, n)) = id.split_once('-') else {
        return false;
    };
    !area.is_empty()
        && area.chars().all(|c| c.is_ascii_uppercase())
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
}

/// `start`: an RFC 3339 instant with an offset, quoted or as a TOML datetime. Its offset is the
/// zone calendar spans of `advance` are added in.
fn header_start(
    lines: &Lines,
    root: &DeTable<'_>,
    errors: &mut Vec<ParseError>,
) -> Option<(Timestamp, TimeZone)> {
    let Some(v) = root.get("start") else {
        missing(errors, "start", "\"2026-03-01T09:00:00+08:00\"");
        return None;
    };
    let text = match v.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        other => {
            errors.push(lines.error(
                &v.span(),
                format!("`start` must be an instant, found {}", other.type_str()),
            ));
            return None;
        }
    };
    let parsed = parse_instant(&text).ok().and_then(|at| {
        let offset = Pieces::parse(text.trim()).ok()?.to_numeric_offset()?;
        Some((at, TimeZone::fixed(offset)))
    });
    if parsed.is_none() {
        errors.push(lines.error(
            &v.span(),
            format!("`start`: {text:?} is not an RFC 3339 instant with an offset"),
        ));
    }
    parsed
}

/// Parses one `[[step]]`: finds its one verb, its subject, then the verb's arguments.
fn parse_step(lines: &Lines, number: usize, item: &Value<'_>) -> Result<Step, ParseError> {
    let here = |span: &std::ops::Range<usize>, msg: String| {
        lines.error(span, format!("step {number}: {msg}"))
    };
    let DeValue::Table(table) = item.get_ref() else {
        return Err(here(
            &item.span(),
            format!("a step is a table, found {}", item.get_ref().type_str()),
        ));
    };
    let mut keys: Vec<_> = table.iter().collect();
    keys.sort_by_key(|(k, _)| k.span().start);
    let found: Vec<_> = keys
        .iter()
        .filter_map(|(k, v)| verbs::find(k.get_ref()).map(|verb| (*k, *v, verb)))
        .collect();
    let (key, value, verb) = match found.as_slice() {
        [one] => *one,
        [] => {
            let all = verbs::names();
            let typo = keys
                .iter()
                .find_map(|(k, _)| nearest(k.get_ref(), &all).map(|v| (*k, v)));
            return Err(match typo {
                Some((k, v)) => here(
                    &k.span(),
                    format!("unknown verb `{}` (did you mean `{v}`?)", k.get_ref()),
                ),
                None => here(
                    &item.span(),
                    format!("no verb; a step has exactly one of {}", all.join(", ")),
                ),
            });
        }
        [(first, _, _), (second, _, _), ..] => {
            return Err(here(
                &second.span(),
                format!(
                    "two verbs in one step: `{}` and `{}` (one verb per [[step]])",
                    first.get_ref(),
                    second.get_ref()
                ),
            ));
        }
    };
    let line = lines.line(key.span().start);
    let list = matches!(verb.form, Form::Action { list: true, .. });
    let subjects = subjects(value, list)
        .map_err(|msg| here(&value.span(), format!("{}: {msg}", verb.name)))?;

    let mut args = Args::new(lines, number, verb.name, line, table);
    let command = (verb.parse)(&mut args)?;
    let (expect_error, alias) = match verb.form {
        Form::Action { alias, .. } => {
            let expect_error = args.error_code("expect_error")?;
            let alias = if alias { args.string("as")? } else { None };
            if alias.as_deref().is_some_and(|a| a.trim().is_empty()) {
                return Err(args.invalid("`as` must name something"));
            }
            (expect_error, alias)
        }
        Form::Expectation => (None, None),
    };
    args.finish(key.get_ref())?;
    let described = args.describe(&[key.get_ref().as_ref(), "expect_error", "as"]);
    Ok(Step {
        number,
        line,
        verb,
        subjects,
        command,
        expect_error,
        alias,
        described,
    })
}

/// A verb's subject: a string (or TOML datetime), or a non-empty list of strings where allowed.
fn subjects(value: &Value<'_>, list: bool) -> Result<Vec<String>, String> {
    match value.get_ref() {
        DeValue::String(s) => Ok(vec![s.to_string()]),
        DeValue::Datetime(d) => Ok(vec![d.to_string()]),
        DeValue::Array(_) if !list => Err("takes one subject, not a list".to_string()),
        DeValue::Array(items) if items.is_empty() => {
            Err("the list of subjects is empty".to_string())
        }
        DeValue::Array(items) => items
            .iter()
            .map(|i| {
                i.get_ref()
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "a list of subjects holds strings".to_string())
            })
            .collect(),
        other => Err(format!(
            "the subject must be a string, found {}",
            other.type_str()
        )),
    }
}

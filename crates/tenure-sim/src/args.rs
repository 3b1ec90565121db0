//! Reading one step's arguments from toml's spanned tree, so every problem names its line.
//!
//! A verb's parser asks for each key it knows; whatever it did not ask for is an unknown key
//! ([`Args::finish`]), so the keys a verb accepts are written once, in its parser.
//!
//! Two kinds of getters: strict ones (`string`, `int`, `expected_amount`…) fail the parse on a
//! bad value; deferred ones (`amount`, `span`, `instant`, `one_of`) return a [`Parsed`] that
//! holds the refusal, so a badly formed action argument fails its step with `invalid_input`
//! when it runs, where `expect_error` can check it.

use crate::scenario::ParseError;
use std::ops::Range;
use tenure_core::money::parse_decimal;
use tenure_core::span::parse_instant;
use tenure_core::{Decimal, ErrorCode, Refusal, Span, Timestamp};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value as toml read it, with its byte range.
pub(crate) type Value<'a> = Spanned<DeValue<'a>>;

/// An action argument parsed at load time whose refusal, if any, is the step's at run time.
pub(crate) type Parsed<T> = Result<T, Refusal>;

/// Byte offsets to 1-based line numbers.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    pub(crate) fn error(&self, span: &Range<usize>, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line(span.start),
            message: message.into(),
        }
    }
}

/// An expected amount, kept as written for the report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Amount {
    pub(crate) text: String,
    pub(crate) value: Decimal,
}

/// The arguments of one step.
pub(crate) struct Args<'a> {
    lines: &'a Lines,
    /// The step's number, which every problem names.
    step: usize,
    verb: &'static str,
    /// The line of the verb key, where a missing argument is reported.
    line: usize,
    table: &'a DeTable<'a>,
    /// Every key some getter asked for: the keys this verb knows.
    asked: Vec<&'static str>,
}

impl<'a> Args<'a> {
    pub(crate) fn new(
        lines: &'a Lines,
        step: usize,
        verb: &'static str,
        line: usize,
        table: &'a DeTable<'a>,
    ) -> Args<'a> {
        Args {
            lines,
            step,
            verb,
            line,
            table,
            asked: Vec::new(),
        }
    }

    /// A problem at `span`, named `step N: VERB: …`.
    fn error(&self, span: &Range<usize>, message: impl std::fmt::Display) -> ParseError {
        ParseError {
            line: self.lines.line(span.start),
            message: format!("step {}: {}: {message}", self.step, self.verb),
        }
    }

    fn take(&mut self, key: &'static str) -> Option<&'a Value<'a>> {
        if !self.asked.contains(&key) {
            self.asked.push(key);
        }
        self.table.get(key)
    }

    fn wrong_type(&self, key: &str, value: &Value<'_>, wanted: &str) -> ParseError {
        let found = value.get_ref().type_str();
        self.error(
            &value.span(),
            format!("`{key}` must be {wanted}, found {found}"),
        )
    }

    fn bad_value(&self, key: &str, value: &Value<'_>, why: impl std::fmt::Display) -> ParseError {
        self.error(&value.span(), format!("`{key}`: {why}"))
    }

    /// Makes an optional value required.
    pub(crate) fn need<T>(&self, key: &str, value: Option<T>) -> Result<T, ParseError> {
        value.ok_or_else(|| self.invalid(format!("missing `{key}`")))
    }

    /// A string.
    pub(crate) fn string(&mut self, key: &'static str) -> Result<Option<String>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(s.to_string())),
            _ => Err(self.wrong_type(key, v, "a string")),
        }
    }

    /// A problem with the step as a whole, at its verb's line.
    pub(crate) fn invalid(&self, message: impl std::fmt::Display) -> ParseError {
        ParseError {
            line: self.line,
            message: format!("step {}: {}: {message}", self.step, self.verb),
        }
    }

    /// An error code for `expect_error`, checked now.
    pub(crate) fn error_code(
        &mut self,
        key: &'static str,
    ) -> Result<Option<ErrorCode>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let code = self.string(key)?.unwrap_or_default();
        match ErrorCode::parse(&code) {
            Some(c) => Ok(Some(c)),
            None => {
                let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
                Err(self.bad_value(
                    key,
                    v,
                    format!("unknown error code {code:?} (codes: {})", codes.join(", ")),
                ))
            }
        }
    }

    /// A string that must be one of `allowed`; anything else is the step's `invalid_input`.
    pub(crate) fn one_of(
        &mut self,
        key: &'static str,
        allowed: &[&str],
    ) -> Result<Option<Parsed<String>>, ParseError> {
        Ok(self.string(key)?.map(|s| check_one_of(key, s, allowed)))
    }

    /// A string that must be one of `allowed`, checked now (for expectations).
    pub(crate) fn expected_one_of(
        &mut self,
        key: &'static str,
        allowed: &[&str],
    ) -> Result<Option<String>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let s = self.string(key)?.unwrap_or_default();
        check_one_of(key, s, allowed)
            .map(Some)
            .map_err(|r| self.bad_value(key, v, r.detail))
    }

    /// A boolean.
    pub(crate) fn bool(&mut self, key: &'static str) -> Result<Option<bool>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(Some(*b)),
            _ => Err(self.wrong_type(key, v, "true or false")),
        }
    }

    /// An integer.
    pub(crate) fn int(&mut self, key: &'static str) -> Result<Option<i64>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        self.int_of(key, v).map(Some)
    }

    fn int_of(&self, key: &str, v: &Value<'_>) -> Result<i64, ParseError> {
        match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(i.as_str(), i.radix()).map_err(|e| self.bad_value(key, v, e))
            }
            _ => Err(self.wrong_type(key, v, "an integer")),
        }
    }

    /// An integer or a string, as the file wrote it.
    pub(crate) fn int_or_string(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Result<i64, String>>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(Err(s.to_string()))),
            DeValue::Integer(_) => self.int_of(key, v).map(|n| Some(Ok(n))),
            _ => Err(self.wrong_type(key, v, "an integer or a string")),
        }
    }

    /// A count or quantity an expectation checks: an integer ≥ 0.
    pub(crate) fn expected_count(&mut self, key: &'static str) -> Result<Option<i64>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let n = self.int_of(key, v)?;
        if n < 0 {
            return Err(self.bad_value(key, v, "must not be negative"));
        }
        Ok(Some(n))
    }

    /// A list of strings.
    pub(crate) fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.wrong_type(key, v, "a list of strings"));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                _ => Err(self.wrong_type(key, item, "a list of strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of integers.
    pub(crate) fn ints(&mut self, key: &'static str) -> Result<Option<Vec<i64>>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.wrong_type(key, v, "a list of integers"));
        };
        items
            .iter()
            .map(|item| self.int_of(key, item))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An amount an action uses (`"45.00"`); its form is checked when the step runs.
    pub(crate) fn amount(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Parsed<Decimal>>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(parse_decimal(s).map_err(|r| named(key, r)))),
            _ => Err(self.wrong_type(key, v, "an amount written as a string (\"45.00\")")),
        }
    }

    /// An amount an expectation compares with, checked now.
    pub(crate) fn expected_amount(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Amount>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => match parse_decimal(s) {
                Ok(value) => Ok(Some(Amount {
                    text: s.to_string(),
                    value,
                })),
                Err(r) => Err(self.bad_value(key, v, r.detail)),
            },
            _ => Err(self.wrong_type(key, v, "an amount written as a string (\"45.00\")")),
        }
    }

    /// A span (`"90m"`, `"1 month"`); its form is checked when the step runs.
    pub(crate) fn span(&mut self, key: &'static str) -> Result<Option<Parsed<Span>>, ParseError> {
        Ok(self
            .string(key)?
            .map(|s| Span::parse(&s).map_err(|r| named(key, r))))
    }

    /// An instant (RFC 3339 with an offset, quoted or as a TOML datetime); checked when run.
    pub(crate) fn instant(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Parsed<Timestamp>>, ParseError> {
        Ok(self
            .instant_text(key)?
            .map(|s| parse_instant(&s).map_err(|r| named(key, r))))
    }

    /// An instant an expectation compares with, checked now.
    pub(crate) fn expected_instant(
        &mut self,
        key: &'static str,
    ) -> Result<Option<(String, Timestamp)>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let text = self.instant_text(key)?.unwrap_or_default();
        match parse_instant(&text) {
            Ok(t) => Ok(Some((text, t))),
            Err(r) => Err(self.bad_value(key, v, r.detail)),
        }
    }

    pub(crate) fn instant_text(&mut self, key: &'static str) -> Result<Option<String>, ParseError> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some(s.to_string())),
            DeValue::Datetime(d) => Ok(Some(d.to_string())),
            _ => Err(self.wrong_type(key, v, "an instant (\"2026-03-01T09:00:00+08:00\")")),
        }
    }

    /// Fails on the first key no getter asked for (other than the verb key itself).
    pub(crate) fn finish(&self, verb_key: &str) -> Result<(), ParseError> {
        let mut unknown: Vec<_> = self
            .table
            .iter()
            .filter(|(k, _)| k.get_ref() != verb_key && !self.asked.contains(&k.get_ref().as_ref()))
            .map(|(k, _)| k)
            .collect();
        unknown.sort_by_key(|k| k.span().start);
        let Some(key) = unknown.first() else {
            return Ok(());
        };
        let name: &str = key.get_ref();
        let mut known = self.asked.clone();
        known.sort_unstable();
        let hint = match nearest(name, &known) {
            Some(k) => format!("did you mean `{k}`?"),
            None if known.is_empty() => format!("{} takes no arguments", self.verb),
            None => format!("{} takes {}", self.verb, known.join(", ")),
        };
        Err(self.error(&key.span(), format!("unknown key `{name}` ({hint})")))
    }

    /// The step's arguments as a phrase for reports: `cash 46.00 and status active`, in file order.
    pub(crate) fn describe(&self, skip: &[&str]) -> String {
        let mut items: Vec<_> = self
            .table
            .iter()
            .filter(|(k, _)| !skip.contains(&k.get_ref().as_ref()))
            .collect();
        items.sort_by_key(|(k, _)| k.span().start);
        let parts: Vec<String> = items
            .iter()
            .map(|(k, v)| format!("{} {}", k.get_ref(), show(v.get_ref())))
            .collect();
        parts.join(" and ")
    }
}

/// A value as a report shows it: strings bare, lists bracketed.
pub(crate) fn show(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(items) => {
            let parts: Vec<String> = items.iter().map(|i| show(i.get_ref())).collect();
            format!("[{}]", parts.join(", "))
        }
        DeValue::Table(_) => "{…}".to_string(),
    }
}

fn check_one_of(key: &str, s: String, allowed: &[&str]) -> Parsed<String> {
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(Refusal::invalid(format!(
            "{key} {s:?} is not one of {}",
            allowed.join(", ")
        )))
    }
}

/// Prefixes a refusal's sentence with the argument it is about.
fn named(key: &str, r: Refusal) -> Refusal {
    Refusal::new(r.code, format!("{key}: {}", r.detail))
}

/// The candidate closest to `name` when it is a likely typo of it.
pub(crate) fn nearest<'k>(name: &str, candidates: &[&'k str]) -> Option<&'k str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c), *c))
        .min()
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .map(|(_, c)| c)
}

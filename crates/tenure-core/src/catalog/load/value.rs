//! Value parsers: each turns one TOML value into a domain value, or into the message that says
//! what is wrong with it. They know nothing of where the value is; the reader adds that.

use crate::money::{self, Currency};
use crate::span::{Span, SpanUnit};
use jiff::civil::Time;
use rust_decimal::Decimal;
use toml::de::DeValue;

fn expected(what: &str, v: &DeValue<'_>) -> String {
    format!("expected {what}, found {}", v.type_str())
}

pub(super) fn string(v: &DeValue<'_>) -> Result<String, String> {
    match v.as_str() {
        Some(s) if s.trim().is_empty() => Err("must not be empty".to_owned()),
        Some(s) => Ok(s.to_owned()),
        None => Err(expected("a string", v)),
    }
}

/// The longest id accepted.
pub(super) const ID_LEN_MAX: usize = 64;

/// An id: lower-case ASCII letters, digits, `.`, `_`, `-`; starts with a letter or digit.
pub(super) fn id(v: &DeValue<'_>) -> Result<String, String> {
    let s = v.as_str().ok_or_else(|| expected("an id string", v))?;
    let ok = s.len() <= ID_LEN_MAX
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not an id (1–{ID_LEN_MAX} of a-z 0-9 . _ -, starting with a letter or digit)"
        ))
    }
}

pub(super) fn boolean(v: &DeValue<'_>) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| expected("true or false", v))
}

fn integer(v: &DeValue<'_>) -> Result<i64, String> {
    let DeValue::Integer(i) = v else {
        return Err(expected("an integer", v));
    };
    i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| format!("{i} is out of range"))
}

/// An integer ≥ 1 (quotas, counts).
pub(super) fn positive_u64(v: &DeValue<'_>) -> Result<u64, String> {
    let n = integer(v)?;
    u64::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("must be at least 1, got {n}"))
}

/// An integer in 1..=`max`.
pub(super) fn count_u32(max: u32) -> impl Fn(&DeValue<'_>) -> Result<u32, String> {
    move |v| {
        let n = integer(v)?;
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("must be from 1 to {max}, got {n}"))
    }
}

fn any_span(v: &DeValue<'_>) -> Result<Span, String> {
    let s = v
        .as_str()
        .ok_or_else(|| expected("a span string such as \"24h\", \"15d\" or \"1 month\"", v))?;
    Span::parse(s).map_err(|r| r.detail)
}

/// A span longer than zero ("24h", "15d", "1 month").
pub(super) fn span(v: &DeValue<'_>) -> Result<Span, String> {
    let span = any_span(v)?;
    if span.count <= 0 {
        return Err(format!("must be longer than zero, got {span}"));
    }
    Ok(span)
}

/// A span of zero or more.
pub(super) fn span_or_zero(v: &DeValue<'_>) -> Result<Span, String> {
    let span = any_span(v)?;
    if span.count < 0 {
        return Err(format!("must not be negative, got {span}"));
    }
    Ok(span)
}

/// A positive span counted in calendar units of at least a day (validities, trials).
pub(super) fn calendar_span(v: &DeValue<'_>) -> Result<Span, String> {
    let span = span(v)?;
    if !span.unit.is_calendar() {
        return Err(format!(
            "must be in days, weeks, months or years, got {span}"
        ));
    }
    Ok(span)
}

/// A positive span counted in whole days (daily auto-renew attempts).
pub(super) fn day_span(v: &DeValue<'_>) -> Result<Span, String> {
    let span = span(v)?;
    if span.unit != SpanUnit::Day {
        return Err(format!("must be in days (\"9d\"), got {span}"));
    }
    Ok(span)
}

/// A term period: whole months or years ("1 month", "1 year").
pub(super) fn term_span(v: &DeValue<'_>) -> Result<Span, String> {
    let span = span(v)?;
    if span.whole_months().is_none() {
        return Err(format!("must be in months or years, got {span}"));
    }
    Ok(span)
}

fn decimal_text<'v>(v: &'v DeValue<'_>) -> Result<&'v str, String> {
    match v {
        DeValue::String(s) => Ok(s),
        DeValue::Integer(_) | DeValue::Float(_) => Err(format!(
            "write money as a string such as \"45.00\" (TOML numbers are not exact), found {}",
            v.type_str()
        )),
        _ => Err(expected("a decimal string such as \"45.00\"", v)),
    }
}

/// ACC-1: a unit price, ≥ 0 with at most six decimals.
pub(super) fn unit_price(v: &DeValue<'_>) -> Result<Decimal, String> {
    money::parse_unit_price(decimal_text(v)?).map_err(|r| r.detail)
}

/// An amount ≥ 0 in the catalog currency's minor unit. Without a valid currency only the form
/// and sign are checked (the currency is reported on its own).
pub(super) fn amount(
    currency: Option<Currency>,
) -> impl Fn(&DeValue<'_>) -> Result<Decimal, String> {
    move |v| {
        let amount = money::parse_decimal(decimal_text(v)?).map_err(|r| r.detail)?;
        if amount < Decimal::ZERO {
            return Err(format!("must not be negative, got {amount}"));
        }
        match currency {
            Some(c) => c.check_amount(amount).map_err(|r| r.detail),
            None => Ok(amount),
        }
    }
}

/// A percentage from 0 to 100, as a string ("10", "7.5").
pub(super) fn percent(v: &DeValue<'_>) -> Result<Decimal, String> {
    let p = money::parse_decimal(decimal_text(v)?).map_err(|r| r.detail)?;
    if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
        return Err(format!("must be from 0 to 100, got {p}"));
    }
    Ok(p)
}

/// A local time of day, "08:00" (a TOML local time `08:00:00` is accepted too).
pub(super) fn time_of_day(v: &DeValue<'_>) -> Result<Time, String> {
    let text = match v {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(dt) if dt.date.is_none() && dt.offset.is_none() => dt.to_string(),
        _ => return Err(expected("a time of day such as \"08:00\"", v)),
    };
    text.parse::<Time>()
        .map_err(|_| format!("{text:?} is not a time of day such as \"08:00\""))
}

/// One of a fixed set of names.
pub(super) fn choice<T: Copy>(
    names: &'static [(&'static str, T)],
) -> impl Fn(&DeValue<'_>) -> Result<T, String> {
    move |v| {
        let s = v.as_str().ok_or_else(|| expected("a string", v))?;
        names
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let all: Vec<String> = names.iter().map(|(n, _)| format!("{n:?}")).collect();
                format!("unknown value {s:?}; expected one of {}", all.join(", "))
            })
    }
}

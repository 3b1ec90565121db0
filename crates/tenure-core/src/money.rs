//! Exact money (ACC-1): amounts are `rust_decimal::Decimal`, never floats, always with the
//! account's one currency.

use crate::error::Refusal;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The largest amount a single money value may hold: 10^15 in major units. Anything larger is
/// refused at the boundary, so sums of a realistic number of them never overflow `Decimal`.
pub const AMOUNT_MAX: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Unit prices carry at most this many decimals (ACC-1: 0.00029 per e-mail).
pub const UNIT_PRICE_SCALE_MAX: u32 = 6;

/// An ISO 4217 currency this engine knows, with its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// The currencies accepted, with their minor units. A small fixed table: adding one is a line.
const CURRENCIES: &[(&str, u8)] = &[
    ("CNY", 2),
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("IDR", 2),
    ("INR", 2),
    ("BRL", 2),
    ("CHF", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("KWD", 3),
];

impl Currency {
    pub const CNY: Currency = Currency {
        code: *b"CNY",
        minor_units: 2,
    };

    pub fn parse(s: &str) -> Result<Currency, Refusal> {
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == s)
            .map(|(code, minor)| {
                let b = code.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    minor_units: *minor,
                }
            })
            .ok_or_else(|| {
                Refusal::invalid(format!(
                    "unknown currency {s:?} (ISO 4217 code such as \"CNY\")"
                ))
            })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    /// ACC-1: round half-up (away from zero at .5) to the minor unit, once, at the bill line.
    pub fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero)
    }

    /// Parses an amount the customer pays or is paid: positive, at most the currency's minor unit
    /// of decimals, at most [`AMOUNT_MAX`].
    pub fn parse_amount(&self, text: &str) -> Result<Decimal, Refusal> {
        let amount = parse_decimal(text)?;
        if amount <= Decimal::ZERO {
            return Err(Refusal::invalid(format!(
                "amount must be positive, got {text}"
            )));
        }
        self.check_amount(amount)
    }

    /// Checks a positive amount for scale and size.
    pub fn check_amount(&self, amount: Decimal) -> Result<Decimal, Refusal> {
        if amount.normalize().scale() > self.minor_units() {
            return Err(Refusal::invalid(format!(
                "amount {amount} has more decimals than {} allows ({})",
                self.code(),
                self.minor_units()
            )));
        }
        if amount > AMOUNT_MAX {
            return Err(Refusal::invalid(format!(
                "amount {amount} exceeds the maximum {AMOUNT_MAX}"
            )));
        }
        Ok(amount)
    }

    /// Formats an amount with exactly the currency's minor unit of decimals ("45.00").
    pub fn format(&self, amount: Decimal) -> String {
        let mut a = self.round(amount);
        if a.is_zero() {
            a = Decimal::ZERO;
        }
        a.rescale(self.minor_units());
        a.to_string()
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s).map_err(|r| r.detail)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Parses a decimal written as text ("45.00", "0.00029"). Refuses exponents, blanks and
/// anything `Decimal` cannot hold exactly.
pub fn parse_decimal(text: &str) -> Result<Decimal, Refusal> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')));
    if !ok {
        return Err(Refusal::invalid(format!(
            "{text:?} is not a decimal number"
        )));
    }
    t.parse::<Decimal>()
        .map_err(|_| Refusal::invalid(format!("{text:?} is not a decimal number that fits")))
}

/// Parses a unit price: ≥ 0, at most [`UNIT_PRICE_SCALE_MAX`] decimals.
pub fn parse_unit_price(text: &str) -> Result<Decimal, Refusal> {
    let p = parse_decimal(text)?;
    if p < Decimal::ZERO {
        return Err(Refusal::invalid(format!(
            "unit price must not be negative, got {text}"
        )));
    }
    if p.normalize().scale() > UNIT_PRICE_SCALE_MAX {
        return Err(Refusal::invalid(format!(
            "unit price {text} has more than {UNIT_PRICE_SCALE_MAX} decimals"
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn acc_1_rounds_half_up_once_at_the_line() {
        let cny = Currency::CNY;
        assert_eq!(cny.round(d("0.045")), d("0.05"));
        assert_eq!(cny.round(d("0.044999")), d("0.04"));
        assert_eq!(cny.round(d("9.005")), d("9.01"));
        assert_eq!(cny.round(d("200") * d("0.045")), d("9.00"));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.round(d("12.5")), d("13"));
    }

    #[test]
    fn acc_1_amounts_refuse_floats_negatives_and_excess_decimals() {
        let cny = Currency::CNY;
        assert_eq!(cny.parse_amount("45.00").unwrap(), d("45"));
        assert!(cny.parse_amount("-1").is_err());
        assert!(cny.parse_amount("0").is_err());
        assert!(cny.parse_amount("1.001").is_err());
        assert!(cny.parse_amount("1e3").is_err());
        assert!(cny.parse_amount("").is_err());
        assert!(cny.parse_amount("1000000000000000.01").is_err());
        assert!(
            cny.parse_amount("99999999999999999999999999999999999")
                .is_err()
        );
        assert_eq!(AMOUNT_MAX, d("1000000000000000"));
        assert_eq!(cny.format(d("3")), "3.00");
        assert_eq!(cny.format(-Decimal::ZERO), "0.00");
        assert_eq!(parse_unit_price("0.00029").unwrap(), d("0.00029"));
        assert!(parse_unit_price("0.0000001").is_err());
    }

    #[test]
    fn unknown_currency_is_invalid_input() {
        let e = Currency::parse("XXX").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidInput);
    }
}

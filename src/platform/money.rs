//! Exact decimal money. Platforms send amounts as decimal strings ("12.50", "1000"), and a seller's
//! payout must never pass through a float, so sums are done on scaled integers.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Most decimals an amount may have (money never needs more).
const MAX_SCALE: u32 = 9;
/// Most integer digits an amount may have.
const MAX_INT_DIGITS: usize = 21;

/// An exact decimal: `units / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Zero with no decimals.
    pub const ZERO: Decimal = Decimal { units: 0, scale: 0 };

    /// `units / 10^scale`, e.g. `from_minor(1250, 2)` is 12.50.
    pub fn from_minor(units: i64, scale: u32) -> Self {
        Decimal { units: units.into(), scale }
    }

    fn rescaled(self, scale: u32) -> i128 {
        self.units * 10i128.pow(scale - self.scale)
    }

    /// Exact sum; the result keeps the larger scale.
    pub fn plus(self, other: Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        Decimal { units: self.rescaled(scale) + other.rescaled(scale), scale }
    }

    /// True when the value is zero.
    pub fn is_zero(self) -> bool {
        self.units == 0
    }

    /// True when the value is below zero.
    pub fn is_negative(self) -> bool {
        self.units < 0
    }
}

impl FromStr for Decimal {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a decimal amount: {s:?}");
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        // Bounded so that sums can never overflow: at most 9 decimals and 21 integer digits keep
        // every value under 10^30 at scale 9, and i128 holds 10^8 such values added together.
        let int = int.trim_start_matches('0');
        if int.is_empty() && frac.is_empty() && !digits.starts_with('0')
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
            || frac.len() > MAX_SCALE as usize
            || int.len() > MAX_INT_DIGITS
        {
            return Err(bad());
        }
        let joined = format!("{int}{frac}");
        let units: i128 = if joined.is_empty() { 0 } else { joined.parse().map_err(|_| bad())? };
        let scale = u32::try_from(frac.len()).map_err(|_| bad())?;
        Ok(Decimal { units: if neg { -units } else { units }, scale })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let abs = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let div = 10u128.pow(self.scale);
        write!(f, "{sign}{}.{:0width$}", abs / div, abs % div, width = self.scale as usize)
    }
}

/// An amount with its currency, serialised as `{"amount": "12.50", "currency": "USD"}` (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// The exact amount.
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// A money value from its parts.
    pub fn new(amount: Decimal, currency: impl Into<String>) -> Self {
        Money { amount, currency: currency.into() }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("amount", &self.amount.to_string())?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

/// Money is never a float in JSON: the amount is a decimal string (SPEC §5).
impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An amount with its currency; the amount is an exact decimal string, never a float.",
            "type": "object",
            "properties": {
                "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "examples": ["12.50"]},
                "currency": {"type": "string", "description": "ISO 4217 code.", "examples": ["USD"]},
            },
            "required": ["amount", "currency"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for s in ["12.50", "0.01", "1000", "-3.07", "0.000001"] {
            assert_eq!(s.parse::<Decimal>().unwrap().to_string(), s);
        }
        assert_eq!(".5".parse::<Decimal>().unwrap().to_string(), "0.5");
        assert!("1e3".parse::<Decimal>().is_err());
        assert!("".parse::<Decimal>().is_err());
        assert!("1.2.3".parse::<Decimal>().is_err());
        assert_eq!("0".parse::<Decimal>().unwrap().to_string(), "0");
        assert_eq!("007.50".parse::<Decimal>().unwrap().to_string(), "7.50");
    }

    #[test]
    fn amounts_that_could_overflow_a_sum_are_refused() {
        assert!("99999999999999999999999999999999999".parse::<Decimal>().is_err());
        assert!("0.0000000001".parse::<Decimal>().is_err());
        let big: Decimal = "999999999999999999999.999999999".parse().unwrap();
        let total = (0..1000).fold(Decimal::ZERO, |sum, _| sum.plus(big));
        assert!(total.to_string().starts_with("999999999999999999999999"));
    }

    #[test]
    fn adds_across_scales_without_floats() {
        let a: Decimal = "0.1".parse().unwrap();
        let b: Decimal = "0.20".parse().unwrap();
        assert_eq!(a.plus(b).to_string(), "0.30");
        assert_eq!(Decimal::from_minor(-250, 2).to_string(), "-2.50");
    }
}

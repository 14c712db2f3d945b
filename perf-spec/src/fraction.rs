//! Fractions written as `0.01` or `"1%"`.

use std::fmt;

/// Why a fraction was rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum FractionError {
    /// Not a number, or a percentage that is not a number.
    NotANumber(String),
    /// Outside `[0, 1]` (or `[0%, 100%]`).
    OutOfRange(f64),
}

impl fmt::Display for FractionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FractionError::NotANumber(s) => {
                write!(f, "`{s}` is not a fraction; write e.g. 0.01 or \"1%\"")
            }
            FractionError::OutOfRange(v) => {
                write!(
                    f,
                    "{v} is outside [0, 1]; a rate is a fraction (0.01) or a percentage (\"1%\")"
                )
            }
        }
    }
}

impl std::error::Error for FractionError {}

/// Parses `"0.01"` or `"1%"` into a fraction in `[0, 1]`.
pub fn parse_fraction(text: &str) -> Result<f64, FractionError> {
    let s = text.trim();
    let value = match s.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|v| v / 100.0),
        None => s.parse::<f64>(),
    }
    .map_err(|_| FractionError::NotANumber(s.to_owned()))?;
    check_fraction(value)
}

/// Checks that `value` lies in `[0, 1]`.
pub fn check_fraction(value: f64) -> Result<f64, FractionError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(FractionError::OutOfRange(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fractions_and_percentages() {
        assert_eq!(parse_fraction("0.01"), Ok(0.01));
        assert_eq!(parse_fraction("1%"), Ok(0.01));
        assert_eq!(parse_fraction(" 2.5 % "), Ok(0.025));
        assert_eq!(parse_fraction("0"), Ok(0.0));
        assert_eq!(parse_fraction("100%"), Ok(1.0));
        assert_eq!(parse_fraction("150%"), Err(FractionError::OutOfRange(1.5)));
        assert_eq!(parse_fraction("-0.1"), Err(FractionError::OutOfRange(-0.1)));
        assert!(matches!(
            parse_fraction("lots"),
            Err(FractionError::NotANumber(_))
        ));
        assert!(matches!(
            parse_fraction("NaN"),
            Err(FractionError::OutOfRange(_))
        ));
    }
}

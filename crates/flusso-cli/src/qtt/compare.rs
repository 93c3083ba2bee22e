//! Comparing produced records with expected ones, following ksqlDB's `ExpectedRecordComparator`:
//! objects match with the same number of fields (names exact, then upper-case), DECIMALs must be
//! equal including scale, other numbers within 1e-6, strings exactly.

use flusso_engine::SqlType;
use serde_json::Value as Json;

/// Unscaled value and scale of a decimal text.
fn big_decimal(text: &str) -> Option<(i128, i32)> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let unscaled: i128 = digits.parse().ok()?;
    Some((unscaled, frac.len() as i32 - exp))
}

fn numbers_equal(expected: &str, actual: &str, exact_scale: bool) -> bool {
    if exact_scale {
        return big_decimal(expected) == big_decimal(actual);
    }
    let is_int = |s: &str| !s.contains(['.', 'e', 'E']);
    if is_int(expected) && is_int(actual) {
        return expected.parse::<i128>().ok() == actual.parse::<i128>().ok();
    }
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-6 || a == b,
        _ => false,
    }
}

/// Whether `actual` matches `expected`; `t` is the SQL type of the value when known.
pub fn matches(expected: &Json, actual: &Json, t: Option<&SqlType>) -> bool {
    match (expected, actual) {
        (Json::Null, Json::Null) => true,
        (Json::Null, _) | (_, Json::Null) => false,
        (Json::Bool(a), Json::Bool(b)) => a == b,
        (Json::Number(a), Json::Number(b)) => numbers_equal(
            &a.to_string(),
            &b.to_string(),
            matches!(t, Some(SqlType::Decimal(..))),
        ),
        (Json::String(a), Json::String(b)) => a == b,
        // A DECIMAL column's value written as text is read at the column's scale.
        (Json::String(a), Json::Number(b)) if matches!(t, Some(SqlType::Decimal(..))) => {
            let stripped = |d: Option<(i128, i32)>| {
                d.map(|(mut u, mut s)| {
                    while u != 0 && u % 10 == 0 {
                        u /= 10;
                        s -= 1;
                    }
                    (u, if u == 0 { 0 } else { s })
                })
            };
            let expected = stripped(big_decimal(a));
            expected.is_some() && expected == stripped(big_decimal(&b.to_string()))
        }
        (Json::String(a), Json::Number(b)) => {
            big_decimal(a).is_some() && big_decimal(a) == big_decimal(&b.to_string())
        }
        (Json::Array(a), Json::Array(b)) => {
            let inner = match t {
                Some(SqlType::Array(e)) => Some(e.as_ref()),
                _ => None,
            };
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| matches(x, y, inner))
        }
        (Json::Object(a), Json::Object(b)) => {
            if a.len() != b.len() {
                return false;
            }
            a.iter().all(|(k, v)| {
                let found = b.get(k).or_else(|| b.get(&k.to_uppercase()));
                let ft = match t {
                    Some(SqlType::Struct(fields)) => fields
                        .iter()
                        .find(|(n, _)| n == k || *n == k.to_uppercase())
                        .map(|(_, t)| t),
                    Some(SqlType::Map(_, v)) => Some(v.as_ref()),
                    _ => None,
                };
                found.is_some_and(|f| matches(v, f, ft))
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_scale_matters() {
        let e: Json = serde_json::from_str("12.30").unwrap();
        let a: Json = serde_json::from_str("12.3").unwrap();
        assert!(!matches(&e, &a, Some(&SqlType::Decimal(4, 2))));
        assert!(matches(&e, &a, Some(&SqlType::Double)));
        let o1: Json = serde_json::from_str(r#"{"count": 1}"#).unwrap();
        let o2: Json = serde_json::from_str(r#"{"COUNT": 1}"#).unwrap();
        assert!(matches(&o1, &o2, None));
    }
}

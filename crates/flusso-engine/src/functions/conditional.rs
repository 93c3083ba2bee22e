//! GREATEST, LEAST, IFNULL, COALESCE, NULLIF.

use std::cmp::Ordering;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{cast, Expr};

use super::udf::{normal, type_name, Call, Kind};

pub(crate) const NAMES: &[&str] = &["COALESCE", "GREATEST", "IFNULL", "LEAST", "NULLIF"];

/// Widens decimal types the way ksqlDB's `DecimalUtil.widen` does.
fn widen_decimals(types: &[&DataType]) -> DataType {
    let (mut int_digits, mut scale) = (0i16, 0i16);
    for t in types {
        if let DataType::Decimal128(p, s) = t {
            int_digits = int_digits.max(*p as i16 - *s as i16);
            scale = scale.max(*s as i16);
        }
    }
    DataType::Decimal128((int_digits + scale).clamp(1, 38) as u8, scale as i8)
}

/// The type all arguments are cast to, when ksqlDB accepts the mix (no implicit widening
/// between numeric kinds except among decimals; string literals convert to temporal types).
fn common_type(c: &Call) -> Result<DataType, String> {
    let typed: Vec<&DataType> = c.types.iter().filter(|t| **t != DataType::Null).collect();
    let Some(first) = typed.first() else {
        return Err(ambiguous(c));
    };
    let kinds = [
        Kind::Int,
        Kind::Bigint,
        Kind::Double,
        Kind::Decimal,
        Kind::Str,
        Kind::Bytes,
        Kind::Bool,
        Kind::Date,
        Kind::Time,
        Kind::Timestamp,
    ];
    let kind_of = |t: &DataType| kinds.iter().copied().find(|k| k.matches(t));
    let temporal = typed
        .iter()
        .filter_map(|t| kind_of(t))
        .find(|k| matches!(k, Kind::Date | Kind::Time | Kind::Timestamp));
    let target = temporal.or_else(|| kind_of(first));
    let mut mixed_numeric = false;
    for t in &typed {
        let k = kind_of(t);
        if k == target || (temporal.is_some() && k == Some(Kind::Str)) {
            continue;
        }
        if k.is_some_and(|k| Kind::Numeric.matches(t) && k != Kind::Bool)
            && target.is_some_and(|k| {
                matches!(k, Kind::Int | Kind::Bigint | Kind::Double | Kind::Decimal)
            })
        {
            mixed_numeric = true;
            continue;
        }
        return c.bad();
    }
    if mixed_numeric {
        return Err(ambiguous(c));
    }
    Ok(match target {
        Some(Kind::Decimal) => widen_decimals(&typed),
        Some(_) => {
            let t = typed
                .iter()
                .find(|t| kind_of(t) == target)
                .copied()
                .unwrap_or(first);
            normal(t)
        }
        None => normal(first),
    })
}

fn ambiguous(c: &Call) -> String {
    let list = c.types.iter().map(type_name).collect::<Vec<_>>();
    format!(
        "Function '{}' cannot be resolved due to ambiguous method parameters ({}).",
        c.name.to_lowercase(),
        list.join(", ")
    )
}

/// The arguments cast to `t` where needed.
fn cast_all(c: &Call, t: &DataType) -> Call {
    Call {
        name: c.name.clone(),
        args: c
            .args
            .iter()
            .zip(&c.types)
            .map(|(a, at)| {
                if at == t {
                    a.clone()
                } else {
                    cast(a.clone(), t.clone())
                }
            })
            .collect(),
        types: vec![t.clone(); c.len()],
    }
}

/// Same type for all arguments: the first typed one (nested types must match).
fn same_type(c: &Call) -> Result<DataType, String> {
    let nested = c
        .types
        .iter()
        .any(|t| Kind::Array.matches(t) || Kind::Map.matches(t) || Kind::Struct.matches(t));
    if nested {
        let typed: Vec<&DataType> = c.types.iter().filter(|t| **t != DataType::Null).collect();
        match typed.first() {
            Some(t) if typed.iter().all(|u| u == t) => Ok((*t).clone()),
            _ => c.bad(),
        }
    } else if c.types.iter().all(|t| *t == DataType::Null) {
        Ok(DataType::Null)
    } else {
        common_type(c).or_else(|e| {
            if e.contains("ambiguous") {
                c.bad()
            } else {
                Err(e)
            }
        })
    }
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    Some(match name {
        "GREATEST" | "LEAST" => {
            if c.len() == 0 {
                return Some(c.bad());
            }
            let t = match common_type(c) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            let want = if name == "GREATEST" {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            cast_all(c, &t).lenient(t, move |a| {
                let mut best: Option<&ScalarValue> = None;
                for v in a.iter().filter(|v| !v.is_null()) {
                    best = match best {
                        Some(cur) if v.partial_cmp(cur) != Some(want) => Some(cur),
                        _ => Some(v),
                    };
                }
                Ok(best.cloned().unwrap_or(ScalarValue::Null))
            })
        }
        "IFNULL" | "COALESCE" => {
            if c.len() == 0 || (name == "IFNULL" && c.len() != 2) {
                return Some(c.bad());
            }
            let t = match same_type(c) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            cast_all(c, &t).lenient(t, |a| {
                Ok(a.iter()
                    .find(|v| !v.is_null())
                    .cloned()
                    .unwrap_or(ScalarValue::Null))
            })
        }
        "NULLIF" if c.len() == 2 => {
            let t = match same_type(c) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            cast_all(c, &t).lenient(t, |a| {
                Ok(if !a[1].is_null() && a[0] == a[1] {
                    ScalarValue::Null
                } else {
                    a[0].clone()
                })
            })
        }
        "NULLIF" => c.bad(),
        _ => return None,
    })
}

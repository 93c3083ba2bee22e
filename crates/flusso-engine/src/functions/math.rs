//! Math functions: ABS, ROUND, TRUNC, trigonometry, GEO_DISTANCE, ...

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{cast, Expr, Volatility};

use super::udf::{f, i, row_expr, s, Call, Kind};

pub(crate) const NAMES: &[&str] = &[
    "ABS",
    "ACOS",
    "ASIN",
    "ATAN",
    "ATAN2",
    "CBRT",
    "CEIL",
    "COS",
    "COSH",
    "COT",
    "DEGREES",
    "EXP",
    "FLOOR",
    "GEO_DISTANCE",
    "LN",
    "LOG",
    "PI",
    "POWER",
    "RADIANS",
    "RANDOM",
    "ROUND",
    "SIGN",
    "SIN",
    "SINH",
    "SQRT",
    "TAN",
    "TANH",
    "TRUNC",
];

/// BigDecimal rounding modes used by ksqlDB's math functions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// ROUND: half up for positive values, half down otherwise (`Math.round`).
    Round,
    Down,
    Ceiling,
    Floor,
}

/// `unscaled × 10^-scale` set to `places` decimal places, as an unscaled value at `places`.
fn set_scale(unscaled: i128, scale: i32, places: i32, mode: Mode) -> Option<i128> {
    if places >= scale {
        let mul = 10i128.checked_pow((places - scale) as u32)?;
        return unscaled.checked_mul(mul);
    }
    let drop = (scale - places) as u32;
    let div = match 10i128.checked_pow(drop) {
        Some(d) => d,
        None => return Some(0),
    };
    let q = unscaled / div;
    let r = unscaled % div;
    if r == 0 {
        return Some(q);
    }
    let twice = r.unsigned_abs() * 2;
    let half_cmp = twice.cmp(&div.unsigned_abs());
    let positive = unscaled > 0;
    let away = match mode {
        Mode::Down => false,
        Mode::Ceiling => positive,
        Mode::Floor => !positive,
        Mode::Round => match half_cmp {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => positive,
        },
    };
    Some(if away { q + r.signum() } else { q })
}

/// A decimal set to `places` and back to its own scale (type unchanged).
fn decimal_at(unscaled: i128, scale: i8, places: i64, mode: Mode) -> Option<i128> {
    let places = places.clamp(-60, 60) as i32;
    let v = set_scale(unscaled, scale as i32, places, mode)?;
    set_scale(v, places, scale as i32, Mode::Down)
}

/// A double rounded to `places` through its shortest decimal text (`BigDecimal.valueOf`).
fn double_at(x: f64, places: i64, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let text = format!("{x:e}");
    let Some((mantissa, exp)) = text.split_once('e') else {
        return x;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return x;
    };
    let frac_len = mantissa.split_once('.').map_or(0, |(_, fr)| fr.len()) as i32;
    let Ok(unscaled) = mantissa.replace('.', "").parse::<i128>() else {
        return x;
    };
    let scale = frac_len - exp;
    let places = places.clamp(-400, 400) as i32;
    if places >= scale {
        return x;
    }
    match set_scale(unscaled, scale, places, mode) {
        Some(v) => format!("{v}e{}", -places).parse().unwrap_or(x),
        None => x,
    }
}

fn dbl(x: f64) -> ScalarValue {
    ScalarValue::Float64(Some(x))
}

/// ABS/CEIL/FLOOR/ROUND/TRUNC.
fn rounding(name: &str, c: &Call) -> Result<Expr, String> {
    use Kind::*;
    let t = c.types[0].clone();
    let mode = match name {
        "CEIL" => Mode::Ceiling,
        "FLOOR" => Mode::Floor,
        "TRUNC" => Mode::Down,
        _ => Mode::Round,
    };
    let abs = name == "ABS";
    let with_places = c.len() == 2;
    if with_places && !(matches!(name, "ROUND" | "TRUNC") && c.is(1, Int)) {
        return c.bad();
    }
    if let DataType::Decimal128(p, sc) = t {
        let ret = if !with_places && matches!(name, "ROUND" | "TRUNC") {
            DataType::Decimal128((p as i16 - sc as i16).clamp(1, 38) as u8, 0)
        } else {
            t.clone()
        };
        let keep_scale = with_places || !matches!(name, "ROUND" | "TRUNC");
        return c.strict(ret.clone(), move |a| {
            let ScalarValue::Decimal128(Some(u), _, _) = a[0] else {
                return Ok(ScalarValue::Null);
            };
            let v = if abs {
                u.checked_abs()
            } else if keep_scale {
                decimal_at(u, sc, a.get(1).and_then(i).unwrap_or(0), mode)
            } else {
                set_scale(u, sc as i32, 0, mode)
            };
            let DataType::Decimal128(rp, rs) = ret else {
                return Ok(ScalarValue::Null);
            };
            Ok(ScalarValue::Decimal128(v, rp, rs))
        });
    }
    if c.is(0, Integral) && !with_places {
        // ROUND and TRUNC of an INT or BIGINT give a BIGINT (ksqlDB's `Long round(int)`).
        let ret = if matches!(name, "ROUND" | "TRUNC") {
            DataType::Int64
        } else {
            super::udf::normal(&t)
        };
        let ret = if t == DataType::Null {
            DataType::Int32
        } else {
            ret
        };
        return c.strict(ret.clone(), move |a| {
            let v = i(&a[0]).ok_or("null")?;
            let v = if abs {
                v.checked_abs().ok_or("overflow")?
            } else {
                v
            };
            Ok(if ret == DataType::Int64 {
                ScalarValue::Int64(Some(v))
            } else {
                ScalarValue::Int32(Some(v as i32))
            })
        });
    }
    if !c.is(0, Numeric) {
        return c.bad();
    }
    let arg = cast(c.args[0].clone(), DataType::Float64);
    let mut args = vec![arg];
    args.extend(c.args.get(1).cloned());
    let to_bigint = !with_places && matches!(name, "ROUND" | "TRUNC");
    let ret = if to_bigint {
        DataType::Int64
    } else {
        DataType::Float64
    };
    Ok(row_expr(
        name,
        args,
        ret,
        true,
        Volatility::Immutable,
        move |a| {
            let x = f(&a[0]).ok_or("null")?;
            Ok(match (u8::from(!abs), a.get(1).and_then(i)) {
                (_, Some(places)) => dbl(double_at(x, places, mode)),
                (0, None) => dbl(x.abs()),
                (_, None) if to_bigint && mode == Mode::Round => {
                    ScalarValue::Int64(Some((x + 0.5).floor() as i64))
                }
                (_, None) if to_bigint => ScalarValue::Int64(Some(x.trunc() as i64)),
                (_, None) if mode == Mode::Ceiling => dbl(x.ceil()),
                _ => dbl(x.floor()),
            })
        },
    ))
}

/// Functions of doubles returning DOUBLE (integers and decimals are widened).
fn unary(c: &Call, op: fn(f64) -> f64) -> Result<Expr, String> {
    if !(c.len() == 1 && c.is(0, Kind::Numeric)) {
        return c.bad();
    }
    let args = vec![cast(c.args[0].clone(), DataType::Float64)];
    Ok(row_expr(
        &c.name,
        args,
        DataType::Float64,
        true,
        Volatility::Immutable,
        move |a| Ok(dbl(op(f(&a[0]).ok_or("null")?))),
    ))
}

fn binary(c: &Call, op: fn(f64, f64) -> f64) -> Result<Expr, String> {
    if !(c.len() == 2 && c.is(0, Kind::Numeric) && c.is(1, Kind::Numeric)) {
        return c.bad();
    }
    let args = c
        .args
        .iter()
        .map(|a| cast(a.clone(), DataType::Float64))
        .collect();
    Ok(row_expr(
        &c.name,
        args,
        DataType::Float64,
        true,
        Volatility::Immutable,
        move |a| Ok(dbl(op(f(&a[0]).ok_or("null")?, f(&a[1]).ok_or("null")?))),
    ))
}

fn geo_distance(c: &Call) -> Result<Expr, String> {
    let n = c.len();
    if !((n == 4 || n == 5)
        && (0..4).all(|k| c.is(k, Kind::Numeric))
        && (n == 4 || c.is(4, Kind::Str)))
    {
        return Err(format!(
            "Function 'geo_distance' does not accept parameters ({}).",
            c.types
                .iter()
                .map(super::udf::type_name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut args: Vec<Expr> = c.args[..4]
        .iter()
        .map(|a| cast(a.clone(), DataType::Float64))
        .collect();
    args.extend(c.args.get(4).cloned());
    Ok(row_expr(
        &c.name,
        args,
        DataType::Float64,
        false,
        Volatility::Immutable,
        |a| {
            let v: Vec<f64> = a[..4]
                .iter()
                .map(|x| f(x).ok_or("null"))
                .collect::<Result<_, _>>()?;
            let (lat1, lon1, lat2, lon2) = (v[0], v[1], v[2], v[3]);
            if [lat1, lat2].iter().any(|l| !(-90.0..=90.0).contains(l))
                || [lon1, lon2].iter().any(|l| !(-180.0..=180.0).contains(l))
            {
                return Err("invalid coordinates".into());
            }
            let radius = match a.get(4).and_then(s).map(|u| u.trim().to_lowercase()) {
                None => 6371.0,
                Some(u) if u.is_empty() => 6371.0,
                Some(u) if ["mi", "mile", "miles"].contains(&u.as_str()) => 3959.0,
                Some(u)
                    if ["km", "kilometer", "kilometers", "kilometre", "kilometres"]
                        .contains(&u.as_str()) =>
                {
                    6371.0
                }
                Some(_) => return Err("bad units".into()),
            };
            let hav = |x: f64| (x / 2.0).sin().powi(2);
            let a2 = hav((lat2 - lat1).to_radians())
                + hav((lon2 - lon1).to_radians())
                    * lat1.to_radians().cos()
                    * lat2.to_radians().cos();
            Ok(dbl(2.0 * a2.sqrt().asin() * radius))
        },
    ))
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    let n = c.len();
    Some(match name {
        "ABS" | "CEIL" | "FLOOR" | "ROUND" | "TRUNC" if n == 1 || n == 2 => rounding(name, c),
        "SIGN" if n == 1 && c.is(0, Kind::Numeric) => {
            let args = vec![cast(c.args[0].clone(), DataType::Float64)];
            Ok(row_expr(
                name,
                args,
                DataType::Int32,
                true,
                Volatility::Immutable,
                |a| {
                    let x = f(&a[0]).ok_or("null")?;
                    Ok(ScalarValue::Int32(Some(if x > 0.0 {
                        1
                    } else if x < 0.0 {
                        -1
                    } else {
                        0
                    })))
                },
            ))
        }
        "SQRT" => unary(c, f64::sqrt),
        "CBRT" => unary(c, f64::cbrt),
        "EXP" => unary(c, f64::exp),
        "LN" => unary(c, f64::ln),
        "LOG" if n == 1 => unary(c, f64::ln),
        "LOG" => binary(c, |base, v| {
            if base <= 0.0 || base == 1.0 {
                f64::NAN
            } else {
                v.ln() / base.ln()
            }
        }),
        "POWER" => binary(c, f64::powf),
        "DEGREES" => unary(c, f64::to_degrees),
        "RADIANS" => unary(c, f64::to_radians),
        "ACOS" => unary(c, f64::acos),
        "ASIN" => unary(c, f64::asin),
        "ATAN" => unary(c, f64::atan),
        "ATAN2" => binary(c, f64::atan2),
        "COS" => unary(c, f64::cos),
        "COSH" => unary(c, f64::cosh),
        "COT" => unary(c, |x| 1.0 / x.tan()),
        "SIN" => unary(c, f64::sin),
        "SINH" => unary(c, f64::sinh),
        "TAN" => unary(c, f64::tan),
        "TANH" => unary(c, f64::tanh),
        "PI" if n == 0 => Ok(Expr::Literal(
            ScalarValue::Float64(Some(std::f64::consts::PI)),
            None,
        )),
        "RANDOM" if n == 0 => Ok(datafusion::functions::expr_fn::random()),
        "GEO_DISTANCE" => geo_distance(c),
        _ if NAMES.contains(&name) => c.bad(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_values() {
        // math.json "round"
        assert_eq!(double_at(1.7, 0, Mode::Round), 2.0);
        assert_eq!(double_at(1.25, 1, Mode::Round), 1.3);
        assert_eq!(double_at(-1.25, 1, Mode::Round), -1.2);
        assert_eq!(double_at(1.7, -1, Mode::Round), 0.0);
        assert_eq!(double_at(1.2, 10, Mode::Round), 1.2);
        // "round with large DECIMAL values - DELIMITED"
        let u: i128 = 123456789876543212345678987654321;
        assert_eq!(
            decimal_at(u, 16, 2, Mode::Round),
            Some(123456789876543212300000000000000)
        );
        assert_eq!(
            decimal_at(u, 16, -1, Mode::Round),
            Some(123456789876543200000000000000000)
        );
        assert_eq!(set_scale(u, 16, 0, Mode::Round), Some(12345678987654321));
        assert_eq!(set_scale(-15, 1, 0, Mode::Round), Some(-1));
        assert_eq!(set_scale(-32, 1, 0, Mode::Ceiling), Some(-3));
    }
}

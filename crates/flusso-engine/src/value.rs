//! Single values as DataFusion [`ScalarValue`]s of a known [`SqlType`]: built from JSON the way
//! ksqlDB's JSON deserializer coerces, written back as JSON, and turned into Arrow columns.

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, ArrayRef, MapArray, StructArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use crate::types::SqlType;

/// A typed SQL NULL.
pub fn null_of(t: &SqlType) -> ScalarValue {
    ScalarValue::try_from(&t.to_arrow()).unwrap_or(ScalarValue::Null)
}

/// An Arrow column from values that all have type `t` (typed nulls included).
pub fn to_array(t: &SqlType, values: Vec<ScalarValue>) -> Result<ArrayRef, String> {
    if values.is_empty() {
        return Ok(datafusion::arrow::array::new_empty_array(&t.to_arrow()));
    }
    ScalarValue::iter_to_array(values).map_err(|e| e.to_string())
}

/// An ARRAY value.
pub fn list_value(element: &SqlType, items: Vec<ScalarValue>) -> Result<ScalarValue, String> {
    let values = to_array(element, items)?;
    Ok(ScalarValue::List(Arc::new(
        SingleRowListArrayBuilder::new(values).build_list_array(),
    )))
}

/// A STRUCT value.
pub fn struct_value(
    fields: &[(String, SqlType)],
    values: Vec<ScalarValue>,
) -> Result<ScalarValue, String> {
    let mut arrays = Vec::with_capacity(values.len());
    for ((_, t), v) in fields.iter().zip(values) {
        arrays.push(to_array(t, vec![v])?);
    }
    let DataType::Struct(arrow_fields) = SqlType::Struct(fields.to_vec()).to_arrow() else {
        return Err("not a struct".into());
    };
    let array = StructArray::try_new(arrow_fields, arrays, None).map_err(|e| e.to_string())?;
    Ok(ScalarValue::Struct(Arc::new(array)))
}

/// A MAP value.
pub fn map_value(
    key: &SqlType,
    value: &SqlType,
    entries: Vec<(ScalarValue, ScalarValue)>,
) -> Result<ScalarValue, String> {
    let n = entries.len();
    let (ks, vs): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    let keys = to_array(key, ks)?;
    let values = to_array(value, vs)?;
    let DataType::Map(entries_field, _) =
        SqlType::Map(Box::new(key.clone()), Box::new(value.clone())).to_arrow()
    else {
        return Err("not a map".into());
    };
    let DataType::Struct(kv_fields) = entries_field.data_type().clone() else {
        return Err("not a map".into());
    };
    let entries =
        StructArray::try_new(kv_fields, vec![keys, values], None).map_err(|e| e.to_string())?;
    let map = MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths([n]),
        entries,
        None::<NullBuffer>,
        false,
    )
    .map_err(|e| e.to_string())?;
    Ok(ScalarValue::Map(Arc::new(map)))
}

/// The elements of an ARRAY value (`None` for NULL).
pub fn list_items(v: &ScalarValue) -> Option<Vec<ScalarValue>> {
    let arr: ArrayRef = match v {
        ScalarValue::List(a) if !a.is_null(0) => a.value(0),
        ScalarValue::LargeList(a) if !a.is_null(0) => a.value(0),
        ScalarValue::FixedSizeList(a) if !a.is_null(0) => a.value(0),
        _ => return None,
    };
    (0..arr.len())
        .map(|i| ScalarValue::try_from_array(&arr, i).ok())
        .collect()
}

/// The fields of a STRUCT value, by name (`None` for NULL).
pub fn struct_fields(v: &ScalarValue) -> Option<Vec<(String, ScalarValue)>> {
    let ScalarValue::Struct(a) = v else {
        return None;
    };
    if a.is_null(0) {
        return None;
    }
    a.fields()
        .iter()
        .zip(a.columns())
        .map(|(f, c)| Some((f.name().clone(), ScalarValue::try_from_array(c, 0).ok()?)))
        .collect()
}

/// The entries of a MAP value (`None` for NULL).
pub fn map_entries(v: &ScalarValue) -> Option<Vec<(ScalarValue, ScalarValue)>> {
    let ScalarValue::Map(a) = v else {
        return None;
    };
    if a.is_null(0) {
        return None;
    }
    let entries = a.value(0);
    let keys = entries.column(0);
    let values = entries.column(1);
    (0..entries.len())
        .map(|i| {
            Some((
                ScalarValue::try_from_array(keys, i).ok()?,
                ScalarValue::try_from_array(values, i).ok()?,
            ))
        })
        .collect()
}

/// Decimal text (`"12.30"`, `"-1e2"`) as an unscaled value at `scale`, rounding half up as
/// ksqlDB does when a value has more digits than the column. `None` when it overflows `precision`.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let text = text.trim();
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac_part) = match digits.find('.') {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let all: String = format!("{int_part}{frac_part}");
    // value = all * 10^(exp - frac_len); we want value * 10^scale
    let shift = exp - frac_part.len() as i32 + scale as i32;
    let mut unscaled: i128 = 0;
    for c in all.chars() {
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add((c as u8 - b'0') as i128)?;
    }
    if shift >= 0 {
        for _ in 0..shift {
            unscaled = unscaled.checked_mul(10)?;
        }
    } else {
        let mut dropped_half = false;
        for i in 0..(-shift) {
            let digit = unscaled % 10;
            unscaled /= 10;
            if i == -shift - 1 {
                dropped_half = digit >= 5;
            }
        }
        if dropped_half {
            unscaled += 1;
        }
    }
    if unscaled >= 10i128.checked_pow(precision as u32)? {
        return None;
    }
    Some(if neg { -unscaled } else { unscaled })
}

/// An unscaled decimal as text with exactly `scale` digits after the point (Java's
/// `BigDecimal.toPlainString`).
pub fn decimal_to_string(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = unscaled.to_string();
        for _ in 0..(-scale) {
            s.push('0');
        }
        return s;
    }
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{i}.{f}", if neg { "-" } else { "" })
}

/// A DECIMAL as ksqlDB's JSON serializer writes it: trailing zeros dropped, at least one digit
/// after the point when the scale is positive (`10.0000` is `10.0`).
pub fn json_decimal(unscaled: i128, scale: i8) -> String {
    let text = decimal_to_string(unscaled, scale);
    if scale <= 0 || !text.contains('.') {
        return text;
    }
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

/// Java's `Double.toString`: shortest digits that round-trip, plain notation for magnitudes in
/// [1e-3, 1e7), otherwise `d.dddE±n`.
pub fn java_double_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        if mantissa.contains('.') {
            return format!("{mantissa}E{exp}");
        }
        // Java always prints two significant digits and picks the pair nearest the exact value
        // that still reads back as `x` (so Double.MIN_VALUE is 4.9E-324, not 5.0E-324).
        let two = format!("{x:.1e}");
        if two.parse::<f64>() == Ok(x) {
            return two.replace('e', "E");
        }
        format!("{mantissa}.0E{exp}")
    }
}

/// Text of a JSON scalar the way ksqlDB turns it into a STRING column.
fn json_text(j: &Json) -> String {
    match j {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Coerces a JSON value to `t` as ksqlDB's JSON deserializer does.
pub fn from_json(j: &Json, t: &SqlType) -> Result<ScalarValue, String> {
    if j.is_null() {
        return Ok(null_of(t));
    }
    let mismatch = || {
        format!(
            "Can't convert type. sourceType: {}, requiredType: {t}",
            json_kind(j)
        )
    };
    Ok(match t {
        SqlType::Boolean => match j {
            Json::Bool(b) => ScalarValue::Boolean(Some(*b)),
            Json::String(s) if s.eq_ignore_ascii_case("true") => ScalarValue::Boolean(Some(true)),
            Json::String(s) if s.eq_ignore_ascii_case("false") => ScalarValue::Boolean(Some(false)),
            _ => return Err(mismatch()),
        },
        SqlType::Int => ScalarValue::Int32(Some(match j {
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    i as i32
                } else {
                    n.as_f64().ok_or_else(mismatch)? as i32
                }
            }
            Json::String(s) => s.trim().parse::<i32>().map_err(|_| mismatch())?,
            _ => return Err(mismatch()),
        })),
        SqlType::Bigint => ScalarValue::Int64(Some(match j {
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    i
                } else {
                    n.as_f64().ok_or_else(mismatch)? as i64
                }
            }
            Json::String(s) => s.trim().parse::<i64>().map_err(|_| mismatch())?,
            _ => return Err(mismatch()),
        })),
        SqlType::Double => ScalarValue::Float64(Some(match j {
            Json::Number(n) => n.as_f64().ok_or_else(mismatch)?,
            Json::String(s) => s.trim().parse::<f64>().map_err(|_| mismatch())?,
            _ => return Err(mismatch()),
        })),
        SqlType::Decimal(p, s) => {
            let text = match j {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.clone(),
                _ => return Err(mismatch()),
            };
            let v = parse_decimal(&text, *p, *s)
                .ok_or_else(|| format!("Cannot fit decimal '{text}' into DECIMAL({p}, {s})"))?;
            ScalarValue::Decimal128(Some(v), *p, *s)
        }
        SqlType::String => match j {
            Json::Array(_) | Json::Object(_) => ScalarValue::Utf8(Some(j.to_string())),
            _ => ScalarValue::Utf8(Some(json_text(j))),
        },
        SqlType::Bytes => match j {
            Json::String(s) => ScalarValue::Binary(Some(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| format!("Cannot deserialize '{s}' as BYTES: not base64"))?,
            )),
            _ => return Err(mismatch()),
        },
        SqlType::Date => ScalarValue::Date32(Some(match j {
            Json::Number(n) => n.as_i64().ok_or_else(mismatch)? as i32,
            _ => return Err(mismatch()),
        })),
        SqlType::Time => ScalarValue::Time32Millisecond(Some(match j {
            Json::Number(n) => n.as_i64().ok_or_else(mismatch)? as i32,
            _ => return Err(mismatch()),
        })),
        SqlType::Timestamp => ScalarValue::TimestampMillisecond(
            Some(match j {
                Json::Number(n) => n.as_i64().ok_or_else(mismatch)?,
                Json::String(s) => s.trim().parse::<i64>().map_err(|_| mismatch())?,
                _ => return Err(mismatch()),
            }),
            None,
        ),
        SqlType::Array(e) => match j {
            Json::Array(items) => {
                let items = items
                    .iter()
                    .map(|i| from_json(i, e))
                    .collect::<Result<Vec<_>, _>>()?;
                list_value(e, items)?
            }
            _ => return Err(mismatch()),
        },
        SqlType::Map(k, v) => match j {
            Json::Object(entries) => {
                let entries = entries
                    .iter()
                    .map(|(key, value)| {
                        Ok((
                            from_json(&Json::String(key.clone()), k)?,
                            from_json(value, v)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                map_value(k, v, entries)?
            }
            _ => return Err(mismatch()),
        },
        SqlType::Struct(fields) => match j {
            Json::Object(obj) => {
                let values = fields
                    .iter()
                    .map(|(name, ft)| match lookup_field(obj, name) {
                        Some(v) => from_json(v, ft),
                        None => Ok(null_of(ft)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                struct_value(fields, values)?
            }
            _ => return Err(mismatch()),
        },
    })
}

/// A JSON object's field by column name: exact, then case-insensitive.
pub fn lookup_field<'a>(obj: &'a serde_json::Map<String, Json>, name: &str) -> Option<&'a Json> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "NULL",
        Json::Bool(_) => "BOOLEAN",
        Json::Number(n) if n.is_i64() => "INTEGER",
        Json::Number(_) => "DOUBLE",
        Json::String(_) => "STRING",
        Json::Array(_) => "ARRAY",
        Json::Object(_) => "OBJECT",
    }
}

fn number(text: &str) -> Json {
    serde_json::from_str::<serde_json::Number>(text)
        .map(Json::Number)
        .unwrap_or_else(|_| Json::String(text.to_string()))
}

/// Writes the text of [`to_json`]`(v)`; integers, strings, booleans and NULL without building
/// a [`Json`] (the changelog's hot path).
pub fn write_json(v: &ScalarValue, out: &mut Vec<u8>) {
    match v {
        _ if v.is_null() => out.extend_from_slice(b"null"),
        ScalarValue::Int64(Some(i)) | ScalarValue::TimestampMillisecond(Some(i), _) => {
            write_int(*i, out)
        }
        ScalarValue::Int32(Some(i))
        | ScalarValue::Date32(Some(i))
        | ScalarValue::Time32Millisecond(Some(i)) => write_int(i64::from(*i), out),
        ScalarValue::Boolean(Some(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => write_str(s, out),
        other => write_value(&to_json(other), out),
    }
}

/// Writes a JSON string.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and a string has no map keys to refuse.
    let _ = serde_json::to_writer(out, s);
}

/// Writes a JSON value.
pub fn write_value(v: &Json, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and a `Json` map's keys are strings.
    let _ = serde_json::to_writer(out, v);
}

/// Writes an integer.
pub fn write_int(i: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// A value as JSON, as ksqlDB's JSON serializer writes it: DECIMAL as a number with its scale,
/// BYTES as base64, DATE as days, TIME and TIMESTAMP as milliseconds.
pub fn to_json(v: &ScalarValue) -> Json {
    if v.is_null() {
        return Json::Null;
    }
    match v {
        ScalarValue::Boolean(Some(b)) => Json::Bool(*b),
        ScalarValue::Int8(Some(i)) => Json::from(*i),
        ScalarValue::Int16(Some(i)) => Json::from(*i),
        ScalarValue::Int32(Some(i)) => Json::from(*i),
        ScalarValue::Int64(Some(i)) => Json::from(*i),
        ScalarValue::UInt8(Some(i)) => Json::from(*i),
        ScalarValue::UInt16(Some(i)) => Json::from(*i),
        ScalarValue::UInt32(Some(i)) => Json::from(*i),
        ScalarValue::UInt64(Some(i)) => Json::from(*i),
        ScalarValue::Float32(Some(f)) => number(&java_double_to_string(*f as f64)),
        ScalarValue::Float64(Some(f)) => {
            if f.is_finite() {
                number(&java_double_to_string(*f))
            } else {
                Json::String(java_double_to_string(*f))
            }
        }
        ScalarValue::Decimal128(Some(u), _, s) => number(&json_decimal(*u, *s)),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Json::String(s.clone()),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        ScalarValue::Date32(Some(d)) => Json::from(*d),
        ScalarValue::Time32Millisecond(Some(t)) => Json::from(*t),
        ScalarValue::Time32Second(Some(t)) => Json::from(*t as i64 * 1000),
        ScalarValue::Time64Microsecond(Some(t)) => Json::from(*t / 1000),
        ScalarValue::Time64Nanosecond(Some(t)) => Json::from(*t / 1_000_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => Json::from(*t),
        ScalarValue::TimestampSecond(Some(t), _) => Json::from(*t * 1000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Json::from(*t / 1000),
        ScalarValue::TimestampNanosecond(Some(t), _) => Json::from(*t / 1_000_000),
        ScalarValue::List(_) | ScalarValue::LargeList(_) | ScalarValue::FixedSizeList(_) => {
            Json::Array(
                list_items(v)
                    .unwrap_or_default()
                    .iter()
                    .map(to_json)
                    .collect(),
            )
        }
        ScalarValue::Struct(_) => Json::Object(
            struct_fields(v)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        ScalarValue::Map(_) => Json::Object(
            map_entries(v)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (to_text(k).unwrap_or_default(), to_json(v)))
                .collect(),
        ),
        other => Json::String(other.to_string()),
    }
}

/// A scalar as ksqlDB writes it in text (DELIMITED fields, KAFKA strings, CAST to STRING);
/// `None` for NULL.
pub fn to_text(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    Some(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.clone(),
        ScalarValue::Float64(Some(f)) => java_double_to_string(*f),
        ScalarValue::Float32(Some(f)) => java_double_to_string(*f as f64),
        ScalarValue::Decimal128(Some(u), _, s) => decimal_to_string(*u, *s),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        other => match to_json(other) {
            Json::String(s) => s,
            j => j.to_string(),
        },
    })
}

/// Field of an Arrow struct type by name, exact then case-insensitive.
pub fn find_field<'a>(fields: &'a [Arc<Field>], name: &str) -> Option<(usize, &'a Arc<Field>)> {
    fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.name() == name)
        .or_else(|| {
            fields
                .iter()
                .enumerate()
                .find(|(_, f)| f.name().eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("12.3", 4, 2), Some(1230));
        assert_eq!(parse_decimal("-0.125", 4, 2), Some(-13));
        assert_eq!(parse_decimal("1e2", 5, 1), Some(1000));
        assert_eq!(parse_decimal("123.4", 3, 1), None);
        assert_eq!(decimal_to_string(1230, 2), "12.30");
        assert_eq!(decimal_to_string(-5, 3), "-0.005");
        assert_eq!(decimal_to_string(12, 0), "12");
    }

    #[test]
    fn java_doubles() {
        assert_eq!(java_double_to_string(1.0), "1.0");
        assert_eq!(java_double_to_string(0.1), "0.1");
        assert_eq!(java_double_to_string(1e7), "1.0E7");
        assert_eq!(java_double_to_string(1.5e-4), "1.5E-4");
        assert_eq!(java_double_to_string(123456.789), "123456.789");
    }

    #[test]
    fn nested_json_round_trip() {
        let t = SqlType::Struct(vec![
            ("A".into(), SqlType::Array(Box::new(SqlType::Int))),
            (
                "M".into(),
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            ),
        ]);
        let j: Json = serde_json::from_str(r#"{"a":[1,null,3],"M":{"x":1.5}}"#).unwrap();
        let v = from_json(&j, &t).unwrap();
        assert_eq!(to_json(&v).to_string(), r#"{"A":[1,null,3],"M":{"x":1.5}}"#);
    }
}

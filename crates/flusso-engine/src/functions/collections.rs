//! ARRAY and MAP functions.

use std::cmp::Ordering;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Expr;

use super::udf::{i, item_type, map_types, s, utf8, Call, Kind};
use crate::types::SqlType;
use crate::value::{list_items, list_value, map_entries, map_value, struct_value, to_text};

pub(crate) const NAMES: &[&str] = &[
    "ARRAY_CONCAT",
    "ARRAY_CONTAINS",
    "ARRAY_DISTINCT",
    "ARRAY_EXCEPT",
    "ARRAY_INTERSECT",
    "ARRAY_JOIN",
    "ARRAY_LENGTH",
    "ARRAY_MAX",
    "ARRAY_MIN",
    "ARRAY_REMOVE",
    "ARRAY_SORT",
    "AS_MAP",
    "ENTRIES",
    "GENERATE_SERIES",
    "MAP_KEYS",
    "MAP_UNION",
    "MAP_VALUES",
    "SLICE",
];

fn sql(t: &DataType) -> SqlType {
    SqlType::from_arrow(t).unwrap_or(SqlType::String)
}

fn distinct(items: impl IntoIterator<Item = ScalarValue>) -> Vec<ScalarValue> {
    let mut out: Vec<ScalarValue> = Vec::new();
    for v in items {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Natural order with NULLs last.
fn nulls_last(a: &ScalarValue, b: &ScalarValue, desc: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    }
}

fn series(start: i64, end: i64, step: Option<i64>) -> Result<Vec<i64>, String> {
    let step = step.unwrap_or(if end - start > 0 { 1 } else { -1 });
    if step == 0 {
        return Err("GENERATE_SERIES step cannot be zero".into());
    }
    let diff = end - start;
    if diff > 0 && step < 0 || diff < 0 && step > 0 {
        return Err("GENERATE_SERIES step has wrong sign".into());
    }
    let size = 1 + diff / step;
    if size > 10_000_000 {
        return Err("series too large".into());
    }
    Ok((0..size).map(|k| start + k * step).collect())
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    use Kind::*;
    let n = c.len();
    let t0 = c.types.first().cloned().unwrap_or(DataType::Null);
    let item = item_type(&t0);
    let elem = sql(&item);
    Some(match name {
        "ARRAY_CONTAINS" if n == 2 && c.is(0, Array) => c.lenient(DataType::Boolean, |a| {
            let items = list_items(&a[0]).unwrap_or_default();
            Ok(ScalarValue::Boolean(Some(items.iter().any(|v| {
                (v.is_null() && a[1].is_null()) || (!v.is_null() && *v == a[1])
            }))))
        }),
        "ARRAY_DISTINCT" if c.all(&[Array]) => c.strict(t0.clone(), move |a| {
            list_value(&elem, distinct(list_items(&a[0]).unwrap_or_default()))
        }),
        "ARRAY_EXCEPT" | "ARRAY_INTERSECT" | "ARRAY_UNION" if c.all(&[Array, Array]) => {
            let op = name.to_string();
            c.strict(t0.clone(), move |a| {
                let left = list_items(&a[0]).unwrap_or_default();
                let right = list_items(&a[1]).unwrap_or_default();
                let out = match op.as_str() {
                    "ARRAY_EXCEPT" => distinct(left.into_iter().filter(|v| !right.contains(v))),
                    "ARRAY_INTERSECT" => distinct(left.into_iter().filter(|v| right.contains(v))),
                    _ => distinct(left.into_iter().chain(right)),
                };
                list_value(&elem, out)
            })
        }
        "ARRAY_CONCAT" if c.all(&[Array, Array]) => c.lenient(t0.clone(), move |a| {
            if a[0].is_null() && a[1].is_null() {
                return Ok(ScalarValue::Null);
            }
            let mut out = list_items(&a[0]).unwrap_or_default();
            out.extend(list_items(&a[1]).unwrap_or_default());
            list_value(&elem, out)
        }),
        "ARRAY_JOIN" if (n == 1 || n == 2) && c.is(0, Array) && (n == 1 || c.is(1, Str)) => {
            if item.is_nested() {
                return Some(c.bad());
            }
            c.lenient(DataType::Utf8, |a| {
                let Some(items) = list_items(&a[0]) else {
                    return Ok(ScalarValue::Null);
                };
                let sep = match a.get(1) {
                    None => ",",
                    Some(v) => s(v).unwrap_or(""),
                };
                let parts: Vec<String> = items
                    .iter()
                    .map(|v| to_text(v).unwrap_or_else(|| "null".into()))
                    .collect();
                Ok(utf8(parts.join(sep)))
            })
        }
        "ARRAY_LENGTH" if c.all(&[Array]) => c.strict(DataType::Int32, |a| {
            Ok(ScalarValue::Int32(
                list_items(&a[0]).map(|v| v.len() as i32),
            ))
        }),
        "ARRAY_MAX" | "ARRAY_MIN" if c.all(&[Array]) => {
            let max = name == "ARRAY_MAX";
            c.strict(item.clone(), move |a| {
                let items = list_items(&a[0]).unwrap_or_default();
                let mut best: Option<ScalarValue> = None;
                for v in items.into_iter().filter(|v| !v.is_null()) {
                    let better = match &best {
                        None => true,
                        Some(b) => {
                            let o = v.partial_cmp(b);
                            if max {
                                o == Some(Ordering::Greater)
                            } else {
                                o == Some(Ordering::Less)
                            }
                        }
                    };
                    if better {
                        best = Some(v);
                    }
                }
                Ok(best.unwrap_or(ScalarValue::Null))
            })
        }
        "ARRAY_REMOVE" if n == 2 && c.is(0, Array) => c.lenient(t0.clone(), move |a| {
            let Some(items) = list_items(&a[0]) else {
                return Ok(ScalarValue::Null);
            };
            let keep = items
                .into_iter()
                .filter(|v| {
                    if a[1].is_null() {
                        !v.is_null()
                    } else {
                        *v != a[1]
                    }
                })
                .collect();
            list_value(&elem, keep)
        }),
        "ARRAY_SORT" if (n == 1 || n == 2) && c.is(0, Array) && (n == 1 || c.is(1, Str)) => c
            .strict(t0.clone(), move |a| {
                let mut items = list_items(&a[0]).unwrap_or_default();
                let dir = a.get(1).and_then(s).unwrap_or("ASC").to_uppercase();
                let desc = match dir.as_str() {
                    "ASC" | "ASCENDING" => false,
                    "DESC" | "DESCENDING" => true,
                    _ => return Ok(ScalarValue::Null),
                };
                items.sort_by(|x, y| nulls_last(x, y, desc));
                list_value(&elem, items)
            }),
        "SLICE" if n == 3 && c.is(0, Array) && c.is(1, Int) && c.is(2, Int) => {
            c.lenient(t0.clone(), move |a| {
                let Some(items) = list_items(&a[0]) else {
                    return Ok(ScalarValue::Null);
                };
                let start = i(&a[1]).map_or(0, |f| f - 1);
                let end = i(&a[2]).unwrap_or(items.len() as i64);
                if start < 0 || end > items.len() as i64 || start > end {
                    return Ok(ScalarValue::Null);
                }
                list_value(&elem, items[start as usize..end as usize].to_vec())
            })
        }
        "GENERATE_SERIES" if (n == 2 || n == 3) && (0..n).all(|k| c.is(k, Integral)) => {
            let big = c.is(0, Bigint) && c.types[0] != DataType::Null
                || c.types.get(1).is_some_and(|t| Bigint.matches(t));
            let (et, st) = if big {
                (DataType::Int64, SqlType::Bigint)
            } else {
                (DataType::Int32, SqlType::Int)
            };
            c.strict(super::udf::list_of(et), move |a| {
                let v = series(
                    i(&a[0]).ok_or("null")?,
                    i(&a[1]).ok_or("null")?,
                    a.get(2).and_then(i),
                )?;
                let items = v
                    .into_iter()
                    .map(|x| {
                        if big {
                            ScalarValue::Int64(Some(x))
                        } else {
                            ScalarValue::Int32(Some(x as i32))
                        }
                    })
                    .collect();
                list_value(&st, items)
            })
        }
        "MAP_KEYS" | "MAP_VALUES" if c.all(&[Map]) => {
            let Some((kt, vt)) = map_types(&t0) else {
                return Some(c.bad());
            };
            let keys = name == "MAP_KEYS";
            let et = if keys { kt } else { vt };
            let esql = sql(&et);
            c.strict(super::udf::list_of(et), move |a| {
                let entries = map_entries(&a[0]).unwrap_or_default();
                let items = entries
                    .into_iter()
                    .map(|(k, v)| if keys { k } else { v })
                    .collect();
                list_value(&esql, items)
            })
        }
        "MAP_UNION" if c.all(&[Map, Map]) => {
            let Some((kt, vt)) = map_types(&t0).or_else(|| map_types(&c.types[1])) else {
                return Some(c.bad());
            };
            let (ks, vs) = (sql(&kt), sql(&vt));
            let ret = super::udf::map_of(&kt, &vt);
            c.lenient(ret, move |a| {
                if a[0].is_null() && a[1].is_null() {
                    return Ok(ScalarValue::Null);
                }
                let mut out = map_entries(&a[0]).unwrap_or_default();
                for (k, v) in map_entries(&a[1]).unwrap_or_default() {
                    match out.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                map_value(&ks, &vs, out)
            })
        }
        "AS_MAP" if c.all(&[Array, Array]) => {
            let vt = item_type(&c.types[1]);
            let vs = sql(&vt);
            c.strict(super::udf::map_of(&DataType::Utf8, &vt), move |a| {
                let keys = list_items(&a[0]).unwrap_or_default();
                let values = list_items(&a[1]).unwrap_or_default();
                let mut out: Vec<(ScalarValue, ScalarValue)> = Vec::new();
                for (k, key) in keys.into_iter().enumerate() {
                    let Some(key) = to_text(&key) else { continue };
                    let v = values.get(k).cloned().unwrap_or(ScalarValue::Null);
                    let v = super::udf::conform(v, &vs.to_arrow()).map_err(|e| e.to_string())?;
                    match out.iter_mut().find(|(ek, _)| s(ek) == Some(key.as_str())) {
                        Some(slot) => slot.1 = v,
                        None => out.push((utf8(key), v)),
                    }
                }
                map_value(&SqlType::String, &vs, out)
            })
        }
        "ENTRIES" if c.all(&[Map, Bool]) => {
            let Some((_, vt)) = map_types(&t0) else {
                return Some(c.bad());
            };
            let fields = vec![
                ("K".to_string(), SqlType::String),
                ("V".to_string(), sql(&vt)),
            ];
            let st = SqlType::Struct(fields.clone());
            c.strict(SqlType::Array(Box::new(st.clone())).to_arrow(), move |a| {
                let mut entries = map_entries(&a[0]).unwrap_or_default();
                if matches!(a[1], ScalarValue::Boolean(Some(true))) {
                    entries.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(Ordering::Equal));
                }
                let items = entries
                    .into_iter()
                    .map(|(k, v)| struct_value(&fields, vec![k, v]))
                    .collect::<Result<Vec<_>, _>>()?;
                list_value(&st, items)
            })
        }
        _ if NAMES.contains(&name) => c.bad(),
        _ => return None,
    })
}

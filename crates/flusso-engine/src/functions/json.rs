//! JSON functions over STRING values holding JSON text, and TO_JSON_STRING.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Expr;
use serde_json::Value as Json;

use super::udf::{f, i, list_of, s, utf8, Call, Kind};
use crate::types::SqlType;
use crate::value::{
    java_double_to_string, list_items, list_value, map_entries, map_value, struct_fields,
};

pub(crate) const NAMES: &[&str] = &[
    "EXTRACTJSONFIELD",
    "IS_JSON_STRING",
    "JSON_ARRAY_CONTAINS",
    "JSON_ARRAY_LENGTH",
    "JSON_CONCAT",
    "JSON_ITEMS",
    "JSON_KEYS",
    "JSON_RECORDS",
    "TO_JSON_STRING",
];

fn parse(x: &str) -> Option<Json> {
    serde_json::from_str(x).ok()
}

/// One step of a JSONPath (`.name`, `['name']`, `[0]`).
#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
}

/// Parses the subset of JSONPath ksqlDB's EXTRACTJSONFIELD supports.
fn parse_path(p: &str) -> Option<Vec<Step>> {
    let mut rest = p.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(Step::Field(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
            steps.push(match quoted {
                Some(name) => Step::Field(name.to_string()),
                None => Step::Index(inner.parse().ok()?),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn extract<'a>(j: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    let mut cur = j;
    for step in steps {
        cur = match (step, cur) {
            (Step::Field(name), Json::Object(o)) => o.get(name)?,
            (Step::Index(k), Json::Array(a)) if *k >= 0 => a.get(*k as usize)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// JSON text of a value as Jackson writes it (compact).
fn text(j: &Json) -> String {
    j.to_string()
}

/// A value as ksqlDB's TO_JSON_STRING writes it.
fn to_json(v: &ScalarValue) -> Json {
    if v.is_null() {
        return Json::Null;
    }
    match v {
        ScalarValue::Float64(Some(x)) => {
            let t = java_double_to_string(*x);
            serde_json::from_str::<serde_json::Number>(&t).map_or(Json::String(t), Json::Number)
        }
        ScalarValue::Date32(Some(d)) => {
            let date = chrono::NaiveDate::from_num_days_from_ce_opt(719_163 + *d);
            Json::String(date.map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string()))
        }
        ScalarValue::Time32Millisecond(Some(t)) => {
            let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                (*t / 1000) as u32,
                ((*t % 1000) * 1_000_000) as u32,
            );
            Json::String(time.map_or_else(String::new, |t| t.format("%H:%M:%S").to_string()))
        }
        ScalarValue::TimestampMillisecond(Some(ms), _) => {
            let ts = chrono::DateTime::from_timestamp_millis(*ms);
            Json::String(ts.map_or_else(String::new, |t| {
                t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
            }))
        }
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
                .map(|(k, v)| (crate::value::to_text(k).unwrap_or_default(), to_json(v)))
                .collect(),
        ),
        other => crate::value::to_json(other),
    }
}

/// Whether JSON element `e` equals the SQL value `v` as JSON_ARRAY_CONTAINS compares them.
fn json_equals(e: &Json, v: &ScalarValue) -> bool {
    match (e, v) {
        (Json::Null, v) => v.is_null(),
        (_, v) if v.is_null() => false,
        (Json::Bool(b), ScalarValue::Boolean(Some(x))) => b == x,
        (Json::String(t), v) => s(v) == Some(t.as_str()),
        (Json::Number(n), ScalarValue::Float64(_)) => {
            !(n.is_i64() || n.is_u64()) && n.as_f64() == f(v)
        }
        (Json::Number(n), v) if i(v).is_some() => n.as_i64() == i(v),
        _ => false,
    }
}

pub(crate) fn build(name: &str, c: &Call) -> Option<Result<Expr, String>> {
    use Kind::*;
    let st = DataType::Utf8;
    let n = c.len();
    Some(match name {
        "EXTRACTJSONFIELD" if c.all(&[Str, Str]) => c.strict(st, |a| {
            let steps = parse_path(s(&a[1]).unwrap_or_default()).ok_or("bad path")?;
            let j = parse(s(&a[0]).unwrap_or_default()).ok_or("bad json")?;
            Ok(match extract(&j, &steps) {
                None | Some(Json::Null) => ScalarValue::Null,
                Some(Json::String(t)) => utf8(t.clone()),
                Some(other) => utf8(text(other)),
            })
        }),
        "IS_JSON_STRING" if c.all(&[Str]) => c.lenient(DataType::Boolean, |a| {
            Ok(ScalarValue::Boolean(Some(s(&a[0]).is_some_and(|x| {
                !x.trim().is_empty() && parse(x).is_some()
            }))))
        }),
        "JSON_ARRAY_CONTAINS" if n == 2 && c.is(0, Str) => c.lenient(DataType::Boolean, |a| {
            let Some(Json::Array(items)) = s(&a[0]).and_then(parse) else {
                return Ok(ScalarValue::Boolean(Some(false)));
            };
            Ok(ScalarValue::Boolean(Some(
                items.iter().any(|e| json_equals(e, &a[1])),
            )))
        }),
        "JSON_ARRAY_LENGTH" if c.all(&[Str]) => c.strict(DataType::Int32, |a| {
            Ok(match s(&a[0]).and_then(parse) {
                Some(Json::Array(items)) => ScalarValue::Int32(Some(items.len() as i32)),
                _ => ScalarValue::Null,
            })
        }),
        "JSON_CONCAT" if n >= 1 && (0..n).all(|k| c.is(k, Str)) => c.lenient(st, |a| {
            let mut docs = Vec::new();
            for v in a {
                docs.push(s(v).and_then(parse).ok_or("bad json")?);
            }
            if docs.iter().all(Json::is_object) {
                let mut out = serde_json::Map::new();
                for d in docs {
                    if let Json::Object(o) = d {
                        for (k, v) in o {
                            out.insert(k, v);
                        }
                    }
                }
                return Ok(utf8(text(&Json::Object(out))));
            }
            let mut out = Vec::new();
            for d in docs {
                match d {
                    Json::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Ok(utf8(text(&Json::Array(out))))
        }),
        "JSON_ITEMS" if c.all(&[Str]) => c.strict(list_of(DataType::Utf8), |a| {
            let Some(Json::Array(items)) = s(&a[0]).and_then(parse) else {
                return Ok(ScalarValue::Null);
            };
            list_value(
                &SqlType::String,
                items.iter().map(|e| utf8(text(e))).collect(),
            )
        }),
        "JSON_KEYS" if c.all(&[Str]) => c.strict(list_of(DataType::Utf8), |a| {
            let Some(Json::Object(o)) = s(&a[0]).and_then(parse) else {
                return Ok(ScalarValue::Null);
            };
            list_value(
                &SqlType::String,
                o.keys().map(|k| utf8(k.clone())).collect(),
            )
        }),
        "JSON_RECORDS" if c.all(&[Str]) => {
            let ret = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String));
            c.strict(ret.to_arrow(), |a| {
                let Some(Json::Object(o)) = s(&a[0]).and_then(parse) else {
                    return Ok(ScalarValue::Null);
                };
                map_value(
                    &SqlType::String,
                    &SqlType::String,
                    o.iter()
                        .map(|(k, v)| (utf8(k.clone()), utf8(text(v))))
                        .collect(),
                )
            })
        }
        "TO_JSON_STRING" if n == 1 => c.lenient(st, |a| Ok(utf8(text(&to_json(&a[0]))))),
        _ if NAMES.contains(&name) => c.bad(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        // extract-json-field.json "array bounds"
        let j = parse(r#"{"array": [1.23450], "a": {"b c": [true]}}"#).unwrap();
        let steps = parse_path("$.array[0]").unwrap();
        assert_eq!(extract(&j, &steps).map(text), Some("1.23450".into()));
        assert_eq!(extract(&j, &parse_path("$.array[-1]").unwrap()), None);
        let steps = parse_path("$.a['b c'][0]").unwrap();
        assert_eq!(extract(&j, &steps), Some(&Json::Bool(true)));
    }
}

//! COLLECT_LIST(x) and COLLECT_SET(x) for any type (ARRAY of it, nulls kept, at most
//! [`COLLECT_LIMIT`] entries, later values silently dropped), and HISTOGRAM(string)
//! (`MAP<STRING, BIGINT>` of counts, at most [`HISTOGRAM_LIMIT`] keys). COLLECT_LIST and
//! HISTOGRAM are undoable; COLLECT_SET is not (ksqlDB refuses it on tables).

use std::any::Any;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use super::{array_of, coerce, downcast, json_values, values_json, Accumulator};
use super::{AggregateFunction, Fail, Resolved};
use crate::types::SqlType;
use crate::value::{map_value, null_of, to_json};

/// ksqlDB's `ksql.functions.collect_list.limit` and `ksql.functions.collect_set.limit`, at the
/// largest value ksqlDB allows.
pub const COLLECT_LIMIT: usize = 1000;

/// The most distinct strings HISTOGRAM counts.
pub const HISTOGRAM_LIMIT: usize = 1000;

/// `COLLECT_LIST(x)`.
pub(crate) fn collect_list(types: &[SqlType]) -> Resolved {
    collect(types, "COLLECT_LIST", COLLECT_LIMIT)
}

/// `COLLECT_SET(x)`.
pub(crate) fn collect_set(types: &[SqlType]) -> Resolved {
    collect(types, "COLLECT_SET", COLLECT_LIMIT)
}

/// COLLECT_LIST or COLLECT_SET (`name`) keeping at most `limit` values.
pub(crate) fn collect(types: &[SqlType], name: &str, limit: usize) -> Resolved {
    let [t] = types else {
        return Err(Fail::NoMatch);
    };
    let t = t.clone();
    let distinct = name == "COLLECT_SET";
    // Maps are equal whatever the order of their entries (compared as JSON objects).
    let by_content = t.contains_map();
    Ok(AggregateFunction::new(
        name,
        SqlType::Array(Box::new(t.clone())),
        !distinct,
        move || {
            Box::new(Collect {
                t: t.clone(),
                distinct,
                limit,
                by_content,
                values: Vec::new(),
            })
        },
    ))
}

/// `HISTOGRAM(s)`.
pub(crate) fn histogram(types: &[SqlType]) -> Resolved {
    if types != [SqlType::String] {
        return Err(Fail::NoMatch);
    }
    Ok(AggregateFunction::new(
        "HISTOGRAM",
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)),
        true,
        || Box::new(Histogram::default()),
    ))
}

/// COLLECT_LIST / COLLECT_SET: the values in arrival order.
#[derive(Debug)]
pub(crate) struct Collect {
    t: SqlType,
    distinct: bool,
    limit: usize,
    by_content: bool,
    values: Vec<ScalarValue>,
}

impl Collect {
    /// Whether `values` holds `v`.
    fn holds(&self, values: &[ScalarValue], v: &ScalarValue) -> bool {
        match self.by_content {
            false => values.contains(v),
            true => {
                let j = to_json(v);
                values.iter().any(|x| to_json(x) == j)
            }
        }
    }
}

impl Accumulator for Collect {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) else {
            return;
        };
        if self.values.len() < self.limit && !(self.distinct && self.holds(&self.values, &v)) {
            self.values.push(v);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        // ksqlDB removes the last equal value (none when the limit kept it out).
        let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) else {
            return;
        };
        if let Some(i) = self.values.iter().rposition(|x| *x == v) {
            self.values.remove(i);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<Collect>(other) else {
            return;
        };
        // ksqlDB's merge(earlier, later): the earlier values, then the later ones that fit.
        let mut merged = o.values.clone();
        for v in &self.values {
            if merged.len() >= self.limit {
                break;
            }
            if !(self.distinct && self.holds(&merged, v)) {
                merged.push(v.clone());
            }
        }
        self.values = merged;
    }
    fn result(&self) -> ScalarValue {
        array_of(&self.t, self.values.clone())
    }
    fn state(&self) -> Json {
        values_json(&self.values)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.values = json_values(state, &self.t)?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// HISTOGRAM: counts of each distinct string, in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    counts: Vec<(String, i64)>,
}

impl Histogram {
    fn bump(&mut self, key: &str, by: i64) {
        if let Some(entry) = self.counts.iter_mut().find(|(k, _)| k == key) {
            entry.1 = entry.1.wrapping_add(by);
        } else if self.counts.len() < HISTOGRAM_LIMIT {
            self.counts.push((key.to_string(), by));
        }
    }
}

/// The string of a STRING argument; `None` for NULL or another type (ignored).
fn text(args: &[ScalarValue]) -> Option<String> {
    match coerce(args.first()?, &SqlType::String)? {
        ScalarValue::Utf8(Some(s)) => Some(s),
        _ => None,
    }
}

impl Accumulator for Histogram {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(s) = text(args) {
            self.bump(&s, 1);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        let Some(s) = text(args) else {
            return;
        };
        if let Some(i) = self.counts.iter().position(|(k, _)| *k == s) {
            self.counts[i].1 -= 1;
            if self.counts[i].1 < 1 {
                self.counts.remove(i);
            }
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<Histogram>(other) else {
            return;
        };
        // ksqlDB's merge(earlier, later) folds the later counts into the earlier map.
        let later = std::mem::replace(&mut self.counts, o.counts.clone());
        for (k, v) in later {
            self.bump(&k, v);
        }
    }
    fn result(&self) -> ScalarValue {
        let t = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint));
        let entries = self
            .counts
            .iter()
            .map(|(k, v)| {
                (
                    ScalarValue::Utf8(Some(k.clone())),
                    ScalarValue::Int64(Some(*v)),
                )
            })
            .collect();
        map_value(&SqlType::String, &SqlType::Bigint, entries).unwrap_or_else(|_| null_of(&t))
    }
    fn state(&self) -> Json {
        Json::Array(
            self.counts
                .iter()
                .map(|(k, v)| Json::Array(vec![Json::from(k.clone()), Json::from(*v)]))
                .collect(),
        )
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = || "bad HISTOGRAM state".to_string();
        self.counts = state
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|e| match e.as_array().map(Vec::as_slice) {
                Some([Json::String(k), v]) => Ok((k.clone(), v.as_i64().ok_or_else(bad)?)),
                _ => Err(bad()),
            })
            .collect::<Result<_, _>>()?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! TOPK(x, [other, ...], k) and TOPKDISTINCT(x, k): the `k` greatest values, greatest first.
//!
//! TOPK takes INT, BIGINT, DOUBLE or STRING and keeps duplicates (a later equal value goes
//! after the earlier ones); with other columns it returns `STRUCT<sort_col, col0, ...>`
//! entries carrying the other columns of the same rows. TOPKDISTINCT also takes DECIMAL,
//! BYTES, DATE, TIME and TIMESTAMP and keeps each value once. Neither is undoable.

use std::any::Any;
use std::cmp::Ordering;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use super::{array_of, coerce, compare, downcast, int_literal, is_comparable, Accumulator};
use super::{AggregateArg, AggregateFunction, Fail, Resolved};
use crate::types::SqlType;
use crate::value::{from_json, null_of, struct_value, to_json};

/// `TOPK(x, other..., k)`.
pub(crate) fn topk(args: &[AggregateArg]) -> Resolved {
    let types: Vec<&SqlType> = args.iter().map(|a| &a.sql_type).collect();
    let (Some(sort), Some(last)) = (types.first(), types.last()) else {
        return Err(Fail::NoMatch);
    };
    let sortable = matches!(
        sort,
        SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::String
    );
    if types.len() < 2 || !sortable || **last != SqlType::Int {
        return Err(Fail::NoMatch);
    }
    let k = int_literal(args, args.len() - 1)?;
    let sort = (*sort).clone();
    let others: Vec<SqlType> = types[1..types.len() - 1]
        .iter()
        .map(|t| (*t).clone())
        .collect();
    let fields: Vec<(String, SqlType)> = std::iter::once(("sort_col".to_string(), sort.clone()))
        .chain(
            others
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("col{i}"), t.clone())),
        )
        .collect();
    let element = if others.is_empty() {
        sort.clone()
    } else {
        SqlType::Struct(fields.clone())
    };
    Ok(AggregateFunction::new(
        "TOPK",
        SqlType::Array(Box::new(element)),
        false,
        move || {
            Box::new(TopK {
                k,
                fields: fields.clone(),
                entries: Vec::new(),
            })
        },
    ))
}

/// `TOPKDISTINCT(x, k)`.
pub(crate) fn topk_distinct(args: &[AggregateArg]) -> Resolved {
    match args {
        [x, k] if is_comparable(&x.sql_type) && k.sql_type == SqlType::Int => {
            let k = int_literal(args, 1)?;
            let t = x.sql_type.clone();
            Ok(AggregateFunction::new(
                "TOPKDISTINCT",
                SqlType::Array(Box::new(t.clone())),
                false,
                move || {
                    Box::new(TopKDistinct {
                        k,
                        t: t.clone(),
                        values: Vec::new(),
                    })
                },
            ))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// Whether a list of `len` entries is full (a negative `k` never fills, as in ksqlDB).
fn full(len: usize, k: i32) -> bool {
    usize::try_from(k).is_ok_and(|k| len == k)
}

/// Greater (or equal) first.
fn descending(a: &ScalarValue, b: &ScalarValue) -> Ordering {
    compare(b, a).unwrap_or(Ordering::Equal)
}

/// `TOPK`: entries of the sort value and the other columns, greatest first.
#[derive(Debug)]
pub(crate) struct TopK {
    k: i32,
    /// `sort_col` then `col0`, ...
    fields: Vec<(String, SqlType)>,
    entries: Vec<Vec<ScalarValue>>,
}

impl TopK {
    /// The row's entry: the sort value and the other columns (without the trailing `k`).
    fn entry(&self, args: &[ScalarValue]) -> Option<Vec<ScalarValue>> {
        if args.len() != self.fields.len() + 1 {
            return None;
        }
        self.fields
            .iter()
            .zip(args)
            .map(|((_, t), v)| coerce(v, t))
            .collect()
    }
}

impl Accumulator for TopK {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(entry) = self.entry(args) else {
            return;
        };
        if entry[0].is_null() || self.k == 0 {
            return;
        }
        if let Some(last) = self.entries.last() {
            if full(self.entries.len(), self.k) && descending(&entry[0], &last[0]).is_ge() {
                return;
            }
        }
        if full(self.entries.len(), self.k) {
            self.entries.pop();
        }
        self.entries.push(entry);
        self.entries.sort_by(|a, b| descending(&a[0], &b[0]));
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<TopK>(other) else {
            return;
        };
        // ksqlDB's merge(earlier, later): a two-way merge, the earlier side first on ties.
        let (one, two) = (&o.entries, &self.entries);
        let (mut i, mut j) = (0, 0);
        let mut merged = Vec::new();
        while !full(merged.len(), self.k) {
            match (one.get(i), two.get(j)) {
                (Some(a), Some(b)) if descending(&a[0], &b[0]).is_le() => {
                    merged.push(a.clone());
                    i += 1;
                }
                (Some(a), None) => {
                    merged.push(a.clone());
                    i += 1;
                }
                (_, Some(b)) => {
                    merged.push(b.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        self.entries = merged;
    }
    fn result(&self) -> ScalarValue {
        let sort_type = &self.fields[0].1;
        if self.fields.len() == 1 {
            let items = self.entries.iter().map(|e| e[0].clone()).collect();
            return array_of(sort_type, items);
        }
        let element = SqlType::Struct(self.fields.clone());
        let items = self
            .entries
            .iter()
            .map(|e| struct_value(&self.fields, e.clone()).unwrap_or_else(|_| null_of(&element)))
            .collect();
        array_of(&element, items)
    }
    fn state(&self) -> Json {
        Json::Array(
            self.entries
                .iter()
                .map(|e| Json::Array(e.iter().map(to_json).collect()))
                .collect(),
        )
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = || "bad TOPK state".to_string();
        self.entries = state
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|e| {
                let values = e.as_array().ok_or_else(bad)?;
                if values.len() != self.fields.len() {
                    return Err(bad());
                }
                self.fields
                    .iter()
                    .zip(values)
                    .map(|((_, t), v)| from_json(v, t))
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `TOPKDISTINCT`: distinct values, greatest first.
#[derive(Debug)]
pub(crate) struct TopKDistinct {
    k: i32,
    t: SqlType,
    values: Vec<ScalarValue>,
}

impl Accumulator for TopKDistinct {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) else {
            return;
        };
        if v.is_null() || self.k == 0 {
            return;
        }
        if let Some(last) = self.values.last() {
            if full(self.values.len(), self.k) && descending(&v, last).is_ge() {
                return;
            }
        }
        if self
            .values
            .iter()
            .any(|x| compare(x, &v) == Some(Ordering::Equal))
        {
            return;
        }
        if full(self.values.len(), self.k) {
            self.values.pop();
        }
        self.values.push(v);
        self.values.sort_by(descending);
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<TopKDistinct>(other) else {
            return;
        };
        let (one, two) = (&o.values, &self.values);
        let (mut i, mut j) = (0, 0);
        let mut merged = Vec::new();
        while !full(merged.len(), self.k) {
            match (one.get(i), two.get(j)) {
                (None, None) => break,
                (Some(a), None) => {
                    merged.push(a.clone());
                    i += 1;
                }
                (None, Some(b)) => {
                    merged.push(b.clone());
                    j += 1;
                }
                (Some(a), Some(b)) => match descending(a, b) {
                    Ordering::Less => {
                        merged.push(a.clone());
                        i += 1;
                    }
                    Ordering::Greater => {
                        merged.push(b.clone());
                        j += 1;
                    }
                    Ordering::Equal => {
                        merged.push(a.clone());
                        i += 1;
                        j += 1;
                    }
                },
            }
        }
        self.values = merged;
    }
    fn result(&self) -> ScalarValue {
        array_of(&self.t, self.values.clone())
    }
    fn state(&self) -> Json {
        super::values_json(&self.values)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.values = super::json_values(state, &self.t)?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET, as `(x)`, `(x, ignoreNulls)`, `(x, n)` and
//! `(x, n, ignoreNulls)` for any type (nulls ignored unless `ignoreNulls` is false); the `n`
//! forms return an ARRAY, oldest first. Not undoable.
//!
//! As in ksqlDB every value is stamped with a process-wide sequence number, which session
//! merges compare; LATEST_BY_OFFSET's `n` form keeps, when merging, the *earliest* `n` of both
//! sides (ksqlDB's behaviour, which its conformance cases pin down).

use std::any::Any;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::{array_of, bool_literal, coerce, downcast, field, int_literal, Accumulator};
use super::{AggregateArg, AggregateFunction, Fail, Resolved};
use crate::types::SqlType;
use crate::value::{from_json, null_of, to_json};

/// The sequence stamped on values, in arrival order.
static SEQUENCE: AtomicI64 = AtomicI64::new(0);

fn next_seq() -> i64 {
    SEQUENCE.fetch_add(1, AtomicOrdering::Relaxed)
}

/// The first of `n` consecutive sequence numbers (for a batch of values, stamped in order).
pub(crate) fn next_seqs(n: usize) -> i64 {
    SEQUENCE.fetch_add(n as i64, AtomicOrdering::Relaxed)
}

/// Makes later stamps follow `seq` (after restoring state).
fn seen_seq(seq: i64) {
    if seq >= 0 {
        SEQUENCE.fetch_max(seq.saturating_add(1), AtomicOrdering::Relaxed);
    }
}

/// A value and its sequence number.
type Stamped = (i64, ScalarValue);

/// ksqlDB's order of stamps: a negative sequence (one that overflowed) is the later one.
fn by_seq(a: &Stamped, b: &Stamped) -> Ordering {
    match (a.0 < 0, b.0 < 0) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.0.cmp(&b.0),
    }
}

/// [`by_seq`], with a null value ordered before any non-null one.
fn by_seq_ignoring_nulls(a: &Stamped, b: &Stamped) -> Ordering {
    match (a.1.is_null(), b.1.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => by_seq(a, b),
    }
}

/// `EARLIEST_BY_OFFSET(...)` / `LATEST_BY_OFFSET(...)` (`name` upper case).
pub(crate) fn by_offset(name: &str, args: &[AggregateArg]) -> Resolved {
    let types: Vec<&SqlType> = args.iter().map(|a| &a.sql_type).collect();
    let (n, ignore_nulls) = match types.as_slice() {
        [_] => (None, true),
        [_, SqlType::Boolean] => (None, bool_literal(args, 1)?),
        [_, SqlType::Int] => (Some(int_literal(args, 1)?), true),
        [_, SqlType::Int, SqlType::Boolean] => {
            (Some(int_literal(args, 1)?), bool_literal(args, 2)?)
        }
        _ => return Err(Fail::NoMatch),
    };
    let latest = name == "LATEST_BY_OFFSET";
    let t = types[0].clone();
    let Some(n) = n else {
        return Ok(AggregateFunction::new(name, t.clone(), false, move || {
            Box::new(ByOffset {
                t: t.clone(),
                latest,
                ignore_nulls,
                // ksqlDB's LATEST starts from a stamped null; EARLIEST from nothing.
                one: latest.then(|| (next_seq(), null_of(&t))),
            })
        }));
    };
    if n <= 0 {
        let what = if latest { "latestN" } else { "earliestN" };
        return Err(Fail::Message(format!("{what} must be 1 or greater")));
    }
    Ok(AggregateFunction::new(
        name,
        SqlType::Array(Box::new(t.clone())),
        false,
        move || {
            Box::new(ByOffsetN {
                t: t.clone(),
                latest,
                ignore_nulls,
                n: n as usize,
                values: Vec::new(),
            })
        },
    ))
}

pub(crate) fn stamped_json((seq, v): &Stamped) -> Json {
    json!({ "seq": seq, "val": to_json(v) })
}

pub(crate) fn json_stamped(j: &Json, t: &SqlType) -> Result<Stamped, String> {
    let seq = field(j, "seq")?.as_i64().ok_or("bad offset state")?;
    seen_seq(seq);
    Ok((seq, from_json(field(j, "val")?, t)?))
}

/// The single-value forms.
#[derive(Debug)]
pub(crate) struct ByOffset {
    t: SqlType,
    latest: bool,
    ignore_nulls: bool,
    one: Option<Stamped>,
}

impl Accumulator for ByOffset {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) else {
            return;
        };
        if (v.is_null() && self.ignore_nulls) || (!self.latest && self.one.is_some()) {
            return;
        }
        self.one = Some((next_seq(), v));
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<ByOffset>(other) else {
            return;
        };
        // ksqlDB's merge(one = earlier, two = later).
        let (one, two) = (o.one.clone(), self.one.take());
        self.one = match (one, two) {
            (None, two) => two,
            (one, None) => one,
            (Some(one), Some(two)) => {
                let keep_one = if !self.latest {
                    by_seq(&one, &two) == Ordering::Less
                } else if self.ignore_nulls {
                    by_seq_ignoring_nulls(&one, &two) != Ordering::Less
                } else {
                    by_seq(&one, &two) != Ordering::Less
                };
                Some(if keep_one { one } else { two })
            }
        };
    }
    fn result(&self) -> ScalarValue {
        self.one
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| null_of(&self.t))
    }
    fn state(&self) -> Json {
        self.one.as_ref().map(stamped_json).unwrap_or(Json::Null)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.one = match state {
            Json::Null => None,
            j => Some(json_stamped(j, &self.t)?),
        };
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The `n` forms.
#[derive(Debug)]
pub(crate) struct ByOffsetN {
    t: SqlType,
    latest: bool,
    ignore_nulls: bool,
    n: usize,
    values: Vec<Stamped>,
}

impl Accumulator for ByOffsetN {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) else {
            return;
        };
        if v.is_null() && self.ignore_nulls {
            return;
        }
        if self.latest {
            self.values.push((next_seq(), v));
            if self.values.len() > self.n {
                let excess = self.values.len() - self.n;
                self.values.drain(..excess);
            }
        } else if self.values.len() < self.n {
            self.values.push((next_seq(), v));
        }
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<ByOffsetN>(other) else {
            return;
        };
        let mut merged = o.values.clone();
        merged.append(&mut self.values);
        merged.sort_by(by_seq);
        merged.truncate(self.n);
        self.values = merged;
    }
    fn result(&self) -> ScalarValue {
        array_of(
            &self.t,
            self.values.iter().map(|(_, v)| v.clone()).collect(),
        )
    }
    fn state(&self) -> Json {
        Json::Array(self.values.iter().map(stamped_json).collect())
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.values = state
            .as_array()
            .ok_or("bad offset state")?
            .iter()
            .map(|j| json_stamped(j, &self.t))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

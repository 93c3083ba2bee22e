//! COUNT (rows, or non-null values) and COUNT_DISTINCT (distinct non-null values).
//!
//! ksqlDB's COUNT_DISTINCT is a HyperLogLog estimate with 2^14 registers, exact in practice for
//! small groups; this one counts exactly, keeping a 64-bit hash of each distinct value.

use std::any::Any;
use std::collections::HashSet;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use super::{downcast, Accumulator, AggregateFunction, Fail, Resolved};
use crate::types::SqlType;
use crate::value::to_json;

/// `COUNT()`, `COUNT(*)`, `COUNT(x)` for any `x`.
pub(crate) fn count(types: &[SqlType]) -> Resolved {
    if types.len() > 1 {
        return Err(Fail::NoMatch);
    }
    Ok(AggregateFunction::new(
        "COUNT",
        SqlType::Bigint,
        true,
        || Box::new(Count(0)),
    ))
}

/// `COUNT_DISTINCT(x)` for any `x`.
pub(crate) fn count_distinct(types: &[SqlType]) -> Resolved {
    if types.len() != 1 {
        return Err(Fail::NoMatch);
    }
    Ok(AggregateFunction::new(
        "COUNT_DISTINCT",
        SqlType::Bigint,
        false,
        || Box::new(CountDistinct::default()),
    ))
}

/// `COUNT(*)`, `COUNT(x)`: rows, or rows where `x` is not null.
#[derive(Debug)]
pub(crate) struct Count(pub(crate) i64);

impl Accumulator for Count {
    fn add(&mut self, args: &[ScalarValue]) {
        if args.first().is_none_or(|a| !a.is_null()) {
            self.0 = self.0.wrapping_add(1);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if args.first().is_none_or(|a| !a.is_null()) {
            self.0 = self.0.wrapping_sub(1);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<Count>(other) {
            self.0 = self.0.wrapping_add(o.0);
        }
    }
    fn result(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.0))
    }
    fn state(&self) -> Json {
        Json::from(self.0)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.0 = state.as_i64().ok_or("bad COUNT state")?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `COUNT_DISTINCT(x)`: hashes of the distinct non-null values seen.
#[derive(Debug, Default)]
pub(crate) struct CountDistinct(HashSet<u64>);

/// A hash of a value that stays the same across runs (64-bit FNV-1a of its JSON text), so
/// restored state keeps counting the same values once.
fn value_hash(v: &ScalarValue) -> u64 {
    to_json(v)
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Accumulator for CountDistinct {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(v) = args.first().filter(|v| !v.is_null()) {
            self.0.insert(value_hash(v));
        }
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<CountDistinct>(other) {
            self.0.extend(o.0.iter().copied());
        }
    }
    fn result(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.0.len() as i64))
    }
    fn state(&self) -> Json {
        let mut hashes: Vec<u64> = self.0.iter().copied().collect();
        hashes.sort_unstable();
        Json::Array(
            hashes
                .into_iter()
                .map(|h| Json::String(h.to_string()))
                .collect(),
        )
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = || "bad COUNT_DISTINCT state".to_string();
        self.0 = state
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|h| h.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

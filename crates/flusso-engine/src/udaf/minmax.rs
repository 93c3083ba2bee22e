//! MIN and MAX over INT, BIGINT, DOUBLE, DECIMAL, STRING, BYTES, DATE, TIME and TIMESTAMP:
//! nulls ignored, NULL until a value arrives, not undoable (ksqlDB refuses them on tables).

use std::any::Any;
use std::cmp::Ordering;

use datafusion::common::ScalarValue;
use serde_json::Value as Json;

use super::{coerce, compare, downcast, is_comparable, Accumulator, AggregateFunction};
use super::{Fail, Resolved};
use crate::types::SqlType;
use crate::value::{from_json, null_of, to_json};

/// `MIN(x)` / `MAX(x)` (`name` upper case): the type of `x`.
pub(crate) fn min_max(name: &str, types: &[SqlType]) -> Resolved {
    match types {
        [t] if is_comparable(t) => {
            let t = t.clone();
            let max = name == "MAX";
            Ok(AggregateFunction::new(name, t.clone(), false, move || {
                Box::new(MinMax {
                    t: t.clone(),
                    max,
                    best: None,
                })
            }))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// The smallest or largest value so far.
#[derive(Debug)]
pub(crate) struct MinMax {
    t: SqlType,
    max: bool,
    best: Option<ScalarValue>,
}

impl MinMax {
    /// Offers a non-null value as ksqlDB's `MAX` (`current > best ? current : best`) and `MIN`
    /// (`current > best ? best : current`) do.
    fn offer(&mut self, v: ScalarValue) {
        let replace = match &self.best {
            None => true,
            Some(best) => match compare(best, &v) {
                Some(o) if self.max => o == Ordering::Less,
                Some(o) => o != Ordering::Less,
                None => false,
            },
        };
        if replace {
            self.best = Some(v);
        }
    }
}

impl Accumulator for MinMax {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) {
            if !v.is_null() {
                self.offer(v);
            }
        }
    }
    fn undo(&mut self, _args: &[ScalarValue]) {}
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<MinMax>(other) {
            // ksqlDB's merge(earlier, later) aggregates the earlier value into the later one.
            if let Some(v) = o.best.clone() {
                self.offer(v);
            }
        }
    }
    fn result(&self) -> ScalarValue {
        self.best.clone().unwrap_or_else(|| null_of(&self.t))
    }
    fn state(&self) -> Json {
        self.best.as_ref().map(to_json).unwrap_or(Json::Null)
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let v = from_json(state, &self.t)?;
        self.best = (!v.is_null()).then_some(v);
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

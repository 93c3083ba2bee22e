//! ATTR(x) for any type: the value when every row of the group has the same one (NULL counts as
//! a value), otherwise NULL. Undoable: ksqlDB keeps a count per distinct value.

use std::any::Any;

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::{coerce, downcast, field, Accumulator, AggregateFunction, Fail, Resolved};
use crate::types::SqlType;
use crate::value::{from_json, null_of, to_json};

/// `ATTR(x)`: the type of `x`.
pub(crate) fn attr(types: &[SqlType]) -> Resolved {
    let [t] = types else {
        return Err(Fail::NoMatch);
    };
    let t = t.clone();
    Ok(AggregateFunction::new("ATTR", t.clone(), true, move || {
        Box::new(Attr {
            t: t.clone(),
            entries: Vec::new(),
        })
    }))
}

/// Each distinct value seen, with how many rows (never below zero) currently have it.
#[derive(Debug)]
pub(crate) struct Attr {
    t: SqlType,
    entries: Vec<(ScalarValue, i32)>,
}

/// ksqlDB's `update`: adjusts the count of `v`, adding it when new and `by` is positive.
fn update(entries: &mut Vec<(ScalarValue, i32)>, v: &ScalarValue, by: i32) {
    if let Some(e) = entries.iter_mut().find(|(x, _)| x == v) {
        e.1 = e.1.saturating_add(by).max(0);
    } else if by > 0 {
        entries.push((v.clone(), by));
    }
}

impl Accumulator for Attr {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) {
            update(&mut self.entries, &v, 1);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if let Some(v) = args.first().and_then(|v| coerce(v, &self.t)) {
            update(&mut self.entries, &v, -1);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(o) = downcast::<Attr>(other) else {
            return;
        };
        // ksqlDB's merge(earlier, later) folds the later counts into the earlier list.
        let later = std::mem::replace(&mut self.entries, o.entries.clone());
        for (v, n) in later {
            update(&mut self.entries, &v, n);
        }
    }
    fn result(&self) -> ScalarValue {
        let mut live = self.entries.iter().filter(|(_, n)| *n > 0);
        match (live.next(), live.next()) {
            (Some((v, _)), None) => v.clone(),
            _ => null_of(&self.t),
        }
    }
    fn state(&self) -> Json {
        Json::Array(
            self.entries
                .iter()
                .map(|(v, n)| json!({ "value": to_json(v), "count": n }))
                .collect(),
        )
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = || "bad ATTR state".to_string();
        self.entries = state
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|e| {
                let n = field(e, "count")?.as_i64().ok_or_else(bad)?;
                Ok((
                    from_json(field(e, "value")?, &self.t)?,
                    i32::try_from(n).map_err(|_| bad())?,
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

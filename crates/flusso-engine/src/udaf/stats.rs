//! STDDEV_SAMP and STDDEV_SAMPLE over INT, BIGINT or DOUBLE, and CORRELATION(x, y) over two
//! columns of one of those types; all DOUBLE and undoable.
//!
//! These follow ksqlDB's arithmetic exactly, quirks included: STDDEV_SAMP returns the sample
//! *variance* (no square root), integer inputs keep a wrapping sum in their own type, and
//! undo uses ksqlDB's (inexact) update.

use std::any::Any;

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::sum::Total;
use super::{downcast, f64_json, field, json_f64, Accumulator, AggregateFunction};
use super::{Fail, Resolved};
use crate::types::SqlType;

fn numeric(t: &SqlType) -> bool {
    matches!(t, SqlType::Int | SqlType::Bigint | SqlType::Double)
}

/// `STDDEV_SAMP(x)` / `STDDEV_SAMPLE(x)` (`name` upper case).
pub(crate) fn stddev(name: &str, types: &[SqlType]) -> Resolved {
    let [t] = types else {
        return Err(Fail::NoMatch);
    };
    if !numeric(t) {
        return Err(Fail::NoMatch);
    }
    let t = t.clone();
    let sqrt = name == "STDDEV_SAMPLE";
    Ok(AggregateFunction::new(
        name,
        SqlType::Double,
        true,
        move || {
            Box::new(StdDev {
                sum: Total::zero(&t),
                t: t.clone(),
                sqrt,
                count: 0,
                m2: 0.0,
            })
        },
    ))
}

/// `CORRELATION(x, y)`.
pub(crate) fn correlation(types: &[SqlType]) -> Resolved {
    match types {
        [x, y] if numeric(x) && x == y => {
            let t = x.clone();
            Ok(AggregateFunction::new(
                "CORRELATION",
                SqlType::Double,
                true,
                move || {
                    Box::new(Correlation {
                        t: t.clone(),
                        sums: [0.0; 5],
                        count: 0,
                    })
                },
            ))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// Sample standard deviation (Youngs-Cramer), as ksqlDB keeps it: sum, count and M2.
#[derive(Debug)]
pub(crate) struct StdDev {
    t: SqlType,
    /// STDDEV_SAMPLE (square root of the variance) rather than STDDEV_SAMP.
    sqrt: bool,
    sum: Total,
    count: i64,
    m2: f64,
}

impl StdDev {
    /// ksqlDB's `createDelta`: `v * (count + 1) - (sum + v)`, in the input's arithmetic.
    fn delta(&self, v: Total) -> f64 {
        let n = self.count.wrapping_add(1);
        match (self.sum, v) {
            (Total::Int(s), Total::Int(x)) => (x as i64)
                .wrapping_mul(n)
                .wrapping_sub(s.wrapping_add(x) as i64)
                as f64,
            (Total::Big(s), Total::Big(x)) => {
                x.wrapping_mul(n).wrapping_sub(s.wrapping_add(x)) as f64
            }
            (s, x) => x.as_f64() * n as f64 - (s.as_f64() + x.as_f64()),
        }
    }

    /// ksqlDB's mean difference for merging (integer division for STDDEV_SAMP's integers).
    fn mean_gap(&self, two: &StdDev) -> f64 {
        match (self.sum, two.sum) {
            (Total::Int(a), Total::Int(b)) if !self.sqrt => {
                ((a as i64).wrapping_div(self.count) - (b as i64).wrapping_div(two.count)) as f64
            }
            (Total::Big(a), Total::Big(b)) if !self.sqrt => {
                (a.wrapping_div(self.count)).wrapping_sub(b.wrapping_div(two.count)) as f64
            }
            (a, b) => a.as_f64() / self.count as f64 - b.as_f64() / two.count as f64,
        }
    }

    fn value(&self, args: &[ScalarValue]) -> Option<Total> {
        Total::of(args.first()?, &self.t)
    }
}

impl Accumulator for StdDev {
    fn add(&mut self, args: &[ScalarValue]) {
        let Some(v) = self.value(args) else {
            return;
        };
        let n = self.count.wrapping_add(1);
        let m2 = if n.wrapping_sub(1) > 0 {
            let d = self.delta(v);
            d * d / n.wrapping_mul(n.wrapping_sub(1)) as f64
        } else {
            0.0
        };
        self.count = n;
        self.sum = self.sum.plus(v, false);
        self.m2 += m2;
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        let Some(v) = self.value(args) else {
            return;
        };
        let n = self.count.wrapping_sub(1);
        let m2 = if n > 0 {
            let d = self.delta(v);
            d * d / n.wrapping_mul(n.wrapping_add(1)) as f64
        } else {
            0.0
        };
        self.count = n;
        self.sum = self.sum.plus(v, true);
        self.m2 -= m2;
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        let Some(one) = downcast::<StdDev>(other) else {
            return;
        };
        // ksqlDB's merge(one = earlier, two = later).
        let (c1, c2) = (one.count, self.count);
        let n = c1.wrapping_add(c2);
        let m2 = if c1 == 0 || c2 == 0 {
            one.m2 + self.m2
        } else {
            let gap = one.mean_gap(self);
            one.m2 + self.m2 + c1.wrapping_mul(c2) as f64 * gap * gap / n as f64
        };
        self.sum = one.sum.plus(self.sum, false);
        self.count = n;
        self.m2 = m2;
    }
    fn result(&self) -> ScalarValue {
        if self.count < 2 {
            return ScalarValue::Float64(Some(0.0));
        }
        let variance = self.m2 / (self.count - 1) as f64;
        ScalarValue::Float64(Some(if self.sqrt { variance.sqrt() } else { variance }))
    }
    fn state(&self) -> Json {
        json!({ "sum": self.sum.to_json(), "count": self.count, "m2": f64_json(self.m2) })
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = "bad STDDEV state";
        self.sum = Total::from_json(field(state, "sum")?, &self.t).ok_or(bad)?;
        self.count = field(state, "count")?.as_i64().ok_or(bad)?;
        self.m2 = json_f64(field(state, "m2")?).ok_or(bad)?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Pearson correlation from sums: x, y, x², y², xy, and the count of rows with both values.
#[derive(Debug)]
pub(crate) struct Correlation {
    t: SqlType,
    sums: [f64; 5],
    count: i64,
}

impl Correlation {
    fn terms(&self, args: &[ScalarValue]) -> Option<[f64; 5]> {
        let x = Total::of(args.first()?, &self.t)?.as_f64();
        let y = Total::of(args.get(1)?, &self.t)?.as_f64();
        Some([x, y, x * x, y * y, x * y])
    }
}

impl Accumulator for Correlation {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(t) = self.terms(args) {
            for (s, t) in self.sums.iter_mut().zip(t) {
                *s += t;
            }
            self.count = self.count.wrapping_add(1);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if let Some(t) = self.terms(args) {
            for (s, t) in self.sums.iter_mut().zip(t) {
                *s -= t;
            }
            self.count = self.count.wrapping_sub(1);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<Correlation>(other) {
            for (s, t) in self.sums.iter_mut().zip(o.sums) {
                *s += t;
            }
            self.count = o.count.wrapping_add(self.count);
        }
    }
    fn result(&self) -> ScalarValue {
        let [sx, sy, sxx, syy, sxy] = self.sums;
        let n = self.count as f64;
        let numerator = n * sxy - sx * sy;
        let dx = n * sxx - sx * sx;
        let dy = n * syy - sy * sy;
        ScalarValue::Float64(Some(numerator / (dx * dy).sqrt()))
    }
    fn state(&self) -> Json {
        json!({
            "sums": self.sums.iter().map(|s| f64_json(*s)).collect::<Vec<_>>(),
            "count": self.count,
        })
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        let bad = || "bad CORRELATION state".to_string();
        let sums = field(state, "sums")?.as_array().ok_or_else(bad)?;
        if sums.len() != 5 {
            return Err(bad());
        }
        for (s, j) in self.sums.iter_mut().zip(sums) {
            *s = json_f64(j).ok_or_else(bad)?;
        }
        self.count = field(state, "count")?.as_i64().ok_or_else(bad)?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! SUM (INT, BIGINT, DOUBLE, DECIMAL), SUM_LIST (ARRAY of INT, BIGINT or DOUBLE) and AVG (INT,
//! BIGINT, DOUBLE to DOUBLE), all undoable. Integer sums wrap like Java's; a DECIMAL sum that
//! no longer fits its precision fails the row with ksqlDB's `Numeric field overflow`.

use std::any::Any;

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::{coerce, downcast, f64_json, field, json_f64, Accumulator, AggregateFunction};
use super::{Fail, Resolved};
use crate::types::SqlType;
use crate::value::{decimal_to_string, list_items};

/// `SUM(x)`: the type of `x`.
pub(crate) fn sum(types: &[SqlType]) -> Resolved {
    match types {
        [t @ (SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal(..))] => {
            let t = t.clone();
            Ok(AggregateFunction::new("SUM", t.clone(), true, move || {
                Box::new(Sum::new(t.clone(), false))
            }))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// `SUM_LIST(list)`: the element type of `list`.
pub(crate) fn sum_list(types: &[SqlType]) -> Resolved {
    match types {
        [SqlType::Array(e)] if matches!(**e, SqlType::Int | SqlType::Bigint | SqlType::Double) => {
            let t = (**e).clone();
            Ok(AggregateFunction::new(
                "SUM_LIST",
                t.clone(),
                true,
                move || Box::new(Sum::new(t.clone(), true)),
            ))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// `AVG(x)`: DOUBLE.
pub(crate) fn avg(types: &[SqlType]) -> Resolved {
    match types {
        [t @ (SqlType::Int | SqlType::Bigint | SqlType::Double)] => {
            let t = t.clone();
            Ok(AggregateFunction::new(
                "AVG",
                SqlType::Double,
                true,
                move || {
                    Box::new(Avg {
                        total: Total::zero(&t),
                        count: 0,
                        input: t.clone(),
                    })
                },
            ))
        }
        _ => Err(Fail::NoMatch),
    }
}

/// A running total in the input's Java type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Total {
    Int(i32),
    Big(i64),
    Dbl(f64),
    /// Unscaled, at the input's scale.
    Dec(i128),
}

impl Total {
    pub(crate) fn zero(t: &SqlType) -> Total {
        match t {
            SqlType::Int => Total::Int(0),
            SqlType::Bigint => Total::Big(0),
            SqlType::Decimal(..) => Total::Dec(0),
            _ => Total::Dbl(0.0),
        }
    }

    /// A non-null value of `t` as a total of the same kind.
    pub(crate) fn of(v: &ScalarValue, t: &SqlType) -> Option<Total> {
        match coerce(v, t)? {
            ScalarValue::Int32(Some(x)) => Some(Total::Int(x)),
            ScalarValue::Int64(Some(x)) => Some(Total::Big(x)),
            ScalarValue::Float64(Some(x)) => Some(Total::Dbl(x)),
            ScalarValue::Decimal128(Some(x), ..) => Some(Total::Dec(x)),
            _ => None,
        }
    }

    /// `self + o` (`self - o` when `negate`), wrapping like Java.
    pub(crate) fn plus(self, o: Total, negate: bool) -> Total {
        match (self, o) {
            (Total::Int(a), Total::Int(b)) if negate => Total::Int(a.wrapping_sub(b)),
            (Total::Int(a), Total::Int(b)) => Total::Int(a.wrapping_add(b)),
            (Total::Big(a), Total::Big(b)) if negate => Total::Big(a.wrapping_sub(b)),
            (Total::Big(a), Total::Big(b)) => Total::Big(a.wrapping_add(b)),
            (Total::Dbl(a), Total::Dbl(b)) if negate => Total::Dbl(a - b),
            (Total::Dbl(a), Total::Dbl(b)) => Total::Dbl(a + b),
            (Total::Dec(a), Total::Dec(b)) if negate => Total::Dec(a.saturating_sub(b)),
            (Total::Dec(a), Total::Dec(b)) => Total::Dec(a.saturating_add(b)),
            (a, _) => a,
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Total::Int(x) => x as f64,
            Total::Big(x) => x as f64,
            Total::Dbl(x) => x,
            Total::Dec(x) => x as f64,
        }
    }

    fn to_scalar(self, t: &SqlType) -> ScalarValue {
        match (self, t) {
            (Total::Int(x), _) => ScalarValue::Int32(Some(x)),
            (Total::Big(x), _) => ScalarValue::Int64(Some(x)),
            (Total::Dbl(x), _) => ScalarValue::Float64(Some(x)),
            (Total::Dec(x), SqlType::Decimal(p, s)) => ScalarValue::Decimal128(Some(x), *p, *s),
            (Total::Dec(_), _) => ScalarValue::Float64(Some(self.as_f64())),
        }
    }

    pub(crate) fn to_json(self) -> Json {
        match self {
            Total::Int(x) => Json::from(x),
            Total::Big(x) => Json::from(x),
            Total::Dbl(x) => f64_json(x),
            Total::Dec(x) => Json::String(x.to_string()),
        }
    }

    pub(crate) fn from_json(j: &Json, t: &SqlType) -> Option<Total> {
        Some(match Total::zero(t) {
            Total::Int(_) => Total::Int(i32::try_from(j.as_i64()?).ok()?),
            Total::Big(_) => Total::Big(j.as_i64()?),
            Total::Dbl(_) => Total::Dbl(json_f64(j)?),
            Total::Dec(_) => Total::Dec(j.as_str()?.parse().ok()?),
        })
    }
}

/// `SUM(x)` and `SUM_LIST(list)`.
#[derive(Debug)]
pub(crate) struct Sum {
    /// The type summed (the element type for SUM_LIST).
    t: SqlType,
    list: bool,
    total: Total,
    error: Option<String>,
}

impl Sum {
    fn new(t: SqlType, list: bool) -> Sum {
        Sum {
            total: Total::zero(&t),
            t,
            list,
            error: None,
        }
    }

    /// What a row adds: its value, or for SUM_LIST the sum of its non-null elements.
    fn amount(&self, args: &[ScalarValue]) -> Option<Total> {
        let v = args.first()?;
        if v.is_null() {
            return None;
        }
        if !self.list {
            return Total::of(v, &self.t);
        }
        let items = list_items(v)?;
        Some(
            items
                .iter()
                .filter_map(|i| Total::of(i, &self.t))
                .fold(Total::zero(&self.t), |acc, x| acc.plus(x, false)),
        )
    }
}

/// ksqlDB's message when a DECIMAL sum overflows: the sum rounded to the precision, in plain
/// notation.
fn decimal_overflow(sum: i128, precision: u8, scale: i8) -> String {
    let digits = sum.unsigned_abs().to_string().len() as i32;
    let mut drop = (digits - precision as i32).max(0) as u32;
    let mut u = sum;
    if drop > 0 {
        let factor = 10i128.pow(drop);
        let (q, r) = (u / factor, u % factor);
        u = if r.unsigned_abs() * 2 >= factor.unsigned_abs() {
            q + u.signum()
        } else {
            q
        };
        if u.unsigned_abs().to_string().len() as i32 > precision as i32 {
            u /= 10;
            drop += 1;
        }
    }
    format!(
        "Numeric field overflow: A field with precision {precision} and scale {scale} must round \
         to an absolute value less than 10^{}. Got {}",
        precision as i32 - scale as i32,
        decimal_to_string(u, (scale as i32 - drop as i32) as i8)
    )
}

impl Accumulator for Sum {
    fn add(&mut self, args: &[ScalarValue]) {
        self.error = None;
        let Some(x) = self.amount(args) else {
            return;
        };
        let next = self.total.plus(x, false);
        if let (Total::Dec(u), SqlType::Decimal(p, s)) = (next, &self.t) {
            let limit = 10u128.checked_pow(*p as u32).unwrap_or(u128::MAX);
            if u.unsigned_abs() >= limit {
                self.error = Some(decimal_overflow(u, *p, *s));
                return;
            }
        }
        self.total = next;
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if let Some(x) = self.amount(args) {
            self.total = self.total.plus(x, true);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<Sum>(other) {
            self.total = o.total.plus(self.total, false);
        }
    }
    fn result(&self) -> ScalarValue {
        self.total.to_scalar(&self.t)
    }
    fn state(&self) -> Json {
        json!({ "sum": self.total.to_json() })
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.total = Total::from_json(field(state, "sum")?, &self.t).ok_or("bad SUM state")?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn error(&self) -> Option<String> {
        self.error.clone()
    }
}

/// `AVG(x)`: the sum (in the input's type) over the count of non-null values; 0.0 for none.
#[derive(Debug)]
pub(crate) struct Avg {
    input: SqlType,
    total: Total,
    count: i64,
}

impl Accumulator for Avg {
    fn add(&mut self, args: &[ScalarValue]) {
        if let Some(x) = args.first().and_then(|v| Total::of(v, &self.input)) {
            self.total = self.total.plus(x, false);
            self.count = self.count.wrapping_add(1);
        }
    }
    fn undo(&mut self, args: &[ScalarValue]) {
        if let Some(x) = args.first().and_then(|v| Total::of(v, &self.input)) {
            self.total = self.total.plus(x, true);
            self.count = self.count.wrapping_sub(1);
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) {
        if let Some(o) = downcast::<Avg>(other) {
            self.total = o.total.plus(self.total, false);
            self.count = o.count.wrapping_add(self.count);
        }
    }
    fn result(&self) -> ScalarValue {
        if self.count == 0 {
            return ScalarValue::Float64(Some(0.0));
        }
        ScalarValue::Float64(Some(self.total.as_f64() / self.count as f64))
    }
    fn state(&self) -> Json {
        json!({ "sum": self.total.to_json(), "count": self.count })
    }
    fn restore(&mut self, state: &Json) -> Result<(), String> {
        self.total = Total::from_json(field(state, "sum")?, &self.input).ok_or("bad AVG state")?;
        self.count = field(state, "count")?.as_i64().ok_or("bad AVG state")?;
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! Vectorised forms of COUNT, SUM, AVG, MIN, MAX and single-argument LATEST_BY_OFFSET /
//! EARLIEST_BY_OFFSET over INT, BIGINT and DOUBLE: one state vector per aggregate call, indexed
//! by group id, fed whole Arrow arrays.
//!
//! They compute exactly what the row accumulators of this module's siblings compute (Java's
//! wrapping integer sums, ksqlDB's MIN/MAX replacement rule, AVG of no values is 0.0) and save
//! the same changelog state, so a query's state reads back whichever form wrote it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, Float64Array, Int64Array, PrimitiveArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::{f64_json, field, json_f64};
use crate::types::SqlType;
use crate::value::{from_json, to_json, write_int, write_json, write_value};

/// Which vectorised form an aggregate function has.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnarKind {
    /// `COUNT()`, `COUNT(*)`, `COUNT(x)`.
    Count,
    /// `SUM(x)`, of x's type.
    Sum(SqlType),
    /// `AVG(x)` over x's type.
    Avg(SqlType),
    /// `MIN(x)`.
    Min(SqlType),
    /// `MAX(x)`.
    Max(SqlType),
    /// `LATEST_BY_OFFSET(x)` (`true`) or `EARLIEST_BY_OFFSET(x)`, nulls ignored.
    ByOffset(SqlType, bool),
}

/// The vectorised form of the function `upper` for arguments of `types`, if it has one.
pub(crate) fn kind(upper: &str, types: &[SqlType]) -> Option<ColumnarKind> {
    let numeric = match types {
        [t @ (SqlType::Int | SqlType::Bigint | SqlType::Double)] => Some(t.clone()),
        _ => None,
    };
    match upper {
        "COUNT" if types.len() <= 1 => Some(ColumnarKind::Count),
        "SUM" => numeric.map(ColumnarKind::Sum),
        "AVG" => numeric.map(ColumnarKind::Avg),
        "MIN" => numeric.map(ColumnarKind::Min),
        "MAX" => numeric.map(ColumnarKind::Max),
        "LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET" => {
            numeric.map(|t| ColumnarKind::ByOffset(t, upper == "LATEST_BY_OFFSET"))
        }
        _ => None,
    }
}

/// The per-group state of one aggregate call.
pub trait GroupsAccumulator: Send + Sync {
    /// Makes room for group ids below `groups`; group `g` starts (again) empty after
    /// [`GroupsAccumulator::reset`].
    fn resize(&mut self, groups: usize);
    /// Empties group `g` (a new group in a reused slot).
    fn reset(&mut self, g: usize);
    /// Applies input row `rows[k]` to group `groups[k]`, for each `k` in order, and returns the
    /// group's result after each.
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef;
    /// The current results of `groups`.
    fn results(&self, groups: &[u32]) -> ArrayRef;
    /// Group `g`'s state for the changelog (as the row accumulator writes it).
    fn state(&self, g: usize) -> Json;
    /// Writes the text of [`GroupsAccumulator::state`]`(g)`.
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        write_value(&self.state(g), out);
    }
    /// Replaces group `g`'s state with one [`GroupsAccumulator::state`] returned.
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String>;
}

/// A fresh vectorised accumulator of `kind`.
pub fn create(kind: &ColumnarKind) -> Box<dyn GroupsAccumulator> {
    fn by_type<F: FnOnce() -> Box<dyn GroupsAccumulator>>(
        t: &SqlType,
        int: F,
        big: impl FnOnce() -> Box<dyn GroupsAccumulator>,
        dbl: impl FnOnce() -> Box<dyn GroupsAccumulator>,
    ) -> Box<dyn GroupsAccumulator> {
        match t {
            SqlType::Int => int(),
            SqlType::Bigint => big(),
            _ => dbl(),
        }
    }
    match kind {
        ColumnarKind::Count => Box::new(CountAcc::default()),
        ColumnarKind::Sum(t) => by_type(
            t,
            || Box::new(SumAcc::<Int32Type>::default()),
            || Box::new(SumAcc::<Int64Type>::default()),
            || Box::new(SumAcc::<Float64Type>::default()),
        ),
        ColumnarKind::Avg(t) => by_type(
            t,
            || Box::new(AvgAcc::<Int32Type>::default()),
            || Box::new(AvgAcc::<Int64Type>::default()),
            || Box::new(AvgAcc::<Float64Type>::default()),
        ),
        ColumnarKind::Min(t) | ColumnarKind::Max(t) => {
            let max = matches!(kind, ColumnarKind::Max(_));
            by_type(
                t,
                || Box::new(MinMaxAcc::<Int32Type>::new(max)),
                || Box::new(MinMaxAcc::<Int64Type>::new(max)),
                || Box::new(MinMaxAcc::<Float64Type>::new(max)),
            )
        }
        ColumnarKind::ByOffset(t, latest) => by_type(
            t,
            || Box::new(ByOffsetAcc::<Int32Type>::new(*latest)),
            || Box::new(ByOffsetAcc::<Int64Type>::new(*latest)),
            || Box::new(ByOffsetAcc::<Float64Type>::new(*latest)),
        ),
    }
}

/// A number the vectorised accumulators sum and compare.
pub trait Num: Copy + Default + PartialOrd + Send + Sync + 'static {
    /// Its Arrow type.
    type Arrow: ArrowPrimitiveType<Native = Self>;
    /// `self + o`, wrapping like Java for integers.
    fn plus(self, o: Self) -> Self;
    /// As a double (AVG).
    fn as_f64(self) -> f64;
    /// As the changelog writes a total.
    fn to_json(self) -> Json;
    /// A total from [`Num::to_json`].
    fn from_json(j: &Json) -> Option<Self>;
    /// Writes the text of [`Num::to_json`].
    fn write_json(self, out: &mut Vec<u8>) {
        write_value(&self.to_json(), out);
    }
    /// As a single value.
    fn scalar(self) -> ScalarValue;
    /// The SQL type.
    fn sql_type() -> SqlType;
}

impl Num for i32 {
    type Arrow = Int32Type;
    fn plus(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn to_json(self) -> Json {
        Json::from(self)
    }
    fn from_json(j: &Json) -> Option<Self> {
        i32::try_from(j.as_i64()?).ok()
    }
    fn write_json(self, out: &mut Vec<u8>) {
        write_int(i64::from(self), out);
    }
    fn scalar(self) -> ScalarValue {
        ScalarValue::Int32(Some(self))
    }
    fn sql_type() -> SqlType {
        SqlType::Int
    }
}

impl Num for i64 {
    type Arrow = Int64Type;
    fn plus(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn to_json(self) -> Json {
        Json::from(self)
    }
    fn from_json(j: &Json) -> Option<Self> {
        j.as_i64()
    }
    fn write_json(self, out: &mut Vec<u8>) {
        write_int(self, out);
    }
    fn scalar(self) -> ScalarValue {
        ScalarValue::Int64(Some(self))
    }
    fn sql_type() -> SqlType {
        SqlType::Bigint
    }
}

impl Num for f64 {
    type Arrow = Float64Type;
    fn plus(self, o: Self) -> Self {
        self + o
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn to_json(self) -> Json {
        f64_json(self)
    }
    fn from_json(j: &Json) -> Option<Self> {
        json_f64(j)
    }
    fn scalar(self) -> ScalarValue {
        ScalarValue::Float64(Some(self))
    }
    fn sql_type() -> SqlType {
        SqlType::Double
    }
}

/// The first argument as `T`'s array (`None`: no argument, or not of that type).
fn first<T: ArrowPrimitiveType>(args: &[ArrayRef]) -> Option<&PrimitiveArray<T>> {
    args.first().and_then(|a| a.as_primitive_opt::<T>())
}

/// An array of `values`, null where `valid` is false.
fn nullable<T: ArrowPrimitiveType>(values: Vec<T::Native>, valid: Vec<bool>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(
        values.into(),
        Some(NullBuffer::from(valid)),
    ))
}

/// The values of `groups`, null where the group has none.
fn gather<T: ArrowPrimitiveType>(values: &[T::Native], set: &[bool], groups: &[u32]) -> ArrayRef {
    nullable::<T>(
        groups.iter().map(|&g| values[g as usize]).collect(),
        groups.iter().map(|&g| set[g as usize]).collect(),
    )
}

/// A restored value as `N` (`None`: null).
/// Writes a held value, or `null` when none is set.
fn write_set<N: Num>(value: N, set: bool, out: &mut Vec<u8>) {
    match set {
        true => write_json(&value.scalar(), out),
        false => out.extend_from_slice(b"null"),
    }
}

fn native<N: Num>(v: &ScalarValue) -> Option<N> {
    match v {
        ScalarValue::Int32(Some(x)) => N::from_json(&Json::from(*x)),
        ScalarValue::Int64(Some(x)) => N::from_json(&Json::from(*x)),
        ScalarValue::Float64(Some(x)) => N::from_json(&f64_json(*x)),
        _ => None,
    }
}

fn grow<T: Default + Clone>(v: &mut Vec<T>, groups: usize) {
    if v.len() < groups {
        v.resize(groups, T::default());
    }
}

/// `COUNT`: rows, or rows whose argument is not null.
#[derive(Default)]
struct CountAcc {
    n: Vec<i64>,
}

impl GroupsAccumulator for CountAcc {
    fn resize(&mut self, groups: usize) {
        grow(&mut self.n, groups);
    }
    fn reset(&mut self, g: usize) {
        self.n[g] = 0;
    }
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef {
        let nulls = args.first().and_then(|a| a.logical_nulls());
        let mut out = Vec::with_capacity(rows.len());
        for (&r, &g) in rows.iter().zip(groups) {
            let n = &mut self.n[g as usize];
            if nulls.as_ref().is_none_or(|b| b.is_valid(r as usize)) {
                *n = n.wrapping_add(1);
            }
            out.push(*n);
        }
        Arc::new(Int64Array::from(out))
    }
    fn results(&self, groups: &[u32]) -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            groups.iter().map(|&g| self.n[g as usize]),
        ))
    }
    fn state(&self, g: usize) -> Json {
        Json::from(self.n[g])
    }
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        write_int(self.n[g], out);
    }
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String> {
        self.n[g] = state.as_i64().ok_or("bad COUNT state")?;
        Ok(())
    }
}

/// `SUM`: the total of the non-null values, 0 for none.
struct SumAcc<T: ArrowPrimitiveType> {
    total: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> Default for SumAcc<T> {
    fn default() -> Self {
        SumAcc { total: Vec::new() }
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for SumAcc<T>
where
    T::Native: Num<Arrow = T>,
{
    fn resize(&mut self, groups: usize) {
        grow(&mut self.total, groups);
    }
    fn reset(&mut self, g: usize) {
        self.total[g] = T::Native::default();
    }
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef {
        let mut out = Vec::with_capacity(rows.len());
        if let Some(values) = first::<T>(args) {
            let nulls = values.logical_nulls();
            let raw = values.values();
            for (&r, &g) in rows.iter().zip(groups) {
                let t = &mut self.total[g as usize];
                if nulls.as_ref().is_none_or(|b| b.is_valid(r as usize)) {
                    *t = t.plus(raw[r as usize]);
                }
                out.push(*t);
            }
        }
        Arc::new(PrimitiveArray::<T>::from_iter_values(out))
    }
    fn results(&self, groups: &[u32]) -> ArrayRef {
        Arc::new(PrimitiveArray::<T>::from_iter_values(
            groups.iter().map(|&g| self.total[g as usize]),
        ))
    }
    fn state(&self, g: usize) -> Json {
        json!({ "sum": self.total[g].to_json() })
    }
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"sum\":");
        self.total[g].write_json(out);
        out.push(b'}');
    }
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String> {
        self.total[g] = T::Native::from_json(field(state, "sum")?).ok_or("bad SUM state")?;
        Ok(())
    }
}

/// `AVG`: the total (in the input's type) over the count of non-null values; 0.0 for none.
struct AvgAcc<T: ArrowPrimitiveType> {
    total: Vec<T::Native>,
    count: Vec<i64>,
}

impl<T: ArrowPrimitiveType> Default for AvgAcc<T> {
    fn default() -> Self {
        AvgAcc {
            total: Vec::new(),
            count: Vec::new(),
        }
    }
}

fn average<N: Num>(total: N, count: i64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total.as_f64() / count as f64
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for AvgAcc<T>
where
    T::Native: Num<Arrow = T>,
{
    fn resize(&mut self, groups: usize) {
        grow(&mut self.total, groups);
        grow(&mut self.count, groups);
    }
    fn reset(&mut self, g: usize) {
        self.total[g] = T::Native::default();
        self.count[g] = 0;
    }
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef {
        let mut out = Vec::with_capacity(rows.len());
        if let Some(values) = first::<T>(args) {
            let nulls = values.logical_nulls();
            let raw = values.values();
            for (&r, &g) in rows.iter().zip(groups) {
                let g = g as usize;
                if nulls.as_ref().is_none_or(|b| b.is_valid(r as usize)) {
                    self.total[g] = self.total[g].plus(raw[r as usize]);
                    self.count[g] = self.count[g].wrapping_add(1);
                }
                out.push(average(self.total[g], self.count[g]));
            }
        }
        Arc::new(Float64Array::from(out))
    }
    fn results(&self, groups: &[u32]) -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(groups.iter().map(|&g| {
            average(self.total[g as usize], self.count[g as usize])
        })))
    }
    fn state(&self, g: usize) -> Json {
        json!({ "sum": self.total[g].to_json(), "count": self.count[g] })
    }
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"sum\":");
        self.total[g].write_json(out);
        out.extend_from_slice(b",\"count\":");
        write_int(self.count[g], out);
        out.push(b'}');
    }
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String> {
        self.total[g] = T::Native::from_json(field(state, "sum")?).ok_or("bad AVG state")?;
        self.count[g] = field(state, "count")?.as_i64().ok_or("bad AVG state")?;
        Ok(())
    }
}

/// `MIN` / `MAX`: NULL until a non-null value arrives; a value replaces the best as ksqlDB's
/// do (`MAX`: when greater; `MIN`: unless greater; NaN never replaces).
struct MinMaxAcc<T: ArrowPrimitiveType> {
    max: bool,
    best: Vec<T::Native>,
    set: Vec<bool>,
}

impl<T: ArrowPrimitiveType> MinMaxAcc<T> {
    fn new(max: bool) -> Self {
        MinMaxAcc {
            max,
            best: Vec::new(),
            set: Vec::new(),
        }
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for MinMaxAcc<T>
where
    T::Native: Num<Arrow = T>,
{
    fn resize(&mut self, groups: usize) {
        grow(&mut self.best, groups);
        grow(&mut self.set, groups);
    }
    fn reset(&mut self, g: usize) {
        self.best[g] = T::Native::default();
        self.set[g] = false;
    }
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef {
        let mut out = Vec::with_capacity(rows.len());
        let mut valid = Vec::with_capacity(rows.len());
        if let Some(values) = first::<T>(args) {
            let nulls = values.logical_nulls();
            let raw = values.values();
            for (&r, &g) in rows.iter().zip(groups) {
                let g = g as usize;
                if nulls.as_ref().is_none_or(|b| b.is_valid(r as usize)) {
                    let v = raw[r as usize];
                    let best = self.best[g];
                    let replace = !self.set[g]
                        || match best.partial_cmp(&v) {
                            Some(o) if self.max => o == std::cmp::Ordering::Less,
                            Some(o) => o != std::cmp::Ordering::Less,
                            None => false,
                        };
                    if replace {
                        self.best[g] = v;
                        self.set[g] = true;
                    }
                }
                out.push(self.best[g]);
                valid.push(self.set[g]);
            }
        }
        nullable::<T>(out, valid)
    }
    fn results(&self, groups: &[u32]) -> ArrayRef {
        gather::<T>(&self.best, &self.set, groups)
    }
    fn state(&self, g: usize) -> Json {
        match self.set[g] {
            true => to_json(&self.best[g].scalar()),
            false => Json::Null,
        }
    }
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        write_set(self.best[g], self.set[g], out);
    }
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String> {
        let v = from_json(state, &T::Native::sql_type())?;
        self.set[g] = !v.is_null();
        self.best[g] = native(&v).unwrap_or_default();
        Ok(())
    }
}

/// `LATEST_BY_OFFSET` / `EARLIEST_BY_OFFSET` of one argument, nulls ignored. As the row form
/// (`offset.rs`), each value is stamped with the process-wide sequence, LATEST starts from a
/// stamped null and EARLIEST from nothing; the state is the same `{"seq", "val"}`.
struct ByOffsetAcc<T: ArrowPrimitiveType> {
    latest: bool,
    /// Whether the group holds a stamped value (possibly null).
    held: Vec<bool>,
    seq: Vec<i64>,
    /// Whether the held value is not null, and the value.
    set: Vec<bool>,
    value: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> ByOffsetAcc<T> {
    fn new(latest: bool) -> Self {
        ByOffsetAcc {
            latest,
            held: Vec::new(),
            seq: Vec::new(),
            set: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Group `g` empty, as the row form's `create`.
    fn empty(&mut self, g: usize, seq: i64) {
        self.held[g] = self.latest;
        self.seq[g] = seq;
        self.set[g] = false;
        self.value[g] = T::Native::default();
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for ByOffsetAcc<T>
where
    T::Native: Num<Arrow = T>,
{
    fn resize(&mut self, groups: usize) {
        let from = self.held.len();
        if from >= groups {
            return;
        }
        grow(&mut self.held, groups);
        grow(&mut self.seq, groups);
        grow(&mut self.set, groups);
        grow(&mut self.value, groups);
        let first = if self.latest {
            super::offset::next_seqs(groups - from)
        } else {
            -1
        };
        for g in from..groups {
            let seq = if self.latest {
                first + (g - from) as i64
            } else {
                -1
            };
            self.empty(g, seq);
        }
    }
    fn reset(&mut self, g: usize) {
        let seq = if self.latest {
            super::offset::next_seqs(1)
        } else {
            -1
        };
        self.empty(g, seq);
    }
    fn update(&mut self, args: &[ArrayRef], rows: &[u32], groups: &[u32]) -> ArrayRef {
        let mut out = Vec::with_capacity(rows.len());
        let mut valid = Vec::with_capacity(rows.len());
        if let Some(values) = first::<T>(args) {
            let nulls = values.logical_nulls();
            let raw = values.values();
            // Stamps in row order, from a range taken for the batch (unused ones are skipped).
            let mut seq = super::offset::next_seqs(rows.len());
            for (&r, &g) in rows.iter().zip(groups) {
                let g = g as usize;
                if nulls.as_ref().is_none_or(|b| b.is_valid(r as usize))
                    && (self.latest || !self.held[g])
                {
                    self.held[g] = true;
                    self.set[g] = true;
                    self.value[g] = raw[r as usize];
                    self.seq[g] = seq;
                    seq += 1;
                }
                out.push(self.value[g]);
                valid.push(self.set[g]);
            }
        }
        nullable::<T>(out, valid)
    }
    fn results(&self, groups: &[u32]) -> ArrayRef {
        gather::<T>(&self.value, &self.set, groups)
    }
    fn state(&self, g: usize) -> Json {
        if !self.held[g] {
            return Json::Null;
        }
        let value = match self.set[g] {
            true => self.value[g].scalar(),
            false => crate::value::null_of(&T::Native::sql_type()),
        };
        super::offset::stamped_json(&(self.seq[g], value))
    }
    fn write_state(&self, g: usize, out: &mut Vec<u8>) {
        if !self.held[g] {
            out.extend_from_slice(b"null");
            return;
        }
        out.extend_from_slice(b"{\"seq\":");
        write_int(self.seq[g], out);
        out.extend_from_slice(b",\"val\":");
        write_set(self.value[g], self.set[g], out);
        out.push(b'}');
    }
    fn restore(&mut self, g: usize, state: &Json) -> Result<(), String> {
        if state.is_null() {
            self.held[g] = false;
            self.set[g] = false;
            return Ok(());
        }
        let (seq, v) = super::offset::json_stamped(state, &T::Native::sql_type())?;
        self.held[g] = true;
        self.seq[g] = seq;
        self.set[g] = !v.is_null();
        self.value[g] = native(&v).unwrap_or_default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udaf::{resolve, AggregateArg};
    use datafusion::arrow::array::Int32Array;

    fn arg(t: SqlType) -> AggregateArg {
        AggregateArg {
            sql_type: t,
            literal: None,
        }
    }

    /// Runs `values` through the row accumulator and the vectorised one (two groups,
    /// alternating): every result and the final states agree.
    fn agree(name: &str, t: SqlType, values: ArrayRef) {
        let f = resolve(name, &[arg(t.clone())]).unwrap();
        let kind = f.columnar.clone().expect("a vectorised form");
        let mut col = create(&kind);
        col.resize(2);
        col.reset(0);
        col.reset(1);
        let mut rows = [f.create(), f.create()];
        let n = values.len() as u32;
        let idx: Vec<u32> = (0..n).collect();
        let groups: Vec<u32> = (0..n).map(|i| i % 2).collect();
        let out = col.update(std::slice::from_ref(&values), &idx, &groups);
        for i in 0..n as usize {
            let acc = &mut rows[i % 2];
            acc.add(&[ScalarValue::try_from_array(&values, i).unwrap()]);
            assert_eq!(
                ScalarValue::try_from_array(&out, i).unwrap(),
                acc.result(),
                "{name} row {i}"
            );
        }
        // Sequence stamps are process-wide: the two forms' differ, their order does not matter
        // between groups.
        let unstamped = |mut j: Json| {
            if let Some(seq) = j.get_mut("seq") {
                *seq = Json::from(0);
            }
            j
        };
        for (g, row) in rows.iter().enumerate() {
            assert_eq!(
                unstamped(col.state(g)),
                unstamped(row.state()),
                "{name} state"
            );
            // The state reads back in both forms.
            let mut again = create(&kind);
            again.resize(1);
            again.restore(0, &row.state()).unwrap();
            assert_eq!(
                ScalarValue::try_from_array(&again.results(&[0]), 0).unwrap(),
                row.result()
            );
        }
    }

    #[test]
    fn vectorised_forms_match_the_row_accumulators() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(3),
            None,
            Some(i32::MAX),
            Some(-7),
            Some(i32::MAX),
            Some(5),
        ]));
        let bigs: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(-1), Some(4), Some(9)]));
        let dbls: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.5),
            Some(f64::NAN),
            None,
            Some(-2.25),
            Some(0.1),
            Some(7.0),
        ]));
        let all = [
            "COUNT",
            "SUM",
            "AVG",
            "MIN",
            "MAX",
            "LATEST_BY_OFFSET",
            "EARLIEST_BY_OFFSET",
        ];
        for name in all {
            agree(name, SqlType::Int, Arc::clone(&ints));
            agree(name, SqlType::Bigint, Arc::clone(&bigs));
        }
        for name in ["COUNT", "SUM", "AVG", "MAX", "LATEST_BY_OFFSET"] {
            agree(name, SqlType::Double, Arc::clone(&dbls));
        }
    }

    #[test]
    fn count_star_counts_every_row() {
        let mut c = create(&ColumnarKind::Count);
        c.resize(1);
        let out = c.update(&[], &[0, 1, 2], &[0, 0, 0]);
        assert_eq!(
            out.as_primitive::<Int64Type>().values().to_vec(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn only_numeric_sums_are_vectorised() {
        assert_eq!(kind("SUM", &[SqlType::Decimal(4, 2)]), None);
        assert_eq!(kind("MIN", &[SqlType::String]), None);
        assert_eq!(kind("COUNT", &[SqlType::String]), Some(ColumnarKind::Count));
        assert_eq!(kind("TOPK", &[SqlType::Int]), None);
    }
}

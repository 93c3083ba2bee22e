//! Unit tests of the aggregate functions, mostly replaying ksqlDB's conformance cases.

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::*;
use crate::value::{from_json, list_items, to_json};

pub(super) fn col(t: SqlType) -> AggregateArg {
    AggregateArg {
        sql_type: t,
        literal: None,
    }
}

pub(super) fn lit(v: ScalarValue) -> AggregateArg {
    AggregateArg {
        sql_type: SqlType::from_arrow(&v.data_type()).unwrap_or(SqlType::Int),
        literal: Some(v),
    }
}

pub(super) fn int(x: i32) -> ScalarValue {
    ScalarValue::Int32(Some(x))
}

pub(super) fn big(x: i64) -> ScalarValue {
    ScalarValue::Int64(Some(x))
}

pub(super) fn dbl(x: f64) -> ScalarValue {
    ScalarValue::Float64(Some(x))
}

pub(super) fn text(s: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(s.to_string()))
}

pub(super) fn null_int() -> ScalarValue {
    ScalarValue::Int32(None)
}

pub(super) fn func(name: &str, args: Vec<AggregateArg>) -> AggregateFunction {
    match resolve(name, &args) {
        Ok(f) => f,
        Err(e) => panic!("{name}: {e}"),
    }
}

pub(super) fn err(name: &str, args: Vec<AggregateArg>) -> String {
    match resolve(name, &args) {
        Ok(f) => panic!("{name} resolved to {f:?}"),
        Err(e) => e,
    }
}

/// Adds each row (with the call's literal values appended) and returns the JSON results after
/// each row, checking the result type and the state round trip every time.
pub(super) fn replay(
    f: &AggregateFunction,
    literals: &[ScalarValue],
    rows: &[ScalarValue],
) -> Vec<Json> {
    let mut acc = f.create();
    rows.iter()
        .map(|v| {
            let mut args = vec![v.clone()];
            args.extend_from_slice(literals);
            acc.add(&args);
            check(f, acc.as_ref())
        })
        .collect()
}

/// The result as JSON, after checking its type and that restoring the state reproduces it.
pub(super) fn check(f: &AggregateFunction, acc: &dyn Accumulator) -> Json {
    let result = acc.result();
    assert_eq!(result.data_type(), f.return_type.to_arrow(), "{}", f.name);
    let mut copy = f.create();
    copy.restore(&acc.state()).unwrap();
    assert_eq!(copy.result(), result, "{} state {}", f.name, acc.state());
    to_json(&result)
}

pub(super) fn jsons(values: &[Json]) -> Json {
    Json::Array(values.to_vec())
}

#[test]
fn names_and_lookup() {
    for name in NAMES {
        assert!(is_aggregate(name));
        assert!(is_aggregate(&name.to_lowercase()));
    }
    assert!(!is_aggregate("ABS"));
}

#[test]
fn count_rows_and_values() {
    let star = func("count", vec![]);
    assert_eq!(star.return_type, SqlType::Bigint);
    assert!(star.undoable);
    let mut acc = star.create();
    acc.add(&[]);
    acc.add(&[]);
    acc.undo(&[]);
    assert_eq!(check(&star, acc.as_ref()), json!(1));

    let f = func("COUNT", vec![col(SqlType::Int)]);
    let out = replay(&f, &[], &[int(1), null_int(), int(3)]);
    assert_eq!(jsons(&out), json!([1, 1, 2]));
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[int(1)]);
    b.add(&[int(2)]);
    b.add(&[int(2)]);
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!(3));
    assert_eq!(
        err("COUNT", vec![col(SqlType::Int), col(SqlType::Int)]),
        "Function 'COUNT' does not accept parameters (INTEGER, INTEGER)."
    );
}

#[test]
fn count_distinct_values() {
    let f = func("COUNT_DISTINCT", vec![col(SqlType::String)]);
    assert!(!f.undoable);
    let rows = [
        text("one"),
        text("two"),
        text("one"),
        ScalarValue::Utf8(None),
    ];
    assert_eq!(jsons(&replay(&f, &[], &rows)), json!([1, 2, 2, 2]));
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[text("x")]);
    b.add(&[text("x")]);
    b.add(&[text("y")]);
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!(2));
}

#[test]
fn sums() {
    let f = func("SUM", vec![col(SqlType::Int)]);
    assert_eq!(f.return_type, SqlType::Int);
    assert!(f.undoable);
    let out = replay(&f, &[], &[int(5), null_int(), int(i32::MAX), text("x")]);
    assert_eq!(jsons(&out), json!([5, 5, i32::MIN + 4, i32::MIN + 4]));

    let f = func("SUM", vec![col(SqlType::Bigint)]);
    let mut acc = f.create();
    acc.add(&[big(10)]);
    acc.add(&[big(7)]);
    acc.undo(&[big(10)]);
    assert_eq!(check(&f, acc.as_ref()), json!(7));

    let f = func("SUM", vec![col(SqlType::Double)]);
    assert_eq!(
        jsons(&replay(&f, &[], &[dbl(1.5), dbl(2.25)])),
        json!([1.5, 3.75])
    );
    let mut other = f.create();
    other.add(&[dbl(1.0)]);
    let mut acc = f.create();
    acc.merge(other.as_ref());
    assert_eq!(check(&f, acc.as_ref()), json!(1.0));

    assert_eq!(
        err("SUM", vec![col(SqlType::String)]),
        "Function 'SUM' does not accept parameters (STRING)."
    );
}

#[test]
fn decimal_sum_and_overflow() {
    let t = SqlType::Decimal(4, 1);
    let f = func("SUM", vec![col(t.clone())]);
    assert_eq!(f.return_type, t);
    let d = |s: &str| from_json(&json!(s), &t).unwrap();
    let out = replay(&f, &[], &[d("500.9"), d("300.8")]);
    assert_eq!(jsons(&out), json!([500.9, 801.7]));

    let t = SqlType::Decimal(3, 1);
    let f = func("SUM", vec![col(t.clone())]);
    let d = |s: &str| from_json(&json!(s), &t).unwrap();
    let mut acc = f.create();
    acc.add(&[d("50.9")]);
    assert_eq!(acc.error(), None);
    acc.add(&[d("50.8")]);
    assert_eq!(
        acc.error().as_deref(),
        Some(
            "Numeric field overflow: A field with precision 3 and scale 1 must round to an \
             absolute value less than 10^2. Got 102"
        )
    );
    assert_eq!(check(&f, acc.as_ref()), json!(50.9));
    acc.add(&[d("1.0")]);
    assert_eq!(acc.error(), None);
    assert_eq!(check(&f, acc.as_ref()), json!(51.9));
}

#[test]
fn sum_lists() {
    let f = func(
        "SUM_LIST",
        vec![col(SqlType::Array(Box::new(SqlType::Int)))],
    );
    assert_eq!(f.return_type, SqlType::Int);
    let l = |j: Json| from_json(&j, &SqlType::Array(Box::new(SqlType::Int))).unwrap();
    let rows = [
        l(json!([1, 1])),
        l(json!([2, 2])),
        l(json!([100, 100, null])),
    ];
    assert_eq!(jsons(&replay(&f, &[], &rows)), json!([2, 6, 206]));
    assert_eq!(
        err("SUM_LIST", vec![col(SqlType::Int)]),
        "Function 'sum_list' does not accept parameters (INTEGER)."
    );
}

#[test]
fn averages() {
    let f = func("AVG", vec![col(SqlType::Int)]);
    assert_eq!(f.return_type, SqlType::Double);
    assert_eq!(check(&f, f.create().as_ref()), json!(0.0));
    let out = replay(&f, &[], &[int(1), int(2), int(2), null_int()]);
    assert_eq!(
        jsons(&out),
        json!([1.0, 1.5, 1.6666666666666667, 1.6666666666666667])
    );
    // ksqlDB's "average udaf with table": 1, 2, then alice 1 -> null, then null -> 4.
    let mut acc = f.create();
    acc.add(&[int(1)]);
    acc.add(&[int(2)]);
    acc.undo(&[int(1)]);
    acc.add(&[null_int()]);
    assert_eq!(check(&f, acc.as_ref()), json!(2.0));
    acc.undo(&[null_int()]);
    acc.add(&[int(4)]);
    assert_eq!(check(&f, acc.as_ref()), json!(3.0));
    assert_eq!(
        err("avg", vec![col(SqlType::Decimal(4, 2))]),
        "Function 'avg' does not accept parameters (DECIMAL(4, 2))."
    );
}

#[test]
fn min_and_max() {
    let bytes = |s: &str| from_json(&json!(s), &SqlType::Bytes).unwrap();
    let f = func("MAX", vec![col(SqlType::Bytes)]);
    assert!(!f.undoable);
    let rows = [
        ScalarValue::Binary(None),
        bytes("Qg=="),
        bytes("QQ=="),
        bytes("Rg=="),
    ];
    assert_eq!(
        jsons(&replay(&f, &[], &rows)),
        json!([null, "Qg==", "Qg==", "Rg=="])
    );
    let f = func("MIN", vec![col(SqlType::String)]);
    let rows = [text("b"), text("a"), ScalarValue::Utf8(None), text("c")];
    assert_eq!(jsons(&replay(&f, &[], &rows)), json!(["b", "a", "a", "a"]));
    let f = func("MIN", vec![col(SqlType::Double)]);
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[dbl(2.0)]);
    b.add(&[dbl(-1.0)]);
    a.add(&[int(-7)]); // wrong type: ignored
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!(-1.0));
    let f = func("MAX", vec![col(SqlType::Timestamp)]);
    let ts = |x| ScalarValue::TimestampMillisecond(Some(x), None);
    assert_eq!(jsons(&replay(&f, &[], &[ts(5), ts(3)])), json!([5, 5]));
    assert_eq!(
        err("MIN", vec![col(SqlType::Boolean)]),
        "Function 'MIN' does not accept parameters (BOOLEAN)."
    );
}

#[test]
fn topk_with_other_columns() {
    let f = func(
        "TOPK",
        vec![col(SqlType::Int), col(SqlType::String), lit(int(3))],
    );
    assert_eq!(
        f.return_type.to_string(),
        "ARRAY<STRUCT<`sort_col` INTEGER, `col0` STRING>>"
    );
    let rows = [
        (int(0), text("zero")),
        (int(100), text("one")),
        (int(99), text("two")),
        (null_int(), text("three")),
        (int(100), ScalarValue::Utf8(None)),
    ];
    let mut acc = f.create();
    let mut out = Vec::new();
    for (v, name) in rows {
        acc.add(&[v, name, int(3)]);
        out.push(check(&f, acc.as_ref()));
    }
    assert_eq!(
        out[4],
        json!([
            {"sort_col": 100, "col0": "one"},
            {"sort_col": 100, "col0": null},
            {"sort_col": 99, "col0": "two"}
        ])
    );
    assert_eq!(out[0], json!([{"sort_col": 0, "col0": "zero"}]));
}

#[test]
fn topk_plain_and_merge() {
    let f = func("TOPK", vec![col(SqlType::Bigint), lit(int(2))]);
    assert_eq!(f.return_type, SqlType::Array(Box::new(SqlType::Bigint)));
    assert!(!f.undoable);
    let out = replay(&f, &[int(2)], &[big(1), big(5), big(3), big(5)]);
    assert_eq!(jsons(&out), json!([[1], [5, 1], [5, 3], [5, 5]]));
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[big(4), int(2)]);
    a.add(&[big(1), int(2)]);
    b.add(&[big(3), int(2)]);
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!([4, 3]));

    assert_eq!(
        err("TOPK", vec![col(SqlType::Int), lit(big(3))]),
        "Function 'TOPK' does not accept parameters (INTEGER, BIGINT)."
    );
    assert_eq!(
        err("TOPK", vec![col(SqlType::Boolean), lit(int(3))]),
        "Function 'TOPK' does not accept parameters (BOOLEAN, INTEGER)."
    );
    let args = [col(SqlType::Int), col(SqlType::Int)];
    assert_eq!(
        resolve_call("topk", &args, &["V".into(), "K".into()]).err(),
        Some(
            "Parameter 2 passed to function TOPK must be a literal constant, but was \
             expression: 'K'"
                .to_string()
        )
    );
}

#[test]
fn topk_distinct() {
    let f = func("TOPKDISTINCT", vec![col(SqlType::Timestamp), lit(int(3))]);
    let ts = |x| ScalarValue::TimestampMillisecond(Some(x), None);
    let rows = [
        ts(0),
        ts(100),
        ts(99),
        ScalarValue::TimestampMillisecond(None, None),
        ts(-7),
        ts(100),
    ];
    let out = replay(&f, &[int(3)], &rows);
    assert_eq!(out[2], json!([100, 99, 0]));
    assert_eq!(out[5], json!([100, 99, 0]));
    let f = func("TOPKDISTINCT", vec![col(SqlType::String), lit(int(3))]);
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[text("b"), int(3)]);
    a.add(&[text("a"), int(3)]);
    b.add(&[text("b"), int(3)]);
    b.add(&[text("c"), int(3)]);
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!(["c", "b", "a"]));
}

#[test]
fn collect_list_and_set() {
    let f = func("COLLECT_LIST", vec![col(SqlType::Int)]);
    assert!(f.undoable);
    let out = replay(&f, &[], &[int(0), null_int(), int(0)]);
    assert_eq!(jsons(&out), json!([[0], [0, null], [0, null, 0]]));
    let mut acc = f.create();
    for i in 0..1005 {
        acc.add(&[int(i)]);
    }
    assert_eq!(list_items(&acc.result()).map(|l| l.len()), Some(1000));
    acc.undo(&[int(1003)]); // never kept: nothing to remove
    acc.undo(&[int(0)]);
    assert_eq!(list_items(&acc.result()).map(|l| l.len()), Some(999));

    let t = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int));
    let f = func("collect_list", vec![col(t.clone())]);
    let m = from_json(&json!({"a": 1}), &t).unwrap();
    assert_eq!(jsons(&replay(&f, &[], &[m])), json!([[{"a": 1}]]));

    let f = func("COLLECT_SET", vec![col(SqlType::Int)]);
    assert!(!f.undoable);
    let out = replay(&f, &[], &[int(500), int(100), int(500)]);
    assert_eq!(jsons(&out), json!([[500], [500, 100], [500, 100]]));
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[int(1)]);
    b.add(&[int(2)]);
    b.add(&[int(1)]);
    b.merge(a.as_ref());
    assert_eq!(check(&f, b.as_ref()), json!([1, 2]));
}

#[test]
fn histograms() {
    let f = func("HISTOGRAM", vec![col(SqlType::String)]);
    assert_eq!(f.return_type.to_string(), "MAP<STRING, BIGINT>");
    assert!(f.undoable);
    let mut acc = f.create();
    for name in ["carol", "dave", "bob"] {
        acc.add(&[text(name)]);
    }
    acc.add(&[text("dave")]);
    assert_eq!(
        check(&f, acc.as_ref()),
        json!({"carol": 1, "dave": 2, "bob": 1})
    );
    acc.undo(&[text("bob")]);
    acc.undo(&[text("nobody")]);
    assert_eq!(check(&f, acc.as_ref()), json!({"carol": 1, "dave": 2}));
    assert_eq!(
        err("histogram", vec![col(SqlType::Int)]),
        "Function 'histogram' does not accept parameters (INTEGER)."
    );
}

#[test]
fn wrong_values_never_panic() {
    let garbage = [
        ScalarValue::Null,
        text("x"),
        big(i64::MIN),
        dbl(f64::NAN),
        ScalarValue::Boolean(Some(true)),
        ScalarValue::Decimal128(Some(i128::MAX), 38, 0),
    ];
    let calls: Vec<(&str, Vec<AggregateArg>)> = vec![
        ("COUNT", vec![]),
        ("COUNT_DISTINCT", vec![col(SqlType::Int)]),
        ("SUM", vec![col(SqlType::Decimal(5, 2))]),
        (
            "SUM_LIST",
            vec![col(SqlType::Array(Box::new(SqlType::Double)))],
        ),
        ("AVG", vec![col(SqlType::Bigint)]),
        ("MAX", vec![col(SqlType::Date)]),
        (
            "TOPK",
            vec![col(SqlType::String), col(SqlType::Int), lit(int(1))],
        ),
        ("TOPKDISTINCT", vec![col(SqlType::Bytes), lit(int(1))]),
        ("COLLECT_LIST", vec![col(SqlType::Time)]),
        ("COLLECT_SET", vec![col(SqlType::Boolean)]),
        ("HISTOGRAM", vec![col(SqlType::String)]),
        ("LATEST_BY_OFFSET", vec![col(SqlType::Int), lit(int(2))]),
        ("EARLIEST_BY_OFFSET", vec![col(SqlType::Double)]),
        ("STDDEV_SAMP", vec![col(SqlType::Bigint)]),
        ("CORRELATION", vec![col(SqlType::Int), col(SqlType::Int)]),
        ("ATTR", vec![col(SqlType::Double)]),
    ];
    for (name, args) in calls {
        let f = func(name, args);
        let mut acc = f.create();
        for g in &garbage {
            for n in 0..4 {
                let row = vec![g.clone(); n];
                acc.add(&row);
                if f.undoable {
                    acc.undo(&row);
                }
            }
        }
        let other = f.create();
        acc.merge(other.as_ref());
        check(&f, acc.as_ref());
        assert!(acc.restore(&json!("nonsense")).is_err(), "{name}");
    }
}

#[test]
fn nested_intermediates() {
    assert!(!func("SUM", vec![col(SqlType::Int)]).intermediate_is_nested());
    assert!(func("TOPK", vec![col(SqlType::Int), lit(int(3))]).intermediate_is_nested());
    assert!(func("STDDEV_SAMPLE", vec![col(SqlType::Int)]).intermediate_is_nested());
}

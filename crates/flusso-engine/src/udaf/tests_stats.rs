//! Unit tests of the offset, statistics and ATTR aggregates, replaying ksqlDB's conformance
//! cases.

use datafusion::common::ScalarValue;
use serde_json::json;

use super::tests::{big, check, col, dbl, err, func, int, jsons, lit, null_int, replay, text};
use super::*;
use crate::value::from_json;

#[test]
fn earliest_by_offset() {
    let bool_lit = |b| lit(ScalarValue::Boolean(Some(b)));
    let f = func("EARLIEST_BY_OFFSET", vec![col(SqlType::Int)]);
    assert_eq!(f.return_type, SqlType::Int);
    assert!(!f.undoable);
    let rows = [null_int(), int(12), null_int(), int(13)];
    assert_eq!(jsons(&replay(&f, &[], &rows)), json!([null, 12, 12, 12]));
    let f = func(
        "EARLIEST_BY_OFFSET",
        vec![col(SqlType::Int), bool_lit(false)],
    );
    let out = replay(
        &f,
        &[ScalarValue::Boolean(Some(false))],
        &[null_int(), int(13)],
    );
    assert_eq!(jsons(&out), json!([null, null]));
    let args = vec![col(SqlType::Int), lit(int(2)), bool_lit(false)];
    let f = func("EARLIEST_BY_OFFSET", args);
    assert_eq!(f.return_type, SqlType::Array(Box::new(SqlType::Int)));
    let lits = [int(2), ScalarValue::Boolean(Some(false))];
    let out = replay(&f, &lits, &[int(12), null_int(), int(13)]);
    assert_eq!(jsons(&out), json!([[12], [12, null], [12, null]]));
    let f = func("EARLIEST_BY_OFFSET", vec![col(SqlType::Int), lit(int(2))]);
    let out = replay(&f, &[int(2)], &[null_int(), null_int()]);
    assert_eq!(jsons(&out), json!([[], []]));

    // Session merge, nulls not ignored: the earlier stamp wins.
    let f = func(
        "EARLIEST_BY_OFFSET",
        vec![col(SqlType::Int), bool_lit(false)],
    );
    let no = ScalarValue::Boolean(Some(false));
    let mut first = f.create();
    first.add(&[null_int(), no.clone()]);
    let mut second = f.create();
    second.add(&[int(1), no.clone()]);
    second.merge(first.as_ref());
    assert_eq!(check(&f, second.as_ref()), json!(null));

    let args = vec![col(SqlType::Int), col(SqlType::Int)];
    assert_eq!(
        resolve_call("EARLIEST_BY_OFFSET", &args, &["F0".into(), "F0".into()]).err(),
        Some(
            "Parameter 2 passed to function EARLIEST_BY_OFFSET must be a literal constant, \
             but was expression: 'F0'"
                .to_string()
        )
    );
    assert_eq!(
        err("EARLIEST_BY_OFFSET", vec![col(SqlType::Int), lit(int(0))]),
        "earliestN must be 1 or greater"
    );
    assert_eq!(
        err(
            "EARLIEST_BY_OFFSET",
            vec![col(SqlType::Int), col(SqlType::String)]
        ),
        "Function 'EARLIEST_BY_OFFSET' does not accept parameters (INTEGER, STRING)."
    );
}

#[test]
fn latest_by_offset() {
    let bool_lit = |b| lit(ScalarValue::Boolean(Some(b)));
    let f = func("LATEST_BY_OFFSET", vec![col(SqlType::Int), bool_lit(true)]);
    let yes = [ScalarValue::Boolean(Some(true))];
    let out = replay(&f, &yes, &[int(12), null_int(), int(13)]);
    assert_eq!(jsons(&out), json!([12, 12, 13]));
    let args = vec![col(SqlType::Int), lit(int(2)), bool_lit(false)];
    let f = func("LATEST_BY_OFFSET", args);
    let lits = [int(2), ScalarValue::Boolean(Some(false))];
    let out = replay(&f, &lits, &[int(12), null_int(), int(13)]);
    assert_eq!(jsons(&out), json!([[12], [12, null], [null, 13]]));

    // "merging session windows - with nulls not ignored - N": sessions [1] and [null] merge,
    // then 2 arrives.
    let mut s0 = f.create();
    s0.add(&[int(1), lits[0].clone(), lits[1].clone()]);
    let mut s1 = f.create();
    s1.add(&[null_int(), lits[0].clone(), lits[1].clone()]);
    s1.merge(s0.as_ref());
    assert_eq!(check(&f, s1.as_ref()), json!([1, null]));
    s1.add(&[int(2), lits[0].clone(), lits[1].clone()]);
    assert_eq!(check(&f, s1.as_ref()), json!([null, 2]));

    // "with nulls ignored when merging": a null-valued side loses.
    let f = func("LATEST_BY_OFFSET", vec![col(SqlType::Int)]);
    let mut s0 = f.create();
    s0.add(&[int(1)]);
    let mut fresh = f.create();
    fresh.merge(s0.as_ref());
    fresh.add(&[null_int()]);
    assert_eq!(check(&f, fresh.as_ref()), json!(1));
    assert_eq!(
        err("LATEST_BY_OFFSET", vec![col(SqlType::Int), lit(int(-1))]),
        "latestN must be 1 or greater"
    );
}

#[test]
fn standard_deviations() {
    let f = func("STDDEV_SAMP", vec![col(SqlType::Int)]);
    assert_eq!(f.return_type, SqlType::Double);
    assert!(f.undoable);
    let out = replay(&f, &[], &[int(0), int(10), int(7), int(6)]);
    assert_eq!(
        jsons(&out),
        json!([0.0, 50.0, 26.333333333333332, 17.583333333333332])
    );
    let f = func("STDDEV_SAMPLE", vec![col(SqlType::Int)]);
    let out = replay(&f, &[], &[int(50), int(10), int(3), null_int()]);
    assert_eq!(
        jsons(&out),
        json!([
            0.0,
            28.284271247461902,
            25.357444666211933,
            25.357444666211933
        ])
    );
    let f = func("STDDEV_SAMP", vec![col(SqlType::Bigint)]);
    let out = replay(&f, &[], &[big(2147483648), big(100), big(-2)]);
    assert_eq!(
        jsons(&out),
        json!([0.0, 2.3058427944653343e18, 1.5372286026580004e18])
    );
    let f = func("STDDEV_SAMPLE", vec![col(SqlType::Double)]);
    let out = replay(&f, &[], &[dbl(10.0), dbl(12.0), dbl(13.0)]);
    assert_eq!(out[2], json!(1.5275252316519465));
    let mut a = f.create();
    let mut b = f.create();
    a.add(&[dbl(10.0)]);
    a.add(&[dbl(12.0)]);
    b.add(&[dbl(13.0)]);
    b.merge(a.as_ref());
    let merged = b.result();
    assert!(
        matches!(merged, ScalarValue::Float64(Some(x)) if (x - 1.5275252316519465).abs() < 1e-9)
    );
    b.undo(&[dbl(13.0)]);
    assert!(matches!(b.result(), ScalarValue::Float64(Some(x)) if x.is_finite()));
    assert_eq!(
        err("STDDEV_SAMP", vec![col(SqlType::String)]),
        "Function 'STDDEV_SAMP' does not accept parameters (STRING)."
    );
}

#[test]
fn correlations() {
    let f = func(
        "CORRELATION",
        vec![col(SqlType::Double), col(SqlType::Double)],
    );
    assert!(f.undoable);
    let mut acc = f.create();
    let mut out = Vec::new();
    for (x, y) in [(1.5, 8.0), (-1.0, -2.0), (-4.5, -1.0)] {
        acc.add(&[dbl(x), dbl(y)]);
        out.push(check(&f, acc.as_ref()));
    }
    acc.add(&[ScalarValue::Float64(None), dbl(-6.0)]);
    out.push(check(&f, acc.as_ref()));
    assert_eq!(
        jsons(&out),
        json!(["NaN", 1.0, 0.7580764521133173, 0.7580764521133173])
    );
    acc.undo(&[dbl(-4.5), dbl(-1.0)]);
    assert!(matches!(acc.result(), ScalarValue::Float64(Some(x)) if (x - 1.0).abs() < 1e-9));
    assert_eq!(
        err("correlation", vec![col(SqlType::Int), col(SqlType::Bigint)]),
        "Function 'correlation' does not accept parameters (INTEGER, BIGINT)."
    );
}

#[test]
fn attr_values() {
    let f = func("ATTR", vec![col(SqlType::String)]);
    assert!(f.undoable);
    let rows = [text("1"), ScalarValue::Utf8(None), text("1")];
    assert_eq!(jsons(&replay(&f, &[], &rows)), json!(["1", null, null]));
    // ksqlDB's "table attr with tombstones".
    let mut acc = f.create();
    let mut out = Vec::new();
    let steps: [(bool, &str); 7] = [
        (true, "1"),
        (true, "1"),
        (false, "1"),
        (false, "1"),
        (true, "2"),
        (true, "3"),
        (false, "3"),
    ];
    for (add, v) in steps {
        if add {
            acc.add(&[text(v)]);
        } else {
            acc.undo(&[text(v)]);
        }
        out.push(check(&f, acc.as_ref()));
    }
    assert_eq!(jsons(&out), json!(["1", "1", "1", null, "2", null, "2"]));
    let t = SqlType::Array(Box::new(SqlType::Int));
    let f = func("ATTR", vec![col(t.clone())]);
    let li = from_json(&json!([1, 2, 3]), &t).unwrap();
    let out = replay(&f, &[], &[li.clone(), li]);
    assert_eq!(jsons(&out), json!([[1, 2, 3], [1, 2, 3]]));
    let mut a = f.create();
    let b = f.create();
    a.merge(b.as_ref());
    assert_eq!(check(&f, a.as_ref()), json!(null));
}

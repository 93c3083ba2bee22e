//! End-to-end tests: plan a call, build the physical expression, evaluate it on a batch.
//! Expected values come from the QTT cases named in the comments.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::{ident, lit, Expr};
use datafusion::prelude::SessionContext;

use super::scalar_call;
use crate::value::{to_json, to_text};

fn batch() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("S", DataType::Utf8, true),
        Field::new("I", DataType::Int32, true),
        Field::new("L", DataType::Int64, true),
        Field::new("D", DataType::Float64, true),
    ]);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("hello world"), None])),
        Arc::new(Int32Array::from(vec![Some(-1), None])),
        Arc::new(Int64Array::from(vec![Some(9), None])),
        Arc::new(Float64Array::from(vec![Some(1.7), None])),
    ];
    RecordBatch::try_new(Arc::new(schema), cols).unwrap()
}

/// Evaluates `name(args)` on the test batch: (Arrow type, per-row text as ksqlDB writes it).
fn eval(name: &str, args: Vec<Expr>) -> (DataType, Vec<Option<String>>) {
    let b = batch();
    let schema = DFSchema::try_from(b.schema().as_ref().clone()).unwrap();
    let expr = scalar_call(name, args, &schema).unwrap();
    let phys = SessionContext::new()
        .create_physical_expr(expr, &schema)
        .unwrap();
    let arr = phys.evaluate(&b).unwrap().into_array(b.num_rows()).unwrap();
    let vals = (0..arr.len())
        .map(|r| {
            let v = ScalarValue::try_from_array(&arr, r).unwrap();
            if matches!(v, ScalarValue::List(_) | ScalarValue::Map(_)) && !v.is_null() {
                Some(to_json(&v).to_string())
            } else {
                to_text(&v)
            }
        })
        .collect();
    (arr.data_type().clone(), vals)
}

fn first(name: &str, args: Vec<Expr>) -> Option<String> {
    eval(name, args).1.remove(0)
}

fn err(name: &str, args: Vec<Expr>) -> String {
    let b = batch();
    let schema = DFSchema::try_from(b.schema().as_ref().clone()).unwrap();
    scalar_call(name, args, &schema).unwrap_err()
}

fn some(x: &str) -> Option<String> {
    Some(x.to_string())
}

#[test]
fn strings() {
    // concat.json "concat fields using CONCAT"
    assert_eq!(
        first("CONCAT", vec![lit("prefix-"), ident("S"), lit("-postfix")]),
        some("prefix-hello world-postfix")
    );
    let (t, v) = eval("SUBSTRING", vec![ident("S"), lit(2i32), lit(3i32)]);
    assert_eq!((t, v), (DataType::Utf8, vec![some("ell"), None]));
    assert_eq!(first("UCASE", vec![ident("S")]), some("HELLO WORLD"));
    assert_eq!(first("INITCAP", vec![ident("S")]), some("Hello World"));
    assert_eq!(first("LEN", vec![ident("S")]), some("11"));
    assert_eq!(
        first("LPAD", vec![lit("abc"), lit(6i32), lit("xy")]),
        some("xyxabc")
    );
    assert_eq!(
        first("SPLIT", vec![lit("a,b,,c"), lit(",")]),
        some(r#"["a","b","","c"]"#)
    );
    assert_eq!(
        first("MD5", vec![lit("a")]),
        some("0cc175b9c0f1b6a831c399e269772661")
    );
    assert_eq!(
        first(
            "ENCODE",
            vec![lit("4578616d706C6521"), lit("hex"), lit("ascii")]
        ),
        some("Example!")
    );
    assert_eq!(first("MASK", vec![lit("AbC-12")]), some("XxX-nn"));
    assert_eq!(
        first("MASK_LEFT", vec![lit("AbC-12"), lit(2i32)]),
        some("XxC-12")
    );
    assert_eq!(
        first(
            "REGEXP_EXTRACT",
            vec![lit("(\\w+) (\\w+)"), ident("S"), lit(2i32)]
        ),
        some("world")
    );
    assert_eq!(
        first("REGEXP_REPLACE", vec![ident("S"), lit("o"), lit("0")]),
        some("hell0 w0rld")
    );
    assert_eq!(
        first(
            "URL_EXTRACT_HOST",
            vec![lit("http://test@confluent.io:8080")]
        ),
        some("confluent.io")
    );
    assert_eq!(first("INSTR", vec![ident("S"), lit("o")]), some("5"));
    assert_eq!(
        first("SPLIT_TO_MAP", vec![lit("a=1;b=2"), lit(";"), lit("=")]),
        some(r#"{"a":"1","b":"2"}"#)
    );
    assert_eq!(eval("UUID", vec![]).0, DataType::Utf8);
}

#[test]
fn conditionals() {
    // greatest.json
    assert_eq!(
        first(
            "GREATEST",
            vec![ident("I"), lit(ScalarValue::Int32(None)), lit(5i32)]
        ),
        some("5")
    );
    assert!(err("GREATEST", vec![ident("I"), ident("L")])
        .contains("ambiguous method parameters (INTEGER, BIGINT)"));
    assert_eq!(
        err("GREATEST", vec![ident("S"), ident("I")]),
        "Function 'greatest' does not accept parameters (STRING, INTEGER)."
    );
    assert_eq!(
        eval("IFNULL", vec![ident("S"), lit("x")]).1,
        vec![some("hello world"), some("x")]
    );
    assert_eq!(
        eval("COALESCE", vec![ident("L"), lit(3i64)]).1,
        vec![some("9"), some("3")]
    );
    assert_eq!(first("NULLIF", vec![ident("I"), lit(-1i32)]), None);
    assert_eq!(
        err("FOO", vec![]),
        "Can't find any functions with the name 'FOO'"
    );
    assert_eq!(
        err("ABS", vec![ident("S")]),
        "Function 'Abs' does not accept parameters (STRING)."
    );
}

#[test]
fn math() {
    // math.json "round", "abs", "sign"
    assert_eq!(
        eval("ROUND", vec![ident("D")]),
        (DataType::Int64, vec![some("2"), None])
    );
    assert_eq!(first("ROUND", vec![ident("D"), lit(0i32)]), some("2.0"));
    // math.json "trunc - integer": ROUND and TRUNC of an INT give a BIGINT, ABS an INT.
    for f in ["ROUND", "TRUNC"] {
        assert_eq!(
            eval(f, vec![ident("I")]),
            (DataType::Int64, vec![some("-1"), None])
        );
    }
    assert_eq!(first("ABS", vec![ident("I")]), some("1"));
    assert_eq!(eval("ABS", vec![ident("I")]).0, DataType::Int32);
    assert_eq!(eval("SIGN", vec![ident("D")]).0, DataType::Int32);
    assert_eq!(first("SQRT", vec![ident("L")]), some("3.0"));
    let dec = Expr::Literal(ScalarValue::Decimal128(Some(-32), 2, 1), None);
    assert_eq!(
        eval("ABS", vec![dec.clone()]),
        (DataType::Decimal128(2, 1), vec![some("3.2"), some("3.2")])
    );
    assert_eq!(first("FLOOR", vec![dec]), some("-4.0"));
}

#[test]
fn json_and_collections() {
    // extract-json-field.json, to_json_string.json, json_concat.json
    assert_eq!(
        first(
            "EXTRACTJSONFIELD",
            vec![lit(r#"{"name": "cdc"}"#), lit("$.name")]
        ),
        some("cdc")
    );
    assert_eq!(
        first("JSON_CONCAT", vec![lit(r#"{"a": 1}"#), lit(r#"{"b": 2}"#)]),
        some(r#"{"a":1,"b":2}"#)
    );
    assert_eq!(
        eval("TO_JSON_STRING", vec![ident("S")]).1,
        vec![some("\"hello world\""), some("null")]
    );
    let arr = scalar_call_list(vec![3, 1, 2]);
    assert_eq!(
        first("ARRAY_SORT", vec![arr.clone(), lit("DESC")]),
        some("[3,2,1]")
    );
    assert_eq!(first("ARRAY_MAX", vec![arr.clone()]), some("3"));
    assert_eq!(first("ARRAY_LENGTH", vec![arr.clone()]), some("3"));
    assert_eq!(
        first("SLICE", vec![arr.clone(), lit(2i32), lit(3i32)]),
        some("[1,2]")
    );
    assert_eq!(first("ARRAY_JOIN", vec![arr.clone()]), some("3,1,2"));
    assert_eq!(
        first("GENERATE_SERIES", vec![lit(1i32), lit(3i32)]),
        some("[1,2,3]")
    );
    assert_eq!(first("ARRAY_CONTAINS", vec![arr, lit(2i32)]), some("true"));
}

fn scalar_call_list(items: Vec<i32>) -> Expr {
    let v = items
        .into_iter()
        .map(|x| ScalarValue::Int32(Some(x)))
        .collect();
    lit(crate::value::list_value(&crate::types::SqlType::Int, v).unwrap())
}

#[test]
fn datetimes() {
    // timestamp-to-string.json, to_json_string.json "convert TIMESTAMP to JSON string"
    assert_eq!(
        first(
            "TIMESTAMPTOSTRING",
            vec![lit(60_220_000_000i64), lit("yyyy-MM-dd'T'HH:mm:ss.SSS")]
        ),
        some("1971-11-28T23:46:40.000")
    );
    assert_eq!(
        first(
            "STRINGTOTIMESTAMP",
            vec![
                lit("1971-11-28T23:46:40.000"),
                lit("yyyy-MM-dd'T'HH:mm:ss.SSS")
            ]
        ),
        some("60220000000")
    );
    assert_eq!(
        first("PARSE_DATE", vec![lit("2022-06-14"), lit("yyyy-MM-dd")]),
        some("19157")
    );
    assert_eq!(
        first(
            "FORMAT_DATE",
            vec![lit(ScalarValue::Date32(Some(19157))), lit("dd/MM/yyyy")]
        ),
        some("14/06/2022")
    );
    assert_eq!(
        first(
            "DATEADD",
            vec![lit("DAYS"), lit(2i32), lit(ScalarValue::Date32(Some(10)))]
        ),
        some("12")
    );
}

/// The whole-column forms give, row for row, what the row forms give (each row evaluated with
/// its value as a constant, which runs the row form).
#[test]
fn column_forms_agree_with_rows() {
    let texts = [
        Some("http://www.nexmark.com/a/b/c/item.htm?query=1&channel_id=123"),
        Some("channel_id=x&y=1"),
        None,
        Some(""),
        Some("ΣΑΣ Ünïcödé ß"),
        Some("MiXeD cAsE / with / slashes //"),
        Some("no match here"),
    ];
    let schema = Schema::new(vec![Field::new("S", DataType::Utf8, true)]);
    let b = RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(StringArray::from(texts.to_vec())) as ArrayRef],
    )
    .unwrap();
    let df_schema = DFSchema::try_from(b.schema().as_ref().clone()).unwrap();
    let run = |expr: Expr| {
        let phys = SessionContext::new()
            .create_physical_expr(expr, &df_schema)
            .unwrap();
        phys.evaluate(&b).unwrap().into_array(b.num_rows()).unwrap()
    };
    let s = || ident("S");
    type Args = Box<dyn Fn(Expr) -> Vec<Expr>>;
    let calls: Vec<(&str, Args)> = vec![
        ("LCASE", Box::new(|x| vec![x])),
        ("UCASE", Box::new(|x| vec![x])),
        ("SPLIT", Box::new(|x| vec![x, lit("/")])),
        ("SPLIT", Box::new(|x| vec![x, lit("")])),
        (
            "REGEXP_EXTRACT",
            Box::new(|x| vec![lit("(&|^)channel_id=([^&]*)"), x, lit(2i32)]),
        ),
        ("REGEXP_EXTRACT", Box::new(|x| vec![lit("[a-z]+"), x])),
        (
            "REGEXP_EXTRACT",
            Box::new(|x| vec![lit("(x)|(y)"), x, lit(2i32)]),
        ),
    ];
    for (name, args) in calls {
        let whole = run(scalar_call(name, args(s()), &df_schema).unwrap());
        for (r, t) in texts.iter().enumerate() {
            let value = lit(ScalarValue::Utf8(t.map(str::to_string)));
            let one = run(scalar_call(name, args(value), &df_schema).unwrap());
            assert_eq!(
                ScalarValue::try_from_array(&whole, r).unwrap(),
                ScalarValue::try_from_array(&one, 0).unwrap(),
                "{name} of {t:?}"
            );
        }
    }
}

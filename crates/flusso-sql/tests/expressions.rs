//! Expressions: what sqlparser parses for us, and the ksqlDB-specific parts the dialect adds.

use flusso_sql::ast::{Expr, SelectItem, StatementKind};
use sqlparser::ast::{AccessExpr, BinaryOperator, DataType, LambdaFunction, OneOrManyWithParens};

/// The single projection item of `SELECT <expr> FROM s`.
fn expr(text: &str) -> Expr {
    let sql = format!("SELECT {text} FROM s;");
    let statements = flusso_sql::parse(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let StatementKind::Query(query) = &statements[0].kind else {
        panic!()
    };
    match &query.projection[..] {
        [SelectItem::Expr { expr, alias: None }] => expr.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn identifiers_are_upper_cased_unless_quoted() {
    assert_eq!(
        expr("abc + `Def` + \"Ghi\"").to_string(),
        "ABC + `Def` + \"Ghi\""
    );
    assert_eq!(expr("s.col").to_string(), "S.COL");
    assert_eq!(expr("'text stays'").to_string(), "'text stays'");
}

#[test]
fn struct_dereference_binds_tightest() {
    // `a->b + 1` is `(a->b) + 1`.
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Plus,
        ..
    } = expr("a->b + 1")
    else {
        panic!()
    };
    let Expr::BinaryOp {
        left: inner,
        op: BinaryOperator::Arrow,
        right,
    } = *left
    else {
        panic!()
    };
    assert_eq!(
        (inner.to_string(), right.to_string()),
        ("A".to_owned(), "B".to_owned())
    );
    // Chains are left-associative.
    let Expr::BinaryOp { left, right, .. } = expr("a->b->`c`") else {
        panic!()
    };
    assert_eq!(
        (left.to_string(), right.to_string()),
        ("A -> B".to_owned(), "`c`".to_owned())
    );
}

#[test]
fn subscripts_after_dereference() {
    let Expr::BinaryOp {
        left,
        op: BinaryOperator::Arrow,
        right,
    } = expr("a->b['k']->c[1]->d")
    else {
        panic!()
    };
    assert_eq!(right.to_string(), "D");
    let Expr::CompoundFieldAccess { root, access_chain } = *left else {
        panic!()
    };
    assert_eq!(root.to_string(), "A -> B['k'] -> C");
    assert!(matches!(access_chain[..], [AccessExpr::Subscript(_)]));
    assert_eq!(expr("arr[1]").to_string(), "ARR[1]");
}

#[test]
fn lambdas() {
    let Expr::Function(f) = expr("TRANSFORM(arr, x => x * 2)") else {
        panic!()
    };
    assert_eq!(f.to_string(), "TRANSFORM(ARR, X -> X * 2)");
    let Expr::Function(f) = expr("REDUCE(m, 0, (s, k, v) => s + v)") else {
        panic!()
    };
    let sqlparser::ast::FunctionArguments::List(list) = &f.args else {
        panic!()
    };
    let sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(Expr::Lambda(
        LambdaFunction {
            params: OneOrManyWithParens::Many(params),
            body,
            ..
        },
    ))) = &list.args[2]
    else {
        panic!("{:?}", list.args[2])
    };
    assert_eq!(params.len(), 3);
    assert_eq!(body.to_string(), "S + V");
    // Not a lambda: a parenthesised expression.
    assert_eq!(expr("(x) + 1").to_string(), "(X) + 1");
}

#[test]
fn casts_to_ksql_types() {
    let Expr::Cast { data_type, .. } = expr("CAST(x AS MAP<STRING, ARRAY<INT>>)") else {
        panic!()
    };
    let DataType::Map(_, value) = data_type else {
        panic!("{data_type:?}")
    };
    assert!(matches!(*value, DataType::Array(_)), "{value:?}");
    let Expr::Cast { data_type, .. } = expr("CAST(y AS STRUCT<a INT, `b` DECIMAL(4, 2)>)") else {
        panic!()
    };
    assert_eq!(data_type.to_string(), "STRUCT<`A` INT, `b` DECIMAL(4,2)>");
    let Expr::Cast { data_type, .. } = expr("CAST(z AS address)") else {
        panic!()
    };
    assert_eq!(data_type.to_string(), "ADDRESS");
}

#[test]
fn standard_sql_expressions() {
    for (text, shown) in [
        ("a IS NOT DISTINCT FROM b", "A IS NOT DISTINCT FROM B"),
        ("a IS DISTINCT FROM NULL", "A IS DISTINCT FROM NULL"),
        ("s LIKE 'a!%' ESCAPE '!'", "S LIKE 'a!%' ESCAPE '!'"),
        ("n BETWEEN 1 AND 2", "N BETWEEN 1 AND 2"),
        ("n NOT IN (1, 2)", "N NOT IN (1, 2)"),
        (
            "CASE WHEN a > 1 THEN 'x' ELSE 'y' END",
            "CASE WHEN A > 1 THEN 'x' ELSE 'y' END",
        ),
        ("CAST(a AS BIGINT)", "CAST(A AS BIGINT)"),
        ("STRUCT(a := 1, `b` := 'x')", "STRUCT(A := 1, `b` := 'x')"),
        ("MAP('k' := v)", "MAP('k' := V)"),
        ("ARRAY[1, 2]", "ARRAY[1, 2]"),
        ("-9223372036854775808", "-9223372036854775808"),
    ] {
        assert_eq!(expr(text).to_string(), shown, "{text}");
    }
}

#[test]
fn pseudo_columns_and_keyword_names() {
    for name in [
        "ROWTIME",
        "ROWPARTITION",
        "WINDOWSTART",
        "KEY",
        "VALUE",
        "TIMESTAMP",
        "DATE",
    ] {
        assert_eq!(expr(&name.to_lowercase()).to_string(), name);
    }
}

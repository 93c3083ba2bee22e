//! A `CREATE ... AS SELECT` as ksqlDB prints it in some error messages (`Statement: ...`): one
//! projection item per line with its source-qualified expression and its output name, the
//! source with its alias, and the clauses on lines of their own.

use flusso_sql::ast::{CreateAsSelect, Literal, SelectItem, SourceType};
use sqlparser::ast::{Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident};

use super::aggregate::ksql_text;
use super::select::item_name;

/// `expr` with every column reference qualified by `alias` (struct fields after `->` are not
/// columns).
fn qualify(e: &SqlExpr, alias: &str) -> SqlExpr {
    match e {
        SqlExpr::Identifier(id) => {
            SqlExpr::CompoundIdentifier(vec![Ident::new(alias), Ident::new(id.value.clone())])
        }
        SqlExpr::BinaryOp { left, op, right } => SqlExpr::BinaryOp {
            left: Box::new(qualify(left, alias)),
            op: op.clone(),
            right: match op {
                sqlparser::ast::BinaryOperator::Arrow => right.clone(),
                _ => Box::new(qualify(right, alias)),
            },
        },
        SqlExpr::UnaryOp { op, expr } => SqlExpr::UnaryOp {
            op: *op,
            expr: Box::new(qualify(expr, alias)),
        },
        SqlExpr::Nested(inner) => SqlExpr::Nested(Box::new(qualify(inner, alias))),
        SqlExpr::Function(f) => {
            let mut f = f.clone();
            if let FunctionArguments::List(list) = &mut f.args {
                for a in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                        *x = qualify(x, alias);
                    }
                }
            }
            SqlExpr::Function(f)
        }
        other => other.clone(),
    }
}

/// The statement's text as ksqlDB prints it, for a query over one source; `None` for others.
pub fn ksql_statement_text(c: &CreateAsSelect) -> Option<String> {
    let q = &c.query;
    if !q.joins.is_empty() || q.window.is_some() || !q.partition_by.is_empty() {
        return None;
    }
    let alias = q.from.alias.clone().unwrap_or_else(|| q.from.name.clone());
    let mut generated = 0;
    let mut items = Vec::new();
    for item in &q.projection {
        let SelectItem::Expr { expr, alias: name } = item else {
            return None;
        };
        let name = item_name(name.as_deref(), expr, &mut generated).ok()?;
        items.push(format!("  {} {name}", ksql_text(&qualify(expr, &alias))));
    }
    let kind = match c.source_type {
        SourceType::Stream => "STREAM",
        SourceType::Table => "TABLE",
    };
    let mut text = format!("CREATE {kind} {}", c.name);
    if !c.properties.is_empty() {
        let props: Vec<String> = c
            .properties
            .iter()
            .map(|p| {
                let value = match &p.value {
                    Literal::String(s) => format!("'{s}'"),
                    Literal::Number(n) => n.clone(),
                    Literal::Boolean(b) => b.to_string(),
                    Literal::Null => "null".into(),
                };
                format!("{}={value}", p.name)
            })
            .collect();
        text.push_str(&format!(" WITH ({})", props.join(", ")));
    }
    text.push_str(&format!(
        " AS SELECT\n{}\nFROM {} {alias}",
        items.join(",\n"),
        q.from.name
    ));
    if let Some(w) = &q.selection {
        text.push_str(&format!("\nWHERE {}", ksql_text(&qualify(w, &alias))));
    }
    if !q.group_by.is_empty() {
        let groups: Vec<String> = q
            .group_by
            .iter()
            .map(|g| ksql_text(&qualify(g, &alias)))
            .collect();
        text.push_str(&format!("\nGROUP BY {}", groups.join(", ")));
    }
    if let Some(h) = &q.having {
        text.push_str(&format!("\nHAVING {}", ksql_text(&qualify(h, &alias))));
    }
    text.push_str("\nEMIT CHANGES");
    Some(text)
}

#[cfg(test)]
mod tests {
    use flusso_sql::ast::StatementKind;

    use super::*;

    fn text(sql: &str) -> Option<String> {
        let statements = flusso_sql::parse(sql).unwrap();
        let StatementKind::CreateAsSelect(c) = &statements[0].kind else {
            panic!("not a CTAS: {sql}");
        };
        ksql_statement_text(c)
    }

    #[test]
    fn prints_the_statement_as_ksqldb_does() {
        assert_eq!(
            text("CREATE TABLE output WITH (key_format='KAFKA') AS SELECT f2, f1, f2 + f1, COUNT(*) FROM test WHERE f1 > 0 GROUP BY f1, f2;").unwrap(),
            "CREATE TABLE OUTPUT WITH (KEY_FORMAT='KAFKA') AS SELECT\n  TEST.F2 F2,\n  TEST.F1 F1,\n  (TEST.F2 + TEST.F1) KSQL_COL_0,\n  COUNT(*) KSQL_COL_1\nFROM TEST TEST\nWHERE (TEST.F1 > 0)\nGROUP BY TEST.F1, TEST.F2\nEMIT CHANGES"
        );
        assert_eq!(
            text("CREATE STREAM o AS SELECT s.a->b AS x FROM src s;").unwrap(),
            "CREATE STREAM O AS SELECT\n  S.A->B X\nFROM SRC S\nEMIT CHANGES"
        );
        assert_eq!(text("CREATE STREAM o AS SELECT * FROM src;"), None);
    }
}

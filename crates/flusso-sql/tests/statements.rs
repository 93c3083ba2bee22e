//! One test group per statement kind, plus errors and their positions.

use flusso_sql::ast::{
    ColumnConstraint, CreateSource, DataType, Duration, Emit, JoinType, Literal, Property, Query,
    QueryTarget, SelectItem, ShowTarget, SourceType, StatementKind, StructField, TimeUnit,
    WindowKind,
};
use flusso_sql::{parse, ParseError};

fn one(sql: &str) -> StatementKind {
    let mut statements = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(statements.len(), 1, "{sql}");
    statements.remove(0).kind
}

fn query(sql: &str) -> Query {
    match one(sql) {
        StatementKind::Query(q) => *q,
        StatementKind::CreateAsSelect(c) => *c.query,
        other => panic!("not a query: {other:?}"),
    }
}

fn error(sql: &str) -> ParseError {
    match parse(sql) {
        Ok(statements) => panic!("{sql} parsed: {statements:?}"),
        Err(e) => e,
    }
}

fn string(value: &str) -> Literal {
    Literal::String(value.to_owned())
}

#[test]
fn create_stream_with_columns_and_properties() {
    let kind = one(
        "CREATE STREAM pageviews (id INT KEY, `Url` STRING, h BYTES HEADER('trace'), \
         all_h ARRAY<STRUCT<key STRING, value BYTES>> HEADERS) \
         WITH (kafka_topic='pv', value_format='JSON', partitions=4, wrap_single_value=false);",
    );
    let StatementKind::CreateSource(create) = kind else {
        panic!("{kind:?}")
    };
    let CreateSource {
        source_type,
        name,
        or_replace,
        is_source,
        if_not_exists,
        columns,
        properties,
    } = create;
    assert_eq!(
        (source_type, name.as_str()),
        (SourceType::Stream, "PAGEVIEWS")
    );
    assert!(!or_replace && !is_source && !if_not_exists);
    let names: Vec<_> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ID", "Url", "H", "ALL_H"]);
    assert_eq!(columns[0].constraint, Some(ColumnConstraint::Key));
    assert_eq!(columns[1].constraint, None);
    assert_eq!(
        columns[2].constraint,
        Some(ColumnConstraint::Header("trace".to_owned()))
    );
    assert_eq!(columns[3].constraint, Some(ColumnConstraint::Headers));
    assert_eq!(
        columns[3].data_type,
        DataType::Array(Box::new(DataType::Struct(vec![
            StructField {
                name: "KEY".to_owned(),
                data_type: DataType::String
            },
            StructField {
                name: "VALUE".to_owned(),
                data_type: DataType::Bytes
            },
        ])))
    );
    assert_eq!(
        properties,
        [
            Property {
                name: "KAFKA_TOPIC".to_owned(),
                value: string("pv")
            },
            Property {
                name: "VALUE_FORMAT".to_owned(),
                value: string("JSON")
            },
            Property {
                name: "PARTITIONS".to_owned(),
                value: Literal::Number("4".to_owned())
            },
            Property {
                name: "WRAP_SINGLE_VALUE".to_owned(),
                value: Literal::Boolean(false)
            },
        ]
    );
}

#[test]
fn create_table_variants() {
    let kind = one(
        "create or replace source table if not exists t (k varchar primary key, v decimal(4, 2)) \
         with (kafka_topic='t', format='JSON')",
    );
    let StatementKind::CreateSource(create) = kind else {
        panic!("{kind:?}")
    };
    assert_eq!(create.source_type, SourceType::Table);
    assert!(create.or_replace && create.is_source && create.if_not_exists);
    assert_eq!(
        create.columns[0].constraint,
        Some(ColumnConstraint::PrimaryKey)
    );
    assert_eq!(
        create.columns[1].data_type,
        DataType::Decimal {
            precision: 4,
            scale: 2
        }
    );

    // No columns: the schema comes from the registry.
    let StatementKind::CreateSource(create) =
        one("CREATE TABLE t WITH (kafka_topic='t', format='AVRO');")
    else {
        panic!()
    };
    assert!(create.columns.is_empty());
}

#[test]
fn types() {
    let kind = one(
        "CREATE STREAM s (a BOOLEAN, b INTEGER, c BIGINT, d DOUBLE, e VARCHAR, f DATE, g TIME, \
         h TIMESTAMP, i MAP<STRING, ARRAY<MAP<STRING, INT>>>, j ADDRESS, k STRUCT<>) \
         WITH (kafka_topic='s');",
    );
    let StatementKind::CreateSource(create) = kind else {
        panic!()
    };
    let types: Vec<String> = create
        .columns
        .iter()
        .map(|c| c.data_type.to_string())
        .collect();
    assert_eq!(
        types,
        [
            "BOOLEAN",
            "INTEGER",
            "BIGINT",
            "DOUBLE",
            "STRING",
            "DATE",
            "TIME",
            "TIMESTAMP",
            "MAP<STRING, ARRAY<MAP<STRING, INTEGER>>>",
            "ADDRESS",
            "STRUCT<>",
        ]
    );
    assert_eq!(
        create.columns[9].data_type,
        DataType::Named("ADDRESS".to_owned())
    );
}

#[test]
fn create_as_select() {
    let kind = one(
        "CREATE TABLE counts WITH (kafka_topic='out') AS SELECT url, COUNT(*) AS n FROM pv \
         WINDOW TUMBLING (SIZE 30 SECONDS, RETENTION 2 DAYS, GRACE PERIOD 0 MILLISECONDS) \
         WHERE url <> 'x' GROUP BY url HAVING COUNT(*) > 1 EMIT FINAL;",
    );
    let StatementKind::CreateAsSelect(create) = kind else {
        panic!("{kind:?}")
    };
    assert_eq!(
        (create.source_type, create.name.as_str()),
        (SourceType::Table, "COUNTS")
    );
    assert_eq!(create.properties[0].name, "KAFKA_TOPIC");
    let q = create.query;
    assert_eq!(q.projection.len(), 2);
    let SelectItem::Expr { alias, .. } = &q.projection[1] else {
        panic!()
    };
    assert_eq!(alias.as_deref(), Some("N"));
    assert_eq!(q.from.name, "PV");
    let window = q.window.expect("window");
    let seconds = |value| Duration {
        value,
        unit: TimeUnit::Second,
    };
    assert_eq!(window.kind, WindowKind::Tumbling { size: seconds(30) });
    assert_eq!(
        window.retention,
        Some(Duration {
            value: 2,
            unit: TimeUnit::Day
        })
    );
    assert_eq!(window.grace.map(|g| g.as_millis()), Some(0));
    assert_eq!(q.selection.expect("where").to_string(), "URL <> 'x'");
    assert_eq!(q.group_by.len(), 1);
    assert_eq!(q.having.expect("having").to_string(), "COUNT(*) > 1");
    assert_eq!(q.emit, Some(Emit::Final));
}

#[test]
fn windows() {
    let q = query("SELECT * FROM s WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS) GROUP BY k EMIT CHANGES;");
    let WindowKind::Hopping { size, advance } = q.window.expect("window").kind else {
        panic!()
    };
    assert_eq!((size.as_millis(), advance.as_millis()), (60_000, 10_000));
    let q = query("SELECT * FROM s WINDOW SESSION (5 HOURS, GRACE PERIOD 1 HOUR) GROUP BY k;");
    let window = q.window.expect("window");
    assert_eq!(
        window.kind,
        WindowKind::Session {
            gap: Duration {
                value: 5,
                unit: TimeUnit::Hour
            }
        }
    );
    assert_eq!(window.grace.map(|g| g.as_millis()), Some(3_600_000));
}

#[test]
fn joins() {
    let q = query(
        "CREATE STREAM j AS SELECT l.id, r.v FROM left_s AS l \
         LEFT OUTER JOIN right_s r WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 SECONDS ON l.id = r.id \
         FULL JOIN t3 WITHIN 10 SECONDS ON l.id = t3.id JOIN t4 ON t4.id = l.id \
         INNER JOIN t5 ON t5.id = l.id RIGHT JOIN t6 ON t6.id = l.id PARTITION BY r.v;",
    );
    assert_eq!(q.from.alias.as_deref(), Some("L"));
    let types: Vec<JoinType> = q.joins.iter().map(|j| j.join_type).collect();
    assert_eq!(
        types,
        [
            JoinType::Left,
            JoinType::Full,
            JoinType::Inner,
            JoinType::Inner,
            JoinType::Right
        ]
    );
    let within = q.joins[0].within.expect("within");
    assert_eq!(within.before.as_millis(), 1_000);
    assert_eq!(within.after.as_millis(), 120_000);
    assert_eq!(within.grace.map(|g| g.as_millis()), Some(3_000));
    assert_eq!(q.joins[0].relation.alias.as_deref(), Some("R"));
    assert_eq!(q.joins[0].on.to_string(), "L.ID = R.ID");
    let within = q.joins[1].within.expect("within");
    assert_eq!(
        (within.before.as_millis(), within.after.as_millis()),
        (10_000, 10_000)
    );
    assert_eq!(q.partition_by.len(), 1);
}

#[test]
fn select_items_and_limits() {
    let q = query("SELECT *, s.*, a->*, 1 AS `x`, b c FROM s EMIT CHANGES LIMIT 10;");
    assert_eq!(q.projection[0], SelectItem::Wildcard);
    assert_eq!(
        q.projection[1],
        SelectItem::QualifiedWildcard("S".to_owned())
    );
    assert!(matches!(&q.projection[2], SelectItem::StructWildcard(e) if e.to_string() == "A"));
    let SelectItem::Expr { alias, .. } = &q.projection[3] else {
        panic!()
    };
    assert_eq!(alias.as_deref(), Some("x"));
    let SelectItem::Expr { alias, .. } = &q.projection[4] else {
        panic!()
    };
    assert_eq!(alias.as_deref(), Some("C"));
    assert_eq!((q.emit, q.limit), (Some(Emit::Changes), Some(10)));
    // Pull query.
    let q = query("SELECT * FROM t WHERE k = 'a';");
    assert_eq!((q.emit, q.limit), (None, None));
    // Digit-led alias, as ksqlDB allows.
    let q = query("SELECT ROUND(v, -1) AS 1R FROM t;");
    let SelectItem::Expr { alias, .. } = &q.projection[0] else {
        panic!()
    };
    assert_eq!(alias.as_deref(), Some("1R"));
}

#[test]
fn insert() {
    let StatementKind::InsertInto {
        target,
        properties,
        query,
    } = one("INSERT INTO out WITH (query_id='q1') SELECT * FROM s;")
    else {
        panic!()
    };
    assert_eq!(
        (target.as_str(), properties.len(), query.from.name.as_str()),
        ("OUT", 1, "S")
    );

    let StatementKind::InsertValues {
        target,
        columns,
        values,
    } = one("INSERT INTO s (id, `v`) VALUES (1, 'x');")
    else {
        panic!()
    };
    assert_eq!(
        (target.as_str(), columns),
        ("S", vec!["ID".to_owned(), "v".to_owned()])
    );
    assert_eq!(values.len(), 2);
    let StatementKind::InsertValues {
        columns, values, ..
    } = one("INSERT INTO s VALUES (-1.5);")
    else {
        panic!()
    };
    assert!(columns.is_empty());
    assert_eq!(values[0].to_string(), "-1.5");
}

#[test]
fn drop_alter_and_types() {
    assert_eq!(
        one("DROP TABLE IF EXISTS t DELETE TOPIC;"),
        StatementKind::DropSource {
            source_type: SourceType::Table,
            name: "T".to_owned(),
            if_exists: true,
            delete_topic: true
        }
    );
    assert_eq!(
        one("drop stream s"),
        StatementKind::DropSource {
            source_type: SourceType::Stream,
            name: "S".to_owned(),
            if_exists: false,
            delete_topic: false
        }
    );
    let StatementKind::AlterSource {
        source_type,
        name,
        columns,
    } = one("ALTER STREAM s ADD COLUMN c INT, ADD d ARRAY<STRING>, e BIGINT;")
    else {
        panic!()
    };
    assert_eq!(
        (source_type, name.as_str(), columns.len()),
        (SourceType::Stream, "S", 3)
    );
    assert_eq!(
        columns[1].data_type,
        DataType::Array(Box::new(DataType::String))
    );
    assert_eq!(
        one("CREATE TYPE address AS STRUCT<number INT, street VARCHAR>;"),
        StatementKind::CreateType {
            name: "ADDRESS".to_owned(),
            data_type: DataType::Struct(vec![
                StructField {
                    name: "NUMBER".to_owned(),
                    data_type: DataType::Int
                },
                StructField {
                    name: "STREET".to_owned(),
                    data_type: DataType::String
                },
            ]),
            if_not_exists: false,
        }
    );
    assert_eq!(
        one("DROP TYPE IF EXISTS address;"),
        StatementKind::DropType {
            name: "ADDRESS".to_owned(),
            if_exists: true
        }
    );
}

#[test]
fn show_and_describe() {
    assert_eq!(
        one("SHOW STREAMS EXTENDED;"),
        StatementKind::Show {
            what: ShowTarget::Streams,
            extended: true
        }
    );
    assert_eq!(
        one("list all topics;"),
        StatementKind::Show {
            what: ShowTarget::Topics { all: true },
            extended: false
        }
    );
    for (word, what) in [
        ("TABLES", ShowTarget::Tables),
        ("QUERIES", ShowTarget::Queries),
        ("PROPERTIES", ShowTarget::Properties),
        ("FUNCTIONS", ShowTarget::Functions),
        ("TYPES", ShowTarget::Types),
        ("VARIABLES", ShowTarget::Variables),
    ] {
        assert_eq!(
            one(&format!("SHOW {word}")),
            StatementKind::Show {
                what,
                extended: false
            }
        );
    }
    assert_eq!(
        one("DESCRIBE EXTENDED pv;"),
        StatementKind::DescribeSource {
            name: "PV".to_owned(),
            extended: true
        }
    );
    assert_eq!(
        one("DESCRIBE pv EXTENDED;"),
        StatementKind::DescribeSource {
            name: "PV".to_owned(),
            extended: true
        }
    );
    assert_eq!(
        one("DESCRIBE `pv`;"),
        StatementKind::DescribeSource {
            name: "pv".to_owned(),
            extended: false
        }
    );
    assert_eq!(
        one("DESCRIBE TABLES EXTENDED;"),
        StatementKind::DescribeSources {
            source_type: SourceType::Table,
            extended: true
        }
    );
    assert_eq!(
        one("DESCRIBE FUNCTION substring;"),
        StatementKind::DescribeFunction {
            name: "SUBSTRING".to_owned()
        }
    );
}

#[test]
fn commands() {
    assert_eq!(
        one("EXPLAIN CSAS_Out_1;"),
        StatementKind::ExplainQueryId("CSAS_Out_1".to_owned())
    );
    assert!(matches!(one("EXPLAIN SELECT * FROM s EMIT CHANGES;"),
        StatementKind::ExplainStatement(s) if matches!(*s, StatementKind::Query(_))));
    assert_eq!(
        one("TERMINATE ALL;"),
        StatementKind::Terminate(QueryTarget::All)
    );
    assert_eq!(
        one("TERMINATE q_1;"),
        StatementKind::Terminate(QueryTarget::Id("q_1".to_owned()))
    );
    assert_eq!(one("PAUSE ALL;"), StatementKind::Pause(QueryTarget::All));
    assert_eq!(
        one("RESUME `q`;"),
        StatementKind::Resume(QueryTarget::Id("q".to_owned()))
    );
    assert_eq!(
        one("SET 'auto.offset.reset' = 'earliest';"),
        StatementKind::SetProperty {
            name: "auto.offset.reset".to_owned(),
            value: "earliest".to_owned()
        }
    );
    assert_eq!(
        one("UNSET 'auto.offset.reset';"),
        StatementKind::UnsetProperty {
            name: "auto.offset.reset".to_owned()
        }
    );
    assert_eq!(
        one("DEFINE topic = 'pv';"),
        StatementKind::DefineVariable {
            name: "TOPIC".to_owned(),
            value: "pv".to_owned()
        }
    );
    assert_eq!(
        one("UNDEFINE topic;"),
        StatementKind::UndefineVariable {
            name: "TOPIC".to_owned()
        }
    );
    assert_eq!(
        one("PRINT my_topic FROM BEGINNING INTERVAL 2 LIMIT 10;"),
        StatementKind::Print {
            topic: "my_topic".to_owned(),
            from_beginning: true,
            interval: Some(2),
            limit: Some(10)
        }
    );
    assert_eq!(
        one("PRINT 'Mixed-Case';"),
        StatementKind::Print {
            topic: "Mixed-Case".to_owned(),
            from_beginning: false,
            interval: None,
            limit: None
        }
    );
}

#[test]
fn scripts_keep_locations_and_text() {
    let sql = "-- a comment\nSHOW STREAMS;;\n  CREATE STREAM s (a INT)\n    WITH (kafka_topic='s');\nSHOW TABLES";
    let statements = parse(sql).unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(
        (statements[0].location.line, statements[0].location.column),
        (2, 1)
    );
    assert_eq!(statements[0].text, "SHOW STREAMS");
    assert_eq!(
        (statements[1].location.line, statements[1].location.column),
        (3, 3)
    );
    assert_eq!(
        statements[1].text,
        "CREATE STREAM s (a INT)\n    WITH (kafka_topic='s')"
    );
    assert_eq!(statements[2].text, "SHOW TABLES");
    assert!(parse("  ;\n ").unwrap().is_empty());
    // Columns count characters, so text after non-ASCII characters is cut right.
    let statements = parse("SELECT 'é→' FROM s; SHOW TABLES;").unwrap();
    assert_eq!(statements[0].text, "SELECT 'é→' FROM s");
    assert_eq!(statements[1].text, "SHOW TABLES");
}

#[test]
fn errors_have_positions() {
    let cases = [
        (
            "SHOW STREAMS;\nDROP STREAM;",
            "line 2:12: expected an identifier, found ';'",
        ),
        (
            "CREATE STREAM s (a INT) WITH (kafka_topic='s') x;",
            "line 1:48: expected ';' or end of input, found 'X'",
        ),
        (
            "SELECT * FROM s\n  WHERE a = ;",
            "line 2:13: expected an expression, found ';'",
        ),
        (
            "CREATE STREAM s (a MAP<STRING>) WITH (k='v');",
            "line 1:30: expected ',', found '>'",
        ),
        (
            "CREATE STREAM s (a ARRAY<INT>>) WITH (k='v');",
            "line 1:29: unexpected '>' after type",
        ),
        (
            "CREATE STREAM s (a NULL);",
            "line 1:20: expected a type, found 'NULL'",
        ),
        (
            "SELECT * FROM s WINDOW TUMBLING (SIZE 1 WEEK);",
            "line 1:41: expected a time unit, found 'WEEK'",
        ),
        (
            "SELECT * FROM s EMIT NOW;",
            "line 1:22: expected CHANGES or FINAL, found 'NOW'",
        ),
        ("FROB x;", "line 1:1: expected a statement, found 'FROB'"),
        (
            "SELECT 'open FROM s;",
            "line 1:8: unterminated string literal",
        ),
        (
            "CREATE TABLE t (id INT KEY) WITH (k='v');",
            "line 1:17: column `ID` is a 'KEY' column: please use 'PRIMARY KEY' for tables",
        ),
        (
            "CREATE STREAM s (id INT PRIMARY KEY) WITH (k='v');",
            "line 1:18: column `ID` is a 'PRIMARY KEY' column: please use 'KEY' for streams",
        ),
        (
            "SELECT 9223372036854775808 FROM s;",
            "line 1:8: Invalid numeric literal: 9223372036854775808",
        ),
        (
            "SELECT * FROM s GROUP BY a, (b, c);",
            "line 1:31: missing ')' at ','",
        ),
        (
            "SELECT COUNT(*) FROM s GROUP BY a AND b;",
            "line 1:33: a grouping expression cannot be a condition: A AND B",
        ),
        (
            "CREATE SOURCE STREAM s AS SELECT * FROM t;",
            "line 1:8: a SOURCE stream or table cannot be AS SELECT",
        ),
        (
            "INSERT INTO s (a) SELECT * FROM t;",
            "line 1:19: expected VALUES, found 'SELECT'",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(error(sql).to_string(), expected, "{sql}");
    }
    let e = error("SELECT * FROM s GROUP BY a, (b, c);");
    assert_eq!((e.line, e.column), (1, 31));
}

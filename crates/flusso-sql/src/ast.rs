//! The statement tree of the ksqlDB dialect.
//!
//! Names (sources, columns, types, properties) are already normalised: unquoted identifiers are
//! upper-cased, quoted ones (`` `x` `` or `"x"`) are kept as written. Expressions are sqlparser
//! [`Expr`]s with the same normalisation applied to their identifiers, and two ksqlDB-specific
//! encodings:
//!
//! * struct field access `a->b` is `Expr::BinaryOp { op: BinaryOperator::Arrow, right:
//!   Expr::Identifier(b), .. }`, binding tighter than every other operator (`a->*` in a projection
//!   is [`SelectItem::StructWildcard`]); subscripts after it are `Expr::CompoundFieldAccess`;
//! * lambdas `x => body` and `(x, y) => body` are `Expr::Lambda`.

use std::fmt;

pub use sqlparser::ast::Expr;

/// A position in the source text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
}

/// One statement of a script, with where it starts and its own text (without the `;`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What the statement says.
    pub kind: StatementKind,
    /// Where its first token starts.
    pub location: Location,
    /// Its source text, trimmed, without the terminating `;`.
    pub text: String,
}

/// Every statement kind of the dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(elements)] WITH (...)`.
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [WITH (...)] SELECT ...`.
    InsertInto {
        /// The sink.
        target: String,
        /// `WITH (...)` properties.
        properties: Vec<Property>,
        /// The query feeding the sink.
        query: Box<Query>,
    },
    /// `INSERT INTO name [(columns)] VALUES (values)`.
    InsertValues {
        /// The target source.
        target: String,
        /// The listed columns; empty when not given.
        columns: Vec<String>,
        /// One expression per value.
        values: Vec<Expr>,
    },
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
    DropSource {
        /// Stream or table.
        source_type: SourceType,
        /// The source.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
        /// `DELETE TOPIC`.
        delete_topic: bool,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] col type [, ADD [COLUMN] col type ...]`.
    AlterSource {
        /// Stream or table.
        source_type: SourceType,
        /// The source.
        name: String,
        /// The added columns.
        columns: Vec<ColumnDef>,
    },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`.
    CreateType {
        /// The new type's name.
        name: String,
        /// What it stands for.
        data_type: DataType,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
    },
    /// `DROP TYPE [IF EXISTS] name`.
    DropType {
        /// The type.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `SHOW|LIST what [EXTENDED]`.
    Show {
        /// What to list.
        what: ShowTarget,
        /// `EXTENDED`.
        extended: bool,
    },
    /// `DESCRIBE [EXTENDED] name` / `DESCRIBE name EXTENDED`.
    DescribeSource {
        /// The source.
        name: String,
        /// `EXTENDED`.
        extended: bool,
    },
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`.
    DescribeSources {
        /// Streams or tables.
        source_type: SourceType,
        /// `EXTENDED`.
        extended: bool,
    },
    /// `DESCRIBE FUNCTION name`.
    DescribeFunction {
        /// The function.
        name: String,
    },
    /// `EXPLAIN query_id`.
    ExplainQueryId(String),
    /// `EXPLAIN statement`.
    ExplainStatement(Box<StatementKind>),
    /// `TERMINATE id` / `TERMINATE ALL`.
    Terminate(QueryTarget),
    /// `PAUSE id` / `PAUSE ALL`.
    Pause(QueryTarget),
    /// `RESUME id` / `RESUME ALL`.
    Resume(QueryTarget),
    /// `SET 'name' = 'value'`.
    SetProperty {
        /// Property name.
        name: String,
        /// Property value.
        value: String,
    },
    /// `UNSET 'name'`.
    UnsetProperty {
        /// Property name.
        name: String,
    },
    /// `DEFINE name = 'value'`.
    DefineVariable {
        /// Variable name (as written; variables are case-sensitive in `${...}`).
        name: String,
        /// Its value.
        value: String,
    },
    /// `UNDEFINE name`.
    UndefineVariable {
        /// Variable name.
        name: String,
    },
    /// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`.
    Print {
        /// The topic, as written (topics are case-sensitive).
        topic: String,
        /// `FROM BEGINNING`.
        from_beginning: bool,
        /// `INTERVAL n` (or `SAMPLE n`).
        interval: Option<u64>,
        /// `LIMIT n`.
        limit: Option<u64>,
    },
    /// A push (`EMIT ...`) or pull query.
    Query(Box<Query>),
}

/// Stream or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// `STREAM`.
    Stream,
    /// `TABLE`.
    Table,
}

/// `CREATE ... STREAM|TABLE` with an explicit schema (or one inferred from the registry).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    /// Stream or table.
    pub source_type: SourceType,
    /// The new source.
    pub name: String,
    /// `OR REPLACE`.
    pub or_replace: bool,
    /// `SOURCE` (read-only).
    pub is_source: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The columns; empty when not given.
    pub columns: Vec<ColumnDef>,
    /// `WITH (...)` properties.
    pub properties: Vec<Property>,
}

/// `CREATE ... STREAM|TABLE ... AS SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    /// Stream or table.
    pub source_type: SourceType,
    /// The new source.
    pub name: String,
    /// `OR REPLACE`.
    pub or_replace: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `WITH (...)` properties.
    pub properties: Vec<Property>,
    /// The query.
    pub query: Box<Query>,
}

/// A column of a `CREATE` or `ALTER` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Column type.
    pub data_type: DataType,
    /// `KEY`, `PRIMARY KEY`, `HEADERS` or `HEADER('k')`.
    pub constraint: Option<ColumnConstraint>,
}

/// What a column is besides a value field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS`: all headers, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// `HEADER('k')`: the last header with that key.
    Header(String),
}

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    /// `BOOLEAN`.
    Boolean,
    /// `INT` / `INTEGER`.
    Int,
    /// `BIGINT`.
    Bigint,
    /// `DOUBLE`.
    Double,
    /// `DECIMAL(precision, scale)`.
    Decimal {
        /// Total digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// `STRING` / `VARCHAR`.
    String,
    /// `BYTES`.
    Bytes,
    /// `DATE`.
    Date,
    /// `TIME`.
    Time,
    /// `TIMESTAMP`.
    Timestamp,
    /// `ARRAY<t>`.
    Array(Box<DataType>),
    /// `MAP<k, v>`.
    Map(Box<DataType>, Box<DataType>),
    /// `STRUCT<name t, ...>`.
    Struct(Vec<StructField>),
    /// A type declared with `CREATE TYPE`.
    Named(String),
}

/// One field of a `STRUCT` type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructField {
    /// Field name.
    pub name: String,
    /// Field type.
    pub data_type: DataType,
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("BOOLEAN"),
            DataType::Int => f.write_str("INTEGER"),
            DataType::Bigint => f.write_str("BIGINT"),
            DataType::Double => f.write_str("DOUBLE"),
            DataType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            DataType::String => f.write_str("STRING"),
            DataType::Bytes => f.write_str("BYTES"),
            DataType::Date => f.write_str("DATE"),
            DataType::Time => f.write_str("TIME"),
            DataType::Timestamp => f.write_str("TIMESTAMP"),
            DataType::Array(t) => write!(f, "ARRAY<{t}>"),
            DataType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            DataType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}` {}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
            DataType::Named(name) => f.write_str(name),
        }
    }
}

/// A `WITH (...)` property: `NAME = literal`. Names are upper-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Upper-cased property name, e.g. `KAFKA_TOPIC`.
    pub name: String,
    /// Its value.
    pub value: Literal,
}

/// A literal property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `'text'`.
    String(String),
    /// A number, kept as written (`-1`, `2.5`).
    Number(String),
    /// `TRUE` / `FALSE`.
    Boolean(bool),
    /// `NULL`.
    Null,
}

/// What `SHOW`/`LIST` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowTarget {
    /// `STREAMS`.
    Streams,
    /// `TABLES`.
    Tables,
    /// `TOPICS` (`all` for `ALL TOPICS`).
    Topics {
        /// `ALL TOPICS`: include internal topics.
        all: bool,
    },
    /// `QUERIES`.
    Queries,
    /// `PROPERTIES`.
    Properties,
    /// `FUNCTIONS`.
    Functions,
    /// `TYPES`.
    Types,
    /// `VARIABLES`.
    Variables,
}

/// The query a `TERMINATE`/`PAUSE`/`RESUME` applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryTarget {
    /// `ALL`.
    All,
    /// One query id, as written.
    Id(String),
}

/// A ksqlDB `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The projection.
    pub projection: Vec<SelectItem>,
    /// The first source.
    pub from: Relation,
    /// Joined sources, in order.
    pub joins: Vec<Join>,
    /// `WINDOW ...`.
    pub window: Option<WindowExpr>,
    /// `WHERE`.
    pub selection: Option<Expr>,
    /// `GROUP BY` expressions.
    pub group_by: Vec<Expr>,
    /// `PARTITION BY` expressions.
    pub partition_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
    /// `EMIT CHANGES|FINAL`; `None` for a pull query.
    pub emit: Option<Emit>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
}

/// One projection item.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`.
    Wildcard,
    /// `source.*`.
    QualifiedWildcard(String),
    /// `expr->*`: every field of a struct.
    StructWildcard(Expr),
    /// `expr [[AS] alias]`.
    Expr {
        /// The expression.
        expr: Expr,
        /// The alias, if any.
        alias: Option<String>,
    },
}

/// A source in `FROM` or `JOIN`: `name [[AS] alias]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Source name.
    pub name: String,
    /// Alias, if any.
    pub alias: Option<String>,
}

/// `[INNER|LEFT|RIGHT|FULL] [OUTER] JOIN relation [WITHIN ...] ON expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Join type.
    pub join_type: JoinType,
    /// The joined source.
    pub relation: Relation,
    /// `WITHIN` (stream-stream joins).
    pub within: Option<WithinExpr>,
    /// The join criteria.
    pub on: Expr,
}

/// Join type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    /// `[INNER] JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
}

/// `WITHIN n unit` or `WITHIN (before unit, after unit)`, plus an optional `GRACE PERIOD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithinExpr {
    /// How far back the other side may be.
    pub before: Duration,
    /// How far ahead the other side may be.
    pub after: Duration,
    /// `GRACE PERIOD n unit`.
    pub grace: Option<Duration>,
}

/// A `WINDOW` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowExpr {
    /// The window shape.
    pub kind: WindowKind,
    /// `RETENTION n unit`.
    pub retention: Option<Duration>,
    /// `GRACE PERIOD n unit`.
    pub grace: Option<Duration>,
}

/// Window shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// `TUMBLING (SIZE n unit)`.
    Tumbling {
        /// Window size.
        size: Duration,
    },
    /// `HOPPING (SIZE n unit, ADVANCE BY n unit)`.
    Hopping {
        /// Window size.
        size: Duration,
        /// Hop.
        advance: Duration,
    },
    /// `SESSION (n unit)`.
    Session {
        /// Inactivity gap.
        gap: Duration,
    },
}

/// `n unit`, e.g. `30 SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    /// The number.
    pub value: u64,
    /// The unit.
    pub unit: TimeUnit,
}

impl Duration {
    /// The duration in milliseconds (saturating).
    pub fn as_millis(&self) -> u64 {
        self.value.saturating_mul(self.unit.millis())
    }
}

/// Time units of window and `WITHIN` sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// `MILLISECOND(S)`.
    Millisecond,
    /// `SECOND(S)`.
    Second,
    /// `MINUTE(S)`.
    Minute,
    /// `HOUR(S)`.
    Hour,
    /// `DAY(S)`.
    Day,
}

impl TimeUnit {
    /// Milliseconds in one unit.
    pub fn millis(self) -> u64 {
        match self {
            TimeUnit::Millisecond => 1,
            TimeUnit::Second => 1_000,
            TimeUnit::Minute => 60_000,
            TimeUnit::Hour => 3_600_000,
            TimeUnit::Day => 86_400_000,
        }
    }
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// `EMIT CHANGES`.
    Changes,
    /// `EMIT FINAL`.
    Final,
}

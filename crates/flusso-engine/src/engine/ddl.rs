//! CREATE STREAM/TABLE over a topic, DROP, CREATE/DROP TYPE, ALTER ... ADD COLUMN.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use flusso_sql::ast::{ColumnConstraint, ColumnDef, CreateSource, SourceType};

use super::properties::{apply_format_props, Props};
use super::{Ctx, Engine, EngineConfig, StatementResult};
use crate::catalog::{Source, WindowInfo};
use crate::error::{EngineError, Result};
use crate::format::{Format, FormatKind};
use crate::schema::{headers_type, Column, ColumnKind, LogicalSchema, RESERVED};
use crate::types::SqlType;

type Outcome = (StatementResult, Option<BTreeMap<i32, i64>>);

fn kind_word(t: SourceType) -> &'static str {
    match t {
        SourceType::Stream => "stream",
        SourceType::Table => "table",
    }
}

/// Builds the columns of a CREATE statement, with ksqlDB's checks.
pub(crate) fn columns_of(
    source_type: SourceType,
    defs: &[ColumnDef],
    types: &HashMap<String, SqlType>,
) -> Result<LogicalSchema> {
    let mut columns = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in defs {
        if RESERVED.contains(&d.name.as_str()) {
            return Err(EngineError::statement(format!(
                "'{}' is a reserved column name. You cannot use it as a name for a column.",
                d.name
            )));
        }
        if !seen.insert(d.name.clone()) {
            return Err(EngineError::statement(format!(
                "Duplicate column names: `{}`",
                d.name
            )));
        }
        let kind = match &d.constraint {
            None => ColumnKind::Value,
            Some(ColumnConstraint::Key) => {
                if source_type == SourceType::Table {
                    return Err(EngineError::statement(format!(
                        "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        d.name
                    )));
                }
                ColumnKind::Key
            }
            Some(ColumnConstraint::PrimaryKey) => {
                if source_type == SourceType::Stream {
                    return Err(EngineError::statement(format!(
                        "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        d.name
                    )));
                }
                ColumnKind::Key
            }
            Some(ColumnConstraint::Headers) => ColumnKind::Header(None),
            Some(ColumnConstraint::Header(k)) => ColumnKind::Header(Some(k.clone())),
        };
        let sql_type = SqlType::from_ast(&d.data_type, types)?;
        match &kind {
            ColumnKind::Header(None) if sql_type != headers_type() => {
                return Err(EngineError::statement(format!(
                    "Invalid type for HEADERS column: expected ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got {sql_type}"
                )))
            }
            ColumnKind::Header(Some(_)) if sql_type != SqlType::Bytes => {
                return Err(EngineError::statement(format!(
                    "Invalid type for HEADER('{}') column: expected BYTES, got {sql_type}",
                    d.name
                )))
            }
            ColumnKind::Key => check_key_type(&d.name, &sql_type)?,
            _ => {}
        }
        columns.push(Column {
            name: d.name.clone(),
            sql_type,
            kind,
        });
    }
    if columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Header(None))
        .count()
        > 1
    {
        return Err(EngineError::statement(
            "Schema already contains a HEADERS column.",
        ));
    }
    if source_type == SourceType::Table && !columns.iter().any(|c| c.kind == ColumnKind::Key) {
        return Err(EngineError::statement(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    Ok(LogicalSchema { columns })
}

/// Keys may not hold maps.
pub(crate) fn check_key_type(name: &str, t: &SqlType) -> Result<()> {
    if t.contains_map() {
        return Err(EngineError::statement(format!(
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{name}`. Column type: {t}. See https://github.com/confluentinc/ksql/issues/6621 for more."
        )));
    }
    Ok(())
}

/// Checks that formats can carry the columns, with ksqlDB's messages.
pub(crate) fn check_formats(
    key_format: &Format,
    value_format: &Format,
    schema: &LogicalSchema,
) -> Result<()> {
    let key = schema.key();
    if let Err(e) = key_format.check_columns(&key, true) {
        if key_format.kind == FormatKind::None {
            return Err(e);
        }
        return Err(EngineError::statement(format!(
            "Key format does not support schema.\nformat: {}\nschema: Persistence{{columns=[{}], features=[]}}\nreason: {e}",
            key_format.kind.name(),
            key.iter().map(|(n, t)| format!("`{n}` {t} KEY")).collect::<Vec<_>>().join(", ")
        )));
    }
    if key_format.kind == FormatKind::Kafka {
        for (_, t) in &key {
            if matches!(t, SqlType::Decimal(..) | SqlType::Boolean) {
                return Err(EngineError::statement(format!(
                    "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{{columns=[{}], features=[]}}\nreason: The 'KAFKA' format does not support type '{}'",
                    key.iter().map(|(n, t)| format!("`{n}` {t} KEY")).collect::<Vec<_>>().join(", "),
                    crate::format::kafka_type_name(t)
                )));
            }
        }
    }
    let value = schema.value();
    value_format.check_columns(&value, false)?;
    if value_format.kind == FormatKind::Kafka {
        for (_, t) in &value {
            if matches!(
                t,
                SqlType::Boolean
                    | SqlType::Decimal(..)
                    | SqlType::Date
                    | SqlType::Time
                    | SqlType::Timestamp
            ) {
                return Err(EngineError::statement(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    crate::format::kafka_type_name(t)
                )));
            }
        }
    }
    for f in [key_format, value_format] {
        if f.kind == FormatKind::Json {
            let cols = if std::ptr::eq(f, key_format) {
                &key
            } else {
                &value
            };
            for (_, t) in cols {
                if has_non_string_map_key(t) {
                    return Err(EngineError::statement(
                        "JSON only supports MAP types with STRING keys",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn has_non_string_map_key(t: &SqlType) -> bool {
    match t {
        SqlType::Map(k, v) => **k != SqlType::String || has_non_string_map_key(v),
        SqlType::Array(e) => has_non_string_map_key(e),
        SqlType::Struct(f) => f.iter().any(|(_, t)| has_non_string_map_key(t)),
        _ => false,
    }
}

/// The key and value formats of a new source from its properties and the defaults.
pub(crate) fn formats_from(
    props: &Props,
    config: &EngineConfig,
    properties: &BTreeMap<String, String>,
    inherit: Option<(&Format, &Format)>,
    has_key: bool,
) -> Result<(Format, Format)> {
    let (key_name, value_name) = props.formats()?;
    let prop = |name: &str| {
        properties
            .get(name)
            .or_else(|| config.properties.get(name))
            .cloned()
    };
    let value = match value_name {
        Some(v) => Format::new(FormatKind::parse(&v)?),
        None => match inherit {
            Some((_, v)) => Format { delimiter: ',', ..v.clone() },
            None => match prop("ksql.persistence.default.format.value") {
                Some(v) => Format::new(FormatKind::parse(&v)?),
                None => {
                    return Err(EngineError::statement(
                        "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
                    ))
                }
            },
        },
    };
    let key = match key_name {
        Some(k) => Format::new(FormatKind::parse(&k)?),
        None => match inherit {
            Some((k, _)) if k.kind != FormatKind::None => Format {
                delimiter: ',',
                ..k.clone()
            },
            _ => match prop("ksql.persistence.default.format.key") {
                Some(k) => Format::new(FormatKind::parse(&k)?),
                None => Format::new(FormatKind::Kafka),
            },
        },
    };
    let key = if !has_key && props.formats()?.0.is_none() {
        Format::new(FormatKind::None)
    } else {
        key
    };
    let value = Format {
        wrap_single: true,
        ..value
    };
    Ok((key, value))
}

/// A source from a CREATE statement (no topic checks).
pub(crate) fn source_from_create(
    c: &CreateSource,
    sql: &str,
    config: &EngineConfig,
    properties: &BTreeMap<String, String>,
    types: &HashMap<String, SqlType>,
) -> Result<Source> {
    let props = Props::new(&c.properties)?;
    if let Some(d) = props.string("VALUE_DELIMITER") {
        if d.is_empty() {
            return Err(EngineError::statement(
                "Failed to prepare statement: Configuration VALUE_DELIMITER is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'",
            ));
        }
        if let (_, Some(v)) = props.formats()? {
            if !v.eq_ignore_ascii_case("DELIMITED") {
                return Err(EngineError::statement(format!(
                    "{} does not support the following configs: [delimiter]",
                    v.to_uppercase()
                )));
            }
        }
    }
    // An unknown format is reported before anything else.
    let (key_name, value_name) = props.formats()?;
    for name in [key_name, value_name].into_iter().flatten() {
        FormatKind::parse(&name)?;
    }
    if c.columns.is_empty() {
        return Err(EngineError::statement(
            "The statement does not define any columns and no schema registry is available to infer them.",
        ));
    }
    let schema = columns_of(c.source_type, &c.columns, types)?;
    let topic = props.string("KAFKA_TOPIC").ok_or_else(|| {
        EngineError::statement(
            "Missing required property \"KAFKA_TOPIC\" which has no default value.",
        )
    })?;
    let has_key = !schema.key().is_empty();
    let (mut key_format, mut value_format) =
        formats_from(&props, config, properties, None, has_key)?;
    let default_wrap = properties
        .get("ksql.persistence.wrap.single.values")
        .or_else(|| config.properties.get("ksql.persistence.wrap.single.values"))
        .and_then(|v| v.parse::<bool>().ok());
    apply_format_props(
        &props,
        &mut key_format,
        &mut value_format,
        schema.value().len(),
        default_wrap,
    )?;
    check_formats(&key_format, &value_format, &schema)?;
    let timestamp = match props.string("TIMESTAMP") {
        Some(col) => {
            let col = normalise_column(&col);
            let column = schema.column(&col).ok_or_else(|| {
                EngineError::statement(format!(
                    "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{col}'"
                ))
            })?;
            match (&column.sql_type, props.string("TIMESTAMP_FORMAT")) {
                (SqlType::Bigint | SqlType::Timestamp, _) | (SqlType::String, Some(_)) => {}
                (t, _) => {
                    return Err(EngineError::statement(format!(
                        "Timestamp column, `{col}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. Found {t}"
                    )))
                }
            }
            Some((col, props.string("TIMESTAMP_FORMAT")))
        }
        None => None,
    };
    let window = match props.string("WINDOW_TYPE") {
        None => None,
        Some(w) => Some(match w.to_uppercase().as_str() {
            "SESSION" => {
                if props.has("WINDOW_SIZE") {
                    return Err(EngineError::statement(
                        "'WINDOW_SIZE' should not be set for SESSION windows.",
                    ));
                }
                WindowInfo::Session
            }
            kind @ ("TUMBLING" | "HOPPING") => {
                let size = props.string("WINDOW_SIZE").ok_or_else(|| {
                    EngineError::statement(format!(
                        "{kind} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'"
                    ))
                })?;
                WindowInfo::Time {
                    hopping: kind == "HOPPING",
                    size: parse_window_size(&size)?,
                }
            }
            other => {
                return Err(EngineError::statement(format!(
                    "Unknown WINDOW_TYPE: {other}"
                )))
            }
        }),
    };
    if window.is_some() && !has_key {
        return Err(EngineError::statement(
            "Windowed sources require a key column.",
        ));
    }
    Ok(Source {
        name: c.name.clone(),
        source_type: c.source_type,
        schema,
        topic,
        key_format,
        value_format,
        timestamp,
        is_source: c.is_source,
        window,
        sql: sql.to_string(),
        written_by: None,
    })
}

/// `'10 SECONDS'` in ms.
pub(crate) fn parse_window_size(text: &str) -> Result<i64> {
    let bad = || {
        EngineError::statement(format!(
            "Invalid WINDOW_SIZE property : {text}. WINDOW_SIZE should be in the form '<number> <time unit>' (e.g. '10 SECONDS')."
        ))
    };
    let mut parts = text.split_whitespace();
    let n: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let unit = parts.next().ok_or_else(bad)?.to_uppercase();
    let ms = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(bad()),
    };
    Ok(n * ms)
}

/// A column name given as a property: unquoted names are upper-cased.
pub(crate) fn normalise_column(name: &str) -> String {
    let t = name.trim();
    if t.len() >= 2
        && ((t.starts_with('`') && t.ends_with('`')) || (t.starts_with('"') && t.ends_with('"')))
    {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_uppercase()
    }
}

impl Engine {
    pub(super) async fn create_source(&self, c: &CreateSource, ctx: &Ctx<'_>) -> Result<Outcome> {
        let existing = self.source(&c.name);
        if let Some(e) = &existing {
            if c.if_not_exists {
                return Ok((
                    StatementResult::Message(format!(
                        "Cannot add {} '{}': A {} with the same name already exists",
                        kind_word(c.source_type),
                        c.name,
                        kind_word(e.source_type)
                    )),
                    None,
                ));
            }
            if c.or_replace && (c.is_source || e.is_source) {
                return Err(EngineError::statement(format!(
                    "Cannot add {} '{}': CREATE OR REPLACE is not supported on source {}s.",
                    kind_word(c.source_type),
                    c.name,
                    kind_word(c.source_type)
                )));
            }
            if !c.or_replace {
                return Err(EngineError::statement(format!(
                    "Cannot add {} '{}': A {} with the same name already exists",
                    kind_word(c.source_type),
                    c.name,
                    kind_word(e.source_type)
                )));
            }
        }
        let types = self.inner.catalog.read().types.clone();
        let source = source_from_create(c, ctx.text, &self.inner.config, ctx.properties, &types)?;
        let props = Props::new(&c.properties)?;
        match self.inner.log.partitions(&source.topic).await? {
            Some(_) => {}
            None => match props.int("PARTITIONS")? {
                Some(p) if p > 0 => {
                    self.inner
                        .log
                        .create_topic(&source.topic, p as i32, false)
                        .await?;
                }
                _ => {
                    return Err(EngineError::statement(format!(
                        "Kafka topic does not exist: {}",
                        source.topic
                    )))
                }
            },
        }
        let name = source.name.clone();
        let kind = source.kind_name();
        self.inner
            .catalog
            .write()
            .sources
            .insert(name.clone(), Arc::new(source));
        Ok((
            StatementResult::Message(format!(
                "{} created",
                if kind == "STREAM" { "Stream" } else { "Table" }
            )),
            Some(BTreeMap::new()),
        ))
    }

    pub(super) async fn drop_source(
        &self,
        source_type: SourceType,
        name: &str,
        if_exists: bool,
        delete_topic: bool,
    ) -> Result<Outcome> {
        let Some(source) = self.source(name) else {
            if if_exists {
                return Ok((
                    StatementResult::Message(format!("Source `{name}` does not exist.")),
                    None,
                ));
            }
            return Err(EngineError::statement(format!(
                "{} {name} does not exist.",
                if source_type == SourceType::Stream {
                    "Stream"
                } else {
                    "Table"
                }
            )));
        };
        if source.source_type != source_type {
            return Err(EngineError::statement(format!(
                "Incompatible data source type is {}, but statement was DROP {}",
                source.kind_name(),
                if source_type == SourceType::Stream {
                    "STREAM"
                } else {
                    "TABLE"
                }
            )));
        }
        if delete_topic && source.is_source {
            return Err(EngineError::statement(format!(
                "Cannot delete topic for read-only source: {name}"
            )));
        }
        {
            let catalog = self.inner.catalog.read();
            let readers: Vec<String> = catalog
                .readers_of(name)
                .iter()
                .map(|q| q.id.clone())
                .collect();
            let writers: Vec<String> = catalog
                .writers_of(name)
                .iter()
                .map(|q| q.id.clone())
                .collect();
            if !readers.is_empty() || !writers.is_empty() {
                return Err(EngineError::statement(format!(
                    "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
                    readers.join(", "),
                    writers.join(", ")
                )));
            }
        }
        self.inner.catalog.write().sources.remove(name);
        if delete_topic {
            self.inner.log.delete_topic(&source.topic).await?;
        }
        Ok((
            StatementResult::Message(format!(
                "Source `{name}` (topic: {}) was dropped.",
                source.topic
            )),
            Some(BTreeMap::new()),
        ))
    }

    pub(super) fn create_type(
        &self,
        name: &str,
        data_type: &flusso_sql::ast::DataType,
        if_not_exists: bool,
    ) -> Result<Outcome> {
        let mut catalog = self.inner.catalog.write();
        if let Some(existing) = catalog.types.get(name) {
            if if_not_exists {
                return Ok((
                    StatementResult::Message(format!("Type {name} already exists")),
                    None,
                ));
            }
            return Err(EngineError::statement(format!(
                "Cannot register custom type '{name}' since it is already registered with type: {existing}"
            )));
        }
        let t = SqlType::from_ast(data_type, &catalog.types)?;
        catalog.types.insert(name.to_string(), t);
        Ok((
            StatementResult::Message(format!("Registered custom type with name '{name}'")),
            Some(BTreeMap::new()),
        ))
    }

    pub(super) fn drop_type(&self, name: &str, if_exists: bool) -> Result<Outcome> {
        let mut catalog = self.inner.catalog.write();
        if catalog.types.remove(name).is_none() && !if_exists {
            return Err(EngineError::statement(format!(
                "Type {name} does not exist."
            )));
        }
        Ok((
            StatementResult::Message(format!("Dropped type '{name}'")),
            Some(BTreeMap::new()),
        ))
    }

    pub(super) fn alter_source(
        &self,
        source_type: SourceType,
        name: &str,
        columns: &[ColumnDef],
    ) -> Result<Outcome> {
        let mut catalog = self.inner.catalog.write();
        let source = catalog
            .source(name)
            .ok_or_else(|| EngineError::statement(format!("Source {name} does not exist.")))?;
        if source.source_type != source_type {
            return Err(EngineError::statement(format!(
                "Incompatible data source type is {}, but statement was ALTER {}",
                source.kind_name(),
                if source_type == SourceType::Stream {
                    "STREAM"
                } else {
                    "TABLE"
                }
            )));
        }
        if source.is_source {
            return Err(EngineError::statement(format!(
                "Cannot alter {} '{name}': ALTER operations are not supported on source {}s.",
                source.kind_name().to_lowercase(),
                source.kind_name().to_lowercase()
            )));
        }
        if source.written_by.is_some() {
            return Err(EngineError::statement(
                "ALTER command is not supported for CREATE ... AS statements.",
            ));
        }
        let mut updated = (*source).clone();
        for d in columns {
            if updated.schema.column(&d.name).is_some() {
                return Err(EngineError::statement(format!(
                    "Cannot add column `{}` to schema. A column with the same name already exists.",
                    d.name
                )));
            }
            if d.constraint.is_some() {
                return Err(EngineError::statement("ALTER can only add value columns"));
            }
            updated.schema.columns.push(Column {
                name: d.name.clone(),
                sql_type: SqlType::from_ast(&d.data_type, &catalog.types)?,
                kind: ColumnKind::Value,
            });
        }
        catalog.sources.insert(name.to_string(), Arc::new(updated));
        Ok((
            StatementResult::Message(format!("Altered {name}")),
            Some(BTreeMap::new()),
        ))
    }
}

//! `WITH (...)` properties of CREATE statements, checked and typed.

use std::collections::BTreeMap;

use flusso_sql::ast::{Literal, Property};

use crate::error::{EngineError, Result};
use crate::format::{Format, FormatKind};

/// Properties a CREATE statement accepts.
const KNOWN: &[&str] = &[
    "KAFKA_TOPIC",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "PARTITIONS",
    "REPLICAS",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "RETENTION_MS",
    "SOURCE_CONNECTOR",
];

/// The properties of one statement.
#[derive(Debug, Clone, Default)]
pub struct Props {
    values: BTreeMap<String, Literal>,
}

impl Props {
    /// Checks and collects properties.
    pub fn new(properties: &[Property]) -> Result<Props> {
        let mut values = BTreeMap::new();
        let mut unknown = Vec::new();
        for p in properties {
            if !KNOWN.contains(&p.name.as_str()) {
                unknown.push(p.name.clone());
            }
            values.insert(p.name.clone(), p.value.clone());
        }
        if !unknown.is_empty() {
            return Err(EngineError::statement(format!(
                "Invalid config variable(s) in the WITH clause: {}",
                unknown.join(",")
            )));
        }
        Ok(Props { values })
    }

    /// A property as text.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| match v {
            Literal::String(s) | Literal::Number(s) => Some(s.clone()),
            Literal::Boolean(b) => Some(b.to_string()),
            Literal::Null => None,
        })
    }

    /// A property as an integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.string(name) {
            None => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                EngineError::statement(format!("Invalid value for {name} property: {s}"))
            }),
        }
    }

    /// A property as a boolean.
    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.values.get(name) {
            None => Ok(None),
            Some(Literal::Boolean(b)) => Ok(Some(*b)),
            Some(Literal::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Literal::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(EngineError::statement(format!(
                "Invalid value for {name} property: {other:?}"
            ))),
        }
    }

    /// Whether a property is present.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The key and value format names given (`FORMAT` sets both).
    pub fn formats(&self) -> Result<(Option<String>, Option<String>)> {
        let format = self.string("FORMAT");
        let key = self.string("KEY_FORMAT");
        let value = self.string("VALUE_FORMAT");
        if format.is_some() && key.is_some() {
            return Err(EngineError::statement(
                "Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.",
            ));
        }
        if format.is_some() && value.is_some() {
            return Err(EngineError::statement(
                "Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'.",
            ));
        }
        Ok((key.or_else(|| format.clone()), value.or(format)))
    }
}

/// A delimiter property value: one character, or TAB / SPACE.
pub fn delimiter(text: &str) -> Result<char> {
    match text.to_uppercase().as_str() {
        "TAB" => return Ok('\t'),
        "SPACE" => return Ok(' '),
        _ => {}
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_whitespace() => Ok(c),
        _ => Err(EngineError::statement(format!(
            "Invalid delimiter value: '{text}'. Delimiter must be a single character or TAB or SPACE"
        ))),
    }
}

/// Applies delimiter and wrapping properties to formats.
pub fn apply_format_props(
    props: &Props,
    key: &mut Format,
    value: &mut Format,
    value_columns: usize,
    default_wrap: Option<bool>,
) -> Result<()> {
    if let Some(d) = props.string("VALUE_DELIMITER") {
        if value.kind != FormatKind::Delimited {
            return Err(EngineError::statement(format!(
                "{} does not support the following configs: [delimiter]",
                value.kind.name()
            )));
        }
        value.delimiter = delimiter(&d)?;
    }
    if let Some(d) = props.string("KEY_DELIMITER") {
        if key.kind != FormatKind::Delimited {
            return Err(EngineError::statement(format!(
                "{} does not support the following configs: [delimiter]",
                key.kind.name()
            )));
        }
        key.delimiter = delimiter(&d)?;
    }
    match props.bool("WRAP_SINGLE_VALUE")? {
        Some(wrap) => {
            if value_columns != 1 {
                return Err(EngineError::statement(
                    "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
                ));
            }
            if matches!(value.kind, FormatKind::Kafka | FormatKind::Delimited) && wrap {
                return Err(EngineError::statement(format!(
                    "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
                    value.kind.name()
                )));
            }
            value.wrap_single = wrap;
        }
        None => {
            if let Some(w) = default_wrap {
                value.wrap_single = w;
            }
        }
    }
    if matches!(value.kind, FormatKind::Kafka) {
        value.wrap_single = false;
    }
    Ok(())
}

//! Key and value formats with ksqlDB's exact encodings: KAFKA, JSON, DELIMITED, PROTOBUF_NOSR
//! and NONE.
//!
//! A format turns the bytes of a record's key or value into one [`ScalarValue`] per column of
//! that side (and back). `None` bytes are a null key or a tombstone.

mod delimited;
mod json;
pub(crate) mod json_columns;
mod kafka;
mod protobuf;

use datafusion::common::ScalarValue;

use crate::error::{EngineError, Result};
use crate::types::SqlType;

/// The formats Flusso reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FormatKind {
    /// Kafka's primitive serializers: one column.
    Kafka,
    /// JSON text.
    Json,
    /// Delimited text (CSV).
    Delimited,
    /// Protobuf without a schema registry: the message type follows the columns.
    ProtobufNoSr,
    /// No data (key-less streams).
    None,
}

impl FormatKind {
    /// Parses a format name (`'JSON'`, `'kafka'`, ...).
    pub fn parse(name: &str) -> Result<FormatKind> {
        match name.to_uppercase().as_str() {
            "KAFKA" => Ok(FormatKind::Kafka),
            "JSON" => Ok(FormatKind::Json),
            "DELIMITED" => Ok(FormatKind::Delimited),
            "NONE" => Ok(FormatKind::None),
            "PROTOBUF_NOSR" => Ok(FormatKind::ProtobufNoSr),
            "AVRO" | "PROTOBUF" | "JSON_SR" => Err(EngineError::statement(format!(
                "the format '{}' needs a schema registry, which Flusso does not support yet",
                name.to_uppercase()
            ))),
            other => Err(EngineError::statement(format!("Unknown format: {other}"))),
        }
    }

    /// The format's name as ksqlDB spells it.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Kafka => "KAFKA",
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::ProtobufNoSr => "PROTOBUF_NOSR",
            FormatKind::None => "NONE",
        }
    }
}

/// A format with its settings, for one side (key or value) of a source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Format {
    /// Which format.
    pub kind: FormatKind,
    /// `VALUE_DELIMITER` / `KEY_DELIMITER` for DELIMITED.
    pub delimiter: char,
    /// Whether a single column is wrapped in an object (JSON) — ksqlDB's `WRAP_SINGLE_VALUE`.
    /// Keys are never wrapped.
    pub wrap_single: bool,
}

impl Format {
    /// A format with default settings.
    pub fn new(kind: FormatKind) -> Format {
        Format {
            kind,
            delimiter: ',',
            wrap_single: true,
        }
    }

    /// Whether this side with these columns is written unwrapped (a bare value).
    pub fn unwrapped(&self, columns: &[(String, SqlType)]) -> bool {
        columns.len() == 1 && !self.wrap_single
    }

    /// Whether this side is written unwrapped, counting that a single key column always is.
    pub fn unwrapped_side(&self, columns: &[(String, SqlType)], is_key: bool) -> bool {
        columns.len() == 1 && (is_key || !self.wrap_single)
    }

    /// Checks that the format can carry these columns, with ksqlDB's messages.
    pub fn check_columns(&self, columns: &[(String, SqlType)], is_key: bool) -> Result<()> {
        let side = if is_key { "key" } else { "value" };
        match self.kind {
            FormatKind::None => {
                if !columns.is_empty() {
                    return Err(EngineError::statement(format!(
                        "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
                        columns
                            .iter()
                            .map(|(n, t)| format!("`{n}` {t}{}", if is_key { " KEY" } else { "" }))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            FormatKind::Kafka => {
                if columns.len() > 1 {
                    return Err(EngineError::statement(format!(
                        "The 'KAFKA' format only supports a single field. Got: [{}]",
                        columns
                            .iter()
                            .map(|(n, t)| format!("`{n}` {t}{}", if is_key { " KEY" } else { "" }))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                if let Some((_, t)) = columns.first() {
                    if !matches!(
                        t,
                        SqlType::Int
                            | SqlType::Bigint
                            | SqlType::Double
                            | SqlType::String
                            | SqlType::Bytes
                    ) {
                        return Err(EngineError::statement(format!(
                            "The 'KAFKA' format does not support type '{}'",
                            kafka_type_name(t)
                        )));
                    }
                }
            }
            FormatKind::Delimited => {
                for (_, t) in columns {
                    if t.is_nested() {
                        return Err(EngineError::statement(format!(
                            "The 'DELIMITED' format does not support type '{}', column: `{}`",
                            kafka_type_name(t),
                            columns
                                .iter()
                                .find(|(_, ct)| ct == t)
                                .map(|(n, _)| n.as_str())
                                .unwrap_or("")
                        )));
                    }
                }
            }
            FormatKind::ProtobufNoSr => {
                if columns
                    .iter()
                    .any(|(_, t)| protobuf::has_non_string_map_key(t))
                {
                    return Err(EngineError::statement(protobuf::MAP_KEYS_MESSAGE));
                }
            }
            FormatKind::Json => {}
        }
        let _ = side;
        Ok(())
    }

    /// Decodes one side of a record into a value per column; `Ok(None)` for absent bytes.
    pub fn decode(
        &self,
        bytes: Option<&[u8]>,
        columns: &[(String, SqlType)],
        is_key: bool,
    ) -> std::result::Result<Option<Vec<ScalarValue>>, String> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        match self.kind {
            FormatKind::None => Ok(Some(vec![])),
            FormatKind::Kafka => kafka::decode(bytes, columns).map(Some),
            FormatKind::Json => json::decode(bytes, columns, is_key || self.unwrapped(columns)),
            FormatKind::Delimited => delimited::decode(bytes, columns, self.delimiter).map(Some),
            FormatKind::ProtobufNoSr => {
                protobuf::decode(bytes, columns, self.unwrapped_side(columns, is_key)).map(Some)
            }
        }
    }

    /// Encodes one side of a record; `None` when there is nothing to write (no columns in a key,
    /// or a NULL single value).
    pub fn encode(
        &self,
        values: &[ScalarValue],
        columns: &[(String, SqlType)],
        is_key: bool,
    ) -> std::result::Result<Option<Vec<u8>>, String> {
        if columns.is_empty() && is_key {
            return Ok(None);
        }
        match self.kind {
            FormatKind::None => Ok(None),
            FormatKind::Kafka => kafka::encode(values),
            FormatKind::Json => Ok(Some(json::encode(
                values,
                columns,
                is_key || self.unwrapped(columns),
            ))),
            FormatKind::Delimited => Ok(delimited::encode(values, self.delimiter)),
            FormatKind::ProtobufNoSr => {
                protobuf::encode(values, columns, self.unwrapped_side(columns, is_key))
            }
        }
    }
}

/// The type name ksqlDB uses in format errors (`INTEGER` for INT, ...).
pub(crate) fn kafka_type_name(t: &SqlType) -> String {
    match t {
        SqlType::Array(_) => "ARRAY".into(),
        SqlType::Map(..) => "MAP".into(),
        SqlType::Struct(_) => "STRUCT".into(),
        SqlType::Decimal(..) => "DECIMAL".into(),
        other => other.to_string(),
    }
}

//! Statement results, and the statements that only read the catalog (SHOW, LIST, DESCRIBE).

use flusso_sql::ast::{ShowTarget, StatementKind};

use super::{Engine, Session};
use crate::error::{EngineError, Result};

/// One row of a listing (name, kind, topic, formats, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EntityRow {
    /// Name or id.
    pub name: String,
    /// Columns of the listing, by heading.
    pub fields: Vec<(String, String)>,
}

/// What executing a statement produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum StatementResult {
    /// A confirmation.
    Message(String),
    /// A persistent query started.
    QueryCreated {
        /// Its id.
        query_id: String,
        /// Its sink.
        sink: String,
    },
    /// A listing (SHOW / LIST / DESCRIBE).
    Listing {
        /// What is listed.
        what: String,
        /// Rows.
        rows: Vec<EntityRow>,
    },
}

impl Engine {
    pub(super) async fn show(
        &self,
        kind: &StatementKind,
        session: &Session,
    ) -> Result<StatementResult> {
        let catalog = self.catalog();
        let rows = match kind {
            StatementKind::Show { what, .. } => match what {
                ShowTarget::Streams | ShowTarget::Tables => {
                    let want = if matches!(what, ShowTarget::Streams) {
                        "STREAM"
                    } else {
                        "TABLE"
                    };
                    catalog
                        .sources
                        .values()
                        .filter(|s| s.kind_name() == want)
                        .map(|s| EntityRow {
                            name: s.name.clone(),
                            fields: vec![
                                ("Kafka Topic".into(), s.topic.clone()),
                                ("Key Format".into(), s.key_format.kind.name().into()),
                                ("Value Format".into(), s.value_format.kind.name().into()),
                                ("Windowed".into(), s.window.is_some().to_string()),
                            ],
                        })
                        .collect()
                }
                ShowTarget::Topics { all } => self
                    .inner
                    .log
                    .topics()
                    .await?
                    .into_iter()
                    .filter(|t| *all || !t.starts_with('_'))
                    .map(|t| EntityRow {
                        name: t,
                        fields: vec![],
                    })
                    .collect(),
                ShowTarget::Queries => self
                    .queries()
                    .iter()
                    .map(|q| EntityRow {
                        name: q.id.clone(),
                        fields: vec![
                            (
                                "Status".into(),
                                if q.paused.load(std::sync::atomic::Ordering::Relaxed) {
                                    "PAUSED".into()
                                } else {
                                    "RUNNING".into()
                                },
                            ),
                            ("Sink Name".into(), q.sink.name.clone()),
                            ("Sink Kafka Topic".into(), q.sink.topic.clone()),
                            ("Query String".into(), q.sql.clone()),
                        ],
                    })
                    .collect(),
                ShowTarget::Properties => session
                    .properties
                    .iter()
                    .chain(self.inner.config.properties.iter())
                    .map(|(k, v)| EntityRow {
                        name: k.clone(),
                        fields: vec![("Value".into(), v.clone())],
                    })
                    .collect(),
                ShowTarget::Functions => crate::functions::names()
                    .into_iter()
                    .map(|n| EntityRow {
                        name: n.to_string(),
                        fields: vec![("Type".into(), "SCALAR".into())],
                    })
                    .collect(),
                ShowTarget::Types => catalog
                    .types
                    .iter()
                    .map(|(n, t)| EntityRow {
                        name: n.clone(),
                        fields: vec![("Schema".into(), t.to_string())],
                    })
                    .collect(),
                ShowTarget::Variables => session
                    .variables
                    .iter()
                    .map(|(k, v)| EntityRow {
                        name: k.clone(),
                        fields: vec![("Value".into(), v.clone())],
                    })
                    .collect(),
            },
            StatementKind::DescribeSource { name, .. } => {
                let s = catalog.source(name).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Could not find STREAM/TABLE '{name}' in the Metastore"
                    ))
                })?;
                s.schema
                    .ordered()
                    .iter()
                    .map(|c| EntityRow {
                        name: c.name.clone(),
                        fields: vec![("Type".into(), c.sql_type.to_string())],
                    })
                    .collect()
            }
            other => {
                return Err(EngineError::statement(format!(
                    "statement not supported here yet: {}",
                    statement_name(other)
                )))
            }
        };
        Ok(StatementResult::Listing {
            what: statement_name(kind).into(),
            rows,
        })
    }
}

fn statement_name(kind: &StatementKind) -> &'static str {
    match kind {
        StatementKind::Show { .. } => "SHOW",
        StatementKind::DescribeSource { .. } | StatementKind::DescribeSources { .. } => "DESCRIBE",
        StatementKind::DescribeFunction { .. } => "DESCRIBE FUNCTION",
        StatementKind::ExplainQueryId(_) | StatementKind::ExplainStatement(_) => "EXPLAIN",
        StatementKind::Print { .. } => "PRINT",
        StatementKind::Query(_) => "SELECT",
        _ => "statement",
    }
}

//! Statement results, and the statements that only read the catalog (SHOW, LIST, DESCRIBE).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use flusso_sql::ast::{ShowTarget, StatementKind};
use serde_json::{json, Value};

use super::{Engine, Session};
use crate::catalog::{Source, WindowInfo};
use crate::error::{EngineError, Result};
use crate::functions::catalog as function_catalog;
use crate::schema::ColumnKind;
use crate::types::SqlType;

/// What executing a statement produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// A ksqlDB REST entity (SHOW, LIST, DESCRIBE, EXPLAIN), with its `@type` and fields, but
    /// without `statementText` and `warnings`, which the server adds.
    Entity(Value),
}

/// ksqlDB's JSON description of a type: `{"type", "fields", "memberSchema"}`.
pub fn schema_json(t: &SqlType) -> Value {
    let (name, fields, member, params) = match t {
        SqlType::Boolean => ("BOOLEAN", Value::Null, Value::Null, None),
        SqlType::Int => ("INTEGER", Value::Null, Value::Null, None),
        SqlType::Bigint => ("BIGINT", Value::Null, Value::Null, None),
        SqlType::Double => ("DOUBLE", Value::Null, Value::Null, None),
        SqlType::Decimal(p, s) => (
            "DECIMAL",
            Value::Null,
            Value::Null,
            Some(json!({"precision": p, "scale": s})),
        ),
        SqlType::String => ("STRING", Value::Null, Value::Null, None),
        SqlType::Bytes => ("BYTES", Value::Null, Value::Null, None),
        SqlType::Date => ("DATE", Value::Null, Value::Null, None),
        SqlType::Time => ("TIME", Value::Null, Value::Null, None),
        SqlType::Timestamp => ("TIMESTAMP", Value::Null, Value::Null, None),
        SqlType::Array(e) => ("ARRAY", Value::Null, schema_json(e), None),
        SqlType::Map(_, v) => ("MAP", Value::Null, schema_json(v), None),
        SqlType::Struct(fs) => (
            "STRUCT",
            Value::Array(
                fs.iter()
                    .map(|(n, t)| json!({"name": n, "schema": schema_json(t)}))
                    .collect(),
            ),
            Value::Null,
            None,
        ),
    };
    let mut o = json!({"type": name, "fields": fields, "memberSchema": member});
    if let Some(p) = params {
        o["parameters"] = p;
    }
    o
}

/// A source's columns as ksqlDB's `fields` (key columns marked `KEY`, headers `HEADER`).
pub fn fields_json(schema: &crate::schema::LogicalSchema) -> Vec<Value> {
    schema
        .ordered()
        .iter()
        .map(|c| {
            let mut f = json!({"name": c.name, "schema": schema_json(&c.sql_type)});
            match &c.kind {
                ColumnKind::Key => f["type"] = json!("KEY"),
                ColumnKind::Header(key) => {
                    f["type"] = json!("HEADER");
                    if let Some(k) = key {
                        f["headerKey"] = json!(k);
                    }
                }
                ColumnKind::Value => {}
            }
            f
        })
        .collect()
}

fn window_type(s: &Source) -> Value {
    match &s.window {
        None => Value::Null,
        Some(WindowInfo::Session) => json!("SESSION"),
        Some(WindowInfo::Time { hopping: true, .. }) => json!("HOPPING"),
        Some(WindowInfo::Time { .. }) => json!("TUMBLING"),
    }
}

/// Server properties SHOW PROPERTIES lists besides the configured ones (ksqlDB's names).
const DEFAULT_PROPERTIES: &[(&str, &str)] = &[
    ("ksql.service.id", "default_"),
    ("ksql.streams.auto.offset.reset", "latest"),
    ("ksql.streams.commit.interval.ms", "1000"),
    ("ksql.streams.cache.max.bytes.buffering", "0"),
    ("ksql.persistence.wrap.single.values", "true"),
    ("ksql.output.topic.name.prefix", ""),
    ("ksql.query.pull.table.scan.enabled", "true"),
    ("ksql.variable.substitution.enable", "true"),
];

impl Engine {
    /// ksqlDB's summary of a persistent query (SHOW QUERIES, DESCRIBE's read/write queries).
    fn query_json(&self, id: &str) -> Option<Value> {
        let catalog = self.catalog();
        let info = catalog.queries.get(id)?;
        let state = match self.queries().iter().find(|q| q.id == id) {
            Some(q) if q.paused.load(Ordering::Relaxed) => "PAUSED",
            Some(_) => "RUNNING",
            None => "UNRESPONSIVE",
        };
        let topic = catalog
            .source(&info.sink)
            .map(|s| s.topic.clone())
            .unwrap_or_default();
        Some(json!({
            "queryString": info.sql,
            "sinks": [info.sink],
            "sinkKafkaTopics": [topic],
            "id": info.id,
            "statusCount": {state: 1},
            "queryType": "PERSISTENT",
            "state": state,
        }))
    }

    /// ksqlDB's `SourceDescription` of a stream or table.
    async fn source_description(&self, s: &Source, extended: bool) -> Value {
        let catalog = self.catalog();
        let read: Vec<Value> = catalog
            .queries
            .values()
            .filter(|q| q.sources.contains(&s.name))
            .filter_map(|q| self.query_json(&q.id))
            .collect();
        let write: Vec<Value> = catalog
            .queries
            .values()
            .filter(|q| q.sink == s.name)
            .filter_map(|q| self.query_json(&q.id))
            .collect();
        let partitions = self
            .inner
            .log
            .partitions(&s.topic)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let (records_in, records_out, errors) =
            self.queries()
                .iter()
                .fold((0u64, 0u64, 0u64), |(i, o, e), q| {
                    let reads = q.plan.source.name == s.name;
                    let writes = q.sink.name == s.name;
                    (
                        i + if reads {
                            q.stats.records_in.load(Ordering::Relaxed)
                        } else {
                            0
                        },
                        o + if writes {
                            q.stats.records_out.load(Ordering::Relaxed)
                        } else {
                            0
                        },
                        e + if reads {
                            q.stats.errors.load(Ordering::Relaxed)
                        } else {
                            0
                        },
                    )
                });
        let statistics = if extended {
            format!(
                "consumer-messages-read: {records_in}, producer-messages-written: {records_out}"
            )
        } else {
            String::new()
        };
        let error_stats = if extended && errors > 0 {
            format!("consumer-failed-messages: {errors}")
        } else {
            String::new()
        };
        json!({
            "name": s.name,
            "windowType": window_type(s),
            "readQueries": read,
            "writeQueries": write,
            "fields": fields_json(&s.schema),
            "type": s.kind_name(),
            "timestamp": s.timestamp.as_ref().map(|(c, _)| c.clone()).unwrap_or_default(),
            "statistics": statistics,
            "errorStats": error_stats,
            "extended": extended,
            "keyFormat": s.key_format.kind.name(),
            "valueFormat": s.value_format.kind.name(),
            "topic": s.topic,
            "partitions": partitions,
            "replication": 1,
            "statement": s.sql,
            "queryOffsetSummaries": [],
            "sourceConstraints": [],
            "clusterStatistics": [],
            "clusterErrorStats": [],
        })
    }

    /// ksqlDB's `QueryDescription` of a persistent query (EXPLAIN, SHOW QUERIES EXTENDED).
    fn query_description(&self, id: &str) -> Option<Value> {
        let catalog = self.catalog();
        let info = catalog.queries.get(id)?;
        let query = self.queries().into_iter().find(|q| q.id == id);
        let fields = catalog
            .source(&info.sink)
            .map(|s| fields_json(&s.schema))
            .unwrap_or_default();
        let state = self
            .query_json(id)
            .and_then(|q| q.get("state").cloned())
            .unwrap_or_else(|| json!("RUNNING"));
        Some(json!({
                "id": info.id,
                "statementText": info.sql,
                "windowType": null,
                "fields": fields,
                "sources": info.sources,
                "sinks": [info.sink],
                "topology": "",
                "executionPlan": query.map(|q| q.describe_plan()).unwrap_or_default(),
                "overriddenProperties": {},
                "ksqlHostQueryStatus": {},
                "queryType": "PERSISTENT",
                "queryErrors": [],
                "tasksMetadata": [],
                "state": state,
        }))
    }

    pub(super) async fn show(
        &self,
        kind: &StatementKind,
        text: &str,
        session: &Session,
    ) -> Result<StatementResult> {
        let catalog = self.catalog();
        let entity = match kind {
            StatementKind::Show { what, extended } => match what {
                ShowTarget::Streams | ShowTarget::Tables => {
                    let stream = matches!(what, ShowTarget::Streams);
                    let want = if stream { "STREAM" } else { "TABLE" };
                    let sources: Vec<&Arc<Source>> = catalog
                        .sources
                        .values()
                        .filter(|s| s.kind_name() == want)
                        .collect();
                    if *extended {
                        let mut descriptions = Vec::new();
                        for s in sources {
                            descriptions.push(self.source_description(s, true).await);
                        }
                        json!({"@type": "source_descriptions", "sourceDescriptions": descriptions})
                    } else {
                        let list: Vec<Value> = sources
                            .iter()
                            .map(|s| {
                                json!({
                                    "type": want,
                                    "name": s.name,
                                    "topic": s.topic,
                                    "keyFormat": s.key_format.kind.name(),
                                    "valueFormat": s.value_format.kind.name(),
                                    "isWindowed": s.window.is_some(),
                                })
                            })
                            .collect();
                        let key = if stream { "streams" } else { "tables" };
                        json!({"@type": key, key: list})
                    }
                }
                ShowTarget::Topics { all } => {
                    let mut topics = Vec::new();
                    for t in self.inner.log.topics().await? {
                        if !*all && t.starts_with('_') {
                            continue;
                        }
                        let n = self.inner.log.partitions(&t).await?.unwrap_or(0).max(0);
                        let mut topic = json!({"name": t, "replicaInfo": vec![1; n as usize]});
                        if *extended {
                            // The consumers Flusso knows of: one group per persistent query
                            // reading the topic.
                            let readers = self
                                .queries()
                                .iter()
                                .filter(|q| q.plan.source.topic == t)
                                .count();
                            topic["consumerCount"] = json!(readers);
                            topic["consumerGroupCount"] = json!(readers);
                        }
                        topics.push(topic);
                    }
                    let kind = if *extended {
                        "kafka_topics_extended"
                    } else {
                        "kafka_topics"
                    };
                    json!({"@type": kind, "topics": topics})
                }
                ShowTarget::Queries if *extended => {
                    let descriptions: Vec<Value> = catalog
                        .queries
                        .keys()
                        .filter_map(|id| self.query_description(id))
                        .collect();
                    json!({"@type": "query_descriptions", "queryDescriptions": descriptions})
                }
                ShowTarget::Queries => {
                    let queries: Vec<Value> = catalog
                        .queries
                        .keys()
                        .filter_map(|id| self.query_json(id))
                        .collect();
                    json!({"@type": "queries", "queries": queries})
                }
                ShowTarget::Properties => {
                    let mut properties = Vec::new();
                    let mut overwritten = Vec::new();
                    let mut server: std::collections::BTreeMap<&str, &str> =
                        DEFAULT_PROPERTIES.iter().copied().collect();
                    for (k, v) in &self.inner.config.properties {
                        server.insert(k, v);
                    }
                    for (k, v) in server {
                        if !session.properties.contains_key(k) {
                            properties.push(json!({"name": k, "scope": "KSQL", "value": v}));
                        }
                    }
                    for (k, v) in &session.properties {
                        properties.push(json!({"name": k, "scope": "KSQL", "value": v}));
                        overwritten.push(json!(k));
                    }
                    json!({
                        "@type": "properties",
                        "properties": properties,
                        "overwrittenProperties": overwritten,
                        "defaultProperties": [],
                    })
                }
                ShowTarget::Functions => {
                    let mut functions: Vec<Value> = function_catalog::all()
                        .map(|(kind, f)| {
                            json!({"name": f.name, "type": kind.as_str(), "category": f.category})
                        })
                        .collect();
                    functions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                    json!({"@type": "function_names", "functions": functions})
                }
                ShowTarget::Types => {
                    let types: serde_json::Map<String, Value> = catalog
                        .types
                        .iter()
                        .map(|(n, t)| (n.clone(), schema_json(t)))
                        .collect();
                    json!({"@type": "type_list", "types": types})
                }
                ShowTarget::Variables => {
                    let variables: Vec<Value> = session
                        .variables
                        .iter()
                        .map(|(k, v)| json!({"name": k, "value": v}))
                        .collect();
                    json!({"@type": "variables", "variables": variables})
                }
            },
            StatementKind::DescribeSource { name, extended } => {
                let s = catalog.source(name).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Could not find STREAM/TABLE '{name}' in the Metastore"
                    ))
                })?;
                json!({
                    "@type": "sourceDescription",
                    "sourceDescription": self.source_description(&s, *extended).await,
                })
            }
            StatementKind::DescribeSources {
                source_type,
                extended,
            } => {
                let mut descriptions = Vec::new();
                for s in catalog.sources.values() {
                    if s.source_type == *source_type {
                        descriptions.push(self.source_description(s, *extended).await);
                    }
                }
                json!({"@type": "source_descriptions", "sourceDescriptions": descriptions})
            }
            StatementKind::DescribeFunction { name } => {
                let upper = name.to_uppercase();
                let (kind, description, variants) = match function_catalog::lookup(&upper) {
                    Some((kind, f)) => (kind, f.description, f.variants),
                    // A function the embedding program added: no description to give.
                    None if crate::planner::registry::lookup(&upper).is_some() => {
                        (function_catalog::Kind::Scalar, "", &[][..])
                    }
                    None => {
                        return Err(EngineError::Request(format!(
                            "Can't find any functions with the name '{}'",
                            spelled_name(text, name)
                        )))
                    }
                };
                json!({
                    "@type": "describe_function",
                    "name": upper,
                    "description": description,
                    "author": "Flusso",
                    "version": env!("CARGO_PKG_VERSION"),
                    "path": "internal",
                    "functions": variants.iter().map(variant_json).collect::<Vec<_>>(),
                    "type": kind.as_str(),
                })
            }
            StatementKind::ExplainQueryId(id) => {
                let id = id.to_uppercase();
                let description = self.query_description(&id).ok_or_else(|| {
                    EngineError::statement(format!("Query with id:{id} does not exist"))
                })?;
                json!({"@type": "queryDescription", "queryDescription": description})
            }
            other => {
                return Err(EngineError::statement(format!(
                    "statement not supported here yet: {}",
                    statement_name(other)
                )))
            }
        };
        Ok(StatementResult::Entity(entity))
    }
}

/// One variant as ksqlDB's `FunctionInfo`: its arguments, return type and description, and
/// `argumentTypes`, the older list of the argument types alone.
fn variant_json(v: &function_catalog::Variant) -> Value {
    let arguments: Vec<Value> = v
        .args
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "type": a.sql_type,
                "description": a.description,
                "isVariadic": a.variadic,
            })
        })
        .collect();
    let types: Vec<&str> = v.args.iter().map(|a| a.sql_type).collect();
    json!({
        "arguments": arguments,
        "returnType": v.returns,
        "description": v.description,
        "argumentTypes": types,
    })
}

/// The function name of `DESCRIBE FUNCTION` as the statement spells it (ksqlDB's error quotes
/// it as typed), or `parsed` when the text does not end with it.
fn spelled_name<'a>(text: &'a str, parsed: &'a str) -> &'a str {
    text.trim()
        .trim_end_matches(';')
        .split_whitespace()
        .last()
        .filter(|w| w.eq_ignore_ascii_case(parsed))
        .unwrap_or(parsed)
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

//! [`Engine`]: the one entry point. It executes statements against the catalog, keeps every
//! accepted DDL statement and persistent query in the command topic, replays that topic at
//! start-up, and runs persistent queries (as tasks, or stepped by the caller in tests).

mod bench;
mod ddl;
mod dml;
pub mod properties;
mod pull;
mod show;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flusso_sql::ast::{QueryTarget, StatementKind};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Source};
use crate::error::{EngineError, Result};
use crate::log_client::{LogClient, OutRecord};
use crate::processing_log::ProcessingLog;
use crate::query::PersistentQuery;

pub use bench::AggregateComparison;
pub use pull::PullResult;
pub use show::{fields_json, schema_json, StatementResult};

/// The topic holding every accepted statement, in order.
pub const COMMAND_TOPIC: &str = "_flusso_commands";

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Server-wide ksql properties (`ksql.persistence.default.format.value`, ...).
    pub properties: BTreeMap<String, String>,
    /// Run each persistent query in its own task (servers); `false` lets the caller step them
    /// ([`Engine::drain`]), as the conformance runner does.
    pub spawn_queries: bool,
    /// Keep statements in the command topic and replay it at start.
    pub durable: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            properties: BTreeMap::new(),
            spawn_queries: true,
            durable: true,
        }
    }
}

/// Per-client settings: `SET` properties and `DEFINE` variables.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// `SET 'k'='v'`.
    pub properties: BTreeMap<String, String>,
    /// `DEFINE v = '...'`.
    pub variables: BTreeMap<String, String>,
}

/// One entry of the command topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Command {
    sql: String,
    #[serde(default)]
    properties: BTreeMap<String, String>,
    /// For queries: where each source partition starts.
    #[serde(default)]
    start: BTreeMap<i32, i64>,
    #[serde(default)]
    seq: u64,
}

pub(crate) struct Inner {
    pub(crate) log: Arc<dyn LogClient>,
    pub(crate) catalog: RwLock<Catalog>,
    pub(crate) queries: Mutex<BTreeMap<String, Arc<PersistentQuery>>>,
    pub(crate) processing_log: ProcessingLog,
    pub(crate) config: EngineConfig,
    pub(crate) seq: AtomicU64,
    replaying: AtomicBool,
    tasks: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
}

/// The streaming SQL engine.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// Context of one statement's execution.
pub(crate) struct Ctx<'a> {
    pub(crate) text: &'a str,
    pub(crate) properties: &'a BTreeMap<String, String>,
    /// Start offsets recorded for a replayed query.
    pub(crate) start: Option<BTreeMap<i32, i64>>,
}

impl Ctx<'_> {
    /// A ksql property: the statement's, then the server's.
    pub(crate) fn prop<'b>(&'b self, config: &'b EngineConfig, name: &str) -> Option<&'b str> {
        self.properties
            .get(name)
            .or_else(|| config.properties.get(name))
            .map(String::as_str)
    }
}

impl Engine {
    /// Opens an engine over a log, replaying the command topic when `config.durable`.
    pub async fn open(log: Arc<dyn LogClient>, config: EngineConfig) -> Result<Engine> {
        let engine = Engine {
            inner: Arc::new(Inner {
                processing_log: ProcessingLog::new(Arc::clone(&log)),
                log,
                catalog: RwLock::new(Catalog::default()),
                queries: Mutex::new(BTreeMap::new()),
                config,
                seq: AtomicU64::new(0),
                replaying: AtomicBool::new(false),
                tasks: Mutex::new(HashMap::new()),
            }),
        };
        engine.register_processing_log();
        if engine.inner.config.durable {
            engine.replay().await?;
        }
        Ok(engine)
    }

    /// The log the engine reads and writes.
    pub fn log(&self) -> &Arc<dyn LogClient> {
        &self.inner.log
    }

    /// Processing errors logged so far.
    pub fn processing_errors(&self) -> u64 {
        self.inner.processing_log.count()
    }

    /// A copy of the catalog.
    pub fn catalog(&self) -> Catalog {
        self.inner.catalog.read().clone()
    }

    /// A source by name.
    pub fn source(&self, name: &str) -> Option<Arc<Source>> {
        self.inner.catalog.read().source(name)
    }

    /// The running persistent queries.
    pub fn queries(&self) -> Vec<Arc<PersistentQuery>> {
        self.inner.queries.lock().values().cloned().collect()
    }

    fn register_processing_log(&self) {
        let sql = "CREATE STREAM KSQL_PROCESSING_LOG (LOGGER STRING, LEVEL STRING, `TIME` BIGINT, MESSAGE STRING) WITH (KAFKA_TOPIC='default_ksql_processing_log', VALUE_FORMAT='JSON')";
        if let Ok(stmts) = flusso_sql::parse(sql) {
            if let StatementKind::CreateSource(c) = &stmts[0].kind {
                if let Ok(source) = ddl::source_from_create(
                    c,
                    sql,
                    &self.inner.config,
                    &BTreeMap::new(),
                    &HashMap::new(),
                ) {
                    self.inner
                        .catalog
                        .write()
                        .sources
                        .insert(source.name.clone(), Arc::new(source));
                }
            }
        }
    }

    /// Parses and executes a script (statements separated by `;`), stopping at the first error.
    pub async fn execute(&self, sql: &str, session: &mut Session) -> Result<Vec<StatementResult>> {
        let text = if session.variables.is_empty() {
            sql.to_string()
        } else {
            flusso_sql::substitute(sql, &session.variables.clone().into_iter().collect())?
        };
        let statements = flusso_sql::parse(&text)?;
        let mut out = Vec::new();
        for s in statements {
            out.push(self.execute_statement(&s, session).await?);
        }
        Ok(out)
    }

    /// Executes one parsed statement.
    pub async fn execute_statement(
        &self,
        statement: &flusso_sql::Statement,
        session: &mut Session,
    ) -> Result<StatementResult> {
        let ctx = Ctx {
            text: &statement.text,
            properties: &session.properties,
            start: None,
        };
        match &statement.kind {
            StatementKind::SetProperty { name, value } => {
                session.properties.insert(name.clone(), value.clone());
                Ok(StatementResult::Message(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )))
            }
            StatementKind::UnsetProperty { name } => {
                session.properties.remove(name);
                Ok(StatementResult::Message(format!(
                    "Successfully unset local property '{name}'."
                )))
            }
            StatementKind::DefineVariable { name, value } => {
                session.variables.insert(name.clone(), value.clone());
                Ok(StatementResult::Message(format!(
                    "Defined variable {name}."
                )))
            }
            StatementKind::UndefineVariable { name } => {
                session.variables.remove(name);
                Ok(StatementResult::Message(format!(
                    "Undefined variable {name}."
                )))
            }
            kind => {
                let props = session.properties.clone();
                let ctx = Ctx {
                    properties: &props,
                    ..ctx
                };
                self.execute_kind(kind, &ctx, session).await
            }
        }
    }

    async fn execute_kind(
        &self,
        kind: &StatementKind,
        ctx: &Ctx<'_>,
        session: &Session,
    ) -> Result<StatementResult> {
        let result = match kind {
            StatementKind::CreateSource(c) => self.create_source(c, ctx).await?,
            StatementKind::CreateAsSelect(c) => self.create_as_select(c, ctx).await?,
            StatementKind::InsertInto {
                target,
                properties,
                query,
            } => self.insert_into(target, properties, query, ctx).await?,
            StatementKind::InsertValues {
                target,
                columns,
                values,
            } => {
                return self.insert_values(target, columns, values, ctx).await;
            }
            StatementKind::DropSource {
                source_type,
                name,
                if_exists,
                delete_topic,
            } => {
                self.drop_source(*source_type, name, *if_exists, *delete_topic)
                    .await?
            }
            StatementKind::CreateType {
                name,
                data_type,
                if_not_exists,
            } => self.create_type(name, data_type, *if_not_exists)?,
            StatementKind::DropType { name, if_exists } => self.drop_type(name, *if_exists)?,
            StatementKind::AlterSource {
                source_type,
                name,
                columns,
            } => self.alter_source(*source_type, name, columns)?,
            StatementKind::Terminate(target) => self.terminate(target).await?,
            StatementKind::Pause(target) => return self.pause(target, true),
            StatementKind::Resume(target) => return self.pause(target, false),
            other => return self.show(other, ctx.text, session).await,
        };
        if !self.inner.replaying.load(Ordering::Relaxed) {
            if let Some(start) = result.1 {
                self.append_command(ctx, start).await?;
            }
        }
        Ok(result.0)
    }

    async fn append_command(&self, ctx: &Ctx<'_>, start: BTreeMap<i32, i64>) -> Result<()> {
        if !self.inner.config.durable {
            return Ok(());
        }
        let command = Command {
            sql: ctx.text.to_string(),
            properties: ctx.properties.clone(),
            start,
            seq: self.inner.seq.load(Ordering::Relaxed),
        };
        self.inner.log.create_topic(COMMAND_TOPIC, 1, false).await?;
        self.inner
            .log
            .produce(
                COMMAND_TOPIC,
                0,
                &[OutRecord {
                    key: None,
                    value: serde_json::to_vec(&command).ok(),
                    timestamp: flusso_common::now_ms(),
                    headers: vec![],
                }],
            )
            .await
    }

    async fn replay(&self) -> Result<()> {
        if self.inner.log.partitions(COMMAND_TOPIC).await?.is_none() {
            return Ok(());
        }
        self.inner.replaying.store(true, Ordering::Relaxed);
        let mut offset = 0;
        let mut count = 0;
        loop {
            let records = self
                .inner
                .log
                .fetch(COMMAND_TOPIC, 0, offset, 1 << 20)
                .await?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            for r in &records {
                let Some(v) = &r.value else { continue };
                let Ok(command) = serde_json::from_slice::<Command>(v) else {
                    tracing::warn!(offset = r.offset, "unreadable command skipped");
                    continue;
                };
                let statements = match flusso_sql::parse(&command.sql) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "command no longer parses");
                        continue;
                    }
                };
                for s in statements {
                    let ctx = Ctx {
                        text: &s.text,
                        properties: &command.properties,
                        start: Some(command.start.clone()),
                    };
                    let session = Session::default();
                    if let Err(e) = self.execute_kind(&s.kind, &ctx, &session).await {
                        tracing::warn!(error = %e, sql = %s.text, "command replay failed");
                    }
                    count += 1;
                }
            }
        }
        self.inner.replaying.store(false, Ordering::Relaxed);
        tracing::info!(commands = count, "command topic replayed");
        Ok(())
    }

    /// Starts a query: as a task when the engine spawns queries.
    pub(crate) fn start_query(&self, q: Arc<PersistentQuery>) {
        self.inner
            .queries
            .lock()
            .insert(q.id.clone(), Arc::clone(&q));
        if !self.inner.config.spawn_queries {
            return;
        }
        let log = Arc::clone(&self.inner.log);
        let id = q.id.clone();
        let handle = tokio::spawn(async move {
            let mut last_commit = std::time::Instant::now();
            let mut dirty = false;
            loop {
                if q.terminated.load(Ordering::Relaxed) {
                    break;
                }
                match q.step().await {
                    Ok(0) => {
                        if dirty {
                            if let Err(e) = q.commit().await {
                                tracing::warn!(query = %q.id, error = %e, "commit failed");
                            }
                            dirty = false;
                            last_commit = std::time::Instant::now();
                        }
                        log.wait_for_data(&q.positions(), Duration::from_millis(500))
                            .await;
                    }
                    Ok(_) => {
                        dirty = true;
                        if last_commit.elapsed() > Duration::from_secs(1) {
                            if let Err(e) = q.commit().await {
                                tracing::warn!(query = %q.id, error = %e, "commit failed");
                            }
                            dirty = false;
                            last_commit = std::time::Instant::now();
                        }
                    }
                    Err(e) => {
                        tracing::error!(query = %q.id, error = %e, "query step failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        self.inner.tasks.lock().insert(id, handle);
    }

    /// Steps every query until none reads anything more (tests and the conformance runner).
    pub async fn drain(&self) -> Result<()> {
        for _ in 0..10_000 {
            let queries = self.queries();
            let mut progress = 0;
            for q in &queries {
                progress += q.step().await?;
            }
            if progress == 0 {
                return Ok(());
            }
        }
        Err(EngineError::execution("queries did not settle"))
    }

    /// Commits every query's offsets and stops their tasks (clean shutdown).
    pub async fn shutdown(&self) {
        let mut handles: HashMap<String, tokio::task::JoinHandle<()>> =
            self.inner.tasks.lock().drain().collect();
        for q in self.queries() {
            let result = match handles.remove(&q.id) {
                Some(task) => q.stop(task).await,
                None => {
                    async {
                        q.write_changelog_now().await?;
                        q.commit().await
                    }
                    .await
                }
            };
            if let Err(e) = result {
                tracing::warn!(query = %q.id, error = %e, "final commit failed");
            }
        }
        for (_, h) in handles {
            h.abort();
            let _ = h.await;
        }
    }

    async fn terminate(
        &self,
        target: &QueryTarget,
    ) -> Result<(StatementResult, Option<BTreeMap<i32, i64>>)> {
        let ids: Vec<String> = match target {
            QueryTarget::All => self.inner.queries.lock().keys().cloned().collect(),
            QueryTarget::Id(id) => {
                let id = id.to_uppercase();
                if !self.inner.queries.lock().contains_key(&id) {
                    return Err(EngineError::statement(format!("Unknown queryId: {id}")));
                }
                vec![id]
            }
        };
        for id in &ids {
            if let Some(q) = self.inner.queries.lock().remove(id) {
                q.terminated.store(true, Ordering::Relaxed);
            }
            if let Some(h) = self.inner.tasks.lock().remove(id) {
                h.abort();
            }
            self.inner.catalog.write().queries.remove(id);
            let _ = self
                .inner
                .log
                .delete_group(&format!("_flusso_query_{id}"))
                .await;
        }
        Ok((
            StatementResult::Message(format!("Query terminated: {}", ids.join(", "))),
            Some(BTreeMap::new()),
        ))
    }

    fn pause(&self, target: &QueryTarget, pause: bool) -> Result<StatementResult> {
        let queries = self.inner.queries.lock();
        let selected: Vec<&Arc<PersistentQuery>> = match target {
            QueryTarget::All => queries.values().collect(),
            QueryTarget::Id(id) => vec![queries
                .get(&id.to_uppercase())
                .ok_or_else(|| EngineError::statement(format!("Unknown queryId: {id}")))?],
        };
        for q in selected {
            q.paused.store(pause, Ordering::Relaxed);
        }
        Ok(StatementResult::Message(if pause {
            "Query paused.".into()
        } else {
            "Query resumed.".into()
        }))
    }
}

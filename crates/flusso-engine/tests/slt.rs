//! sqllogictest runner: every `tests/slt/*.slt` file (at the workspace root) runs in its own
//! fresh engine over a fresh embedded log.
//!
//! - `statement ok` / `statement error <regex>` run the text with [`Engine::execute`].
//! - `FLUSH` (as a statement) steps every persistent query until all are caught up
//!   ([`Engine::drain`]); the runner also does this before every `query`.
//! - `query <types>` is a push query (`SELECT ... EMIT CHANGES LIMIT n`), whose rows are collected
//!   until the query's channel closes or [`QUERY_TIMEOUT`] passes, so a wrong row count shows up
//!   as a diff rather than a hang; or a pull query (no `EMIT`): the table's current rows. Values are rendered as ksqlDB text ([`to_text`]), `NULL` for
//!   NULL and `(empty)` for the empty string.
//!
//! Each file has its own `#[test]` (see [`slt_files!`]); `every_slt_file_has_a_test` fails when a
//! file is added to `tests/slt/` without being listed there.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flusso_engine::value::to_text;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, EngineError, LogClient, Session};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

/// How long a `query` waits for its rows before returning what arrived.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// One test file's database: an engine over its own log in a temporary directory.
struct FlussoDb {
    engine: Engine,
    session: Session,
    // Dropped last: the log's files live here.
    _dir: tempfile::TempDir,
}

impl FlussoDb {
    async fn open() -> Result<FlussoDb, EngineError> {
        let dir = tempfile::tempdir().map_err(|e| EngineError::Internal(e.to_string()))?;
        let log = flusso_log::Log::open(flusso_log::LogConfig::new(dir.path()))?;
        let client: Arc<dyn LogClient> = EmbeddedLog::new(log);
        let engine = Engine::open(
            client,
            EngineConfig {
                properties: Default::default(),
                spawn_queries: false,
                durable: false,
            },
        )
        .await?;
        let mut session = Session::default();
        session
            .properties
            .insert("auto.offset.reset".into(), "earliest".into());
        Ok(FlussoDb {
            engine,
            session,
            _dir: dir,
        })
    }

    async fn query(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        self.engine.drain().await?;
        if !command_word(sql).contains(" EMIT ") {
            // A pull query: the table's current rows.
            let result = self.engine.pull_query(sql, &self.session).await?;
            let types = vec![DefaultColumnType::Any; result.columns.len()];
            let rows = result
                .rows
                .iter()
                .map(|r| r.iter().map(render).collect())
                .collect();
            return Ok(DBOutput::Rows { types, rows });
        }
        let mut query = self.engine.push_query(sql, &self.session).await?;
        let types = vec![DefaultColumnType::Any; query.columns.len()];
        let mut rows = Vec::new();
        let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
        while let Ok(Some(row)) = tokio::time::timeout_at(deadline, query.rows.recv()).await {
            rows.push(row?.columns.iter().map(render).collect());
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

/// A value as the test files spell it.
fn render(v: &datafusion::common::ScalarValue) -> String {
    match to_text(v) {
        None => "NULL".to_string(),
        Some(s) if s.is_empty() => "(empty)".to_string(),
        Some(s) => s,
    }
}

/// The statement text without trailing `;` and blanks, upper-cased, to recognise `FLUSH`.
fn command_word(sql: &str) -> String {
    sql.trim().trim_end_matches(';').trim().to_ascii_uppercase()
}

#[async_trait::async_trait]
impl AsyncDB for FlussoDb {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        let word = command_word(sql);
        if word == "FLUSH" {
            self.engine.drain().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if word.starts_with("SELECT") {
            return self.query(sql).await;
        }
        self.engine.execute(sql, &mut self.session).await?;
        Ok(DBOutput::StatementComplete(0))
    }

    async fn shutdown(&mut self) {
        self.engine.shutdown().await;
    }

    fn engine_name(&self) -> &str {
        "flusso"
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// The directory holding the `.slt` files.
fn slt_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/slt"))
}

/// Runs one file in a fresh engine, panicking with the failing record and its diff.
async fn run_file(name: &str) {
    let path = slt_dir().join(name);
    let mut runner = Runner::new(FlussoDb::open);
    if let Err(e) = runner.run_file_async(&path).await {
        panic!("{}: {}", path.display(), e.display(false));
    }
    runner.shutdown_async().await;
}

/// One `#[tokio::test]` per file, plus [`LISTED`] for the completeness check.
macro_rules! slt_files {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                run_file($file).await;
            }
        )*
        const LISTED: &[&str] = &[$($file),*];
    };
}

slt_files! {
    aggregate_functions => "aggregate_functions.slt",
    case_cast => "case_cast.slt",
    errors => "errors.slt",
    filter => "filter.slt",
    formats_delimited => "formats_delimited.slt",
    formats_json => "formats_json.slt",
    formats_kafka => "formats_kafka.slt",
    formats_protobuf => "formats_protobuf.slt",
    functions_string => "functions_string.slt",
    insert_into => "insert_into.slt",
    joins => "joins.slt",
    null_handling => "null_handling.slt",
    partition_by => "partition_by.slt",
    projection => "projection.slt",
    pull_sql => "pull_sql.slt",
    structs_arrays_maps => "structs_arrays_maps.slt",
    table_aggregation => "table_aggregation.slt",
    windows => "windows.slt",
}

#[test]
fn every_slt_file_has_a_test() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(slt_dir()).expect("tests/slt exists") {
        let name = entry.expect("readable dir entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".slt") && !LISTED.contains(&name.as_ref()) {
            missing.push(name.into_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "add these files to slt_files! in crates/flusso-engine/tests/slt.rs: {missing:?}"
    );
}

//! ksqlDB's REST query-validation tests (RQTT, `rest-query-validation-tests/*.json`; see
//! `../shared/reference/ksqldb.md` §9.1). Each variant gets a fresh embedded log, an engine that
//! runs its persistent queries as tasks, and the real HTTP API on an ephemeral loopback port;
//! the runner talks to it over HTTP as ksqlDB's `RestTestExecutor` does:
//!
//! 1. create the declared topics and those the statements and inputs name;
//! 2. send every statement before the first `SELECT` as one `POST /ksql`;
//! 3. produce the inputs (after the first query's header when
//!    `inputConditions.waitForActivePushQuery`), then wait until the persistent queries caught up;
//! 4. send each `SELECT` to `POST /query` and read its streamed rows;
//! 5. judge the error (`expectedError`), the topic records (`outputs`) and the `responses`.
//!
//! `expectedError` is judged as `RestTestExecutor` judges it: against the error of the `/ksql`
//! request or of a query, and as a failure when a query returned rows. A variant whose
//! statements all succeed and that has no query is not failed for the error that never came;
//! it passes as [`Pass::ErrorNotRaised`], and the summary names it.
//!
//! RQTT variants always run over an embedded log; `--backend` applies to QTT only.

use std::collections::BTreeMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, LogClient, OutRecord, Source};
use flusso_log::{Log, LogConfig};
use futures::{Stream, StreamExt};
use serde_json::{json, Value as Json};
use tokio_util::sync::CancellationToken;

use super::load::Variant;
use super::rqtt_match::{error_match, partial_match, query_match, Splitter};
use super::run::{decode_headers, encode_side, topic_of_statement_or};

/// Timeout of a whole `/ksql` request, and of `/query` until its response headers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// A query's stream ends when nothing more came for this long.
const IDLE: Duration = Duration::from_secs(3);
/// How long to wait for extra rows once the expected number arrived.
const GRACE: Duration = Duration::from_millis(300);
/// The longest a query is read.
const QUERY_DEADLINE: Duration = Duration::from_secs(15);
/// The longest the persistent queries get to process the inputs.
const SETTLE_DEADLINE: Duration = Duration::from_secs(10);

const JSON_MEDIA: &str = "application/vnd.ksql.v1+json";
const PROTOBUF_MEDIA: &str = "application/vnd.ksql.v1+protobuf";

/// Whether a file is an RQTT file: it lies under a `rest-query-validation-tests` directory.
pub fn is_rqtt_path(path: &Path) -> bool {
    path.components()
        .any(|c| c.as_os_str() == "rest-query-validation-tests")
}

/// How a variant passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Everything the variant expects was checked.
    Checked,
    /// The variant expects an error, but its statements all succeeded and it has no query.
    /// ksqlDB's `RestTestExecutor` checks `expectedError` only against an error response or
    /// a query's rows, so it passes such a variant too; the summary lists them.
    ErrorNotRaised,
}

/// Runs a variant; `Err` holds why it failed.
pub async fn run_variant(v: &Variant) -> Result<Pass, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut config = LogConfig::new(dir.path());
    config.checkpoint_interval_ms = 3_600_000;
    let log = Log::open(config).map_err(|e| e.to_string())?;
    let client: Arc<dyn LogClient> = EmbeddedLog::new(log.clone());
    let result = match Harness::start(v, client).await {
        Ok(h) => {
            let r = h.run().await;
            h.stop().await;
            r
        }
        Err(e) => Err(e),
    };
    let _ = log.shutdown();
    result
}

/// One response the server gave, in the order `responses` lists them.
enum Actual {
    /// An entity of the `/ksql` answer.
    Admin(Json),
    /// The elements of a `/query` stream.
    Query(Vec<Json>),
    /// The same query, answered in protobuf.
    Proto(Vec<Json>),
}

impl Actual {
    fn kind(&self) -> &'static str {
        match self {
            Actual::Admin(_) => "admin",
            Actual::Query(_) => "query",
            Actual::Proto(_) => "queryProto",
        }
    }
}

/// An HTTP answer: a success body, or an error status with ksqlDB's error body.
enum Reply<T> {
    Ok(T),
    Error { status: u16, body: Json },
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Reads a `/query` response's streamed array.
struct RowReader {
    stream: ByteStream,
    splitter: Splitter,
    ended: bool,
}

impl RowReader {
    /// Reads until `want` elements arrived (then `grace` longer for extra ones), the stream
    /// ended, nothing came for `IDLE`, or `deadline` passed.
    async fn read(
        &mut self,
        want: usize,
        grace: Duration,
        deadline: Instant,
    ) -> Result<(), String> {
        while !self.ended && !self.splitter.closed {
            let mut wait = IDLE;
            if self.splitter.elements.len() >= want {
                if grace.is_zero() {
                    break;
                }
                wait = grace;
            }
            let wait = wait.min(deadline.saturating_duration_since(Instant::now()));
            if wait.is_zero() {
                break;
            }
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => break,
                Ok(None) => self.ended = true,
                Ok(Some(Err(e))) => return Err(format!("reading the /query stream: {e}")),
                Ok(Some(Ok(chunk))) => self.splitter.feed(&chunk)?,
            }
        }
        Ok(())
    }
}

struct Harness<'a> {
    v: &'a Variant,
    log: Arc<dyn LogClient>,
    engine: Engine,
    http: reqwest::Client,
    base: String,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl<'a> Harness<'a> {
    async fn start(v: &'a Variant, log: Arc<dyn LogClient>) -> Result<Harness<'a>, String> {
        for (t, p) in topics(v) {
            log.create_topic(&t, p, false)
                .await
                .map_err(|e| format!("creating topic {t}: {e}"))?;
        }
        // The ksqlDB test server reads from the earliest offset unless a request says otherwise.
        let config = EngineConfig {
            properties: BTreeMap::from([("auto.offset.reset".to_string(), "earliest".to_string())]),
            spawn_queries: true,
            durable: false,
        };
        let engine = Engine::open(Arc::clone(&log), config)
            .await
            .map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(flusso_server::serve(
            listener,
            engine.clone(),
            shutdown.clone(),
        ));
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Harness {
            v,
            log,
            engine,
            http,
            base: format!("http://{addr}"),
            shutdown,
            server,
        })
    }

    async fn stop(self) {
        drop(self.http);
        self.shutdown.cancel();
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(2), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        self.engine.shutdown().await;
    }

    fn properties(&self) -> Json {
        self.v
            .case
            .get("properties")
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    async fn run(&self) -> Result<Pass, String> {
        let case = &self.v.case;
        let statements = &self.v.statements;
        let expected_error = case.get("expectedError");
        let last_statement = statements.last().map(String::as_str).unwrap_or("");
        let first_query = statements
            .iter()
            .position(|s| is_select(s))
            .unwrap_or(statements.len());
        let (admin, queries) = statements.split_at(first_query);
        if let Some(i) = queries.iter().position(|q| !is_select(q)) {
            return Err(format!(
                "invalid test case: statement {} follows queries but is not a query",
                admin.len() + i
            ));
        }

        // Whether a query was answered with the error the case expects.
        let mut errored = false;
        let mut actual: Vec<Actual> = Vec::new();
        if !admin.is_empty() {
            match self.post_ksql(&admin.join("\n")).await? {
                Reply::Ok(Json::Array(entities)) => {
                    actual.extend(entities.into_iter().map(Actual::Admin));
                }
                Reply::Ok(other) => {
                    return Err(format!("/ksql answered something not an array: {other}"))
                }
                Reply::Error { status, body } => {
                    return judge_error(expected_error, status, &body, last_statement)
                        .map(|()| Pass::Checked);
                }
            }
        }

        let wait_for_query = case
            .get("inputConditions")
            .and_then(|c| c.get("waitForActivePushQuery"))
            .and_then(|w| w.as_bool())
            .unwrap_or(false)
            && !queries.is_empty();
        if !wait_for_query {
            self.produce_inputs().await?;
            self.settle().await?;
        }

        // The expected element counts of the query responses, in order.
        let responses: Vec<Json> = case
            .get("responses")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        let expected_len = |kind: &str, n: usize| -> usize {
            responses
                .iter()
                .filter_map(|r| r.get(kind).and_then(|q| q.as_array()))
                .nth(n)
                .map_or(usize::MAX, |q| q.len())
        };
        let with_proto = case
            .get("testPullWithProtoFormat")
            .and_then(|p| p.as_bool())
            .unwrap_or(false);
        let mut query_results = 0;
        for (n, sql) in queries.iter().enumerate() {
            let produce_after_header = wait_for_query && n == 0;
            let want = expected_len("query", n);
            match self
                .query(sql, JSON_MEDIA, want, produce_after_header)
                .await?
            {
                Reply::Ok(rows) => {
                    query_results += 1;
                    actual.push(Actual::Query(rows));
                }
                Reply::Error { status, body } => {
                    judge_error(expected_error, status, &body, last_statement)?;
                    errored = true;
                    continue;
                }
            }
            if with_proto {
                let want = expected_len("queryProto", n);
                match self.query(sql, PROTOBUF_MEDIA, want, false).await? {
                    Reply::Ok(rows) => actual.push(Actual::Proto(rows)),
                    Reply::Error { status, body } => {
                        return Err(format!(
                            "the protobuf variant of the query failed: {status} {body}"
                        ))
                    }
                }
            }
        }
        let mut pass = Pass::Checked;
        if let Some(ee) = expected_error {
            if query_results > 0 || (!errored && !queries.is_empty()) {
                return Err(format!(
                    "expected the last statement to fail ({ee}), but it succeeded"
                ));
            }
            if !errored {
                pass = Pass::ErrorNotRaised;
            }
        }

        self.check_outputs().await?;
        check_responses(&actual, &responses, statements, case)?;
        Ok(pass)
    }

    async fn post_ksql(&self, sql: &str) -> Result<Reply<Json>, String> {
        let body = json!({"ksql": sql, "streamsProperties": self.properties()});
        let request = self
            .http
            .post(format!("{}/ksql", self.base))
            .header(reqwest::header::ACCEPT, JSON_MEDIA)
            .json(&body)
            .timeout(REQUEST_TIMEOUT)
            .send();
        let response = request
            .await
            .map_err(|e| format!("POST /ksql failed: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("POST /ksql: reading the body failed: {e}"))?;
        let body: Json = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "POST /ksql answered {status} with a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        if (200..300).contains(&status) {
            Ok(Reply::Ok(body))
        } else {
            Ok(Reply::Error { status, body })
        }
    }

    /// Runs a query on `/query` and reads its stream; with `produce_after_header`, the inputs
    /// are produced once the header arrived.
    async fn query(
        &self,
        sql: &str,
        accept: &str,
        want: usize,
        produce_after_header: bool,
    ) -> Result<Reply<Vec<Json>>, String> {
        let body = json!({"ksql": sql, "streamsProperties": self.properties()});
        let request = self
            .http
            .post(format!("{}/query", self.base))
            .header(reqwest::header::ACCEPT, accept)
            .json(&body)
            .send();
        let response = tokio::time::timeout(REQUEST_TIMEOUT, request)
            .await
            .map_err(|_| "POST /query: no response headers in time".to_string())?
            .map_err(|e| format!("POST /query failed: {e}"))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let bytes = tokio::time::timeout(REQUEST_TIMEOUT, response.bytes())
                .await
                .map_err(|_| "POST /query: the error body did not arrive in time".to_string())?
                .map_err(|e| format!("POST /query: reading the body failed: {e}"))?;
            let body: Json = serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "POST /query answered {status} with a body that is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })?;
            return Ok(Reply::Error { status, body });
        }
        let mut reader = RowReader {
            stream: Box::pin(response.bytes_stream()),
            splitter: Splitter::default(),
            ended: false,
        };
        let deadline = Instant::now() + QUERY_DEADLINE;
        if produce_after_header {
            reader.read(1, Duration::ZERO, deadline).await?;
            if reader.splitter.elements.is_empty() {
                return Err("the push query sent no header".into());
            }
            self.produce_inputs().await?;
            self.settle().await?;
        }
        reader.read(want, GRACE, deadline).await?;
        Ok(Reply::Ok(reader.splitter.elements))
    }

    /// The source that reads a topic (not one a query writes), if any.
    fn reader_of(&self, topic: &str) -> Option<Arc<Source>> {
        let catalog = self.engine.catalog();
        let sinks: Vec<String> = catalog.queries.values().map(|q| q.sink.clone()).collect();
        let on_topic = catalog.sources_on_topic(topic);
        on_topic
            .iter()
            .find(|s| !sinks.contains(&s.name))
            .or_else(|| on_topic.first())
            .cloned()
    }

    async fn produce_inputs(&self) -> Result<(), String> {
        let Some(inputs) = self.v.case.get("inputs").and_then(|i| i.as_array()) else {
            return Ok(());
        };
        for input in inputs {
            let topic = input.get("topic").and_then(|t| t.as_str()).unwrap_or("");
            let source = self.reader_of(topic);
            let (key, partition_key) = super::run::input_key(source.as_deref(), input)?;
            let value = encode_side(source.as_deref(), input.get("value"), false)?;
            let timestamp = input.get("timestamp").and_then(|t| t.as_i64()).unwrap_or(0);
            let headers = decode_headers(input.get("headers"))?;
            let partitions = self
                .log
                .partitions(topic)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or(1);
            let partition = match &partition_key {
                Some(k) => flusso_engine::partition_for(k, partitions),
                None => 0,
            };
            self.log
                .produce(
                    topic,
                    partition,
                    &[OutRecord {
                        key,
                        value,
                        timestamp,
                        headers,
                    }],
                )
                .await
                .map_err(|e| format!("producing to {topic}: {e}"))?;
        }
        Ok(())
    }

    /// Waits until every running persistent query has read its source to the end, twice in a
    /// row (so that what one query wrote has been read by the queries after it).
    async fn settle(&self) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        let mut streak = 0;
        while streak < 2 {
            let mut caught_up = true;
            for q in self.engine.queries() {
                if q.paused.load(std::sync::atomic::Ordering::Relaxed)
                    || q.terminated.load(std::sync::atomic::Ordering::Relaxed)
                {
                    continue;
                }
                for (topic, partition, offset) in q.positions() {
                    let (_, end) = self
                        .log
                        .offsets(&topic, partition)
                        .await
                        .map_err(|e| e.to_string())?;
                    if offset < end {
                        caught_up = false;
                    }
                }
            }
            if caught_up {
                streak += 1;
            } else {
                streak = 0;
            }
            if Instant::now() > deadline {
                return Err("the persistent queries did not process the inputs in time".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// `outputs`: per topic, the same number of records, each matching in order.
    async fn check_outputs(&self) -> Result<(), String> {
        let mut by_topic: BTreeMap<String, Vec<&Json>> = BTreeMap::new();
        if let Some(outputs) = self.v.case.get("outputs").and_then(|o| o.as_array()) {
            for o in outputs {
                let t = o.get("topic").and_then(|t| t.as_str()).unwrap_or("");
                by_topic.entry(t.to_string()).or_default().push(o);
            }
        }
        if by_topic.is_empty() {
            return Ok(());
        }
        self.settle().await?;
        let catalog = self.engine.catalog();
        let sinks: Vec<String> = catalog.queries.values().map(|q| q.sink.clone()).collect();
        super::run::check_outputs(&self.engine, self.log.as_ref(), &by_topic, &sinks).await?;
        Ok(())
    }
}

fn is_select(sql: &str) -> bool {
    sql.trim_start().to_uppercase().starts_with("SELECT ")
}

/// Partitions of a topic the REST test harness creates without being told how many (ksqlDB's
/// `Topic.DEFAULT_PARTITIONS`).
const DEFAULT_PARTITIONS: i32 = 4;

/// The topics to create first: declared ones, those plain CREATE statements name, and the
/// inputs' topics.
fn topics(v: &Variant) -> BTreeMap<String, i32> {
    let mut topics: BTreeMap<String, i32> = BTreeMap::new();
    if let Some(ts) = v.case.get("topics").and_then(|t| t.as_array()) {
        for t in ts {
            if let Some(name) = t.get("name").and_then(|n| n.as_str()) {
                let p = t
                    .get("partitions")
                    .and_then(|p| p.as_i64())
                    .map_or(DEFAULT_PARTITIONS, |p| p as i32);
                topics.insert(name.to_string(), p);
            }
        }
    }
    let as_select = regex::Regex::new(r"(?is)\bAS\s+SELECT\b").expect("valid regex");
    for s in &v.statements {
        if as_select.is_match(s) || !s.trim_start().to_uppercase().starts_with("CREATE") {
            continue;
        }
        if let Some((t, p)) = topic_of_statement_or(s, DEFAULT_PARTITIONS) {
            topics.entry(t).or_insert(p);
        }
    }
    if let Some(inputs) = v.case.get("inputs").and_then(|i| i.as_array()) {
        for i in inputs {
            if let Some(t) = i.get("topic").and_then(|t| t.as_str()) {
                topics.entry(t.to_string()).or_insert(DEFAULT_PARTITIONS);
            }
        }
    }
    topics
}

/// An error answer: fine when the case expects this error, a failure otherwise.
fn judge_error(
    expected: Option<&Json>,
    status: u16,
    body: &Json,
    last_statement: &str,
) -> Result<(), String> {
    match expected {
        Some(ee) => error_match(ee, status, body, last_statement),
        None => {
            let statement = body
                .get("statementText")
                .and_then(|s| s.as_str())
                .unwrap_or("");
            Err(format!(
                "the server failed to execute a statement\n  statement: {statement}\n  reason: {status} {body}"
            ))
        }
    }
}

/// `responses`: at least as many actual responses; each expected one matches the actual one at
/// its index.
fn check_responses(
    actual: &[Actual],
    expected: &[Json],
    statements: &[String],
    case: &Json,
) -> Result<(), String> {
    if actual.len() < expected.len() {
        let kinds: Vec<&str> = actual.iter().map(Actual::kind).collect();
        return Err(format!(
            "not enough responses: expected {}, got {} ({})",
            expected.len(),
            actual.len(),
            kinds.join(", ")
        ));
    }
    let verify_order = case
        .get("outputConditions")
        .and_then(|c| c.get("verifyOrder"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    for (idx, e) in expected.iter().enumerate() {
        let Some((kind, payload)) = e.as_object().and_then(|o| o.iter().next()) else {
            return Err(format!(
                "responses[{idx}] is not an object with one key: {e}"
            ));
        };
        let statement = statements.get(idx).map(String::as_str);
        let path = format!("responses[{idx}]->{kind}");
        match (kind.as_str(), &actual[idx]) {
            ("admin", Actual::Admin(entity)) => partial_match(payload, entity, statement, &path)?,
            ("query", Actual::Query(rows)) | ("queryProto", Actual::Proto(rows)) => {
                let expected_rows = payload.as_array().cloned().unwrap_or_default();
                let rows = if kind == "queryProto" {
                    proto_rows(rows)?
                } else {
                    rows.clone()
                };
                query_match(&expected_rows, &rows, statement, verify_order, &path)?;
            }
            (kind, a) => {
                return Err(format!(
                    "responses[{idx}]: expected a {kind} response, got a {} response",
                    a.kind()
                ))
            }
        }
    }
    Ok(())
}

/// Protobuf rows (`{"row":{"protobufBytes":...}}`) as the expected text format; the runner
/// cannot decode them yet, so such rows are reported.
fn proto_rows(rows: &[Json]) -> Result<Vec<Json>, String> {
    if rows
        .iter()
        .any(|r| r.get("row").and_then(|x| x.get("protobufBytes")).is_some())
    {
        return Err("protobuf rows are not decoded by the runner yet".into());
    }
    Ok(rows.to_vec())
}

//! Runs one Nexmark query over generated events and measures it.
//!
//! The events are generated in this process and fed in *rounds* (by default 10,000 events, and
//! never more than one second of event time): a round is appended to the `person`, `auction`
//! and `bid` topics of an embedded log in chunks of 1,000 events, then every query of the
//! pipeline runs until it has read everything there is. Feeding the three topics together keeps
//! their event times aligned: were the topics filled first, a query would read a fetch of each
//! in turn, and one input could run ahead of another by far more than a window's grace period.
//!
//! Three paths from the generator to the query:
//!
//! - `in-process`: each chunk becomes Arrow batches in the scan schema of every query reading
//!   the topics (`columns::ScanBatches`), handed straight to the plan
//!   (`PersistentQuery::process_batches`): no serialisation, no log on the way in. The queries'
//!   outputs still go to their sink topics in the embedded log (JSON), and a pipeline's
//!   downstream queries read them from there; the caller steps the queries, upstream first, as
//!   the conformance runner does. This is Nexmark's no-serde convention for the input; the
//!   output is serialised, where Nexmark's suites drop it in a blackhole sink.
//! - `log`: chunks are produced through the engine's `LogClient` API (`EmbeddedLog::produce`) and
//!   each query runs in its own task woken by the log's partition watches, as in a server; the
//!   runner waits until every query has caught up before the next round.
//! - `kafka`: as `log`, but the engine reads and writes through its rdkafka client
//!   (`KafkaLog`) over TCP, from the same embedded log served on a free loopback port (the
//!   events are appended to it in-process).
//!
//! Measured: wall time and process CPU time (user + system, all threads) from the query's
//! creation until it has read the last round; the time spent generating and serialising
//! events (outside the engine) separately. Latency: an output record's ROWTIME names the event
//! time it follows from, and the runner knows when the chunk holding that event time was
//! appended; the output's production time is when the step that wrote it ended (in-process) or
//! when the runner saw the sink grow (polled every 0.5 ms). Peak memory is the process's VmHWM.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use flusso_engine::kafka_log::KafkaLog;
use flusso_engine::{
    partition_for, EmbeddedLog, Engine, EngineConfig, LogClient, OutRecord, PersistentQuery,
    PullResult, Session,
};
use flusso_log::{BatchBuilder, KafkaServerConfig, Log, LogConfig, Record};
use tokio_util::sync::CancellationToken;

use crate::columns::ScanBatches;
use crate::generator::{Generator, GeneratorConfig, Kind};
use crate::queries::{Query, RowTime, SOURCES};
use crate::{cpu_seconds, peak_rss_bytes};

/// Events per appended chunk (one batch per topic and partition).
const CHUNK_EVENTS: u64 = 1_000;
/// Output records sampled for latency at most.
const LATENCY_SAMPLES: u64 = 100_000;
/// ksqlDB's default record cache: an aggregation emits the latest update per group per step.
const CACHE_BYTES: &str = "10000000";

/// How events reach the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Appended with the log's API, queries stepped by the runner.
    InProcess,
    /// Produced through the engine's log client API, queries in their own tasks.
    Log,
    /// Read by the engine over TCP with rdkafka, queries in their own tasks.
    Kafka,
}

impl Path {
    /// `in-process`, `log` or `kafka`.
    pub fn name(self) -> &'static str {
        match self {
            Path::InProcess => "in-process",
            Path::Log => "log",
            Path::Kafka => "kafka",
        }
    }

    /// The path named `name`.
    pub fn parse(name: &str) -> anyhow::Result<Path> {
        match name {
            "in-process" | "inprocess" => Ok(Path::InProcess),
            "log" => Ok(Path::Log),
            "kafka" => Ok(Path::Kafka),
            other => anyhow::bail!("unknown path '{other}': in-process, log or kafka"),
        }
    }
}

/// How to run a query.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The generator's settings (rate, seed, ...).
    pub generator: GeneratorConfig,
    /// Events to generate (persons, auctions and bids together).
    pub events: u64,
    /// How events reach the query.
    pub path: Path,
    /// Events per round (at most one second of event time is used).
    pub round_events: u64,
    /// Partitions of each input topic.
    pub partitions: i32,
    /// Where the temporary log directory goes.
    pub dir: PathBuf,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Read the result afterwards (`SELECT * FROM <sink>;`).
    pub collect: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            generator: GeneratorConfig::default(),
            events: 1_000_000,
            path: Path::InProcess,
            round_events: 10_000,
            partitions: 1,
            dir: std::env::temp_dir(),
            progress: false,
            collect: false,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Events generated and fed.
    pub events: u64,
    /// Wall seconds from the query's creation to the end of its input.
    pub wall_secs: f64,
    /// CPU seconds of the whole process over the same time.
    pub cpu_secs: f64,
    /// Seconds spent generating and serialising events (part of `cpu_secs`).
    pub generate_secs: f64,
    /// Seconds spent appending them to the log.
    pub append_secs: f64,
    /// Records written to the result's sink topic (table updates and deletions included).
    pub outputs: u64,
    /// Records that failed to decode or evaluate, over the pipeline's queries.
    pub errors: u64,
    /// Records dropped as late, over the pipeline's queries.
    pub late: u64,
    /// Persistent queries in the pipeline.
    pub queries: usize,
    /// Latency percentiles (ms): p50, p99, and how many outputs were sampled.
    pub latency: Option<(f64, f64, usize)>,
    /// Peak resident memory of the process (bytes).
    pub peak_rss: Option<u64>,
    /// Per query of the pipeline, upstream first: its id, records read, records written and
    /// changelog records written.
    pub stages: Vec<(String, u64, u64, u64)>,
}

impl RunReport {
    /// Events per second of wall time.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs.max(1e-9)
    }

    /// Events per CPU second, generation excluded: the appends and the queries.
    pub fn per_core(&self) -> f64 {
        self.events as f64 / (self.cpu_secs - self.generate_secs).max(1e-9)
    }

    /// Events per CPU second of the whole process, generation included.
    pub fn per_core_with_generator(&self) -> f64 {
        self.events as f64 / self.cpu_secs.max(1e-9)
    }
}

/// A run's measurements and, when asked for, its result.
#[derive(Debug)]
pub struct RunOutcome {
    /// The measurements.
    pub report: RunReport,
    /// `SELECT * FROM <sink>;` after the run (with `collect`).
    pub rows: Option<PullResult>,
}

/// A query reading Nexmark's topics, and its scan schema and TIMESTAMP column per kind read.
struct ArrowTarget {
    query: Arc<PersistentQuery>,
    inputs: Vec<(
        Kind,
        datafusion::arrow::datatypes::SchemaRef,
        Option<String>,
    )>,
}

/// Where events go, per path.
enum Feed {
    /// Arrow batches handed to the queries reading the topics (`PersistentQuery::process_batches`);
    /// the next offset per topic and partition.
    Arrow {
        targets: Vec<ArrowTarget>,
        offsets: BTreeMap<(Kind, i32), i64>,
    },
    /// `Log::append` of v2 batches.
    Batches(Log),
    /// `LogClient::produce`.
    Client(Arc<EmbeddedLog>),
}

/// Output production marks: sink end offsets per partition and the time they were seen.
struct Marks {
    sink_topic: String,
    sink_partitions: i32,
    marks: Vec<(Vec<i64>, f64)>,
}

impl Marks {
    async fn mark(&mut self, log: &EmbeddedLog, t0: Instant) -> anyhow::Result<()> {
        let mut ends = Vec::with_capacity(self.sink_partitions as usize);
        for p in 0..self.sink_partitions {
            ends.push(log.offsets(&self.sink_topic, p).await?.1);
        }
        let grew = self.marks.last().is_none_or(|(last, _)| *last != ends);
        if grew {
            self.marks.push((ends, t0.elapsed().as_secs_f64()));
        }
        Ok(())
    }

    /// When the record at `offset` of `partition` was first seen.
    fn produced(&self, partition: i32, offset: i64) -> Option<f64> {
        let i = self
            .marks
            .partition_point(|(ends, _)| ends[partition as usize] <= offset);
        self.marks.get(i).map(|(_, t)| *t)
    }
}

/// Runs `query` over `options.events` generated events.
pub async fn run(query: &Query, options: &RunOptions) -> anyhow::Result<RunOutcome> {
    anyhow::ensure!(
        options.generator.rate > 0,
        "the event rate must be positive"
    );
    anyhow::ensure!(options.partitions > 0, "partitions must be positive");
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("cannot create {}", options.dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix("flusso-nexmark-")
        .tempdir_in(&options.dir)?;
    let log = Log::open(LogConfig::new(tmp.path()))?;
    let embedded = EmbeddedLog::new(log.clone());
    let shutdown = CancellationToken::new();
    let mut server = None;
    let client: Arc<dyn LogClient> = match options.path {
        Path::Kafka => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            server = Some(tokio::spawn(flusso_log::serve(
                listener,
                log.clone(),
                KafkaServerConfig {
                    advertised_host: "127.0.0.1".into(),
                    advertised_port: addr.port(),
                },
                shutdown.clone(),
            )));
            KafkaLog::connect(&addr.to_string(), None)?
        }
        _ => Arc::clone(&embedded) as Arc<dyn LogClient>,
    };
    for kind in Kind::ALL {
        embedded
            .create_topic(kind.topic(), options.partitions, false)
            .await?;
    }
    let result = run_on(query, options, &log, &embedded, client).await;
    shutdown.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    log.shutdown()?;
    drop(tmp);
    result
}

async fn run_on(
    query: &Query,
    options: &RunOptions,
    log: &Log,
    embedded: &Arc<EmbeddedLog>,
    client: Arc<dyn LogClient>,
) -> anyhow::Result<RunOutcome> {
    let spawned = options.path != Path::InProcess;
    let engine = Engine::open(
        client,
        EngineConfig {
            properties: BTreeMap::new(),
            spawn_queries: spawned,
            durable: false,
        },
    )
    .await?;
    let mut session = Session::default();
    session
        .properties
        .insert("auto.offset.reset".into(), "earliest".into());
    session
        .properties
        .insert("cache.max.bytes.buffering".into(), CACHE_BYTES.into());
    engine
        .execute(SOURCES, &mut session)
        .await
        .context("00-sources.sql")?;
    let generator = Generator::new(options.generator.clone());
    let round = options
        .round_events
        .clamp(1, options.generator.rate.max(1))
        .max(1);

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    engine
        .execute(query.sql, &mut session)
        .await
        .with_context(|| format!("{}.sql", query.name))?;
    let sink = engine
        .source(query.sink)
        .with_context(|| format!("{} does not create {}", query.name, query.sink))?;
    let sink_partitions = embedded.partitions(&sink.topic).await?.unwrap_or(1);
    let mut marks = Marks {
        sink_topic: sink.topic.clone(),
        sink_partitions,
        marks: Vec::new(),
    };
    let mut queries = engine.queries();
    // Upstream first: by the sequence number ending each query id.
    queries.sort_by_key(|q| {
        q.id.rsplit('_')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let sink_query = queries
        .iter()
        .position(|q| q.sink.name == query.sink)
        .context("no query writes the sink")?;
    let mut feed = match options.path {
        Path::Log => Feed::Client(Arc::clone(embedded)),
        Path::Kafka => Feed::Batches(log.clone()),
        Path::InProcess => Feed::Arrow {
            targets: queries
                .iter()
                .map(|q| ArrowTarget {
                    query: Arc::clone(q),
                    inputs: Kind::ALL
                        .into_iter()
                        .filter_map(|kind| {
                            q.input(kind.topic()).map(|(source, schema)| {
                                (kind, schema, source.timestamp.clone().map(|(c, _)| c))
                            })
                        })
                        .collect(),
                })
                .filter(|t| !t.inputs.is_empty())
                .collect(),
            offsets: BTreeMap::new(),
        },
    };

    let mut timeline: Vec<(i64, f64)> = Vec::new();
    let (mut generate_secs, mut append_secs) = (0.0, 0.0);
    let mut next_progress = Instant::now() + Duration::from_secs(2);
    let mut n = 0u64;
    while n < options.events {
        let end = (n + round).min(options.events);
        while n < end {
            let chunk_end = (n + CHUNK_EVENTS).min(end);
            let (g, a, max_ts) =
                append_chunk(&generator, n, chunk_end, options.partitions, &mut feed).await?;
            generate_secs += g;
            append_secs += a;
            timeline.push((max_ts, t0.elapsed().as_secs_f64()));
            n = chunk_end;
        }
        if spawned {
            wait_caught_up(&engine, embedded, &mut marks, t0).await?;
        } else {
            step_until_idle(&queries, sink_query, embedded, &mut marks, t0).await?;
        }
        if options.progress && Instant::now() >= next_progress {
            next_progress = Instant::now() + Duration::from_secs(2);
            eprintln!(
                "{}: {n} of {} events ({:.0}/s)",
                query.name,
                options.events,
                n as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu_secs = cpu_seconds() - cpu0;
    let peak_rss = peak_rss_bytes();

    let stats = |f: fn(&PersistentQuery) -> u64| queries.iter().map(|q| f(q)).sum::<u64>();
    use std::sync::atomic::Ordering::Relaxed;
    let errors = stats(|q| q.stats.errors.load(Relaxed));
    let late = stats(|q| q.stats.late.load(Relaxed));
    let outputs = marks
        .marks
        .last()
        .map(|(ends, _)| ends.iter().sum::<i64>() as u64)
        .unwrap_or(0);
    let latency = latency(
        embedded,
        &marks,
        &timeline,
        query.row_time,
        t0,
        options.generator.base_time,
    )
    .await?;
    let rows = if options.collect {
        Some(
            engine
                .pull_query(&format!("SELECT * FROM {};", query.sink), &session)
                .await?,
        )
    } else {
        None
    };
    engine.shutdown().await;
    Ok(RunOutcome {
        report: RunReport {
            events: options.events,
            wall_secs,
            cpu_secs,
            generate_secs,
            append_secs,
            outputs,
            errors: errors + engine.processing_errors(),
            late,
            queries: queries.len(),
            latency,
            peak_rss,
            stages: queries
                .iter()
                .map(|q| {
                    (
                        q.id.clone(),
                        q.stats.records_in.load(Relaxed),
                        q.stats.records_out.load(Relaxed),
                        q.stats.changelog_out.load(Relaxed),
                    )
                })
                .collect(),
        },
        rows,
    })
}

/// Generates events `from..to` and appends them; returns the seconds spent generating and
/// appending, and the chunk's latest event time.
async fn append_chunk(
    generator: &Generator,
    from: u64,
    to: u64,
    partitions: i32,
    feed: &mut Feed,
) -> anyhow::Result<(f64, f64, i64)> {
    let t = Instant::now();
    let now = flusso_common::now_ms();
    let mut value = Vec::with_capacity(1024);
    let mut max_ts = i64::MIN;
    let partition = |key: Option<&[u8]>, n: u64| match key {
        _ if partitions == 1 => 0,
        Some(k) => partition_for(k, partitions),
        None => (n / CHUNK_EVENTS % partitions as u64) as i32,
    };
    let mut batches: BTreeMap<(Kind, i32), BatchBuilder> = BTreeMap::new();
    let mut records: BTreeMap<(Kind, i32), Vec<OutRecord>> = BTreeMap::new();
    if let Feed::Arrow { targets, offsets } = feed {
        let mut events = Vec::with_capacity((to - from) as usize);
        for n in from..to {
            let event = generator.event(n);
            max_ts = max_ts.max(event.date_time());
            let p = partition(event.key().as_ref().map(|k| &k[..]), n);
            let offset = offsets.entry((event.kind(), p)).or_insert(0);
            events.push((event, p, *offset));
            *offset += 1;
        }
        let mut per_target = Vec::with_capacity(targets.len());
        for target in targets.iter() {
            let mut builders: BTreeMap<(Kind, i32), ScanBatches> = BTreeMap::new();
            for (event, p, offset) in &events {
                let kind = event.kind();
                let Some((_, schema, ts)) = target.inputs.iter().find(|(k, _, _)| *k == kind)
                else {
                    continue;
                };
                let b = match builders.entry((kind, *p)) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(ScanBatches::new(kind, schema.clone(), ts.as_deref())?)
                    }
                };
                b.push(event, *p, *offset, now);
            }
            let mut batches = Vec::with_capacity(builders.len());
            for ((kind, p), mut b) in builders {
                batches.push((kind.topic(), p, b.finish()?));
            }
            per_target.push(batches);
        }
        let generated = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (target, batches) in targets.iter().zip(per_target) {
            target.query.process_batches(&batches).await?;
        }
        return Ok((generated, t.elapsed().as_secs_f64(), max_ts));
    }
    for n in from..to {
        let event = generator.event(n);
        max_ts = max_ts.max(event.date_time());
        value.clear();
        event.write_json(&mut value);
        let key = event.key();
        let p = partition(key.as_ref().map(|k| &k[..]), n);
        match feed {
            Feed::Batches(_) => batches.entry((event.kind(), p)).or_default().push(&Record {
                key: key.as_ref().map(|k| &k[..]),
                value: Some(&value),
                headers: vec![],
                timestamp: now,
            }),
            Feed::Client(_) => records
                .entry((event.kind(), p))
                .or_default()
                .push(OutRecord {
                    key: key.map(|k| k.to_vec()),
                    value: Some(value.clone()),
                    timestamp: now,
                    headers: vec![],
                }),
            Feed::Arrow { .. } => {}
        }
    }
    let generated = t.elapsed().as_secs_f64();
    let t = Instant::now();
    match feed {
        Feed::Batches(log) => {
            for ((kind, p), mut b) in batches {
                log.append(kind.topic(), p, &b.finish())?;
            }
        }
        Feed::Arrow { .. } => {}
        Feed::Client(client) => {
            for ((kind, p), recs) in records {
                client.produce(kind.topic(), p, &recs).await?;
            }
        }
    }
    Ok((generated, t.elapsed().as_secs_f64(), max_ts))
}

/// Steps every query, upstream first, until none reads anything more.
async fn step_until_idle(
    queries: &[Arc<PersistentQuery>],
    sink_query: usize,
    log: &EmbeddedLog,
    marks: &mut Marks,
    t0: Instant,
) -> anyhow::Result<()> {
    for _ in 0..1_000_000 {
        let mut progress = 0;
        for (i, q) in queries.iter().enumerate() {
            progress += q.step().await?;
            if i == sink_query {
                marks.mark(log, t0).await?;
            }
        }
        if progress == 0 {
            return Ok(());
        }
    }
    anyhow::bail!("the queries did not settle")
}

/// Waits until every query (each in its own task) has read its inputs to their ends, twice in a
/// row with no topic growing in between.
async fn wait_caught_up(
    engine: &Engine,
    log: &EmbeddedLog,
    marks: &mut Marks,
    t0: Instant,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_total = -1i64;
    let mut quiet = 0;
    loop {
        marks.mark(log, t0).await?;
        let mut behind = false;
        let mut total = 0i64;
        for q in engine.queries() {
            for (topic, p, position) in q.positions() {
                let (_, end) = log.offsets(&topic, p).await?;
                total += end;
                behind |= position < end;
            }
        }
        if !behind && total == last_total {
            quiet += 1;
            if quiet >= 2 {
                return Ok(());
            }
        } else {
            quiet = 0;
        }
        last_total = total;
        anyhow::ensure!(
            Instant::now() < deadline,
            "the queries did not catch up in 10 minutes"
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Latency percentiles over sampled sink records: when each was produced minus when the event
/// it follows from was appended.
async fn latency(
    log: &EmbeddedLog,
    marks: &Marks,
    timeline: &[(i64, f64)],
    row_time: RowTime,
    t0: Instant,
    base_time: i64,
) -> anyhow::Result<Option<(f64, f64, usize)>> {
    let total: i64 = marks
        .marks
        .last()
        .map(|(ends, _)| ends.iter().sum())
        .unwrap_or(0);
    if total == 0 {
        return Ok(None);
    }
    let stride = (total as u64).div_ceil(LATENCY_SAMPLES).max(1) as i64;
    // Wall-clock ms of t0, for record times (q12's ROWTIME is the produce time).
    let t0_ms = flusso_common::now_ms() as f64 - t0.elapsed().as_secs_f64() * 1000.0;
    let mut samples = Vec::new();
    for p in 0..marks.sink_partitions {
        let mut offset = 0i64;
        loop {
            let records = log.fetch(&marks.sink_topic, p, offset, 1 << 20).await?;
            let Some(last) = records.last() else {
                break;
            };
            offset = last.offset + 1;
            for r in records.iter().filter(|r| r.offset % stride == 0) {
                let Some(produced) = marks.produced(p, r.offset) else {
                    continue;
                };
                let appended = match row_time {
                    RowTime::EventTime => {
                        if r.timestamp < base_time {
                            continue;
                        }
                        let i = timeline.partition_point(|(ts, _)| *ts < r.timestamp);
                        match timeline.get(i) {
                            Some((_, t)) => *t,
                            None => continue,
                        }
                    }
                    RowTime::ProduceTime => (r.timestamp as f64 - t0_ms) / 1000.0,
                };
                samples.push(((produced - appended) * 1000.0).max(0.0));
            }
        }
    }
    if samples.is_empty() {
        return Ok(None);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Ok(Some((at(0.5), at(0.99), samples.len())))
}

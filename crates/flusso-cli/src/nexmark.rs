//! `flusso nexmark`: Nexmark's events and queries (crate `flusso-nexmark`).
//!
//! - `generate` writes events to the `person`, `auction` and `bid` topics of an embedded log's
//!   data directory, to a Kafka cluster, or to JSONL files;
//! - `run` runs one query over generated events and measures it;
//! - `suite` runs every query (each in a child process, so that peak memory is the query's own)
//!   and writes a Markdown table.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use flusso_engine::kafka_log::KafkaLog;
use flusso_engine::{partition_for, LogClient, OutRecord};
use flusso_log::{BatchBuilder, Log, LogConfig, Record, TopicConfig};
use flusso_nexmark::generator::{Generator, GeneratorConfig, Kind};
use flusso_nexmark::{queries, Path, Query, RunOptions, RunReport, QUERIES};

/// What to do.
#[derive(Debug, Subcommand)]
pub enum NexmarkCommand {
    /// Write generated events to topics `person`, `auction` and `bid` (or to JSONL files).
    Generate(GenerateArgs),
    /// Run one query over generated events and measure it.
    Run(RunArgs),
    /// Run every query and write a Markdown table of the figures.
    Suite(SuiteArgs),
}

/// The generator's options, shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct GeneratorArgs {
    /// Events to generate (persons, auctions and bids together, 1:3:46).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Events per second of event time (`date_time` advances by 1000/rate ms per event).
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seed of every random choice: the same seed gives the same events.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Partitions of each topic.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
}

impl GeneratorArgs {
    fn config(&self) -> GeneratorConfig {
        GeneratorConfig {
            rate: self.rate,
            seed: self.seed,
            ..GeneratorConfig::default()
        }
    }
}

/// Options of `flusso nexmark generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// The embedded log's data directory to append to (stop the server using it first).
    #[arg(long, default_value = "./flusso-data", conflicts_with_all = ["kafka_bootstrap", "out"])]
    pub data_dir: PathBuf,
    /// host:port of a Kafka cluster (or of a running Flusso server) to produce to instead.
    #[arg(long, conflicts_with = "out")]
    pub kafka_bootstrap: Option<String>,
    /// Write `person.jsonl`, `auction.jsonl` and `bid.jsonl` into this directory instead.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Options of `flusso nexmark run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The query: q0, q1, q2, q3, q4, q5, q7, q8, q11, q12, q14 ... q22.
    #[arg(long)]
    pub query: String,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// How events reach the query: in-process, log or kafka.
    #[arg(long, default_value = "in-process")]
    pub path: String,
    /// Events fed per round before the queries catch up (at most one second of event time).
    #[arg(long, default_value_t = 10_000)]
    pub round_events: u64,
    /// Directory to put the log in (a temporary directory under it, removed afterwards).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Print the figures as one JSON object (what `suite` reads).
    #[arg(long)]
    pub json: bool,
}

/// Options of `flusso nexmark suite`.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// Paths to run, comma-separated: in-process, log, kafka (or `all`).
    #[arg(long, default_value = "in-process")]
    pub path: String,
    /// Queries to run, comma-separated (default: all).
    #[arg(long)]
    pub queries: Option<String>,
    /// Events fed per round before the queries catch up.
    #[arg(long, default_value_t = 10_000)]
    pub round_events: u64,
    /// Directory to put the logs in.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Also write the Markdown table to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(command: NexmarkCommand) -> anyhow::Result<()> {
    match command {
        NexmarkCommand::Generate(args) => generate(args),
        NexmarkCommand::Run(args) => run_one(args),
        NexmarkCommand::Suite(args) => suite(args),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Progress on stderr, at most once a second.
struct Progress {
    what: &'static str,
    total: u64,
    start: Instant,
    next: Instant,
}

impl Progress {
    fn new(what: &'static str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            what,
            total,
            start: now,
            next: now + Duration::from_secs(1),
        }
    }

    fn update(&mut self, done: u64) {
        let now = Instant::now();
        if now >= self.next || done == self.total {
            self.next = now + Duration::from_secs(1);
            let secs = self.start.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "{} {done} of {} events ({:.0}%, {:.0} events/s)",
                self.what,
                self.total,
                100.0 * done as f64 / self.total.max(1) as f64,
                done as f64 / secs
            );
        }
    }
}

/// Events per chunk written at once.
const CHUNK: u64 = 10_000;

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let g = &args.generator;
    anyhow::ensure!(g.rate > 0, "--rate must be positive");
    anyhow::ensure!(g.partitions > 0, "--partitions must be positive");
    let generator = Generator::new(g.config());
    let mut counts: BTreeMap<Kind, (u64, u64)> = BTreeMap::new();
    let start = Instant::now();
    let mut progress = Progress::new("generated", g.events);
    let partition = |key: Option<[u8; 8]>, n: u64| match key {
        _ if g.partitions == 1 => 0,
        Some(k) => partition_for(&k, g.partitions),
        None => (n / 1000 % g.partitions as u64) as i32,
    };
    let destination;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut files = BTreeMap::new();
        for kind in Kind::ALL {
            let path = dir.join(format!("{}.jsonl", kind.topic()));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            files.insert(kind, std::io::BufWriter::with_capacity(1 << 20, file));
        }
        let mut line = Vec::with_capacity(1024);
        for n in 0..g.events {
            let event = generator.event(n);
            line.clear();
            event.write_json(&mut line);
            line.push(b'\n');
            let c = counts.entry(event.kind()).or_default();
            c.0 += 1;
            c.1 += line.len() as u64 - 1;
            files
                .get_mut(&event.kind())
                .context("file")?
                .write_all(&line)?;
            if n % CHUNK == CHUNK - 1 {
                progress.update(n + 1);
            }
        }
        for (_, mut f) in files {
            f.flush()?;
        }
        destination = format!(
            "{}/{{person,auction,bid}}.jsonl (one JSON object per line)",
            dir.display()
        );
    } else if let Some(bootstrap) = &args.kafka_bootstrap {
        runtime()?.block_on(async {
            let client = KafkaLog::connect(bootstrap, None)?;
            client
                .ping()
                .await
                .with_context(|| format!("cannot reach {bootstrap}"))?;
            for kind in Kind::ALL {
                client
                    .create_topic(kind.topic(), g.partitions, false)
                    .await?;
            }
            let mut n = 0;
            while n < g.events {
                let end = (n + CHUNK).min(g.events);
                let now = flusso_common::now_ms();
                let mut records: BTreeMap<(Kind, i32), Vec<OutRecord>> = BTreeMap::new();
                for i in n..end {
                    let event = generator.event(i);
                    let value = event.to_json().into_bytes();
                    let c = counts.entry(event.kind()).or_default();
                    c.0 += 1;
                    c.1 += value.len() as u64;
                    let key = event.key();
                    records
                        .entry((event.kind(), partition(key, i)))
                        .or_default()
                        .push(OutRecord {
                            key: key.map(|k| k.to_vec()),
                            value: Some(value),
                            timestamp: now,
                            headers: vec![],
                        });
                }
                for ((kind, p), recs) in records {
                    client.produce(kind.topic(), p, &recs).await?;
                }
                n = end;
                progress.update(n);
            }
            anyhow::Ok(())
        })?;
        destination = format!("topics person, auction and bid at {bootstrap}");
    } else {
        let dir = &args.data_dir;
        let log = Log::open(LogConfig::new(dir))
            .with_context(|| format!("cannot open the log in '{}'", dir.display()))?;
        for kind in Kind::ALL {
            if log.topic(kind.topic()).is_none() {
                log.create_topic(kind.topic(), g.partitions, TopicConfig::default())?;
            }
        }
        let mut value = Vec::with_capacity(1024);
        let mut n = 0;
        while n < g.events {
            let end = (n + CHUNK).min(g.events);
            let now = flusso_common::now_ms();
            let mut batches: BTreeMap<(Kind, i32), (BatchBuilder, usize)> = BTreeMap::new();
            for i in n..end {
                let event = generator.event(i);
                value.clear();
                event.write_json(&mut value);
                let c = counts.entry(event.kind()).or_default();
                c.0 += 1;
                c.1 += value.len() as u64;
                let key = event.key();
                let p = partition(key, i);
                let (b, count) = batches.entry((event.kind(), p)).or_default();
                b.push(&Record {
                    key: key.as_ref().map(|k| &k[..]),
                    value: Some(&value),
                    headers: vec![],
                    timestamp: now,
                });
                *count += 1;
                // Batches well under max.message.bytes (1 MiB).
                if *count == 1000 {
                    log.append(event.kind().topic(), p, &b.finish())?;
                    *count = 0;
                }
            }
            for ((kind, p), (mut b, count)) in batches {
                if count > 0 {
                    log.append(kind.topic(), p, &b.finish())?;
                }
            }
            n = end;
            progress.update(n);
        }
        log.shutdown()?;
        destination = format!(
            "topics person, auction and bid of the log in {}",
            dir.display()
        );
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} events in {secs:.1} s ({:.0} events/s) to {destination}",
        g.events,
        g.events as f64 / secs.max(1e-9)
    );
    let config = generator.config();
    println!(
        "event time {} to {} ms ({} events/s), seed {}",
        config.timestamp_for_event(0),
        config.timestamp_for_event(g.events.saturating_sub(1)),
        config.rate,
        config.seed
    );
    for (kind, (n, bytes)) in counts {
        println!(
            "  {:<8} {n:>12} records, {:>5} bytes of JSON on average",
            kind.topic(),
            bytes / n.max(1)
        );
    }
    Ok(())
}

fn find_query(name: &str) -> anyhow::Result<&'static Query> {
    queries::find(name).with_context(|| {
        format!(
            "unknown query '{name}': {}",
            QUERIES
                .iter()
                .map(|q| q.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The target per core of `query` on `path`.
fn target(query: &Query, path: Path) -> Option<u64> {
    match path {
        Path::InProcess => query.target_in_process,
        Path::Log | Path::Kafka => query.target_log(),
    }
}

fn run_one(args: RunArgs) -> anyhow::Result<()> {
    let query = find_query(&args.query)?;
    let path = Path::parse(&args.path)?;
    let options = RunOptions {
        generator: args.generator.config(),
        events: args.generator.events,
        path,
        round_events: args.round_events,
        partitions: args.generator.partitions,
        dir: args.dir.clone(),
        progress: !args.json,
        collect: false,
    };
    let outcome = runtime()?.block_on(flusso_nexmark::run(query, &options))?;
    let r = &outcome.report;
    if args.json {
        println!("{}", report_json(query, path, r));
        return Ok(());
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "flusso nexmark run {} ({}), path {}, {} events at {} events/s of event time, seed {}, {cores} core(s), {} build",
        query.name,
        query.title,
        path.name(),
        r.events,
        options.generator.rate,
        options.generator.seed,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!(
        "  {} persistent queries; {} output records in {}; errors {}, late {}",
        r.queries, r.outputs, query.sink, r.errors, r.late
    );
    if r.stages.len() > 1 {
        for (id, read, written, changelog) in &r.stages {
            println!("    {id}: read {read}, wrote {written}, changelog {changelog}");
        }
    }
    println!(
        "  wall {:.2} s, cpu {:.2} s (generating events {:.2} s, appending {:.2} s)",
        r.wall_secs, r.cpu_secs, r.generate_secs, r.append_secs
    );
    println!(
        "  {:.0} events/s; {:.0} events/s per core{}; {:.0} per core with the generator",
        r.events_per_sec(),
        r.per_core(),
        match target(query, path) {
            Some(t) => format!(" (target {t}: {:.2}x)", r.per_core() / t as f64),
            None => String::new(),
        },
        r.per_core_with_generator()
    );
    match r.latency {
        Some((p50, p99, n)) => println!(
            "  latency (event appended -> output produced): p50 {p50:.1} ms, p99 {p99:.1} ms ({n} outputs sampled)"
        ),
        None => println!("  latency: no output"),
    }
    if let Some(m) = r.peak_rss {
        println!("  peak memory (VmHWM) {:.0} MB", m as f64 / 1e6);
    }
    Ok(())
}

fn report_json(query: &Query, path: Path, r: &RunReport) -> serde_json::Value {
    serde_json::json!({
        "query": query.name,
        "path": path.name(),
        "events": r.events,
        "wall_secs": r.wall_secs,
        "cpu_secs": r.cpu_secs,
        "generate_secs": r.generate_secs,
        "append_secs": r.append_secs,
        "outputs": r.outputs,
        "errors": r.errors,
        "late": r.late,
        "queries": r.queries,
        "latency_p50_ms": r.latency.map(|l| l.0),
        "latency_p99_ms": r.latency.map(|l| l.1),
        "peak_rss": r.peak_rss,
    })
}

fn report_from_json(v: &serde_json::Value) -> RunReport {
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    let u = |k: &str| v[k].as_u64().unwrap_or(0);
    RunReport {
        events: u("events"),
        wall_secs: f("wall_secs"),
        cpu_secs: f("cpu_secs"),
        generate_secs: f("generate_secs"),
        append_secs: f("append_secs"),
        outputs: u("outputs"),
        errors: u("errors"),
        late: u("late"),
        queries: u("queries") as usize,
        latency: match (v["latency_p50_ms"].as_f64(), v["latency_p99_ms"].as_f64()) {
            (Some(a), Some(b)) => Some((a, b, 0)),
            _ => None,
        },
        peak_rss: v["peak_rss"].as_u64(),
        stages: Vec::new(),
    }
}

fn suite(args: SuiteArgs) -> anyhow::Result<()> {
    let paths: Vec<Path> = if args.path == "all" {
        vec![Path::InProcess, Path::Log, Path::Kafka]
    } else {
        args.path
            .split(',')
            .map(|p| Path::parse(p.trim()))
            .collect::<anyhow::Result<_>>()?
    };
    let selected: Vec<&Query> = match &args.queries {
        None => QUERIES.iter().collect(),
        Some(list) => list
            .split(',')
            .map(|q| find_query(q.trim()))
            .collect::<anyhow::Result<_>>()?,
    };
    let exe = std::env::current_exe().context("cannot find the flusso binary")?;
    let g = &args.generator;
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut md = format!(
        "flusso nexmark suite — {date}, {cores} core(s), {} build; {} events per query at {} events/s of event time, seed {}, {} partition(s)\n\n",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        g.events,
        g.rate,
        g.seed,
        g.partitions
    );
    md.push_str("| query | path | events | events/s | per core | target | ratio | latency p50 / p99 | peak memory | outputs |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---|---:|---:|\n");
    print!("{md}");
    for path in &paths {
        for query in &selected {
            eprintln!("{} on {}…", query.name, path.name());
            let output = std::process::Command::new(&exe)
                .args(["nexmark", "run", "--json", "--query", query.name])
                .args(["--path", path.name()])
                .args(["--events", &g.events.to_string()])
                .args(["--rate", &g.rate.to_string()])
                .args(["--seed", &g.seed.to_string()])
                .args(["--partitions", &g.partitions.to_string()])
                .args(["--round-events", &args.round_events.to_string()])
                .arg("--dir")
                .arg(&args.dir)
                .stderr(std::process::Stdio::inherit())
                .output()
                .context("cannot run flusso nexmark run")?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let parsed = stdout
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
            let row = match (output.status.success(), parsed) {
                (true, Some(v)) => {
                    let r = report_from_json(&v);
                    let t = target(query, *path);
                    format!(
                        "| {} | {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} |",
                        query.name,
                        path.name(),
                        r.events,
                        r.events_per_sec(),
                        r.per_core(),
                        t.map_or_else(|| "—".into(), |t| t.to_string()),
                        t.map_or_else(|| "—".into(), |t| format!("{:.2}", r.per_core() / t as f64)),
                        r.latency
                            .map_or_else(|| "—".into(), |(a, b, _)| format!("{a:.1} / {b:.1} ms")),
                        r.peak_rss
                            .map_or_else(|| "—".into(), |m| format!("{:.0} MB", m as f64 / 1e6)),
                        r.outputs
                    )
                }
                _ => format!(
                    "| {} | {} | {} | failed ({}) | | | | | | |",
                    query.name,
                    path.name(),
                    g.events,
                    output.status
                ),
            };
            println!("{row}");
            md.push_str(&row);
            md.push('\n');
        }
    }
    md.push_str(
        "\nper core: events ÷ CPU seconds of the process (user + system) while the query ran, \
         less the time spent generating events; targets per core: in-process q0–q2 1,000,000, q5 \
         250,000, q7 100,000, q8 150,000, q11 100,000; through the log with JSON 200,000 \
         (stateless) and 100,000 (windowed).\n",
    );
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

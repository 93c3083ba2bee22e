//! `flusso bench log`: produce and consume throughput of the embedded log with 1 KiB records,
//! in-process and over TCP with rdkafka (acks=1 and acks=all), next to the machine's ceilings:
//! sequential write with fsync (`dd … conv=fdatasync`) and a memory copy.
//!
//! The log, its TCP listener and the rdkafka client all run in this one process, on the same
//! cores, as they would on a laptop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use flusso_log::{BatchBuilder, KafkaServerConfig, Log, LogConfig, Record, TopicConfig};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The embedded log: produce and consume, in-process and over TCP.
    Log(LogBenchArgs),
    /// Consumer groups and compaction: group consume, commit latency, rebalance, cleaning rate.
    Groups(crate::bench_groups::GroupBenchArgs),
    /// A stateless SQL query (filter and projection) over JSON records, in-process.
    Sql(crate::bench_sql::SqlBenchArgs),
    /// The REST API: push-query latency, inserts-stream throughput, concurrent push queries.
    Rest(crate::bench_rest::RestBenchArgs),
    /// Aggregations: windowed COUNT/SUM throughput, streaming vs batch, state restore, pull
    /// query lookups.
    Agg(crate::bench_agg::AggBenchArgs),
    /// Joins: stream-table enrichment through the log, windowed stream-stream (Nexmark q8).
    Join(crate::bench_join::JoinBenchArgs),
}

/// Options of `flusso bench log`.
#[derive(Debug, Clone, Args)]
pub struct LogBenchArgs {
    /// Records per measurement.
    #[arg(long, default_value_t = 500_000)]
    pub records: usize,
    /// Size of each record's value in bytes.
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Records per batch for the in-process producer (a Kafka client batches likewise).
    #[arg(long, default_value_t = 64)]
    pub batch_records: usize,
    /// Directory to put the log in (a temporary directory under it); the disk measured.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

pub fn run(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Log(args) => bench_log(args),
        BenchCommand::Groups(args) => crate::bench_groups::run(args),
        BenchCommand::Sql(args) => crate::bench_sql::run(args),
        BenchCommand::Rest(args) => crate::bench_rest::run(args),
        BenchCommand::Agg(args) => crate::bench_agg::run(args),
        BenchCommand::Join(args) => crate::bench_join::run(args),
    }
}

struct Row {
    records: usize,
    bytes: u64,
    secs: f64,
}

impl Row {
    fn mb_s(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }
}

/// A scratch directory under `dir`, the number of cores, and a runtime: what every benchmark
/// starts from.
pub(crate) fn setup(
    dir: &Path,
) -> anyhow::Result<(tempfile::TempDir, usize, tokio::runtime::Runtime)> {
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new()
        .prefix("flusso-bench-")
        .tempdir_in(dir)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((tmp, cores, runtime))
}

fn bench_log(args: LogBenchArgs) -> anyhow::Result<()> {
    let (tmp, cores, runtime) = setup(&args.dir)?;
    eprintln!("measuring ceilings…");
    let disk = disk_ceiling(tmp.path())?;
    let mem = memcpy_ceiling();
    let mut rows = Vec::new();
    runtime.block_on(async {
        let mut config = LogConfig::new(tmp.path().join("log"));
        config.checkpoint_interval_ms = 60_000;
        let log = Log::open(config)?;
        eprintln!("in-process produce…");
        rows.push(produce_in_process(&log, "inproc-acks1", &args, false).await?);
        rows.push(produce_in_process(&log, "inproc-acksall", &args, true).await?);
        eprintln!("in-process consume…");
        rows.push(consume_in_process(&log, "inproc-acks1")?);

        let shutdown = CancellationToken::new();
        let (server, bootstrap) = serve_loopback(&log, &shutdown).await?;
        for (name, acks) in [("tcp-acks1", "1"), ("tcp-acksall", "all")] {
            eprintln!("rdkafka produce acks={acks}…");
            let (b, a) = (bootstrap.clone(), args.clone());
            rows.push(tokio::task::spawn_blocking(move || produce_tcp(&b, name, acks, &a)).await??);
        }
        eprintln!("rdkafka consume…");
        let b = bootstrap.clone();
        rows.push(tokio::task::spawn_blocking(move || consume_tcp(&b, "tcp-acks1")).await??);
        shutdown.cancel();
        server.await??;
        log.shutdown()?;
        anyhow::Ok(())
    })?;

    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "flusso bench log — {date}, {cores} cores, {} records of {} B",
        args.records, args.record_size
    );
    println!();
    println!("| ceiling | MB/s |");
    println!("|---|---:|");
    println!("| sequential write + fdatasync (dd, 1 GiB) | {disk:.0} |");
    println!("| memory copy (256 MiB buffers) | {mem:.0} |");
    println!();
    println!("| measurement | records | MB/s | records/s | vs disk | vs memcpy |");
    println!("|---|---:|---:|---:|---:|---:|");
    let labels = [
        "produce in-process, acks=1",
        "produce in-process, acks=all (16 writers)",
        "consume in-process",
        "produce TCP rdkafka, acks=1",
        "produce TCP rdkafka, acks=all",
        "consume TCP rdkafka",
    ];
    for (row, label) in rows.iter().zip(labels) {
        println!(
            "| {label} | {} | {:.0} | {:.0} | {:.0}% | {:.1}% |",
            row.records,
            row.mb_s(),
            row.records as f64 / row.secs,
            100.0 * row.mb_s() / disk,
            100.0 * row.mb_s() / mem,
        );
    }
    Ok(())
}

/// Serves `log` over the Kafka protocol on a free loopback port until `shutdown`: the server task
/// and its bootstrap address.
pub(crate) async fn serve_loopback(
    log: &Log,
    shutdown: &CancellationToken,
) -> anyhow::Result<(tokio::task::JoinHandle<std::io::Result<()>>, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = KafkaServerConfig {
        advertised_host: "127.0.0.1".into(),
        advertised_port: addr.port(),
    };
    let server = tokio::spawn(flusso_log::serve(
        listener,
        log.clone(),
        config,
        shutdown.clone(),
    ));
    Ok((server, addr.to_string()))
}

/// Sequential write ceiling: `dd if=/dev/zero bs=1M count=1024 conv=fdatasync`.
fn disk_ceiling(dir: &Path) -> anyhow::Result<f64> {
    let target = dir.join("dd-ceiling");
    let start = Instant::now();
    let status = std::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .args(["bs=1M", "count=1024", "conv=fdatasync"])
        .stderr(std::process::Stdio::null())
        .status()
        .context("cannot run dd")?;
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&target);
    if !status.success() {
        bail!("dd failed: {status}");
    }
    Ok((1u64 << 30) as f64 / secs / 1e6)
}

/// Memory copy ceiling: copies a 256 MiB buffer a few times.
fn memcpy_ceiling() -> f64 {
    let src = vec![7u8; 256 << 20];
    let mut dst = vec![0u8; 256 << 20];
    dst.copy_from_slice(&src); // fault pages in
    let rounds = 8;
    let start = Instant::now();
    for i in 0..rounds {
        dst.copy_from_slice(&src);
        std::hint::black_box(&mut dst[i]);
    }
    (rounds * (256usize << 20)) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

async fn produce_in_process(
    log: &Log,
    topic: &'static str,
    args: &LogBenchArgs,
    durable: bool,
) -> anyhow::Result<Row> {
    log.create_topic(topic, 1, TopicConfig::default())?;
    let value = payload(args.record_size);
    let mut builder = BatchBuilder::new();
    // Batches are built before timing: this measures the log, not the builder.
    let per_batch = args.batch_records.max(1);
    let mut batches = Vec::new();
    let mut left = args.records;
    while left > 0 {
        let n = per_batch.min(left);
        for _ in 0..n {
            builder.push(&Record {
                key: None,
                value: Some(&value),
                headers: vec![],
                timestamp: 0,
            });
        }
        batches.push(Arc::new(builder.finish()));
        left -= n;
    }
    let bytes: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let start = Instant::now();
    if durable {
        // acks=all from 16 concurrent writers, sharing fsyncs (group commit).
        let writers = 16;
        let mut tasks = Vec::new();
        let chunks: Vec<Vec<Arc<Vec<u8>>>> = (0..writers)
            .map(|w| batches.iter().skip(w).step_by(writers).cloned().collect())
            .collect();
        for chunk in chunks {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for b in chunk {
                    log.append_durable(topic, 0, &b).await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
    } else {
        for b in &batches {
            log.append(topic, 0, b)?;
        }
    }
    Ok(Row {
        records: args.records,
        bytes,
        secs: start.elapsed().as_secs_f64(),
    })
}

fn consume_in_process(log: &Log, topic: &str) -> anyhow::Result<Row> {
    let end = log.offsets(topic, 0)?.log_end_offset;
    let start = Instant::now();
    let mut offset = 0;
    let mut bytes = 0u64;
    while offset < end {
        let read = log.read(topic, 0, offset, 1 << 20)?;
        let mut pos = 0;
        while pos < read.records.len() {
            let h = flusso_log::BatchHeader::parse(&read.records[pos..]).context("bad batch")?;
            offset = h.next_offset();
            pos += h.total_len();
        }
        bytes += read.records.len() as u64;
    }
    Ok(Row {
        records: end as usize,
        bytes,
        secs: start.elapsed().as_secs_f64(),
    })
}

fn produce_tcp(
    bootstrap: &str,
    topic: &'static str,
    acks: &str,
    args: &LogBenchArgs,
) -> anyhow::Result<Row> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks)
        .set("enable.idempotence", "false")
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("queue.buffering.max.messages", "1000000")
        .set("compression.type", "none")
        .create()?;
    let value = payload(args.record_size);
    let start = Instant::now();
    for _ in 0..args.records {
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&value[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    r,
                )) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("produce failed: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(120))?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Row {
        records: args.records,
        bytes: (args.records * args.record_size) as u64,
        secs,
    })
}

fn consume_tcp(bootstrap: &str, topic: &str) -> anyhow::Result<Row> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench")
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .set("queued.max.messages.kbytes", "1048576")
        .create()?;
    let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let start = Instant::now();
    let (mut count, mut bytes) = (0i64, 0u64);
    while count < high {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Ok(m)) => {
                count += 1;
                bytes += m.payload_len() as u64;
            }
            Some(Err(e)) => bail!("consume failed: {e}"),
            None => bail!("consume stalled after {count} of {high} records"),
        }
    }
    Ok(Row {
        records: count as usize,
        bytes,
        secs: start.elapsed().as_secs_f64(),
    })
}

//! `flusso bench groups`: consumer groups and compaction on the embedded log — consume throughput
//! through a group of 1 and of 4 members, offset-commit latency, the time a 4-member group takes to
//! rebalance after a member leaves, and the compaction rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use flusso_log::{BatchBuilder, Log, LogConfig, Record, TopicConfig};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// Options of `flusso bench groups`.
#[derive(Debug, Clone, Args)]
pub struct GroupBenchArgs {
    /// Records (of `--record-size` bytes) consumed per group measurement.
    #[arg(long, default_value_t = 400_000)]
    pub records: usize,
    /// Size of each record's value in bytes.
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Offset commits timed.
    #[arg(long, default_value_t = 2_000)]
    pub commits: usize,
    /// Updates written to the compacted topic (over 1,000 keys, 100-byte values).
    #[arg(long, default_value_t = 2_000_000)]
    pub compaction_updates: usize,
    /// Directory to put the log in (a temporary directory under it).
    #[arg(long, default_value = ".")]
    pub dir: std::path::PathBuf,
}

fn consumer(bootstrap: &str, group: &str) -> anyhow::Result<BaseConsumer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .set("queued.max.messages.kbytes", "262144")
        .create()?)
}

fn fill(
    log: &Log,
    topic: &str,
    partitions: i32,
    records: usize,
    size: usize,
) -> anyhow::Result<()> {
    log.create_topic(topic, partitions, TopicConfig::default())?;
    let value = vec![b'g'; size];
    let mut b = BatchBuilder::new();
    for i in 0..records {
        b.push(&Record {
            key: None,
            value: Some(&value),
            headers: vec![],
            timestamp: 0,
        });
        if b.len() == 64 || i + 1 == records {
            log.append(topic, (i % partitions as usize) as i32, &b.finish())?;
        }
    }
    Ok(())
}

/// Consumes `total` records with `members` consumers of one group; returns seconds.
fn group_consume(
    bootstrap: &str,
    topic: &str,
    group: &str,
    members: usize,
    total: u64,
) -> anyhow::Result<f64> {
    let seen = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..members {
        let (b, t, g, seen) = (
            bootstrap.to_string(),
            topic.to_string(),
            group.to_string(),
            Arc::clone(&seen),
        );
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let c = consumer(&b, &g)?;
            c.subscribe(&[&t])?;
            let deadline = Instant::now() + Duration::from_secs(300);
            while seen.load(Ordering::Relaxed) < total {
                if Instant::now() > deadline {
                    bail!(
                        "group consume stalled at {} of {total}",
                        seen.load(Ordering::Relaxed)
                    );
                }
                match c.poll(Duration::from_millis(100)) {
                    Some(Ok(_)) => {
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Err(e)) => bail!("consume failed: {e}"),
                    None => {}
                }
            }
            Ok(())
        }));
    }
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("consumer thread panicked"))??;
    }
    Ok(start.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Waits until the members' assignments cover `partitions` partitions with none left unassigned.
fn wait_assigned(
    members: &[BaseConsumer],
    partitions: usize,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        for m in members {
            let _ = m.poll(Duration::from_millis(5));
        }
        let assigned: usize = members
            .iter()
            .map(|m| m.assignment().map(|a| a.count()).unwrap_or(0))
            .sum();
        if assigned == partitions
            && members
                .iter()
                .all(|m| m.assignment().map(|a| a.count() > 0).unwrap_or(false))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("assignment not settled: {assigned} of {partitions} partitions");
        }
    }
}

pub fn run(args: GroupBenchArgs) -> anyhow::Result<()> {
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    let log = Log::open(LogConfig::new(tmp.path().join("log")))?;
    let shutdown = CancellationToken::new();
    let (server, bootstrap) = runtime.block_on(crate::bench::serve_loopback(&log, &shutdown))?;
    let background = runtime.spawn(log.clone().run_background(shutdown.clone()));
    let mb = (args.records * args.record_size) as f64 / 1e6;

    eprintln!("filling…");
    fill(&log, "g1", 4, args.records, args.record_size)?;
    eprintln!("group of 1…");
    let one = group_consume(&bootstrap, "g1", "bench-1", 1, args.records as u64)?;
    eprintln!("group of 4…");
    let four = group_consume(&bootstrap, "g1", "bench-4", 4, args.records as u64)?;

    eprintln!("offset commits…");
    let c = consumer(&bootstrap, "bench-commit")?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("g1", 0, Offset::Beginning)?;
    c.assign(&tpl)?;
    let mut latencies = Vec::with_capacity(args.commits);
    for i in 0..args.commits {
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset("g1", 0, Offset::Offset(i as i64))?;
        let start = Instant::now();
        c.commit(&offsets, CommitMode::Sync)?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
    }
    latencies.sort_by(f64::total_cmp);
    drop(c);

    eprintln!("rebalance…");
    let mut members: Vec<BaseConsumer> = (0..4)
        .map(|_| consumer(&bootstrap, "bench-rebalance"))
        .collect::<Result<_, _>>()?;
    for m in &members {
        m.subscribe(&["g1"])?;
    }
    wait_assigned(&members, 4, Instant::now() + Duration::from_secs(60))?;
    let leaving = members.pop().context("four members")?;
    let start = Instant::now();
    leaving.unsubscribe();
    drop(leaving);
    wait_assigned(&members, 4, Instant::now() + Duration::from_secs(60))?;
    let rebalance_ms = start.elapsed().as_secs_f64() * 1e3;
    drop(members);

    eprintln!("compaction…");
    let mut cfg = TopicConfig::default();
    cfg.overrides
        .insert("cleanup.policy".into(), "compact".into());
    cfg.overrides
        .insert("segment.bytes".into(), (16u32 << 20).to_string());
    log.create_topic("compacted", 1, cfg)?;
    let value = vec![b'c'; 100];
    let mut b = BatchBuilder::new();
    for i in 0..args.compaction_updates {
        let key = format!("key-{}", i % 1000);
        b.push(&Record {
            key: Some(key.as_bytes()),
            value: Some(&value),
            headers: vec![],
            timestamp: 0,
        });
        if b.len() == 200 || i + 1 == args.compaction_updates {
            log.append("compacted", 0, &b.finish())?;
        }
    }
    let partition = log.partition("compacted", 0)?;
    let start = Instant::now();
    let stats = partition
        .clean(flusso_common::now_ms(), true)?
        .unwrap_or_default();
    let clean_secs = start.elapsed().as_secs_f64();

    shutdown.cancel();
    runtime.block_on(async {
        let _ = server.await;
        let _ = background.await;
    });
    log.shutdown()?;

    println!(
        "flusso bench groups — {} cores, {} records of {} B over 4 partitions",
        cores, args.records, args.record_size
    );
    println!();
    println!("| measurement | result |");
    println!("|---|---:|");
    println!(
        "| consume through a group, 1 member | {:.0} MB/s ({:.0} records/s) |",
        mb / one,
        args.records as f64 / one
    );
    println!(
        "| consume through a group, 4 members | {:.0} MB/s ({:.0} records/s) |",
        mb / four,
        args.records as f64 / four
    );
    println!(
        "| offset commit latency ({} sync commits) | p50 {:.2} ms, p99 {:.2} ms |",
        args.commits,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!("| rebalance of a 4-member group after a member leaves | {rebalance_ms:.0} ms |");
    println!(
        "| compaction ({} updates over 1,000 keys, {:.0} MB read, {} records removed) | {:.0} MB/s |",
        args.compaction_updates,
        stats.bytes_read as f64 / 1e6,
        stats.records_removed,
        stats.bytes_read as f64 / 1e6 / clean_secs
    );
    Ok(())
}

//! `flusso bench sql`: a stateless persistent query (`CREATE STREAM ... AS SELECT ... WHERE`)
//! over 256-byte JSON records in the embedded log, in-process. Reports records per second of
//! wall time and per core (CPU time of the whole process while the query runs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, LogClient, Session};
use flusso_log::{BatchBuilder, Log, LogConfig, Record};

/// Options of `flusso bench sql`.
#[derive(Debug, Clone, Args)]
pub struct SqlBenchArgs {
    /// Input records.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: usize,
    /// Partitions of the input topic.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Directory to put the log in (a temporary directory under it).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
pub(crate) use flusso_nexmark::cpu_seconds;

pub(crate) fn record(i: usize) -> Vec<u8> {
    let areas = ["north", "south", "east", "west"];
    let mut v = format!(
        "{{\"id\":{i},\"sensor\":\"sensor-{:05}\",\"temp\":{:.2},\"humidity\":{},\"area\":\"{}\",\"firmware\":\"v1.{}.{}\",\"note\":\"",
        i % 10_000,
        (i % 600) as f64 / 10.0,
        i % 100,
        areas[i % 4],
        i % 7,
        i % 13
    )
    .into_bytes();
    while v.len() < 254 {
        v.push(b'x');
    }
    v.extend_from_slice(b"\"}");
    v
}

pub fn run(args: SqlBenchArgs) -> anyhow::Result<()> {
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    runtime.block_on(async {
        let log = Log::open(LogConfig::new(tmp.path()))?;
        let client = EmbeddedLog::new(log.clone());
        client.create_topic("readings", args.partitions, false).await?;
        let bytes = write_readings(&log, args.records, args.partitions)?;
        println!(
            "input: {} records of {} bytes of JSON ({:.0} MB) in {} partition(s)",
            args.records,
            bytes / args.records.max(1),
            bytes as f64 / 1e6,
            args.partitions
        );
        let engine = Engine::open(
            Arc::clone(&client) as Arc<dyn LogClient>,
            EngineConfig { properties: BTreeMap::new(), spawn_queries: false, durable: false },
        )
        .await?;
        let mut session = Session::default();
        session.properties.insert("auto.offset.reset".into(), "earliest".into());
        engine
            .execute(
                "CREATE STREAM readings (sensor VARCHAR KEY, id BIGINT, temp DOUBLE, humidity INT, area VARCHAR, firmware VARCHAR, note VARCHAR) \
                   WITH (kafka_topic='readings', value_format='JSON');",
                &mut session,
            )
            .await?;
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        engine
            .execute(
                "CREATE STREAM hot AS SELECT sensor, id, temp * 1.8 + 32 AS temp_f, UCASE(area) AS area \
                   FROM readings WHERE temp > 30 AND humidity < 80;",
                &mut session,
            )
            .await?;
        engine.drain().await?;
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let q = &engine.queries()[0];
        let rin = q.stats.records_in.load(std::sync::atomic::Ordering::Relaxed);
        let rout = q.stats.records_out.load(std::sync::atomic::Ordering::Relaxed);
        println!("query: CREATE STREAM hot AS SELECT sensor, id, temp * 1.8 + 32 AS temp_f, UCASE(area) AS area FROM readings WHERE temp > 30 AND humidity < 80");
        println!(
            "records in {rin}, out {rout}; wall {secs:.2} s, cpu {cpu:.2} s on {cores} core(s)"
        );
        println!(
            "throughput: {:.0} records/s wall, {:.0} records/s per core (ksqlDB's published figure: ~49,000 per core)",
            rin as f64 / secs,
            if cpu > 0.0 { rin as f64 / cpu } else { f64::NAN }
        );
        log.shutdown()?;
        anyhow::Ok(())
    })
}

/// Appends `records` sensor readings (256-byte JSON values, keyed by sensor, 1 ms apart in
/// event time) to topic `readings`; returns the bytes of JSON written.
pub(crate) fn write_readings(log: &Log, records: usize, partitions: i32) -> anyhow::Result<usize> {
    let mut bytes = 0usize;
    let per_batch = 256;
    let mut i = 0;
    while i < records {
        let mut batches: BTreeMap<i32, BatchBuilder> = BTreeMap::new();
        let end = (i + per_batch * partitions as usize).min(records);
        for j in i..end {
            let p = j as i32 % partitions;
            let k = format!("sensor-{:05}", j % 10_000).into_bytes();
            let v = record(j);
            bytes += v.len();
            batches.entry(p).or_default().push(&Record {
                key: Some(&k),
                value: Some(&v),
                headers: vec![],
                timestamp: 1_700_000_000_000 + j as i64,
            });
        }
        for (p, mut b) in batches {
            log.append("readings", p, &b.finish())?;
        }
        i = end;
    }
    Ok(bytes)
}

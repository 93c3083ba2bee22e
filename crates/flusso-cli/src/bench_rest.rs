//! `flusso bench rest`: the REST API under load, in one process over loopback HTTP.
//!
//! - push-query latency: records appended to the log at a fixed rate, each carrying the time it
//!   was appended; a `/query-stream` client measures when its row arrives (p50/p99/max);
//! - `/inserts-stream` throughput: rows streamed in one request, acked one by one;
//! - concurrent push queries: how many `/query-stream` queries one server holds open, the memory
//!   they take, and how long one record takes to reach all of them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, LogClient, Session};
use flusso_log::{BatchBuilder, Log, LogConfig, Record};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// Options of `flusso bench rest`.
#[derive(Debug, Clone, Args)]
pub struct RestBenchArgs {
    /// Produce rates (records/s) at which push-query latency is measured.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub rates: Vec<u64>,
    /// Seconds per latency measurement.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Rows streamed through /inserts-stream.
    #[arg(long, default_value_t = 100_000)]
    pub inserts: usize,
    /// Push queries held open at once.
    #[arg(long, default_value_t = 1000)]
    pub push_queries: usize,
    /// Directory to put the log in (a temporary directory under it).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Opens a push query on `/query-stream`; returns the body's line stream once the header came.
async fn open_push(
    client: &reqwest::Client,
    base: &str,
    sql: &str,
) -> anyhow::Result<impl futures::Stream<Item = String>> {
    let response = client
        .post(format!("{base}/query-stream"))
        .body(serde_json::json!({ "sql": sql }).to_string())
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "push query refused: {}",
        response.text().await?
    );
    let mut buffer = Vec::new();
    let lines = response
        .bytes_stream()
        .map(move |chunk: reqwest::Result<Bytes>| {
            let mut out = Vec::new();
            if let Ok(chunk) = chunk {
                buffer.extend_from_slice(&chunk);
                while let Some(i) = buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buffer.drain(..=i).collect();
                    out.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
                }
            }
            futures::stream::iter(out)
        })
        .flatten();
    let mut lines = Box::pin(lines);
    let header = lines.next().await.context("no header")?;
    anyhow::ensure!(header.contains("queryId"), "unexpected header: {header}");
    Ok(lines)
}

pub fn run(args: RestBenchArgs) -> anyhow::Result<()> {
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    runtime.block_on(async {
        let log = Log::open(LogConfig::new(tmp.path()))?;
        let client_log = EmbeddedLog::new(log.clone());
        let engine = Engine::open(
            Arc::clone(&client_log) as Arc<dyn LogClient>,
            EngineConfig {
                properties: Default::default(),
                spawn_queries: true,
                durable: false,
            },
        )
        .await?;
        let mut session = Session::default();
        engine
            .execute(
                "CREATE STREAM lat (id BIGINT KEY, sent BIGINT, pad STRING) \
                 WITH (kafka_topic='lat', value_format='JSON', partitions=1); \
                 CREATE STREAM ins (id BIGINT KEY, name STRING, v DOUBLE) \
                 WITH (kafka_topic='ins', value_format='JSON', partitions=1); \
                 CREATE STREAM fan (id BIGINT KEY, sent BIGINT) \
                 WITH (kafka_topic='fan', value_format='JSON', partitions=1);",
                &mut session,
            )
            .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(flusso_server::serve(
            listener,
            engine.clone(),
            shutdown.clone(),
        ));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()?;
        println!("flusso bench rest: in-process server at {base}, {cores} core(s)");

        // 1. Push-query latency at fixed produce rates.
        let t0 = Instant::now();
        let pad = "x".repeat(200);
        let mut next_id = 0i64;
        for &rate in &args.rates {
            let mut rows = open_push(&client, &base, "SELECT * FROM lat EMIT CHANGES;").await?;
            let total = (rate * args.seconds) as usize;
            let reader = tokio::spawn(async move {
                let mut lat = Vec::with_capacity(total);
                while lat.len() < total {
                    let Ok(Some(line)) =
                        tokio::time::timeout(Duration::from_secs(10), rows.next()).await
                    else {
                        break;
                    };
                    let now = t0.elapsed().as_micros() as f64;
                    if let Ok(serde_json::Value::Array(cols)) = serde_json::from_str(&line) {
                        if let Some(sent) = cols.get(1).and_then(|s| s.as_f64()) {
                            lat.push((now - sent) / 1000.0);
                        }
                    }
                }
                lat
            });
            // Produce in 1 ms ticks.
            let per_tick = (rate as f64 / 1000.0).max(1.0);
            let mut owed = 0.0;
            let start = Instant::now();
            let mut produced = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            while produced < total {
                tick.tick().await;
                let due = (start.elapsed().as_secs_f64() * rate as f64) as usize;
                owed = (due.saturating_sub(produced)) as f64;
                let n = (owed.min(per_tick * 20.0) as usize).min(total - produced);
                if n == 0 {
                    continue;
                }
                let mut b = BatchBuilder::default();
                let sent = t0.elapsed().as_micros() as i64;
                let values: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
                    .map(|_| {
                        next_id += 1;
                        (
                            next_id.to_be_bytes().to_vec(),
                            format!("{{\"SENT\":{sent},\"PAD\":\"{pad}\"}}").into_bytes(),
                        )
                    })
                    .collect();
                for (k, v) in &values {
                    b.push(&Record {
                        key: Some(k),
                        value: Some(v),
                        headers: vec![],
                        timestamp: flusso_common::now_ms(),
                    });
                }
                log.append("lat", 0, &b.finish())?;
                produced += n;
            }
            let _ = owed;
            let mut lat = reader.await?;
            let received = lat.len();
            // The first tenth warms up.
            let warm = lat.split_off(lat.len() / 10);
            let mut sorted = warm;
            sorted.sort_by(|a, b| a.total_cmp(b));
            println!(
                "push latency at {rate} records/s for {} s: {received}/{total} rows, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                args.seconds,
                percentile(&sorted, 0.50),
                percentile(&sorted, 0.99),
                sorted.last().copied().unwrap_or(f64::NAN)
            );
        }

        // 2. /inserts-stream throughput.
        let n = args.inserts;
        let body_lines: Vec<Result<Bytes, std::io::Error>> =
            std::iter::once(Ok(Bytes::from_static(b"{\"target\":\"INS\"}\n")))
                .chain((0..n).map(|i| {
                    Ok(Bytes::from(format!(
                        "{{\"ID\":{i},\"NAME\":\"name-{i}\",\"V\":{}.5}}\n",
                        i % 1000
                    )))
                }))
                .collect();
        let cpu0 = crate::bench_sql::cpu_seconds();
        let start = Instant::now();
        let response = client
            .post(format!("{base}/inserts-stream"))
            .body(reqwest::Body::wrap_stream(futures::stream::iter(body_lines)))
            .send()
            .await?;
        let text = response.text().await?;
        let secs = start.elapsed().as_secs_f64();
        let cpu = crate::bench_sql::cpu_seconds() - cpu0;
        let acked = text.lines().filter(|l| l.contains("\"ok\"")).count();
        println!(
            "inserts-stream: {acked}/{n} rows acked in {secs:.2} s: {:.0} rows/s, {:.0} rows/s per core",
            acked as f64 / secs,
            acked as f64 / cpu.max(1e-9)
        );

        // 3. Concurrent push queries, and one record fanned out to all of them.
        let rss0 = rss_mb();
        let start = Instant::now();
        let mut opened = Vec::with_capacity(args.push_queries);
        for _ in 0..args.push_queries {
            let c = client.clone();
            let b = base.clone();
            opened.push(tokio::spawn(async move {
                open_push(&c, &b, "SELECT * FROM fan EMIT CHANGES;")
                    .await
                    .map(Box::pin)
            }));
        }
        let mut streams = Vec::new();
        for h in opened {
            if let Ok(Ok(s)) = h.await {
                streams.push(s);
            }
        }
        let open_secs = start.elapsed().as_secs_f64();
        let rss1 = rss_mb();
        let held = streams.len();
        let sent = Instant::now();
        engine
            .execute("INSERT INTO fan (id, sent) VALUES (1, 1);", &mut session)
            .await?;
        let mut waits = Vec::new();
        for mut s in streams {
            waits.push(tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(30), s.next())
                    .await
                    .ok()
                    .flatten()
                    .map(|_| sent.elapsed())
            }));
        }
        let mut got = Vec::new();
        for w in waits {
            if let Ok(Some(d)) = w.await {
                got.push(d.as_secs_f64() * 1000.0);
            }
        }
        got.sort_by(|a, b| a.total_cmp(b));
        println!(
            "concurrent push queries: {held}/{} open in {open_secs:.2} s, {:.1} MB more memory ({:.1} KB each); one record reached {} of them, the last after {:.1} ms (p50 {:.1} ms)",
            args.push_queries,
            rss1 - rss0,
            (rss1 - rss0) * 1024.0 / held.max(1) as f64,
            got.len(),
            got.last().copied().unwrap_or(f64::NAN),
            percentile(&got, 0.5)
        );
        shutdown.cancel();
        let _ = server.await;
        engine.shutdown().await;
        log.shutdown()?;
        anyhow::Ok(())
    })
}

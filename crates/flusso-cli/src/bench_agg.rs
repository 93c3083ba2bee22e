//! `flusso bench agg`: aggregations over 256-byte JSON sensor readings in the embedded log,
//! in-process, and the table they make:
//!
//! 1. a tumbling-window COUNT/SUM (`WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor`): records
//!    per second of wall time and per core (CPU time of the process), with caching on (the
//!    latest update per group per step) and off (every update, as ksqlDB's tests run);
//! 2. the same aggregation over the same in-memory Arrow batches by the streaming operator and
//!    by DataFusion as a batch query;
//! 3. a one-row-per-record table (`GROUP BY id`, one group per input record), then a restart:
//!    how long the restore of its state from the changelog takes;
//! 4. pull-query key lookups over HTTP against that table: lookups per second and latency.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, LogClient, Session};
use flusso_log::{Log, LogConfig};
use tokio_util::sync::CancellationToken;

use crate::bench_sql::{cpu_seconds, write_readings};

/// Options of `flusso bench agg`.
#[derive(Debug, Clone, Args)]
pub struct AggBenchArgs {
    /// Input records (also the keys of the table the lookups read).
    #[arg(long, default_value_t = 1_000_000)]
    pub records: usize,
    /// Seconds of pull-query lookups.
    #[arg(long, default_value_t = 10)]
    pub lookup_seconds: u64,
    /// Concurrent HTTP clients doing lookups.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Directory to put the log in (a temporary directory under it).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Only what step 4 needs: the table (step 3, restart included), then the lookups.
    #[arg(long)]
    pub lookups_only: bool,
    /// Only step 2 (streaming vs batch over the same batches).
    #[arg(long)]
    pub compare_only: bool,
    /// Runs of step 2's streaming and batch sides; the fastest of each is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// The lookups' HTTP client: `raw` (HTTP/1.1 keep-alive over a TcpStream per client, the
    /// least CPU taken from the server) or `reqwest`.
    #[arg(long, default_value = "raw")]
    pub lookup_client: String,
}

const CREATE_READINGS: &str = "CREATE STREAM readings (sensor VARCHAR KEY, id BIGINT, temp DOUBLE, humidity INT, area VARCHAR, firmware VARCHAR, note VARCHAR) \
     WITH (kafka_topic='readings', value_format='JSON');";
const WINDOWED: &str = "SELECT sensor, COUNT(*) AS n, SUM(temp) AS total FROM readings WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

/// Runs one persistent query to the end of its input; prints and returns records/s per core.
async fn measure(
    engine: &Engine,
    name: &str,
    sql: &str,
    session: &mut Session,
) -> anyhow::Result<f64> {
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    engine.execute(sql, session).await?;
    engine.drain().await?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let q = engine
        .queries()
        .into_iter()
        .find(|q| q.sink.name == name)
        .ok_or_else(|| anyhow::anyhow!("query for {name} not found"))?;
    let rin = q.stats.records_in.load(Ordering::Relaxed);
    let rout = q.stats.records_out.load(Ordering::Relaxed);
    let per_core = rin as f64 / cpu.max(1e-9);
    println!("{sql}");
    println!(
        "  records in {rin}, out {rout}; wall {secs:.2} s, cpu {cpu:.2} s: {:.0} records/s wall, {per_core:.0} records/s per core",
        rin as f64 / secs
    );
    Ok(per_core)
}

/// Step 2: the streaming operator and DataFusion's batch query over the same Arrow batches.
async fn compare(engine: &Engine, repeat: usize) -> anyhow::Result<()> {
    println!(
        "\n2. the same aggregation over in-memory Arrow batches (fastest of {repeat} runs each)"
    );
    let c = engine
            .aggregate_vs_batch(
                "READINGS",
                &format!("{WINDOWED} EMIT CHANGES;"),
                "SELECT \"SENSOR\", \"ROWTIME\" - \"ROWTIME\" % 60000 AS ws, COUNT(*), SUM(\"TEMP\") FROM t GROUP BY \"SENSOR\", \"ROWTIME\" - \"ROWTIME\" % 60000",
                repeat,
            )
            .await?;
    println!(
            "  {} rows: streaming (one core) {:.3} s ({:.0} rows/s, {} groups); DataFusion batch, default configuration (all cores) {:.3} s: streaming takes {:.2}x its time; DataFusion batch on one core {:.3} s ({:.0} rows/s, {} groups): streaming takes {:.2}x its time (target <= 2x)",
            c.rows,
            c.streaming_secs,
            c.rows as f64 / c.streaming_secs,
            c.streaming_groups,
            c.batch_secs_all_cores,
            c.streaming_secs / c.batch_secs_all_cores,
            c.batch_secs,
            c.rows as f64 / c.batch_secs,
            c.batch_groups,
            c.streaming_secs / c.batch_secs
        );
    Ok(())
}

pub fn run(args: AggBenchArgs) -> anyhow::Result<()> {
    if args.lookups_only {
        return run_lookups_only(args);
    }
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    runtime.block_on(async {
        let log = Log::open(LogConfig::new(tmp.path()))?;
        let client = EmbeddedLog::new(log.clone());
        client.create_topic("readings", 1, false).await?;
        let bytes = write_readings(&log, args.records, 1)?;
        println!(
            "flusso bench agg: {} records of {} bytes of JSON, {cores} core(s)",
            args.records,
            bytes / args.records.max(1)
        );
        let config = || EngineConfig {
            properties: BTreeMap::new(),
            spawn_queries: false,
            durable: true,
        };
        let engine = Engine::open(Arc::clone(&client) as Arc<dyn LogClient>, config()).await?;
        let mut session = Session::default();
        session.properties.insert("auto.offset.reset".into(), "earliest".into());
        engine.execute(CREATE_READINGS, &mut session).await?;

        if args.compare_only {
            compare(&engine, args.repeat).await?;
            log.shutdown()?;
            return anyhow::Ok(());
        }
        // 1. Windowed COUNT/SUM, caching on and off.
        println!("\n1. tumbling-window COUNT/SUM (ksqlDB's published figure: ~12,000 records/s per core)");
        let mut cached = session.clone();
        cached
            .properties
            .insert("cache.max.bytes.buffering".into(), "10485760".into());
        let on = measure(&engine, "PER_MIN", &format!("CREATE TABLE per_min AS {WINDOWED};"), &mut cached).await?;
        let mut uncached = session.clone();
        uncached
            .properties
            .insert("cache.max.bytes.buffering".into(), "0".into());
        let off = measure(&engine, "PER_MIN_ALL", &format!("CREATE TABLE per_min_all AS {WINDOWED};"), &mut uncached).await?;
        println!("  caching on: {on:.0}/s per core ({:.2}x the 100,000 target); caching off: {off:.0}/s per core", on / 100_000.0);

        compare(&engine, args.repeat).await?;

        // 3. One group per record, then a restore.
        println!("\n3. a {}-key table, restored from its changelog", args.records);
        measure(&engine, "BY_ID", "CREATE TABLE by_id AS SELECT id, COUNT(*) AS n, LATEST_BY_OFFSET(temp) AS temp FROM readings GROUP BY id;", &mut cached).await?;
        drop(engine);
        let t0 = Instant::now();
        let engine = Engine::open(Arc::clone(&client) as Arc<dyn LogClient>, config()).await?;
        let restore = t0.elapsed().as_secs_f64();
        let restored: u64 = engine
            .queries()
            .iter()
            .map(|q| q.stats.restored.load(Ordering::Relaxed))
            .sum();
        println!(
            "  engine restart with {} queries: {restore:.2} s, {restored} changelog records read",
            engine.queries().len()
        );
        for q in engine.queries() {
            println!(
                "  {}: state from the changelog {:.2} s ({} records), table rows rebuilt {:.2} s",
                q.sink.name,
                q.stats.restore_state_ms.load(Ordering::Relaxed) as f64 / 1000.0,
                q.stats.restored.load(Ordering::Relaxed),
                q.stats.restore_rows_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            );
        }
        println!("  (target: a 1,000,000-key state restored in <= 10 s)");

        // 4. Pull-query lookups over HTTP.
        lookups(&engine, &args).await?;
        log.shutdown()?;
        anyhow::Ok(())
    })
}

/// Steps 3 and 4 only (`--lookups-only`).
fn run_lookups_only(args: AggBenchArgs) -> anyhow::Result<()> {
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    runtime.block_on(async {
        let log = Log::open(LogConfig::new(tmp.path()))?;
        let client = EmbeddedLog::new(log.clone());
        client.create_topic("readings", 1, false).await?;
        write_readings(&log, args.records, 1)?;
        println!(
            "flusso bench agg --lookups-only: {} records, {cores} core(s)",
            args.records
        );
        let config = || EngineConfig {
            properties: BTreeMap::new(),
            spawn_queries: false,
            durable: true,
        };
        let engine = Engine::open(Arc::clone(&client) as Arc<dyn LogClient>, config()).await?;
        let mut session = Session::default();
        session.properties.insert("auto.offset.reset".into(), "earliest".into());
        session
            .properties
            .insert("cache.max.bytes.buffering".into(), "10485760".into());
        engine.execute(CREATE_READINGS, &mut session).await?;
        println!("\n3. a {}-key table, restored from its changelog", args.records);
        measure(&engine, "BY_ID", "CREATE TABLE by_id AS SELECT id, COUNT(*) AS n, LATEST_BY_OFFSET(temp) AS temp FROM readings GROUP BY id;", &mut session).await?;
        drop(engine);
        let t0 = Instant::now();
        let engine = Engine::open(Arc::clone(&client) as Arc<dyn LogClient>, config()).await?;
        println!("  engine restart: {:.2} s", t0.elapsed().as_secs_f64());
        lookups(&engine, &args).await?;
        log.shutdown()?;
        anyhow::Ok(())
    })
}

/// One `POST /query` over a kept-alive HTTP/1.1 connection; the response body.
async fn raw_post(
    conn: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    body: &str,
) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "POST /query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    // The head.
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?.to_ascii_lowercase();
    anyhow::ensure!(head.starts_with("http/1.1 200"), "status: {head}");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>())
        .transpose()?;
    let mut body_bytes = buf.split_off(head_end);
    match length {
        Some(len) => {
            while body_bytes.len() < len {
                let n = conn.read(&mut chunk).await?;
                anyhow::ensure!(n > 0, "connection closed");
                body_bytes.extend_from_slice(&chunk[..n]);
            }
            body_bytes.truncate(len);
            Ok(String::from_utf8(body_bytes)?)
        }
        None => {
            // Chunked: size line, data, CRLF; a zero size ends it.
            let mut out = Vec::new();
            let mut at = 0;
            loop {
                let line_end = loop {
                    if let Some(i) = body_bytes[at..].windows(2).position(|w| w == b"\r\n") {
                        break at + i;
                    }
                    let n = conn.read(&mut chunk).await?;
                    anyhow::ensure!(n > 0, "connection closed");
                    body_bytes.extend_from_slice(&chunk[..n]);
                };
                let size = usize::from_str_radix(
                    std::str::from_utf8(&body_bytes[at..line_end])?.trim(),
                    16,
                )?;
                let data = line_end + 2;
                while body_bytes.len() < data + size + 2 {
                    let n = conn.read(&mut chunk).await?;
                    anyhow::ensure!(n > 0, "connection closed");
                    body_bytes.extend_from_slice(&chunk[..n]);
                }
                if size == 0 {
                    return Ok(String::from_utf8(out)?);
                }
                out.extend_from_slice(&body_bytes[data..data + size]);
                at = data + size + 2;
            }
        }
    }
}

/// Step 4: pull-query key lookups over HTTP, `args.clients` at once.
async fn lookups(engine: &Engine, args: &AggBenchArgs) -> anyhow::Result<()> {
    println!(
        "\n4. pull-query key lookups over HTTP, {} clients ({})",
        args.clients, args.lookup_client
    );
    let raw = match args.lookup_client.as_str() {
        "raw" => true,
        "reqwest" => false,
        other => anyhow::bail!("--lookup-client: raw or reqwest, not {other}"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(flusso_server::serve(
        listener,
        engine.clone(),
        shutdown.clone(),
    ));
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(args.lookup_seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let http = http.clone();
        let base = base.clone();
        let keys = args.records as u64;
        tasks.push(tokio::spawn(async move {
            let mut conn = if raw {
                let conn = tokio::net::TcpStream::connect(addr).await?;
                conn.set_nodelay(true)?;
                Some(conn)
            } else {
                None
            };
            let mut buf = Vec::with_capacity(8192);
            let mut lat = Vec::new();
            let mut misses = 0usize;
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ c as u64;
            while Instant::now() < deadline {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let id = x % keys;
                let t = Instant::now();
                let body =
                    serde_json::json!({"ksql": format!("SELECT * FROM by_id WHERE id={id};")});
                let text = match &mut conn {
                    Some(conn) => raw_post(conn, &mut buf, &body.to_string()).await?,
                    None => match http.post(format!("{base}/query")).json(&body).send().await {
                        Ok(r) => r.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    },
                };
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if !text.contains("\"row\"") {
                    misses += 1;
                }
            }
            anyhow::Ok((lat, misses))
        }));
    }
    let mut lat = Vec::new();
    let mut misses = 0;
    for t in tasks {
        let (l, m) = t.await??;
        lat.extend(l);
        misses += m;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  {} lookups in {} s: {:.0} lookups/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {misses} without a row (targets: >= 20,000/s, p99 <= 5 ms)",
        lat.len(),
        args.lookup_seconds,
        lat.len() as f64 / args.lookup_seconds as f64,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    shutdown.cancel();
    let _ = server.await;
    Ok(())
}

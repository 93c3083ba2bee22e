//! `flusso bench join`: joins over JSON records in the embedded log, in-process.
//!
//! 1. **Stream-table enrichment**: a table `users` (10,000 keys, five value columns) is written
//!    to its topic, then N 256-byte `clicks` records whose `user_id` references a user. The clock
//!    starts when `CREATE STREAM enriched AS SELECT c.*, u.name, u.city FROM clicks c JOIN users u
//!    ON c.user_id = u.id` is executed and stops when the query has read everything; the sink
//!    topic then must hold N records. The users topic has enough partitions that each holds under
//!    one fetch, so the query loads the whole table before its first click (a query reads its
//!    table inputs first in every step).
//! 2. **Windowed stream-stream join, Nexmark q8 shape**: `persons` and `auctions` streams, one
//!    person per three auctions, event times advancing at `--event-rate`, each auction's seller
//!    one of the 1,000 most recent persons (as Nexmark's generator draws them), joined
//!    `WITHIN 10 SECONDS GRACE PERIOD 1 SECOND` (a grace period, so that windows close and state
//!    is dropped; without one ksqlDB keeps 24 hours). The records are fed in rounds of
//!    `--round-ms` of event time: a round is appended to both topics, then the query is stepped
//!    until it has read everything. Preloading both topics instead would let one input run ahead
//!    of the other by a whole fetch, in event time, and records of the lagging side would arrive
//!    after their windows closed. The clock covers the appends and the steps; the appends'
//!    share is printed.
//!
//! Figures are records (events) per second of wall time and per core, as the other benchmarks
//! count them: input records divided by the CPU time (user + system) of the whole process while
//! the query runs. Both measurements wait on what the query has read, never on its output, so
//! a join that emits nothing still finishes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use flusso_engine::{EmbeddedLog, Engine, EngineConfig, LogClient, PersistentQuery, Session};
use flusso_log::{BatchBuilder, Log, LogConfig, Record};

use crate::bench_sql::cpu_seconds;

/// Options of `flusso bench join`.
#[derive(Debug, Clone, Args)]
pub struct JoinBenchArgs {
    /// Stream records (clicks) of the stream-table join, and events (persons and auctions) of
    /// the stream-stream join.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: usize,
    /// Rows of the `users` table.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Stream-stream join: events per second of event time (Nexmark's default rate).
    #[arg(long, default_value_t = 10_000)]
    pub event_rate: u64,
    /// Stream-stream join: milliseconds of event time appended per round.
    #[arg(long, default_value_t = 2_000)]
    pub round_ms: u64,
    /// Run one measurement only: `stream-table` or `stream-stream`.
    #[arg(long)]
    pub only: Option<String>,
    /// Directory to put the log in (a temporary directory under it).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// Event time of the first record.
const BASE_TS: i64 = 1_700_000_000_000;
/// Records per appended batch.
const PER_BATCH: usize = 256;
/// Most bytes of JSON per partition of the users topic, well under a query's fetch (1 MiB).
const USERS_BYTES_PER_PARTITION: usize = 512 << 10;

const CREATE_USERS: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR, city VARCHAR, email VARCHAR, tier VARCHAR, signup BIGINT) \
     WITH (kafka_topic='users', value_format='JSON');";
const CREATE_CLICKS: &str = "CREATE STREAM clicks (click_id BIGINT, user_id BIGINT, url VARCHAR, referrer VARCHAR, agent VARCHAR, note VARCHAR) \
     WITH (kafka_topic='clicks', value_format='JSON');";
const ENRICH: &str = "CREATE STREAM enriched AS SELECT c.*, u.name, u.city FROM clicks c JOIN users u ON c.user_id = u.id EMIT CHANGES;";

const CREATE_PERSONS: &str = "CREATE STREAM persons (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR, city VARCHAR, state VARCHAR, date_time BIGINT) \
     WITH (kafka_topic='persons', value_format='JSON');";
const CREATE_AUCTIONS: &str = "CREATE STREAM auctions (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT, reserve BIGINT, date_time BIGINT, expires BIGINT, seller BIGINT, category BIGINT) \
     WITH (kafka_topic='auctions', value_format='JSON');";
const Q8: &str = "CREATE STREAM q8 AS SELECT p.id, p.name, a.reserve FROM persons p JOIN auctions a WITHIN 10 SECONDS GRACE PERIOD 1 SECOND ON p.id = a.seller EMIT CHANGES;";

/// Nexmark's generator: sellers are drawn from this many most recent persons.
const ACTIVE_PERSONS: u64 = 1_000;

pub fn run(args: JoinBenchArgs) -> anyhow::Result<()> {
    let (stream_table, stream_stream) = match args.only.as_deref() {
        None => (true, true),
        Some("stream-table") => (true, false),
        Some("stream-stream") => (false, true),
        Some(other) => anyhow::bail!("--only: stream-table or stream-stream, not {other}"),
    };
    anyhow::ensure!(args.event_rate > 0, "--event-rate must be positive");
    let (tmp, cores, runtime) = crate::bench::setup(&args.dir)?;
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("flusso bench join — {date}, {cores} core(s)");
    runtime.block_on(async {
        let log = Log::open(LogConfig::new(tmp.path()))?;
        let client = EmbeddedLog::new(log.clone());
        let engine = Engine::open(
            Arc::clone(&client) as Arc<dyn LogClient>,
            EngineConfig {
                properties: BTreeMap::new(),
                spawn_queries: false,
                durable: false,
            },
        )
        .await?;
        let mut session = Session::default();
        session
            .properties
            .insert("auto.offset.reset".into(), "earliest".into());
        if stream_table {
            enrichment(&engine, &client, &log, &args, &mut session).await?;
        }
        if stream_stream {
            q8(&engine, &client, &log, &args, &mut session).await?;
        }
        engine.shutdown().await;
        log.shutdown()?;
        anyhow::Ok(())
    })
}

/// The persistent query writing to `sink` (upper case).
fn query(engine: &Engine, sink: &str) -> anyhow::Result<Arc<PersistentQuery>> {
    engine
        .queries()
        .into_iter()
        .find(|q| q.sink.name == sink)
        .ok_or_else(|| anyhow::anyhow!("query for {sink} not found"))
}

/// Records in every partition of `topic`.
async fn topic_records(client: &EmbeddedLog, topic: &str) -> anyhow::Result<i64> {
    let mut total = 0;
    for p in 0..client.partitions(topic).await?.unwrap_or(0) {
        let (start, end) = client.offsets(topic, p).await?;
        total += end - start;
    }
    Ok(total)
}

/// A record to append: partition, key, value, timestamp.
type Rec = (i32, Option<Vec<u8>>, Vec<u8>, i64);
type Rows = Vec<Rec>;

/// Appends records to `topic` in batches of `PER_BATCH`
/// per partition.
fn append(log: &Log, topic: &str, records: &[Rec]) -> anyhow::Result<()> {
    let mut batches: BTreeMap<i32, (BatchBuilder, usize)> = BTreeMap::new();
    for (p, key, value, ts) in records {
        let (b, n) = batches.entry(*p).or_default();
        b.push(&Record {
            key: key.as_deref(),
            value: Some(value),
            headers: vec![],
            timestamp: *ts,
        });
        *n += 1;
        if *n == PER_BATCH {
            log.append(topic, *p, &b.finish())?;
            *n = 0;
        }
    }
    for (p, (mut b, n)) in batches {
        if n > 0 {
            log.append(topic, p, &b.finish())?;
        }
    }
    Ok(())
}

/// The user id a click references (spread over every user).
fn user_of(i: usize, users: usize) -> u64 {
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) % users as u64
}

fn user_value(id: usize) -> Vec<u8> {
    let tiers = ["free", "basic", "pro", "enterprise"];
    format!(
        "{{\"name\":\"user-{id:06}\",\"city\":\"city-{:03}\",\"email\":\"user{id}@example.com\",\"tier\":\"{}\",\"signup\":{}}}",
        id % 500,
        tiers[id % 4],
        BASE_TS - 86_400_000 + id as i64
    )
    .into_bytes()
}

/// A 256-byte click.
fn click_value(i: usize, users: usize) -> Vec<u8> {
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Mozilla/5.0 (Macintosh)",
        "curl/8.5.0",
    ];
    let mut v = format!(
        "{{\"click_id\":{i},\"user_id\":{},\"url\":\"/products/{}\",\"referrer\":\"https://search.example/q={}\",\"agent\":\"{}\",\"note\":\"",
        user_of(i, users),
        i % 5_000,
        i % 977,
        agents[i % 3]
    )
    .into_bytes();
    while v.len() < 254 {
        v.push(b'x');
    }
    v.extend_from_slice(b"\"}");
    v
}

/// Measurement 1: the stream-table enrichment join.
async fn enrichment(
    engine: &Engine,
    client: &EmbeddedLog,
    log: &Log,
    args: &JoinBenchArgs,
    session: &mut Session,
) -> anyhow::Result<()> {
    let users: Vec<Vec<u8>> = (0..args.users).map(user_value).collect();
    let users_bytes: usize = users.iter().map(Vec::len).sum();
    let users_partitions = users_bytes.div_ceil(USERS_BYTES_PER_PARTITION).max(1);
    client
        .create_topic("users", users_partitions as i32, false)
        .await?;
    let rows: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(id, v)| {
            let p = (id % users_partitions) as i32;
            (p, Some((id as i64).to_be_bytes().to_vec()), v, BASE_TS)
        })
        .collect();
    append(log, "users", &rows)?;
    drop(rows);
    client.create_topic("clicks", 1, false).await?;
    let mut clicks_bytes = 0usize;
    let mut i = 0;
    while i < args.records {
        let end = (i + 64 * PER_BATCH).min(args.records);
        let chunk: Vec<_> = (i..end)
            .map(|j| {
                let v = click_value(j, args.users);
                clicks_bytes += v.len();
                (0, None, v, BASE_TS + 1 + j as i64)
            })
            .collect();
        append(log, "clicks", &chunk)?;
        i = end;
    }
    println!(
        "\n1. stream-table enrichment join: {} users ({} bytes of JSON each on average, {users_partitions} partition(s)), \
         {} clicks of {} bytes of JSON (ksqlDB: ~24,000 records/s per core; target >= 150,000)",
        args.users,
        users_bytes / args.users.max(1),
        args.records,
        clicks_bytes / args.records.max(1)
    );
    engine.execute(CREATE_USERS, session).await?;
    engine.execute(CREATE_CLICKS, session).await?;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    engine.execute(ENRICH, session).await?;
    engine.drain().await?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let q = query(engine, "ENRICHED")?;
    let rin = q.stats.records_in.load(Ordering::Relaxed);
    let rout = q.stats.records_out.load(Ordering::Relaxed);
    let errors = q.stats.errors.load(Ordering::Relaxed);
    let in_sink = topic_records(client, &q.sink.topic).await?;
    let clicks = args.records as f64;
    println!("{ENRICH}");
    println!(
        "  records in {rin} ({} users + {} clicks), out {rout}, errors {errors}; sink topic {} holds {in_sink} records",
        args.users, args.records, q.sink.topic
    );
    if let Some(r) = client.fetch(&q.sink.topic, 0, 0, 4096).await?.first() {
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
        println!(
            "  first output record: key {:?}, value {}",
            r.key.as_deref(),
            text(r.value.as_deref()).unwrap_or_default()
        );
    }
    if in_sink != args.records as i64 {
        println!(
            "  WARNING: the sink holds {in_sink} records, not {}",
            args.records
        );
    }
    println!(
        "  wall {secs:.2} s, cpu {cpu:.2} s: {:.0} clicks/s wall, {:.0} clicks/s per core ({:.2}x the 150,000 target; all records in: {:.0}/s per core)",
        clicks / secs,
        clicks / cpu.max(1e-9),
        clicks / cpu.max(1e-9) / 150_000.0,
        rin as f64 / cpu.max(1e-9)
    );
    Ok(())
}

/// One Nexmark-style event: a person or an auction.
enum Event {
    Person(Vec<u8>),
    Auction(Vec<u8>),
}

/// Nexmark-shaped events: every fourth is a person (ids 0, 1, 2, …), the others auctions whose
/// seller is one of the `ACTIVE_PERSONS` most recent persons. Event `i` happens at
/// `BASE_TS + i * 1000 / rate` ms.
fn nexmark_event(i: u64, rate: u64) -> (i64, Event) {
    let ts = BASE_TS + (i * 1000 / rate) as i64;
    let persons_so_far = i / 4 + 1;
    let states = ["OR", "ID", "CA", "WA", "AZ"];
    let cities = [
        "Phoenix",
        "Los Angeles",
        "San Francisco",
        "Boise",
        "Portland",
        "Bend",
        "Redmond",
        "Seattle",
        "Kent",
        "Cheyenne",
    ];
    if i.is_multiple_of(4) {
        let id = i / 4;
        let v = format!(
            "{{\"id\":{id},\"name\":\"person {id}\",\"email_address\":\"p{id}@nexmark.example\",\"credit_card\":\"{:04} {:04} {:04} {:04}\",\"city\":\"{}\",\"state\":\"{}\",\"date_time\":{ts}}}",
            id % 10_000,
            (id * 7) % 10_000,
            (id * 13) % 10_000,
            (id * 31) % 10_000,
            cities[(id % 10) as usize],
            states[(id % 5) as usize]
        );
        (ts, Event::Person(v.into_bytes()))
    } else {
        let id = i - i / 4 - 1;
        let active = persons_so_far.min(ACTIVE_PERSONS);
        let pick = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) % active;
        let seller = persons_so_far - 1 - pick;
        let initial = 100 + (id * 37) % 10_000;
        let v = format!(
            "{{\"id\":{id},\"item_name\":\"item {id}\",\"description\":\"auction {id} of seller {seller}, lot {}\",\"initial_bid\":{initial},\"reserve\":{},\"date_time\":{ts},\"expires\":{},\"seller\":{seller},\"category\":{}}}",
            id % 997,
            initial * 2,
            ts + 10_000 + (id % 20_000) as i64,
            10 + id % 5
        );
        (ts, Event::Auction(v.into_bytes()))
    }
}

/// Measurement 2: the windowed stream-stream join (Nexmark q8 shape).
async fn q8(
    engine: &Engine,
    client: &EmbeddedLog,
    log: &Log,
    args: &JoinBenchArgs,
    session: &mut Session,
) -> anyhow::Result<()> {
    // The rounds, generated before the clock starts.
    let per_round = (args.event_rate * args.round_ms.max(1) / 1000).max(1) as usize;
    let mut rounds: Vec<(Rows, Rows)> = Vec::new();
    let (mut persons, mut auctions) = (0usize, 0usize);
    let (mut person_bytes, mut auction_bytes) = (0usize, 0usize);
    for start in (0..args.records).step_by(per_round) {
        let mut round = (Vec::new(), Vec::new());
        for i in start..(start + per_round).min(args.records) {
            match nexmark_event(i as u64, args.event_rate) {
                (ts, Event::Person(v)) => {
                    persons += 1;
                    person_bytes += v.len();
                    round.0.push((0, None, v, ts));
                }
                (ts, Event::Auction(v)) => {
                    auctions += 1;
                    auction_bytes += v.len();
                    round.1.push((0, None, v, ts));
                }
            }
        }
        rounds.push(round);
    }
    println!(
        "\n2. windowed stream-stream join, Nexmark q8 shape: {persons} persons ({} bytes of JSON on average) and \
         {auctions} auctions ({} bytes), {} events/s of event time, {} rounds of {per_round} events (target >= 150,000 events/s per core)",
        person_bytes / persons.max(1),
        auction_bytes / auctions.max(1),
        args.event_rate,
        rounds.len()
    );
    client.create_topic("persons", 1, false).await?;
    client.create_topic("auctions", 1, false).await?;
    engine.execute(CREATE_PERSONS, session).await?;
    engine.execute(CREATE_AUCTIONS, session).await?;

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    engine.execute(Q8, session).await?;
    let q = query(engine, "Q8")?;
    let mut appending = 0.0;
    let mut fed = 0u64;
    for (p, a) in &rounds {
        let t = Instant::now();
        append(log, "persons", p)?;
        append(log, "auctions", a)?;
        appending += t.elapsed().as_secs_f64();
        fed += (p.len() + a.len()) as u64;
        // Steps until the query has read everything so far (it stops when a step reads
        // nothing, whatever it emitted).
        engine.drain().await?;
        let read = q.stats.records_in.load(Ordering::Relaxed);
        anyhow::ensure!(read == fed, "the query read {read} of {fed} events");
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let rin = q.stats.records_in.load(Ordering::Relaxed);
    let rout = q.stats.records_out.load(Ordering::Relaxed);
    let errors = q.stats.errors.load(Ordering::Relaxed);
    let late = q.stats.late.load(Ordering::Relaxed);
    let in_sink = topic_records(client, &q.sink.topic).await?;
    println!("{Q8}");
    println!(
        "  events in {rin}, out {rout} (sink topic {} holds {in_sink}; every auction's seller is a person within the window: {auctions} expected), errors {errors}, late {late}",
        q.sink.topic
    );
    println!(
        "  wall {secs:.2} s (of which appending to the log {appending:.2} s), cpu {cpu:.2} s: {:.0} events/s wall, {:.0} events/s per core ({:.2}x the 150,000 target)",
        rin as f64 / secs,
        rin as f64 / cpu.max(1e-9),
        rin as f64 / cpu.max(1e-9) / 150_000.0
    );
    Ok(())
}

//! Crash recovery of the embedded log: SIGKILL at random moments under acks=all load, torn
//! segment tails after a clean shutdown, and garbage appended to a segment after a crash.

mod common;

use std::collections::{HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::admin::{NewPartitions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

const T: Duration = Duration::from_secs(30);

/// Runs a blocking server operation (start, stop, restart) without stalling the runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

/// Produces `values` to partition 0 one at a time, waiting for each acknowledgement (so each
/// record is a batch of its own); returns the offsets.
async fn produce_one_by_one(producer: &FutureProducer, topic: &str, values: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for v in values {
        let d = producer
            .send(FutureRecord::to(topic).partition(0).key("k").payload(v), T)
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("produce {v:?}: {e}"));
        out.push(d.offset);
    }
    out
}

/// Reads partition 0 of `topic` from the beginning up to the current high watermark and returns
/// the values; asserts the offsets are 0, 1, 2, …
fn read_all(bs: &str, topic: &str) -> Vec<String> {
    let consumer: BaseConsumer = base_consumer(bs, &[]);
    let (lo, hi) = consumer.fetch_watermarks(topic, 0, T).expect("watermarks");
    assert_eq!(lo, 0);
    assign_from_beginning(&consumer, topic, &[0]);
    let msgs = consume_exactly(&consumer, hi as usize, T);
    msgs.iter()
        .enumerate()
        .map(|(i, m)| {
            assert_eq!(m.offset(), i as i64, "{topic}: offsets must be dense");
            payload_str(m).to_string()
        })
        .collect()
}

fn values(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:05}")).collect()
}

// ---------------------------------------------------------------------------------------------
// (1) SIGKILL at random moments under acks=all load
// ---------------------------------------------------------------------------------------------

const CRASH_TOPIC: &str = "crash";

/// What one producing phase did: the sequence numbers acknowledged, in acknowledgement order, and
/// the next unused sequence number.
struct Phase {
    acked: Vec<u64>,
    next_seq: u64,
    failed: usize,
}

/// Produces `seq-NNNNNNNNNN` payloads with acks=all and at most `window` records in flight until
/// `stop` is set, then waits for the outstanding deliveries. Only records whose delivery report
/// is a success count as acknowledged. Retries are off, so the producer never writes a record
/// twice: any duplicate in the log is the server's doing.
async fn produce_until_stopped(
    bs: String,
    mut seq: u64,
    window: usize,
    stop: Arc<AtomicBool>,
) -> Phase {
    let producer = producer(
        &bs,
        &[
            ("acks", "all"),
            ("retries", "0"),
            ("linger.ms", "0"),
            ("message.timeout.ms", "2000"),
            ("request.timeout.ms", "2000"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    );
    let mut in_flight = VecDeque::new();
    let mut acked = Vec::new();
    let mut failed = 0;
    while !stop.load(Ordering::Acquire) {
        while in_flight.len() < window {
            let payload = format!("seq-{seq:010}");
            match producer.send_result(
                FutureRecord::to(CRASH_TOPIC)
                    .partition(0)
                    .key("k")
                    .payload(&payload),
            ) {
                Ok(f) => in_flight.push_back((seq, f)),
                Err((e, _)) => panic!("enqueue failed: {e}"),
            }
            seq += 1;
        }
        let (s, f) = in_flight.pop_front().expect("window not empty");
        match f.await {
            Ok(Ok(_)) => acked.push(s),
            _ => {
                failed += 1;
                // The server is down: wait until it is back rather than spinning.
                while !stop.load(Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    for (s, f) in in_flight {
        match f.await {
            Ok(Ok(_)) => acked.push(s),
            _ => failed += 1,
        }
    }
    drop(producer);
    Phase {
        acked,
        next_seq: seq,
        failed,
    }
}

fn parse_seq(v: &str) -> u64 {
    v.strip_prefix("seq-")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected payload {v:?}"))
}

/// Checks the crash topic: every acknowledged record present exactly once, and every record
/// present in strictly increasing sequence order (no duplicates, no reordering).
fn verify_crash_topic(bs: &str, acked: &[u64]) -> usize {
    let present: Vec<u64> = read_all(bs, CRASH_TOPIC)
        .iter()
        .map(|v| parse_seq(v))
        .collect();
    for w in present.windows(2) {
        assert!(
            w[0] < w[1],
            "records out of order or duplicated: {} then {}",
            w[0],
            w[1]
        );
    }
    let set: HashSet<u64> = present.iter().copied().collect();
    let missing: Vec<u64> = acked.iter().copied().filter(|s| !set.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost (first: {:?}); {} present, {} acknowledged",
        missing.len(),
        &missing[..missing.len().min(10)],
        present.len(),
        acked.len()
    );
    present.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_records_survive_repeated_sigkill() {
    let seed: u64 = rand::rng().random();
    eprintln!("crash test seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    // Small segments, so that crashes also hit rolled segments and the recovery point.
    create_topic(&bs, CRASH_TOPIC, 1, &[("segment.bytes", "16384")]).await;

    let mut acked: Vec<u64> = Vec::new();
    let mut next_seq = 0u64;
    let cycles = 6;
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let window = [1usize, 4, 16][cycle % 3];
        let task = tokio::spawn(produce_until_stopped(
            bs.clone(),
            next_seq,
            window,
            Arc::clone(&stop),
        ));
        let delay = rng.random_range(20..700u64);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        blocking(|| server.sigkill());
        stop.store(true, Ordering::Release);
        let phase = task.await.expect("producer task");
        eprintln!(
            "cycle {cycle}: killed after {delay} ms, window {window}: {} acked, {} failed, seq {}..{}",
            phase.acked.len(),
            phase.failed,
            next_seq,
            phase.next_seq
        );
        assert!(
            phase.acked.windows(2).all(|w| w[0] < w[1]),
            "acknowledgements out of order"
        );
        next_seq = phase.next_seq;
        acked.extend(phase.acked);
        blocking(|| server.restart());
        let consumer = base_consumer(&bs, &[]);
        let (_, hi) = consumer
            .fetch_watermarks(CRASH_TOPIC, 0, T)
            .expect("watermarks after restart");
        assert!(
            hi as usize >= acked.len(),
            "cycle {cycle}: high watermark {hi} < {} acknowledged",
            acked.len()
        );
    }
    // The log still takes writes after all the crashes.
    let producer = producer(&bs, &[("acks", "all"), ("retries", "0")]);
    for _ in 0..20 {
        let payload = format!("seq-{next_seq:010}");
        producer
            .send(
                FutureRecord::to(CRASH_TOPIC)
                    .partition(0)
                    .key("k")
                    .payload(&payload),
                T,
            )
            .await
            .map_err(|(e, _)| e)
            .expect("produce after recovery");
        acked.push(next_seq);
        next_seq += 1;
    }
    drop(producer);
    assert!(
        acked.len() > 20,
        "no record was acknowledged before the crashes"
    );
    let present = verify_crash_topic(&bs, &acked);
    eprintln!(
        "{} acknowledged, {present} present, {next_seq} sent, {} segments",
        acked.len(),
        server.segments(CRASH_TOPIC, 0).len()
    );

    // A clean stop and start keeps exactly the same records.
    blocking(|| {
        server.sigterm();
        server.restart();
    });
    assert_eq!(verify_crash_topic(&bs, &acked), present);
}

// ---------------------------------------------------------------------------------------------
// (2) torn tail after a clean shutdown
// ---------------------------------------------------------------------------------------------

/// Produces 40 single-record batches, stops the server (`kill`: SIGKILL, else SIGTERM), cuts
/// `cut(last_batch_len)` bytes off the segment, restarts, and checks that the 39 whole batches
/// remain, that the file was truncated to them, and that the log takes and serves new records.
async fn torn_tail(topic: &str, kill: bool, cut: impl Fn(usize) -> usize) {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    create_topic(&bs, topic, 1, &[]).await;
    let first = values("before", 0..40);
    {
        let producer = producer(&bs, &[("acks", "all")]);
        assert_eq!(
            produce_one_by_one(&producer, topic, &first).await,
            (0..40).collect::<Vec<i64>>()
        );
    }
    blocking(|| {
        if kill {
            server.sigkill()
        } else {
            server.sigterm()
        }
    });

    let segs = server.segments(topic, 0);
    assert_eq!(segs.len(), 1);
    let seg = &segs[0];
    let headers = batch_headers(seg);
    assert_eq!(
        headers.len(),
        40,
        "one batch per record expected: {headers:?}"
    );
    let file_len = std::fs::metadata(seg).unwrap().len();
    let last_len = headers.last().unwrap().3;
    let cut = cut(last_len);
    assert!(
        cut > 0 && cut < last_len,
        "cut {cut} must fall inside the last batch ({last_len} bytes)"
    );
    OpenOptions::new()
        .write(true)
        .open(seg)
        .unwrap()
        .set_len(file_len - cut as u64)
        .unwrap();
    let whole: u64 = headers[..39].iter().map(|h| h.3 as u64).sum();

    blocking(|| server.restart());
    assert_eq!(
        read_all(&bs, topic),
        first[..39].to_vec(),
        "records of the 39 whole batches"
    );
    assert_eq!(
        std::fs::metadata(seg).unwrap().len(),
        whole,
        "the torn batch must be truncated away on disk"
    );

    let more = values("after", 0..20);
    {
        let producer = producer(&bs, &[("acks", "all")]);
        assert_eq!(
            produce_one_by_one(&producer, topic, &more).await,
            (39..59).collect::<Vec<i64>>()
        );
    }
    let mut want = first[..39].to_vec();
    want.extend(more);
    assert_eq!(read_all(&bs, topic), want);

    // And once more through a clean restart.
    blocking(|| {
        server.sigterm();
        server.restart();
    });
    assert_eq!(read_all(&bs, topic), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_after_sigterm_is_truncated() {
    torn_tail("torn", false, |_| 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_inside_batch_header_after_sigterm_is_truncated() {
    // Leave only 20 bytes of the last batch: not even its 61-byte header.
    torn_tail("torn-header", false, |len| len - 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_after_sigkill_is_truncated() {
    torn_tail("torn-kill", true, |len| len / 2).await;
}

// ---------------------------------------------------------------------------------------------
// (3) garbage appended after a crash
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_sigkill_is_truncated() {
    let topic = "garbage";
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    create_topic(&bs, topic, 1, &[]).await;
    let mut want = values("v", 0..30);
    {
        let producer = producer(&bs, &[("acks", "all")]);
        produce_one_by_one(&producer, topic, &want).await;
    }
    let mut rng = StdRng::seed_from_u64(42);

    let kinds = [
        "random bytes",
        "zeros",
        "corrupted copy of the last batch",
        "duplicate of the last batch",
        "header of a huge batch",
    ];
    for (round, kind) in kinds.iter().enumerate() {
        blocking(|| server.sigkill());
        let seg = server.segments(topic, 0).pop().expect("a segment");
        let data = std::fs::read(&seg).unwrap();
        let headers = batch_headers(&seg);
        let whole: usize = headers.iter().map(|h| h.3).sum();
        assert_eq!(
            whole,
            data.len(),
            "segment has a tail before the garbage was added"
        );
        let (last_base, _, last_count, last_len) = *headers.last().unwrap();
        let last = &data[data.len() - last_len..];
        let next_offset = last_base + last_count as i64;
        let garbage: Vec<u8> = match round {
            0 => {
                let mut g = vec![0u8; 200];
                rng.fill(&mut g[..]);
                g
            }
            1 => vec![0u8; 4096],
            2 => {
                let mut g = last.to_vec();
                g[..8].copy_from_slice(&next_offset.to_be_bytes());
                let n = g.len();
                g[n - 1] ^= 0xFF; // CRC no longer matches
                g
            }
            3 => last.to_vec(), // same base offset as the batch before it
            _ => {
                let mut g = last[..61].to_vec();
                g[..8].copy_from_slice(&next_offset.to_be_bytes());
                g[8..12].copy_from_slice(&1_000_000i32.to_be_bytes());
                g
            }
        };
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&garbage).unwrap();
        drop(f);

        blocking(|| server.restart());
        assert_eq!(read_all(&bs, topic), want, "after appending {kind}");
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len() as usize,
            whole,
            "{kind} must be truncated away"
        );

        let more = values(&format!("round{round}"), 0..5);
        let producer = producer(&bs, &[("acks", "all")]);
        let offsets = produce_one_by_one(&producer, topic, &more).await;
        let start = want.len() as i64;
        assert_eq!(
            offsets,
            (start..start + 5).collect::<Vec<i64>>(),
            "after {kind}"
        );
        want.extend(more);
        assert_eq!(read_all(&bs, topic), want, "new records after {kind}");
    }
}

// ---------------------------------------------------------------------------------------------
// Restarts keep topics, configs and data
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_keeps_topics_configs_and_data() {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    create_topic(
        &bs,
        "kept",
        3,
        &[("retention.ms", "-1"), ("segment.bytes", "4096")],
    )
    .await;
    // The longest legal name (249 characters) survives too.
    let long = format!("long.{}", "n".repeat(244));
    create_topic(&bs, &long, 1, &[]).await;
    {
        let producer = producer(&bs, &[("acks", "all")]);
        produce_one_by_one(&producer, &long, &values("long", 0..3)).await;
    }
    let producer = producer(&bs, &[("acks", "all")]);
    for p in 0..3 {
        for chunk in 0..10 {
            let mut pending = Vec::new();
            for i in 0..10 {
                let v = format!("p{p}-{:04}-{}", chunk * 10 + i, "y".repeat(100));
                pending.push(
                    producer
                        .send_result(FutureRecord::to("kept").partition(p).key("k").payload(&v))
                        .map_err(|(e, _)| e)
                        .unwrap(),
                );
            }
            for f in pending {
                f.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        }
    }
    drop(producer);
    let segments_before = server.segments("kept", 0).len();
    assert!(
        segments_before > 1,
        "segment.bytes=4096 should roll segments"
    );

    blocking(|| {
        server.sigterm();
        server.restart();
    });
    assert!(
        !server.data_dir.join("clean-shutdown").exists(),
        "the marker is removed at start-up"
    );
    let consumer = base_consumer(&bs, &[]);
    let md = consumer.fetch_metadata(Some("kept"), T).unwrap();
    assert_eq!(md.topics()[0].partitions().len(), 3);
    assert_eq!(server.segments("kept", 0).len(), segments_before);
    assert_eq!(read_all(&bs, &long), values("long", 0..3));
    let admin = admin(&bs);
    let res = admin
        .describe_configs([&ResourceSpecifier::Topic("kept")], &admin_opts())
        .await
        .unwrap();
    let res = res.into_iter().next().unwrap().unwrap();
    assert_eq!(
        res.get("retention.ms").and_then(|e| e.value.as_deref()),
        Some("-1")
    );
    assert_eq!(
        res.get("segment.bytes").and_then(|e| e.value.as_deref()),
        Some("4096")
    );
    for p in 0..3 {
        assert_eq!(consumer.fetch_watermarks("kept", p, T).unwrap(), (0, 100));
    }
    assign_from_beginning(&consumer, "kept", &[0, 1, 2]);
    let msgs = consume_exactly(&consumer, 300, T);
    let mut next = [0i64; 3];
    for m in &msgs {
        let p = m.partition() as usize;
        assert_eq!(m.offset(), next[p]);
        assert_eq!(
            payload_str(m),
            format!("p{p}-{:04}-{}", next[p], "y".repeat(100))
        );
        next[p] += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_many_segments_recovers_everything_acknowledged() {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    // Old timestamps: keep them from the default 7-day retention.
    create_topic(
        &bs,
        "many",
        1,
        &[("segment.bytes", "2048"), ("retention.ms", "-1")],
    )
    .await;
    let all = values("m", 0..300);
    let base_ts = 1_600_000_000_000i64;
    {
        let producer = producer(&bs, &[("acks", "all"), ("linger.ms", "0")]);
        for (c, chunk) in all.chunks(3).enumerate() {
            let mut pending = Vec::new();
            for (i, v) in chunk.iter().enumerate() {
                let ts = base_ts + (c * 3 + i) as i64 * 10;
                pending.push(
                    producer
                        .send_result(
                            FutureRecord::to("many")
                                .partition(0)
                                .key("k")
                                .payload(v)
                                .timestamp(ts),
                        )
                        .map_err(|(e, _)| e)
                        .unwrap(),
                );
            }
            for f in pending {
                f.await.unwrap().map_err(|(e, _)| e).unwrap();
            }
        }
    }
    let segments = server.segments("many", 0).len();
    assert!(segments > 3, "{segments} segments");
    blocking(|| {
        server.sigkill();
        server.restart();
    });
    assert_eq!(read_all(&bs, "many"), all);
    // Twice in a row, with no writes in between.
    blocking(|| {
        server.sigkill();
        server.restart();
    });
    assert_eq!(read_all(&bs, "many"), all);
    assert_eq!(server.segments("many", 0).len(), segments);
    // The time index is rebuilt too: lookups by timestamp land on the right records.
    let consumer = base_consumer(&bs, &[]);
    for (ts, want) in [
        (0, 0),
        (base_ts, 0),
        (base_ts + 5, 1),
        (base_ts + 1230, 123),
        (base_ts + 2990, 299),
    ] {
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset("many", 0, rdkafka::Offset::Offset(ts))
            .unwrap();
        let res = consumer.offsets_for_times(tpl, T).unwrap();
        assert_eq!(
            res.find_partition("many", 0).unwrap().offset(),
            rdkafka::Offset::Offset(want),
            "timestamp {ts}"
        );
    }
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("many", 0, rdkafka::Offset::Offset(base_ts + 2991))
        .unwrap();
    let res = consumer.offsets_for_times(tpl, T).unwrap();
    assert_eq!(
        res.find_partition("many", 0).unwrap().offset(),
        rdkafka::Offset::End
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_busy_clients_is_clean() {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    create_topic(&bs, CRASH_TOPIC, 2, &[]).await;
    // A consumer long-polling at the end of the log, and a producer writing, while SIGTERM comes.
    let consumer: rdkafka::consumer::StreamConsumer =
        consumer_config(&bs, &[("fetch.wait.max.ms", "5000")])
            .create()
            .unwrap();
    assign_from_beginning(&consumer, CRASH_TOPIC, &[1]);
    let poll = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await;
        consumer
    });
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(produce_until_stopped(bs.clone(), 0, 4, Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    blocking(|| server.sigterm());
    stop.store(true, Ordering::Release);
    let phase = task.await.unwrap();
    let _consumer = poll.await.unwrap();
    assert!(!phase.acked.is_empty());
    blocking(|| server.restart());
    verify_crash_topic(&bs, &phase.acked);
}

// ---------------------------------------------------------------------------------------------
// SIGKILL during topic creation, deletion and partition changes
// ---------------------------------------------------------------------------------------------

/// Creates, grows and deletes topics in a loop, counting rounds in `ops`, until aborted.
async fn admin_churn(bs: String, first: usize, ops: Arc<std::sync::atomic::AtomicUsize>) {
    let admin = admin(&bs);
    let opts = admin_opts();
    for i in first.. {
        let name = format!("churn-{i}");
        let t = NewTopic::new(&name, (i % 3) as i32 + 1, TopicReplication::Fixed(1))
            .set("retention.ms", "-1");
        let _ = admin.create_topics([&t], &opts).await;
        let _ = admin
            .create_partitions([&NewPartitions::new(&name, 4)], &opts)
            .await;
        if i % 2 == 1 {
            let _ = admin
                .delete_topics(&[&format!("churn-{}", i - 1)], &opts)
                .await;
        }
        ops.fetch_add(1, Ordering::AcqRel);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_topic_admin_leaves_consistent_metadata() {
    let seed: u64 = rand::rng().random();
    eprintln!("admin crash test seed: {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    let mut next = 0;
    for cycle in 0..4 {
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = tokio::spawn(admin_churn(bs.clone(), next, Arc::clone(&counter)));
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..500u64))).await;
        blocking(|| server.sigkill());
        // Whatever admin request was in flight is lost with the server; stop the loop there.
        task.abort();
        let _ = task.await;
        let ops = counter.load(Ordering::Acquire);
        next += ops + 2;
        blocking(|| server.restart());

        // Every topic the server lists is whole: each partition answers, and its directory
        // exists; no partition directory is left over from a topic or partition that is not.
        let consumer = base_consumer(&bs, &[]);
        let md = consumer.fetch_metadata(None, T).expect("metadata");
        let mut expected_dirs = HashSet::new();
        for t in md.topics() {
            assert!(
                t.error().is_none(),
                "cycle {cycle}: topic {} has error {:?}",
                t.name(),
                t.error()
            );
            for p in t.partitions() {
                let (lo, hi) = consumer
                    .fetch_watermarks(t.name(), p.id(), T)
                    .unwrap_or_else(|e| panic!("cycle {cycle}: {}-{}: {e}", t.name(), p.id()));
                assert_eq!((lo, hi), (0, 0));
                expected_dirs.insert(format!("{}-{}", t.name(), p.id()));
            }
            let meta = server
                .data_dir
                .join(format!("meta/topics/{}.json", t.name()));
            assert!(meta.exists(), "cycle {cycle}: no {meta:?}");
        }
        let dirs: HashSet<String> = std::fs::read_dir(&server.data_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n != "meta")
            .collect();
        assert_eq!(
            dirs, expected_dirs,
            "cycle {cycle}: partition directories vs metadata"
        );
        eprintln!(
            "cycle {cycle}: {ops} admin rounds, {} topics after restart",
            md.topics().len()
        );
    }
    // The log still works: a new topic, written and read.
    create_topic(&bs, "after-churn", 2, &[]).await;
    let producer = producer(&bs, &[("acks", "all")]);
    produce_one_by_one(&producer, "after-churn", &values("x", 0..3)).await;
    assert_eq!(read_all(&bs, "after-churn"), values("x", 0..3));
}

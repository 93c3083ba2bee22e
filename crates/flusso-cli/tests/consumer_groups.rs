//! Consumer groups and the idempotent producer with rdkafka (librdkafka) against the real `flusso`
//! binary: group members splitting a topic, committed offsets across clean and unclean restarts,
//! and an idempotent producer riding through a SIGKILL of the server.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

const T: Duration = Duration::from_secs(30);
/// Generous bound for anything that waits on a group (joins, rebalances, consumption).
const DEADLINE: Duration = Duration::from_secs(60);
const PARTITIONS: i32 = 4;

/// Runs a blocking server operation (stop, restart) without stalling the runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

/// A group member's settings: subscribe-based, small session timeout, no auto-commit, but the
/// offsets of received messages are stored (for `commit_consumer_state`).
fn group_consumer(bs: &str, group: &str) -> StreamConsumer {
    consumer_config(
        bs,
        &[
            ("group.id", group),
            ("enable.auto.offset.store", "true"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
        ],
    )
    .create()
    .expect("create group consumer")
}

/// Produces `per_partition` records to each partition (payload `p{partition}-{i}`, `i` from
/// `start`); returns the acknowledged (partition, offset) pairs.
async fn produce(
    bs: &str,
    topic: &str,
    per_partition: usize,
    start: usize,
) -> BTreeSet<(i32, i64)> {
    let producer = producer(bs, &[("acks", "all")]);
    let mut pending = Vec::new();
    for p in 0..PARTITIONS {
        for i in start..start + per_partition {
            let payload = format!("p{p}-{i}");
            let rec = FutureRecord::<(), _>::to(topic)
                .partition(p)
                .payload(&payload);
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| e)
                    .expect("enqueue"),
            );
        }
    }
    let mut acked = BTreeSet::new();
    for d in pending {
        let delivery = d
            .await
            .expect("delivery future cancelled")
            .map_err(|(e, _)| e)
            .expect("delivered");
        assert!(acked.insert((delivery.partition, delivery.offset)));
    }
    acked
}

/// One member consuming in a task: records every (partition, offset) it receives.
struct Member {
    consumer: Arc<StreamConsumer>,
    received: Arc<Mutex<Vec<(i32, i64)>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Member {
    fn start(bs: &str, group: &str, topic: &str) -> Member {
        let consumer = Arc::new(group_consumer(bs, group));
        consumer.subscribe(&[topic]).expect("subscribe");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (consumer, received, stop) = (consumer.clone(), received.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Acquire) {
                    match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
                        Err(_) => {}
                        Ok(Ok(m)) => received.lock().unwrap().push((m.partition(), m.offset())),
                        Ok(Err(e)) => panic!("consumer error: {e}"),
                    }
                }
            })
        };
        Member {
            consumer,
            received,
            stop,
            task,
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.consumer
            .assignment()
            .expect("assignment")
            .elements()
            .iter()
            .map(|e| e.partition())
            .collect()
    }

    fn received(&self) -> Vec<(i32, i64)> {
        self.received.lock().unwrap().clone()
    }

    /// Stops the receiving task (the consumer stays in the group until dropped).
    async fn stop(self) -> Arc<StreamConsumer> {
        self.stop.store(true, Ordering::Release);
        self.task.await.expect("member task panicked");
        self.consumer
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cond(), "timed out after {DEADLINE:?} waiting for {what}");
}

/// Reads with a fresh member of `group` until `want.len()` records arrived, then one more second;
/// asserts that exactly `want` arrived, once each. The member leaves the group afterwards.
async fn read_group_exactly(bs: &str, group: &str, topic: &str, want: &BTreeSet<(i32, i64)>) {
    let m = Member::start(bs, group, topic);
    wait_until(&format!("{} records for {group}", want.len()), || {
        m.received().len() >= want.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = m.received();
    drop(m.stop().await);
    let set: BTreeSet<(i32, i64)> = got.iter().copied().collect();
    assert_eq!(set.len(), got.len(), "{group}: a record arrived twice");
    let missing: Vec<_> = want.difference(&set).take(10).collect();
    let extra: Vec<_> = set.difference(want).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{group}: missing {missing:?}, unexpected {extra:?}"
    );
}

/// The group's committed offsets as seen by a consumer that is not a member.
fn committed(bs: &str, group: &str, topic: &str) -> BTreeMap<i32, Offset> {
    let c: BaseConsumer = consumer_config(bs, &[("group.id", group)])
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(topic, p);
    }
    c.committed_offsets(tpl, T)
        .expect("committed_offsets")
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect()
}

fn offsets(v: &[(i32, i64)]) -> BTreeMap<i32, Offset> {
    v.iter().map(|&(p, o)| (p, Offset::Offset(o))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stream_consumers_split_four_partitions() {
    let server = TestServer::start();
    let bs = server.bootstrap();
    let topic = "split";
    let group = "split-group";
    create_topic(&bs, topic, PARTITIONS, &[]).await;

    let members = [
        Member::start(&bs, group, topic),
        Member::start(&bs, group, topic),
    ];
    wait_until("two members with two partitions each", || {
        let (a, b) = (members[0].assignment(), members[1].assignment());
        a.len() == 2 && b.len() == 2 && a.is_disjoint(&b)
    })
    .await;
    let assigned = [members[0].assignment(), members[1].assignment()];

    let expected = produce(&bs, topic, 250, 0).await;
    wait_until("all 1000 records", || {
        members.iter().map(|m| m.received().len()).sum::<usize>() >= expected.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut counts: HashMap<(i32, i64), usize> = HashMap::new();
    for (m, parts) in members.iter().zip(&assigned) {
        let got = m.received();
        let own: BTreeSet<i32> = got.iter().map(|&(p, _)| p).collect();
        assert_eq!(&own, parts, "a member received a partition it does not own");
        for k in got {
            *counts.entry(k).or_default() += 1;
        }
    }
    let set: BTreeSet<(i32, i64)> = counts.keys().copied().collect();
    assert_eq!(set, expected, "missing or unknown records");
    assert!(counts.values().all(|&n| n == 1), "a record arrived twice");

    // Each member commits what it consumed. They all stay in the group until every one has
    // committed: a member leaving would hand its partitions to the other, which would then
    // commit its own (not yet fetched) positions of them.
    let mut stopped = Vec::new();
    for m in members {
        let consumer = m.stop().await;
        consumer
            .commit_consumer_state(CommitMode::Sync)
            .expect("commit_consumer_state");
        stopped.push(consumer);
    }
    assert_eq!(
        committed(&bs, group, topic),
        offsets(&[(0, 250), (1, 250), (2, 250), (3, 250)])
    );
    drop(stopped);

    // A later member of the group gets only what is produced from now on.
    let more = produce(&bs, topic, 5, 250).await;
    read_group_exactly(&bs, group, topic, &more).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_sigterm_and_sigkill() {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    let topic = "resume";
    create_topic(&bs, topic, PARTITIONS, &[]).await;
    let first = produce(&bs, topic, 100, 0).await;

    // Group "all" commits everything it consumed; group "part" commits chosen offsets.
    let part_at: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 10 + 20 * p as i64)).collect();
    for group in ["all", "part"] {
        let m = Member::start(&bs, group, topic);
        wait_until("the first 400 records", || {
            m.received().len() >= first.len()
        })
        .await;
        let got: BTreeSet<_> = m.received().into_iter().collect();
        assert_eq!(got, first, "{group}: first read");
        let consumer = m.stop().await;
        if group == "all" {
            consumer
                .commit_consumer_state(CommitMode::Sync)
                .expect("commit_consumer_state");
        } else {
            let mut tpl = TopicPartitionList::new();
            for (&p, &o) in &part_at {
                tpl.add_partition_offset(topic, p, Offset::Offset(o))
                    .expect("tpl");
            }
            consumer.commit(&tpl, CommitMode::Sync).expect("commit");
        }
        drop(consumer); // leaves the group
    }
    let all_at = |n: i64| offsets(&(0..PARTITIONS).map(|p| (p, n)).collect::<Vec<_>>());
    let part_offsets = offsets(&part_at.iter().map(|(&p, &o)| (p, o)).collect::<Vec<_>>());
    assert_eq!(committed(&bs, "all", topic), all_at(100));
    assert_eq!(committed(&bs, "part", topic), part_offsets);

    // Clean restart.
    blocking(|| {
        server.sigterm();
        server.restart();
    });
    assert_eq!(committed(&bs, "all", topic), all_at(100), "after SIGTERM");
    assert_eq!(committed(&bs, "part", topic), part_offsets, "after SIGTERM");
    let second = produce(&bs, topic, 10, 100).await; // offsets 100..109
    read_group_exactly(&bs, "all", topic, &second).await;
    let want_part: BTreeSet<_> = first
        .iter()
        .filter(|(p, o)| *o >= part_at[p])
        .chain(second.iter())
        .copied()
        .collect();
    // This read commits nothing: "part" stays where it was.
    read_group_exactly(&bs, "part", topic, &want_part).await;

    // "all" moves to 110 with a commit of its consumer state, then the server crashes.
    {
        let m = Member::start(&bs, "all", topic);
        wait_until("re-read after the commit", || {
            m.received().len() >= second.len()
        })
        .await;
        let consumer = m.stop().await;
        consumer
            .commit_consumer_state(CommitMode::Sync)
            .expect("commit_consumer_state");
    }
    assert_eq!(committed(&bs, "all", topic), all_at(110));
    blocking(|| {
        server.sigkill();
        server.restart();
    });
    assert_eq!(committed(&bs, "all", topic), all_at(110), "after SIGKILL");
    assert_eq!(committed(&bs, "part", topic), part_offsets, "after SIGKILL");
    let third = produce(&bs, topic, 10, 110).await; // offsets 110..119
    read_group_exactly(&bs, "all", topic, &third).await;
    let want_part: BTreeSet<_> = want_part.union(&third).copied().collect();
    read_group_exactly(&bs, "part", topic, &want_part).await;
}

/// What the producing task saw: the acknowledged sequence numbers, in acknowledgement order, and
/// the failed deliveries.
struct Produced {
    acked: Vec<u64>,
    failed: Vec<(u64, String)>,
}

/// Produces `seq-NNNNNNNNNN` for `0..total` to partition 0 with an idempotent producer, at most
/// `window` records in flight; bumps `acked_count` on every acknowledgement.
async fn produce_idempotent(
    bs: String,
    topic: &'static str,
    total: u64,
    window: usize,
    acked_count: Arc<AtomicUsize>,
) -> Produced {
    let producer: FutureProducer = {
        let mut c = base_config(&bs);
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.timeout.ms", "120000")
            .set("request.timeout.ms", "5000");
        c.create().expect("idempotent producer")
    };
    let mut in_flight = VecDeque::new();
    let mut out = Produced {
        acked: Vec::new(),
        failed: Vec::new(),
    };
    let mut next = 0u64;
    while next < total || !in_flight.is_empty() {
        while next < total && in_flight.len() < window {
            let payload = format!("seq-{next:010}");
            let f = producer
                .send_result(
                    FutureRecord::<(), _>::to(topic)
                        .partition(0)
                        .payload(&payload),
                )
                .map_err(|(e, _)| e)
                .expect("enqueue");
            in_flight.push_back((next, f));
            next += 1;
        }
        let (seq, f) = in_flight.pop_front().expect("in flight");
        match f.await.expect("delivery future cancelled") {
            Ok(_) => {
                out.acked.push(seq);
                acked_count.fetch_add(1, Ordering::Release);
            }
            Err((e, _)) => out.failed.push((seq, e.to_string())),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_rides_through_sigkill() {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    let topic = "idem";
    create_topic(&bs, topic, 1, &[]).await;
    // Enough that the producer is still sending when the server is killed, on a fast machine
    // too (10,000 were all acknowledged before the kill on one).
    let total = 50_000u64;
    let acked_count = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(produce_idempotent(
        bs.clone(),
        topic,
        total,
        500,
        acked_count.clone(),
    ));
    wait_until("3000 acknowledgements before the crash", || {
        acked_count.load(Ordering::Acquire) >= 3000
    })
    .await;
    let at_crash = blocking(|| {
        server.sigkill();
        let at_crash = acked_count.load(Ordering::Acquire);
        std::thread::sleep(Duration::from_millis(300));
        server.restart();
        at_crash
    });
    let produced = tokio::time::timeout(Duration::from_secs(180), task)
        .await
        .expect("producer finished within 180 s")
        .expect("producer task");
    eprintln!(
        "{} acknowledged ({} when the server was killed), {} failed",
        produced.acked.len(),
        at_crash,
        produced.failed.len()
    );
    assert!(
        produced.acked.windows(2).all(|w| w[0] < w[1]),
        "acknowledgements out of order"
    );
    assert!(
        produced.failed.is_empty(),
        "idempotent deliveries failed: {:?}",
        &produced.failed[..produced.failed.len().min(5)]
    );
    assert!(
        at_crash < total as usize,
        "the crash came after the last record"
    );

    // Read everything back: exactly 0..total, each once, in order, at offsets 0..total.
    let consumer = base_consumer(&bs, &[]);
    let (lo, hi) = consumer.fetch_watermarks(topic, 0, T).expect("watermarks");
    assert_eq!(lo, 0);
    assign_from_beginning(&consumer, topic, &[0]);
    let msgs = consume_exactly(&consumer, hi as usize, DEADLINE);
    let present: Vec<u64> = msgs
        .iter()
        .map(|m| {
            payload_str(m)
                .strip_prefix("seq-")
                .and_then(|s| s.parse().ok())
                .expect("payload")
        })
        .collect();
    let dups = present.windows(2).filter(|w| w[0] >= w[1]).count();
    assert_eq!(
        dups,
        0,
        "records duplicated or out of order ({} present)",
        present.len()
    );
    let acked: BTreeSet<u64> = produced.acked.iter().copied().collect();
    let set: BTreeSet<u64> = present.iter().copied().collect();
    let lost: Vec<_> = acked.difference(&set).take(10).collect();
    assert!(lost.is_empty(), "acknowledged records lost: {lost:?}");
    assert_eq!(present, (0..total).collect::<Vec<_>>());
    assert_eq!(
        msgs.iter().map(|m| m.offset()).collect::<Vec<_>>(),
        (0..total as i64).collect::<Vec<_>>()
    );
    server.assert_healthy();
}

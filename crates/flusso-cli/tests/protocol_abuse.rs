//! Raw-TCP abuse of the Kafka listener: garbage, absurd or negative frame lengths, truncated
//! frames, unknown APIs and versions, and handcrafted requests. After every abuse the server must
//! still be up, and a well-behaved rdkafka producer and consumer, running in parallel the whole
//! time, must keep working.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;

const T: Duration = Duration::from_secs(30);
const STEADY_TOPIC: &str = "steady";
/// How long the server gets to close a connection it should close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Wire helpers
// ---------------------------------------------------------------------------------------------

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .expect("connect to the Kafka port");
    s.set_read_timeout(Some(CLOSE_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A request header v1 (non-flexible): api key, version, correlation id, client id.
fn header_v1(key: i16, version: i16, correlation_id: i32, client_id: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&key.to_be_bytes());
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&correlation_id.to_be_bytes());
    b.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    b.extend_from_slice(client_id.as_bytes());
    b
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut b = (body.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(body);
    b
}

/// Reads one response frame (without its length prefix).
fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    assert!((0..64 << 20).contains(&len), "response frame length {len}");
    let mut buf = vec![0u8; len as usize];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

/// Asserts that the server closes the connection (EOF or reset) within [`CLOSE_TIMEOUT`],
/// discarding anything it sends first.
fn expect_closed(s: &mut TcpStream, what: &str) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                return
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{what}: the server did not close the connection within {CLOSE_TIMEOUT:?}")
            }
            Err(e) => panic!("{what}: unexpected read error {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the server kept sending instead of closing"
        );
    }
}

/// Writes, ignoring errors (the server may already have closed the connection).
fn write_lossy(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
    let _ = s.flush();
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(
            self.pos + n <= self.buf.len(),
            "response too short: need {n} at {} of {}",
            self.pos,
            self.buf.len()
        );
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().unwrap())
    }
    fn uvarint(&mut self) -> u64 {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.take(1)[0];
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return v;
            }
        }
        panic!("varint too long");
    }
    fn string(&mut self) -> String {
        let n = self.i16();
        if n < 0 {
            return String::new();
        }
        String::from_utf8(self.take(n as usize).to_vec()).expect("utf-8")
    }
    fn skip_tagged_fields(&mut self) {
        let n = self.uvarint();
        for _ in 0..n {
            let _tag = self.uvarint();
            let len = self.uvarint() as usize;
            self.take(len);
        }
    }
    fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

/// Parses an ApiVersions v0 response body (after the correlation id): error code and the
/// (key, min, max) list.
fn parse_api_versions_v0(r: &mut Reader<'_>) -> (i16, Vec<(i16, i16, i16)>) {
    let error = r.i16();
    let n = r.i32();
    assert!((0..1000).contains(&n), "api count {n}");
    let apis = (0..n).map(|_| (r.i16(), r.i16(), r.i16())).collect();
    (error, apis)
}

fn api_versions_v0_request(correlation_id: i32) -> Vec<u8> {
    framed(&header_v1(18, 0, correlation_id, "abuse-test"))
}

/// Sends a valid ApiVersions v0 request on `s` and checks the answer.
fn assert_api_versions_v0_works(s: &mut TcpStream, correlation_id: i32) {
    s.write_all(&api_versions_v0_request(correlation_id))
        .unwrap();
    let resp = read_frame(s).expect("ApiVersions v0 response");
    let mut r = Reader::new(&resp);
    assert_eq!(r.i32(), correlation_id, "correlation id");
    let (error, apis) = parse_api_versions_v0(&mut r);
    assert_eq!(error, 0, "ApiVersions v0 error code");
    assert!(r.done(), "trailing bytes in ApiVersions v0 response");
    assert!(
        apis.contains(&(18, 0, 4)),
        "ApiVersions 0-4 advertised: {apis:?}"
    );
    assert!(
        apis.contains(&(0, 0, 11)),
        "Produce 0-11 advertised: {apis:?}"
    );
    assert!(
        apis.contains(&(1, 4, 12)),
        "Fetch 4-12 advertised: {apis:?}"
    );
}

/// CRC-32C (Castagnoli), as used by Kafka v2 record batches.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn varint(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// A v2 record batch holding one record with a null key and `value`; the CRC is right unless
/// `bad_crc`, and the record count is `count` (1 is right).
fn record_batch(value: &[u8], timestamp: i64, bad_crc: bool, count: i32) -> Vec<u8> {
    let mut rec = Vec::new();
    rec.push(0u8); // attributes
    varint(0, &mut rec); // timestamp delta
    varint(0, &mut rec); // offset delta
    varint(-1, &mut rec); // null key
    varint(value.len() as i64, &mut rec);
    rec.extend_from_slice(value);
    varint(0, &mut rec); // no headers
    let mut records = Vec::new();
    varint(rec.len() as i64, &mut records);
    records.extend_from_slice(&rec);

    let mut after_crc = Vec::new();
    after_crc.extend_from_slice(&0i16.to_be_bytes()); // attributes
    after_crc.extend_from_slice(&(count - 1).to_be_bytes()); // last offset delta
    after_crc.extend_from_slice(&timestamp.to_be_bytes()); // first timestamp
    after_crc.extend_from_slice(&timestamp.to_be_bytes()); // max timestamp
    after_crc.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    after_crc.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    after_crc.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    after_crc.extend_from_slice(&count.to_be_bytes()); // records count
    after_crc.extend_from_slice(&records);
    let mut crc = crc32c(&after_crc);
    if bad_crc {
        crc ^= 0xDEAD_BEEF;
    }

    let mut batch = Vec::new();
    batch.extend_from_slice(&0i64.to_be_bytes()); // base offset
    let batch_length = 4 + 1 + 4 + after_crc.len();
    batch.extend_from_slice(&(batch_length as i32).to_be_bytes());
    batch.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    batch.push(2); // magic
    batch.extend_from_slice(&crc.to_be_bytes());
    batch.extend_from_slice(&after_crc);
    batch
}

/// A valid one-record batch of exactly `size` bytes.
fn batch_of_size(size: usize) -> Vec<u8> {
    let mut value_len = size - 72;
    loop {
        let b = record_batch(&vec![b'v'; value_len], 1_700_000_000_000, false, 1);
        match b.len().cmp(&size) {
            std::cmp::Ordering::Equal => return b,
            std::cmp::Ordering::Less => value_len += 1,
            std::cmp::Ordering::Greater => value_len -= 1,
        }
    }
}

/// A Produce v3 request (acks=1) for one partition.
fn produce_v3_request(correlation_id: i32, topic: &str, partition: i32, records: &[u8]) -> Vec<u8> {
    produce_v3_request_acks(correlation_id, topic, partition, records, 1)
}

/// A Produce v3 request for one partition.
fn produce_v3_request_acks(
    correlation_id: i32,
    topic: &str,
    partition: i32,
    records: &[u8],
    acks: i16,
) -> Vec<u8> {
    let mut b = header_v1(0, 3, correlation_id, "abuse-test");
    b.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
    b.extend_from_slice(&acks.to_be_bytes()); // acks
    b.extend_from_slice(&10_000i32.to_be_bytes()); // timeout
    b.extend_from_slice(&1i32.to_be_bytes()); // one topic
    b.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&1i32.to_be_bytes()); // one partition
    b.extend_from_slice(&partition.to_be_bytes());
    b.extend_from_slice(&(records.len() as i32).to_be_bytes());
    b.extend_from_slice(records);
    framed(&b)
}

/// Parses a Produce v3 response with one topic and one partition: (error code, base offset).
fn parse_produce_v3(resp: &[u8], correlation_id: i32, topic: &str, partition: i32) -> (i16, i64) {
    let mut r = Reader::new(resp);
    assert_eq!(r.i32(), correlation_id);
    assert_eq!(r.i32(), 1, "topics in response");
    assert_eq!(r.string(), topic);
    assert_eq!(r.i32(), 1, "partitions in response");
    assert_eq!(r.i32(), partition);
    let error = r.i16();
    let base_offset = r.i64();
    let _log_append_time = r.i64();
    let _throttle = r.i32();
    assert!(r.done(), "trailing bytes in Produce v3 response");
    (error, base_offset)
}

// ---------------------------------------------------------------------------------------------
// The well-behaved client running alongside
// ---------------------------------------------------------------------------------------------

/// An rdkafka producer and a consumer working on [`STEADY_TOPIC`] for the whole test.
struct Steady {
    stop: Arc<AtomicBool>,
    produced: Arc<AtomicU64>,
    consumed: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    producer: tokio::task::JoinHandle<u64>,
    consumer: tokio::task::JoinHandle<()>,
}

impl Steady {
    async fn start(bs: &str) -> Steady {
        create_topic(bs, STEADY_TOPIC, 1, &[]).await;
        let stop = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(AtomicU64::new(0));
        let consumed = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));

        let producer = {
            let (bs, stop, produced, errors) = (
                bs.to_string(),
                stop.clone(),
                produced.clone(),
                errors.clone(),
            );
            tokio::spawn(async move {
                let producer = producer(&bs, &[("acks", "all")]);
                let mut seq = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let payload = format!("steady-{seq:08}");
                    match producer
                        .send(
                            FutureRecord::to(STEADY_TOPIC)
                                .partition(0)
                                .key("k")
                                .payload(&payload),
                            T,
                        )
                        .await
                    {
                        Ok(d) if d.offset == seq as i64 => {
                            seq += 1;
                            produced.store(seq, Ordering::Release);
                        }
                        Ok(d) => {
                            errors
                                .lock()
                                .unwrap()
                                .push(format!("record {seq} got offset {}", d.offset));
                            break;
                        }
                        Err((e, _)) => {
                            errors.lock().unwrap().push(format!("produce {seq}: {e}"));
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seq
            })
        };
        let consumer = {
            let (bs, stop, produced, consumed, errors) = (
                bs.to_string(),
                stop.clone(),
                produced.clone(),
                consumed.clone(),
                errors.clone(),
            );
            tokio::spawn(async move {
                let consumer: StreamConsumer =
                    consumer_config(&bs, &[]).create().expect("consumer");
                assign_from_beginning(&consumer, STEADY_TOPIC, &[0]);
                let mut next = 0u64;
                loop {
                    // Stop once told to and caught up with everything produced.
                    if stop.load(Ordering::Acquire) && next >= produced.load(Ordering::Acquire) {
                        return;
                    }
                    match tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await {
                        Err(_) => {}
                        Ok(Err(e)) => {
                            errors
                                .lock()
                                .unwrap()
                                .push(format!("consume at {next}: {e}"));
                            return;
                        }
                        Ok(Ok(m)) => {
                            let want = format!("steady-{next:08}");
                            if m.offset() != next as i64 || m.payload() != Some(want.as_bytes()) {
                                errors.lock().unwrap().push(format!(
                                    "expected {want} at offset {next}, got offset {} {:?}",
                                    m.offset(),
                                    m.payload().map(String::from_utf8_lossy)
                                ));
                                return;
                            }
                            next += 1;
                            consumed.store(next, Ordering::Release);
                        }
                    }
                }
            })
        };
        let steady = Steady {
            stop,
            produced,
            consumed,
            errors,
            producer,
            consumer,
        };
        steady.wait_for_progress("start-up").await;
        steady
    }

    fn check_errors(&self, when: &str) {
        let errors = self.errors.lock().unwrap();
        assert!(
            errors.is_empty(),
            "well-behaved client failed {when}: {errors:?}"
        );
    }

    /// Waits until both the producer and the consumer have moved on by a few records.
    async fn wait_for_progress(&self, when: &str) {
        let (p0, c0) = (
            self.produced.load(Ordering::Acquire),
            self.consumed.load(Ordering::Acquire),
        );
        let deadline = tokio::time::Instant::now() + T;
        loop {
            self.check_errors(when);
            let (p, c) = (
                self.produced.load(Ordering::Acquire),
                self.consumed.load(Ordering::Acquire),
            );
            if p >= p0 + 5 && c >= c0 + 5 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "well-behaved client made no progress {when}: produced {p0}->{p}, consumed {c0}->{c}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::Release);
        let Steady {
            producer,
            consumer,
            consumed,
            errors,
            ..
        } = self;
        let produced = producer.await.expect("producer task");
        let caught_up = tokio::time::timeout(T, consumer).await;
        let errors = errors.lock().unwrap().clone();
        assert!(errors.is_empty(), "well-behaved client failed: {errors:?}");
        caught_up
            .expect("consumer caught up")
            .expect("consumer task");
        assert_eq!(
            consumed.load(Ordering::Acquire),
            produced,
            "consumed everything produced"
        );
    }
}

/// Starts a server and the steady client, runs `abuse` (blocking code, on a blocking thread) with
/// the Kafka address, then checks that the server is healthy and the client kept working.
async fn with_abuse(name: &str, abuse: impl FnOnce(SocketAddr) + Send + 'static) {
    let mut server = TestServer::start();
    let bs = server.bootstrap();
    let steady = Steady::start(&bs).await;
    let addr = server.kafka_addr();
    if let Err(e) = tokio::task::spawn_blocking(move || abuse(addr)).await {
        std::panic::resume_unwind(e.into_panic());
    }
    server.assert_healthy();
    steady.wait_for_progress(&format!("after {name}")).await;
    // A fresh raw connection is served normally.
    tokio::task::spawn_blocking(move || assert_api_versions_v0_works(&mut connect(addr), 4242))
        .await
        .unwrap();
    // And a fresh rdkafka client too.
    let producer = producer(&bs, &[("acks", "all")]);
    let d = producer
        .send(
            FutureRecord::to("after-abuse")
                .partition(0)
                .key("k")
                .payload(name),
            T,
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce after abuse");
    assert_eq!(d.offset, 0);
    let consumer = base_consumer(&bs, &[]);
    assign_from_beginning(&consumer, "after-abuse", &[0]);
    let msgs = consume_exactly(&consumer, 1, T);
    assert_eq!(payload_str(&msgs[0]), name);
    steady.finish().await;
    server.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// The abuses
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes() {
    with_abuse("random bytes", |addr| {
        for seed in 0..30u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let len = rng.random_range(1..8192);
            let mut bytes = vec![0u8; len];
            rng.fill(&mut bytes[..]);
            let mut s = connect(addr);
            write_lossy(&mut s, &bytes);
            // Close our side: a frame still waiting for bytes then ends at EOF.
            let _ = s.shutdown(Shutdown::Write);
            expect_closed(&mut s, &format!("random bytes, seed {seed}"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_length_prefix() {
    with_abuse("oversized length prefix", |addr| {
        for len in [100 * 1024 * 1024 + 1i32, 0x7FFF_FFFF, 200 * 1024 * 1024] {
            let mut s = connect(addr);
            write_lossy(&mut s, &len.to_be_bytes());
            // The server must close at once, without waiting for (or allocating) the body.
            expect_closed(&mut s, &format!("length prefix {len}"));
        }
        // A length just under the limit, then nothing but EOF.
        let mut s = connect(addr);
        write_lossy(&mut s, &(99 * 1024 * 1024i32).to_be_bytes());
        write_lossy(&mut s, &[0u8; 1000]);
        let _ = s.shutdown(Shutdown::Write);
        expect_closed(&mut s, "99 MiB frame cut short");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_and_zero_length_prefix() {
    with_abuse("negative length", |addr| {
        for len in [-1i32, i32::MIN, -4096, 0] {
            let mut s = connect(addr);
            write_lossy(&mut s, &len.to_be_bytes());
            write_lossy(&mut s, &api_versions_v0_request(1));
            expect_closed(&mut s, &format!("length prefix {len}"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frames() {
    with_abuse("truncated frames", |addr| {
        let valid = api_versions_v0_request(7);
        // Every proper prefix of a valid request, then close.
        for cut in 1..valid.len() {
            let mut s = connect(addr);
            write_lossy(&mut s, &valid[..cut]);
            let _ = s.shutdown(Shutdown::Write);
            expect_closed(&mut s, &format!("request cut after {cut} bytes"));
        }
        // A frame declaring 100 bytes with 10 sent, then close.
        let mut s = connect(addr);
        write_lossy(&mut s, &100i32.to_be_bytes());
        write_lossy(&mut s, &[1u8; 10]);
        drop(s);
        // Frames too short for a request header.
        for body in [
            &[0u8][..],
            &[0, 18],
            &[0, 18, 0, 0],
            &[0, 18, 0, 0, 0, 0, 0],
        ] {
            let mut s = connect(addr);
            write_lossy(&mut s, &framed(body));
            expect_closed(&mut s, &format!("{}-byte frame", body.len()));
        }
        // A header whose client id runs past the end of the frame.
        let mut h = header_v1(18, 1, 9, "x");
        h.truncate(h.len() - 1);
        h[9] = 100; // client id length 100, 0 bytes present
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&h));
        expect_closed(&mut s, "client id past the frame end");
        // A Metadata v1 request whose topic array is cut short.
        let mut m = header_v1(3, 1, 10, "abuse");
        m.extend_from_slice(&5i32.to_be_bytes()); // five topics…
        m.extend_from_slice(&3i16.to_be_bytes()); // …the first name says 3 bytes…
        m.push(b'a'); // …and has 1
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&m));
        expect_closed(&mut s, "truncated Metadata body");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_key() {
    with_abuse("unknown api key", |addr| {
        for key in [9999i16, -1, 1000, i16::MAX] {
            let mut s = connect(addr);
            // A valid request first, to see the connection work, then the unknown key.
            assert_api_versions_v0_works(&mut s, 1);
            write_lossy(&mut s, &framed(&header_v1(key, 0, 2, "abuse")));
            expect_closed(&mut s, &format!("api key {key}"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_produce_version() {
    with_abuse("unsupported produce version", |addr| {
        // Produce v0-v2 (message format v0/v1) and versions from the future.
        for version in [0i16, 2, 12, 99, -1] {
            let mut s = connect(addr);
            let mut req = header_v1(0, version, 3, "abuse");
            req.extend_from_slice(&[0u8; 32]);
            write_lossy(&mut s, &framed(&req));
            expect_closed(&mut s, &format!("Produce v{version}"));
        }
        // Fetch below its minimum.
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&header_v1(1, 0, 3, "abuse")));
        expect_closed(&mut s, "Fetch v0");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handcrafted_api_versions_v0() {
    with_abuse("ApiVersions v0", |addr| {
        let mut s = connect(addr);
        for corr in [0, 1, 12345, -7, i32::MAX] {
            assert_api_versions_v0_works(&mut s, corr);
        }
        // Pipelined: three requests in one write, answered in order.
        let mut batch = Vec::new();
        for corr in [100, 101, 102] {
            batch.extend_from_slice(&api_versions_v0_request(corr));
        }
        s.write_all(&batch).unwrap();
        for corr in [100, 101, 102] {
            let resp = read_frame(&mut s).unwrap();
            assert_eq!(i32::from_be_bytes(resp[..4].try_into().unwrap()), corr);
        }
        // One byte at a time.
        let req = api_versions_v0_request(555);
        for b in &req {
            s.write_all(&[*b]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let resp = read_frame(&mut s).unwrap();
        assert_eq!(i32::from_be_bytes(resp[..4].try_into().unwrap()), 555);
        // A null client id (length -1) is valid too.
        let mut h = header_v1(18, 0, 77, "");
        h[8..10].copy_from_slice(&(-1i16).to_be_bytes());
        s.write_all(&framed(&h)).unwrap();
        let resp = read_frame(&mut s).unwrap();
        let mut r = Reader::new(&resp);
        assert_eq!(r.i32(), 77);
        assert_eq!(parse_api_versions_v0(&mut r).0, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handcrafted_api_versions_v3_flexible() {
    with_abuse("ApiVersions v3", |addr| {
        let mut s = connect(addr);
        // Header v2: v1 plus an empty tagged-field section.
        let mut req = header_v1(18, 3, 31337, "abuse-test");
        req.push(0);
        // Body: compact strings client_software_name and _version, no tagged fields.
        for text in ["flusso-it", "1.0"] {
            req.push(text.len() as u8 + 1);
            req.extend_from_slice(text.as_bytes());
        }
        req.push(0);
        s.write_all(&framed(&req)).unwrap();
        let resp = read_frame(&mut s).unwrap();
        let mut r = Reader::new(&resp);
        // ApiVersions responses always use header v0 (no tagged fields), even in v3.
        assert_eq!(r.i32(), 31337);
        assert_eq!(r.i16(), 0, "error code");
        let n = r.uvarint() as usize - 1;
        let mut apis = Vec::new();
        for _ in 0..n {
            apis.push((r.i16(), r.i16(), r.i16()));
            r.skip_tagged_fields();
        }
        let _throttle = r.i32();
        r.skip_tagged_fields();
        assert!(r.done(), "trailing bytes in ApiVersions v3 response");
        assert!(apis.contains(&(18, 0, 4)), "{apis:?}");
        assert!(apis.contains(&(3, 0, 12)), "Metadata 0-12: {apis:?}");
        // The connection stays usable.
        assert_api_versions_v0_works(&mut s, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_too_high_gets_unsupported_version() {
    with_abuse("ApiVersions v99", |addr| {
        for version in [5i16, 99, i16::MAX] {
            let mut s = connect(addr);
            // Body bytes of an unknown future version: anything may follow the header.
            let mut req = header_v1(18, version, 4711, "abuse-test");
            req.extend_from_slice(&[0, 0, 0xFF, 0x13]);
            s.write_all(&framed(&req)).unwrap();
            let resp = read_frame(&mut s).unwrap_or_else(|e| {
                panic!("ApiVersions v{version}: no response (connection closed?): {e}")
            });
            // The answer is in v0 form: error 35 (UNSUPPORTED_VERSION) and the supported ranges.
            let mut r = Reader::new(&resp);
            assert_eq!(r.i32(), 4711, "correlation id");
            let (error, apis) = parse_api_versions_v0(&mut r);
            assert_eq!(error, 35, "ApiVersions v{version} error code");
            assert!(apis.contains(&(18, 0, 4)), "{apis:?}");
            // The client can then retry with a version the server serves, on the same connection.
            assert_api_versions_v0_works(&mut s, 4712);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handcrafted_produce_requests() {
    with_abuse("handcrafted Produce", |addr| {
        let mut s = connect(addr);
        let topic = "raw-produce";
        // Metadata v1 for the topic (auto-creates it).
        let mut m = header_v1(3, 1, 1, "abuse");
        m.extend_from_slice(&1i32.to_be_bytes());
        m.extend_from_slice(&(topic.len() as i16).to_be_bytes());
        m.extend_from_slice(topic.as_bytes());
        s.write_all(&framed(&m)).unwrap();
        let resp = read_frame(&mut s).unwrap();
        assert_eq!(i32::from_be_bytes(resp[..4].try_into().unwrap()), 1);

        let send = |s: &mut TcpStream, corr: i32, partition: i32, records: &[u8]| -> (i16, i64) {
            s.write_all(&produce_v3_request(corr, topic, partition, records))
                .unwrap();
            let resp = read_frame(s).unwrap_or_else(|e| panic!("Produce {corr}: no response: {e}"));
            parse_produce_v3(&resp, corr, topic, partition)
        };
        // A valid handcrafted batch is appended at offset 0.
        assert_eq!(
            send(
                &mut s,
                10,
                0,
                &record_batch(b"hand-made", 1_700_000_000_000, false, 1)
            ),
            (0, 0)
        );
        // A wrong CRC: CORRUPT_MESSAGE (2), and the connection stays usable.
        assert_eq!(
            send(&mut s, 11, 0, &record_batch(b"bad crc", 1, true, 1)).0,
            2
        );
        // A record count that disagrees with the records: CORRUPT_MESSAGE.
        assert_eq!(
            send(&mut s, 12, 0, &record_batch(b"bad count", 1, false, 3)).0,
            2
        );
        // Garbage instead of a batch: CORRUPT_MESSAGE.
        assert_eq!(send(&mut s, 13, 0, &[0xAB; 100]).0, 2);
        // A batch cut short: CORRUPT_MESSAGE.
        let b = record_batch(b"cut", 1, false, 1);
        assert_eq!(send(&mut s, 14, 0, &b[..b.len() - 3]).0, 2);
        // Magic 1 (the old message format) is refused.
        let mut old = record_batch(b"magic 1", 1, false, 1);
        old[16] = 1;
        assert_ne!(send(&mut s, 15, 0, &old).0, 0);
        // An unknown partition: UNKNOWN_TOPIC_OR_PARTITION (3).
        assert_eq!(
            send(&mut s, 16, 7, &record_batch(b"nowhere", 1, false, 1)).0,
            3
        );
        // A second valid batch goes right after the first: nothing of the rejected ones was written.
        assert_eq!(
            send(
                &mut s,
                17,
                0,
                &record_batch(b"hand-made 2", 1_700_000_000_001, false, 1)
            ),
            (0, 1)
        );
        // max.message.bytes (default 1,048,588) bounds the whole batch, log overhead included:
        // a batch of exactly that size is accepted, one byte more is MESSAGE_TOO_LARGE (10).
        let exact = batch_of_size(1_048_588);
        assert_eq!(send(&mut s, 18, 0, &exact), (0, 2));
        let over = batch_of_size(1_048_589);
        assert_eq!(send(&mut s, 19, 0, &over).0, 10);
        assert_eq!(
            send(
                &mut s,
                20,
                0,
                &record_batch(b"hand-made 3", 1_700_000_000_002, false, 1)
            ),
            (0, 3)
        );
        // Two batches in one records field: offsets 4 and 5.
        let mut two = record_batch(b"first of two", 1_700_000_000_003, false, 1);
        two.extend_from_slice(&record_batch(b"second of two", 1_700_000_000_004, false, 1));
        assert_eq!(send(&mut s, 21, 0, &two), (0, 4));
        // …all or nothing: a good batch followed by a corrupt one writes neither.
        let mut mixed = record_batch(b"good", 1, false, 1);
        mixed.extend_from_slice(&record_batch(b"bad", 1, true, 1));
        assert_eq!(send(&mut s, 22, 0, &mixed).0, 2);
        // acks=2 is not a valid setting: INVALID_REQUIRED_ACKS (21).
        s.write_all(&produce_v3_request_acks(
            23,
            topic,
            0,
            &record_batch(b"acks 2", 1, false, 1),
            2,
        ))
        .unwrap();
        let resp = read_frame(&mut s).unwrap();
        assert_eq!(parse_produce_v3(&resp, 23, topic, 0).0, 21);
        assert_eq!(
            send(
                &mut s,
                24,
                0,
                &record_batch(b"last", 1_700_000_000_005, false, 1)
            ),
            (0, 6)
        );
        assert_api_versions_v0_works(&mut s, 25);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handcrafted_metadata_with_invalid_topic_name() {
    with_abuse("Metadata with an invalid topic", |addr| {
        let mut s = connect(addr);
        let mut m = header_v1(3, 0, 99, "abuse");
        m.extend_from_slice(&1i32.to_be_bytes());
        let name = "bad name!";
        m.extend_from_slice(&(name.len() as i16).to_be_bytes());
        m.extend_from_slice(name.as_bytes());
        s.write_all(&framed(&m)).unwrap();
        let resp = read_frame(&mut s).unwrap();
        let mut r = Reader::new(&resp);
        assert_eq!(r.i32(), 99);
        let brokers = r.i32();
        assert_eq!(brokers, 1);
        assert_eq!(r.i32(), 0, "node id");
        assert_eq!(r.string(), "127.0.0.1");
        assert_eq!(r.i32() as u16, addr.port());
        assert_eq!(r.i32(), 1, "topics");
        assert_eq!(r.i16(), 17, "INVALID_TOPIC_EXCEPTION");
        assert_eq!(r.string(), name);
        assert_api_versions_v0_works(&mut s, 100);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flood() {
    with_abuse("connection flood", |addr| {
        // Many connections at once: idle, half-sent, and closed abruptly.
        let mut held = Vec::new();
        for i in 0..200 {
            let mut s = connect(addr);
            match i % 3 {
                0 => {}
                1 => write_lossy(&mut s, &50i32.to_be_bytes()),
                _ => write_lossy(&mut s, &api_versions_v0_request(i)),
            }
            held.push(s);
        }
        // The server still answers while they are all open.
        assert_api_versions_v0_works(&mut connect(addr), 1);
        drop(held);
        assert_api_versions_v0_works(&mut connect(addr), 2);
    })
    .await;
}

// Array lengths are read from the request: a tiny frame claiming billions of elements must be
// refused (or fail to decode), not pre-allocated. kafka-protocol 0.18 decodes arrays with
// `Vec::with_capacity(count)`, so such a frame makes the allocation fail and the process abort.

const HUGE_ARRAY_BUG: &str =
    "server bug: kafka-protocol pre-allocates Vec::with_capacity(count) from the wire; \
     a 19-byte request aborts the server ('memory allocation of 154618822584 bytes failed')";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_array_count_metadata_v1() {
    with_abuse("huge array count, Metadata v1", |addr| {
        let mut m = header_v1(3, 1, 1, "abuse");
        m.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&m));
        expect_closed(&mut s, "Metadata v1 with 2^31-1 topics");
        assert_api_versions_v0_works(&mut try_connect(addr, HUGE_ARRAY_BUG), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_array_count_produce_v3() {
    with_abuse("huge array count, Produce v3", |addr| {
        let mut p = header_v1(0, 3, 2, "abuse");
        p.extend_from_slice(&(-1i16).to_be_bytes());
        p.extend_from_slice(&1i16.to_be_bytes());
        p.extend_from_slice(&1000i32.to_be_bytes());
        p.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&p));
        expect_closed(&mut s, "Produce v3 with 2^31-1 topics");
        assert_api_versions_v0_works(&mut try_connect(addr, HUGE_ARRAY_BUG), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_compact_array_count_metadata_v9() {
    with_abuse("huge compact array count, Metadata v9", |addr| {
        let mut m = header_v1(3, 9, 3, "abuse");
        m.push(0); // header tagged fields
        m.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]); // uvarint 2^32-1, i.e. 2^32-2 topics
        let mut s = connect(addr);
        write_lossy(&mut s, &framed(&m));
        expect_closed(&mut s, "Metadata v9 with 2^32-2 topics");
        assert_api_versions_v0_works(&mut try_connect(addr, HUGE_ARRAY_BUG), 2);
    })
    .await;
}

/// Like [`connect`], with a hint of the likely cause when the server is gone.
fn try_connect(addr: SocketAddr, hint: &str) -> TcpStream {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => {
            s.set_read_timeout(Some(CLOSE_TIMEOUT)).unwrap();
            s
        }
        Err(e) => panic!("the server is gone ({e}); {hint}"),
    }
}

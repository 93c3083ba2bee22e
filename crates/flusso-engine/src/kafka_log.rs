//! [`KafkaLog`]: the [`LogClient`] over the Kafka protocol (rdkafka), for an external Kafka
//! cluster or for Flusso's own embedded log reached over TCP.
//!
//! An optional namespace is prefixed to every topic name and group id on the wire and stripped on
//! the way back, so many isolated engines can share one cluster.
//!
//! - Produce: one `FutureProducer` (acks=all, no idempotence, one request in flight per broker so
//!   retries cannot reorder), every delivery awaited in order.
//! - Fetch: a small pool of `BaseConsumer`s, each assigned to one topic-partition and remembering
//!   where it is, so repeated reads of a partition only re-assign when the requested offset is not
//!   the one it stopped at. All blocking rdkafka calls run in `spawn_blocking`.
//! - Metadata and watermarks: a group-less `BaseConsumer`. Topics and groups: `AdminClient`.
//!   Commits: one consumer per group id (kept), `commit(.., Sync)` and `committed_offsets`.
//!
//! Limitation: librdkafka stamps a record produced with timestamp `0` with the current time (0
//! means "now" in its API), so such records do not keep timestamp 0.

use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders, Timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{EngineError, Result};
use crate::log_client::{InRecord, LogClient, OutRecord};

/// Timeout of one blocking broker request (metadata, watermarks, commits).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First poll of a fetch: how long to wait for records when none are buffered.
const FIRST_POLL: Duration = Duration::from_millis(50);
/// How long a fetch keeps polling when the broker says records exist past the offset.
const AVAILABLE_WAIT: Duration = Duration::from_secs(10);
/// How long topic creation and deletion wait to be visible in metadata.
const PROPAGATION_WAIT: Duration = Duration::from_secs(10);
/// Interval of `wait_for_data` and of the metadata waits.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Fetch consumers kept at most (least recently used ones are closed first).
const MAX_FETCHERS: usize = 64;
/// Group consumers kept at most.
const MAX_GROUP_CONSUMERS: usize = 64;

fn log_error(what: impl Display, e: impl Display) -> EngineError {
    EngineError::Log(format!("{what}: {e}"))
}

fn join_error(e: tokio::task::JoinError) -> EngineError {
    EngineError::Internal(format!("a Kafka client task failed: {e}"))
}

/// Runs a blocking rdkafka call off the async runtime.
async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

/// Drops clients (whose drop may block while librdkafka closes) on a separate thread.
fn drop_in_background<T: Send + 'static>(items: Vec<T>) {
    if items.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("flusso-kafka-close".into())
        .spawn(move || drop(items));
}

/// One consumer assigned to one topic-partition.
struct Fetcher {
    consumer: BaseConsumer,
    /// Wire topic name.
    topic: String,
    partition: i32,
    /// The offset the caller is expected to ask for next (after the last record handed out);
    /// `None` until assigned.
    pos: Option<i64>,
    /// Records already polled but not yet handed out (offsets `>= pos`).
    buffered: VecDeque<InRecord>,
    /// Offset after the last polled record: anything below it is stale.
    polled_next: i64,
    /// Recency stamp for eviction.
    last_used: u64,
}

/// Approximate size of a record, for `max_bytes`.
fn record_size(r: &InRecord) -> usize {
    let opt = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len);
    let headers: usize = r.headers.iter().map(|(k, v)| k.len() + opt(v)).sum();
    opt(&r.key) + opt(&r.value) + headers + 16
}

fn to_in_record(m: &BorrowedMessage<'_>) -> InRecord {
    let timestamp = match m.timestamp() {
        Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => t,
        Timestamp::NotAvailable => -1,
    };
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(Bytes::copy_from_slice)))
                .collect()
        })
        .unwrap_or_default();
    InRecord {
        offset: m.offset(),
        timestamp,
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice),
        headers,
    }
}

/// What one poll of a fetcher gave.
enum Polled {
    Nothing,
    Record,
    Full,
}

impl Fetcher {
    fn new(config: &ClientConfig, topic: &str, partition: i32) -> Result<Fetcher> {
        let consumer: BaseConsumer = config
            .create()
            .map_err(|e| log_error(format_args!("cannot create a consumer for '{topic}'"), e))?;
        Ok(Fetcher {
            consumer,
            topic: topic.to_string(),
            partition,
            pos: None,
            buffered: VecDeque::new(),
            polled_next: 0,
            last_used: 0,
        })
    }

    /// Reads records from `offset`: what is buffered or arrives within [`FIRST_POLL`]; when
    /// nothing came but the partition's end is past `offset`, keeps polling (up to
    /// [`AVAILABLE_WAIT`]) so that an empty answer means "nothing there right now".
    fn fetch(&mut self, name: &str, offset: i64, max_bytes: usize) -> Result<Vec<InRecord>> {
        let partition = self.partition;
        let what = move || format!("cannot read '{name}' partition {partition}");
        if self.pos != Some(offset) {
            self.buffered.clear();
            self.pos = None;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&self.topic, self.partition, Offset::Offset(offset))
                .map_err(|e| log_error(what(), e))?;
            self.consumer
                .assign(&tpl)
                .map_err(|e| log_error(what(), e))?;
            self.pos = Some(offset);
            self.polled_next = offset;
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(r) = self.buffered.front() {
            let size = record_size(r);
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            if let Some(r) = self.buffered.pop_front() {
                out.push(r);
            }
        }
        if out.is_empty() {
            let start = Instant::now();
            let mut checked = false;
            let mut last_error: Option<KafkaError> = None;
            loop {
                let timeout = if checked {
                    Duration::from_millis(100)
                } else {
                    FIRST_POLL.saturating_sub(start.elapsed())
                };
                match self.poll_one(timeout, &mut out, &mut bytes, max_bytes) {
                    Ok(Polled::Nothing) => {}
                    Ok(Polled::Record | Polled::Full) => break,
                    Err(e) => {
                        if let KafkaError::MessageConsumption(
                            RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset,
                        ) = e
                        {
                            self.pos = None;
                            return Err(log_error(
                                what(),
                                format_args!("offset {offset} is out of range ({e})"),
                            ));
                        }
                        last_error = Some(e);
                    }
                }
                if !checked && start.elapsed() >= FIRST_POLL {
                    // Nothing yet: is there anything to wait for?
                    checked = true;
                    let (low, high) = self
                        .consumer
                        .fetch_watermarks(&self.topic, self.partition, REQUEST_TIMEOUT)
                        .map_err(|e| log_error(what(), e))?;
                    if offset < low || offset > high {
                        self.pos = None;
                        return Err(log_error(
                            what(),
                            format_args!("offset {offset} is out of range [{low}, {high}]"),
                        ));
                    }
                    if offset == high {
                        return Ok(out);
                    }
                }
                if checked && start.elapsed() >= AVAILABLE_WAIT {
                    tracing::warn!(
                        topic = name,
                        partition = self.partition,
                        offset,
                        error = ?last_error,
                        "records exist past the offset but none arrived"
                    );
                    return Ok(out);
                }
            }
        }
        // Take what is immediately available.
        while bytes < max_bytes {
            match self.poll_one(Duration::ZERO, &mut out, &mut bytes, max_bytes) {
                Ok(Polled::Record) => {}
                Ok(Polled::Nothing | Polled::Full) | Err(_) => break,
            }
        }
        if let Some(last) = out.last() {
            self.pos = Some(last.offset + 1);
        }
        Ok(out)
    }

    /// Polls one event; a record goes to `out`, or to the buffer when `out` is full.
    fn poll_one(
        &mut self,
        timeout: Duration,
        out: &mut Vec<InRecord>,
        bytes: &mut usize,
        max_bytes: usize,
    ) -> std::result::Result<Polled, KafkaError> {
        match self.consumer.poll(timeout) {
            None => Ok(Polled::Nothing),
            Some(Err(KafkaError::PartitionEOF(_))) => Ok(Polled::Nothing),
            Some(Err(e)) => Err(e),
            Some(Ok(m)) => {
                if m.partition() != self.partition
                    || m.topic() != self.topic
                    || m.offset() < self.polled_next
                {
                    return Ok(Polled::Nothing);
                }
                let r = to_in_record(&m);
                self.polled_next = r.offset + 1;
                let size = record_size(&r);
                if !out.is_empty() && *bytes + size > max_bytes {
                    self.buffered.push_back(r);
                    return Ok(Polled::Full);
                }
                *bytes += size;
                out.push(r);
                Ok(Polled::Record)
            }
        }
    }
}

#[derive(Default)]
struct Pool {
    by_partition: HashMap<(String, i32), Vec<Fetcher>>,
    count: usize,
    tick: u64,
}

impl Pool {
    /// Takes a fetcher for the partition, preferably one already at `offset`.
    fn take(&mut self, topic: &str, partition: i32, offset: i64) -> Option<Fetcher> {
        let list = self.by_partition.get_mut(&(topic.to_string(), partition))?;
        let i = list
            .iter()
            .position(|f| f.pos == Some(offset))
            .or_else(|| list.len().checked_sub(1))?;
        let f = list.swap_remove(i);
        self.count -= 1;
        Some(f)
    }

    /// Returns a fetcher; gives back those to close when the pool is over its size.
    fn put(&mut self, mut f: Fetcher) -> Vec<Fetcher> {
        self.tick += 1;
        f.last_used = self.tick;
        self.by_partition
            .entry((f.topic.clone(), f.partition))
            .or_default()
            .push(f);
        self.count += 1;
        let mut evicted = Vec::new();
        while self.count > MAX_FETCHERS {
            let oldest = self
                .by_partition
                .iter()
                .flat_map(|(k, v)| {
                    v.iter()
                        .enumerate()
                        .map(move |(i, f)| (f.last_used, k.clone(), i))
                })
                .min();
            let Some((_, key, i)) = oldest else { break };
            if let Some(list) = self.by_partition.get_mut(&key) {
                evicted.push(list.swap_remove(i));
                self.count -= 1;
                if list.is_empty() {
                    self.by_partition.remove(&key);
                }
            }
        }
        evicted
    }

    /// Removes every fetcher of a topic.
    fn remove_topic(&mut self, topic: &str) -> Vec<Fetcher> {
        let keys: Vec<_> = self
            .by_partition
            .keys()
            .filter(|(t, _)| t == topic)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for k in keys {
            if let Some(list) = self.by_partition.remove(&k) {
                self.count -= list.len();
                out.extend(list);
            }
        }
        out
    }
}

struct Inner {
    bootstrap: String,
    /// Prefix of topic names and group ids on the wire; empty for none.
    namespace: String,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Group-less consumer for metadata and watermarks.
    meta: BaseConsumer,
    fetch_config: ClientConfig,
    pool: Mutex<Pool>,
    groups: Mutex<HashMap<String, Arc<BaseConsumer>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pool = std::mem::take(&mut *self.pool.lock());
        let fetchers: Vec<Fetcher> = pool.by_partition.into_values().flatten().collect();
        drop_in_background(fetchers);
        let groups: Vec<_> = self.groups.lock().drain().map(|(_, c)| c).collect();
        drop_in_background(groups);
    }
}

/// The [`LogClient`] over the Kafka protocol.
pub struct KafkaLog {
    inner: Arc<Inner>,
}

fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", "flusso-engine")
        .set("socket.nagle.disable", "true");
    c
}

fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = base_config(bootstrap);
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "error")
        .set("isolation.level", "read_uncommitted")
        .set("fetch.wait.max.ms", "100")
        .set("fetch.error.backoff.ms", "50")
        .set("fetch.queue.backoff.ms", "10")
        .set("queued.max.messages.kbytes", "4096")
        .set("allow.auto.create.topics", "false");
    c
}

impl KafkaLog {
    /// A client of the cluster at `bootstrap` (`host:port[,host:port...]`). With a namespace,
    /// every topic name and group id gets it as a prefix on the wire (e.g. `v123.`), and only
    /// the namespace's topics are visible. Connects lazily: see [`KafkaLog::ping`].
    pub fn connect(bootstrap: &str, namespace: Option<String>) -> Result<Arc<KafkaLog>> {
        let namespace = namespace.unwrap_or_default();
        let producer: FutureProducer = base_config(bootstrap)
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1")
            .set("linger.ms", "1")
            .set("message.timeout.ms", "60000")
            // Records of compacted topics may be as large as their max.message.bytes.
            .set(
                "message.max.bytes",
                (crate::log_client::COMPACTED_MAX_MESSAGE_BYTES + 1024).to_string(),
            )
            .set("topic.metadata.propagation.max.ms", "5000")
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| {
                log_error(
                    format_args!("cannot create a Kafka producer for {bootstrap}"),
                    e,
                )
            })?;
        let admin: AdminClient<DefaultClientContext> =
            base_config(bootstrap).create().map_err(|e| {
                log_error(
                    format_args!("cannot create a Kafka admin client for {bootstrap}"),
                    e,
                )
            })?;
        let meta: BaseConsumer = base_config(bootstrap)
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| {
                log_error(
                    format_args!("cannot create a Kafka client for {bootstrap}"),
                    e,
                )
            })?;
        let fetch_config = consumer_config(bootstrap, &format!("{namespace}_flusso_fetch"));
        Ok(Arc::new(KafkaLog {
            inner: Arc::new(Inner {
                bootstrap: bootstrap.to_string(),
                namespace,
                producer,
                admin,
                meta,
                fetch_config,
                pool: Mutex::new(Pool::default()),
                groups: Mutex::new(HashMap::new()),
            }),
        }))
    }

    /// The namespace prefix ("" for none).
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Checks that the cluster answers (a metadata request).
    pub async fn ping(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner
                .meta
                .fetch_metadata(None, REQUEST_TIMEOUT)
                .map(|_| ())
                .map_err(|e| {
                    log_error(format_args!("cannot reach Kafka at {}", inner.bootstrap), e)
                })
        })
        .await
    }

    fn wire(&self, name: &str) -> String {
        format!("{}{name}", self.inner.namespace)
    }

    /// Partition count from metadata; `None` when the topic does not exist. Retries transient
    /// errors (a topic being created) for a while.
    fn partitions_blocking(inner: &Inner, name: &str, wire: &str) -> Result<Option<i32>> {
        let start = Instant::now();
        loop {
            let md = inner
                .meta
                .fetch_metadata(Some(wire), REQUEST_TIMEOUT)
                .map_err(|e| {
                    log_error(
                        format_args!("cannot read the metadata of topic '{name}'"),
                        e,
                    )
                })?;
            let Some(t) = md.topics().iter().find(|t| t.name() == wire) else {
                return Ok(None);
            };
            match t.error() {
                None if !t.partitions().is_empty() => return Ok(Some(t.partitions().len() as i32)),
                Some(e)
                    if RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition =>
                {
                    return Ok(None)
                }
                other => {
                    if start.elapsed() > PROPAGATION_WAIT {
                        return match other {
                            None => Ok(None),
                            Some(e) => Err(log_error(
                                format_args!("cannot read the metadata of topic '{name}'"),
                                RDKafkaErrorCode::from(e),
                            )),
                        };
                    }
                    std::thread::sleep(POLL_INTERVAL);
                }
            }
        }
    }

    /// Waits until metadata shows the topic with `expected` partitions (`None`: gone).
    async fn await_metadata(&self, name: &str, expected: Option<i32>) -> Result<()> {
        let start = Instant::now();
        loop {
            let inner = Arc::clone(&self.inner);
            let (n, w) = (name.to_string(), self.wire(name));
            let now = blocking(move || KafkaLog::partitions_blocking(&inner, &n, &w)).await?;
            if now == expected || start.elapsed() > PROPAGATION_WAIT {
                return Ok(());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn group_consumer(&self, group: &str) -> Result<Arc<BaseConsumer>> {
        let mut groups = self.inner.groups.lock();
        if let Some(c) = groups.get(group) {
            return Ok(Arc::clone(c));
        }
        let wire = self.wire(group);
        let consumer: BaseConsumer = consumer_config(&self.inner.bootstrap, &wire)
            .create()
            .map_err(|e| {
                log_error(
                    format_args!("cannot create a consumer for group '{group}'"),
                    e,
                )
            })?;
        let consumer = Arc::new(consumer);
        if groups.len() >= MAX_GROUP_CONSUMERS {
            let evicted: Vec<_> = groups.drain().map(|(_, c)| c).collect();
            drop_in_background(evicted);
        }
        groups.insert(group.to_string(), Arc::clone(&consumer));
        Ok(consumer)
    }

    async fn close_fetchers(&self, wire: &str) {
        let fetchers = self.inner.pool.lock().remove_topic(wire);
        if !fetchers.is_empty() {
            let _ = tokio::task::spawn_blocking(move || drop(fetchers)).await;
        }
    }
}

#[async_trait]
impl LogClient for KafkaLog {
    async fn create_topic(&self, name: &str, partitions: i32, compacted: bool) -> Result<bool> {
        let wire = self.wire(name);
        let mut topic = NewTopic::new(&wire, partitions, TopicReplication::Fixed(-1));
        let max_bytes = crate::log_client::COMPACTED_MAX_MESSAGE_BYTES.to_string();
        if compacted {
            topic = topic
                .set("cleanup.policy", "compact")
                .set("max.message.bytes", &max_bytes);
        }
        let opts = AdminOptions::new()
            .request_timeout(Some(Duration::from_secs(30)))
            .operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .inner
            .admin
            .create_topics([&topic], &opts)
            .await
            .map_err(|e| log_error(format_args!("cannot create topic '{name}'"), e))?;
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
                Err((_, code)) => {
                    return Err(log_error(
                        format_args!("cannot create topic '{name}'"),
                        code,
                    ))
                }
            }
        }
        self.await_metadata(name, Some(partitions)).await?;
        Ok(true)
    }

    async fn partitions(&self, topic: &str) -> Result<Option<i32>> {
        let inner = Arc::clone(&self.inner);
        let (name, wire) = (topic.to_string(), self.wire(topic));
        blocking(move || KafkaLog::partitions_blocking(&inner, &name, &wire)).await
    }

    async fn topics(&self) -> Result<Vec<String>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let md = inner
                .meta
                .fetch_metadata(None, REQUEST_TIMEOUT)
                .map_err(|e| log_error("cannot list topics", e))?;
            let mut names: Vec<String> = md
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .filter_map(|t| t.name().strip_prefix(inner.namespace.as_str()))
                .map(str::to_string)
                .collect();
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn delete_topic(&self, topic: &str) -> Result<()> {
        let wire = self.wire(topic);
        self.close_fetchers(&wire).await;
        let opts = AdminOptions::new()
            .request_timeout(Some(Duration::from_secs(30)))
            .operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .inner
            .admin
            .delete_topics(&[wire.as_str()], &opts)
            .await
            .map_err(|e| log_error(format_args!("cannot delete topic '{topic}'"), e))?;
        for r in results {
            if let Err((_, code)) = r {
                return Err(log_error(
                    format_args!("cannot delete topic '{topic}'"),
                    code,
                ));
            }
        }
        self.await_metadata(topic, None).await?;
        self.close_fetchers(&wire).await;
        Ok(())
    }

    async fn produce(&self, topic: &str, partition: i32, records: &[OutRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let wire = self.wire(topic);
        let what = || format!("cannot write to '{topic}' partition {partition}");
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&wire)
                .partition(partition)
                .timestamp(r.timestamp);
            if let Some(k) = &r.key {
                record = record.key(k.as_slice());
            }
            if let Some(v) = &r.value {
                record = record.payload(v.as_slice());
            }
            if !r.headers.is_empty() {
                let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
                for (key, value) in &r.headers {
                    headers = headers.insert(Header {
                        key: key.as_str(),
                        value: value.as_deref(),
                    });
                }
                record = record.headers(headers);
            }
            loop {
                match self.inner.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(log_error(what(), e)),
                }
            }
        }
        for delivery in pending {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(log_error(what(), e)),
                Err(_) => return Err(log_error(what(), "the delivery report was lost")),
            }
        }
        Ok(())
    }

    async fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Vec<InRecord>> {
        let wire = self.wire(topic);
        let taken = self.inner.pool.lock().take(&wire, partition, offset);
        let inner = Arc::clone(&self.inner);
        let name = topic.to_string();
        blocking(move || {
            let mut fetcher = match taken {
                Some(f) => f,
                None => Fetcher::new(&inner.fetch_config, &wire, partition)?,
            };
            let result = fetcher.fetch(&name, offset, max_bytes);
            if result.is_ok() {
                let evicted = inner.pool.lock().put(fetcher);
                drop(evicted);
            }
            result
        })
        .await
    }

    async fn offsets(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let inner = Arc::clone(&self.inner);
        let (name, wire) = (topic.to_string(), self.wire(topic));
        blocking(move || {
            inner
                .meta
                .fetch_watermarks(&wire, partition, REQUEST_TIMEOUT)
                .map_err(|e| {
                    log_error(
                        format_args!("cannot read the offsets of '{name}' partition {partition}"),
                        e,
                    )
                })
        })
        .await
    }

    async fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let what = format!("cannot commit the offsets of group '{group}'");
        let mut tpl = TopicPartitionList::new();
        for (t, p, o) in offsets {
            tpl.add_partition_offset(&self.wire(t), *p, Offset::Offset(*o))
                .map_err(|e| log_error(&what, e))?;
        }
        let consumer = self.group_consumer(group)?;
        blocking(move || {
            consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(|e| log_error(&what, e))
        })
        .await
    }

    async fn committed(&self, group: &str) -> Result<Vec<(String, i32, i64)>> {
        let consumer = self.group_consumer(group)?;
        let inner = Arc::clone(&self.inner);
        let what = format!("cannot read the committed offsets of group '{group}'");
        blocking(move || {
            let md = inner
                .meta
                .fetch_metadata(None, REQUEST_TIMEOUT)
                .map_err(|e| log_error(&what, e))?;
            let mut tpl = TopicPartitionList::new();
            for t in md.topics() {
                if t.error().is_some() || !t.name().starts_with(inner.namespace.as_str()) {
                    continue;
                }
                for p in t.partitions() {
                    tpl.add_partition(t.name(), p.id());
                }
            }
            if tpl.count() == 0 {
                return Ok(Vec::new());
            }
            let committed = consumer
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(|e| log_error(&what, e))?;
            let mut out: Vec<(String, i32, i64)> = committed
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some((
                        e.topic()
                            .strip_prefix(inner.namespace.as_str())?
                            .to_string(),
                        e.partition(),
                        o,
                    )),
                    _ => None,
                })
                .collect();
            out.sort();
            Ok(out)
        })
        .await
    }

    async fn delete_group(&self, group: &str) -> Result<()> {
        let cached = self.inner.groups.lock().remove(group);
        if let Some(c) = cached {
            let _ = tokio::task::spawn_blocking(move || drop(c)).await;
        }
        let wire = self.wire(group);
        let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(30)));
        let what = format!("cannot delete group '{group}'");
        let results = self
            .inner
            .admin
            .delete_groups(&[wire.as_str()], &opts)
            .await
            .map_err(|e| log_error(&what, e))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, code)) => return Err(log_error(&what, code)),
            }
        }
        Ok(())
    }

    async fn wait_for_data(&self, positions: &[(String, i32, i64)], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            for (t, p, offset) in positions {
                if let Ok((_, end)) = self.offsets(t, *p).await {
                    if end > *offset {
                        return;
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
        }
    }
}

//! [`Log`]: the embedded log as a whole — its topics, their durable metadata, start-up recovery
//! and clean shutdown — and the in-process API the SQL engine uses without TCP.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{validate_config, LogConfig, TopicConfig};
use crate::error::{LogError, Result};
use crate::group::{GroupCoordinator, OffsetStore, OFFSETS_TOPIC};
use crate::storage::index as index_util;
use crate::storage::{AppendInfo, Partition, PartitionOffsets, ReadResult};

const META_DIR: &str = "meta";
const TOPICS_DIR: &str = "topics";
const CLUSTER_FILE: &str = "cluster.json";
const PRODUCER_IDS_FILE: &str = "producer-ids.json";
/// Producer ids are reserved on disk in blocks of this many.
const PRODUCER_ID_BLOCK: i64 = 1000;
/// Written after a clean shutdown, removed at start-up.
pub const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";

/// A topic's durable description.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TopicMeta {
    name: String,
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    config: TopicConfig,
}

/// One topic: its id, configs and partitions.
#[derive(Debug)]
pub struct Topic {
    name: String,
    id: Uuid,
    config: RwLock<TopicConfig>,
    partitions: RwLock<Vec<Arc<Partition>>>,
}

impl Topic {
    /// Topic name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Topic id (a UUID, as Kafka's).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Configs set on the topic.
    pub fn config(&self) -> TopicConfig {
        self.config.read().clone()
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }

    /// One partition.
    pub fn partition(&self, id: i32) -> Option<Arc<Partition>> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.partitions.read().get(i).cloned())
    }

    /// All partitions.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().clone()
    }

    fn meta(&self) -> TopicMeta {
        TopicMeta {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partition_count(),
            config: self.config(),
        }
    }
}

/// Checks a topic name against Kafka's rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or
/// `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |why| Err(LogError::InvalidTopic(name.to_string(), why));
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > 249 {
        return bad("the name is longer than 249 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

#[derive(Debug)]
struct Shared {
    config: LogConfig,
    cluster_id: String,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serialises topic creation, deletion and changes, so metadata files never race.
    admin: Mutex<()>,
    closed: AtomicBool,
    groups: GroupCoordinator,
    /// Set once at open, right after the internal offsets topic exists.
    offsets: std::sync::OnceLock<OffsetStore>,
    /// Next producer id to hand out, and the end of the block reserved on disk.
    producer_ids: Mutex<(i64, i64)>,
}

/// The embedded, durable, Kafka-compatible log. Cheap to clone; every clone is the same log.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use flusso_log::{BatchBuilder, Log, LogConfig, Record, TopicConfig};
/// let dir = tempfile::tempdir()?;
/// let log = Log::open(LogConfig::new(dir.path()))?;
/// log.create_topic("events", 1, TopicConfig::default())?;
/// let mut batch = BatchBuilder::new();
/// batch.push(&Record { key: Some(b"k"), value: Some(b"v"), headers: vec![], timestamp: 1 });
/// let info = log.append("events", 0, &batch.finish())?;
/// assert_eq!(info.base_offset, 0);
/// let read = log.read("events", 0, 0, 1 << 20)?;
/// assert_eq!(read.high_watermark, 1);
/// log.shutdown()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

impl Log {
    /// Opens the log in `config.data_dir`, creating it if needed and recovering every partition.
    pub fn open(config: LogConfig) -> Result<Log> {
        let dir = config.data_dir.clone();
        fs::create_dir_all(dir.join(META_DIR).join(TOPICS_DIR))?;
        let cluster_id = load_cluster_id(&dir)?;
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        let mut topics = BTreeMap::new();
        let mut metas = Vec::new();
        for entry in fs::read_dir(dir.join(META_DIR).join(TOPICS_DIR))? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = fs::read_to_string(&path)?;
            match serde_json::from_str::<TopicMeta>(&text) {
                Ok(meta) => metas.push(meta),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "unreadable topic metadata skipped")
                }
            }
        }
        for meta in metas {
            let resolved = Arc::new(meta.config.resolve(&config));
            let mut partitions = Vec::with_capacity(meta.partitions as usize);
            for p in 0..meta.partitions {
                partitions.push(Arc::new(Partition::open(
                    &dir,
                    &meta.name,
                    p,
                    Arc::clone(&resolved),
                    clean,
                )?));
            }
            let topic = Topic {
                name: meta.name.clone(),
                id: meta.id,
                config: RwLock::new(meta.config),
                partitions: RwLock::new(partitions),
            };
            topics.insert(meta.name, Arc::new(topic));
        }
        remove_orphan_partitions(&dir, &topics)?;
        if clean {
            fs::remove_file(&marker)?;
            index_util::sync_dir(&dir)?;
        }
        tracing::info!(
            data_dir = %dir.display(),
            topics = topics.len(),
            clean_start = clean,
            "log opened"
        );
        let groups = GroupCoordinator::new(config.groups.clone());
        let log = Log {
            shared: Arc::new(Shared {
                config,
                cluster_id,
                topics: RwLock::new(topics),
                admin: Mutex::new(()),
                closed: AtomicBool::new(false),
                groups,
                offsets: std::sync::OnceLock::new(),
                producer_ids: Mutex::new((0, 0)),
            }),
        };
        let reserved = fs::read_to_string(log.data_dir().join(META_DIR).join(PRODUCER_IDS_FILE))
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(0);
        *log.shared.producer_ids.lock() = (reserved, reserved);
        let offsets_topic = match log.topic(OFFSETS_TOPIC) {
            Some(t) => t,
            None => {
                let mut cfg = TopicConfig::default();
                cfg.overrides
                    .insert("cleanup.policy".into(), "compact".into());
                cfg.overrides
                    .insert("segment.bytes".into(), (100u32 << 20).to_string());
                log.create_topic(OFFSETS_TOPIC, 1, cfg)?
            }
        };
        let partition = offsets_topic
            .partition(0)
            .ok_or_else(|| LogError::UnknownTopicOrPartition(format!("{OFFSETS_TOPIC}-0")))?;
        let store = OffsetStore::load(partition)?;
        for group in store.groups() {
            log.shared.groups.ensure_group(&group);
        }
        let _ = log.shared.offsets.set(store);
        Ok(log)
    }

    /// A new idempotent producer id, never handed out before (ids are reserved on disk in blocks,
    /// so a restart skips the rest of a block).
    pub fn next_producer_id(&self) -> Result<i64> {
        let mut ids = self.shared.producer_ids.lock();
        if ids.0 >= ids.1 {
            let end = ids.0 + PRODUCER_ID_BLOCK;
            let path = self.data_dir().join(META_DIR).join(PRODUCER_IDS_FILE);
            index_util::write_synced(&path, end.to_string().as_bytes())?;
            ids.1 = end;
        }
        ids.0 += 1;
        Ok(ids.0 - 1)
    }

    /// The group coordinator.
    pub fn groups(&self) -> &GroupCoordinator {
        &self.shared.groups
    }

    /// Committed offsets of consumer groups.
    pub fn committed_offsets(&self) -> &OffsetStore {
        self.shared
            .offsets
            .get()
            .expect("offset store is set in Log::open")
    }

    /// The log's settings.
    pub fn config(&self) -> &LogConfig {
        &self.shared.config
    }

    /// The cluster id, generated once per data directory.
    pub fn cluster_id(&self) -> &str {
        &self.shared.cluster_id
    }

    fn data_dir(&self) -> &Path {
        &self.shared.config.data_dir
    }

    /// All topics, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.shared.topics.read().values().cloned().collect()
    }

    /// One topic.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.shared.topics.read().get(name).cloned()
    }

    /// One partition, or `UnknownTopicOrPartition`.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Partition>> {
        self.topic(topic)
            .and_then(|t| t.partition(partition))
            .ok_or_else(|| LogError::UnknownTopicOrPartition(format!("{topic}-{partition}")))
    }

    fn check_open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(LogError::ShuttingDown);
        }
        Ok(())
    }

    /// Checks what [`Log::create_topic`] would check, without creating anything.
    pub fn validate_new_topic(
        &self,
        name: &str,
        partitions: i32,
        config: &TopicConfig,
    ) -> Result<()> {
        validate_topic_name(name)?;
        if partitions < 1 {
            return Err(LogError::InvalidPartitions(format!(
                "number of partitions must be at least 1, got {partitions}"
            )));
        }
        if partitions > 10_000 {
            return Err(LogError::InvalidPartitions(format!(
                "number of partitions must be at most 10000, got {partitions}"
            )));
        }
        for (k, v) in &config.overrides {
            validate_config(k, v)?;
        }
        let topics = self.shared.topics.read();
        if topics.contains_key(name) {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let folded = name.replace('.', "_");
        if topics.keys().any(|t| t.replace('.', "_") == folded) {
            return Err(LogError::InvalidTopic(
                name.to_string(),
                "it collides with an existing topic ('.' and '_' are treated alike)",
            ));
        }
        Ok(())
    }

    /// Creates a topic with `partitions` partitions and the given configs; durable on return.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        config: TopicConfig,
    ) -> Result<Arc<Topic>> {
        self.check_open()?;
        let _admin = self.shared.admin.lock();
        self.validate_new_topic(name, partitions, &config)?;
        let resolved = Arc::new(config.resolve(&self.shared.config));
        let mut parts = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            // A leftover directory of an earlier topic of the same name is cleared first.
            let dir = self.data_dir().join(Partition::dir_name(name, p));
            if dir.exists() {
                fs::remove_dir_all(&dir)?;
            }
            parts.push(Arc::new(Partition::open(
                self.data_dir(),
                name,
                p,
                Arc::clone(&resolved),
                true,
            )?));
        }
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id: Uuid::new_v4(),
            config: RwLock::new(config),
            partitions: RwLock::new(parts),
        });
        self.write_meta(&topic.meta())?;
        self.shared
            .topics
            .write()
            .insert(name.to_string(), Arc::clone(&topic));
        tracing::info!(topic = name, partitions, "topic created");
        Ok(topic)
    }

    /// Returns the topic, creating it with the server defaults if it is missing.
    pub fn get_or_create_topic(&self, name: &str) -> Result<Arc<Topic>> {
        if let Some(t) = self.topic(name) {
            return Ok(t);
        }
        match self.create_topic(
            name,
            self.shared.config.num_partitions,
            TopicConfig::default(),
        ) {
            Err(LogError::TopicExists(_)) => self
                .topic(name)
                .ok_or_else(|| LogError::UnknownTopicOrPartition(name.into())),
            other => other,
        }
    }

    /// Deletes a topic and its data; durable on return.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        if name == OFFSETS_TOPIC {
            return Err(LogError::InvalidRequest(format!(
                "the internal topic '{name}' cannot be deleted"
            )));
        }
        let _admin = self.shared.admin.lock();
        let topic = self
            .shared
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| LogError::UnknownTopicOrPartition(name.to_string()))?;
        let meta_path = self.meta_path(name);
        fs::remove_file(&meta_path)?;
        index_util::sync_dir(meta_path.parent().unwrap_or_else(|| self.data_dir()))?;
        for p in topic.partitions() {
            fs::remove_dir_all(p.dir())?;
        }
        index_util::sync_dir(self.data_dir())?;
        if let Some(offsets) = self.shared.offsets.get() {
            offsets.remove_topic(name)?;
            // Groups left with neither members nor offsets go with the topic.
            for (group, _, state) in self.shared.groups.list() {
                if state == crate::GroupState::Empty && offsets.group(&group).is_empty() {
                    let _ = self.shared.groups.delete(&group);
                }
            }
        }
        tracing::info!(topic = name, "topic deleted");
        Ok(())
    }

    /// Raises a topic's partition count to `count`.
    pub fn create_partitions(&self, name: &str, count: i32, validate_only: bool) -> Result<()> {
        self.check_open()?;
        let _admin = self.shared.admin.lock();
        let topic = self
            .topic(name)
            .ok_or_else(|| LogError::UnknownTopicOrPartition(name.into()))?;
        let current = topic.partition_count();
        if count <= current {
            return Err(LogError::InvalidPartitions(format!(
                "topic '{name}' has {current} partitions; the new count must be larger, got {count}"
            )));
        }
        if count > 10_000 {
            return Err(LogError::InvalidPartitions(format!(
                "at most 10000 partitions, got {count}"
            )));
        }
        if validate_only {
            return Ok(());
        }
        let resolved = Arc::new(topic.config().resolve(&self.shared.config));
        let mut added = Vec::new();
        for p in current..count {
            added.push(Arc::new(Partition::open(
                self.data_dir(),
                name,
                p,
                Arc::clone(&resolved),
                true,
            )?));
        }
        topic.partitions.write().extend(added);
        self.write_meta(&topic.meta())?;
        Ok(())
    }

    /// Replaces (`incremental = false`) or updates a topic's configs. `changes` maps a name to a
    /// new value, or to `None` to return it to its default.
    pub fn alter_topic_config(
        &self,
        name: &str,
        changes: &[(String, Option<String>)],
        incremental: bool,
        validate_only: bool,
    ) -> Result<()> {
        self.check_open()?;
        let _admin = self.shared.admin.lock();
        let topic = self
            .topic(name)
            .ok_or_else(|| LogError::UnknownTopicOrPartition(name.into()))?;
        let mut config = if incremental {
            topic.config()
        } else {
            TopicConfig::default()
        };
        for (k, v) in changes {
            match v {
                Some(v) => {
                    validate_config(k, v)?;
                    config.overrides.insert(k.clone(), v.clone());
                }
                None => {
                    if crate::config::config_def(k).is_none() {
                        return Err(LogError::InvalidConfig(format!(
                            "unknown topic config '{k}'"
                        )));
                    }
                    config.overrides.remove(k);
                }
            }
        }
        if validate_only {
            return Ok(());
        }
        let resolved = Arc::new(config.resolve(&self.shared.config));
        *topic.config.write() = config;
        for p in topic.partitions() {
            p.set_config(Arc::clone(&resolved));
        }
        self.write_meta(&topic.meta())
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.data_dir()
            .join(META_DIR)
            .join(TOPICS_DIR)
            .join(format!("{name}.json"))
    }

    fn write_meta(&self, meta: &TopicMeta) -> Result<()> {
        let json = serde_json::to_vec_pretty(meta).map_err(|e| LogError::Io(e.into()))?;
        index_util::write_synced(&self.meta_path(&meta.name), &json)?;
        Ok(())
    }

    /// Appends v2 record batches to a partition (see [`Partition::append`]); the data is in the page
    /// cache on return. Use [`Log::append_durable`] to wait for fsync.
    pub fn append(&self, topic: &str, partition: i32, batches: &[u8]) -> Result<AppendInfo> {
        self.check_open()?;
        self.partition(topic, partition)?.append(batches)
    }

    /// Appends and waits until the data is fsynced (acks=all), sharing fsyncs with concurrent
    /// appends.
    pub async fn append_durable(
        &self,
        topic: &str,
        partition: i32,
        batches: &[u8],
    ) -> Result<AppendInfo> {
        self.check_open()?;
        let p = self.partition(topic, partition)?;
        let info = p.append(batches)?;
        p.sync(info.last_offset + 1).await?;
        Ok(info)
    }

    /// Reads whole batches from `offset`, at most `max_bytes` but at least one batch.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<ReadResult> {
        self.partition(topic, partition)?
            .read(offset, max_bytes, true)
    }

    /// Log start and end offsets of a partition.
    pub fn offsets(&self, topic: &str, partition: i32) -> Result<PartitionOffsets> {
        Ok(self.partition(topic, partition)?.offsets())
    }

    /// Rolls active segments older than `segment.ms`, then deletes segments past retention in every
    /// partition; returns how many went.
    pub fn apply_retention(&self) -> usize {
        let now = flusso_common::now_ms();
        let mut deleted = 0;
        for t in self.topics() {
            for p in t.partitions() {
                if let Err(e) = p.roll_if_old(now) {
                    tracing::warn!(topic = t.name(), partition = p.id(), error = %e, "segment roll failed");
                }
                match p.apply_retention(now) {
                    Ok(n) => deleted += n,
                    Err(e) => {
                        tracing::warn!(topic = t.name(), partition = p.id(), error = %e, "retention failed")
                    }
                }
            }
        }
        deleted
    }

    /// Runs a compaction pass over every compacted partition (every one with `force`, whatever its
    /// dirty ratio); returns the totals.
    pub fn clean(&self, force: bool) -> crate::CleanStats {
        let now = flusso_common::now_ms();
        let mut total = crate::CleanStats::default();
        for t in self.topics() {
            for p in t.partitions() {
                match p.clean(now, force) {
                    Ok(Some(s)) => {
                        total.segments_cleaned += s.segments_cleaned;
                        total.bytes_read += s.bytes_read;
                        total.bytes_written += s.bytes_written;
                        total.records_removed += s.records_removed;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(topic = t.name(), partition = p.id(), error = %e, "compaction failed")
                    }
                }
            }
        }
        total
    }

    /// Writes every partition's recovery point; called periodically.
    pub fn checkpoint(&self) {
        for t in self.topics() {
            for p in t.partitions() {
                if let Err(e) = p.checkpoint() {
                    tracing::warn!(topic = t.name(), partition = p.id(), error = %e, "checkpoint failed");
                }
            }
        }
    }

    /// Clean shutdown: refuses further writes, fsyncs every partition, writes indexes and recovery
    /// points, then the clean-shutdown marker. Idempotent.
    pub fn shutdown(&self) -> Result<()> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.shared.groups.shutdown();
        let _admin = self.shared.admin.lock();
        for t in self.topics() {
            for p in t.partitions() {
                p.close()?;
            }
        }
        index_util::write_synced(&self.data_dir().join(CLEAN_SHUTDOWN_FILE), b"clean\n")?;
        tracing::info!(data_dir = %self.data_dir().display(), "log closed cleanly");
        Ok(())
    }

    /// Runs the periodic recovery-point checkpoints until `shutdown` is cancelled.
    pub async fn run_background(self, shutdown: tokio_util::sync::CancellationToken) {
        let every =
            std::time::Duration::from_millis(self.shared.config.checkpoint_interval_ms.max(10));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut group_tick = tokio::time::interval(std::time::Duration::from_millis(50));
        group_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ms = |v: u64| std::time::Duration::from_millis(v.max(10));
        let mut retention_tick =
            tokio::time::interval(ms(self.shared.config.retention_check_interval_ms));
        retention_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cleaner_tick = tokio::time::interval(ms(self.shared.config.cleaner_interval_ms));
        cleaner_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = group_tick.tick() => self.shared.groups.tick(),
                _ = retention_tick.tick() => {
                    let log = self.clone();
                    let _ = tokio::task::spawn_blocking(move || log.apply_retention()).await;
                }
                _ = cleaner_tick.tick() => {
                    let log = self.clone();
                    let _ = tokio::task::spawn_blocking(move || log.clean(false)).await;
                }
                _ = tick.tick() => {
                    let log = self.clone();
                    let _ = tokio::task::spawn_blocking(move || log.checkpoint()).await;
                }
            }
        }
    }
}

fn load_cluster_id(dir: &Path) -> Result<String> {
    let path = dir.join(META_DIR).join(CLUSTER_FILE);
    #[derive(Serialize, Deserialize)]
    struct Cluster {
        cluster_id: String,
    }
    if let Ok(text) = fs::read_to_string(&path) {
        if let Ok(c) = serde_json::from_str::<Cluster>(&text) {
            return Ok(c.cluster_id);
        }
    }
    let id = Uuid::new_v4().simple().to_string()[..22].to_string();
    let json = serde_json::to_vec(&Cluster {
        cluster_id: id.clone(),
    })
    .map_err(|e| LogError::Io(e.into()))?;
    index_util::write_synced(&path, &json)?;
    Ok(id)
}

/// Removes partition directories whose topic no longer exists (a deletion cut short by a crash).
fn remove_orphan_partitions(dir: &Path, topics: &BTreeMap<String, Arc<Topic>>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((topic, part)) = name.rsplit_once('-') else {
            continue;
        };
        let Ok(part) = part.parse::<i32>() else {
            continue;
        };
        let known = topics
            .get(topic)
            .is_some_and(|t| part < t.partition_count());
        if !known && validate_topic_name(topic).is_ok() {
            tracing::warn!(dir = %entry.path().display(), "removing partition directory of a deleted topic");
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::{BatchBuilder, Record};

    fn one(v: &str) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.push(&Record {
            key: None,
            value: Some(v.as_bytes()),
            headers: vec![],
            timestamp: 5,
        });
        b.finish()
    }

    #[test]
    fn topics_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(LogConfig::new(dir.path())).unwrap();
        let mut cfg = TopicConfig::default();
        cfg.overrides.insert("retention.ms".into(), "-1".into());
        log.create_topic("a.b", 3, cfg.clone()).unwrap();
        assert!(matches!(
            log.create_topic("a.b", 1, TopicConfig::default()),
            Err(LogError::TopicExists(_))
        ));
        assert!(matches!(
            log.create_topic("a_b", 1, TopicConfig::default()),
            Err(LogError::InvalidTopic(..))
        ));
        assert!(matches!(
            log.create_topic("bad name", 1, TopicConfig::default()),
            Err(LogError::InvalidTopic(..))
        ));
        log.append("a.b", 2, &one("x")).unwrap();
        log.create_partitions("a.b", 4, false).unwrap();
        log.create_topic("gone", 1, TopicConfig::default()).unwrap();
        log.delete_topic("gone").unwrap();
        let cluster = log.cluster_id().to_string();
        log.shutdown().unwrap();
        assert!(matches!(
            log.append("a.b", 0, &one("y")),
            Err(LogError::ShuttingDown)
        ));
        drop(log);

        let log = Log::open(LogConfig::new(dir.path())).unwrap();
        assert_eq!(log.cluster_id(), cluster);
        assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        let t = log.topic("a.b").unwrap();
        assert_eq!(t.partition_count(), 4);
        assert_eq!(t.config(), cfg);
        assert_eq!(log.offsets("a.b", 2).unwrap().log_end_offset, 1);
        assert!(log.topic("gone").is_none());
        assert!(!dir.path().join("gone-0").exists());
    }

    #[test]
    fn names() {
        assert!(validate_topic_name("ok-topic_1.x").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}

//! One topic-partition: an ordered list of segments, the append and read paths, group-commit
//! fsync, and crash recovery.
//!
//! Appends take the partition's write lock only to assign offsets and write to the page cache;
//! reads take the read lock only to find a file range, then copy it outside the lock.
//! `acks=all` waits in [`Partition::sync`], where one fsync serves every append that arrived
//! while the previous fsync ran (group commit).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::watch;

use super::batch::{self, BatchHeader};
use super::index;
use super::producer_state::{ProducerStates, SeqCheck, Snapshot};
use super::segment::{self, ReadSlice, Segment};
use crate::config::ResolvedConfig;
use crate::error::{LogError, Result};

const RECOVERY_POINT_FILE: &str = "recovery-point";
const PRODUCER_SNAPSHOT_FILE: &str = "producer-state.json";
const LOG_START_FILE: &str = "log-start-offset";
const CLEANER_POINT_FILE: &str = "cleaner-checkpoint";

mod cleaner;
mod retention;

pub use cleaner::CleanStats;

fn read_offset_file(dir: &Path, name: &str) -> Option<i64> {
    fs::read_to_string(dir.join(name)).ok()?.trim().parse().ok()
}

fn write_offset_file(dir: &Path, name: &str, offset: i64) -> Result<()> {
    index::write_synced(&dir.join(name), offset.to_string().as_bytes())?;
    Ok(())
}

/// Compacted topics take only records with keys, as Kafka (INVALID_RECORD otherwise).
fn check_keys(records: &[u8], headers: &[BatchHeader], topic: &str, partition: i32) -> Result<()> {
    let mut pos = 0;
    for h in headers {
        let batch = &records[pos..pos + h.total_len()];
        pos += h.total_len();
        let null_key = match batch::has_null_key(batch) {
            Some(found) => found,
            None => super::records::decode_batch(batch)?
                .iter()
                .any(|r| r.key.is_none()),
        };
        if null_key {
            return Err(LogError::InvalidRecord(format!(
                "compacted topic cannot accept a record without key in topic partition {topic}-{partition}"
            )));
        }
    }
    Ok(())
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first appended record.
    pub base_offset: i64,
    /// Offset of the last appended record.
    pub last_offset: i64,
    /// The broker's append time when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
    /// The partition's log start offset after the append.
    pub log_start_offset: i64,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole v2 record batches, exactly as stored; the first one holds the requested offset
    /// (it may start before it). Empty at the end of the log.
    pub records: Bytes,
    /// The high watermark: offset after the last readable record.
    pub high_watermark: i64,
    /// The first offset still in the log.
    pub log_start_offset: i64,
}

/// The offsets of a partition, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// First offset still in the log.
    pub log_start_offset: i64,
    /// Offset the next record will get (= the high watermark).
    pub log_end_offset: i64,
}

#[derive(Debug)]
struct State {
    /// Segments by increasing base offset; the last one is active. Never empty.
    segments: Vec<Segment>,
    config: Arc<ResolvedConfig>,
    /// Recovery point written by the last checkpoint.
    checkpointed: i64,
    /// Sequence state of idempotent producers.
    producers: ProducerStates,
    /// First offset readable (DeleteRecords may put it inside the first segment).
    log_start: i64,
    /// The compaction cleaner has cleaned every closed segment below this offset.
    cleaner_point: i64,
    /// The log end offset the cleaner saw at its last pass (in memory: a restart cleans once more).
    cleaner_seen_end: i64,
}

impl State {
    fn active(&self) -> &Segment {
        &self.segments[self.segments.len() - 1]
    }
    fn active_mut(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }
    fn log_end(&self) -> i64 {
        self.active().next_offset
    }
    fn log_start(&self) -> i64 {
        self.log_start.max(self.segments[0].base_offset)
    }
}

/// One topic-partition of the embedded log.
#[derive(Debug)]
pub struct Partition {
    topic: Arc<str>,
    id: i32,
    dir: PathBuf,
    state: RwLock<State>,
    /// Every offset below this is on disk (fsynced): the recovery point.
    flushed: AtomicI64,
    /// Held by the one task running an fsync; others wait and usually find their data covered.
    sync_lock: tokio::sync::Mutex<()>,
    /// Publishes the log end offset to waiting readers (long-poll fetches, in-process consumers).
    end_tx: watch::Sender<i64>,
    /// Serialises retention, DeleteRecords and compaction of this partition.
    maintenance: parking_lot::Mutex<()>,
}

impl Partition {
    /// Directory name of a partition: `<topic>-<partition>`.
    pub fn dir_name(topic: &str, id: i32) -> String {
        format!("{topic}-{id}")
    }

    /// Opens (or creates) the partition in `data_dir`. After an unclean shutdown every segment from
    /// the one holding the recovery point on is scanned and a torn or corrupt tail truncated.
    pub(crate) fn open(
        data_dir: &Path,
        topic: &str,
        id: i32,
        config: Arc<ResolvedConfig>,
        clean: bool,
    ) -> Result<Partition> {
        let dir = data_dir.join(Self::dir_name(topic, id));
        fs::create_dir_all(&dir)?;
        cleaner::finish_interrupted_swaps(&dir)?;
        let mut bases: Vec<i64> = fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse::<i64>().ok()
            })
            .collect();
        bases.sort_unstable();
        let recovery_point = fs::read_to_string(dir.join(RECOVERY_POINT_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        // Segments from the one holding the recovery point on are rescanned after a crash.
        let first_unflushed = bases
            .iter()
            .rposition(|b| *b <= recovery_point)
            .unwrap_or(0);
        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
        let interval = config.index_interval_bytes;
        for (i, base) in bases.iter().enumerate() {
            let trust = clean || i < first_unflushed;
            let (seg, truncated) = Segment::open(&dir, *base, trust, interval)?;
            if let Some(prev) = segments.last() {
                if prev.next_offset > seg.base_offset {
                    tracing::warn!(topic, partition = id, base, "overlapping segment removed");
                    seg.delete_files()?;
                    continue;
                }
            }
            segments.push(seg);
            if truncated {
                tracing::warn!(
                    topic,
                    partition = id,
                    segment = base,
                    "torn or corrupt tail truncated during recovery"
                );
                for later in &bases[i + 1..] {
                    let (seg, _) = Segment::open(&dir, *later, true, interval)?;
                    seg.delete_files()?;
                }
                break;
            }
        }
        if segments.is_empty() {
            segments.push(Segment::create(&dir, 0)?);
        }
        let log_end = segments[segments.len() - 1].next_offset;
        if !clean {
            for seg in &segments[first_unflushed.min(segments.len() - 1)..] {
                seg.file.sync_all()?;
            }
        }
        let producers = load_producers(&dir, &segments);
        let log_start = read_offset_file(&dir, LOG_START_FILE).unwrap_or(0);
        let cleaner_point = read_offset_file(&dir, CLEANER_POINT_FILE).unwrap_or(0);
        let (end_tx, _) = watch::channel(log_end);
        let partition = Partition {
            topic: topic.into(),
            id,
            dir,
            state: RwLock::new(State {
                segments,
                config,
                checkpointed: -1,
                producers,
                log_start,
                cleaner_point,
                cleaner_seen_end: -1,
            }),
            flushed: AtomicI64::new(log_end),
            sync_lock: tokio::sync::Mutex::new(()),
            end_tx,
            maintenance: parking_lot::Mutex::new(()),
        };
        partition.checkpoint()?;
        Ok(partition)
    }

    /// Topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Partition number.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Directory holding the partition's segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the storage configs (after AlterConfigs).
    pub(crate) fn set_config(&self, config: Arc<ResolvedConfig>) {
        self.state.write().config = config;
    }

    /// Log start and end offsets.
    pub fn offsets(&self) -> PartitionOffsets {
        let st = self.state.read();
        PartitionOffsets {
            log_start_offset: st.log_start(),
            log_end_offset: st.log_end(),
        }
    }

    /// Number of segments (for tests and metrics).
    pub fn segment_count(&self) -> usize {
        self.state.read().segments.len()
    }

    /// Size in bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.state.read().segments.iter().map(|s| s.size).sum()
    }

    /// A receiver of log-end-offset changes, to wait for new data.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.end_tx.subscribe()
    }

    /// Appends the v2 batches in `records` (one or more, as in a produce request). Every batch is
    /// validated first; nothing is written unless all pass. Offsets are assigned here, and
    /// timestamps when the topic uses LogAppendTime. Durability: the data is in the page cache on
    /// return; call [`Partition::sync`] for acks=all.
    pub fn append(&self, records: &[u8]) -> Result<AppendInfo> {
        let max = self.state.read().config.max_message_bytes;
        let headers = batch::validate_batches(records, max)?;
        if self.state.read().config.compact {
            check_keys(records, &headers, &self.topic, self.id)?;
        }
        let mut st = self.state.write();
        if headers.len() == 1 {
            if let SeqCheck::Duplicate(meta) = st.producers.check(&headers[0])? {
                // A retry of a batch already written: its original offsets, nothing appended.
                return Ok(AppendInfo {
                    base_offset: meta.base_offset,
                    last_offset: meta.last_offset,
                    log_append_time: -1,
                    log_start_offset: st.log_start(),
                });
            }
        } else if headers.iter().any(|h| h.producer_id >= 0) {
            let mut scratch = st.producers.clone();
            for h in &headers {
                if let SeqCheck::Duplicate(_) = scratch.check(h)? {
                    return Err(LogError::InvalidRequest(
                        "a retried idempotent batch must come alone in its partition's records"
                            .into(),
                    ));
                }
                scratch.record(h);
            }
        }
        let mut data = records.to_vec();
        let total = data.len() as u64;
        let cfg = Arc::clone(&st.config);
        let now = flusso_common::now_ms();
        {
            let active = st.active();
            let too_big = active.size + total > cfg.segment_bytes;
            let too_old = cfg.segment_ms >= 0 && now - active.opened_ms > cfg.segment_ms;
            if !active.is_empty() && (too_big || too_old) {
                self.roll(&mut st)?;
            }
        }
        let base = st.log_end();
        if base - st.active().base_offset + (headers.len() as i64) > u32::MAX as i64 / 2 {
            self.roll(&mut st)?;
        }
        let mut next = base;
        let mut pos = 0usize;
        let mut stamped = Vec::with_capacity(headers.len());
        for h in &headers {
            let len = h.total_len();
            let slice = &mut data[pos..pos + len];
            batch::set_base_offset(slice, next);
            let mut h2 = *h;
            h2.base_offset = next;
            if cfg.log_append_time {
                batch::set_log_append_time(slice, now);
                h2.max_timestamp = now;
            }
            stamped.push(h2);
            next = h2.next_offset();
            pos += len;
        }
        st.active_mut()
            .append(&data, &stamped, cfg.index_interval_bytes)?;
        for h in &stamped {
            st.producers.record(h);
        }
        let info = AppendInfo {
            base_offset: base,
            last_offset: next - 1,
            log_append_time: if cfg.log_append_time { now } else { -1 },
            log_start_offset: st.log_start(),
        };
        drop(st);
        self.end_tx.send_replace(next);
        Ok(info)
    }

    /// Closes the active segment (fsync, index files) and starts a new one at the log end.
    fn roll(&self, st: &mut State) -> Result<()> {
        let active = st.active();
        active.file.sync_data()?;
        active.write_indexes()?;
        let base = active.next_offset;
        self.write_producer_snapshot(st)?;
        let seg = Segment::create(&self.dir, base)?;
        st.segments.push(seg);
        self.flushed.fetch_max(base, Ordering::AcqRel);
        tracing::debug!(topic = %self.topic, partition = self.id, base, "segment rolled");
        Ok(())
    }

    /// Returns once every record below `upto` is fsynced. Concurrent callers share fsyncs: while
    /// one runs, the others queue, and the next one covers everything written meanwhile.
    pub async fn sync(&self, upto: i64) -> Result<()> {
        if self.flushed.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        let _guard = self.sync_lock.lock().await;
        if self.flushed.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        let (file, end) = {
            let st = self.state.read();
            (Arc::clone(&st.active().file), st.log_end())
        };
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| LogError::Io(std::io::Error::other(e)))??;
        self.flushed.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// Fsyncs everything written so far (blocking).
    pub fn sync_blocking(&self) -> Result<()> {
        let st = self.state.read();
        st.active().file.sync_data()?;
        self.flushed.fetch_max(st.log_end(), Ordering::AcqRel);
        Ok(())
    }

    /// Offset below which everything is on disk.
    pub fn flushed_offset(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// Writes the recovery point if it moved since the last checkpoint.
    pub(crate) fn checkpoint(&self) -> Result<()> {
        let flushed = self.flushed.load(Ordering::Acquire);
        if self.state.read().checkpointed == flushed {
            return Ok(());
        }
        index::write_synced(
            &self.dir.join(RECOVERY_POINT_FILE),
            flushed.to_string().as_bytes(),
        )?;
        self.state.write().checkpointed = flushed;
        Ok(())
    }

    /// Clean close: fsync, index files of the active segment, producer state, recovery point.
    pub(crate) fn close(&self) -> Result<()> {
        self.sync_blocking()?;
        {
            let st = self.state.read();
            st.active().write_indexes()?;
            self.write_producer_snapshot(&st)?;
        }
        self.checkpoint()
    }

    fn write_producer_snapshot(&self, st: &State) -> Result<()> {
        let snapshot = Snapshot {
            offset: st.log_end(),
            state: st.producers.clone(),
        };
        let json = serde_json::to_vec(&snapshot).map_err(|e| LogError::Io(e.into()))?;
        index::write_synced(&self.dir.join(PRODUCER_SNAPSHOT_FILE), &json)?;
        Ok(())
    }

    /// Reads whole batches starting with the one holding `offset`, at most `max_bytes` (but at least
    /// one batch when `min_one`). Reading at the log end returns no records.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<ReadResult> {
        let (slice, high_watermark, log_start_offset) = {
            let st = self.state.read();
            let (start, end) = (st.log_start(), st.log_end());
            if offset < start || offset > end {
                return Err(LogError::OffsetOutOfRange { offset, start, end });
            }
            let slice = self.locate(&st, offset);
            (slice, end, start)
        };
        let records = match slice {
            Some(slice) => segment::read_slice(&slice, max_bytes, min_one)?,
            None => Bytes::new(),
        };
        Ok(ReadResult {
            records,
            high_watermark,
            log_start_offset,
        })
    }

    fn locate(&self, st: &State, offset: i64) -> Option<ReadSlice> {
        let idx = st
            .segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        st.segments[idx..].iter().find_map(|s| s.slice_from(offset))
    }

    /// First record with a timestamp ≥ `timestamp`: (offset, timestamp); `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        let st = self.state.read();
        st.segments.iter().find_map(|s| s.find_timestamp(timestamp))
    }

    /// The record with the largest timestamp: (offset, timestamp).
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let st = self.state.read();
        let seg = st
            .segments
            .iter()
            .filter(|s| !s.is_empty())
            .max_by_key(|s| (s.max_timestamp, std::cmp::Reverse(s.base_offset)))?;
        seg.find_max_timestamp()
    }

    /// Headers of every batch, in order (for tests and tools).
    pub fn batch_headers(&self) -> Vec<BatchHeader> {
        let st = self.state.read();
        let mut out = Vec::new();
        for s in &st.segments {
            let mut pos = 0;
            while let Some(h) = s.header_at(pos) {
                pos += h.total_len() as u64;
                out.push(h);
            }
        }
        out
    }
}

/// Producer state: the snapshot if it is usable, then every batch header after it.
fn load_producers(dir: &Path, segments: &[Segment]) -> ProducerStates {
    let end = segments.last().map_or(0, |s| s.next_offset);
    let snapshot = fs::read(dir.join(PRODUCER_SNAPSHOT_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Snapshot>(&b).ok())
        .filter(|s| s.offset <= end);
    let (from, mut state) = match snapshot {
        Some(s) => (s.offset, s.state),
        None => (i64::MIN, ProducerStates::default()),
    };
    for seg in segments.iter().filter(|s| s.next_offset > from) {
        let mut pos = 0;
        while let Some(h) = seg.header_at(pos) {
            if h.base_offset >= from {
                state.record(&h);
            }
            pos += h.total_len() as u64;
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::{BatchBuilder, Record};

    fn batch(values: &[&str], ts: i64) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for v in values {
            b.push(&Record {
                key: None,
                value: Some(v.as_bytes()),
                headers: vec![],
                timestamp: ts,
            });
        }
        b.finish()
    }

    fn cfg(segment_bytes: u64) -> Arc<ResolvedConfig> {
        Arc::new(ResolvedConfig {
            segment_bytes,
            index_interval_bytes: 100,
            ..Default::default()
        })
    }

    fn values(p: &Partition, from: i64) -> Vec<String> {
        let r = p.read(from, usize::MAX, true).unwrap();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < r.records.len() {
            let h = BatchHeader::parse(&r.records[pos..]).unwrap();
            let bytes = r.records.slice(pos..pos + h.total_len());
            for rec in crate::storage::records::decode_shared(&bytes).unwrap() {
                if rec.offset >= from {
                    out.push(String::from_utf8(rec.value.unwrap().to_vec()).unwrap());
                }
            }
            pos += h.total_len();
        }
        out
    }

    #[test]
    fn append_read_roll_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = Partition::open(dir.path(), "t", 0, cfg(300), true).unwrap();
        for i in 0..20 {
            let info = p
                .append(&batch(&[&format!("a{i}"), &format!("b{i}")], 1000 + i))
                .unwrap();
            assert_eq!(info.base_offset, i * 2);
            assert_eq!(info.last_offset, i * 2 + 1);
        }
        assert!(p.segment_count() > 3);
        assert_eq!(p.offsets().log_end_offset, 40);
        let all: Vec<String> = (0..20)
            .flat_map(|i| [format!("a{i}"), format!("b{i}")])
            .collect();
        // Each read returns the rest of one segment; walk them all.
        let mut got = Vec::new();
        let mut next = 0;
        while next < 40 {
            let v = values(&p, next);
            assert!(!v.is_empty());
            next += v.len() as i64;
            got.extend(v);
        }
        assert_eq!(got, all);
        assert_eq!(values(&p, 17)[0], "b8");
        assert!(p.read(40, 1000, true).unwrap().records.is_empty());
        assert!(matches!(
            p.read(41, 1000, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(p.offset_for_timestamp(1005), Some((10, 1005)));
        assert_eq!(p.offset_for_timestamp(5000), None);
        assert_eq!(p.max_timestamp(), Some((38, 1019)));
        p.close().unwrap();
        drop(p);
        for (end, clean) in [(40, true), (41, false)] {
            let p = Partition::open(dir.path(), "t", 0, cfg(300), clean).unwrap();
            assert_eq!(p.offsets().log_end_offset, end);
            assert_eq!(values(&p, 21)[0], "b10");
            assert_eq!(p.offset_for_timestamp(1005), Some((10, 1005)));
            p.append(&batch(&["z"], 1)).unwrap();
            assert_eq!(p.offsets().log_end_offset, end + 1);
            p.close().unwrap();
        }
    }

    #[test]
    fn torn_tail_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), true).unwrap();
        for i in 0..5 {
            p.append(&batch(&[&format!("v{i}")], i)).unwrap();
        }
        let path = p.dir().join(segment::file_name(0, "log"));
        drop(p);
        let len = fs::metadata(&path).unwrap().len();
        // Cut the last batch in half.
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 10)
            .unwrap();
        let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), false).unwrap();
        assert_eq!(p.offsets().log_end_offset, 4);
        assert_eq!(p.append(&batch(&["new"], 9)).unwrap().base_offset, 4);
        assert_eq!(values(&p, 0), ["v0", "v1", "v2", "v3", "new"]);
        drop(p);
        // Garbage after the last batch.
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, &[0xAB; 200]).unwrap();
        drop(f);
        let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), false).unwrap();
        assert_eq!(p.offsets().log_end_offset, 5);
        assert_eq!(values(&p, 0).len(), 5);
    }

    #[test]
    fn corrupt_batch_is_rejected_and_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), true).unwrap();
        let mut good = batch(&["a"], 1);
        let mut bad = batch(&["b"], 1);
        let n = bad.len() - 1;
        bad[n] ^= 1;
        good.extend_from_slice(&bad);
        assert!(matches!(p.append(&good), Err(LogError::CorruptMessage(_))));
        assert_eq!(p.offsets().log_end_offset, 0);
    }

    #[test]
    fn idempotent_retries_are_not_appended_twice() {
        let dir = tempfile::tempdir().unwrap();
        let idem = |seq: i32, v: &str| {
            let mut b = BatchBuilder::new();
            b.push(&Record {
                key: None,
                value: Some(v.as_bytes()),
                headers: vec![],
                timestamp: 1,
            });
            b.push(&Record {
                key: None,
                value: Some(v.as_bytes()),
                headers: vec![],
                timestamp: 1,
            });
            b.set_producer(42, 0, seq);
            b.finish()
        };
        let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), true).unwrap();
        assert_eq!(p.append(&idem(0, "a")).unwrap().base_offset, 0);
        assert_eq!(p.append(&idem(2, "b")).unwrap().base_offset, 2);
        let retry = p.append(&idem(0, "a")).unwrap();
        assert_eq!((retry.base_offset, retry.last_offset), (0, 1));
        assert_eq!(p.offsets().log_end_offset, 4);
        assert!(matches!(
            p.append(&idem(9, "c")),
            Err(LogError::OutOfOrderSequence(_))
        ));
        p.close().unwrap();
        drop(p);
        // After a clean restart (snapshot) and after a crash (headers replayed) alike.
        for clean in [true, false] {
            if !clean {
                fs::remove_file(dir.path().join("t-0").join(PRODUCER_SNAPSHOT_FILE)).unwrap();
            }
            let p = Partition::open(dir.path(), "t", 0, cfg(1 << 30), clean).unwrap();
            assert_eq!(p.append(&idem(2, "b")).unwrap().base_offset, 2);
            assert_eq!(p.offsets().log_end_offset, 4);
        }
    }

    #[tokio::test]
    async fn group_commit_sync() {
        let dir = tempfile::tempdir().unwrap();
        let p = Arc::new(Partition::open(dir.path(), "t", 0, cfg(1 << 30), true).unwrap());
        let mut tasks = Vec::new();
        for i in 0..16 {
            let p = Arc::clone(&p);
            tasks.push(tokio::spawn(async move {
                let info = p.append(&batch(&[&format!("{i}")], i)).unwrap();
                p.sync(info.last_offset + 1).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(p.flushed_offset(), 16);
    }
}

#[cfg(test)]
mod maintenance_tests {
    use super::*;
    use crate::storage::batch::{BatchBuilder, Record};
    use crate::storage::records::decode_batch;

    fn keyed(key: &str, value: Option<&str>, ts: i64) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.push(&Record {
            key: Some(key.as_bytes()),
            value: value.map(str::as_bytes),
            headers: vec![],
            timestamp: ts,
        });
        b.finish()
    }

    fn all_records(p: &Partition) -> Vec<(i64, Option<String>, Option<String>)> {
        let mut out = Vec::new();
        let mut next = p.offsets().log_start_offset;
        let end = p.offsets().log_end_offset;
        while next < end {
            let r = p.read(next, 1 << 20, true).unwrap();
            if r.records.is_empty() {
                break;
            }
            let mut pos = 0;
            while pos < r.records.len() {
                let h = BatchHeader::parse(&r.records[pos..]).unwrap();
                for rec in decode_batch(&r.records[pos..pos + h.total_len()]).unwrap() {
                    if rec.offset >= next {
                        let s =
                            |b: Option<Bytes>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
                        out.push((rec.offset, s(rec.key), s(rec.value)));
                    }
                }
                next = next.max(h.next_offset());
                pos += h.total_len();
            }
        }
        out
    }

    fn open(dir: &Path, f: impl FnOnce(&mut ResolvedConfig)) -> Partition {
        let mut cfg = ResolvedConfig {
            segment_bytes: 400,
            index_interval_bytes: 100,
            ..Default::default()
        };
        f(&mut cfg);
        Partition::open(dir, "t", 0, Arc::new(cfg), true).unwrap()
    }

    #[test]
    fn retention_by_size_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |c| {
            c.retention_bytes = 1000;
            c.retention_ms = -1;
        });
        for i in 0..40 {
            p.append(&keyed("k", Some(&format!("v{i}")), 1_000 + i))
                .unwrap();
        }
        let before = p.segment_count();
        assert!(p.apply_retention(flusso_common::now_ms()).unwrap() > 0);
        assert!(p.segment_count() < before);
        let size = p.size_bytes();
        assert!((1000..1000 + 480).contains(&size), "{size}");
        let start = p.offsets().log_start_offset;
        assert!(start > 0);
        assert!(matches!(
            p.read(0, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(all_records(&p).first().unwrap().0, start);
        drop(p);

        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |c| c.retention_ms = 60_000);
        for i in 0..20 {
            p.append(&keyed("k", Some("old"), 1_000 + i)).unwrap();
        }
        let now = flusso_common::now_ms();
        p.append(&keyed("k", Some("new"), now)).unwrap();
        p.apply_retention(now).unwrap();
        assert_eq!(p.segment_count(), 1, "only the active segment is left");
        // -1 keeps everything.
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |c| c.retention_ms = -1);
        for i in 0..20 {
            p.append(&keyed("k", Some("old"), i)).unwrap();
        }
        assert_eq!(p.apply_retention(flusso_common::now_ms()).unwrap(), 0);
        assert_eq!(p.offsets().log_start_offset, 0);
    }

    #[test]
    fn delete_records_moves_the_log_start_durably() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |_| {});
        for i in 0..30 {
            p.append(&keyed("k", Some(&format!("v{i}")), i)).unwrap();
        }
        assert_eq!(p.delete_records(17).unwrap(), 17);
        assert!(matches!(
            p.read(16, 100, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(all_records(&p).first().unwrap().0, 17);
        assert!(matches!(
            p.delete_records(31),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        drop(p);
        let p = open(dir.path(), |_| {});
        assert_eq!(p.offsets().log_start_offset, 17);
        assert_eq!(p.delete_records(-1).unwrap(), 30);
    }

    #[test]
    fn compaction_keeps_the_latest_value_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |c| {
            c.compact = true;
            c.delete = false;
            c.delete_retention_ms = 0;
        });
        assert!(matches!(
            p.append(&{
                let mut b = BatchBuilder::new();
                b.push(&Record {
                    key: None,
                    value: Some(b"x"),
                    headers: vec![],
                    timestamp: 1,
                });
                b.finish()
            }),
            Err(LogError::InvalidRecord(_))
        ));
        for i in 0..300 {
            p.append(&keyed(
                &format!("k{}", i % 10),
                Some(&format!("v{i}")),
                1_000 + i,
            ))
            .unwrap();
        }
        p.append(&keyed("k3", None, 2_000)).unwrap(); // tombstone
        for i in 0..30 {
            p.append(&keyed("fresh", Some(&format!("f{i}")), 3_000 + i))
                .unwrap();
        }
        let before = all_records(&p);
        let stats = p.clean(flusso_common::now_ms(), false).unwrap().unwrap();
        assert!(stats.records_removed > 250, "{stats:?}");
        let after = all_records(&p);
        // Offsets stay, in order; every key's latest value survives; k3's tombstone and values go.
        assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
        let latest = |recs: &[(i64, Option<String>, Option<String>)]| {
            let mut m = std::collections::BTreeMap::new();
            for (o, k, v) in recs {
                m.insert(k.clone().unwrap(), (*o, v.clone()));
            }
            m
        };
        let mut expected = latest(&before);
        expected.remove("k3");
        let got = latest(&after);
        assert_eq!(got.get("k3"), None);
        for (k, v) in &expected {
            assert_eq!(got.get(k), Some(v), "key {k}");
        }
        let k0_count = after
            .iter()
            .filter(|r| r.1.as_deref() == Some("k0"))
            .count();
        assert_eq!(k0_count, 1);
        // Nothing dirty left: a second pass does nothing.
        assert_eq!(p.clean(flusso_common::now_ms(), false).unwrap(), None);
        drop(p);
        let p = open(dir.path(), |c| c.compact = true);
        assert_eq!(all_records(&p), after);
    }

    #[test]
    fn interrupted_swaps_leave_old_or_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), |c| c.compact = true);
        for i in 0..100 {
            p.append(&keyed(
                &format!("k{}", i % 3),
                Some(&format!("v{i}")),
                1_000 + i,
            ))
            .unwrap();
        }
        let old = all_records(&p);
        let pdir = p.dir().to_path_buf();
        p.close().unwrap();
        drop(p);
        // A half-written .cleaned file: discarded, the old segment stands.
        fs::write(pdir.join(segment::file_name(0, "cleaned")), b"garbage").unwrap();
        let p = open(dir.path(), |c| c.compact = true);
        assert_eq!(all_records(&p), old);
        p.clean(flusso_common::now_ms(), true).unwrap();
        let cleaned = all_records(&p);
        assert!(cleaned.len() < old.len());
        drop(p);
        // A .swap file (crash between the two renames): the new segment stands.
        let seg0 = pdir.join(segment::file_name(0, "log"));
        let swap = pdir.join(segment::file_name(0, "swap"));
        fs::copy(&seg0, &swap).unwrap();
        fs::write(&seg0, b"old contents that would not parse").unwrap();
        let p = open(dir.path(), |c| c.compact = true);
        assert!(!swap.exists());
        assert_eq!(all_records(&p), cleaned);
    }
}

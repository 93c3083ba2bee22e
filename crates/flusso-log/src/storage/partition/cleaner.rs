//! Log compaction for `cleanup.policy=compact` (and `compact,delete`): keeps the latest record of
//! each key in the closed segments, preserving offsets (gaps allowed) and order.
//!
//! A pass runs when the records written since the last pass make up at least
//! `min.cleanable.dirty.ratio` of the log; segments holding records younger than `min.compaction.lag.ms` are left
//! alone, and so is the active segment — though its keys count: a record is removed when a newer
//! record of its key exists anywhere in the log, so a fully cleaned log holds one record per key. Tombstones (null values) are removed once older than
//! `delete.retention.ms`; records without a key are removed. Batches that keep all their records are
//! copied unchanged (compression included); the others are rewritten, uncompressed.
//!
//! Crash safety: a cleaned segment is written to `<base>.cleaned` and fsynced, renamed to
//! `<base>.swap`, then renamed over `<base>.log`. At start-up a `.cleaned` file is discarded (the old
//! segment stands) and a `.swap` file completes its rename (the new segment stands): never a broken
//! one.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::{write_offset_file, Partition, CLEANER_POINT_FILE};
use crate::error::Result;
use crate::storage::batch::{BatchBuilder, BatchHeader, Record, HEADER_LEN};
use crate::storage::index;
use crate::storage::records::decode_batch;
use crate::storage::segment::{file_name, Segment};

/// What a cleaning pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// Segments rewritten.
    pub segments_cleaned: usize,
    /// Bytes of segments read.
    pub bytes_read: u64,
    /// Bytes of cleaned segments written.
    pub bytes_written: u64,
    /// Records removed.
    pub records_removed: u64,
}

/// Completes or discards a swap cut short by a crash (see the module docs).
pub(super) fn finish_interrupted_swaps(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(String::from) else {
            continue;
        };
        if name.ends_with(".cleaned") {
            fs::remove_file(&path)?;
        } else if let Some(base) = name.strip_suffix(".swap") {
            let log = dir.join(format!("{base}.log"));
            fs::rename(&path, &log)?;
            for ext in ["index", "timeindex"] {
                let _ = fs::remove_file(dir.join(format!("{base}.{ext}")));
            }
            tracing::warn!(segment = %log.display(), "completed a compaction swap cut short");
        }
    }
    index::sync_dir(dir)?;
    Ok(())
}

/// A closed segment as the cleaner sees it.
struct Closed {
    base: i64,
    file: Arc<File>,
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
}

/// Calls `f` with each whole batch of a segment file.
fn for_each_batch(
    seg: &Closed,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut pos = 0u64;
    let mut buf = Vec::new();
    while pos + HEADER_LEN as u64 <= seg.size {
        let mut head = [0u8; HEADER_LEN];
        seg.file.read_exact_at(&mut head, pos)?;
        let Some(h) = BatchHeader::parse(&head) else {
            break;
        };
        buf.resize(h.total_len(), 0);
        seg.file.read_exact_at(&mut buf, pos)?;
        f(&h, &buf)?;
        pos += h.total_len() as u64;
    }
    Ok(())
}

impl Partition {
    /// Runs one compaction pass if the topic is compacted and enough of it is dirty (or `force`).
    /// Returns `None` when there was nothing to do.
    pub fn clean(&self, now_ms: i64, force: bool) -> Result<Option<CleanStats>> {
        let _maintenance = self.maintenance.lock();
        let (cfg, closed, active, cleaner_point) = {
            let st = self.state.read();
            let snapshot = |s: &Segment| Closed {
                base: s.base_offset,
                file: Arc::clone(&s.file),
                size: s.size,
                next_offset: s.next_offset,
                max_timestamp: s.max_timestamp,
            };
            let closed: Vec<Closed> = st.segments[..st.segments.len() - 1]
                .iter()
                .map(snapshot)
                .collect();
            (
                Arc::clone(&st.config),
                closed,
                snapshot(st.active()),
                (st.cleaner_point, st.cleaner_seen_end),
            )
        };
        let (cleaned_upto, seen_end) = cleaner_point;
        if !cfg.compact {
            return Ok(None);
        }
        let lag_limit = now_ms.saturating_sub(cfg.min_compaction_lag_ms.max(0));
        let cleanable: Vec<&Closed> = closed
            .iter()
            .take_while(|s| s.max_timestamp <= lag_limit)
            .collect();
        // Dirty: closed segments not cleaned since they closed, and the active segment if it grew
        // since the last pass (its keys can make older records removable).
        let total: u64 = cleanable.iter().map(|s| s.size).sum::<u64>() + active.size;
        let grown = if active.next_offset > seen_end {
            active.size
        } else {
            0
        };
        let dirty: u64 = cleanable
            .iter()
            .filter(|s| s.next_offset > cleaned_upto)
            .map(|s| s.size)
            .sum::<u64>()
            + grown;
        if cleanable.is_empty()
            || (!force
                && (dirty == 0 || (dirty as f64) < cfg.min_cleanable_dirty_ratio * total as f64))
        {
            return Ok(None);
        }

        // Pass 1: the latest offset of every key, over the whole log as it is now (the active
        // segment included: a newer value there makes older ones removable, though the active
        // segment itself is never rewritten).
        let mut latest: HashMap<Bytes, i64> = HashMap::new();
        for seg in closed.iter().chain(std::iter::once(&active)) {
            for_each_batch(seg, |h, batch| {
                if h.is_control() {
                    return Ok(());
                }
                for r in decode_batch(batch)? {
                    if let Some(k) = r.key {
                        latest.insert(k, r.offset);
                    }
                }
                Ok(())
            })?;
        }

        // Pass 2: rewrite the segments that lose records.
        let horizon = now_ms.saturating_sub(cfg.delete_retention_ms.max(0));
        let mut stats = CleanStats::default();
        for seg in &cleanable {
            stats.bytes_read += seg.size;
            let mut out = Vec::with_capacity(seg.size as usize);
            let mut removed = 0u64;
            for_each_batch(seg, |h, batch| {
                if h.is_control() {
                    out.extend_from_slice(batch);
                    return Ok(());
                }
                let records = decode_batch(batch)?;
                let keep = |r: &crate::storage::records::DecodedRecord| {
                    r.key
                        .as_ref()
                        .is_some_and(|k| latest.get(k) == Some(&r.offset))
                        && !(r.value.is_none() && r.timestamp < horizon)
                };
                let kept: Vec<_> = records.iter().filter(|r| keep(r)).collect();
                removed += (records.len() - kept.len()) as u64;
                if kept.len() == records.len() {
                    out.extend_from_slice(batch);
                } else if !kept.is_empty() {
                    let mut b = BatchBuilder::new();
                    for r in kept {
                        let headers: Vec<(&str, Option<&[u8]>)> = r
                            .headers
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_deref()))
                            .collect();
                        b.push_at(
                            r.offset,
                            &Record {
                                key: r.key.as_deref(),
                                value: r.value.as_deref(),
                                headers,
                                timestamp: r.timestamp,
                            },
                        );
                    }
                    out.extend_from_slice(&b.finish());
                }
                Ok(())
            })?;
            if removed == 0 {
                continue;
            }
            self.swap_in(seg.base, &out, cfg.index_interval_bytes)?;
            stats.segments_cleaned += 1;
            stats.records_removed += removed;
            stats.bytes_written += out.len() as u64;
        }
        let upto = cleanable.last().map_or(cleaned_upto, |s| s.next_offset);
        write_offset_file(&self.dir, CLEANER_POINT_FILE, upto)?;
        let mut st = self.state.write();
        st.cleaner_point = upto;
        st.cleaner_seen_end = active.next_offset;
        if stats.segments_cleaned > 0 {
            tracing::info!(
                topic = %self.topic,
                partition = self.id,
                segments = stats.segments_cleaned,
                removed = stats.records_removed,
                "compacted"
            );
        }
        Ok(Some(stats))
    }

    /// Replaces segment `base` with `data` through the `.cleaned` → `.swap` → `.log` renames.
    fn swap_in(&self, base: i64, data: &[u8], interval: u64) -> Result<()> {
        let cleaned = self.dir.join(file_name(base, "cleaned"));
        let swap = self.dir.join(file_name(base, "swap"));
        {
            let mut f = File::create(&cleaned)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        fs::rename(&cleaned, &swap)?;
        index::sync_dir(&self.dir)?;
        let mut st = self.state.write();
        let Some(i) = st.segments.iter().position(|s| s.base_offset == base) else {
            // Deleted by retention meanwhile.
            fs::remove_file(&swap)?;
            return Ok(());
        };
        if i + 1 >= st.segments.len() {
            fs::remove_file(&swap)?;
            return Ok(());
        }
        fs::rename(&swap, self.dir.join(file_name(base, "log")))?;
        index::sync_dir(&self.dir)?;
        let (seg, _) = Segment::open(&self.dir, base, false, interval)?;
        seg.write_indexes()?;
        st.segments[i] = seg;
        Ok(())
    }
}

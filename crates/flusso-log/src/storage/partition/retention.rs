//! Retention and DeleteRecords: closed segments past `retention.ms` (by their largest timestamp)
//! or beyond `retention.bytes` are deleted whole, oldest first, and the log start offset advances;
//! DeleteRecords moves the log start offset to a requested offset. The active segment is never
//! deleted.

use std::sync::Arc;

use super::{write_offset_file, Partition, LOG_START_FILE};
use crate::error::{LogError, Result};
use crate::storage::segment::Segment;

impl Partition {
    /// Deletes the closed segments past the topic's retention; returns how many went.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize> {
        let _maintenance = self.maintenance.lock();
        let removed: Vec<Segment> = {
            let mut st = self.state.write();
            let cfg = Arc::clone(&st.config);
            if !cfg.delete {
                return Ok(0);
            }
            let mut total: u64 = st.segments.iter().map(|s| s.size).sum();
            let mut removed = Vec::new();
            while st.segments.len() > 1 {
                let first = &st.segments[0];
                let expired = cfg.retention_ms >= 0
                    && (first.max_timestamp < 0 || now_ms - first.max_timestamp > cfg.retention_ms);
                let oversized =
                    cfg.retention_bytes >= 0 && total - first.size >= cfg.retention_bytes as u64;
                if !(expired || oversized) {
                    break;
                }
                total -= first.size;
                removed.push(st.segments.remove(0));
            }
            removed
        };
        for seg in &removed {
            seg.delete_files()?;
        }
        if !removed.is_empty() {
            let start = self.offsets().log_start_offset;
            tracing::info!(
                topic = %self.topic,
                partition = self.id,
                segments = removed.len(),
                log_start = start,
                "retention deleted segments"
            );
        }
        Ok(removed.len())
    }

    /// Closes the active segment if it holds records and is older than `segment.ms`, so that an
    /// idle partition's last records also become subject to retention and compaction (Kafka rolls
    /// only on the next append). Returns whether it rolled.
    pub fn roll_if_old(&self, now_ms: i64) -> Result<bool> {
        let mut st = self.state.write();
        let segment_ms = st.config.segment_ms;
        let active = st.active();
        if active.is_empty() || segment_ms < 0 || now_ms - active.opened_ms <= segment_ms {
            return Ok(false);
        }
        self.roll(&mut st)?;
        Ok(true)
    }

    /// DeleteRecords: makes `offset` (or the high watermark, for -1) the log start offset, durably,
    /// deleting the segments wholly below it. Returns the new log start offset.
    pub fn delete_records(&self, offset: i64) -> Result<i64> {
        let _maintenance = self.maintenance.lock();
        let (start, removed) = {
            let mut st = self.state.write();
            let (start, end) = (st.log_start(), st.log_end());
            let target = if offset == -1 { end } else { offset };
            if target < 0 || target > end {
                return Err(LogError::OffsetOutOfRange { offset, start, end });
            }
            if target > start {
                write_offset_file(&self.dir, LOG_START_FILE, target)?;
                st.log_start = target;
            }
            let mut removed = Vec::new();
            while st.segments.len() > 1
                && st.segments[0].next_offset <= st.log_start
                && st.segments[1].base_offset <= st.log_start
            {
                removed.push(st.segments.remove(0));
            }
            (st.log_start(), removed)
        };
        for seg in &removed {
            seg.delete_files()?;
        }
        Ok(start)
    }
}

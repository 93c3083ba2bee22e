//! One segment of a partition: a `.log` file of v2 record batches named by its base offset,
//! with its sparse offset and time indexes.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::batch::{BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use super::index::{self, OffsetEntry, TimeEntry};
use super::records;
use crate::error::Result;

/// File name of a segment (or its index) for `base_offset`: 20 zero-padded digits, as Kafka.
pub(crate) fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// Where a read found its data: a file range to copy, outside any lock.
#[derive(Debug)]
pub(crate) struct ReadSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub end: u64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    /// Offset of the first record the segment may hold (its name).
    pub base_offset: i64,
    /// Path of the `.log` file.
    pub path: PathBuf,
    /// Shared so that reads copy data without holding the partition lock.
    pub file: Arc<File>,
    /// Bytes of whole batches in the file.
    pub size: u64,
    /// Offset after the last record in the segment (`base_offset` while empty).
    pub next_offset: i64,
    /// Largest record timestamp in the segment, -1 while empty.
    pub max_timestamp: i64,
    /// Wall-clock time the segment took its first batch in this process (for `segment.ms`).
    pub opened_ms: i64,
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    /// Bytes appended since the last index entry.
    bytes_since_entry: u64,
}

impl Segment {
    /// Creates a new, empty segment file.
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        index::sync_dir(dir)?;
        Ok(Segment {
            base_offset,
            path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            opened_ms: flusso_common::now_ms(),
            offsets: Vec::new(),
            times: Vec::new(),
            bytes_since_entry: 0,
        })
    }

    /// Opens an existing segment. With `trust_index` the index files are used and only the tail
    /// after the last index entry is read; otherwise (or when they are missing or malformed) the
    /// whole file is scanned, the first torn or corrupt batch and everything after it truncated,
    /// and the indexes rebuilt. Returns the segment and whether anything was truncated.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        trust_index: bool,
        index_interval: u64,
    ) -> Result<(Segment, bool)> {
        let path = dir.join(file_name(base_offset, "log"));
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let file_len = file.metadata()?.len();
        let mut seg = Segment {
            base_offset,
            path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            opened_ms: flusso_common::now_ms(),
            offsets: Vec::new(),
            times: Vec::new(),
            bytes_since_entry: 0,
        };
        if trust_index {
            let offsets = index::read_offset_index(&seg.index_path("index"), file_len.max(1));
            let times = index::read_time_index(&seg.index_path("timeindex"));
            if let (Some(offsets), Some(times)) = (offsets, times) {
                let start = offsets.last().map_or(0, |e| e.position as u64);
                seg.max_timestamp = times.last().map_or(-1, |t| t.timestamp);
                seg.offsets = offsets;
                seg.times = times;
                let torn = seg.scan_from(start, file_len, index_interval, false)?;
                if !torn {
                    return Ok((seg, false));
                }
                // The tail does not parse although the shutdown was clean: scan it all.
            }
        }
        seg.offsets.clear();
        seg.times.clear();
        seg.max_timestamp = -1;
        seg.next_offset = base_offset;
        seg.bytes_since_entry = 0;
        let torn = seg.scan_from(0, file_len, index_interval, true)?;
        if torn {
            seg.file.set_len(seg.size)?;
            seg.file.sync_all()?;
        }
        Ok((seg, torn))
    }

    /// Walks batches from `start` to `file_len`, updating size, next offset, max timestamp and (if
    /// `rebuild`) the indexes. Stops at the first batch that is torn or fails its checks and
    /// returns true if it stopped before `file_len`.
    fn scan_from(
        &mut self,
        start: u64,
        file_len: u64,
        interval: u64,
        rebuild: bool,
    ) -> Result<bool> {
        let mut pos = start;
        const CHUNK: usize = 1 << 20;
        let mut buf = Vec::new();
        while pos < file_len {
            let mut head = [0u8; HEADER_LEN];
            if file_len - pos < HEADER_LEN as u64
                || self.file.read_exact_at(&mut head, pos).is_err()
            {
                break;
            }
            let Some(h) = BatchHeader::parse(&head) else {
                break;
            };
            let len = h.total_len() as u64;
            let plausible = h.magic == 2
                && h.batch_length as usize >= HEADER_LEN - LOG_OVERHEAD
                && pos + len <= file_len
                && h.base_offset >= self.next_offset
                && h.last_offset_delta >= 0;
            if !plausible {
                break;
            }
            if rebuild {
                buf.resize(len as usize, 0);
                if self.file.read_exact_at(&mut buf, pos).is_err() {
                    break;
                }
                if crc32c::crc32c(&buf[21..]) != h.crc {
                    break;
                }
                if buf.capacity() > CHUNK * 4 {
                    buf = Vec::new();
                }
                self.note_batch(&h, pos, interval);
            } else {
                self.next_offset = h.next_offset();
                self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
            }
            pos += len;
        }
        self.size = pos;
        Ok(pos < file_len)
    }

    /// Records a batch written at `position` in the indexes and counters.
    fn note_batch(&mut self, h: &BatchHeader, position: u64, interval: u64) {
        let rel = (h.base_offset - self.base_offset) as u32;
        if self.offsets.is_empty() || self.bytes_since_entry >= interval {
            self.offsets.push(OffsetEntry {
                rel_offset: rel,
                position: position as u32,
            });
            if self.max_timestamp > self.times.last().map_or(i64::MIN, |t| t.timestamp) {
                self.times.push(TimeEntry {
                    timestamp: self.max_timestamp,
                    rel_offset: rel,
                });
            }
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry += h.total_len() as u64;
        self.next_offset = h.next_offset();
        self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
    }

    /// Appends already validated and offset-stamped batches.
    pub fn append(&mut self, data: &[u8], headers: &[BatchHeader], interval: u64) -> Result<()> {
        if let Err(e) = self.file.write_all_at(data, self.size) {
            // Leave no partial batch behind: the file ends where the last whole batch ended.
            let _ = self.file.set_len(self.size);
            return Err(e.into());
        }
        if self.offsets.is_empty() {
            self.opened_ms = flusso_common::now_ms();
        }
        let mut pos = self.size;
        for h in headers {
            self.note_batch(h, pos, interval);
            pos += h.total_len() as u64;
        }
        self.size = pos;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    fn index_path(&self, ext: &str) -> PathBuf {
        self.path.with_extension(ext)
    }

    /// Writes both index files (with fsync): done when the segment is closed and at shutdown.
    pub fn write_indexes(&self) -> Result<()> {
        index::write_offset_index(&self.index_path("index"), &self.offsets)?;
        index::write_time_index(&self.index_path("timeindex"), &self.times)?;
        Ok(())
    }

    /// Removes the segment's files.
    pub fn delete_files(&self) -> Result<()> {
        for p in [
            self.path.clone(),
            self.index_path("index"),
            self.index_path("timeindex"),
        ] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Reads the batch header at `pos`.
    pub fn header_at(&self, pos: u64) -> Option<BatchHeader> {
        if pos + HEADER_LEN as u64 > self.size {
            return None;
        }
        let mut head = [0u8; HEADER_LEN];
        self.file.read_exact_at(&mut head, pos).ok()?;
        BatchHeader::parse(&head)
    }

    /// Position of the batch holding `offset` (or the first batch after it, for gaps), or `None`
    /// when every batch in the segment ends before `offset`.
    pub fn position_of(&self, offset: i64) -> Option<u64> {
        if offset >= self.next_offset {
            return None;
        }
        let rel = (offset - self.base_offset).max(0) as u32;
        let mut pos = index::lookup_offset(&self.offsets, rel).map_or(0, |e| e.position as u64);
        while let Some(h) = self.header_at(pos) {
            if h.last_offset() >= offset {
                return Some(pos);
            }
            pos += h.total_len() as u64;
        }
        None
    }

    /// The file range to read for a fetch at `offset`.
    pub fn slice_from(&self, offset: i64) -> Option<ReadSlice> {
        let position = self.position_of(offset)?;
        Some(ReadSlice {
            file: Arc::clone(&self.file),
            position,
            end: self.size,
        })
    }

    /// First record at or after `timestamp`: its offset and timestamp.
    pub fn find_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        if self.max_timestamp < timestamp {
            return None;
        }
        let start = index::lookup_time(&self.times, timestamp)
            .map_or(self.base_offset, |t| self.base_offset + t.rel_offset as i64);
        let mut pos = self.position_of(start)?;
        while let Some(h) = self.header_at(pos) {
            if h.max_timestamp >= timestamp {
                return Some(self.record_in_batch(&h, pos, |ts| ts >= timestamp));
            }
            pos += h.total_len() as u64;
        }
        None
    }

    /// The record holding the segment's largest timestamp: its offset and timestamp.
    pub fn find_max_timestamp(&self) -> Option<(i64, i64)> {
        let mut pos = 0;
        let mut best: Option<(BatchHeader, u64)> = None;
        while let Some(h) = self.header_at(pos) {
            if best.is_none_or(|(b, _)| h.max_timestamp > b.max_timestamp) {
                best = Some((h, pos));
            }
            pos += h.total_len() as u64;
        }
        let (h, pos) = best?;
        let max = h.max_timestamp;
        Some(self.record_in_batch(&h, pos, |ts| ts == max))
    }

    /// Offset and timestamp of the first record of the batch at `pos` matching `pred` (the records
    /// are decoded, compressed or not); the batch's base offset if it cannot be decoded.
    fn record_in_batch(&self, h: &BatchHeader, pos: u64, pred: impl Fn(i64) -> bool) -> (i64, i64) {
        let mut buf = vec![0u8; h.total_len()];
        if self.file.read_exact_at(&mut buf, pos).is_ok() {
            if let Ok(records) = records::decode_batch(&buf) {
                let log_append = h.attributes & 0x08 != 0;
                for r in records {
                    let ts = if log_append {
                        h.max_timestamp
                    } else {
                        r.timestamp
                    };
                    if pred(ts) {
                        return (r.offset, ts);
                    }
                }
            }
        }
        (h.base_offset, h.max_timestamp)
    }
}

/// Copies a file range into memory, keeping only whole batches and at most `max_bytes`, but always
/// at least the first batch whole when `min_one` is set (so an oversized batch still makes
/// progress, as Kafka's fetch does).
pub(crate) fn read_slice(slice: &ReadSlice, max_bytes: usize, min_one: bool) -> Result<Bytes> {
    let available = (slice.end - slice.position) as usize;
    let mut want = available.min(max_bytes);
    if min_one && available >= HEADER_LEN {
        let mut head = [0u8; HEADER_LEN];
        slice.file.read_exact_at(&mut head, slice.position)?;
        if let Some(h) = BatchHeader::parse(&head) {
            want = want.max(h.total_len().min(available));
        }
    }
    let mut buf = vec![0u8; want];
    slice.file.read_exact_at(&mut buf, slice.position)?;
    // Trim to whole batches.
    let mut pos = 0;
    while pos + LOG_OVERHEAD <= buf.len() {
        let len = i32::from_be_bytes([buf[pos + 8], buf[pos + 9], buf[pos + 10], buf[pos + 11]]);
        let total = LOG_OVERHEAD + len.max(0) as usize;
        if pos + total > buf.len() {
            break;
        }
        pos += total;
    }
    buf.truncate(pos);
    Ok(Bytes::from(buf))
}

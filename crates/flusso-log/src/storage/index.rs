//! Sparse per-segment indexes: offset → file position, and timestamp → offset.
//!
//! Both live in memory while the segment is open and are written whole to `.index` and
//! `.timeindex` files (with fsync) when a segment is closed and at clean shutdown. On disk an
//! offset entry is `relative offset u32, position u32` and a time entry is
//! `timestamp i64, relative offset u32`, both big-endian.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Offset index entry: a batch starting at `base + rel_offset` begins at byte `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub rel_offset: u32,
    pub position: u32,
}

/// Time index entry: every record before `base + rel_offset` has a timestamp ≤ `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub rel_offset: u32,
}

/// Largest entry whose offset is ≤ `rel_offset` (the place to start scanning for it).
pub(crate) fn lookup_offset(entries: &[OffsetEntry], rel_offset: u32) -> Option<OffsetEntry> {
    let idx = entries.partition_point(|e| e.rel_offset <= rel_offset);
    idx.checked_sub(1).map(|i| entries[i])
}

/// Last entry whose timestamp is below `target`: every record before its offset is older than
/// `target`, so a search for `target` may start there.
pub(crate) fn lookup_time(entries: &[TimeEntry], target: i64) -> Option<TimeEntry> {
    let idx = entries.partition_point(|e| e.timestamp < target);
    idx.checked_sub(1).map(|i| entries[i])
}

pub(crate) fn write_offset_index(path: &Path, entries: &[OffsetEntry]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(entries.len() * 8);
    for e in entries {
        buf.extend_from_slice(&e.rel_offset.to_be_bytes());
        buf.extend_from_slice(&e.position.to_be_bytes());
    }
    write_synced(path, &buf)
}

pub(crate) fn write_time_index(path: &Path, entries: &[TimeEntry]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(entries.len() * 12);
    for e in entries {
        buf.extend_from_slice(&e.timestamp.to_be_bytes());
        buf.extend_from_slice(&e.rel_offset.to_be_bytes());
    }
    write_synced(path, &buf)
}

/// Reads an offset index; `None` when missing or malformed (then it is rebuilt by a scan).
pub(crate) fn read_offset_index(path: &Path, segment_size: u64) -> Option<Vec<OffsetEntry>> {
    let buf = fs::read(path).ok()?;
    if buf.len() % 8 != 0 {
        return None;
    }
    let entries: Vec<OffsetEntry> = buf
        .chunks_exact(8)
        .map(|c| OffsetEntry {
            rel_offset: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            position: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let sorted = entries
        .windows(2)
        .all(|w| w[0].rel_offset < w[1].rel_offset && w[0].position < w[1].position);
    let in_bounds = entries
        .last()
        .is_none_or(|e| (e.position as u64) < segment_size);
    (sorted && in_bounds).then_some(entries)
}

/// Reads a time index; `None` when missing or malformed.
pub(crate) fn read_time_index(path: &Path) -> Option<Vec<TimeEntry>> {
    let buf = fs::read(path).ok()?;
    if buf.len() % 12 != 0 {
        return None;
    }
    let entries: Vec<TimeEntry> = buf
        .chunks_exact(12)
        .map(|c| TimeEntry {
            timestamp: i64::from_be_bytes(c[0..8].try_into().unwrap_or_default()),
            rel_offset: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
        })
        .collect();
    let sorted = entries
        .windows(2)
        .all(|w| w[0].timestamp < w[1].timestamp && w[0].rel_offset <= w[1].rel_offset);
    sorted.then_some(entries)
}

/// Writes `data` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
pub(crate) fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Fsyncs a directory so that created, renamed and deleted entries are durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let e = [
            OffsetEntry {
                rel_offset: 0,
                position: 0,
            },
            OffsetEntry {
                rel_offset: 10,
                position: 4000,
            },
            OffsetEntry {
                rel_offset: 20,
                position: 8000,
            },
        ];
        assert_eq!(lookup_offset(&e, 0).unwrap().position, 0);
        assert_eq!(lookup_offset(&e, 15).unwrap().position, 4000);
        assert_eq!(lookup_offset(&e, 99).unwrap().position, 8000);
        assert_eq!(lookup_offset(&[], 5), None);
        let t = [
            TimeEntry {
                timestamp: 100,
                rel_offset: 5,
            },
            TimeEntry {
                timestamp: 200,
                rel_offset: 9,
            },
        ];
        assert_eq!(lookup_time(&t, 100), None);
        assert_eq!(lookup_time(&t, 150).unwrap().rel_offset, 5);
        assert_eq!(lookup_time(&t, 500).unwrap().rel_offset, 9);
    }

    #[test]
    fn files_roundtrip_and_reject_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let e = vec![
            OffsetEntry {
                rel_offset: 0,
                position: 0,
            },
            OffsetEntry {
                rel_offset: 3,
                position: 90,
            },
        ];
        write_offset_index(&p, &e).unwrap();
        assert_eq!(read_offset_index(&p, 100).unwrap(), e);
        assert!(read_offset_index(&p, 50).is_none());
        fs::write(&p, [1, 2, 3]).unwrap();
        assert!(read_offset_index(&p, 100).is_none());
        let tp = dir.path().join("0.timeindex");
        let t = vec![TimeEntry {
            timestamp: 7,
            rel_offset: 1,
        }];
        write_time_index(&tp, &t).unwrap();
        assert_eq!(read_time_index(&tp).unwrap(), t);
    }
}

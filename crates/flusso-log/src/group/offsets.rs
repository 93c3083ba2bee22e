//! Committed offsets of consumer groups, kept in memory and in the compacted internal topic
//! `__consumer_offsets`, replayed at start-up. A commit is answered only after its record is
//! fsynced, so an acknowledged commit survives a crash.
//!
//! Record key: `1u8, group (u16 length + bytes), topic (u16 length + bytes), partition i32`;
//! value: JSON of [`Committed`]; a null value (tombstone) deletes the offset.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::storage::batch::{BatchBuilder, BatchHeader, Record};
use crate::storage::records;
use crate::storage::Partition;

/// Name of the internal topic holding committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// Next offset to read.
    pub offset: i64,
    /// Leader epoch the client saw, or -1.
    pub leader_epoch: i32,
    /// Free text the client attached.
    pub metadata: Option<String>,
    /// When it was committed (ms).
    pub commit_timestamp: i64,
}

type GroupOffsets = BTreeMap<(String, i32), Committed>;

/// The committed offsets of every group.
#[derive(Debug)]
pub struct OffsetStore {
    partition: Arc<Partition>,
    offsets: Mutex<HashMap<String, GroupOffsets>>,
}

fn key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + group.len() + topic.len());
    k.push(1);
    k.extend_from_slice(&(group.len() as u16).to_be_bytes());
    k.extend_from_slice(group.as_bytes());
    k.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    k.extend_from_slice(topic.as_bytes());
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

fn parse_key(k: &[u8]) -> Option<(String, String, i32)> {
    if k.first() != Some(&1) {
        return None;
    }
    let mut pos = 1;
    let mut text = || -> Option<String> {
        let len = u16::from_be_bytes(k.get(pos..pos + 2)?.try_into().ok()?) as usize;
        let s = String::from_utf8(k.get(pos + 2..pos + 2 + len)?.to_vec()).ok()?;
        pos += 2 + len;
        Some(s)
    };
    let group = text()?;
    let topic = text()?;
    let partition = i32::from_be_bytes(k.get(pos..pos + 4)?.try_into().ok()?);
    Some((group, topic, partition))
}

impl OffsetStore {
    /// Loads every committed offset from the internal topic's partition.
    pub fn load(partition: Arc<Partition>) -> Result<OffsetStore> {
        let mut offsets: HashMap<String, GroupOffsets> = HashMap::new();
        let end = partition.offsets().log_end_offset;
        let mut next = partition.offsets().log_start_offset;
        while next < end {
            let read = partition.read(next, 4 << 20, true)?;
            if read.records.is_empty() {
                break;
            }
            let mut pos = 0;
            while pos < read.records.len() {
                let Some(h) = BatchHeader::parse(&read.records[pos..]) else {
                    break;
                };
                let bytes = read.records.slice(pos..pos + h.total_len());
                for r in records::decode_shared(&bytes).unwrap_or_default() {
                    if r.offset < next {
                        continue;
                    }
                    let Some((group, topic, p)) = r.key.as_deref().and_then(parse_key) else {
                        continue;
                    };
                    match r
                        .value
                        .as_deref()
                        .and_then(|v| serde_json::from_slice::<Committed>(v).ok())
                    {
                        Some(c) => {
                            offsets.entry(group).or_default().insert((topic, p), c);
                        }
                        None => {
                            if let Some(g) = offsets.get_mut(&group) {
                                g.remove(&(topic, p));
                            }
                        }
                    }
                }
                next = next.max(h.next_offset());
                pos += h.total_len();
            }
        }
        Ok(OffsetStore {
            partition,
            offsets: Mutex::new(offsets),
        })
    }

    /// Groups that have committed offsets.
    pub fn groups(&self) -> Vec<String> {
        self.offsets
            .lock()
            .iter()
            .filter(|(_, o)| !o.is_empty())
            .map(|(g, _)| g.clone())
            .collect()
    }

    /// Writes commits (and, with `None`, deletions) durably, then applies them.
    pub async fn write(
        &self,
        group: &str,
        entries: Vec<(String, i32, Option<Committed>)>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = flusso_common::now_ms();
        let mut builder = BatchBuilder::new();
        let encoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = entries
            .iter()
            .map(|(t, p, c)| {
                let value = c
                    .as_ref()
                    .map(|c| serde_json::to_vec(c).unwrap_or_default());
                (key(group, t, *p), value)
            })
            .collect();
        for (k, v) in &encoded {
            builder.push(&Record {
                key: Some(k),
                value: v.as_deref(),
                headers: vec![],
                timestamp: now,
            });
        }
        // Append and apply under one lock, so the map follows the log's order; then wait for the
        // fsync outside it, so that concurrent commits share fsyncs (group commit).
        let upto = {
            let mut offsets = self.offsets.lock();
            let info = self.partition.append(&builder.finish())?;
            let g = offsets.entry(group.to_string()).or_default();
            for (t, p, c) in entries {
                match c {
                    Some(c) => {
                        g.insert((t, p), c);
                    }
                    None => {
                        g.remove(&(t, p));
                    }
                }
            }
            info.last_offset + 1
        };
        self.partition.sync(upto).await
    }

    /// The committed offset of one partition.
    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<Committed> {
        self.offsets
            .lock()
            .get(group)?
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    /// Every committed offset of a group.
    pub fn group(&self, group: &str) -> Vec<(String, i32, Committed)> {
        self.offsets
            .lock()
            .get(group)
            .map(|g| {
                g.iter()
                    .map(|((t, p), c)| (t.clone(), *p, c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Deletes every offset of a group.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let entries = self
            .group(group)
            .into_iter()
            .map(|(t, p, _)| (t, p, None))
            .collect();
        self.write(group, entries).await?;
        self.offsets.lock().remove(group);
        Ok(())
    }

    /// Deletes every group's offsets of a deleted topic (tombstones written, fsync not awaited).
    pub fn remove_topic(&self, topic: &str) -> Result<()> {
        let mut offsets = self.offsets.lock();
        let now = flusso_common::now_ms();
        let mut builder = BatchBuilder::new();
        let mut keys = Vec::new();
        for (group, g) in offsets.iter_mut() {
            let gone: Vec<(String, i32)> = g.keys().filter(|(t, _)| t == topic).cloned().collect();
            for (t, p) in gone {
                g.remove(&(t.clone(), p));
                keys.push(key(group, &t, p));
            }
        }
        for k in &keys {
            builder.push(&Record {
                key: Some(k),
                value: None,
                headers: vec![],
                timestamp: now,
            });
        }
        if !builder.is_empty() {
            self.partition.append(&builder.finish())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roundtrip() {
        let k = key("grp", "orders", 7);
        assert_eq!(parse_key(&k), Some(("grp".into(), "orders".into(), 7)));
        assert_eq!(parse_key(&k[..k.len() - 1]), None);
        assert_eq!(parse_key(b"\x02"), None);
    }
}

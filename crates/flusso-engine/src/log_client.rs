//! Topic I/O for the engine: the [`LogClient`] trait and its in-process implementation over the
//! embedded log ([`EmbeddedLog`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flusso_log::{decode_shared, BatchBuilder, Committed, Log, LogError, Record, TopicConfig};

pub use flusso_log::DecodedRecord as InRecord;

use crate::error::{EngineError, Result};

/// A record the engine writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutRecord {
    /// Key bytes; `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Timestamp in ms.
    pub timestamp: i64,
    /// Headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// What the engine needs from a Kafka-compatible log.
#[async_trait]
pub trait LogClient: Send + Sync + 'static {
    /// Creates a topic; `Ok(false)` if it already existed.
    async fn create_topic(&self, name: &str, partitions: i32, compacted: bool) -> Result<bool>;
    /// Partition count of a topic, `None` when it does not exist.
    async fn partitions(&self, topic: &str) -> Result<Option<i32>>;
    /// Every topic name.
    async fn topics(&self) -> Result<Vec<String>>;
    /// Deletes a topic.
    async fn delete_topic(&self, topic: &str) -> Result<()>;
    /// Appends records to one partition, in order.
    async fn produce(&self, topic: &str, partition: i32, records: &[OutRecord]) -> Result<()>;
    /// Reads records from `offset` (at most about `max_bytes`).
    async fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Vec<InRecord>>;
    /// The log start and end offsets of a partition.
    async fn offsets(&self, topic: &str, partition: i32) -> Result<(i64, i64)>;
    /// Commits a consumer group's offsets durably.
    async fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()>;
    /// A group's committed offsets.
    async fn committed(&self, group: &str) -> Result<Vec<(String, i32, i64)>>;
    /// Deletes a group's committed offsets.
    async fn delete_group(&self, group: &str) -> Result<()>;
    /// Waits until one of the partitions has data past the given offset, or the timeout.
    async fn wait_for_data(&self, positions: &[(String, i32, i64)], timeout: Duration);
}

/// Bytes of records per batch [`EmbeddedLog::produce`] appends.
const PRODUCE_BATCH_BYTES: usize = 512 * 1024;

/// `max.message.bytes` of the compacted topics Flusso creates (changelogs and table sinks): one
/// record holds a whole group's state or row, which can outgrow Kafka's default 1 MiB (a
/// COUNT_DISTINCT's set, a COLLECT_LIST).
pub const COMPACTED_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The embedded log, called in-process.
#[derive(Clone)]
pub struct EmbeddedLog {
    log: Log,
}

impl EmbeddedLog {
    /// Wraps an open log.
    pub fn new(log: Log) -> Arc<EmbeddedLog> {
        Arc::new(EmbeddedLog { log })
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }
}

fn log_err(e: LogError) -> EngineError {
    EngineError::Log(e.to_string())
}

#[async_trait]
impl LogClient for EmbeddedLog {
    async fn create_topic(&self, name: &str, partitions: i32, compacted: bool) -> Result<bool> {
        if self.log.topic(name).is_some() {
            return Ok(false);
        }
        let mut config = TopicConfig::default();
        if compacted {
            config
                .overrides
                .insert("cleanup.policy".into(), "compact".into());
            config.overrides.insert(
                "max.message.bytes".into(),
                COMPACTED_MAX_MESSAGE_BYTES.to_string(),
            );
        }
        match self.log.create_topic(name, partitions, config) {
            Ok(_) => Ok(true),
            Err(LogError::TopicExists(_)) => Ok(false),
            Err(e) => Err(log_err(e)),
        }
    }

    async fn partitions(&self, topic: &str) -> Result<Option<i32>> {
        Ok(self.log.topic(topic).map(|t| t.partition_count()))
    }

    async fn topics(&self) -> Result<Vec<String>> {
        Ok(self
            .log
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .collect())
    }

    async fn delete_topic(&self, topic: &str) -> Result<()> {
        self.log.delete_topic(topic).map_err(log_err)
    }

    async fn produce(&self, topic: &str, partition: i32, records: &[OutRecord]) -> Result<()> {
        // Records go in batches of at most about PRODUCE_BATCH_BYTES, so that a query's step
        // never writes a batch over the topic's max.message.bytes (1 MiB by default).
        let size = |r: &OutRecord| {
            24 + r.key.as_ref().map_or(0, |k| k.len())
                + r.value.as_ref().map_or(0, |v| v.len())
                + r.headers
                    .iter()
                    .map(|(k, v)| 8 + k.len() + v.as_ref().map_or(0, |v| v.len()))
                    .sum::<usize>()
        };
        let mut start = 0;
        while start < records.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < records.len()
                && (end == start || bytes + size(&records[end]) <= PRODUCE_BATCH_BYTES)
            {
                bytes += size(&records[end]);
                end += 1;
            }
            let mut builder = BatchBuilder::with_capacity(bytes);
            for r in &records[start..end] {
                builder.push(&Record {
                    key: r.key.as_deref(),
                    value: r.value.as_deref(),
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_deref()))
                        .collect(),
                    timestamp: r.timestamp,
                });
            }
            self.log
                .append(topic, partition, &builder.finish())
                .map_err(log_err)?;
            start = end;
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
        let read = self
            .log
            .read(topic, partition, offset, max_bytes)
            .map_err(log_err)?;
        // Sized once: grown record by record, the vector of a 1 MiB read was copied a dozen
        // times into ever larger, freshly faulted-in memory.
        // A record takes at least seven bytes (its length, attributes, timestamp and offset
        // deltas, key and value lengths, header count), whatever a corrupt header says.
        let mut count = 0;
        let mut pos = 0;
        while let Some(header) = read
            .records
            .get(pos..)
            .and_then(flusso_log::BatchHeader::parse)
        {
            count += usize::try_from(header.records_count).unwrap_or(0);
            pos += header.total_len();
        }
        let mut out = Vec::with_capacity(count.min(read.records.len() / 7));
        let mut pos = 0;
        while let Some(header) = flusso_log::BatchHeader::parse(&read.records[pos..]) {
            let len = header.total_len();
            if len > read.records.len() - pos {
                break;
            }
            if !header.is_control() {
                let batch = read.records.slice(pos..pos + len);
                let records = decode_shared(&batch).map_err(log_err)?;
                out.extend(records.into_iter().filter(|r| r.offset >= offset));
            }
            pos += len;
        }
        Ok(out)
    }

    async fn offsets(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let o = self.log.offsets(topic, partition).map_err(log_err)?;
        Ok((o.log_start_offset, o.log_end_offset))
    }

    async fn commit(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        let entries = offsets
            .iter()
            .map(|(t, p, o)| {
                (
                    t.clone(),
                    *p,
                    Some(Committed {
                        offset: *o,
                        leader_epoch: -1,
                        metadata: None,
                        commit_timestamp: flusso_common::now_ms(),
                    }),
                )
            })
            .collect();
        self.log
            .committed_offsets()
            .write(group, entries)
            .await
            .map_err(log_err)
    }

    async fn committed(&self, group: &str) -> Result<Vec<(String, i32, i64)>> {
        Ok(self
            .log
            .committed_offsets()
            .group(group)
            .into_iter()
            .map(|(t, p, c)| (t, p, c.offset))
            .collect())
    }

    async fn delete_group(&self, group: &str) -> Result<()> {
        self.log
            .committed_offsets()
            .delete_group(group)
            .await
            .map_err(log_err)
    }

    async fn wait_for_data(&self, positions: &[(String, i32, i64)], timeout: Duration) {
        let mut receivers = Vec::new();
        for (t, p, offset) in positions {
            if let Ok(part) = self.log.partition(t, *p) {
                if part.offsets().log_end_offset > *offset {
                    return;
                }
                receivers.push(part.subscribe());
            }
        }
        if receivers.is_empty() {
            tokio::time::sleep(timeout).await;
            return;
        }
        let waits = receivers.into_iter().map(|mut rx| {
            Box::pin(async move {
                let _ = rx.changed().await;
            })
        });
        let _ = tokio::time::timeout(timeout, futures::future::select_all(waits)).await;
    }
}

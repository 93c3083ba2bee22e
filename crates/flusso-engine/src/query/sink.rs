//! `TopicSink`: output rows encoded with the sink's formats and routed to partitions as Kafka's
//! default partitioner does (murmur2 of the key bytes).

use std::collections::BTreeMap;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::ScalarValue;

use crate::catalog::Source;
use crate::log_client::OutRecord;
use crate::types::SqlType;

/// Kafka's murmur2 (as in `org.apache.kafka.common.utils.Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    let seed: u32 = 0x9747_b28c;
    let m: u32 = 0x5bd1_e995;
    let r = 24;
    let len = data.len();
    let mut h: u32 = seed ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(m);
        k ^= k >> r;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a keyed record.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

/// Encodes output rows into records grouped by partition.
pub struct RowEncoder<'a> {
    /// The sink.
    pub sink: &'a Source,
    /// Its partition count.
    pub partitions: i32,
    /// The key was computed (PARTITION BY, INSERT VALUES) rather than carried from the source
    /// record: a multi-column key of nulls is then still written, as ksqlDB writes it.
    pub computed_key: bool,
    /// The sink's key columns.
    key_cols: Vec<(String, SqlType)>,
    /// The sink's value columns.
    value_cols: Vec<(String, SqlType)>,
}

impl<'a> RowEncoder<'a> {
    /// The encoder of rows into `sink`, of `partitions` partitions.
    pub fn new(sink: &'a Source, partitions: i32, computed_key: bool) -> RowEncoder<'a> {
        RowEncoder {
            sink,
            partitions,
            computed_key,
            key_cols: sink.key_columns(),
            value_cols: sink.value_columns(),
        }
    }

    /// Encodes one row. `value` is `None` for a tombstone.
    pub fn encode(
        &self,
        key: &[ScalarValue],
        value: Option<&[ScalarValue]>,
        timestamp: i64,
        source_partition: i32,
        headers: Vec<(String, Option<Vec<u8>>)>,
        out: &mut BTreeMap<i32, Vec<OutRecord>>,
    ) -> Result<(), String> {
        self.encode_windowed(key, None, value, timestamp, source_partition, headers, out)
    }

    /// Encodes one row of a windowed table: the key's bytes are followed by the window, as
    /// Kafka Streams writes windowed keys (time windows: the start, 8 bytes big-endian; session
    /// windows: the end then the start). The partition is chosen from the key alone.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_windowed(
        &self,
        key: &[ScalarValue],
        window: Option<(i64, i64)>,
        value: Option<&[ScalarValue]>,
        timestamp: i64,
        source_partition: i32,
        headers: Vec<(String, Option<Vec<u8>>)>,
        out: &mut BTreeMap<i32, Vec<OutRecord>>,
    ) -> Result<(), String> {
        let (key_cols, value_cols) = (&self.key_cols, &self.value_cols);
        let all_null = key.iter().all(|k| k.is_null());
        let key_bytes = if all_null
            && !key.is_empty()
            && (key.len() == 1
                || !self.computed_key
                || self.sink.key_format.kind == crate::format::FormatKind::Delimited)
        {
            None
        } else {
            self.sink.key_format.encode(key, key_cols, true)?
        };
        let value_bytes = match value {
            Some(v) => self.sink.value_format.encode(v, value_cols, false)?,
            None => None,
        };
        let partition = match &key_bytes {
            Some(k) => partition_for(k, self.partitions),
            None => source_partition % self.partitions.max(1),
        };
        let key_bytes = match (window, &self.sink.window) {
            (Some((start, end)), Some(info)) => {
                let mut k = key_bytes.unwrap_or_default();
                window_suffix(&mut k, *info, start, end);
                Some(k)
            }
            _ => key_bytes,
        };
        out.entry(partition).or_default().push(OutRecord {
            key: key_bytes,
            value: value_bytes,
            timestamp,
            headers,
        });
        Ok(())
    }
}

/// Appends a window to a key's bytes as Kafka Streams does.
pub fn window_suffix(key: &mut Vec<u8>, info: crate::catalog::WindowInfo, start: i64, end: i64) {
    match info {
        crate::catalog::WindowInfo::Time { .. } => key.extend_from_slice(&start.to_be_bytes()),
        crate::catalog::WindowInfo::Session => {
            key.extend_from_slice(&end.to_be_bytes());
            key.extend_from_slice(&start.to_be_bytes());
        }
    }
}

/// Splits a windowed key's bytes into the key and its window (start, end).
pub fn split_windowed(
    bytes: &[u8],
    info: crate::catalog::WindowInfo,
) -> Option<(&[u8], (i64, i64))> {
    let read = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    match info {
        crate::catalog::WindowInfo::Time { size, .. } => {
            let at = bytes.len().checked_sub(8)?;
            let start = read(&bytes[at..])?;
            Some((&bytes[..at], (start, start.saturating_add(size))))
        }
        crate::catalog::WindowInfo::Session => {
            let at = bytes.len().checked_sub(16)?;
            let end = read(&bytes[at..at + 8])?;
            let start = read(&bytes[at + 8..])?;
            Some((&bytes[..at], (start, end)))
        }
    }
}

/// The cell of row `i` of a column.
pub fn cell(array: &ArrayRef, i: usize) -> Result<ScalarValue, String> {
    ScalarValue::try_from_array(array, i).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}

//! Records inside any v2 batch, compressed (gzip, snappy, lz4, zstd) or not, decoded with the
//! `kafka-protocol` crate. Used where the log must look inside batches: compaction, the key check
//! of compacted topics, and offset lookups by timestamp.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use crate::error::{LogError, Result};

/// One record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp (the append time for LogAppendTime batches).
    pub timestamp: i64,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` for a tombstone.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Decodes every record of one batch.
pub fn decode_batch(batch: &[u8]) -> Result<Vec<DecodedRecord>> {
    let mut buf = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut buf)
        .map_err(|e| LogError::CorruptMessage(format!("cannot decode records: {e}")))?;
    Ok(set
        .records
        .into_iter()
        .map(|r| DecodedRecord {
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::{BatchBuilder, Record};

    #[test]
    fn decodes_built_batches_with_gaps() {
        let mut b = BatchBuilder::new();
        b.push_at(
            10,
            &Record {
                key: Some(b"a"),
                value: Some(b"1"),
                headers: vec![],
                timestamp: 5,
            },
        );
        b.push_at(
            13,
            &Record {
                key: Some(b"b"),
                value: None,
                headers: vec![("h", None)],
                timestamp: 7,
            },
        );
        let batch = b.finish();
        let h = crate::storage::batch::BatchHeader::parse(&batch).unwrap();
        assert_eq!((h.base_offset, h.last_offset()), (10, 13));
        let records = decode_batch(&batch).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].offset, 13);
        assert_eq!(records[1].value, None);
        assert_eq!(records[1].timestamp, 7);
        assert_eq!(records[1].headers[0].0, "h");
        assert!(decode_batch(&batch[..20]).is_err());
    }
}

//! Records inside any v2 batch, compressed (gzip, snappy, lz4, zstd) or not, decoded with the
//! `kafka-protocol` crate, or read in place when uncompressed ([`decode_shared`]). Used where the
//! log must look inside batches: compaction, the key check of compacted topics, offset lookups
//! by timestamp, the committed offsets, and the engine's reads.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use crate::error::{LogError, Result};
use crate::storage::batch::{read_varint, BatchHeader, CRC_START, HEADER_LEN};

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

/// [`decode_batch`] of a batch held in shared bytes: an uncompressed batch whose CRC holds is
/// read here, its keys, values and headers slices of `batch` (no copy); any other goes to
/// [`decode_batch`].
pub fn decode_shared(batch: &Bytes) -> Result<Vec<DecodedRecord>> {
    match decode_uncompressed_shared(batch) {
        Some(records) => Ok(records),
        None => decode_batch(batch),
    }
}

fn decode_uncompressed_shared(batch: &Bytes) -> Option<Vec<DecodedRecord>> {
    let header = BatchHeader::parse(batch)?;
    let end = header.total_len();
    if header.compression() != 0
        || batch.len() < end
        || end < HEADER_LEN
        || crc32c::crc32c(&batch[CRC_START..end]) != header.crc
    {
        return None;
    }
    let mut pos = HEADER_LEN;
    let next = |pos: &mut usize| -> Option<i64> {
        let (v, used) = read_varint(batch.get(*pos..end)?)?;
        *pos += used;
        Some(v)
    };
    let bytes = |pos: &mut usize| -> Option<Option<Bytes>> {
        let len = next(pos)?;
        if len < 0 {
            return Some(None);
        }
        let to = pos.checked_add(usize::try_from(len).ok()?)?;
        if to > end {
            return None;
        }
        let b = batch.slice(*pos..to);
        *pos = to;
        Some(Some(b))
    };
    let mut out = Vec::with_capacity(header.records_count.max(0) as usize);
    for _ in 0..header.records_count {
        let len = usize::try_from(next(&mut pos)?).ok()?;
        let record_end = pos.checked_add(len)?;
        pos += 1; // attributes
        let ts_delta = next(&mut pos)?;
        let off_delta = next(&mut pos)?;
        let key = bytes(&mut pos)?;
        let value = bytes(&mut pos)?;
        let n_headers = next(&mut pos)?;
        let mut headers = Vec::new();
        for _ in 0..n_headers.max(0) {
            let name = bytes(&mut pos)?.unwrap_or_default();
            let value = bytes(&mut pos)?;
            headers.push((String::from_utf8_lossy(&name).into_owned(), value));
        }
        if pos != record_end {
            return None;
        }
        let timestamp = match header.attributes & 0x08 {
            0 => header.first_timestamp + ts_delta,
            // LogAppendTime: every record takes the batch's max timestamp.
            _ => header.max_timestamp,
        };
        out.push(DecodedRecord {
            offset: header.base_offset + off_delta,
            timestamp,
            key,
            value,
            headers,
        });
    }
    (pos == end).then_some(out)
}

/// Decodes every record of one batch.
pub fn decode_batch(batch: &[u8]) -> Result<Vec<DecodedRecord>> {
    let mut buf = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut buf)
        .map_err(|e| LogError::CorruptMessage(format!("cannot decode records: {e}")))?;
    // LogAppendTime: every record takes the batch's max timestamp, the append time.
    let append_time = BatchHeader::parse(batch)
        .filter(|h| h.attributes & 0x08 != 0)
        .map(|h| h.max_timestamp);
    Ok(set
        .records
        .into_iter()
        .map(|r| DecodedRecord {
            offset: r.offset,
            timestamp: append_time.unwrap_or(r.timestamp),
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
        let h = BatchHeader::parse(&batch).unwrap();
        assert_eq!((h.base_offset, h.last_offset()), (10, 13));
        let records = decode_batch(&batch).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].offset, 13);
        assert_eq!(records[1].value, None);
        assert_eq!(records[1].timestamp, 7);
        assert_eq!(records[1].headers[0].0, "h");
        assert!(decode_batch(&batch[..20]).is_err());
    }

    /// The shared-bytes reader gives what the `kafka-protocol` decoder gives, and hands a
    /// batch it cannot read (corrupt, cut short) to it.
    #[test]
    fn shared_decoding_agrees() {
        let mut b = BatchBuilder::new();
        let big = vec![b'x'; 300];
        for i in 0..6i64 {
            let key = format!("k{i}");
            b.push_at(
                100 + i * 2,
                &Record {
                    key: (i != 2).then_some(key.as_bytes()),
                    value: (i != 3).then_some(&big[..(i as usize) * 50]),
                    headers: match i {
                        4 => vec![("a", Some(b"1".as_slice())), ("b", None)],
                        _ => vec![],
                    },
                    timestamp: 1_000 + i * 7,
                },
            );
        }
        let batch = b.finish();
        let shared = Bytes::from(batch.clone());
        assert_eq!(
            decode_shared(&shared).unwrap(),
            decode_batch(&batch).unwrap()
        );
        let mut appended = batch.clone();
        crate::storage::batch::set_log_append_time(&mut appended, 99_999);
        assert_eq!(
            decode_shared(&Bytes::from(appended.clone())).unwrap(),
            decode_batch(&appended).unwrap()
        );
        assert_eq!(decode_batch(&appended).unwrap()[0].timestamp, 99_999);
        let mut corrupt = batch.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert!(decode_uncompressed_shared(&Bytes::from(corrupt)).is_none());
        assert!(decode_shared(&shared.slice(..40)).is_err());
    }
}

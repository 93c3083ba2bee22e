//! Kafka v2 record batches: header parsing and the checks every incoming batch passes.
//!
//! Layout of a batch (all big-endian):
//!
//! ```text
//! 0  baseOffset i64        | 8  batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
//! 17 crc u32 (CRC-32C of bytes 21..)          | 21 attributes i16 | 23 lastOffsetDelta i32
//! 27 firstTimestamp i64    | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
//! 53 baseSequence i32      | 57 recordsCount i32 | 61 records…
//! ```
//!
//! The broker stores batches exactly as the producer sent them; only the base offset (and, for
//! topics with `message.timestamp.type=LogAppendTime`, the timestamps and therefore the CRC) are
//! rewritten.

use crate::error::{LogError, Result};

/// Bytes before `batchLength` counts: the base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed v2 batch header.
pub const HEADER_LEN: usize = 61;
pub(crate) const CRC_START: usize = 21;
const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

/// The fixed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Length of the batch after the `batchLength` field.
    pub batch_length: i32,
    /// Format version; always 2 for accepted batches.
    pub magic: i8,
    /// CRC-32C of everything from the attributes on.
    pub crc: u32,
    /// Compression (bits 0-2), timestamp type (bit 3), transactional (4), control (5).
    pub attributes: i16,
    /// Offset of the last record relative to the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub first_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Idempotent producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `buf`; `None` when fewer than [`HEADER_LEN`] bytes.
    pub fn parse(buf: &[u8]) -> Option<Self> {
        if buf.len() < HEADER_LEN {
            return None;
        }
        let i64_at = |o: usize| i64::from_be_bytes(buf[o..o + 8].try_into().unwrap_or_default());
        let i32_at = |o: usize| i32::from_be_bytes(buf[o..o + 4].try_into().unwrap_or_default());
        let i16_at = |o: usize| i16::from_be_bytes(buf[o..o + 2].try_into().unwrap_or_default());
        Some(BatchHeader {
            base_offset: i64_at(0),
            batch_length: i32_at(8),
            magic: buf[16] as i8,
            crc: i32_at(17) as u32,
            attributes: i16_at(21),
            last_offset_delta: i32_at(23),
            first_timestamp: i64_at(27),
            max_timestamp: i64_at(35),
            producer_id: i64_at(43),
            producer_epoch: i16_at(51),
            base_sequence: i32_at(53),
            records_count: i32_at(57),
        })
    }

    /// Whole size of the batch on disk, including the offset and length fields.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Offset after the last record.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & 0x07
    }

    /// Whether the batch was written by a transactional producer.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Whether the batch is a control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// Splits `buf` (the `records` field of a produce request) into batches, checking each one:
/// magic 2, length, CRC-32C, record count. Returns the headers in order.
pub fn validate_batches(buf: &[u8], max_batch_bytes: usize) -> Result<Vec<BatchHeader>> {
    let mut headers = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let header = BatchHeader::parse(rest).ok_or_else(|| {
            LogError::CorruptMessage(format!("truncated batch header ({} bytes)", rest.len()))
        })?;
        if header.magic != 2 {
            return Err(LogError::CorruptMessage(format!(
                "unsupported magic {} (only v2 record batches are accepted)",
                header.magic
            )));
        }
        if (header.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(LogError::CorruptMessage(format!(
                "batch length {} is shorter than a header",
                header.batch_length
            )));
        }
        let len = header.total_len();
        if len > rest.len() {
            return Err(LogError::CorruptMessage(format!(
                "batch length {len} runs past the end of the request ({} bytes)",
                rest.len()
            )));
        }
        if len > max_batch_bytes {
            return Err(LogError::RecordTooLarge {
                size: len,
                max: max_batch_bytes,
            });
        }
        let batch = &rest[..len];
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        if crc != header.crc {
            return Err(LogError::CorruptMessage(format!(
                "crc mismatch: stored {:#010x}, computed {crc:#010x}",
                header.crc
            )));
        }
        check_record_count(&header, &batch[HEADER_LEN..])?;
        headers.push(header);
        pos += len;
    }
    if headers.is_empty() {
        return Err(LogError::CorruptMessage(
            "no record batch in request".into(),
        ));
    }
    Ok(headers)
}

/// Checks the record count: it must be positive and agree with the last offset delta, and for
/// uncompressed batches it must equal the number of records actually present.
fn check_record_count(header: &BatchHeader, body: &[u8]) -> Result<()> {
    if header.records_count <= 0 || header.last_offset_delta != header.records_count - 1 {
        return Err(LogError::CorruptMessage(format!(
            "record count {} does not match last offset delta {}",
            header.records_count, header.last_offset_delta
        )));
    }
    if header.compression() != 0 {
        return Ok(());
    }
    let mut pos = 0;
    let mut count = 0i32;
    while pos < body.len() {
        let (len, used) = read_varint(&body[pos..])
            .ok_or_else(|| LogError::CorruptMessage("bad record length varint".into()))?;
        if len < 0 || pos + used + len as usize > body.len() {
            return Err(LogError::CorruptMessage(format!(
                "record length {len} out of bounds"
            )));
        }
        pos += used + len as usize;
        count += 1;
    }
    if count != header.records_count {
        return Err(LogError::CorruptMessage(format!(
            "batch declares {} records but holds {count}",
            header.records_count
        )));
    }
    Ok(())
}

/// Whether an uncompressed batch holds a record without a key, read from the record headers
/// alone; `None` for a compressed batch or one whose records do not parse.
pub fn has_null_key(batch: &[u8]) -> Option<bool> {
    let header = BatchHeader::parse(batch)?;
    if header.attributes & 0x07 != 0 {
        return None;
    }
    let mut rest = batch.get(HEADER_LEN..)?;
    for _ in 0..header.records_count {
        let (len, n) = read_varint(rest)?;
        let record = rest.get(n..n + usize::try_from(len).ok()?)?;
        // attributes (1 byte), timestampDelta, offsetDelta, then the key's length.
        let mut pos = 1;
        for _ in 0..2 {
            pos += read_varint(record.get(pos..)?)?.1;
        }
        if read_varint(record.get(pos..)?)?.0 < 0 {
            return Some(true);
        }
        rest = &rest[n + record.len()..];
    }
    Some(false)
}

/// Reads a zig-zag varint (Kafka's `varint`), returning the value and the bytes used.
pub fn read_varint(buf: &[u8]) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in buf.iter().enumerate().take(10) {
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            let decoded = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Some((decoded, i + 1));
        }
    }
    None
}

/// Bytes [`write_varint`] writes for `value`.
fn varint_len(value: i64) -> usize {
    let v = ((value << 1) ^ (value >> 63)) as u64;
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Writes a zig-zag varint.
pub fn write_varint(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Sets the base offset of the batch at the start of `batch` (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Stamps a batch with the broker's append time (LogAppendTime): sets the timestamp-type bit and
/// the max timestamp, then recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = i16::from_be_bytes([batch[21], batch[22]]) | ATTR_TIMESTAMP_TYPE;
    batch[21..23].copy_from_slice(&attrs.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// One record to put in a batch built by [`BatchBuilder`].
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    /// Record key, `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// Record value, `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// Headers: name and optional value.
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: i64,
}

/// Builds uncompressed v2 record batches, for in-process producers (the SQL engine, tests and
/// benchmarks) that append without going through a Kafka client.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    records: Vec<u8>,
    count: i32,
    first_ts: i64,
    max_ts: i64,
    /// Idempotent producer id, epoch and base sequence of the next batch.
    producer: Option<(i64, i16, i32)>,
    /// With [`BatchBuilder::push_at`]: offset of the first record.
    base_offset: Option<i64>,
    /// Offset delta of the last record pushed.
    last_delta: i32,
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for about `bytes` of records.
    pub fn with_capacity(bytes: usize) -> Self {
        BatchBuilder {
            records: Vec::with_capacity(HEADER_LEN + bytes),
            ..Self::default()
        }
    }

    /// Adds a record that keeps the absolute `offset` it has in a log (offsets may leave gaps, as
    /// in a compacted partition; they must increase). Do not mix with [`BatchBuilder::push`].
    pub fn push_at(&mut self, offset: i64, record: &Record<'_>) {
        let base = *self.base_offset.get_or_insert(offset);
        self.push_delta((offset - base).clamp(0, i32::MAX as i64) as i32, record);
    }

    /// Adds a record.
    pub fn push(&mut self, record: &Record<'_>) {
        self.push_delta(self.count, record);
    }

    fn push_delta(&mut self, delta: i32, record: &Record<'_>) {
        if self.count == 0 {
            self.first_ts = record.timestamp;
            self.max_ts = record.timestamp;
        }
        if self.records.is_empty() {
            // Room for the header, filled in by `finish`.
            self.records.resize(HEADER_LEN, 0);
        }
        self.max_ts = self.max_ts.max(record.timestamp);
        let ts_delta = record.timestamp - self.first_ts;
        let bytes_len = |b: Option<&[u8]>| match b {
            Some(b) => varint_len(b.len() as i64) + b.len(),
            None => 1,
        };
        let body_len = 1
            + varint_len(ts_delta)
            + varint_len(delta as i64)
            + bytes_len(record.key)
            + bytes_len(record.value)
            + varint_len(record.headers.len() as i64)
            + record
                .headers
                .iter()
                .map(|(name, value)| bytes_len(Some(name.as_bytes())) + bytes_len(*value))
                .sum::<usize>();
        let out = &mut self.records;
        out.reserve(body_len + 5);
        write_varint(out, body_len as i64);
        out.push(0); // attributes
        write_varint(out, ts_delta);
        write_varint(out, delta as i64);
        self.last_delta = delta;
        write_bytes(out, record.key);
        write_bytes(out, record.value);
        write_varint(out, record.headers.len() as i64);
        for (name, value) in &record.headers {
            write_bytes(out, Some(name.as_bytes()));
            write_bytes(out, *value);
        }
        self.count += 1;
    }

    /// Marks the batch being built as written by idempotent producer `id` at `epoch`, its first
    /// record carrying sequence number `base_sequence`.
    pub fn set_producer(&mut self, id: i64, epoch: i16, base_sequence: i32) {
        self.producer = Some((id, epoch, base_sequence));
    }

    /// Number of records pushed so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Finishes the batch and resets the builder. Its base offset is 0 (the log assigns the real
    /// one on append), or the first offset given to [`BatchBuilder::push_at`].
    pub fn finish(&mut self) -> Vec<u8> {
        if self.records.is_empty() {
            self.records.resize(HEADER_LEN, 0);
        }
        let body = self.records.len() - HEADER_LEN;
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&self.base_offset.take().unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + body) as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
        out.push(2); // magic
        out.extend_from_slice(&[0; 4]); // crc, filled below
        out.extend_from_slice(&0i16.to_be_bytes()); // attributes
        out.extend_from_slice(&self.last_delta.to_be_bytes());
        out.extend_from_slice(&self.first_ts.to_be_bytes());
        out.extend_from_slice(&self.max_ts.to_be_bytes());
        let (pid, epoch, seq) = self.producer.take().unwrap_or((-1, -1, -1));
        out.extend_from_slice(&pid.to_be_bytes());
        out.extend_from_slice(&epoch.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        let mut batch = std::mem::take(&mut self.records);
        batch[..HEADER_LEN].copy_from_slice(&out);
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        self.count = 0;
        self.last_delta = 0;
        batch
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => write_varint(out, -1),
        Some(b) => {
            write_varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::records::decode_shared;
    use bytes::Bytes;

    fn sample(n: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        for i in 0..n {
            let v = format!("value-{i}");
            b.push(&Record {
                key: Some(b"k"),
                value: Some(v.as_bytes()),
                headers: vec![("h", Some(b"x"))],
                timestamp: 1000 + i as i64,
            });
        }
        b.finish()
    }

    #[test]
    fn built_batches_validate_and_decode() {
        let batch = sample(3);
        let headers = validate_batches(&batch, 1 << 20).unwrap();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].records_count, 3);
        assert_eq!(headers[0].max_timestamp, 1002);
        let recs = decode_shared(&Bytes::from(batch.clone())).unwrap();
        assert_eq!(recs[2].value.as_deref(), Some(&b"value-2"[..]));
        assert_eq!(recs[1].offset, 1);
        assert_eq!(recs[0].headers[0].0, "h");
    }

    #[test]
    fn varint_lengths_and_null_keys() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            8192,
            i32::MAX as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(varint_len(v), out.len(), "{v}");
            assert_eq!(read_varint(&out), Some((v, out.len())));
        }
        // Large values and many records, with and without a keyless one, decode as pushed.
        let big = vec![7u8; 70_000];
        for null_at in [None, Some(0), Some(4)] {
            let mut b = BatchBuilder::with_capacity(16);
            for i in 0..5 {
                let key = format!("k{i}");
                b.push(&Record {
                    key: (Some(i) != null_at).then_some(key.as_bytes()),
                    value: (i % 2 == 0).then_some(&big[..i * 10_000]),
                    headers: vec![("h", None)],
                    timestamp: -5 + i as i64 * 1_000_000,
                });
            }
            let batch = b.finish();
            validate_batches(&batch, 1 << 20).unwrap();
            assert_eq!(has_null_key(&batch), Some(null_at.is_some()));
            let recs = decode_shared(&Bytes::from(batch.clone())).unwrap();
            assert_eq!(recs.len(), 5);
            assert_eq!(recs[4].value.as_deref().map(<[u8]>::len), Some(40_000));
            assert_eq!(recs[3].value, None);
            assert_eq!(recs[4].timestamp, 3_999_995);
        }
        assert_eq!(has_null_key(&sample(3)), Some(false));
        assert!(BatchBuilder::new().finish().len() == HEADER_LEN);
    }

    #[test]
    fn corruption_is_detected() {
        let mut batch = sample(2);
        let last = batch.len() - 1;
        batch[last] ^= 0xff;
        assert!(matches!(
            validate_batches(&batch, 1 << 20),
            Err(LogError::CorruptMessage(_))
        ));
        let batch = sample(2);
        assert!(validate_batches(&batch[..batch.len() - 3], 1 << 20).is_err());
        let mut bad_magic = sample(1);
        bad_magic[16] = 1;
        assert!(validate_batches(&bad_magic, 1 << 20).is_err());
        assert!(matches!(
            validate_batches(&sample(1), 10),
            Err(LogError::RecordTooLarge { .. })
        ));
        assert!(validate_batches(&[], 100).is_err());
    }

    #[test]
    fn record_count_must_match() {
        let mut batch = sample(2);
        batch[57..61].copy_from_slice(&3i32.to_be_bytes());
        batch[23..27].copy_from_slice(&2i32.to_be_bytes());
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(validate_batches(&batch, 1 << 20).is_err());
    }

    #[test]
    fn log_append_time_keeps_crc_valid() {
        let mut batch = sample(2);
        set_base_offset(&mut batch, 42);
        set_log_append_time(&mut batch, 99);
        let h = validate_batches(&batch, 1 << 20).unwrap()[0];
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.max_timestamp, 99);
        assert_eq!(h.attributes & ATTR_TIMESTAMP_TYPE, ATTR_TIMESTAMP_TYPE);
    }

    #[test]
    fn varints_roundtrip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            300,
            -300,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(read_varint(&out), Some((v, out.len())));
        }
    }
}

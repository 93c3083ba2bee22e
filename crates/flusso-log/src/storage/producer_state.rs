//! Idempotent producers: per partition, the epoch and the last five batches (sequence range and
//! offsets) of each producer id. A retried batch among those five is answered with its original
//! offsets instead of being appended again; a gap in sequence numbers is refused with
//! OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch with INVALID_PRODUCER_EPOCH.
//!
//! The state is rebuilt at start-up from a snapshot (written when a segment rolls and at clean
//! shutdown) plus the batch headers after it.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::batch::BatchHeader;
use crate::error::LogError;

/// Batches remembered per producer (Kafka's `max.in.flight.requests.per.connection` bound).
const REMEMBERED: usize = 5;

/// One appended batch of an idempotent producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// What to do with an incoming batch.
#[derive(Debug)]
pub(crate) enum SeqCheck {
    /// Not idempotent, or the next batch in sequence: append it.
    Append,
    /// A retry of a batch already in the log.
    Duplicate(BatchMeta),
}

fn last_seq(h: &BatchHeader) -> i32 {
    // Sequences wrap around at i32::MAX.
    ((h.base_sequence as i64 + h.last_offset_delta as i64) % (i32::MAX as i64 + 1)) as i32
}

/// The producer state of one partition.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Checks a batch before it is appended.
    pub fn check(&self, h: &BatchHeader) -> Result<SeqCheck, LogError> {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return Ok(SeqCheck::Append);
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown to this partition (new producer, or its state expired): accept.
            return Ok(SeqCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(LogError::InvalidProducerEpoch(format!(
                "producer {} epoch {} is older than the current epoch {}",
                h.producer_id, h.producer_epoch, entry.epoch
            )));
        }
        if h.producer_epoch > entry.epoch {
            if h.base_sequence != 0 {
                return Err(LogError::OutOfOrderSequence(format!(
                    "producer {} starts epoch {} at sequence {}, expected 0",
                    h.producer_id, h.producer_epoch, h.base_sequence
                )));
            }
            return Ok(SeqCheck::Append);
        }
        let last = last_seq(h);
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last)
        {
            return Ok(SeqCheck::Duplicate(*dup));
        }
        if let Some(prev) = entry.batches.back() {
            let expected = if prev.last_seq == i32::MAX {
                0
            } else {
                prev.last_seq + 1
            };
            if h.base_sequence != expected {
                return Err(LogError::OutOfOrderSequence(format!(
                    "producer {} sent sequence {}, expected {expected}",
                    h.producer_id, h.base_sequence
                )));
            }
        }
        Ok(SeqCheck::Append)
    }

    /// Records a batch that was appended (its header carries the assigned base offset).
    pub fn record(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: last_seq(h),
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
        });
        while entry.batches.len() > REMEMBERED {
            entry.batches.pop_front();
        }
    }
}

/// A snapshot on disk: the state after every batch below `offset`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub offset: i64,
    pub state: ProducerStates,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            batch_length: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            first_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: count,
        }
    }

    #[test]
    fn sequences() {
        let mut s = ProducerStates::default();
        let b0 = header(7, 0, 0, 3, 0);
        assert!(matches!(s.check(&b0), Ok(SeqCheck::Append)));
        s.record(&b0);
        // Retry of the same batch: its original offsets.
        match s.check(&header(7, 0, 0, 3, 99)) {
            Ok(SeqCheck::Duplicate(m)) => assert_eq!((m.base_offset, m.last_offset), (0, 2)),
            other => panic!("{other:?}"),
        }
        // A gap.
        assert!(matches!(
            s.check(&header(7, 0, 5, 1, 0)),
            Err(LogError::OutOfOrderSequence(_))
        ));
        let b1 = header(7, 0, 3, 2, 3);
        assert!(matches!(s.check(&b1), Ok(SeqCheck::Append)));
        s.record(&b1);
        // New epoch must restart at 0; old epoch is fenced.
        assert!(matches!(
            s.check(&header(7, 1, 4, 1, 0)),
            Err(LogError::OutOfOrderSequence(_))
        ));
        s.record(&header(7, 1, 0, 1, 5));
        assert!(matches!(
            s.check(&header(7, 0, 5, 1, 0)),
            Err(LogError::InvalidProducerEpoch(_))
        ));
        // Non-idempotent batches always pass.
        assert!(matches!(
            s.check(&header(-1, -1, -1, 1, 0)),
            Ok(SeqCheck::Append)
        ));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            s.record(&header(1, 0, i, 1, i as i64));
        }
        assert!(matches!(
            s.check(&header(1, 0, 6, 1, 0)),
            Ok(SeqCheck::Duplicate(_))
        ));
        assert!(matches!(
            s.check(&header(1, 0, 2, 1, 0)),
            Ok(SeqCheck::Duplicate(_))
        ));
        assert!(s.check(&header(1, 0, 1, 1, 0)).is_err());
    }
}

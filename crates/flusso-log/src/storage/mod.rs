//! On-disk storage: v2 record batches in segments with sparse indexes, per-partition append and
//! read paths, group-commit fsync and crash recovery.

pub mod batch;
pub(crate) mod index;
mod partition;
mod producer_state;
pub mod records;
mod segment;

pub use partition::{AppendInfo, CleanStats, Partition, PartitionOffsets, ReadResult};

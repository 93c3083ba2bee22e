//! `flusso-log`: Flusso's embedded, durable, Kafka-protocol-compatible event log.
//!
//! # Layout
//! - [`Log`] (`log.rs`): the topics and their durable metadata, start-up recovery, clean shutdown,
//!   and the in-process API the SQL engine uses (append, read, offsets) without TCP.
//! - `storage/`: segments of v2 record batches with sparse offset and time indexes
//!   (`segment.rs`, `index.rs`), the per-partition append and read paths with group-commit fsync
//!   and crash recovery (`partition.rs`), batch validation and building (`batch.rs`).
//! - `protocol/`: one file per Kafka API, on the codecs of the `kafka-protocol` crate.
//! - `server.rs`: the TCP listener; [`serve`] takes a listener and a shutdown token.
//!
//! This crate never depends on DataFusion.
//!
//! # Example
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use flusso_log::{BatchBuilder, Log, LogConfig, Record, TopicConfig};
//! let dir = tempfile::tempdir()?;
//! let log = Log::open(LogConfig::new(dir.path()))?;
//! log.create_topic("clicks", 2, TopicConfig::default())?;
//! let mut batch = BatchBuilder::new();
//! batch.push(&Record { key: Some(b"user-1"), value: Some(b"{}"), headers: vec![], timestamp: 0 });
//! // acks=all: returns once the batch is fsynced
//! let info = log.append_durable("clicks", 1, &batch.finish()).await?;
//! assert_eq!(info.base_offset, 0);
//! # Ok(()) }
//! ```

mod config;
mod error;
mod group;
mod log;
mod protocol;
mod server;
mod storage;

pub use config::{
    config_def, validate_config, ConfigDef, ConfigSource, ConfigType, LogConfig, ResolvedConfig,
    TopicConfig, TOPIC_CONFIGS,
};
pub use error::{LogError, Result};
pub use group::{
    Committed, GroupConfig, GroupCoordinator, GroupDescription, GroupState, OffsetStore,
    OFFSETS_TOPIC,
};
pub use log::{validate_topic_name, Log, Topic, CLEAN_SHUTDOWN_FILE};
pub use server::{serve, KafkaServerConfig};
pub use storage::batch::{validate_batches, BatchBuilder, BatchHeader, Record};
pub use storage::records::{decode_batch, decode_shared, DecodedRecord};
pub use storage::{AppendInfo, CleanStats, Partition, PartitionOffsets, ReadResult};

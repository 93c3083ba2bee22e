//! The processing log: records that could not be processed, written as JSON to the topic behind
//! the `KSQL_PROCESSING_LOG` stream, and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::json;

use crate::log_client::{LogClient, OutRecord};
use crate::query::scan::DecodeError;

/// The processing log's topic.
pub const PROCESSING_LOG_TOPIC: &str = "default_ksql_processing_log";
/// The stream over it.
pub const PROCESSING_LOG_STREAM: &str = "KSQL_PROCESSING_LOG";

/// Writes processing errors.
#[derive(Clone)]
pub struct ProcessingLog {
    log: Arc<dyn LogClient>,
    count: Arc<AtomicU64>,
}

impl ProcessingLog {
    /// A processing log writing through `log`.
    pub fn new(log: Arc<dyn LogClient>) -> ProcessingLog {
        ProcessingLog {
            log,
            count: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Errors logged so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    async fn write(&self, logger: &str, message: serde_json::Value) {
        self.count.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(logger, %message, "processing error");
        let record = json!({
            "LOGGER": logger,
            "LEVEL": "ERROR",
            "TIME": flusso_common::now_ms(),
            "MESSAGE": message,
        });
        let _ = self.log.create_topic(PROCESSING_LOG_TOPIC, 1, false).await;
        let _ = self
            .log
            .produce(
                PROCESSING_LOG_TOPIC,
                0,
                &[OutRecord {
                    key: None,
                    value: serde_json::to_vec(&record).ok(),
                    timestamp: flusso_common::now_ms(),
                    headers: vec![],
                }],
            )
            .await;
    }

    /// A record that did not deserialize.
    pub async fn deserialization_error(
        &self,
        query: &str,
        topic: &str,
        partition: i32,
        e: &DecodeError,
    ) {
        self.write(
            &format!("{query}.KsqlTopic.Source.deserializer"),
            json!({
                "TYPE": 0,
                "DESERIALIZATIONERROR": {
                    "TARGET": e.target,
                    "ERRORMESSAGE": e.message,
                    "RECORDB64": e.bytes.as_ref().map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                    "CAUSE": [],
                    "TOPIC": topic,
                    "PARTITION": partition,
                    "OFFSET": e.offset,
                }
            }),
        )
        .await;
    }

    /// A record whose expressions failed.
    pub async fn record_processing_error(
        &self,
        query: &str,
        topic: &str,
        partition: i32,
        offset: i64,
        message: &str,
    ) {
        self.write(
            &format!("{query}.Project"),
            json!({
                "TYPE": 1,
                "RECORDPROCESSINGERROR": {
                    "ERRORMESSAGE": message,
                    "TOPIC": topic,
                    "PARTITION": partition,
                    "OFFSET": offset,
                    "CAUSE": [],
                }
            }),
        )
        .await;
    }
}

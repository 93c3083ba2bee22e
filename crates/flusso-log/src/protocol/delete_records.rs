//! DeleteRecords: moves each partition's log start offset forward (the low watermark).

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: DeleteRecordsRequest,
    _version: i16,
) -> DeleteRecordsResponse {
    let mut resp = DeleteRecordsResponse::default();
    for topic in req.topics {
        let name = topic.name.0.to_string();
        let mut t = DeleteRecordsTopicResult::default();
        t.name = topic.name.clone();
        for p in topic.partitions {
            let mut r = DeleteRecordsPartitionResult::default();
            r.partition_index = p.partition_index;
            let result = match ctx.log.partition(&name, p.partition_index) {
                Err(e) => Err(e),
                // Deleting segments is blocking file work.
                Ok(part) => {
                    let offset = p.offset;
                    tokio::task::spawn_blocking(move || part.delete_records(offset))
                        .await
                        .unwrap_or_else(|e| Err(crate::LogError::Io(std::io::Error::other(e))))
                }
            };
            match result {
                Ok(low) => r.low_watermark = low,
                Err(e) => {
                    r.error_code = e.code();
                    r.low_watermark = -1;
                }
            }
            t.partitions.push(r);
        }
        resp.topics.push(t);
    }
    resp
}

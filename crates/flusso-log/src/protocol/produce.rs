//! Produce: validates and appends the record batches of each partition at once (in request
//! order), then answers — for acks=all only after the data is fsynced, for acks=1 after the write,
//! and for acks=0 never.

use std::future::Future;
use std::sync::Arc;

use futures::future::join_all;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::{message, Ctx};
use crate::storage::Partition;
use crate::LogError;

/// Appends now; returns the future of the response, or `None` for acks=0.
pub(crate) fn handle(
    ctx: &Arc<Ctx>,
    req: ProduceRequest,
    version: i16,
) -> Option<impl Future<Output = ProduceResponse> + Send + 'static> {
    let acks = req.acks;
    let valid_acks = matches!(acks, -1..=1);
    let mut topics = Vec::with_capacity(req.topic_data.len());
    // Partitions to fsync before answering acks=all: (topic index, partition index, partition, upto).
    let mut to_sync: Vec<(usize, usize, Arc<Partition>, i64)> = Vec::new();
    for topic_data in req.topic_data {
        let name = topic_data.name.0.to_string();
        let mut topic_resp = TopicProduceResponse::default();
        topic_resp.name = topic_data.name.clone();
        for part in topic_data.partition_data {
            let mut p = PartitionProduceResponse::default();
            p.index = part.index;
            let result = if !valid_acks {
                Err(LogError::InvalidRequest(format!(
                    "acks must be -1, 0 or 1, got {acks}"
                )))
            } else {
                ctx.log.partition(&name, part.index).and_then(|partition| {
                    let records = part.records.as_deref().unwrap_or_default();
                    partition.append(records).map(|info| (partition, info))
                })
            };
            match result {
                Ok((partition, info)) => {
                    p.base_offset = info.base_offset;
                    p.log_append_time_ms = info.log_append_time;
                    p.log_start_offset = info.log_start_offset;
                    if acks == -1 {
                        to_sync.push((
                            topics.len(),
                            topic_resp.partition_responses.len(),
                            partition,
                            info.last_offset + 1,
                        ));
                    }
                }
                Err(e) => {
                    let code = if valid_acks {
                        e.kafka_error()
                    } else {
                        ResponseError::InvalidRequiredAcks
                    };
                    tracing::debug!(topic = %name, partition = part.index, error = %e, "produce rejected");
                    p.error_code = code.code();
                    p.base_offset = -1;
                    p.error_message = message(&e);
                    if version >= 8
                        && matches!(
                            e,
                            LogError::CorruptMessage(_) | LogError::RecordTooLarge { .. }
                        )
                    {
                        let mut batch_error = BatchIndexAndErrorMessage::default();
                        batch_error.batch_index = 0;
                        batch_error.batch_index_error_message = message(&e);
                        p.record_errors = vec![batch_error];
                    }
                }
            }
            topic_resp.partition_responses.push(p);
        }
        topics.push(topic_resp);
    }
    if acks == 0 {
        return None;
    }
    Some(async move {
        let synced = join_all(
            to_sync
                .into_iter()
                .map(|(t, p, partition, upto)| async move { (t, p, partition.sync(upto).await) }),
        )
        .await;
        for (t, p, result) in synced {
            if let Err(e) = result {
                tracing::error!(error = %e, "fsync failed; acks=all produce answered with an error");
                let resp = &mut topics[t].partition_responses[p];
                resp.error_code = e.code();
                resp.error_message = message(&e);
            }
        }
        let mut resp = ProduceResponse::default();
        resp.responses = topics;
        resp
    })
}

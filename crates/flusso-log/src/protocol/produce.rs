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

/// Produce v0-2 requests: the `kafka-protocol` crate starts at v3, so these are read by hand.
/// The body is `acks i16, timeout i32, [topic string, [partition i32, records bytes]]`. Batches
/// inside are checked like any other: only v2 record batches are accepted.
pub(crate) fn decode_legacy(body: &[u8]) -> Option<ProduceRequest> {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let mut pos = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = body.get(pos..pos + n)?;
        pos += n;
        Some(s)
    };
    let acks = i16::from_be_bytes(take(2)?.try_into().ok()?);
    let timeout = i32::from_be_bytes(take(4)?.try_into().ok()?);
    let topics = i32::from_be_bytes(take(4)?.try_into().ok()?);
    let mut req = ProduceRequest::default();
    req.acks = acks;
    req.timeout_ms = timeout;
    for _ in 0..topics.clamp(0, 100_000) {
        let len = i16::from_be_bytes(take(2)?.try_into().ok()?);
        let name = String::from_utf8(take(len.max(0) as usize)?.to_vec()).ok()?;
        let mut topic = TopicProduceData::default();
        topic.name = super::topic_name(&name);
        let parts = i32::from_be_bytes(take(4)?.try_into().ok()?);
        for _ in 0..parts.clamp(0, 100_000) {
            let index = i32::from_be_bytes(take(4)?.try_into().ok()?);
            let size = i32::from_be_bytes(take(4)?.try_into().ok()?);
            let records = if size < 0 {
                None
            } else {
                Some(bytes::Bytes::copy_from_slice(take(size as usize)?))
            };
            let mut p = PartitionProduceData::default();
            p.index = index;
            p.records = records;
            topic.partition_data.push(p);
        }
        req.topic_data.push(topic);
    }
    (pos == body.len()).then_some(req)
}

/// Encodes a Produce v0-2 response body.
pub(crate) fn encode_legacy(resp: &ProduceResponse, version: i16) -> bytes::Bytes {
    use bytes::BufMut;
    let mut out = bytes::BytesMut::new();
    out.put_i32(resp.responses.len() as i32);
    for t in &resp.responses {
        let name = t.name.0.as_bytes();
        out.put_i16(name.len() as i16);
        out.put_slice(name);
        out.put_i32(t.partition_responses.len() as i32);
        for p in &t.partition_responses {
            out.put_i32(p.index);
            out.put_i16(p.error_code);
            out.put_i64(p.base_offset);
            if version >= 2 {
                out.put_i64(p.log_append_time_ms);
            }
        }
    }
    if version >= 1 {
        out.put_i32(0);
    }
    out.freeze()
}

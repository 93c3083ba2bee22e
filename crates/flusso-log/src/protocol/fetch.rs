//! Fetch: whole record batches from each requested partition, long-polling until `min_bytes` are
//! available or `max_wait_ms` has passed. Fetch sessions are not kept: every response is full
//! (session id 0), which clients handle by sending full requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::storage::Partition;
use crate::LogError;

pub(crate) async fn handle(ctx: &Arc<Ctx>, req: FetchRequest, _version: i16) -> FetchResponse {
    if req.session_id != 0 || req.session_epoch > 0 {
        let mut resp = FetchResponse::default();
        resp.error_code = ResponseError::FetchSessionIdNotFound.code();
        return resp;
    }
    // Resolve partitions once.
    let targets: Vec<(String, Vec<Target>)> = req
        .topics
        .iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let parts = t
                .partitions
                .iter()
                .map(|p| Target {
                    index: p.partition,
                    offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes.max(0) as usize,
                    partition: ctx.log.partition(&name, p.partition).ok(),
                })
                .collect();
            (name, parts)
        })
        .collect();
    let max_bytes = if req.max_bytes <= 0 {
        usize::MAX
    } else {
        req.max_bytes as usize
    };
    let min_bytes = req.min_bytes.max(0) as usize;
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    loop {
        // Subscribe before reading so that an append in between still wakes us.
        let mut watchers: Vec<_> = targets
            .iter()
            .flat_map(|(_, parts)| {
                parts
                    .iter()
                    .filter_map(|t| t.partition.as_ref().map(|p| p.subscribe()))
            })
            .collect();
        let (resp, bytes, errors) = gather(&targets, max_bytes);
        let now = tokio::time::Instant::now();
        if bytes >= min_bytes
            || errors
            || now >= deadline
            || watchers.is_empty()
            || ctx.shutdown.is_cancelled()
        {
            return resp;
        }
        let changed = select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())));
        tokio::select! {
            _ = changed => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = ctx.shutdown.cancelled() => {}
        }
    }
}

/// One requested partition.
struct Target {
    index: i32,
    offset: i64,
    max_bytes: usize,
    partition: Option<Arc<Partition>>,
}

type Targets = [(String, Vec<Target>)];

/// Reads every partition once: the response, the bytes of records in it, and whether any partition
/// answered with an error (which ends the long poll).
fn gather(targets: &Targets, max_bytes: usize) -> (FetchResponse, usize, bool) {
    let mut resp = FetchResponse::default();
    let mut total = 0usize;
    let mut errors = false;
    for (name, parts) in targets {
        let mut topic = FetchableTopicResponse::default();
        topic.topic = super::topic_name(name);
        for Target {
            index,
            offset,
            max_bytes: part_max,
            partition,
        } in parts
        {
            let mut data = PartitionData::default();
            data.partition_index = *index;
            let budget = (*part_max).min(max_bytes.saturating_sub(total));
            let result = match partition {
                None => Err(LogError::UnknownTopicOrPartition(format!("{name}-{index}"))),
                Some(p) => p.read(*offset, budget, total == 0),
            };
            match result {
                Ok(read) => {
                    data.high_watermark = read.high_watermark;
                    data.last_stable_offset = read.high_watermark;
                    data.log_start_offset = read.log_start_offset;
                    total += read.records.len();
                    data.records = Some(read.records);
                }
                Err(e) => {
                    errors = true;
                    data.error_code = e.code();
                    if let Some(p) = partition {
                        let o = p.offsets();
                        data.high_watermark = o.log_end_offset;
                        data.last_stable_offset = o.log_end_offset;
                        data.log_start_offset = o.log_start_offset;
                    } else {
                        data.high_watermark = -1;
                    }
                    data.records = Some(Bytes::new());
                }
            }
            topic.partitions.push(data);
        }
        resp.responses.push(topic);
    }
    (resp, total, errors)
}

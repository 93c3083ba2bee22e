//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3) and by timestamp.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::Ctx;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    for topic in req.topics {
        let name = topic.name.0.to_string();
        let mut t = ListOffsetsTopicResponse::default();
        t.name = topic.name.clone();
        for part in topic.partitions {
            let mut p = ListOffsetsPartitionResponse::default();
            p.partition_index = part.partition_index;
            p.timestamp = -1;
            p.offset = -1;
            match ctx.log.partition(&name, part.partition_index) {
                Err(e) => p.error_code = e.code(),
                Ok(partition) => {
                    if version >= 4 {
                        p.leader_epoch = 0;
                    }
                    let offsets = partition.offsets();
                    match part.timestamp {
                        LATEST => p.offset = offsets.log_end_offset,
                        EARLIEST => p.offset = offsets.log_start_offset,
                        MAX_TIMESTAMP => {
                            if let Some((offset, ts)) = partition.max_timestamp() {
                                p.offset = offset;
                                p.timestamp = ts;
                            }
                        }
                        ts if ts >= 0 => {
                            if let Some((offset, ts)) = partition.offset_for_timestamp(ts) {
                                p.offset = offset;
                                p.timestamp = ts;
                            }
                        }
                        _ => p.error_code = ResponseError::InvalidRequest.code(),
                    }
                }
            }
            t.partitions.push(p);
        }
        resp.topics.push(t);
    }
    resp
}

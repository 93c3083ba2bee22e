//! OffsetCommit: validated against the group's generation, written durably to
//! `__consumer_offsets`, answered after the fsync.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::group::Committed;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: OffsetCommitRequest,
    _version: i16,
) -> OffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let verdict = ctx.log.groups().validate_commit(
        &group,
        req.generation_id_or_member_epoch,
        req.member_id.as_str(),
    );
    let now = flusso_common::now_ms();
    let mut resp = OffsetCommitResponse::default();
    let mut writes = Vec::new();
    // (topic index, partition index) of each write, to report a failed write.
    let mut slots = Vec::new();
    for topic in &req.topics {
        let name = topic.name.0.to_string();
        let mut t = OffsetCommitResponseTopic::default();
        t.name = topic.name.clone();
        let known = ctx.log.topic(&name);
        for p in &topic.partitions {
            let mut r = OffsetCommitResponsePartition::default();
            r.partition_index = p.partition_index;
            r.error_code = if verdict != 0 {
                verdict
            } else if known
                .as_ref()
                .and_then(|t| t.partition(p.partition_index))
                .is_none()
            {
                ResponseError::UnknownTopicOrPartition.code()
            } else {
                slots.push((resp.topics.len(), t.partitions.len()));
                writes.push((
                    name.clone(),
                    p.partition_index,
                    Some(Committed {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                        commit_timestamp: now,
                    }),
                ));
                0
            };
            t.partitions.push(r);
        }
        resp.topics.push(t);
    }
    if let Err(e) = ctx.log.committed_offsets().write(&group, writes).await {
        tracing::error!(group = %group, error = %e, "offset commit could not be written");
        for (t, p) in slots {
            resp.topics[t].partitions[p].error_code = ResponseError::CoordinatorNotAvailable.code();
        }
    }
    resp
}

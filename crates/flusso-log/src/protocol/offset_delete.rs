//! OffsetDelete: removes committed offsets of partitions whose topic no member subscribes to.

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use kafka_protocol::ResponseError;

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: OffsetDeleteRequest,
    _version: i16,
) -> OffsetDeleteResponse {
    let mut resp = OffsetDeleteResponse::default();
    let group = req.group_id.0.to_string();
    if !ctx.log.groups().exists(&group) {
        resp.error_code = ResponseError::GroupIdNotFound.code();
        return resp;
    }
    let subscribed = ctx.log.groups().subscribed_topics(&group);
    let mut deletes = Vec::new();
    for topic in req.topics {
        let name = topic.name.0.to_string();
        let mut t = OffsetDeleteResponseTopic::default();
        t.name = topic.name.clone();
        for p in topic.partitions {
            let mut r = OffsetDeleteResponsePartition::default();
            r.partition_index = p.partition_index;
            if subscribed.contains(&name) {
                r.error_code = ResponseError::GroupSubscribedToTopic.code();
            } else {
                deletes.push((name.clone(), p.partition_index, None));
            }
            t.partitions.push(r);
        }
        resp.topics.push(t);
    }
    if let Err(e) = ctx.log.committed_offsets().write(&group, deletes).await {
        tracing::error!(group = %group, error = %e, "offset deletion could not be written");
        resp.error_code = ResponseError::CoordinatorNotAvailable.code();
    }
    resp
}

//! CreatePartitions: raises a topic's partition count.

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::ResponseError;

use super::{message, Ctx};

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    for topic in req.topics {
        let name = topic.name.0.to_string();
        let mut r = CreatePartitionsTopicResult::default();
        r.name = topic.name.clone();
        let bad_assignment = topic
            .assignments
            .iter()
            .flatten()
            .any(|a| a.broker_ids.iter().any(|b| b.0 != ctx.node_id));
        if bad_assignment {
            r.error_code = ResponseError::InvalidReplicaAssignment.code();
            r.error_message = message(format!("only broker {} exists", ctx.node_id));
        } else if let Err(e) = ctx
            .log
            .create_partitions(&name, topic.count, req.validate_only)
        {
            r.error_code = e.code();
            r.error_message = message(&e);
        }
        resp.results.push(r);
    }
    resp
}

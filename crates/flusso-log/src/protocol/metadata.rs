//! Metadata: the one broker, and topics with their partitions (auto-creating missing topics when
//! both the client and the server allow it).

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{topic_name, Ctx};
use crate::log::validate_topic_name;
use crate::Topic;

pub(crate) async fn handle(ctx: &Arc<Ctx>, req: MetadataRequest, version: i16) -> MetadataResponse {
    let mut resp = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(ctx.node_id);
    broker.host = StrBytes::from_string(ctx.advertised_host.clone());
    broker.port = ctx.advertised_port;
    resp.brokers = vec![broker];
    resp.cluster_id = Some(StrBytes::from_string(ctx.log.cluster_id().to_string()));
    resp.controller_id = BrokerId(ctx.node_id);
    // v0 asks for every topic with an empty list; v1+ with a null list.
    let all = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    if all {
        resp.topics = ctx.log.topics().iter().map(|t| describe(ctx, t)).collect();
        return resp;
    }
    // Before v4 there is no flag and topics are auto-created as the server allows.
    let allow_create =
        ctx.log.config().auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    for requested in req.topics.unwrap_or_default() {
        let name = match (&requested.name, requested.topic_id) {
            (Some(n), _) => n.0.to_string(),
            (None, id) if id != Uuid::nil() => {
                match ctx.log.topics().into_iter().find(|t| t.id() == id) {
                    Some(t) => {
                        resp.topics.push(describe(ctx, &t));
                        continue;
                    }
                    None => {
                        let mut t = MetadataResponseTopic::default();
                        t.topic_id = id;
                        t.error_code = ResponseError::UnknownTopicId.code();
                        resp.topics.push(t);
                        continue;
                    }
                }
            }
            _ => String::new(),
        };
        let topic = if let Err(e) = validate_topic_name(&name) {
            Err(e)
        } else if allow_create {
            ctx.log.get_or_create_topic(&name)
        } else {
            ctx.log
                .topic(&name)
                .ok_or_else(|| crate::LogError::UnknownTopicOrPartition(name.clone()))
        };
        match topic {
            Ok(t) => resp.topics.push(describe(ctx, &t)),
            Err(e) => {
                let mut t = MetadataResponseTopic::default();
                t.name = Some(topic_name(&name));
                t.error_code = e.code();
                resp.topics.push(t);
            }
        }
    }
    resp
}

fn describe(ctx: &Ctx, topic: &Topic) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(topic_name(topic.name()));
    t.topic_id = topic.id();
    t.is_internal = topic.name().starts_with("__");
    t.partitions = (0..topic.partition_count())
        .map(|p| {
            let mut part = MetadataResponsePartition::default();
            part.partition_index = p;
            part.leader_id = BrokerId(ctx.node_id);
            part.leader_epoch = 0;
            part.replica_nodes = vec![BrokerId(ctx.node_id)];
            part.isr_nodes = vec![BrokerId(ctx.node_id)];
            part
        })
        .collect();
    t
}

//! OffsetFetch: committed offsets of one group (v1-7) or of several (v8+); -1 where none.

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use kafka_protocol::protocol::StrBytes;

use super::{topic_name, Ctx};

/// (topic, [(partition, offset, leader epoch, metadata)]) of a group, for the requested topics or
/// (with `None`) for every committed one.
type Found = Vec<(String, Vec<(i32, i64, i32, Option<String>)>)>;

fn lookup(ctx: &Ctx, group: &str, wanted: Option<Vec<(String, Vec<i32>)>>) -> Found {
    let store = ctx.log.committed_offsets();
    match wanted {
        Some(topics) => topics
            .into_iter()
            .map(|(t, parts)| {
                let found = parts
                    .into_iter()
                    .map(|p| match store.get(group, &t, p) {
                        Some(c) => (p, c.offset, c.leader_epoch, c.metadata),
                        None => (p, -1, -1, Some(String::new())),
                    })
                    .collect();
                (t, found)
            })
            .collect(),
        None => {
            let mut out: Found = Vec::new();
            for (t, p, c) in store.group(group) {
                match out.last_mut() {
                    Some((last, parts)) if *last == t => {
                        parts.push((p, c.offset, c.leader_epoch, c.metadata))
                    }
                    _ => out.push((t, vec![(p, c.offset, c.leader_epoch, c.metadata)])),
                }
            }
            out
        }
    }
}

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    let meta = |m: Option<String>| Some(StrBytes::from_string(m.unwrap_or_default()));
    if version >= 8 {
        for g in req.groups {
            let wanted = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes))
                    .collect()
            });
            let mut out = OffsetFetchResponseGroup::default();
            out.group_id = g.group_id.clone();
            for (t, parts) in lookup(ctx, g.group_id.0.as_str(), wanted) {
                let mut topic = OffsetFetchResponseTopics::default();
                topic.name = topic_name(&t);
                for (p, offset, epoch, metadata) in parts {
                    let mut part = OffsetFetchResponsePartitions::default();
                    part.partition_index = p;
                    part.committed_offset = offset;
                    part.committed_leader_epoch = epoch;
                    part.metadata = meta(metadata);
                    topic.partitions.push(part);
                }
                out.topics.push(topic);
            }
            resp.groups.push(out);
        }
        return resp;
    }
    let wanted = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    for (t, parts) in lookup(ctx, req.group_id.0.as_str(), wanted) {
        let mut topic = OffsetFetchResponseTopic::default();
        topic.name = topic_name(&t);
        for (p, offset, epoch, metadata) in parts {
            let mut part = OffsetFetchResponsePartition::default();
            part.partition_index = p;
            part.committed_offset = offset;
            if version >= 5 {
                part.committed_leader_epoch = epoch;
            }
            part.metadata = meta(metadata);
            topic.partitions.push(part);
        }
        resp.topics.push(topic);
    }
    resp
}

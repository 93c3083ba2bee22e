//! JoinGroup: held until the group's rebalance completes (see `group::GroupCoordinator`).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::group::{JoinRequest, JoinResult, Reply};

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
    let rebalance = if version >= 1 {
        Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64)
    } else {
        session
    };
    let join = JoinRequest {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout: session,
        rebalance_timeout: rebalance,
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let result = match ctx.log.groups().join(join) {
        Reply::Now(r) => r,
        Reply::Later(rx) => tokio::select! {
            r = rx => r.unwrap_or_else(|_| JoinResult {
                error: ResponseError::UnknownMemberId.code(),
                ..Default::default()
            }),
            _ = ctx.shutdown.cancelled() => JoinResult {
                error: ResponseError::CoordinatorNotAvailable.code(),
                ..Default::default()
            },
        },
    };
    let mut resp = JoinGroupResponse::default();
    resp.error_code = result.error;
    resp.generation_id = result.generation_id;
    resp.member_id = StrBytes::from_string(result.member_id);
    resp.leader = StrBytes::from_string(result.leader);
    if version >= 7 {
        resp.protocol_type = result.protocol_type.map(StrBytes::from_string);
    }
    resp.protocol_name = match result.protocol_name {
        Some(p) => Some(StrBytes::from_string(p)),
        None if version >= 7 => None,
        None => Some(StrBytes::default()),
    };
    resp.members = result
        .members
        .into_iter()
        .map(|(id, instance, metadata)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = StrBytes::from_string(id);
            if version >= 5 {
                m.group_instance_id = instance.map(StrBytes::from_string);
            }
            m.metadata = metadata;
            m
        })
        .collect();
    resp
}

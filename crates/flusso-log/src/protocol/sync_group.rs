//! SyncGroup: the leader hands in the assignment; every member receives its own.

use std::sync::Arc;

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::Ctx;
use crate::group::{Reply, SyncResult};

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: SyncGroupRequest,
    version: i16,
) -> SyncGroupResponse {
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let protocol = (
        req.protocol_type.as_ref().map(|s| s.to_string()),
        req.protocol_name.as_ref().map(|s| s.to_string()),
    );
    let reply = ctx.log.groups().sync(
        req.group_id.0.as_str(),
        req.generation_id,
        req.member_id.as_str(),
        protocol,
        assignments,
    );
    let result = match reply {
        Reply::Now(r) => r,
        Reply::Later(rx) => tokio::select! {
            r = rx => r.unwrap_or_else(|_| SyncResult {
                error: ResponseError::RebalanceInProgress.code(),
                ..Default::default()
            }),
            _ = ctx.shutdown.cancelled() => SyncResult {
                error: ResponseError::CoordinatorNotAvailable.code(),
                ..Default::default()
            },
        },
    };
    let mut resp = SyncGroupResponse::default();
    resp.error_code = result.error;
    resp.assignment = result.assignment;
    if version >= 5 {
        resp.protocol_type = result.protocol_type.map(StrBytes::from_string);
        resp.protocol_name = result.protocol_name.map(StrBytes::from_string);
    }
    resp
}

//! Heartbeat: keeps a member's session alive and tells it when to rejoin.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: HeartbeatRequest,
    _version: i16,
) -> HeartbeatResponse {
    let mut resp = HeartbeatResponse::default();
    resp.error_code = ctx.log.groups().heartbeat(
        req.group_id.0.as_str(),
        req.generation_id,
        req.member_id.as_str(),
    );
    resp
}

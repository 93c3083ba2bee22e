//! LeaveGroup: one member (v0-2) or a batch of members by id or instance id (v3+).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let mut resp = LeaveGroupResponse::default();
    let group = req.group_id.0.as_str();
    if version < 3 {
        resp.error_code = ctx.log.groups().leave(group, req.member_id.as_str(), None);
        return resp;
    }
    for m in &req.members {
        let mut r = MemberResponse::default();
        r.member_id = m.member_id.clone();
        r.group_instance_id = m.group_instance_id.clone();
        r.error_code = ctx.log.groups().leave(
            group,
            m.member_id.as_str(),
            m.group_instance_id.as_ref().map(|s| s.as_str()),
        );
        resp.members.push(r);
    }
    resp
}

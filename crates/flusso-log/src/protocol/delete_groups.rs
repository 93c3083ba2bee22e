//! DeleteGroups: removes empty groups and their committed offsets.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use kafka_protocol::ResponseError;

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: DeleteGroupsRequest,
    _version: i16,
) -> DeleteGroupsResponse {
    let mut resp = DeleteGroupsResponse::default();
    for id in req.groups_names {
        let mut r = DeletableGroupResult::default();
        r.error_code = match ctx.log.groups().delete(id.0.as_str()) {
            Err(code) => code,
            Ok(()) => match ctx
                .log
                .committed_offsets()
                .delete_group(id.0.as_str())
                .await
            {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!(group = %id.0.as_str(), error = %e, "group offsets could not be deleted");
                    ResponseError::CoordinatorNotAvailable.code()
                }
            },
        };
        r.group_id = id;
        resp.results.push(r);
    }
    resp
}

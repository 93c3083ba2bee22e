//! ListGroups: every group, optionally filtered by state (v4+).

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: ListGroupsRequest,
    version: i16,
) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    for (id, protocol_type, state) in ctx.log.groups().list() {
        if !req.states_filter.is_empty()
            && !req
                .states_filter
                .iter()
                .any(|s| s.as_str().eq_ignore_ascii_case(state.name()))
        {
            continue;
        }
        if !req.types_filter.is_empty()
            && !req
                .types_filter
                .iter()
                .any(|t| t.as_str().eq_ignore_ascii_case("classic"))
        {
            continue;
        }
        let mut g = ListedGroup::default();
        g.group_id = GroupId(StrBytes::from_string(id));
        g.protocol_type = StrBytes::from_string(protocol_type);
        if version >= 4 {
            g.group_state = StrBytes::from_static_str(state.name());
        }
        if version >= 5 {
            g.group_type = StrBytes::from_static_str("classic");
        }
        resp.groups.push(g);
    }
    resp
}

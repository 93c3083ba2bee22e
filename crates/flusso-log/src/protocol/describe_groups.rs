//! DescribeGroups: state, protocol and members (with metadata and assignment) of each group; an
//! unknown group is reported as `Dead`, as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    for id in req.groups {
        let mut g = DescribedGroup::default();
        match ctx.log.groups().describe(id.0.as_str()) {
            None => g.group_state = StrBytes::from_static_str("Dead"),
            Some(d) => {
                g.group_state = StrBytes::from_static_str(d.state.name());
                g.protocol_type = StrBytes::from_string(d.protocol_type);
                g.protocol_data = StrBytes::from_string(d.protocol);
                for (member_id, instance, client_id, client_host, metadata, assignment) in d.members
                {
                    let mut m = DescribedGroupMember::default();
                    m.member_id = StrBytes::from_string(member_id);
                    if version >= 4 {
                        m.group_instance_id = instance.map(StrBytes::from_string);
                    }
                    m.client_id = StrBytes::from_string(client_id);
                    m.client_host = StrBytes::from_string(client_host);
                    m.member_metadata = metadata;
                    m.member_assignment = assignment;
                    g.members.push(m);
                }
            }
        }
        g.group_id = id;
        resp.groups.push(g);
    }
    resp
}

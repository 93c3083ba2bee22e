//! DescribeCluster: the cluster id and its one broker.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    _req: DescribeClusterRequest,
    _version: i16,
) -> DescribeClusterResponse {
    let mut resp = DescribeClusterResponse::default();
    resp.cluster_id = StrBytes::from_string(ctx.log.cluster_id().to_string());
    resp.controller_id = BrokerId(ctx.node_id);
    let mut broker = DescribeClusterBroker::default();
    broker.broker_id = BrokerId(ctx.node_id);
    broker.host = StrBytes::from_string(ctx.advertised_host.clone());
    broker.port = ctx.advertised_port;
    resp.brokers = vec![broker];
    resp
}

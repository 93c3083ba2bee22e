//! FindCoordinator: this broker coordinates every group (v0-3: one key; v4+: a batch of keys).
//! Transaction coordinators are not offered: transactions are not served.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{message, Ctx};

const GROUP: i8 = 0;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    let host = StrBytes::from_string(ctx.advertised_host.clone());
    let error = (req.key_type != GROUP).then_some(ResponseError::CoordinatorNotAvailable);
    if version >= 4 {
        for key in req.coordinator_keys {
            let mut c = Coordinator::default();
            c.key = key;
            match error {
                Some(e) => {
                    c.error_code = e.code();
                    c.error_message = message("only group coordinators are served");
                    c.node_id = BrokerId(-1);
                }
                None => {
                    c.node_id = BrokerId(ctx.node_id);
                    c.host = host.clone();
                    c.port = ctx.advertised_port;
                }
            }
            resp.coordinators.push(c);
        }
    } else {
        match error {
            Some(e) => {
                resp.error_code = e.code();
                if version >= 1 {
                    resp.error_message = message("only group coordinators are served");
                }
                resp.node_id = BrokerId(-1);
            }
            None => {
                resp.node_id = BrokerId(ctx.node_id);
                resp.host = host;
                resp.port = ctx.advertised_port;
            }
        }
    }
    resp
}

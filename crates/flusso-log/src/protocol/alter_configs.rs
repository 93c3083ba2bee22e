//! AlterConfigs: replaces a topic's configs as a whole (configs not named return to defaults).

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::ResponseError;

use super::{message, Ctx, RESOURCE_TOPIC};

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: AlterConfigsRequest,
    _version: i16,
) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for resource in req.resources {
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = resource.resource_type;
        r.resource_name = resource.resource_name.clone();
        if resource.resource_type != RESOURCE_TOPIC {
            r.error_code = ResponseError::InvalidRequest.code();
            r.error_message = message("only topic configs can be altered; broker settings live in the server's configuration");
        } else {
            let changes: Vec<(String, Option<String>)> = resource
                .configs
                .iter()
                .filter_map(|c| {
                    c.value
                        .as_ref()
                        .map(|v| (c.name.to_string(), Some(v.to_string())))
                })
                .collect();
            if let Err(e) = ctx.log.alter_topic_config(
                resource.resource_name.as_str(),
                &changes,
                false,
                req.validate_only,
            ) {
                r.error_code = e.code();
                r.error_message = message(&e);
            }
        }
        resp.responses.push(r);
    }
    resp
}

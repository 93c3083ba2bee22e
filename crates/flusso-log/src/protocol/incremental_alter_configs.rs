//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on a topic's configs.

use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::ResponseError;

use super::{message, Ctx, RESOURCE_TOPIC};
use crate::LogError;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for resource in req.resources {
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = resource.resource_type;
        r.resource_name = resource.resource_name.clone();
        let name = resource.resource_name.to_string();
        let result = if resource.resource_type != RESOURCE_TOPIC {
            Err(LogError::InvalidRequest(
                "only topic configs can be altered; broker settings live in the server's configuration".into(),
            ))
        } else {
            changes(ctx, &name, &resource.configs).and_then(|changes| {
                ctx.log
                    .alter_topic_config(&name, &changes, true, req.validate_only)
            })
        };
        if let Err(e) = result {
            r.error_code = match &e {
                LogError::InvalidRequest(_) => ResponseError::InvalidRequest.code(),
                other => other.code(),
            };
            r.error_message = message(&e);
        }
        resp.responses.push(r);
    }
    resp
}

type Alterable = kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;

fn changes(
    ctx: &Arc<Ctx>,
    topic: &str,
    configs: &[Alterable],
) -> Result<Vec<(String, Option<String>)>, LogError> {
    let current = ctx
        .log
        .topic(topic)
        .ok_or_else(|| LogError::UnknownTopicOrPartition(topic.to_string()))?
        .config();
    let mut out = Vec::new();
    for c in configs {
        let key = c.name.to_string();
        let value = c.value.as_ref().map(|v| v.to_string());
        match c.config_operation {
            SET => out.push((key, value)),
            DELETE => out.push((key, None)),
            APPEND | SUBTRACT => {
                let existing = current
                    .get(&key, ctx.log.config())
                    .map(|(v, _)| v)
                    .unwrap_or_default();
                let mut items: Vec<String> = existing
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                for v in value
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    if c.config_operation == APPEND {
                        if !items.iter().any(|i| i == v) {
                            items.push(v.to_string());
                        }
                    } else {
                        items.retain(|i| i != v);
                    }
                }
                out.push((key, Some(items.join(","))));
            }
            op => {
                return Err(LogError::InvalidRequest(format!(
                    "unknown config operation {op}"
                )))
            }
        }
    }
    Ok(out)
}

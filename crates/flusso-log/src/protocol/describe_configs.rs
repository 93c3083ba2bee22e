//! DescribeConfigs: every topic config with its value and source; a few broker-level settings.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{message, Ctx, RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::config::{ConfigSource, ConfigType, TOPIC_CONFIGS};

/// Kafka's `config_source` codes.
pub(crate) fn source_code(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::Topic => 1,  // DYNAMIC_TOPIC_CONFIG
        ConfigSource::Server => 4, // STATIC_BROKER_CONFIG
        ConfigSource::Default => 5,
    }
}

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for resource in req.resources {
        let mut r = DescribeConfigsResult::default();
        r.resource_type = resource.resource_type;
        r.resource_name = resource.resource_name.clone();
        let wanted = |name: &str| {
            resource
                .configuration_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
        };
        match resource.resource_type {
            RESOURCE_TOPIC => match ctx.log.topic(resource.resource_name.as_str()) {
                None => {
                    r.error_code = ResponseError::UnknownTopicOrPartition.code();
                    r.error_message = message(format!(
                        "unknown topic '{}'",
                        resource.resource_name.as_str()
                    ));
                }
                Some(topic) => {
                    let config = topic.config();
                    for def in TOPIC_CONFIGS.iter().filter(|d| wanted(d.name)) {
                        let Some((value, source)) = config.get(def.name, ctx.log.config()) else {
                            continue;
                        };
                        let mut c = DescribeConfigsResourceResult::default();
                        c.name = StrBytes::from_static_str(def.name);
                        c.value = Some(StrBytes::from_string(value.clone()));
                        c.config_source = source_code(source);
                        c.read_only = false;
                        if version >= 3 {
                            c.config_type = def.kind.describe_code();
                            if req.include_documentation {
                                c.documentation = Some(StrBytes::from_static_str(def.doc));
                            }
                        }
                        if req.include_synonyms {
                            let mut s = DescribeConfigsSynonym::default();
                            s.name = StrBytes::from_static_str(def.name);
                            s.value = Some(StrBytes::from_string(value));
                            s.source = source_code(source);
                            c.synonyms = vec![s];
                        }
                        r.configs.push(c);
                    }
                }
            },
            RESOURCE_BROKER => {
                let cfg = ctx.log.config();
                let broker: [(&str, String, ConfigType); 3] = [
                    (
                        "auto.create.topics.enable",
                        cfg.auto_create_topics.to_string(),
                        ConfigType::Boolean,
                    ),
                    (
                        "num.partitions",
                        cfg.num_partitions.to_string(),
                        ConfigType::Int,
                    ),
                    (
                        "socket.request.max.bytes",
                        cfg.socket_request_max_bytes.to_string(),
                        ConfigType::Int,
                    ),
                ];
                for (name, value, kind) in broker.into_iter().filter(|(n, _, _)| wanted(n)) {
                    let mut c = DescribeConfigsResourceResult::default();
                    c.name = StrBytes::from_static_str(name);
                    c.value = Some(StrBytes::from_string(value));
                    c.config_source = 4;
                    c.read_only = true;
                    if version >= 3 {
                        c.config_type = kind.describe_code();
                    }
                    r.configs.push(c);
                }
            }
            other => {
                r.error_code = ResponseError::InvalidRequest.code();
                r.error_message = message(format!("resource type {other} is not supported"));
            }
        }
        resp.results.push(r);
    }
    resp
}

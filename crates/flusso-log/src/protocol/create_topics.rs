//! CreateTopics: partitions, configs and validate_only. There is one broker, so the replication
//! factor must be 1 (or -1 for the default) and manual assignments may name only broker 0.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{describe_configs::source_code, message, Ctx};
use crate::config::{TopicConfig, TOPIC_CONFIGS};
use crate::LogError;

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: CreateTopicsRequest,
    _version: i16,
) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = req
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    for topic in req.topics {
        let name = topic.name.0.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = topic.name.clone();
        let outcome = (|| -> Result<(i32, TopicConfig), (ResponseError, String)> {
            if duplicates.contains(&name) {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("topic '{name}' appears more than once"),
                ));
            }
            if topic.replication_factor > 1 {
                return Err((
                    ResponseError::InvalidReplicationFactor,
                    format!(
                        "replication factor {} is larger than the number of brokers (1)",
                        topic.replication_factor
                    ),
                ));
            }
            let partitions = if !topic.assignments.is_empty() {
                if topic
                    .assignments
                    .iter()
                    .any(|a| a.broker_ids.iter().any(|b| b.0 != ctx.node_id))
                {
                    return Err((
                        ResponseError::InvalidReplicaAssignment,
                        format!("only broker {} exists", ctx.node_id),
                    ));
                }
                topic.assignments.len() as i32
            } else if topic.num_partitions == -1 {
                ctx.log.config().num_partitions
            } else {
                topic.num_partitions
            };
            let mut config = TopicConfig::default();
            for c in &topic.configs {
                if let Some(v) = &c.value {
                    config.overrides.insert(c.name.to_string(), v.to_string());
                }
            }
            let to_err = |e: LogError| (e.kafka_error(), e.to_string());
            ctx.log
                .validate_new_topic(&name, partitions, &config)
                .map_err(to_err)?;
            if !req.validate_only {
                ctx.log
                    .create_topic(&name, partitions, config.clone())
                    .map_err(to_err)?;
            }
            Ok((partitions, config))
        })();
        match outcome {
            Ok((partitions, config)) => {
                r.num_partitions = partitions;
                r.replication_factor = 1;
                if let Some(t) = ctx.log.topic(&name) {
                    r.topic_id = t.id();
                }
                r.configs = Some(
                    TOPIC_CONFIGS
                        .iter()
                        .filter_map(|d| {
                            let (value, source) = config.get(d.name, ctx.log.config())?;
                            let mut c = CreatableTopicConfigs::default();
                            c.name = StrBytes::from_static_str(d.name);
                            c.value = Some(StrBytes::from_string(value));
                            c.config_source = source_code(source);
                            Some(c)
                        })
                        .collect(),
                );
            }
            Err((code, text)) => {
                r.error_code = code.code();
                r.error_message = message(text);
                r.num_partitions = -1;
                r.replication_factor = -1;
            }
        }
        resp.topics.push(r);
    }
    resp
}

//! DeleteTopics: by name (and by topic id from v6).

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{message, topic_name, Ctx};

pub(crate) async fn handle(
    ctx: &Arc<Ctx>,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let mut resp = DeleteTopicsResponse::default();
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    for (name, id) in targets {
        let mut r = DeletableTopicResult::default();
        r.topic_id = id;
        let name = match name {
            Some(n) => Some(n),
            None => ctx
                .log
                .topics()
                .into_iter()
                .find(|t| t.id() == id)
                .map(|t| t.name().to_string()),
        };
        match name {
            None => {
                r.error_code = ResponseError::UnknownTopicId.code();
                r.error_message = message(format!("no topic has id {id}"));
            }
            Some(name) => {
                r.name = Some(topic_name(&name));
                if let Some(t) = ctx.log.topic(&name) {
                    r.topic_id = t.id();
                }
                if let Err(e) = ctx.log.delete_topic(&name) {
                    r.error_code = e.code();
                    r.error_message = message(&e);
                }
            }
        }
        resp.responses.push(r);
    }
    resp
}

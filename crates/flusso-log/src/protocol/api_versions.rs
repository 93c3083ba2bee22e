//! ApiVersions: the APIs and versions this server really serves.

use std::sync::Arc;

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::ResponseError;

use super::{Ctx, SUPPORTED_APIS};

fn api_list() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = *key as i16;
            v.min_version = *min;
            v.max_version = *max;
            v
        })
        .collect()
}

pub(crate) async fn handle(
    _ctx: &Arc<Ctx>,
    _req: ApiVersionsRequest,
    _version: i16,
) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys = api_list();
    resp
}

/// The v0 answer to an ApiVersions request of a version we do not serve.
pub(crate) fn unsupported_version() -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = ResponseError::UnsupportedVersion.code();
    resp.api_keys = api_list();
    resp
}

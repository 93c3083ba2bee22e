//! The Kafka wire protocol: request routing and one file per API. Codecs come from the
//! `kafka-protocol` crate; handlers translate between its messages and [`crate::Log`].
//!
//! A request is handled in two steps, so that a connection can pipeline requests while keeping
//! Kafka's ordering guarantees: [`dispatch`] decodes the request and does every state change at
//! once, in arrival order (a produce appends here), then returns a future that finishes the
//! response (waiting for an fsync or a long poll) and encodes it. Responses are written in request
//! order by the connection.

mod alter_configs;
mod api_versions;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod produce;
mod sync_group;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio_util::sync::CancellationToken;

use crate::Log;

/// Everything a handler needs: the log, and who is asking.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub log: Log,
    /// This server's node id (always 0: one embedded broker).
    pub node_id: i32,
    /// Host and port that clients are told to connect to.
    pub advertised_host: String,
    pub advertised_port: i32,
    /// Cancelled at shutdown: long polls return at once.
    pub shutdown: CancellationToken,
    /// The connection's peer, as Kafka shows it (`/127.0.0.1`).
    pub client_host: String,
    /// The client id of the request being served (set for the requests that need it).
    pub client_id: String,
}

/// Why a request could not be served; the connection is closed after logging it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("unsupported version {version} of {api:?}")]
    UnsupportedVersion { api: ApiKey, version: i16 },
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("cannot encode response: {0}")]
    Encode(String),
}

/// The APIs served, with the versions really implemented (advertised by ApiVersions).
pub(crate) const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DeleteRecords, 0, 2),
];

fn supported(api: ApiKey, version: i16) -> bool {
    SUPPORTED_APIS
        .iter()
        .any(|(k, min, max)| *k == api && (*min..=*max).contains(&version))
}

/// A response still being prepared; `None` output means "send nothing" (acks=0).
pub(crate) type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Option<Bytes>, ProtocolError>> + Send + 'static>>;

/// Decodes one request frame (without its length prefix), performs its state changes, and
/// returns the future of its response.
pub(crate) fn dispatch(ctx: &Arc<Ctx>, mut frame: Bytes) -> Result<ResponseFuture, ProtocolError> {
    if frame.len() < 8 {
        return Err(ProtocolError::Malformed(format!(
            "frame of {} bytes",
            frame.len()
        )));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|_| ProtocolError::UnknownApiKey(key))?;
    if !supported(api, version) {
        if api == ApiKey::ApiVersions {
            // Kafka answers an ApiVersions request of an unknown version in v0 form, with an error
            // and the supported ranges, so the client can retry with a version we serve.
            let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            let resp = api_versions::unsupported_version();
            return Ok(ready(encode(correlation_id, api, 0, &resp)));
        }
        return Err(ProtocolError::UnsupportedVersion { api, version });
    }
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(|e| ProtocolError::Malformed(format!("request header: {e}")))?;
    let correlation_id = header.correlation_id;
    tracing::trace!(?api, version, correlation_id, "request");

    macro_rules! route {
        ($req:ty, $handler:path) => {
            route!(ctx, $req, $handler)
        };
        ($ctx:expr, $req:ty, $handler:path) => {{
            let req = decode::<$req>(&mut frame, version)?;
            let ctx = Arc::clone($ctx);
            Box::pin(async move {
                let resp = $handler(&ctx, req, version).await;
                encode(correlation_id, api, version, &resp)
            })
        }};
    }

    let fut: ResponseFuture = match api {
        ApiKey::Produce => {
            let req = if version < 3 {
                produce::decode_legacy(&frame).ok_or_else(|| {
                    ProtocolError::Malformed(format!("produce v{version} request body"))
                })?
            } else {
                decode::<kafka_protocol::messages::ProduceRequest>(&mut frame, version)?
            };
            match produce::handle(ctx, req, version.max(3)) {
                None => Box::pin(async { Ok(None) }),
                Some(pending) if version < 3 => Box::pin(async move {
                    let resp = pending.await;
                    let mut buf = BytesMut::new();
                    let mut header = ResponseHeader::default();
                    header.correlation_id = correlation_id;
                    header
                        .encode(&mut buf, 0)
                        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
                    buf.extend_from_slice(&produce::encode_legacy(&resp, version));
                    Ok(Some(buf.freeze()))
                }),
                Some(pending) => Box::pin(async move {
                    let resp = pending.await;
                    encode(correlation_id, api, version, &resp)
                }),
            }
        }
        ApiKey::JoinGroup => {
            let mut with_client = (**ctx).clone();
            with_client.client_id = header
                .client_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default();
            let with_client = Arc::new(with_client);
            route!(
                &with_client,
                kafka_protocol::messages::JoinGroupRequest,
                join_group::handle
            )
        }
        ApiKey::FindCoordinator => {
            route!(
                kafka_protocol::messages::FindCoordinatorRequest,
                find_coordinator::handle
            )
        }
        ApiKey::SyncGroup => route!(
            kafka_protocol::messages::SyncGroupRequest,
            sync_group::handle
        ),
        ApiKey::Heartbeat => route!(
            kafka_protocol::messages::HeartbeatRequest,
            heartbeat::handle
        ),
        ApiKey::LeaveGroup => route!(
            kafka_protocol::messages::LeaveGroupRequest,
            leave_group::handle
        ),
        ApiKey::OffsetCommit => route!(
            kafka_protocol::messages::OffsetCommitRequest,
            offset_commit::handle
        ),
        ApiKey::OffsetFetch => route!(
            kafka_protocol::messages::OffsetFetchRequest,
            offset_fetch::handle
        ),
        ApiKey::ListGroups => route!(
            kafka_protocol::messages::ListGroupsRequest,
            list_groups::handle
        ),
        ApiKey::DescribeGroups => {
            route!(
                kafka_protocol::messages::DescribeGroupsRequest,
                describe_groups::handle
            )
        }
        ApiKey::DeleteGroups => route!(
            kafka_protocol::messages::DeleteGroupsRequest,
            delete_groups::handle
        ),
        ApiKey::DeleteRecords => {
            route!(
                kafka_protocol::messages::DeleteRecordsRequest,
                delete_records::handle
            )
        }
        ApiKey::InitProducerId => {
            route!(
                kafka_protocol::messages::InitProducerIdRequest,
                init_producer_id::handle
            )
        }
        ApiKey::OffsetDelete => route!(
            kafka_protocol::messages::OffsetDeleteRequest,
            offset_delete::handle
        ),
        ApiKey::Fetch => route!(kafka_protocol::messages::FetchRequest, fetch::handle),
        ApiKey::ListOffsets => route!(
            kafka_protocol::messages::ListOffsetsRequest,
            list_offsets::handle
        ),
        ApiKey::Metadata => route!(kafka_protocol::messages::MetadataRequest, metadata::handle),
        ApiKey::ApiVersions => route!(
            kafka_protocol::messages::ApiVersionsRequest,
            api_versions::handle
        ),
        ApiKey::CreateTopics => route!(
            kafka_protocol::messages::CreateTopicsRequest,
            create_topics::handle
        ),
        ApiKey::DeleteTopics => route!(
            kafka_protocol::messages::DeleteTopicsRequest,
            delete_topics::handle
        ),
        ApiKey::DescribeConfigs => {
            route!(
                kafka_protocol::messages::DescribeConfigsRequest,
                describe_configs::handle
            )
        }
        ApiKey::AlterConfigs => route!(
            kafka_protocol::messages::AlterConfigsRequest,
            alter_configs::handle
        ),
        ApiKey::CreatePartitions => {
            route!(
                kafka_protocol::messages::CreatePartitionsRequest,
                create_partitions::handle
            )
        }
        ApiKey::IncrementalAlterConfigs => route!(
            kafka_protocol::messages::IncrementalAlterConfigsRequest,
            incremental_alter_configs::handle
        ),
        ApiKey::DescribeCluster => {
            route!(
                kafka_protocol::messages::DescribeClusterRequest,
                describe_cluster::handle
            )
        }
        other => {
            return Err(ProtocolError::UnsupportedVersion {
                api: other,
                version,
            })
        }
    };
    Ok(fut)
}

fn decode<T: Decodable>(frame: &mut Bytes, version: i16) -> Result<T, ProtocolError> {
    let value = T::decode(frame, version)
        .map_err(|e| ProtocolError::Malformed(format!("request body: {e}")))?;
    Ok(value)
}

fn ready(result: Result<Option<Bytes>, ProtocolError>) -> ResponseFuture {
    Box::pin(async move { result })
}

/// Encodes a response with its header, without the length prefix.
fn encode<R: Encodable + HeaderVersion>(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    resp: &R,
) -> Result<Option<Bytes>, ProtocolError> {
    let mut buf = BytesMut::with_capacity(64);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut buf, api.response_header_version(version))
        .map_err(|e| ProtocolError::Encode(format!("{api:?} v{version} header: {e}")))?;
    resp.encode(&mut buf, version)
        .map_err(|e| ProtocolError::Encode(format!("{api:?} v{version}: {e}")))?;
    Ok(Some(buf.freeze()))
}

/// A topic name for a response.
pub(crate) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// An optional message string for a response.
pub(crate) fn message(text: impl ToString) -> Option<StrBytes> {
    Some(StrBytes::from_string(text.to_string()))
}

/// Resource type codes of DescribeConfigs and AlterConfigs.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;

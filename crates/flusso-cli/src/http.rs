//! The HTTP API. For now only `GET /healthcheck`, in ksqlDB's shape.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

async fn healthcheck() -> Json<Value> {
    Json(json!({
        "isHealthy": true,
        "details": {
            "metastore": { "isHealthy": true },
            "kafka": { "isHealthy": true }
        }
    }))
}

/// The router of the HTTP API.
pub fn router() -> Router {
    Router::new().route("/healthcheck", get(healthcheck))
}

/// Serves the HTTP API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::debug!(?addr, "http api serving");
    axum::serve(listener, router())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

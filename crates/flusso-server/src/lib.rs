//! Flusso's HTTP API: ksqlDB's REST API on one port, HTTP/1.1 and HTTP/2 cleartext.
//!
//! - `POST /ksql`: statement batches, answered with ksqlDB's entities (`ksql.rs`);
//! - `POST /query`, `POST /query-stream`, `POST /close-query`, `GET /ws/query`: push queries and
//!   PRINT, streamed as they run (`query.rs`);
//! - `POST /inserts-stream`: streamed inserts with acks (`inserts.rs`);
//! - `GET /info`, `/healthcheck`, `/status`, `/is_valid_property/:p`, `/v1/metadata`, `/chc/*`,
//!   `/metrics` (Prometheus), `POST /ksql/terminate` (`info.rs`);
//! - `GET /` and `GET /web/*`: the dashboard, embedded (`web.rs`); `/api/dashboards/*`: saved
//!   dashboards (`dashboards.rs`); `/api/topics/*`: the topic viewer (`topics.rs`).
//!
//! Every error is ksqlDB's shape (`@type`, `error_code`, `message`[, `statementText`,
//! `entities`]) with its status; user mistakes are 4xx, never 500.

mod dashboards;
mod error;
mod info;
mod inserts;
mod ksql;
mod metrics;
mod query;
mod request;
mod rows;
mod topics;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::routing::{get, post};
use axum::Router;
use flusso_engine::Engine;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

/// The largest request body read whole (statement batches, query requests).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    /// Open push queries and PRINTs (for `/close-query`, TERMINATE, SHOW QUERIES), by query id:
    /// their cancel token and statement.
    push_queries: Mutex<HashMap<String, (CancellationToken, String)>>,
    /// Statuses of the commands run through `/ksql`, by command id (`stream/S/create`).
    statuses: Mutex<Vec<(String, serde_json::Value)>>,
    /// The last command sequence number handed out.
    command_seq: AtomicU64,
    /// PRINTs started (for their ids).
    print_seq: AtomicU64,
    metrics: metrics::Metrics,
    /// Saved dashboards (`_flusso_dashboards`).
    dashboards: dashboards::Store,
    started: Instant,
    /// Set while the server shuts down.
    shutdown: CancellationToken,
}

impl AppState {
    /// State over an engine.
    pub fn new(engine: Engine, shutdown: CancellationToken) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                engine,
                push_queries: Mutex::new(HashMap::new()),
                statuses: Mutex::new(Vec::new()),
                command_seq: AtomicU64::new(0),
                print_seq: AtomicU64::new(0),
                metrics: metrics::Metrics::default(),
                dashboards: dashboards::Store::default(),
                started: Instant::now(),
                shutdown,
            }),
        }
    }

    fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

/// The router of the HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/web/{*path}", get(web::file))
        .route("/api/dashboards", get(dashboards::list))
        .route(
            "/api/dashboards/{id}",
            get(dashboards::get_one)
                .put(dashboards::put)
                .delete(dashboards::delete),
        )
        .route("/api/topics", get(topics::list))
        .route("/api/topics/{name}/records", get(topics::records))
        .route("/info", get(info::info))
        .route("/healthcheck", get(info::healthcheck))
        .route("/chc/ready", get(info::chc))
        .route("/chc/live", get(info::chc))
        .route("/status", get(info::statuses))
        .route("/status/{kind}/{entity}/{action}", get(info::status))
        .route(
            "/is_valid_property/{property}",
            get(info::is_valid_property),
        )
        .route("/v1/metadata", get(info::metadata))
        .route("/v1/metadata/id", get(info::metadata_id))
        .route("/clusterStatus", get(info::cluster_status))
        .route("/metrics", get(metrics::metrics))
        .route("/ksql", post(ksql::ksql))
        .route("/ksql/terminate", post(info::terminate_cluster))
        .route("/query", post(query::query))
        .route("/query-stream", post(query::query_stream))
        .route("/close-query", post(query::close_query))
        .route("/inserts-stream", post(inserts::inserts_stream))
        .route("/ws/query", get(query::ws_query))
        // Statements are small; streamed inserts read their body as a stream, unbounded.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves the HTTP API on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    engine: Engine,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::debug!(?addr, "http api serving");
    let state = AppState::new(engine, shutdown.clone());
    let preload = state.clone();
    tokio::spawn(async move {
        let log = preload.engine().log().clone();
        preload.inner.dashboards.preload(log.as_ref()).await;
    });
    // Rows of a push query are small writes: without TCP_NODELAY, Nagle's algorithm holds them
    // until the client acknowledges the previous ones (tens of milliseconds under load).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let graceful = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    // Queries end with the shutdown token; connections a client keeps open (an idle HTTP/2
    // connection, a stalled reader) get a few seconds, then the server stops without them.
    let deadline = async move {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = graceful => r,
        () = deadline => {
            tracing::warn!("http connections still open after {SHUTDOWN_GRACE:?}: closing them");
            Ok(())
        }
    }
}

/// How long open connections may take to finish once the server stops.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

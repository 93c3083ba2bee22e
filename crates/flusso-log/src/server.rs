//! The Kafka TCP listener: one task per connection, requests pipelined and answered in order.
//!
//! Each connection has a reader task that cuts the byte stream into frames (refusing frames over
//! `socket.request.max.bytes`) and a writer loop that dispatches each frame and writes responses in
//! request order. A malformed request, an unknown API key or an unsupported version ends only that
//! connection, with a log line; every other connection keeps working.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{FuturesOrdered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::protocol::{self, Ctx};
use crate::Log;

/// Requests of one connection being worked on at once.
const MAX_IN_FLIGHT: usize = 32;

/// Settings of the Kafka listener.
#[derive(Debug, Clone)]
pub struct KafkaServerConfig {
    /// Host clients are told to connect to (Metadata, DescribeCluster).
    pub advertised_host: String,
    /// Port clients are told to connect to.
    pub advertised_port: u16,
}

/// Serves the Kafka protocol on `listener` until `shutdown` is cancelled, then lets every
/// connection finish the requests it has already read and returns.
pub async fn serve(
    listener: TcpListener,
    log: Log,
    config: KafkaServerConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let ctx = Arc::new(Ctx {
        log,
        node_id: 0,
        advertised_host: config.advertised_host,
        advertised_port: config.advertised_port as i32,
        shutdown: shutdown.clone(),
        client_host: String::new(),
        client_id: String::new(),
    });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let ctx = Arc::clone(&ctx);
                    connections.spawn(async move { connection(ctx, stream, peer).await });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(ctx: Arc<Ctx>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut own = (*ctx).clone();
    own.client_host = format!("/{}", peer.ip());
    let ctx = Arc::new(own);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
    let max = ctx.log.config().socket_request_max_bytes;
    let reader = tokio::spawn(read_frames(read, tx, max, ctx.shutdown.clone(), peer));
    if let Err(e) = write_responses(&ctx, rx, write, peer).await {
        tracing::debug!(%peer, error = %e, "connection closed while writing");
    }
    reader.abort();
}

/// Cuts the stream into frames and hands them on until EOF, an error, a bad frame or shutdown.
async fn read_frames(
    mut read: OwnedReadHalf,
    tx: mpsc::Sender<Bytes>,
    max_bytes: usize,
    shutdown: CancellationToken,
    peer: SocketAddr,
) {
    loop {
        let mut len = [0u8; 4];
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = read.read_exact(&mut len) => if r.is_err() { return },
        }
        let len = i32::from_be_bytes(len);
        if len <= 0 || len as usize > max_bytes {
            tracing::warn!(%peer, len, max_bytes, "request frame size out of bounds; closing connection");
            return;
        }
        // Memory grows with the bytes that really arrive, not with the length a peer claims.
        let mut frame = Vec::with_capacity((len as usize).min(64 * 1024));
        match (&mut read).take(len as u64).read_to_end(&mut frame).await {
            Ok(n) if n == len as usize => {}
            _ => {
                tracing::debug!(%peer, "connection closed mid-frame");
                return;
            }
        }
        if tx.send(Bytes::from(frame)).await.is_err() {
            return;
        }
    }
}

async fn write_responses(
    ctx: &Arc<Ctx>,
    mut rx: mpsc::Receiver<Bytes>,
    write: OwnedWriteHalf,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    let mut pending = FuturesOrdered::new();
    let mut reading = true;
    loop {
        tokio::select! {
            biased;
            Some(result) = pending.next(), if !pending.is_empty() => match result {
                Ok(Some(body)) => {
                    let body: Bytes = body;
                    out.write_all(&(body.len() as i32).to_be_bytes()).await?;
                    out.write_all(&body).await?;
                    if pending.is_empty() {
                        out.flush().await?;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(%peer, error = %e, "response failed; closing connection");
                    return Ok(());
                }
            },
            frame = rx.recv(), if reading && pending.len() < MAX_IN_FLIGHT => match frame {
                Some(frame) => match protocol::dispatch(ctx, frame) {
                    Ok(fut) => pending.push_back(fut),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "bad request; closing connection");
                        reading = false;
                    }
                },
                None => reading = false,
            },
            else => break,
        }
        if !reading && pending.is_empty() {
            break;
        }
    }
    out.flush().await?;
    out.shutdown().await
}

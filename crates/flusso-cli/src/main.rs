//! The `flusso` binary: `flusso server` (the default) runs the embedded log and the HTTP API;
//! `flusso bench log` measures the log; `flusso nexmark` generates Nexmark's events and runs its
//! queries.

mod allocator;
mod bench;
mod bench_agg;
mod bench_groups;
mod bench_join;
mod bench_rest;
mod bench_sql;
mod config;
mod nexmark;

mod qtt;

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use flusso_log::{KafkaServerConfig, Log, LogConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::config::{ServerArgs, ServerConfig};

/// Flusso: streaming SQL over an embedded, Kafka-compatible event log.
#[derive(Debug, Parser)]
#[command(name = "flusso", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the embedded log (Kafka protocol) and the HTTP API. The default.
    Server(ServerArgs),
    /// Measure Flusso's throughput.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// Nexmark: generate its events, run its queries and measure them.
    Nexmark {
        #[command(subcommand)]
        what: nexmark::NexmarkCommand,
    },
    /// Run ksqlDB's query-validation (QTT) files against Flusso.
    Qtt(qtt::QttArgs),
    /// The interactive SQL shell (ksqlDB's CLI), talking to a server over HTTP.
    Shell(flusso_shell::ShellArgs),
}

fn main() -> anyhow::Result<()> {
    allocator::configure();
    let cli = Cli::parse();
    match cli.command {
        None => run_server(cli.server),
        Some(Command::Server(args)) => run_server(args),
        Some(Command::Bench { what }) => {
            init_tracing("warn");
            bench::run(what)
        }
        Some(Command::Nexmark { what }) => {
            init_tracing("warn,rdkafka=off,librdkafka=off");
            nexmark::run(what)
        }
        Some(Command::Qtt(args)) => {
            init_tracing("error,rdkafka=off,librdkafka=off");
            qtt::run(args)
        }
        Some(Command::Shell(args)) => std::process::exit(flusso_shell::run(args)?),
    }
}

fn init_tracing(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    init_tracing(&config.log_level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flusso")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    if let Some(bootstrap) = config.kafka_bootstrap.clone() {
        return serve_on_kafka(config, &bootstrap).await;
    }
    let mut log_config = LogConfig::new(&config.data_dir);
    log_config.num_partitions = config.num_partitions;
    log_config.auto_create_topics = config.auto_create_topics;
    log_config.topic_defaults = config.topic_defaults.clone();
    log_config.retention_check_interval_ms = config.retention_check_interval_ms;
    log_config.cleaner_interval_ms = config.cleaner_interval_ms;
    let log = tokio::task::spawn_blocking(move || Log::open(log_config))
        .await?
        .with_context(|| format!("cannot open the log in '{}'", config.data_dir.display()))?;

    let kafka = TcpListener::bind(config.kafka_listen)
        .await
        .with_context(|| format!("cannot listen for Kafka clients on {}", config.kafka_listen))?;
    let kafka_addr = kafka.local_addr()?;
    let (advertised_host, advertised_port) = config.advertised_kafka.clone().unwrap_or_else(|| {
        let ip = kafka_addr.ip();
        let host = if ip.is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            ip.to_string()
        };
        (host, kafka_addr.port())
    });
    let http = TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_listen))?;
    let http_addr = http.local_addr()?;

    let shutdown = CancellationToken::new();
    let kafka_task = tokio::spawn(flusso_log::serve(
        kafka,
        log.clone(),
        KafkaServerConfig {
            advertised_host: advertised_host.clone(),
            advertised_port,
        },
        shutdown.clone(),
    ));
    let engine = flusso_engine::Engine::open(
        flusso_engine::EmbeddedLog::new(log.clone()),
        flusso_engine::EngineConfig::default(),
    )
    .await
    .context("cannot start the SQL engine")?;
    let http_task = tokio::spawn(flusso_server::serve(http, engine.clone(), shutdown.clone()));
    let background = tokio::spawn(log.clone().run_background(shutdown.clone()));
    tracing::info!(
        kafka = %kafka_addr,
        advertised = %format!("{advertised_host}:{advertised_port}"),
        http = %http_addr,
        data_dir = %config.data_dir.display(),
        "flusso ready"
    );

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    engine.shutdown().await;
    let results = Arc::new((kafka_task.await, http_task.await, background.await));
    if let Ok(Err(e)) = &results.0 {
        tracing::error!(error = %e, "kafka listener failed");
    }
    if let Ok(Err(e)) = &results.1 {
        tracing::error!(error = %e, "http listener failed");
    }
    tokio::task::spawn_blocking(move || log.shutdown()).await??;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Runs the engine and the HTTP API over an external Kafka cluster (no embedded log).
async fn serve_on_kafka(config: ServerConfig, bootstrap: &str) -> anyhow::Result<()> {
    let kafka = flusso_engine::kafka_log::KafkaLog::connect(bootstrap, None)?;
    kafka
        .ping()
        .await
        .with_context(|| format!("cannot reach the Kafka cluster at {bootstrap}"))?;
    let engine = flusso_engine::Engine::open(kafka, flusso_engine::EngineConfig::default())
        .await
        .context("cannot start the SQL engine")?;
    let http = TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_listen))?;
    let http_addr = http.local_addr()?;
    let shutdown = CancellationToken::new();
    let http_task = tokio::spawn(flusso_server::serve(http, engine.clone(), shutdown.clone()));
    tracing::info!(kafka = bootstrap, http = %http_addr, "flusso ready (external Kafka)");
    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    engine.shutdown().await;
    if let Ok(Err(e)) = http_task.await {
        tracing::error!(error = %e, "http listener failed");
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

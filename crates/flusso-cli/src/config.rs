//! Server settings: command-line flags, each also settable from `FLUSSO_*` environment variables
//! and from a TOML file (`--config`). Precedence: flag, then environment, then file, then default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;

/// Flags of `flusso server`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// TOML file with any of the settings below (keys as the flags, with '_' for '-').
    #[arg(long, env = "FLUSSO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded log's data [default: ./flusso-data].
    #[arg(long, env = "FLUSSO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address the Kafka protocol listens on [default: 127.0.0.1:9092].
    #[arg(long, env = "FLUSSO_KAFKA_LISTEN")]
    pub kafka_listen: Option<String>,
    /// host:port that Kafka clients are told to connect to [default: the listen address].
    #[arg(long, env = "FLUSSO_ADVERTISED_KAFKA")]
    pub advertised_kafka: Option<String>,
    /// Address of the HTTP API [default: 127.0.0.1:8088].
    #[arg(long, env = "FLUSSO_HTTP_LISTEN")]
    pub http_listen: Option<String>,
    /// Log level or tracing filter, e.g. `info` or `flusso_log=debug` [default: info].
    #[arg(long, env = "FLUSSO_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Partitions of auto-created topics [default: 1].
    #[arg(long, env = "FLUSSO_NUM_PARTITIONS")]
    pub num_partitions: Option<i32>,
    /// Whether Metadata requests may create missing topics [default: true].
    #[arg(long, env = "FLUSSO_AUTO_CREATE_TOPICS")]
    pub auto_create_topics: Option<bool>,
    /// How often retention looks for segments to delete, e.g. `30s` [default: 30s].
    #[arg(long, env = "FLUSSO_RETENTION_CHECK_INTERVAL")]
    pub retention_check_interval: Option<String>,
    /// How often the compaction cleaner looks at compacted topics, e.g. `15s` [default: 15s].
    #[arg(long, env = "FLUSSO_CLEANER_INTERVAL")]
    pub cleaner_interval: Option<String>,
    /// host:port of an external Kafka cluster; when given, no embedded log is started and the
    /// SQL engine reads and writes that cluster's topics.
    #[arg(long, env = "FLUSSO_KAFKA_BOOTSTRAP")]
    pub kafka_bootstrap: Option<String>,
}

/// The TOML file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    kafka_listen: Option<String>,
    advertised_kafka: Option<String>,
    http_listen: Option<String>,
    log_level: Option<String>,
    num_partitions: Option<i32>,
    auto_create_topics: Option<bool>,
    retention_check_interval: Option<String>,
    cleaner_interval: Option<String>,
    kafka_bootstrap: Option<String>,
    /// Server-wide defaults for topic configs, e.g. `"segment.bytes" = "1048576"`.
    #[serde(default)]
    topic_defaults: BTreeMap<String, toml::Value>,
}

/// Fully resolved server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub kafka_listen: SocketAddr,
    pub advertised_kafka: Option<(String, u16)>,
    pub http_listen: SocketAddr,
    pub log_level: String,
    pub num_partitions: i32,
    pub auto_create_topics: bool,
    pub topic_defaults: BTreeMap<String, String>,
    pub retention_check_interval_ms: u64,
    pub cleaner_interval_ms: u64,
    pub kafka_bootstrap: Option<String>,
}

impl ServerArgs {
    /// Merges flags and environment (already in `self`) with the file and the defaults.
    pub fn resolve(&self) -> anyhow::Result<ServerConfig> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file '{}'", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("invalid config file '{}'", path.display()))?
            }
            None => FileConfig::default(),
        };
        let kafka_listen = self
            .kafka_listen
            .clone()
            .or(file.kafka_listen)
            .unwrap_or_else(|| "127.0.0.1:9092".into());
        let http_listen = self
            .http_listen
            .clone()
            .or(file.http_listen)
            .unwrap_or_else(|| "127.0.0.1:8088".into());
        let advertised = self.advertised_kafka.clone().or(file.advertised_kafka);
        let advertised_kafka = match advertised {
            None => None,
            Some(a) => {
                let (host, port) = a
                    .rsplit_once(':')
                    .with_context(|| format!("--advertised-kafka '{a}' must be host:port"))?;
                let port: u16 = port
                    .parse()
                    .with_context(|| format!("invalid port in '{a}'"))?;
                Some((host.trim_matches(['[', ']']).to_string(), port))
            }
        };
        let num_partitions = self.num_partitions.or(file.num_partitions).unwrap_or(1);
        if num_partitions < 1 {
            bail!("num-partitions must be at least 1, got {num_partitions}");
        }
        let mut topic_defaults = BTreeMap::new();
        for (k, v) in file.topic_defaults {
            let v = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            flusso_log::validate_config(&k, &v)
                .map_err(|e| anyhow::anyhow!("topic_defaults: {e}"))?;
            topic_defaults.insert(k, v);
        }
        let interval = |value: Option<String>, name: &str, default: u64| -> anyhow::Result<u64> {
            match value {
                None => Ok(default),
                Some(v) => flusso_common::parse_duration_ms(&v)
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(|ms| ms as u64)
                    .with_context(|| format!("--{name} '{v}' is not a positive duration")),
            }
        };
        let retention_check_interval_ms = interval(
            self.retention_check_interval
                .clone()
                .or(file.retention_check_interval),
            "retention-check-interval",
            30_000,
        )?;
        let cleaner_interval_ms = interval(
            self.cleaner_interval.clone().or(file.cleaner_interval),
            "cleaner-interval",
            15_000,
        )?;
        Ok(ServerConfig {
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| "flusso-data".into()),
            kafka_listen: parse_addr(&kafka_listen, "kafka-listen")?,
            advertised_kafka,
            http_listen: parse_addr(&http_listen, "http-listen")?,
            log_level: self
                .log_level
                .clone()
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            num_partitions,
            auto_create_topics: self
                .auto_create_topics
                .or(file.auto_create_topics)
                .unwrap_or(true),
            topic_defaults,
            retention_check_interval_ms,
            cleaner_interval_ms,
            kafka_bootstrap: self.kafka_bootstrap.clone().or(file.kafka_bootstrap),
        })
    }
}

fn parse_addr(text: &str, flag: &str) -> anyhow::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .with_context(|| format!("--{flag} '{text}' is not an address"))?
        .next()
        .with_context(|| format!("--{flag} '{text}' resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fills_what_flags_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flusso.toml");
        std::fs::write(
            &path,
            "data_dir = \"/tmp/x\"\nkafka_listen = \"127.0.0.1:19092\"\nnum_partitions = 3\n[topic_defaults]\n\"segment.bytes\" = 1048576\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(path),
            kafka_listen: Some("127.0.0.1:29092".into()),
            ..Default::default()
        };
        let cfg = args.resolve().unwrap();
        assert_eq!(cfg.kafka_listen.port(), 29092);
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.num_partitions, 3);
        assert_eq!(cfg.http_listen.port(), 8088);
        assert_eq!(cfg.topic_defaults["segment.bytes"], "1048576");
    }

    #[test]
    fn bad_values_are_refused() {
        let args = ServerArgs {
            kafka_listen: Some("nowhere".into()),
            ..Default::default()
        };
        assert!(args.resolve().is_err());
        let args = ServerArgs {
            advertised_kafka: Some("host-without-port".into()),
            ..Default::default()
        };
        assert!(args.resolve().is_err());
    }
}

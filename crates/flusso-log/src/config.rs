//! Server-wide log settings ([`LogConfig`]) and per-topic configs ([`TopicConfig`]) with the
//! names, defaults and validation Kafka uses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{LogError, Result};

/// Settings of the embedded log as a whole.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Directory holding every partition's segments and the log's metadata.
    pub data_dir: PathBuf,
    /// Partitions of an auto-created topic (`num.partitions`).
    pub num_partitions: i32,
    /// Whether Metadata requests may create missing topics (`auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Largest accepted request frame (`socket.request.max.bytes`).
    pub socket_request_max_bytes: usize,
    /// Server-wide defaults for topic configs, overriding Kafka's (e.g. `segment.bytes`).
    pub topic_defaults: BTreeMap<String, String>,
    /// How often each partition's recovery checkpoint is written, in milliseconds.
    pub checkpoint_interval_ms: u64,
    /// Settings of the group coordinator.
    pub groups: crate::group::GroupConfig,
    /// How often segments past `retention.ms` / `retention.bytes` are looked for.
    pub retention_check_interval_ms: u64,
    /// How often compacted partitions are looked at by the cleaner.
    pub cleaner_interval_ms: u64,
}

impl LogConfig {
    /// Defaults for a log kept in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        LogConfig {
            data_dir: data_dir.into(),
            num_partitions: 1,
            auto_create_topics: true,
            socket_request_max_bytes: 100 * 1024 * 1024,
            topic_defaults: BTreeMap::new(),
            checkpoint_interval_ms: 5_000,
            groups: crate::group::GroupConfig::default(),
            retention_check_interval_ms: 30_000,
            cleaner_interval_ms: 15_000,
        }
    }
}

/// Kind of a topic config value, for validation and for DescribeConfigs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    Long,
    /// Floating point.
    Double,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Comma-separated list of fixed words.
    List(&'static [&'static str]),
    /// Boolean.
    Boolean,
}

impl ConfigType {
    /// Kafka's DescribeConfigs type code (v3+).
    pub fn describe_code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::Enum(_) => 2,
            ConfigType::Int => 3,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List(_) => 7,
        }
    }
}

/// A known topic config: name, type, Kafka's default.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    /// Config name, e.g. `retention.ms`.
    pub name: &'static str,
    /// Value type.
    pub kind: ConfigType,
    /// Default when neither the topic nor the server sets it.
    pub default: &'static str,
    /// One-line meaning, shown by DescribeConfigs with documentation.
    pub doc: &'static str,
}

/// Every topic config the log knows, sorted by name.
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        name: "cleanup.policy",
        kind: ConfigType::List(&["delete", "compact"]),
        default: "delete",
        doc: "delete old segments, compact to the latest value per key, or both",
    },
    ConfigDef {
        name: "compression.type",
        kind: ConfigType::Enum(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
        default: "producer",
        doc: "batches are stored as the producer compressed them",
    },
    ConfigDef {
        name: "delete.retention.ms",
        kind: ConfigType::Long,
        default: "86400000",
        doc: "how long tombstones are kept in compacted topics",
    },
    ConfigDef {
        name: "index.interval.bytes",
        kind: ConfigType::Int,
        default: "4096",
        doc: "bytes of log between two offset index entries",
    },
    ConfigDef {
        name: "max.compaction.lag.ms",
        kind: ConfigType::Long,
        default: "9223372036854775807",
        doc: "longest time a record stays uncompacted",
    },
    ConfigDef {
        name: "max.message.bytes",
        kind: ConfigType::Int,
        default: "1048588",
        doc: "largest record batch accepted",
    },
    ConfigDef {
        name: "message.timestamp.type",
        kind: ConfigType::Enum(&["CreateTime", "LogAppendTime"]),
        default: "CreateTime",
        doc: "whether records keep the producer's timestamp or get the broker's append time",
    },
    ConfigDef {
        name: "min.cleanable.dirty.ratio",
        kind: ConfigType::Double,
        default: "0.5",
        doc: "share of uncompacted log that triggers compaction",
    },
    ConfigDef {
        name: "min.compaction.lag.ms",
        kind: ConfigType::Long,
        default: "0",
        doc: "shortest time a record stays uncompacted",
    },
    ConfigDef {
        name: "min.insync.replicas",
        kind: ConfigType::Int,
        default: "1",
        doc: "replicas that must acknowledge acks=all writes (always 1 here)",
    },
    ConfigDef {
        name: "retention.bytes",
        kind: ConfigType::Long,
        default: "-1",
        doc: "largest size of a partition before old segments are deleted, -1 for no limit",
    },
    ConfigDef {
        name: "retention.ms",
        kind: ConfigType::Long,
        default: "604800000",
        doc: "how long records are kept, -1 for ever",
    },
    ConfigDef {
        name: "segment.bytes",
        kind: ConfigType::Int,
        default: "1073741824",
        doc: "size at which a segment is closed and a new one started",
    },
    ConfigDef {
        name: "segment.ms",
        kind: ConfigType::Long,
        default: "604800000",
        doc: "age at which a segment is closed and a new one started",
    },
];

/// Looks a topic config up by name.
pub fn config_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks one config value against its definition.
pub fn validate_config(name: &str, value: &str) -> Result<()> {
    let def = config_def(name)
        .ok_or_else(|| LogError::InvalidConfig(format!("unknown topic config '{name}'")))?;
    let bad = || LogError::InvalidConfig(format!("invalid value '{value}' for '{name}'"));
    match def.kind {
        ConfigType::Int => {
            value.trim().parse::<i32>().map_err(|_| bad())?;
        }
        ConfigType::Long => {
            value.trim().parse::<i64>().map_err(|_| bad())?;
        }
        ConfigType::Double => {
            value.trim().parse::<f64>().map_err(|_| bad())?;
        }
        ConfigType::Boolean => {
            value.trim().parse::<bool>().map_err(|_| bad())?;
        }
        ConfigType::Enum(words) => {
            if !words.contains(&value.trim()) {
                return Err(bad());
            }
        }
        ConfigType::List(words) => {
            if value.split(',').any(|w| !words.contains(&w.trim())) {
                return Err(bad());
            }
        }
    }
    match name {
        "segment.bytes" if value.trim().parse::<i64>().unwrap_or(0) < 14 => Err(bad()),
        "max.message.bytes" | "index.interval.bytes" | "segment.ms"
            if value.trim().parse::<i64>().unwrap_or(0) < 0 =>
        {
            Err(bad())
        }
        _ => Ok(()),
    }
}

/// A topic's explicitly set configs, resolved against server and Kafka defaults.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopicConfig {
    /// Configs set on the topic itself.
    pub overrides: BTreeMap<String, String>,
}

/// Where a resolved config value came from (DescribeConfigs' `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    Topic,
    /// Set in the server's configuration.
    Server,
    /// Kafka's default.
    Default,
}

impl TopicConfig {
    /// The value of `name` and where it came from.
    pub fn get(&self, name: &str, server: &LogConfig) -> Option<(String, ConfigSource)> {
        if let Some(v) = self.overrides.get(name) {
            return Some((v.clone(), ConfigSource::Topic));
        }
        if let Some(v) = server.topic_defaults.get(name) {
            return Some((v.clone(), ConfigSource::Server));
        }
        config_def(name).map(|d| (d.default.to_string(), ConfigSource::Default))
    }

    /// Resolves the values the storage layer needs.
    pub fn resolve(&self, server: &LogConfig) -> ResolvedConfig {
        let num = |name: &str| -> i64 {
            self.get(name, server)
                .and_then(|(v, _)| v.trim().parse().ok())
                .unwrap_or_else(|| {
                    config_def(name)
                        .and_then(|d| d.default.parse().ok())
                        .unwrap_or(0)
                })
        };
        let text = |name: &str| self.get(name, server).map(|(v, _)| v).unwrap_or_default();
        let policy = text("cleanup.policy");
        let ratio = self
            .get("min.cleanable.dirty.ratio", server)
            .and_then(|(v, _)| v.trim().parse::<f64>().ok())
            .unwrap_or(0.5);
        ResolvedConfig {
            segment_bytes: num("segment.bytes").max(14) as u64,
            segment_ms: num("segment.ms"),
            max_message_bytes: num("max.message.bytes").max(0) as usize,
            index_interval_bytes: num("index.interval.bytes").max(0) as u64,
            log_append_time: text("message.timestamp.type") == "LogAppendTime",
            retention_ms: num("retention.ms"),
            retention_bytes: num("retention.bytes"),
            compact: policy.split(',').any(|p| p.trim() == "compact"),
            delete: policy.split(',').any(|p| p.trim() == "delete"),
            delete_retention_ms: num("delete.retention.ms"),
            min_cleanable_dirty_ratio: ratio,
            min_compaction_lag_ms: num("min.compaction.lag.ms"),
        }
    }
}

/// The storage-relevant configs of one topic, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedConfig {
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: i64,
    /// `max.message.bytes`.
    pub max_message_bytes: usize,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u64,
    /// `message.timestamp.type=LogAppendTime`.
    pub log_append_time: bool,
    /// `retention.ms`.
    pub retention_ms: i64,
    /// `retention.bytes`.
    pub retention_bytes: i64,
    /// `cleanup.policy` includes `compact`.
    pub compact: bool,
    /// `cleanup.policy` includes `delete`.
    pub delete: bool,
    /// `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
}

impl Default for ResolvedConfig {
    fn default() -> Self {
        TopicConfig::default().resolve(&LogConfig::new("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(validate_config("retention.ms", "-1").is_ok());
        assert!(validate_config("retention.ms", "soon").is_err());
        assert!(validate_config("cleanup.policy", "compact,delete").is_ok());
        assert!(validate_config("cleanup.policy", "shred").is_err());
        assert!(validate_config("no.such.config", "1").is_err());
        assert!(validate_config("segment.bytes", "1").is_err());
    }

    #[test]
    fn resolution_order() {
        let mut server = LogConfig::new("/tmp");
        server
            .topic_defaults
            .insert("segment.bytes".into(), "2048".into());
        let mut topic = TopicConfig::default();
        assert_eq!(topic.resolve(&server).segment_bytes, 2048);
        topic
            .overrides
            .insert("segment.bytes".into(), "4096".into());
        assert_eq!(topic.resolve(&server).segment_bytes, 4096);
        assert_eq!(
            topic.get("retention.ms", &server).unwrap().1,
            ConfigSource::Default
        );
        assert_eq!(ResolvedConfig::default().max_message_bytes, 1048588);
    }
}

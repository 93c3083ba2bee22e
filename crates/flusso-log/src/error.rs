//! The log's error type and its mapping onto Kafka's wire error codes.

use kafka_protocol::ResponseError;

/// `Result` with [`LogError`] as the default error.
pub type Result<T, E = LogError> = std::result::Result<T, E>;

/// Everything that can go wrong in the embedded log, by category.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The topic or partition does not exist.
    #[error("unknown topic or partition '{0}'")]
    UnknownTopicOrPartition(String),
    /// The topic name breaks Kafka's naming rules.
    #[error("invalid topic name '{0}': {1}")]
    InvalidTopic(String, &'static str),
    /// A topic of that name exists already.
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    /// A record batch failed validation (magic, length, CRC, record count).
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    /// A record batch is larger than the topic's `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    RecordTooLarge {
        /// Size of the rejected batch.
        size: usize,
        /// The topic's limit.
        max: usize,
    },
    /// A read asked for an offset outside `[log start, log end]`.
    #[error("offset {offset} is out of range [{start}, {end}]")]
    OffsetOutOfRange {
        /// The requested offset.
        offset: i64,
        /// The log start offset.
        start: i64,
        /// The log end offset.
        end: i64,
    },
    /// A configuration name or value is not accepted.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A partition count is not accepted.
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// A request parameter is not accepted.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The operating system refused a file operation.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A record breaks a rule of its topic (e.g. no key in a compacted topic).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// An idempotent producer skipped or repeated sequence numbers.
    #[error("out of order sequence: {0}")]
    OutOfOrderSequence(String),
    /// An idempotent producer wrote with an epoch older than the current one.
    #[error("invalid producer epoch: {0}")]
    InvalidProducerEpoch(String),
    /// The log is shutting down and takes no more writes.
    #[error("the log is shutting down")]
    ShuttingDown,
}

impl LogError {
    /// The Kafka error this maps to on the wire.
    pub fn kafka_error(&self) -> ResponseError {
        match self {
            LogError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
            LogError::InvalidTopic(..) => ResponseError::InvalidTopicException,
            LogError::TopicExists(_) => ResponseError::TopicAlreadyExists,
            LogError::CorruptMessage(_) => ResponseError::CorruptMessage,
            LogError::RecordTooLarge { .. } => ResponseError::MessageTooLarge,
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            LogError::InvalidConfig(_) => ResponseError::InvalidConfig,
            LogError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            LogError::InvalidRequest(_) => ResponseError::InvalidRequest,
            LogError::Io(_) => ResponseError::KafkaStorageError,
            LogError::OutOfOrderSequence(_) => ResponseError::OutOfOrderSequenceNumber,
            LogError::InvalidRecord(_) => ResponseError::InvalidRecord,
            LogError::InvalidProducerEpoch(_) => ResponseError::InvalidProducerEpoch,
            LogError::ShuttingDown => ResponseError::NotLeaderOrFollower,
        }
    }

    /// The Kafka error code this maps to on the wire.
    pub fn code(&self) -> i16 {
        self.kafka_error().code()
    }
}

//! Admin commands to the sync engines: the Kafka producer and the publishing of one
//! [`AdminCommand`] (Avro, [`schemas::wire::encode_command`]) to `kafka.commands_topic`,
//! keyed by [`AdminCommand::partition_key`].

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::AdminCommand;
use thiserror::Error;

use crate::config::KafkaConfig;

/// Why a command was not published. Its text is what the audit trail records as the
/// request's `detail`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The producer could not be created at start (its reason was logged then).
    #[error("no Kafka producer (see the startup log)")]
    NoProducer,
    /// The broker refused or did not acknowledge the message in time.
    #[error("{0}")]
    Kafka(#[from] KafkaError),
}

/// The Kafka producer of admin commands: acks from every in-sync replica, one message per
/// batch (tansu 0.6.0 skips the rest of a batch a fetch starts inside, deploy/README.md).
pub fn producer(config: &KafkaConfig) -> Result<FutureProducer, KafkaError> {
    let mut c = rdkafka::ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers)
        .set("acks", "all")
        .set("batch.num.messages", "1")
        .set("message.timeout.ms", "10000");
    for (k, v) in &config.extra {
        c.set(k, v);
    }
    c.create()
}

/// Publishes `command` to `topic`; answers its (partition, offset).
pub async fn publish(
    producer: Option<&FutureProducer>,
    topic: &str,
    command: &AdminCommand,
) -> Result<(i32, i64), PublishError> {
    let producer = producer.ok_or(PublishError::NoProducer)?;
    let payload = schemas::wire::encode_command(command);
    let key = command.partition_key();
    let record = FutureRecord::to(topic).key(&key).payload(&payload);
    match producer.send(record, Duration::from_secs(15)).await {
        Ok(delivery) => Ok((delivery.partition, delivery.offset)),
        Err((e, _)) => Err(PublishError::Kafka(e)),
    }
}

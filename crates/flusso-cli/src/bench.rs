//! `flusso bench log`: produce and consume throughput of the embedded log, in-process and over
//! TCP with rdkafka, next to the machine's ceilings (sequential write with fsync, memory copy).

use clap::Subcommand;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The embedded log.
    Log,
}

pub fn run(_what: BenchCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}

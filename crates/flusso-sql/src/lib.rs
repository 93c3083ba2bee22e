//! `flusso-sql`: the ksqlDB dialect, parsed into statements with source positions.
//!
//! (Being written: see the crate's modules.)

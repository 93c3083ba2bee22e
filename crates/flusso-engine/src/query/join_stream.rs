//! Stream-stream joins (placeholder until the operator lands).

use super::join_ops::{Input, Key, Kind, Output, Row};

/// A join operator's state as plain data, for the changelog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinState {
    /// Stored records: store number (operator-defined), key, row, timestamp, sequence number.
    pub rows: Vec<(u8, Key, Option<Row>, i64, u64)>,
    /// Operator-defined counters (stream times, next sequence number …).
    pub times: Vec<i64>,
}

/// Stream-stream join.
#[derive(Debug)]
pub struct StreamStreamJoin;

impl StreamStreamJoin {
    /// A stream-stream join.
    pub fn new(_kind: Kind, _before: i64, _after: i64, _grace: Option<i64>) -> Self {
        StreamStreamJoin
    }
    /// Applies one record.
    pub fn process(&mut self, _input: Input, _out: &mut Vec<Output>) {}
    /// State.
    pub fn export(&self) -> JoinState {
        JoinState::default()
    }
    /// Restores state.
    pub fn import(&mut self, _state: JoinState) {}
}

//! Table-table joins (placeholder until the operators land).

use super::join_ops::{Input, Kind, Output};
use super::join_stream::JoinState;

/// Primary-key table-table join.
#[derive(Debug)]
pub struct TableTableJoin;

impl TableTableJoin {
    /// A table-table join.
    pub fn new(_kind: Kind) -> Self {
        TableTableJoin
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

/// Foreign-key table-table join.
#[derive(Debug)]
pub struct ForeignKeyJoin;

impl ForeignKeyJoin {
    /// A foreign-key join.
    pub fn new(_kind: Kind) -> Self {
        ForeignKeyJoin
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

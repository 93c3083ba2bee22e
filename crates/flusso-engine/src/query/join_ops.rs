//! The per-record state machines of the join kinds, independent of Arrow and of the plan: the
//! caller evaluates each side's join key (and, for a foreign-key join, the foreign key) and hands
//! records over one at a time, in arrival order; the operator answers with the join's outputs in
//! the order ksqlDB emits them. The rules are those of `docs/design/joins.md` (§4–§8).
//!
//! Rows are opaque to the operators: a row is one side's columns (`Row`), kept and handed back.

use std::sync::Arc;

use datafusion::common::ScalarValue;

/// One side's columns, as the caller laid them out.
pub type Row = Arc<[ScalarValue]>;

/// A join key: one value for a key join (two for a windowed source: key, window start …),
/// the left table's primary key columns for a foreign-key join.
pub type Key = Vec<ScalarValue>;

/// Which input a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The left (FROM, or the join so far) input.
    Left,
    /// The right (JOINed) input.
    Right,
}

/// Join kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `[INNER] JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
}

/// One record entering a join.
#[derive(Debug, Clone)]
pub struct Input<R = Row> {
    /// Its side.
    pub side: Side,
    /// The join key; `None` when the key (or the re-keying expression) is null.
    pub key: Option<Key>,
    /// The row; `None` for a null value (stream) or a tombstone (table).
    pub row: Option<R>,
    /// The record's timestamp (event time).
    pub ts: i64,
    /// Foreign-key joins, left side only: the foreign key evaluated on `row` (`None` when null
    /// or when `row` is `None`).
    pub fk: Option<ScalarValue>,
    /// Foreign-key joins, left side only: the left key as serialized bytes; a right update
    /// reaches its subscribed left rows in ascending unsigned order of these bytes.
    ///
    /// Stream-stream joins with a GRACE PERIOD: the join key as serialized bytes; a sweep pads
    /// buffered records of equal timestamp and side in ascending order of these bytes (then in
    /// arrival order, which is all that is left when they are empty).
    pub key_bytes: Vec<u8>,
}

/// One output of a join.
#[derive(Debug, Clone, PartialEq)]
pub struct Output<R = Row, K = Key> {
    /// The output key: the join key of a key join (for an outer row padded with nulls, the key
    /// of the side that has a row), the left table's key for a foreign-key join.
    pub key: K,
    /// The left side's row (`None`: padded with nulls).
    pub left: Option<R>,
    /// The right side's row (`None`: padded with nulls).
    pub right: Option<R>,
    /// The output timestamp.
    pub ts: i64,
    /// A table join's tombstone for `key` (`left` and `right` are then `None`).
    pub tombstone: bool,
}

/// Stream-table join (§4): the table side's current rows; a stream record looks its key up.
#[derive(Debug, Default)]
pub struct StreamTableJoin {
    /// LEFT (true) or INNER (false).
    pub outer: bool,
    table: std::collections::HashMap<Key, Row>,
}

impl StreamTableJoin {
    /// A stream-table join of kind `kind` (INNER or LEFT).
    pub fn new(kind: Kind) -> StreamTableJoin {
        StreamTableJoin {
            outer: kind == Kind::Left,
            table: Default::default(),
        }
    }

    /// Applies one record (left: the stream, right: the table); outputs go to `out`.
    pub fn process(&mut self, input: Input, out: &mut Vec<Output>) {
        match input.side {
            Side::Right => {
                let Some(key) = input.key else { return };
                match input.row {
                    Some(r) => {
                        self.table.insert(key, r);
                    }
                    None => {
                        self.table.remove(&key);
                    }
                }
            }
            Side::Left => {
                let Some(row) = input.row else { return };
                let Some(key) = input.key else {
                    if self.outer {
                        out.push(Output {
                            key: Vec::new(),
                            left: Some(row),
                            right: None,
                            ts: input.ts,
                            tombstone: false,
                        });
                    }
                    return;
                };
                let right = self.table.get(&key).cloned();
                if right.is_some() || self.outer {
                    out.push(Output {
                        key,
                        left: Some(row),
                        right,
                        ts: input.ts,
                        tombstone: false,
                    });
                }
            }
        }
    }

    /// The table's current row for `key`.
    pub fn get(&self, key: &Key) -> Option<&Row> {
        self.table.get(key)
    }

    /// The table side's rows, for the changelog.
    pub fn export(&self) -> Vec<(Key, Row)> {
        self.table
            .iter()
            .map(|(k, r)| (k.clone(), Arc::clone(r)))
            .collect()
    }

    /// Restores the table side's rows.
    pub fn import(&mut self, rows: Vec<(Key, Row)>) {
        self.table = rows.into_iter().collect();
    }
}

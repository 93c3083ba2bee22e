//! Table-table joins, record by record: on the primary key (`docs/design/joins.md` §6, Kafka
//! Streams' `KTableKTable{Inner,Left,Right,Outer}Join`) and on a foreign key (§7, its
//! subscription/response protocol collapsed into one synchronous step).
//!
//! Caching is off (§11): every update produces its output at once, an update identical to the
//! stored row included. Rows with a null key are dropped.

use std::hash::Hash;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use hashbrown::{HashMap, HashSet};

use super::join_ops::{Input, Key, Kind, Output, Row, Side};
use super::join_stream::{present_key, JoinState};

/// Store numbers of the exported state: the left table's rows.
const STORE_LEFT: u8 = 0;
/// The right table's rows.
const STORE_RIGHT: u8 = 1;

/// A table's current row of a key.
#[derive(Debug, Clone)]
struct TableRow<R = Row> {
    row: R,
    /// The timestamp of the update that wrote it.
    ts: i64,
    /// Numbers writes in arrival order (keeps the exported state in a stable order).
    seq: u64,
}

/// A join output with a row on at least one side.
fn joined<R, K>(key: K, left: Option<R>, right: Option<R>, ts: i64) -> Output<R, K> {
    Output {
        key,
        left,
        right,
        ts,
        tombstone: false,
    }
}

/// A tombstone for `key`.
fn tombstone<R, K>(key: K, ts: i64) -> Output<R, K> {
    Output {
        key,
        left: None,
        right: None,
        ts,
        tombstone: true,
    }
}

/// The sequence-number counter as an exported time.
fn seq_time(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The sequence-number counter from an exported state's times.
fn seq_from(times: &[i64]) -> u64 {
    times
        .first()
        .and_then(|t| u64::try_from(*t).ok())
        .unwrap_or(0)
}

/// Primary-key table-table join (§6): INNER, LEFT, RIGHT or FULL.
///
/// An update `v` on side X with the other side's row `w`: both present → `join`, timestamp
/// max(update, `w`'s); `w` absent → `join(v, nulls)` if X is kept (LEFT keeps the left side,
/// RIGHT the right one, FULL both), else nothing. A tombstone on X: `w` present → the row padded
/// on X's side if the other side is kept, else a tombstone (timestamp max); `w` absent → a
/// tombstone if X is kept and X had a row, else nothing.
#[derive(Debug)]
pub struct TableTableJoin {
    /// Per side (0 left, 1 right): whether its rows appear without a match.
    keep: [bool; 2],
    /// Per side: the current rows.
    rows: [HashMap<Key, TableRow>; 2],
    next_seq: u64,
}

impl TableTableJoin {
    /// A primary-key table-table join of kind `kind`.
    pub fn new(kind: Kind) -> Self {
        let keep = match kind {
            Kind::Inner => [false, false],
            Kind::Left => [true, false],
            Kind::Right => [false, true],
            Kind::Full => [true, true],
        };
        TableTableJoin {
            keep,
            rows: [HashMap::new(), HashMap::new()],
            next_seq: 0,
        }
    }

    /// Applies one update (a row, or a tombstone when `row` is `None`); outputs go to `out`.
    pub fn process(&mut self, input: Input, out: &mut Vec<Output>) {
        let Some(key) = present_key(input.key) else {
            return;
        };
        let x = usize::from(input.side == Side::Right);
        let o = 1 - x;
        let ts = input.ts;
        let existed = match &input.row {
            Some(row) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let stored = TableRow {
                    row: Arc::clone(row),
                    ts,
                    seq,
                };
                self.rows[x].insert(key.clone(), stored).is_some()
            }
            None => self.rows[x].remove(&key).is_some(),
        };
        let other = self.rows[o].get(&key).map(|w| (Arc::clone(&w.row), w.ts));
        // Rows in the query's left-then-right order.
        let pair = |this: Option<Row>, other: Option<Row>| {
            if x == 0 {
                (this, other)
            } else {
                (other, this)
            }
        };
        let output = match (input.row, other) {
            (Some(v), Some((w, w_ts))) => {
                let (left, right) = pair(Some(v), Some(w));
                Some(joined(key, left, right, ts.max(w_ts)))
            }
            (Some(v), None) => self.keep[x].then(|| {
                let (left, right) = pair(Some(v), None);
                joined(key, left, right, ts)
            }),
            (None, Some((w, w_ts))) => Some(if self.keep[o] {
                let (left, right) = pair(None, Some(w));
                joined(key, left, right, ts.max(w_ts))
            } else {
                tombstone(key, ts.max(w_ts))
            }),
            (None, None) => (self.keep[x] && existed).then(|| tombstone(key, ts)),
        };
        out.extend(output);
    }

    /// The state, for the changelog: store 0 holds the left table's rows, 1 the right table's
    /// (timestamp and write sequence number each); `times` is [next sequence number].
    pub fn export(&self) -> JoinState {
        let mut rows = Vec::with_capacity(self.rows[0].len() + self.rows[1].len());
        for (number, side) in [STORE_LEFT, STORE_RIGHT].into_iter().zip(&self.rows) {
            for (key, t) in side {
                rows.push((number, key.clone(), Some(Arc::clone(&t.row)), t.ts, t.seq));
            }
        }
        rows.sort_by_key(|r| (r.0, r.4));
        JoinState {
            rows,
            times: vec![seq_time(self.next_seq)],
        }
    }

    /// Replaces the state with an exported one (rows of unknown stores, or without a row, are
    /// skipped).
    pub fn import(&mut self, state: JoinState) {
        self.next_seq = seq_from(&state.times);
        for side in &mut self.rows {
            side.clear();
        }
        for (number, key, row, ts, seq) in state.rows {
            let (Some(row), Some(side)) = (row, self.rows.get_mut(usize::from(number))) else {
                continue;
            };
            side.insert(key, TableRow { row, ts, seq });
            self.next_seq = self.next_seq.max(seq.saturating_add(1));
        }
    }
}

/// A left table's row in a foreign-key join.
#[derive(Debug, Clone)]
struct LeftRow<R> {
    row: R,
    ts: i64,
    seq: u64,
    /// The foreign key evaluated on `row` (`None`: null).
    fk: Option<ScalarValue>,
    /// The serialized left key.
    key_bytes: Vec<u8>,
}

/// A left update of a foreign-key join: the left table's key (`None` when null), its new row
/// (`None`: a tombstone), the foreign key evaluated on the row (`None` when null) and the
/// serialized key.
#[derive(Debug)]
pub struct LeftUpdate<K, R> {
    /// The left table's key.
    pub key: Option<K>,
    /// The new row.
    pub row: Option<R>,
    /// The foreign key of `row`.
    pub fk: Option<ScalarValue>,
    /// The serialized left key: a right update reaches its left rows in this order.
    pub key_bytes: Vec<u8>,
    /// The record's timestamp.
    pub ts: i64,
}

/// Foreign-key table-table join (§7): INNER or LEFT (the other kinds are rejected by the
/// planner and run as INNER here).
///
/// Left updates carry the left table's key, the foreign key evaluated on the new row and the
/// serialized left key; right updates carry the right table's key (one value). The operator
/// keeps each left row's foreign key, so an update knows the old one. Outputs are keyed by the
/// left key. A right update reaches the left rows whose foreign key it is in ascending unsigned
/// order of their serialized keys (rows sharing one serialization, which well-formed input
/// never has, in the order they were last written), with the right update's timestamp; a left
/// update's output has max(left, right row) as timestamp when the right row exists, else the
/// left one.
///
/// Keys (`K`) and rows (`R`) are of any type: values ([`Key`], [`Row`]) through
/// [`ForeignKeyJoin::process`], or rows kept encoded by the join runtime.
#[derive(Debug)]
pub struct ForeignKeyJoin<K = Key, R = Row> {
    /// LEFT (true) or INNER (false).
    left_join: bool,
    /// Boxed, so that the map's entries stay small: it grows by rehashing, and holds every left
    /// row.
    left: HashMap<K, Box<LeftRow<R>>>,
    right: HashMap<ScalarValue, TableRow<R>>,
    /// Per foreign key, the keys of the left rows that have it.
    subscriptions: HashMap<ScalarValue, HashSet<K>>,
    next_seq: u64,
}

impl<K: Hash + Eq + Clone, R: Clone> ForeignKeyJoin<K, R> {
    /// A foreign-key join of kind `kind` (LEFT, or INNER for any other kind).
    pub fn new(kind: Kind) -> Self {
        ForeignKeyJoin {
            left_join: kind == Kind::Left,
            left: HashMap::new(),
            right: HashMap::new(),
            subscriptions: HashMap::new(),
            next_seq: 0,
        }
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The right row of a foreign key and its timestamp.
    fn right_row(&self, fk: Option<&ScalarValue>) -> Option<(R, i64)> {
        let r = self.right.get(fk?)?;
        Some((r.row.clone(), r.ts))
    }

    /// A left update (`SubscriptionSendProcessorSupplier`, then the response's join); outputs
    /// go to `out`.
    pub fn left_update(&mut self, input: LeftUpdate<K, R>, out: &mut Vec<Output<R, K>>) {
        let Some(pk) = input.key else {
            return;
        };
        let ts = input.ts;
        let new_fk = match input.row {
            Some(_) => input.fk.filter(|f| !f.is_null()),
            None => None,
        };
        let old = self.left.remove(&pk);
        if old.is_none() && input.row.is_none() {
            // Deleting an absent row: no output, whatever the kind.
            return;
        }
        let old_fk = old.as_ref().and_then(|o| o.fk.clone());
        // The subscriptions follow the current row's foreign key.
        if old_fk != new_fk {
            if let Some(fk) = &old_fk {
                self.unsubscribe(fk, &pk);
            }
            if let Some(fk) = &new_fk {
                self.subscriptions
                    .entry(fk.clone())
                    .or_default()
                    .insert(pk.clone());
            }
        }
        let output = match &input.row {
            // LEFT: a delete of an existing row is always a tombstone.
            None if self.left_join => Some(tombstone(pk.clone(), ts)),
            // LEFT: always exactly one output.
            Some(v) if self.left_join => Some(match self.right_row(new_fk.as_ref()) {
                Some((w, w_ts)) => joined(pk.clone(), Some(v.clone()), Some(w), ts.max(w_ts)),
                None => joined(pk.clone(), Some(v.clone()), None, ts),
            }),
            // INNER, deleted or without a foreign key: a tombstone when the old row had one,
            // even if it did not join.
            None => old_fk.as_ref().map(|fk| self.unjoined(pk.clone(), fk, ts)),
            Some(_) if new_fk.is_none() => {
                old_fk.as_ref().map(|fk| self.unjoined(pk.clone(), fk, ts))
            }
            // INNER with a foreign key: the join when the right row exists; otherwise a
            // tombstone only when the foreign key changed from a non-null one.
            Some(v) => match self.right_row(new_fk.as_ref()) {
                Some((w, w_ts)) => Some(joined(pk.clone(), Some(v.clone()), Some(w), ts.max(w_ts))),
                None if old_fk.is_some() && old_fk != new_fk => Some(tombstone(pk.clone(), ts)),
                None => None,
            },
        };
        out.extend(output);
        if let Some(row) = input.row {
            let seq = self.next_seq();
            let stored = LeftRow {
                row,
                ts,
                seq,
                fk: new_fk,
                key_bytes: input.key_bytes,
            };
            match old {
                // The old row's allocation is reused.
                Some(mut old) => {
                    *old = stored;
                    self.left.insert(pk, old);
                }
                None => {
                    self.left.insert(pk, Box::new(stored));
                }
            }
        }
    }

    /// An INNER join's tombstone for a left row leaving foreign key `fk`: timestamped like the
    /// response of `fk`'s right row.
    fn unjoined(&self, pk: K, fk: &ScalarValue, ts: i64) -> Output<R, K> {
        let ts = self
            .right_row(Some(fk))
            .map_or(ts, |(_, w_ts)| ts.max(w_ts));
        tombstone(pk, ts)
    }

    /// A right update (`ForeignTableJoinProcessorSupplier`, then each response's join): the
    /// right table's key (`None` when null) and its new row (`None`: a tombstone); outputs go
    /// to `out`.
    pub fn right_update(
        &mut self,
        key: Option<ScalarValue>,
        row: Option<R>,
        ts: i64,
        out: &mut Vec<Output<R, K>>,
    ) {
        let Some(rk) = key.filter(|k| !k.is_null()) else {
            return;
        };
        match &row {
            Some(row) => {
                let seq = self.next_seq();
                let stored = TableRow {
                    row: row.clone(),
                    ts,
                    seq,
                };
                self.right.insert(rk.clone(), stored);
            }
            None => {
                self.right.remove(&rk);
            }
        }
        let Some(subscribers) = self.subscriptions.get(&rk) else {
            return;
        };
        let mut reached: Vec<(&K, &LeftRow<R>)> = subscribers
            .iter()
            .filter_map(|pk| Some((pk, self.left.get(pk)?.as_ref())))
            .collect();
        reached.sort_unstable_by(|a, b| {
            (a.1.key_bytes.as_slice(), a.1.seq).cmp(&(b.1.key_bytes.as_slice(), b.1.seq))
        });
        out.reserve(reached.len());
        for (pk, left) in reached {
            out.push(match &row {
                Some(w) => joined(pk.clone(), Some(left.row.clone()), Some(w.clone()), ts),
                None if self.left_join => joined(pk.clone(), Some(left.row.clone()), None, ts),
                None => tombstone(pk.clone(), ts),
            });
        }
    }

    fn unsubscribe(&mut self, fk: &ScalarValue, pk: &K) {
        let Some(keys) = self.subscriptions.get_mut(fk) else {
            return;
        };
        keys.remove(pk);
        if keys.is_empty() {
            self.subscriptions.remove(fk);
        }
    }
}

impl ForeignKeyJoin {
    /// Applies one update of values (a row, or a tombstone when `row` is `None`); outputs go to
    /// `out`.
    pub fn process(&mut self, input: Input, out: &mut Vec<Output>) {
        match input.side {
            Side::Left => self.left_update(
                LeftUpdate {
                    key: present_key(input.key),
                    row: input.row,
                    fk: input.fk,
                    key_bytes: input.key_bytes,
                    ts: input.ts,
                },
                out,
            ),
            Side::Right => self.right_update(
                present_key(input.key).and_then(|k| k.into_iter().next()),
                input.row,
                input.ts,
                out,
            ),
        }
    }

    /// The state, for the changelog: store 0 holds the left table's rows, their key followed by
    /// two values, the foreign key (`ScalarValue::Null` for none) and the serialized key
    /// (`Binary`); store 1 the right table's rows. `times` is [next sequence number]. The
    /// subscriptions are rebuilt from the left rows.
    pub fn export(&self) -> JoinState {
        let mut rows = Vec::with_capacity(self.left.len() + self.right.len());
        for (pk, l) in &self.left {
            let mut key = Vec::with_capacity(pk.len() + 2);
            key.extend(pk.iter().cloned());
            key.push(l.fk.clone().unwrap_or(ScalarValue::Null));
            key.push(ScalarValue::Binary(Some(l.key_bytes.clone())));
            rows.push((STORE_LEFT, key, Some(Arc::clone(&l.row)), l.ts, l.seq));
        }
        for (rk, r) in &self.right {
            let row = Some(Arc::clone(&r.row));
            rows.push((STORE_RIGHT, vec![rk.clone()], row, r.ts, r.seq));
        }
        rows.sort_by_key(|r| (r.0, r.4));
        JoinState {
            rows,
            times: vec![seq_time(self.next_seq)],
        }
    }

    /// Replaces the state with an exported one (malformed rows are skipped).
    pub fn import(&mut self, state: JoinState) {
        self.next_seq = seq_from(&state.times);
        self.left.clear();
        self.right.clear();
        self.subscriptions.clear();
        let mut rows = state.rows;
        rows.sort_by_key(|r| r.4);
        for (number, mut key, row, ts, seq) in rows {
            let Some(row) = row else {
                continue;
            };
            match number {
                STORE_LEFT => {
                    let (Some(ScalarValue::Binary(Some(key_bytes))), Some(fk)) =
                        (key.pop(), key.pop())
                    else {
                        continue;
                    };
                    let fk = (!fk.is_null()).then_some(fk);
                    if let Some(fk) = &fk {
                        self.subscriptions
                            .entry(fk.clone())
                            .or_default()
                            .insert(key.clone());
                    }
                    let stored = LeftRow {
                        row,
                        ts,
                        seq,
                        fk,
                        key_bytes,
                    };
                    self.left.insert(key, Box::new(stored));
                }
                STORE_RIGHT => {
                    let Some(rk) = key.into_iter().next() else {
                        continue;
                    };
                    self.right.insert(rk, TableRow { row, ts, seq });
                }
                _ => continue,
            }
            self.next_seq = self.next_seq.max(seq.saturating_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Row {
        Arc::from(vec![ScalarValue::Utf8(Some(s.to_string()))])
    }

    fn int(v: i64) -> ScalarValue {
        ScalarValue::Int64(Some(v))
    }

    /// A table update; `key_bytes` as an 8-byte big-endian BIGINT (KAFKA format).
    fn update(side: Side, key: i64, value: Option<&str>, ts: i64) -> Input {
        Input {
            side,
            key: Some(vec![int(key)]),
            row: value.map(text),
            ts,
            fk: None,
            key_bytes: key.to_be_bytes().to_vec(),
        }
    }

    fn l(key: i64, value: &str, ts: i64) -> Input {
        update(Side::Left, key, Some(value), ts)
    }

    fn r(key: i64, value: &str, ts: i64) -> Input {
        update(Side::Right, key, Some(value), ts)
    }

    fn l_del(key: i64, ts: i64) -> Input {
        update(Side::Left, key, None, ts)
    }

    fn r_del(key: i64, ts: i64) -> Input {
        update(Side::Right, key, None, ts)
    }

    /// A left row of a foreign-key join with foreign key `fk`.
    fn fk_l(key: i64, value: &str, fk: Option<i64>, ts: i64) -> Input {
        Input {
            fk: fk.map(int),
            ..l(key, value, ts)
        }
    }

    /// An output as `key:left|right@ts` (`-` for nulls) or `key:tombstone@ts`.
    fn show(o: &Output) -> String {
        let cell = |row: &Option<Row>| match row.as_deref() {
            Some([ScalarValue::Utf8(Some(s))]) => s.clone(),
            Some(other) => format!("{other:?}"),
            None => "-".to_string(),
        };
        let key = match o.key.as_slice() {
            [ScalarValue::Int64(Some(k))] => k.to_string(),
            [ScalarValue::Utf8(Some(k))] => k.clone(),
            other => format!("{other:?}"),
        };
        if o.tombstone {
            assert!(o.left.is_none() && o.right.is_none());
            return format!("{key}:tombstone@{}", o.ts);
        }
        format!("{key}:{}|{}@{}", cell(&o.left), cell(&o.right), o.ts)
    }

    fn run_tt(join: &mut TableTableJoin, inputs: Vec<Input>) -> Vec<String> {
        let mut out = Vec::new();
        for input in inputs {
            join.process(input, &mut out);
        }
        out.iter().map(show).collect()
    }

    fn run_fk(join: &mut ForeignKeyJoin, inputs: Vec<Input>) -> Vec<String> {
        let mut out = Vec::new();
        for input in inputs {
            join.process(input, &mut out);
        }
        out.iter().map(show).collect()
    }

    #[test]
    fn join_table_inner() {
        // joins.json › "table table inner join".
        let mut join = TableTableJoin::new(Kind::Inner);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "blah", 10000),
            l(10, "100", 11000),
            l(0, "foo", 13000),
            r(0, "a", 15000),
            r(15, "c", 15500),
            l(0, "bar", 16000),
            l(90, "ninety", 17000),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "0:zero|blah@10000",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "0:bar|a@16000",
            ]
        );
    }

    #[test]
    fn join_table_inner_tombstones() {
        // joins.json › "table to table wrapped single field value schema on inputs": a
        // tombstone with the other side present deletes; with it absent, nothing.
        let mut join = TableTableJoin::new(Kind::Inner);
        let inputs = vec![
            l(0, "a", 0),
            r(0, "b", 10),
            l(0, "a2", 20),
            r(0, "b2", 30),
            l(0, "a3", 40),
            l_del(0, 50),
            r_del(0, 60),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "0:a|b@10",
                "0:a2|b@20",
                "0:a2|b2@30",
                "0:a3|b2@40",
                "0:tombstone@50",
            ]
        );
        // A tombstone for a key the side never had still deletes when the other side has it.
        let out = run_tt(&mut join, vec![r(5, "x", 70), l_del(5, 65)]);
        assert_eq!(out, ["5:tombstone@70"]);
    }

    #[test]
    fn join_table_left() {
        // joins.json › "table table left join".
        let mut join = TableTableJoin::new(Kind::Left);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "blah", 10000),
            l(10, "100", 11000),
            l(0, "foo", 13000),
            r(0, "a", 15000),
            l(0, "bar", 16000),
            l(90, "ninety", 17000),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "0:zero|-@0",
                "0:zero|blah@10000",
                "10:100|-@11000",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "0:bar|a@16000",
                "90:ninety|-@17000",
            ]
        );
    }

    #[test]
    fn join_table_left_with_nulls() {
        // Upstream "table-table - SR-enabled key format - with nulls": right delete → padded,
        // left delete → tombstone, right insert → nothing, left insert → joined.
        let mut join = TableTableJoin::new(Kind::Left);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "r", 1),
            r_del(0, 2),
            l_del(0, 3),
            r(0, "r2", 4),
            l(0, "zero2", 5),
            // Right present: the left delete is a tombstone at the later timestamp.
            r(0, "r3", 9),
            l_del(0, 6),
            // Deleting what is not there again: nothing.
            r_del(0, 7),
            l_del(0, 8),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "0:zero|-@0",
                "0:zero|r@1",
                "0:zero|-@2",
                "0:tombstone@3",
                "0:zero2|r2@5",
                "0:zero2|r3@9",
                "0:tombstone@9",
            ]
        );
    }

    #[test]
    fn join_table_right() {
        // Upstream "table table right join": a right-only row is padded on the left.
        let mut join = TableTableJoin::new(Kind::Right);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "blah", 10000),
            r(7, "b", 18000),
            l(0, "foo", 19000),
            l_del(0, 20000),
            r_del(0, 21000),
            r_del(7, 22000),
            l_del(7, 23000),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "0:zero|blah@10000",
                "7:-|b@18000",
                "0:foo|blah@19000",
                "0:-|blah@20000",
                "0:tombstone@21000",
                "7:tombstone@22000",
            ]
        );
    }

    #[test]
    fn join_table_full() {
        // joins.json › "table table outer join".
        let mut join = TableTableJoin::new(Kind::Full);
        let inputs = vec![
            l(1, "zero", 0),
            r(1, "blah", 10000),
            l(10, "100", 11000),
            l(1, "foo", 13000),
            r(1, "a", 15000),
            r(15, "c", 15500),
            l(1, "bar", 16000),
            // Deletes: the other side present → padded, not a tombstone.
            l_del(1, 17000),
            r_del(1, 18000),
            r_del(1, 19000),
        ];
        assert_eq!(
            run_tt(&mut join, inputs),
            [
                "1:zero|-@0",
                "1:zero|blah@10000",
                "10:100|-@11000",
                "1:foo|blah@13000",
                "1:foo|a@15000",
                "15:-|c@15500",
                "1:bar|a@16000",
                "1:-|a@17000",
                "1:tombstone@18000",
            ]
        );
    }

    #[test]
    fn join_table_null_keys_dropped() {
        for kind in [Kind::Inner, Kind::Left, Kind::Right, Kind::Full] {
            let mut join = TableTableJoin::new(kind);
            let mut null = l(0, "x", 1);
            null.key = None;
            let mut null_value = r(0, "y", 2);
            null_value.key = Some(vec![ScalarValue::Int64(None)]);
            assert!(run_tt(&mut join, vec![null, null_value]).is_empty());
            assert!(join.export().rows.is_empty());
        }
    }

    #[test]
    fn join_table_export_import_continues_exactly() {
        let inputs = || {
            let mut inputs = Vec::new();
            for t in 0..200i64 {
                let key = (t * 7) % 11;
                let value = format!("v{t}");
                inputs.push(match t % 5 {
                    0 => l_del(key, t),
                    1 | 2 => l(key, &value, t),
                    3 => r(key, &value, 200 - t),
                    _ => r_del((key + 3) % 11, t),
                });
            }
            inputs
        };
        for kind in [Kind::Inner, Kind::Left, Kind::Right, Kind::Full] {
            let mut whole = TableTableJoin::new(kind);
            let expected = run_tt(&mut whole, inputs());
            let mut first = TableTableJoin::new(kind);
            let mut actual = run_tt(&mut first, inputs()[..83].to_vec());
            let state = first.export();
            let mut restored = TableTableJoin::new(kind);
            restored.import(state.clone());
            assert_eq!(restored.export(), state);
            actual.extend(run_tt(&mut restored, inputs()[83..].to_vec()));
            assert_eq!(actual, expected, "{kind:?}");
            assert_eq!(restored.export(), whole.export());
        }
    }

    #[test]
    fn join_table_fk_inner_trace() {
        // fk-join.json › "Should allow to omit join columns in projection".
        let mut join = ForeignKeyJoin::new(Kind::Inner);
        let inputs = vec![
            r(0, "blah", 0),
            fk_l(1, "zero", Some(0), 10000),
            fk_l(0, "foo", Some(100), 13000),
            r(0, "a", 15000),
            fk_l(10, "bar", Some(0), 16000),
            r_del(0, 17000),
            l_del(1, 18000),
        ];
        assert_eq!(
            run_fk(&mut join, inputs),
            [
                "1:zero|blah@10000",
                "1:zero|a@15000",
                "10:bar|a@16000",
                "1:tombstone@17000",
                "10:tombstone@17000",
                "1:tombstone@18000",
            ]
        );
    }

    #[test]
    fn join_table_fk_left_trace() {
        // fk-join.json › "Should support left join with left value-column expression".
        let mut join = ForeignKeyJoin::new(Kind::Left);
        let inputs = vec![
            fk_l(1, "zero", Some(0), 0),
            r(0, "blah", 10000),
            fk_l(1, "zero", Some(0), 11000),
            fk_l(0, "foo", Some(100), 13000),
            r(0, "a", 15000),
            fk_l(10, "bar", Some(0), 16000),
            r_del(0, 17000),
            l_del(1, 18000),
            l_del(0, 19000),
            // Deleting an absent row: nothing.
            l_del(0, 20000),
        ];
        assert_eq!(
            run_fk(&mut join, inputs),
            [
                "1:zero|-@0",
                "1:zero|blah@10000",
                "1:zero|blah@11000",
                "0:foo|-@13000",
                "1:zero|a@15000",
                "10:bar|a@16000",
                "1:zero|-@17000",
                "10:bar|-@17000",
                "1:tombstone@18000",
                "0:tombstone@19000",
            ]
        );
    }

    #[test]
    fn join_table_fk_changes() {
        let mut join = ForeignKeyJoin::new(Kind::Inner);
        let out = run_fk(
            &mut join,
            vec![
                r(0, "r0", 1),
                r(8, "r8", 2),
                fk_l(1, "a", Some(0), 10),
                // FK 0 → 8: one update.
                fk_l(1, "b", Some(8), 16000),
                // The old right row no longer reaches it.
                r(0, "r0'", 16001),
                r(8, "r8'", 16002),
                // FK 8 → 9 (no right row): a tombstone.
                fk_l(1, "c", Some(9), 16003),
                // FK 9 unchanged, still no right row: nothing.
                fk_l(1, "d", Some(9), 16004),
                // FK 9 → null: a tombstone although nothing joined.
                fk_l(1, "e", None, 16005),
                // Null FK and delete: nothing.
                fk_l(1, "f", None, 16006),
                l_del(1, 16007),
                // A row with a null FK then one with an absent right row: nothing.
                fk_l(2, "g", None, 16008),
                fk_l(2, "h", Some(7), 16009),
                // Delete of a row whose FK has a right row: tombstone at the later time.
                r(7, "r7", 16020),
                l_del(2, 16010),
            ],
        );
        assert_eq!(
            out,
            [
                "1:a|r0@10",
                "1:b|r8@16000",
                "1:b|r8'@16002",
                "1:tombstone@16003",
                "1:tombstone@16005",
                "2:h|r7@16020",
                "2:tombstone@16020",
            ]
        );
        assert!(join.subscriptions.is_empty());

        let mut left = ForeignKeyJoin::new(Kind::Left);
        let out = run_fk(
            &mut left,
            vec![
                r(0, "r0", 1),
                fk_l(1, "a", Some(0), 10),
                fk_l(1, "b", Some(8), 20),
                r(0, "r0'", 30),
                fk_l(1, "c", None, 40),
                r(8, "r8", 50),
            ],
        );
        assert_eq!(out, ["1:a|r0@10", "1:b|-@20", "1:c|-@40"]);
    }

    #[test]
    fn join_table_fk_fan_out_in_key_byte_order() {
        // STRING keys: "1" < "10" < "2" in byte order.
        let mut join = ForeignKeyJoin::new(Kind::Left);
        let string_left = |key: &str, ts: i64| Input {
            side: Side::Left,
            key: Some(vec![ScalarValue::Utf8(Some(key.to_string()))]),
            row: Some(text(&format!("row{key}"))),
            ts,
            fk: Some(int(5)),
            key_bytes: key.as_bytes().to_vec(),
        };
        let inputs = vec![
            string_left("2", 1),
            string_left("10", 2),
            string_left("1", 3),
            r(5, "five", 4),
        ];
        assert_eq!(
            run_fk(&mut join, inputs)[3..],
            ["1:row1|five@4", "10:row10|five@4", "2:row2|five@4"]
        );
    }

    #[test]
    fn join_table_fk_multi_column_left_key() {
        let mut join = ForeignKeyJoin::new(Kind::Inner);
        let pk = vec![int(1), ScalarValue::Utf8(Some("x".to_string()))];
        let left = Input {
            key: Some(pk.clone()),
            ..fk_l(0, "a", Some(3), 5)
        };
        let mut out = Vec::new();
        join.process(r(3, "r3", 1), &mut out);
        join.process(left, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, pk);
        let mut restored = ForeignKeyJoin::new(Kind::Inner);
        restored.import(join.export());
        restored.process(r_del(3, 9), &mut out);
        assert_eq!(out[1].key, pk);
        assert!(out[1].tombstone);
    }

    #[test]
    fn join_table_fk_export_import_continues_exactly() {
        let inputs = || {
            let mut inputs = Vec::new();
            for t in 0..300i64 {
                let key = (t * 7) % 13;
                let value = format!("v{t}");
                let fk = (t % 9 != 0).then_some((t * 5) % 4);
                inputs.push(match t % 6 {
                    0 => l_del(key, t),
                    1..=3 => fk_l(key, &value, fk, t),
                    4 => r(t % 4, &value, 300 - t),
                    _ => r_del(t % 5, t),
                });
            }
            inputs
        };
        for kind in [Kind::Inner, Kind::Left] {
            let mut whole = ForeignKeyJoin::new(kind);
            let expected = run_fk(&mut whole, inputs());
            let mut first = ForeignKeyJoin::new(kind);
            let mut actual = run_fk(&mut first, inputs()[..131].to_vec());
            let state = first.export();
            let mut restored = ForeignKeyJoin::new(kind);
            restored.import(state.clone());
            assert_eq!(restored.export(), state);
            actual.extend(run_fk(&mut restored, inputs()[131..].to_vec()));
            assert_eq!(actual, expected, "{kind:?}");
            assert_eq!(restored.export(), whole.export());
        }
    }
}

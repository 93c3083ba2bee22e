//! The stream-stream join (`docs/design/joins.md` §5), record by record, as Kafka Streams'
//! `KStreamKStreamJoin` runs it for ksqlDB.
//!
//! Each side keeps a window store of its records (duplicates included) and the time it has
//! observed; a record first joins the other side's visible records in its window, then enters its
//! own store. Without a GRACE PERIOD a record that finds nothing on an outer side is padded with
//! nulls at once (the legacy windows); with one, it waits in the outer buffer until its window
//! closes (a sweep pads it) or something matches it (it is dropped from the buffer).
//!
//! Kafka Streams' terms are kept inside: its *left* is the side whose processor was built from
//! the join's left stream. ksqlDB runs a RIGHT join as `right.leftJoin(left)`, so there the
//! Kafka Streams left is the query's right stream (§5.1); output rows keep the query's
//! left-then-right order whatever the side.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

use datafusion::common::ScalarValue;
use hashbrown::HashMap;

use super::join_ops::{Input, Key, Kind, Output, Row, Side};

/// A join operator's state as plain data, for the changelog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinState<R = Row> {
    /// Stored records: store number (operator-defined), key, row, timestamp, sequence number.
    pub rows: Vec<(u8, Key, Option<R>, i64, u64)>,
    /// Operator-defined counters (stream times, next sequence number …).
    pub times: Vec<i64>,
}

/// The base of the grace period ksqlDB's legacy windows get (`JoinWindows.of`): one day.
const LEGACY_GRACE_BASE_MS: i64 = 24 * 60 * 60 * 1000;

/// A time not seen yet (Kafka's `NO_TIMESTAMP`): the initial stream and observed times.
const NO_TIMESTAMP: i64 = -1;

/// Store numbers of [`StreamStreamJoin::export`]: the left stream's window store.
const STORE_LEFT: u8 = 0;
/// The right stream's window store.
const STORE_RIGHT: u8 = 1;
/// The outer buffer's records of the left stream (key followed by its key bytes).
const OUTER_LEFT: u8 = 2;
/// The outer buffer's records of the right stream (key followed by its key bytes).
const OUTER_RIGHT: u8 = 3;

/// The join key of a record, `None` when it is null: absent, empty or all null.
pub(crate) fn present_key(key: Option<Key>) -> Option<Key> {
    key.filter(|k| !k.is_empty() && !k.iter().all(ScalarValue::is_null))
}

/// An output row of a non-tombstone join result: `this` is the row of the side that is left
/// in the query when `this_left`, else right.
fn joined<R>(this_left: bool, key: Key, this: R, other: Option<R>, ts: i64) -> Output<R> {
    let (left, right) = if this_left {
        (Some(this), other)
    } else {
        (other, Some(this))
    };
    Output {
        key,
        left,
        right,
        ts,
        tombstone: false,
    }
}

/// One record of a window store.
#[derive(Debug, Clone)]
struct Stored<R> {
    ts: i64,
    seq: u64,
    row: R,
}

/// When a stored record expires: ordered by (timestamp, sequence number).
#[derive(Debug)]
struct Expiry {
    ts: i64,
    seq: u64,
    key: Arc<[ScalarValue]>,
}

impl PartialEq for Expiry {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.seq) == (other.ts, other.seq)
    }
}

impl Eq for Expiry {}

impl PartialOrd for Expiry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Expiry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
    }
}

/// One side's window store: per key, its records in ascending (timestamp, sequence number)
/// order, which is the order Kafka Streams' store returns (timestamp, then insertion).
///
/// A record with timestamp `t` is visible while `t > observed − retention`, `observed` being the
/// largest timestamp ever put (`AbstractRocksDBSegmentedBytesStore.getActualFrom`); a put that
/// is already expired is dropped, and expired records are evicted as `observed` advances.
#[derive(Debug)]
struct WindowStore<R> {
    records: HashMap<Arc<[ScalarValue]>, VecDeque<Stored<R>>>,
    /// Every stored record once, smallest (timestamp, sequence number) first.
    expiry: BinaryHeap<Reverse<Expiry>>,
    observed: i64,
}

impl<R> WindowStore<R> {
    fn new() -> WindowStore<R> {
        WindowStore {
            records: HashMap::new(),
            expiry: BinaryHeap::new(),
            observed: NO_TIMESTAMP,
        }
    }

    /// The visible records of `key` with `from ≤ ts ≤ to`, in store order.
    fn fetch(
        &self,
        key: &[ScalarValue],
        from: i64,
        to: i64,
        retention: i64,
    ) -> impl Iterator<Item = &Stored<R>> + '_ {
        let from = from.max(self.observed.saturating_sub(retention).saturating_add(1));
        let records = if from <= to {
            self.records.get(key)
        } else {
            None
        };
        records.into_iter().flat_map(move |records| {
            let lo = records.partition_point(|s| s.ts < from);
            let hi = records.partition_point(|s| s.ts <= to);
            records.range(lo..hi)
        })
    }

    /// Puts a record: advances the observed time, stores the record unless it has expired
    /// already, and evicts what has expired.
    fn put(&mut self, key: Key, ts: i64, seq: u64, row: R, retention: i64) {
        self.observed = self.observed.max(ts);
        let bound = self.observed.saturating_sub(retention);
        if ts > bound {
            self.insert(key, ts, seq, row);
        }
        self.evict(bound);
    }

    /// Stores a record in (timestamp, sequence number) order.
    fn insert(&mut self, key: Key, ts: i64, seq: u64, row: R) {
        let stored = Stored { ts, seq, row };
        let key = match self.records.get_key_value_mut(key.as_slice()) {
            Some((k, records)) => {
                if records.back().is_none_or(|b| (b.ts, b.seq) <= (ts, seq)) {
                    records.push_back(stored);
                } else {
                    let at = records.partition_point(|s| (s.ts, s.seq) <= (ts, seq));
                    records.insert(at, stored);
                }
                Arc::clone(k)
            }
            None => {
                let k: Arc<[ScalarValue]> = Arc::from(key);
                self.records
                    .insert(Arc::clone(&k), VecDeque::from([stored]));
                k
            }
        };
        self.expiry.push(Reverse(Expiry { ts, seq, key }));
    }

    /// Drops the records with a timestamp at or before `bound`.
    fn evict(&mut self, bound: i64) {
        while self.expiry.peek().is_some_and(|Reverse(e)| e.ts <= bound) {
            let Some(Reverse(e)) = self.expiry.pop() else {
                break;
            };
            let Some(records) = self.records.get_mut(&*e.key) else {
                continue;
            };
            // The smallest record overall is the smallest of its key.
            if records.front().is_some_and(|s| s.seq == e.seq) {
                records.pop_front();
            } else {
                records.retain(|s| s.seq != e.seq);
            }
            if records.is_empty() {
                self.records.remove(&*e.key);
            }
        }
    }

    fn len(&self) -> usize {
        self.expiry.len()
    }

    fn clear(&mut self) {
        self.records.clear();
        self.expiry.clear();
        self.observed = NO_TIMESTAMP;
    }
}

/// A record waiting in the outer buffer for its window to close.
#[derive(Debug, Clone)]
struct Pending<R> {
    key: Key,
    row: R,
    /// The serialized key: orders records of equal timestamp and side in a sweep.
    key_bytes: Vec<u8>,
}

/// Stream-stream join (§5): INNER, LEFT, RIGHT or FULL, `WITHIN (before, after)`, with or
/// without a GRACE PERIOD.
///
/// A left record at `Lt` matches a right record at `Rt` iff `Lt − before ≤ Rt ≤ Lt + after`
/// (RIGHT joins measure from the right record: `Rt − before ≤ Lt ≤ Rt + after`, §5.1). A match
/// is emitted with the larger timestamp; a row padded with nulls carries the timestamp of its
/// record. Records with a null value are dropped; a record with a null key is padded at once
/// on an outer side and dropped otherwise (§5.3).
#[derive(Debug)]
pub struct StreamStreamJoin<R = Row> {
    /// Per Kafka Streams side (0: its left, 1: its right): whether it is the query's left.
    is_left: [bool; 2],
    /// Per Kafka Streams side: whether its unmatched records are padded (outer).
    outer: [bool; 2],
    /// Per Kafka Streams side: how far back its records look for matches.
    before: [i64; 2],
    /// Per Kafka Streams side: how far ahead its records look for matches (also the
    /// look-ahead that decides when its outer records are late or closed).
    after: [i64; 2],
    grace: i64,
    /// `before + after + grace`: how long a window store keeps records.
    retention: i64,
    /// GRACE PERIOD given on an outer join: unmatched records wait in `outer`
    /// (the spurious-results fix).
    buffered: bool,
    /// Per Kafka Streams side: its window store.
    stores: [WindowStore<R>; 2],
    /// The outer buffer by (timestamp, Kafka Streams left side?, sequence number): the right
    /// side's records come first at equal timestamps; a sweep orders equal (timestamp, side)
    /// records by key bytes, then arrival.
    pending: BTreeMap<(i64, bool, u64), Pending<R>>,
    /// The largest timestamp seen on either side.
    stream_time: i64,
    /// Kafka Streams' `TimeTracker.minTime`: a lower bound of the outer buffer's timestamps
    /// (as Kafka Streams maintains it), `i64::MAX` for none.
    min_time: i64,
    /// Numbers records in arrival order.
    next_seq: u64,
}

impl<R: Clone> StreamStreamJoin<R> {
    /// A stream-stream join of kind `kind` with `WITHIN (before_ms, after_ms)` and an optional
    /// GRACE PERIOD. Without one the legacy windows apply: grace `max(24h − 2·before, 0)` and
    /// rows padded with nulls at once. Negative durations count as 0.
    pub fn new(kind: Kind, before_ms: i64, after_ms: i64, grace_ms: Option<i64>) -> Self {
        let before = before_ms.max(0);
        let after = after_ms.max(0);
        let grace = match grace_ms {
            Some(g) => g.max(0),
            None => LEGACY_GRACE_BASE_MS
                .saturating_sub(before.saturating_mul(2))
                .max(0),
        };
        // ksqlDB runs a RIGHT join as right.leftJoin(left): Kafka Streams' left is our right.
        let swapped = kind == Kind::Right;
        let outer = match kind {
            Kind::Inner => [false, false],
            Kind::Left | Kind::Right => [true, false],
            Kind::Full => [true, true],
        };
        StreamStreamJoin {
            is_left: [!swapped, swapped],
            outer,
            // Kafka Streams' right processor gets the window reversed.
            before: [before, after],
            after: [after, before],
            grace,
            retention: before.saturating_add(after).saturating_add(grace),
            buffered: grace_ms.is_some() && kind != Kind::Inner,
            stores: [WindowStore::new(), WindowStore::new()],
            pending: BTreeMap::new(),
            stream_time: NO_TIMESTAMP,
            min_time: i64::MAX,
            next_seq: 0,
        }
    }

    /// The Kafka Streams side of a query side.
    fn ks_side(&self, side: Side) -> usize {
        usize::from(self.is_left[0] != (side == Side::Left))
    }

    /// Applies one record; outputs go to `out` in emission order.
    pub fn process(&mut self, input: Input<R>, out: &mut Vec<Output<R>>) {
        let Input {
            side,
            key,
            row,
            ts,
            key_bytes,
            ..
        } = input;
        let i = self.ks_side(side);
        let this_left = self.is_left[i];
        self.stream_time = self.stream_time.max(ts);
        let Some(row) = row else {
            return;
        };
        let Some(key) = present_key(key) else {
            if self.outer[i] {
                out.push(joined(this_left, Vec::new(), row, None, ts));
            }
            return;
        };
        if self.buffered && ts == self.stream_time {
            self.sweep(i, out);
        }
        let o = 1 - i;
        let from = ts.saturating_sub(self.before[i]).max(0);
        let to = ts.saturating_add(self.after[i]).max(0);
        let mut matched = false;
        for other in self.stores[o].fetch(&key, from, to, self.retention) {
            matched = true;
            if self.buffered {
                self.pending.remove(&(other.ts, o == 0, other.seq));
            }
            out.push(joined(
                this_left,
                key.clone(),
                row.clone(),
                Some(other.row.clone()),
                ts.max(other.ts),
            ));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if !matched && self.outer[i] {
            if !self.buffered || to < self.stream_time {
                out.push(joined(this_left, key.clone(), row.clone(), None, ts));
            } else {
                self.min_time = self.min_time.min(ts);
                let pending = Pending {
                    key: key.clone(),
                    row: row.clone(),
                    key_bytes,
                };
                self.pending.insert((ts, i == 0, seq), pending);
            }
        }
        self.stores[i].put(key, ts, seq, row, self.retention);
    }

    /// Pads the outer buffer's records whose window has closed (§5.5,
    /// `emitNonJoinedOuterRecords`, unthrottled); `i` is the Kafka Streams side of the record
    /// being processed.
    fn sweep(&mut self, i: usize, out: &mut Vec<Output<R>>) {
        if self
            .min_time
            .saturating_add(self.after[i])
            .saturating_add(self.grace)
            >= self.stream_time
        {
            return;
        }
        self.min_time = i64::MAX;
        let one_sided = !(self.outer[0] && self.outer[1]);
        let mut open = [false; 2];
        let mut closed: Vec<(i64, bool, u64)> = Vec::new();
        // The (timestamp, side) group being walked and whether its window is open.
        let mut group: Option<(i64, bool, bool)> = None;
        for &(ts, ks_left, seq) in self.pending.keys() {
            let group_open = match group {
                Some((t, l, o)) if t == ts && l == ks_left => o,
                _ => {
                    self.min_time = ts;
                    if open[0] && open[1] {
                        break;
                    }
                    let side = usize::from(!ks_left);
                    let group_open = ts
                        .saturating_add(self.after[side])
                        .saturating_add(self.grace)
                        >= self.stream_time;
                    if group_open {
                        open[side] = true;
                        if one_sided {
                            // Every later record is open too; Kafka Streams walks on to the
                            // end, which leaves the minimum at the last record's timestamp.
                            if let Some(&(last, _, _)) = self.pending.keys().next_back() {
                                self.min_time = last;
                            }
                            break;
                        }
                    }
                    group = Some((ts, ks_left, group_open));
                    group_open
                }
            };
            if !group_open {
                closed.push((ts, ks_left, seq));
            }
        }
        for run in closed.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let mut records: Vec<(u64, Pending<R>)> = run
                .iter()
                .filter_map(|k| self.pending.remove(k).map(|p| (k.2, p)))
                .collect();
            records.sort_by(|a, b| a.1.key_bytes.cmp(&b.1.key_bytes).then(a.0.cmp(&b.0)));
            let (ts, ks_left, _) = run[0];
            let this_left = self.is_left[usize::from(!ks_left)];
            for (_, p) in records {
                out.push(joined(this_left, p.key, p.row, None, ts));
            }
        }
    }

    /// Records held: both window stores and the outer buffer.
    pub fn stored_records(&self) -> usize {
        self.stores[0].len() + self.stores[1].len() + self.pending.len()
    }

    /// The state, for the changelog: store 0 and 1 hold the left and right window stores,
    /// 2 and 3 the outer buffer's left and right records (their key followed by the key bytes as
    /// a `Binary` value); `times` is [stream time, left observed time, right observed time,
    /// outer-buffer minimum time, next sequence number].
    pub fn export(&self) -> JoinState<R> {
        let mut rows = Vec::with_capacity(self.stored_records());
        for (i, store) in self.stores.iter().enumerate() {
            let number = if self.is_left[i] {
                STORE_LEFT
            } else {
                STORE_RIGHT
            };
            for (key, records) in &store.records {
                for s in records {
                    let row = Some(s.row.clone());
                    rows.push((number, key.to_vec(), row, s.ts, s.seq));
                }
            }
        }
        for (&(ts, ks_left, seq), p) in &self.pending {
            let number = if self.is_left[usize::from(!ks_left)] {
                OUTER_LEFT
            } else {
                OUTER_RIGHT
            };
            let mut key = Vec::with_capacity(p.key.len() + 1);
            key.extend(p.key.iter().cloned());
            key.push(ScalarValue::Binary(Some(p.key_bytes.clone())));
            rows.push((number, key, Some(p.row.clone()), ts, seq));
        }
        rows.sort_by_key(|r| (r.0, r.3, r.4));
        let observed = |side: Side| self.stores[self.ks_side(side)].observed;
        JoinState {
            rows,
            times: vec![
                self.stream_time,
                observed(Side::Left),
                observed(Side::Right),
                self.min_time,
                i64::try_from(self.next_seq).unwrap_or(i64::MAX),
            ],
        }
    }

    /// Replaces the state with an exported one (rows of unknown stores, or without a row, are
    /// skipped).
    pub fn import(&mut self, state: JoinState<R>) {
        let JoinState { mut rows, times } = state;
        let time = |n: usize, default: i64| times.get(n).copied().unwrap_or(default);
        for store in &mut self.stores {
            store.clear();
        }
        self.pending.clear();
        self.stream_time = time(0, NO_TIMESTAMP);
        let left = self.ks_side(Side::Left);
        self.stores[left].observed = time(1, NO_TIMESTAMP);
        self.stores[1 - left].observed = time(2, NO_TIMESTAMP);
        self.min_time = time(3, i64::MAX);
        self.next_seq = u64::try_from(time(4, 0)).unwrap_or(0);
        rows.sort_by_key(|r| (r.3, r.4));
        for (number, mut key, row, ts, seq) in rows {
            let Some(row) = row else {
                continue;
            };
            match number {
                STORE_LEFT | STORE_RIGHT => {
                    let side = if number == STORE_LEFT {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    let i = self.ks_side(side);
                    self.stores[i].insert(key, ts, seq, row);
                }
                OUTER_LEFT | OUTER_RIGHT => {
                    let key_bytes = match key.pop() {
                        Some(ScalarValue::Binary(Some(b))) => b,
                        _ => continue,
                    };
                    let side = if number == OUTER_LEFT {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    let ks_left = self.ks_side(side) == 0;
                    let pending = Pending {
                        key,
                        row,
                        key_bytes,
                    };
                    self.pending.insert((ts, ks_left, seq), pending);
                }
                _ => {}
            }
            self.next_seq = self.next_seq.max(seq.saturating_add(1));
        }
        let retention = self.retention;
        for store in &mut self.stores {
            let bound = store.observed.saturating_sub(retention);
            store.evict(bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Row {
        Arc::from(vec![ScalarValue::Utf8(Some(s.to_string()))])
    }

    fn record(side: Side, key: Option<i64>, value: Option<&str>, ts: i64) -> Input {
        Input {
            side,
            key: key.map(|k| vec![ScalarValue::Int64(Some(k))]),
            row: value.map(text),
            ts,
            fk: None,
            key_bytes: key.map(|k| k.to_string().into_bytes()).unwrap_or_default(),
        }
    }

    fn l(key: i64, value: &str, ts: i64) -> Input {
        record(Side::Left, Some(key), Some(value), ts)
    }

    fn r(key: i64, value: &str, ts: i64) -> Input {
        record(Side::Right, Some(key), Some(value), ts)
    }

    /// An output as `key:left|right@ts`, `-` for a side padded with nulls, `null` for a null key.
    fn show(o: &Output) -> String {
        let cell = |row: &Option<Row>| match row.as_deref() {
            Some([ScalarValue::Utf8(Some(s))]) => s.clone(),
            Some(other) => format!("{other:?}"),
            None => "-".to_string(),
        };
        let key = match o.key.as_slice() {
            [] => "null".to_string(),
            [ScalarValue::Int64(Some(k))] => k.to_string(),
            other => format!("{other:?}"),
        };
        if o.tombstone {
            return format!("{key}:tombstone@{}", o.ts);
        }
        format!("{key}:{}|{}@{}", cell(&o.left), cell(&o.right), o.ts)
    }

    fn run(join: &mut StreamStreamJoin, inputs: Vec<Input>) -> Vec<String> {
        let mut out = Vec::new();
        for input in inputs {
            join.process(input, &mut out);
        }
        out.iter().map(show).collect()
    }

    /// The inputs of joins.json › "stream stream left join - rekey" and its RIGHT twin.
    fn rekey_inputs() -> Vec<Input> {
        vec![
            l(0, "zero", 0),
            r(0, "blah", 10000),
            l(10, "100", 11000),
            l(0, "foo", 13000),
            r(0, "a", 15000),
            r(100, "newblah", 16000),
            l(90, "ninety", 17000),
            l(0, "bar", 30000),
        ]
    }

    #[test]
    fn join_stream_legacy_left_pads_at_once_then_matches() {
        let mut join = StreamStreamJoin::new(Kind::Left, 11000, 11000, None);
        assert_eq!(
            run(&mut join, rekey_inputs()),
            [
                "0:zero|-@0",
                "0:zero|blah@10000",
                "10:100|-@11000",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "90:ninety|-@17000",
                "0:bar|-@30000",
            ]
        );
    }

    #[test]
    fn join_stream_legacy_right() {
        let mut join = StreamStreamJoin::new(Kind::Right, 11000, 11000, None);
        assert_eq!(
            run(&mut join, rekey_inputs()),
            [
                "0:zero|blah@10000",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "100:-|newblah@16000",
            ]
        );
    }

    #[test]
    fn join_stream_legacy_full() {
        // joins.json › "stream stream outer join".
        let mut join = StreamStreamJoin::new(Kind::Full, 11000, 11000, None);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "blah", 10000),
            l(10, "100", 11000),
            l(0, "foo", 13000),
            r(0, "a", 15000),
            l(0, "bar", 30000),
            l(90, "ninety", 17000),
            r(100, "newblah", 20000),
        ];
        assert_eq!(
            run(&mut join, inputs),
            [
                "0:zero|-@0",
                "0:zero|blah@10000",
                "10:100|-@11000",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "0:bar|-@30000",
                "90:ninety|-@17000",
                "100:-|newblah@20000",
            ]
        );
    }

    #[test]
    fn join_stream_legacy_inner_joins_late_record() {
        // joins.json › "stream stream inner join with out of order messages": the late record
        // is within the legacy ~24 h retention.
        let mut join = StreamStreamJoin::new(Kind::Inner, 10000, 10000, None);
        let inputs = vec![
            l(0, "zero", 0),
            r(0, "blah", 9999),
            l(10, "100", 11000),
            l(0, "foo", 13000),
            r(0, "a", 15000),
            r(100, "newblah", 16000),
            l(90, "ninety", 17000),
            l(0, "bar", 30000),
            l(0, "late-message", 6000),
        ];
        assert_eq!(
            run(&mut join, inputs),
            [
                "0:zero|blah@9999",
                "0:foo|blah@13000",
                "0:foo|a@15000",
                "0:late-message|blah@9999",
                "0:late-message|a@15000",
            ]
        );
    }

    #[test]
    fn join_stream_null_values_are_dropped() {
        // joins.json › "stream to stream unwrapped single field value schema on inputs".
        let mut join = StreamStreamJoin::new(Kind::Inner, 1000, 1000, None);
        let inputs = vec![
            l(0, "a", 0),
            r(0, "b", 10),
            record(Side::Left, Some(0), None, 20),
            record(Side::Right, Some(0), None, 30),
        ];
        assert_eq!(run(&mut join, inputs), ["0:a|b@10"]);
    }

    /// §5.4: input in file order for LEFT, INNER (and, with its own tail, RIGHT).
    fn grace_inputs(tail: [Input; 2]) -> Vec<Input> {
        let mut inputs = vec![
            l(0, "A", 0),
            r(0, "a", 60000),
            l(1, "B", 330000),
            l(2, "C", 90000),
            r(2, "c", 90000),
        ];
        inputs.extend(tail);
        inputs
    }

    #[test]
    fn join_stream_grace_left() {
        let mut join = StreamStreamJoin::new(Kind::Left, 60000, 60000, Some(60000));
        let inputs = grace_inputs([l(3, "D", 60000), r(3, "d", 60000)]);
        assert_eq!(
            run(&mut join, inputs),
            ["0:A|a@60000", "2:C|-@90000", "3:D|-@60000"]
        );
        // B waits in the outer buffer; nothing sweeps it.
        assert_eq!(join.pending.len(), 1);
    }

    #[test]
    fn join_stream_grace_right() {
        let mut join = StreamStreamJoin::new(Kind::Right, 60000, 60000, Some(60000));
        let inputs = grace_inputs([r(3, "d", 60000), l(3, "D", 90000)]);
        assert_eq!(
            run(&mut join, inputs),
            ["0:A|a@60000", "2:-|c@90000", "3:-|d@60000", "3:D|d@90000"]
        );
    }

    #[test]
    fn join_stream_grace_full() {
        let mut join = StreamStreamJoin::new(Kind::Full, 60000, 60000, Some(60000));
        let inputs = vec![
            l(0, "A", 0),
            r(0, "a", 60000),
            r(1, "b", 330000),
            r(2, "c", 90000),
            l(2, "C", 90000),
            r(3, "d", 60000),
            l(3, "D", 60000),
        ];
        assert_eq!(
            run(&mut join, inputs),
            [
                "0:A|a@60000",
                "2:-|c@90000",
                "2:C|-@90000",
                "3:-|d@60000",
                "3:D|-@60000",
            ]
        );
    }

    #[test]
    fn join_stream_grace_inner() {
        let mut join = StreamStreamJoin::new(Kind::Inner, 60000, 60000, Some(60000));
        let inputs = grace_inputs([l(3, "D", 60000), r(3, "d", 60000)]);
        assert_eq!(run(&mut join, inputs), ["0:A|a@60000"]);
    }

    #[test]
    fn join_stream_asymmetric_window() {
        // Upstream "stream stream inner join with different before and after windows".
        let mut join = StreamStreamJoin::new(Kind::Inner, 11000, 10000, None);
        let inputs = vec![l(0, "zero", 0), r(0, "blah", 11000), l(0, "foo", 13000)];
        assert_eq!(run(&mut join, inputs), ["0:foo|blah@13000"]);
        // A right join measures the window from the right record.
        let mut inner = StreamStreamJoin::new(Kind::Inner, 10, 0, None);
        assert!(run(&mut inner, vec![l(0, "L", 95), r(0, "R", 100)]).is_empty());
        let mut right = StreamStreamJoin::new(Kind::Right, 10, 0, None);
        assert_eq!(
            run(&mut right, vec![l(0, "L", 95), r(0, "R", 100)]),
            ["0:L|R@100"]
        );
    }

    #[test]
    fn join_stream_window_bounds_inclusive_and_clamped() {
        let mut join = StreamStreamJoin::new(Kind::Inner, 60000, 60000, Some(60000));
        let inputs = vec![l(0, "A", 0), r(0, "a", 60000), r(0, "b", 60001)];
        assert_eq!(run(&mut join, inputs), ["0:A|a@60000"]);
    }

    #[test]
    fn join_stream_matches_in_timestamp_then_arrival_order() {
        let mut join = StreamStreamJoin::new(Kind::Inner, 10, 10, None);
        let inputs = vec![
            r(1, "x", 20),
            r(1, "y", 10),
            r(1, "z", 20),
            r(1, "w", 10),
            l(1, "L", 15),
        ];
        assert_eq!(
            run(&mut join, inputs),
            ["1:L|y@15", "1:L|w@15", "1:L|x@20", "1:L|z@20"]
        );
    }

    #[test]
    fn join_stream_null_keys() {
        let null_left = || record(Side::Left, None, Some("nl"), 5);
        let null_right = || record(Side::Right, None, Some("nr"), 6);
        let null_both = || vec![null_left(), null_right(), record(Side::Left, None, None, 7)];
        for (kind, grace, expected) in [
            (Kind::Inner, None, vec![]),
            (Kind::Left, None, vec!["null:nl|-@5"]),
            (Kind::Right, Some(0), vec!["null:-|nr@6"]),
            (Kind::Full, Some(10), vec!["null:nl|-@5", "null:-|nr@6"]),
        ] {
            let mut join = StreamStreamJoin::new(kind, 10, 10, grace);
            assert_eq!(run(&mut join, null_both()), expected, "{kind:?}");
            assert_eq!(join.stored_records(), 0);
        }
    }

    #[test]
    fn join_stream_sweep_pads_closed_windows_in_order() {
        // FULL, WITHIN 10 ms GRACE PERIOD 0: at a sweep, right records come before left ones
        // of the same timestamp, then by key bytes ("10" < "2"), then arrival.
        let mut join = StreamStreamJoin::new(Kind::Full, 10, 10, Some(0));
        let inputs = vec![
            l(10, "A", 100),
            l(2, "B", 100),
            r(6, "c", 100),
            l(10, "A2", 100),
            l(7, "E", 150),
            r(7, "e", 155),
            l(99, "Z", 200),
        ];
        assert_eq!(
            run(&mut join, inputs),
            [
                // E@150 sweeps the records at 100 before it looks for matches.
                "6:-|c@100",
                "10:A|-@100",
                "10:A2|-@100",
                "2:B|-@100",
                "7:E|e@155",
            ]
        );
        // Z waits; E was matched, so never padded.
        assert_eq!(join.pending.len(), 1);
        let out = run(&mut join, vec![r(50, "late", 300)]);
        assert_eq!(out, ["99:Z|-@200"]);
    }

    #[test]
    fn join_stream_sweep_left_only() {
        // LEFT, WITHIN 10 ms GRACE PERIOD 5: A closes once stream time passes 0 + 10 + 5.
        let mut join = StreamStreamJoin::new(Kind::Left, 10, 10, Some(5));
        let out = run(&mut join, vec![l(1, "A", 0), r(2, "x", 15)]);
        assert!(out.is_empty());
        assert_eq!(run(&mut join, vec![r(2, "y", 16)]), ["1:A|-@0"]);
        // A later match removes its record from the buffer.
        let out = run(
            &mut join,
            vec![l(3, "B", 20), r(3, "b", 25), r(4, "far", 100)],
        );
        assert_eq!(out, ["3:B|b@25"]);
        assert!(join.pending.is_empty());
    }

    #[test]
    fn join_stream_evicts_expired_records() {
        // Retention 10 + 10 + 0: a side keeps about 20 ms of records.
        let mut join = StreamStreamJoin::new(Kind::Inner, 10, 10, Some(0));
        let mut out = Vec::new();
        for t in 0..10_000 {
            join.process(l(t % 7, "x", t), &mut out);
            join.process(r(t % 5, "y", t), &mut out);
        }
        assert!(join.stored_records() <= 2 * 21, "{}", join.stored_records());
        assert!(!out.is_empty());
        // Legacy windows keep a day minus twice `before`.
        let mut join = StreamStreamJoin::new(Kind::Left, 1000, 1000, None);
        for t in 0..200_000 {
            join.process(l(t % 3, "x", t * 1000), &mut out);
        }
        let expected = (LEGACY_GRACE_BASE_MS - 2000 + 2000) / 1000;
        assert!(
            join.stored_records() as i64 <= expected,
            "{}",
            join.stored_records()
        );
    }

    /// A pseudo-random record sequence with out-of-order timestamps, null keys and values.
    fn random_inputs(seed: u64, n: usize) -> Vec<Input> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        let mut time = 0i64;
        (0..n)
            .map(|i| {
                let side = if next(2) == 0 {
                    Side::Left
                } else {
                    Side::Right
                };
                time += next(6) as i64;
                let ts = if next(5) == 0 {
                    (time - next(40) as i64).max(0)
                } else {
                    time
                };
                let key = (next(20) != 0).then(|| next(6) as i64 * 5);
                let tag = if side == Side::Left { "L" } else { "R" };
                let value = format!("{tag}{i}");
                let value = (next(15) != 0).then_some(value.as_str());
                record(side, key, value, ts)
            })
            .collect()
    }

    /// A direct transcription of Kafka Streams' algorithm over plain vectors, without indexes
    /// or eviction, to check the operator against.
    struct Model {
        join: StreamStreamJoin,
        /// (Kafka Streams side, key, ts, seq, row)
        stored: Vec<(usize, Key, i64, u64, Row)>,
        observed: [i64; 2],
        /// (ts, Kafka Streams left?, key bytes, seq, key, row)
        outer: Vec<(i64, bool, Vec<u8>, u64, Key, Row)>,
    }

    impl Model {
        fn new(kind: Kind, before: i64, after: i64, grace: Option<i64>) -> Model {
            Model {
                join: StreamStreamJoin::new(kind, before, after, grace),
                stored: Vec::new(),
                observed: [NO_TIMESTAMP; 2],
                outer: Vec::new(),
            }
        }

        fn process(&mut self, input: Input, out: &mut Vec<Output>) {
            let j = &mut self.join;
            let i = j.ks_side(input.side);
            let this_left = j.is_left[i];
            let ts = input.ts;
            j.stream_time = j.stream_time.max(ts);
            let Some(row) = input.row else { return };
            let Some(key) = present_key(input.key) else {
                if j.outer[i] {
                    out.push(joined(this_left, Vec::new(), row, None, ts));
                }
                return;
            };
            if j.buffered
                && ts == j.stream_time
                && j.min_time.saturating_add(j.after[i] + j.grace) < j.stream_time
            {
                j.min_time = i64::MAX;
                self.outer
                    .sort_by(|a, b| (a.0, a.1, &a.2, a.3).cmp(&(b.0, b.1, &b.2, b.3)));
                let mut open = [false; 2];
                let mut emitted = Vec::new();
                for (n, (t, ks_left, _, _, k, row)) in self.outer.iter().enumerate() {
                    j.min_time = *t;
                    if open[0] && open[1] {
                        break;
                    }
                    let side = usize::from(!*ks_left);
                    if t + j.after[side] + j.grace >= j.stream_time {
                        open[side] = true;
                        continue;
                    }
                    let this_left = j.is_left[side];
                    out.push(joined(this_left, k.clone(), row.clone(), None, *t));
                    emitted.push(n);
                }
                for n in emitted.into_iter().rev() {
                    self.outer.remove(n);
                }
            }
            let o = 1 - i;
            let from = (ts - j.before[i]).max(0);
            let to = (ts + j.after[i]).max(0);
            let visible = self.observed[o] - j.retention;
            let mut matches: Vec<_> = self
                .stored
                .iter()
                .filter(|s| s.0 == o && s.1 == key && s.2 >= from && s.2 <= to && s.2 > visible)
                .collect();
            matches.sort_by_key(|s| (s.2, s.3));
            for s in &matches {
                // Kafka Streams deletes every buffered record of that (ts, side, key).
                self.outer
                    .retain(|p| !(p.0 == s.2 && p.1 == (o == 0) && p.4 == key));
                out.push(joined(
                    this_left,
                    key.clone(),
                    row.clone(),
                    Some(s.4.clone()),
                    ts.max(s.2),
                ));
            }
            let seq = j.next_seq;
            j.next_seq += 1;
            if matches.is_empty() && j.outer[i] {
                if !j.buffered || to < j.stream_time {
                    out.push(joined(this_left, key.clone(), row.clone(), None, ts));
                } else {
                    j.min_time = j.min_time.min(ts);
                    self.outer
                        .push((ts, i == 0, input.key_bytes, seq, key.clone(), row.clone()));
                }
            }
            self.observed[i] = self.observed[i].max(ts);
            if ts > self.observed[i] - j.retention {
                self.stored.push((i, key, ts, seq, row));
            }
        }
    }

    fn configurations() -> Vec<(Kind, i64, i64, Option<i64>)> {
        let mut configurations = Vec::new();
        for kind in [Kind::Inner, Kind::Left, Kind::Right, Kind::Full] {
            for (before, after, grace) in [
                (10, 10, None),
                (10, 10, Some(0)),
                (5, 15, Some(3)),
                (20, 0, Some(10)),
                (0, 0, Some(0)),
            ] {
                configurations.push((kind, before, after, grace));
            }
        }
        configurations
    }

    #[test]
    fn join_stream_matches_reference_model() {
        for (kind, before, after, grace) in configurations() {
            for seed in 0..8 {
                let inputs = random_inputs(seed, 400);
                let mut model = Model::new(kind, before, after, grace);
                let mut join = StreamStreamJoin::new(kind, before, after, grace);
                let (mut expected, mut actual) = (Vec::new(), Vec::new());
                for (n, input) in inputs.into_iter().enumerate() {
                    model.process(input.clone(), &mut expected);
                    join.process(input, &mut actual);
                    assert_eq!(
                        actual.iter().map(show).collect::<Vec<_>>(),
                        expected.iter().map(show).collect::<Vec<_>>(),
                        "{kind:?} {before} {after} {grace:?} seed {seed} record {n}"
                    );
                }
                assert_eq!(join.pending.len(), model.outer.len());
            }
        }
    }

    #[test]
    fn join_stream_export_import_continues_exactly() {
        for (kind, before, after, grace) in configurations() {
            for seed in 0..4 {
                let inputs = random_inputs(seed + 100, 300);
                let mut whole = StreamStreamJoin::new(kind, before, after, grace);
                let mut expected = Vec::new();
                for input in inputs.clone() {
                    whole.process(input, &mut expected);
                }
                let cut = 37 * (seed as usize + 1);
                let mut first = StreamStreamJoin::new(kind, before, after, grace);
                let mut actual = Vec::new();
                for input in inputs[..cut].iter().cloned() {
                    first.process(input, &mut actual);
                }
                let state = first.export();
                let mut restored = StreamStreamJoin::new(kind, before, after, grace);
                restored.import(state.clone());
                assert_eq!(restored.export(), state);
                for input in inputs[cut..].iter().cloned() {
                    restored.process(input, &mut actual);
                }
                assert_eq!(
                    actual, expected,
                    "{kind:?} {before} {after} {grace:?} {seed}"
                );
                assert_eq!(restored.export(), whole.export());
            }
        }
    }

    #[test]
    fn join_stream_export_layout() {
        let mut join = StreamStreamJoin::new(Kind::Right, 10, 10, Some(5));
        let mut out = Vec::new();
        join.process(l(1, "A", 3), &mut out);
        join.process(r(2, "b", 4), &mut out);
        let state = join.export();
        let key = |k: i64| vec![ScalarValue::Int64(Some(k))];
        let mut buffered = key(2);
        buffered.push(ScalarValue::Binary(Some(b"2".to_vec())));
        assert_eq!(
            state.rows,
            vec![
                (STORE_LEFT, key(1), Some(text("A")), 3, 0),
                (STORE_RIGHT, key(2), Some(text("b")), 4, 1),
                (OUTER_RIGHT, buffered, Some(text("b")), 4, 1),
            ]
        );
        assert_eq!(state.times, vec![4, 3, 4, 4, 2]);
    }

    /// Throughput of a windowed join (records/s, building each input included): `cargo test -p
    /// flusso-engine --lib --config 'profile.test.package.flusso-engine.opt-level=3'
    /// join_stream_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn join_stream_throughput() {
        let n = 2_000_000i64;
        let inputs: Vec<Input> = (0..n)
            .map(|i| {
                let side = if i % 2 == 0 { Side::Left } else { Side::Right };
                // Consecutive left and right records share a key; a key recurs every
                // 20,000 records (20 s of event time).
                let key = ((i / 2) * 7919) % 10_000;
                Input {
                    side,
                    key: Some(vec![ScalarValue::Int64(Some(key))]),
                    row: Some(text("payload")),
                    ts: i,
                    fk: None,
                    key_bytes: key.to_be_bytes().to_vec(),
                }
            })
            .collect();
        for (kind, grace) in [
            (Kind::Inner, None),
            (Kind::Inner, Some(1000)),
            (Kind::Left, Some(1000)),
            (Kind::Full, Some(1000)),
        ] {
            let mut join = StreamStreamJoin::new(kind, 5_000, 5_000, grace);
            let mut out = Vec::with_capacity(1024);
            let mut emitted = 0usize;
            let start = std::time::Instant::now();
            for input in inputs.iter().cloned() {
                join.process(input, &mut out);
                emitted += out.len();
                out.clear();
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{kind:?} grace {grace:?}: {:.0} records/s, {emitted} outputs, {} stored",
                n as f64 / secs,
                join.stored_records()
            );
        }
    }
}

//! The vectorised aggregation: the common case — a stream source grouped by any columns,
//! unwindowed or in tumbling or hopping windows, with COUNT, SUM, AVG, MIN, MAX and
//! LATEST/EARLIEST_BY_OFFSET over numbers — run batch by batch on Arrow arrays, with the same
//! results, update order and changelog state as the row-by-row
//! [`Aggregator`](super::aggregate::Aggregator).
//!
//! Group keys are Arrow's row format (one byte string per grouping tuple), hashed a column at a
//! time and found through one hash table whose entries hold the group id, the window start and
//! a short key inline; each aggregate call keeps a state vector indexed by group id
//! ([`GroupsAccumulator`]). A batch is applied in passes: first every row looks up its group (and
//! window) — the lookups are independent, so their reads of the table overlap — then the new
//! groups are created in order, then each call runs over the (row, group) pairs in order,
//! yielding the group's result after each row — the update ksqlDB emits for that record.
//!
//! With `EMIT FINAL` (time windows) no per-record update is built: the groups of each window are
//! kept in the order they came (`by_window`), and a window's final rows are read from
//! the accumulators when stream time passes its end plus grace. What was released is known from
//! event time alone, so a restored state does not release a window again.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{take, take_record_batch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::hash_utils::{create_hashes, RandomState};
use datafusion::common::ScalarValue;
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use serde_json::{json, Value as Json};

use super::aggregate::{
    changelog_key, window_starts, DirtyGroup, DirtyRecord, GroupKey, Inputs, Update, UpdateBatch,
    Window,
};
use crate::error::{EngineError, Result};
use crate::planner::aggregate::{AggregatePlan, WindowShape};
use crate::udaf::columnar::{create, GroupsAccumulator};
use crate::value::write_int;

/// "No window" in the per-group window start.
const UNWINDOWED: i64 = i64::MIN;

/// How group keys become bytes: Arrow's row format, or, for one STRING column, the string's own
/// bytes (no encoding; null keys never become groups).
enum KeyCodec {
    Rows(RowConverter),
    Utf8,
}

/// A batch's keys as bytes.
enum KeyBytes {
    Rows(Rows),
    Utf8(StringArray),
}

impl KeyBytes {
    fn get(&self, i: usize) -> &[u8] {
        match self {
            KeyBytes::Rows(r) => r.row(i).data(),
            KeyBytes::Utf8(a) => a.value(i).as_bytes(),
        }
    }
}

impl KeyCodec {
    fn new(types: Vec<DataType>) -> Option<KeyCodec> {
        if types == [DataType::Utf8] {
            return Some(KeyCodec::Utf8);
        }
        let fields: Vec<SortField> = types.into_iter().map(SortField::new).collect();
        RowConverter::new(fields).ok().map(KeyCodec::Rows)
    }

    fn encode(&self, columns: &[ArrayRef]) -> Result<KeyBytes> {
        Ok(match self {
            KeyCodec::Rows(c) => KeyBytes::Rows(c.convert_columns(columns)?),
            KeyCodec::Utf8 => KeyBytes::Utf8(
                columns
                    .first()
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| EngineError::Internal("group key is not a string".into()))?
                    .clone(),
            ),
        })
    }

    fn decode<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<Vec<ArrayRef>> {
        Ok(match self {
            KeyCodec::Rows(c) => {
                let parser = c.parser();
                c.convert_rows(keys.map(|k| parser.parse(k)))?
            }
            KeyCodec::Utf8 => vec![Arc::new(StringArray::from_iter_values(
                keys.map(|k| std::str::from_utf8(k).unwrap_or_default()),
            ))],
        })
    }
}

/// Key bytes up to this length are kept in the hash table's entry.
const INLINE: usize = 19;

/// A group's entry in the hash table: its id, its window start and, when short, its key bytes,
/// so that finding a group reads no memory beyond the table (the per-group vectors are not
/// touched until the group is found).
#[derive(Clone, Copy)]
struct Slot {
    start: i64,
    g: u32,
    /// Length of the inline key; `u8::MAX`: the key is longer, compare `keys[g]`.
    len: u8,
    inline: [u8; INLINE],
}

impl Slot {
    fn new(g: u32, start: i64, key: &[u8]) -> Slot {
        let mut inline = [0u8; INLINE];
        let len = if key.len() <= INLINE {
            inline[..key.len()].copy_from_slice(key);
            key.len() as u8
        } else {
            u8::MAX
        };
        Slot {
            start,
            g,
            len,
            inline,
        }
    }

    fn matches(&self, key: &[u8], start: i64, keys: &[Box<[u8]>]) -> bool {
        self.start == start
            && match self.len {
                u8::MAX => *keys[self.g as usize] == *key,
                n => n as usize == key.len() && same_short(&self.inline[..n as usize], key),
            }
    }
}

/// `a == b` for two short slices of the same length, by overlapping word loads rather than a
/// call to `memcmp`.
fn same_short(a: &[u8], b: &[u8]) -> bool {
    let n = b.len();
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or_default());
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a == b
    }
}

/// The state of a vectorised aggregation.
pub(crate) struct Columnar {
    plan: Arc<AggregatePlan>,
    /// `(size, advance)` of time windows.
    window: Option<(i64, i64)>,
    codec: KeyCodec,
    hasher: DefaultHashBuilder,
    /// Group ids, by hash of (key bytes, window start).
    table: HashTable<Slot>,
    // Per group id:
    hashes: Vec<u64>,
    keys: Vec<Box<[u8]>>,
    starts: Vec<i64>,
    /// The highest event time of the group's rows.
    times: Vec<i64>,
    live: Vec<bool>,
    dirty_flag: Vec<bool>,
    /// Last position in the current batch (caching on), valid where `stamp == generation`.
    last: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    /// Ids of removed groups, reused first.
    free: Vec<u32>,
    live_count: usize,
    accs: Vec<Box<dyn GroupsAccumulator>>,
    /// Time windows: group ids by window start, in the order they came (for retention and
    /// `EMIT FINAL`).
    by_window: BTreeMap<i64, Vec<u32>>,
    /// Groups created since the last [`Columnar::settle`], with their window start, in order.
    created: Vec<(i64, u32)>,
    /// Groups changed since the last [`Columnar::take_dirty`] (may repeat; `dirty_flag` rules).
    dirty: Vec<u32>,
    /// Groups dropped by retention since the last [`Columnar::take_dirty`]: key and start.
    expired: Vec<(Box<[u8]>, i64)>,
    /// The highest event time seen (windowed).
    pub stream_time: i64,
    /// `EMIT FINAL`: the highest event time of an update, and the highest window start updated
    /// (closed windows are released against these), and the event time up to which closed
    /// windows have been released.
    suppress_time: i64,
    suppress_start: i64,
    released_until: i64,
    /// Records dropped because their window had closed.
    pub late: u64,
}

impl Columnar {
    /// A vectorised aggregation for `plan`, when the plan is one it runs.
    pub fn try_new(plan: &Arc<AggregatePlan>) -> Option<Columnar> {
        let window = match plan.window.map(|w| w.shape) {
            None => None,
            Some(WindowShape::Time { size, advance }) => Some((size, advance)),
            Some(WindowShape::Session { .. }) => return None,
        };
        if plan.table_source || plan.group_by.is_empty() || (plan.emit_final && window.is_none()) {
            return None;
        }
        let kinds: Option<Vec<_>> = plan
            .calls
            .iter()
            .map(|c| c.function.columnar.clone())
            .collect();
        let types: Vec<DataType> = plan
            .agg_schema
            .fields()
            .iter()
            .take(plan.group_by.len())
            .map(|f| f.data_type().clone())
            .collect();
        if !types.iter().all(plain_key) {
            return None;
        }
        let codec = KeyCodec::new(types)?;
        Some(Columnar {
            plan: Arc::clone(plan),
            window,
            codec,
            hasher: DefaultHashBuilder::default(),
            table: HashTable::new(),
            hashes: Vec::new(),
            keys: Vec::new(),
            starts: Vec::new(),
            times: Vec::new(),
            live: Vec::new(),
            dirty_flag: Vec::new(),
            last: Vec::new(),
            stamp: Vec::new(),
            generation: 0,
            free: Vec::new(),
            live_count: 0,
            accs: kinds?.iter().map(create).collect(),
            by_window: BTreeMap::new(),
            created: Vec::new(),
            dirty: Vec::new(),
            expired: Vec::new(),
            stream_time: i64::MIN,
            suppress_time: i64::MIN,
            suppress_start: i64::MIN,
            released_until: i64::MIN,
            late: 0,
        })
    }

    /// Hashes of the grouping values of each row of `columns` (not yet of their window).
    fn key_hashes(columns: &[ArrayRef], rows: usize) -> Result<Vec<u64>> {
        let mut hashes = vec![0; rows];
        create_hashes(columns, &RandomState::default(), &mut hashes)?;
        Ok(hashes)
    }

    /// The hash of a group: of its key's hash (from [`Columnar::key_hashes`]) and its window.
    fn hash(&self, key_hash: u64, start: i64) -> u64 {
        self.hasher.hash_one((key_hash, start))
    }

    /// The group of `key` in the window starting at `start` (hash `hash`), if there is one.
    fn find(&self, key: &[u8], start: i64, hash: u64) -> Option<u32> {
        let keys = &self.keys;
        self.table
            .find(hash, |s| s.matches(key, start, keys))
            .map(|s| s.g)
    }

    /// The group of `key` in the window starting at `start` (hash `hash`), created empty (event time `ts`)
    /// when new.
    /// [`Columnar::settle`] must follow before its state or window is used.
    fn group(&mut self, key: &[u8], start: i64, hash: u64, ts: i64) -> u32 {
        let (keys, hashes) = (&self.keys, &self.hashes);
        let vacant = match self.table.entry(
            hash,
            |s| s.matches(key, start, keys),
            |s| hashes[s.g as usize],
        ) {
            Entry::Occupied(e) => return e.get().g,
            Entry::Vacant(v) => v,
        };
        let g = self.free.last().copied().unwrap_or(self.keys.len() as u32);
        vacant.insert(Slot::new(g, start, key));
        let g = match self.free.pop() {
            Some(g) => {
                let i = g as usize;
                self.keys[i] = key.into();
                self.starts[i] = start;
                self.times[i] = ts;
                self.hashes[i] = hash;
                self.live[i] = true;
                for acc in &mut self.accs {
                    acc.reset(i);
                }
                g
            }
            None => {
                let g = self.keys.len() as u32;
                self.keys.push(key.into());
                self.starts.push(start);
                self.times.push(ts);
                self.hashes.push(hash);
                self.live.push(true);
                self.dirty_flag.push(false);
                self.last.push(0);
                self.stamp.push(0);
                g
            }
        };
        if start != UNWINDOWED {
            self.created.push((start, g));
        }
        self.live_count += 1;
        g
    }

    /// After new groups: makes the accumulators' vectors as long as the groups', and lists the
    /// new groups under their windows (one look-up per run of the same window).
    fn settle(&mut self) {
        for acc in &mut self.accs {
            acc.resize(self.keys.len());
        }
        for run in self.created.chunk_by(|a, b| a.0 == b.0) {
            self.by_window
                .entry(run[0].0)
                .or_default()
                .extend(run.iter().map(|&(_, g)| g));
        }
        self.created.clear();
    }

    /// Applies one batch (`pass[i]`: row `i` has a value and passed WHERE); returns the updates
    /// in input order — only each group's last one when `latest_only` (caching on).
    pub fn update(
        &mut self,
        inputs: &Inputs,
        pass: &BooleanArray,
        latest_only: bool,
    ) -> Result<UpdateBatch> {
        let n = inputs.rowtime.len();
        let rows = self.codec.encode(&inputs.groups)?;
        let key_nulls: Vec<_> = inputs
            .groups
            .iter()
            .filter_map(|a| a.logical_nulls())
            .collect();
        let grace = self.plan.window.map(|w| w.grace).unwrap_or(0);
        // The (row, window start) pairs to apply, in order; records of closed windows dropped.
        let mut in_rows: Vec<u32> = Vec::with_capacity(n);
        let mut starts: Vec<i64> = Vec::with_capacity(n);
        for i in 0..n {
            if !(pass.is_valid(i) && pass.value(i)) || key_nulls.iter().any(|b| b.is_null(i)) {
                continue;
            }
            let ts = inputs.rowtime.value(i);
            match self.window {
                None => {
                    in_rows.push(i as u32);
                    starts.push(UNWINDOWED);
                }
                Some((size, advance)) => {
                    self.stream_time = self.stream_time.max(ts);
                    for start in window_starts(ts, size, advance) {
                        if start + size + grace <= self.stream_time || ts < 0 {
                            self.late += 1;
                        } else {
                            in_rows.push(i as u32);
                            starts.push(start);
                        }
                    }
                }
            }
        }
        // Their groups: every lookup first, each independent of the others (so that their
        // reads of the hash table overlap), then the new groups created in order.
        let key_hashes = Self::key_hashes(&inputs.groups, n)?;
        let hashes: Vec<u64> = in_rows
            .iter()
            .zip(&starts)
            .map(|(&i, &start)| self.hash(key_hashes[i as usize], start))
            .collect();
        let mut groups: Vec<u32> = in_rows
            .iter()
            .zip(&starts)
            .zip(&hashes)
            .map(|((&i, &start), &hash)| self.find(rows.get(i as usize), start, hash))
            .map(|g| g.unwrap_or(u32::MAX))
            .collect();
        for (k, &i) in in_rows.iter().enumerate() {
            if groups[k] == u32::MAX {
                let ts = inputs.rowtime.value(i as usize);
                groups[k] = self.group(rows.get(i as usize), starts[k], hashes[k], ts);
            }
        }
        self.settle();
        let mut times: Vec<i64> = Vec::with_capacity(groups.len());
        for (&i, &g) in in_rows.iter().zip(&groups) {
            let gi = g as usize;
            self.times[gi] = self.times[gi].max(inputs.rowtime.value(i as usize));
            if !self.dirty_flag[gi] {
                self.dirty_flag[gi] = true;
                self.dirty.push(g);
            }
            times.push(self.times[gi]);
        }
        if self.plan.emit_final {
            for (acc, args) in self.accs.iter_mut().zip(&inputs.args) {
                acc.update(args, &in_rows, &groups);
            }
            self.suppress_time = times.iter().fold(self.suppress_time, |a, &t| a.max(t));
            self.suppress_start = starts.iter().fold(self.suppress_start, |a, &s| a.max(s));
            self.expire();
            return self.release();
        }
        let results: Vec<ArrayRef> = self
            .accs
            .iter_mut()
            .zip(&inputs.args)
            .map(|(acc, args)| acc.update(args, &in_rows, &groups))
            .collect();
        // When every row gave one update, in order (one window each, none dropped), the
        // updates' grouping values and offsets are the input's own columns.
        let identity =
            in_rows.len() == n && in_rows.iter().enumerate().all(|(k, &i)| k == i as usize);
        let (offsets, mut columns) = if identity {
            (inputs.offsets.values().to_vec(), inputs.groups.clone())
        } else {
            let offsets = in_rows
                .iter()
                .map(|&i| inputs.offsets.value(i as usize))
                .collect();
            let indices = UInt32Array::from(in_rows);
            let columns = inputs
                .groups
                .iter()
                .map(|a| Ok(take(a, &indices, None)?))
                .collect::<Result<Vec<_>>>()?;
            (offsets, columns)
        };
        columns.extend(results);
        columns.extend(self.bounds(&starts));
        columns.push(Arc::new(Int64Array::from(times)));
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.plan.agg_schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(groups.len())),
        )?;
        self.expire();
        let mut updates = UpdateBatch {
            deleted: vec![false; batch.num_rows()],
            batch,
            offsets,
        };
        if latest_only {
            updates = self.latest(updates, &groups)?;
        }
        Ok(updates)
    }

    /// `EMIT FINAL`: the final rows of the windows closed since the last release (stream time
    /// passed their end plus grace), windows in order of their end, groups in the order they
    /// came. As the window store is read for them, a window dropped by retention is not
    /// released, nor one that started more than its size and grace before the latest window
    /// start.
    fn release(&mut self) -> Result<UpdateBatch> {
        let (Some((size, _)), Some(w)) = (self.window, self.plan.window) else {
            return self.rows(&[], &[]);
        };
        let span = size + w.grace;
        let horizon = self.suppress_start.saturating_sub(span);
        let mut ids: Vec<u32> = Vec::new();
        let mut starts: Vec<i64> = Vec::new();
        let from = self.released_until.saturating_sub(span);
        for (&start, groups) in self.by_window.range(from..) {
            let close = start + span;
            if close > self.suppress_time {
                break;
            }
            if close <= self.released_until || start < horizon {
                continue;
            }
            for &g in groups {
                if self.live[g as usize] && self.starts[g as usize] == start {
                    ids.push(g);
                    starts.push(start);
                }
            }
        }
        self.released_until = self.released_until.max(self.suppress_time);
        self.rows(&ids, &starts)
    }

    /// The current rows of groups `ids` (windows starting at `starts`), as updates of no record.
    fn rows(&self, ids: &[u32], starts: &[i64]) -> Result<UpdateBatch> {
        let mut columns = self
            .codec
            .decode(ids.iter().map(|&g| &*self.keys[g as usize]))?;
        columns.extend(self.accs.iter().map(|a| a.results(ids)));
        columns.extend(self.bounds(starts));
        columns.push(Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|&g| self.times[g as usize]),
        )));
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.plan.agg_schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(ids.len())),
        )?;
        Ok(UpdateBatch {
            deleted: vec![false; ids.len()],
            offsets: vec![-1; ids.len()],
            batch,
        })
    }

    /// WINDOWSTART and WINDOWEND columns for windows starting at `starts`.
    fn bounds(&self, starts: &[i64]) -> [ArrayRef; 2] {
        match self.window {
            None => [
                new_null_array(&DataType::Int64, starts.len()),
                new_null_array(&DataType::Int64, starts.len()),
            ],
            Some((size, _)) => [
                Arc::new(Int64Array::from(starts.to_vec())),
                Arc::new(Int64Array::from_iter_values(
                    starts.iter().map(|s| s + size),
                )),
            ],
        }
    }

    /// Keeps each group's last update of the batch, in order.
    fn latest(&mut self, updates: UpdateBatch, groups: &[u32]) -> Result<UpdateBatch> {
        self.generation = self.generation.wrapping_add(1);
        for (k, &g) in groups.iter().enumerate() {
            self.stamp[g as usize] = self.generation;
            self.last[g as usize] = k as u32;
        }
        let keep: Vec<u32> = groups
            .iter()
            .enumerate()
            .filter(|&(k, &g)| self.last[g as usize] == k as u32)
            .map(|(k, _)| k as u32)
            .collect();
        if keep.len() == groups.len() {
            return Ok(updates);
        }
        Ok(UpdateBatch {
            batch: take_record_batch(&updates.batch, &UInt32Array::from(keep.clone()))?,
            deleted: vec![false; keep.len()],
            offsets: keep.iter().map(|&k| updates.offsets[k as usize]).collect(),
        })
    }

    /// Forgets group `g`.
    fn drop_group(&mut self, g: u32) -> Box<[u8]> {
        let i = g as usize;
        if let Ok(entry) = self.table.find_entry(self.hashes[i], |s| s.g == g) {
            entry.remove();
        }
        self.live[i] = false;
        self.dirty_flag[i] = false;
        self.live_count -= 1;
        self.free.push(g);
        std::mem::take(&mut self.keys[i])
    }

    /// Drops time windows past their retention (they are tombstones in the changelog).
    fn expire(&mut self) {
        let (Some((size, _)), Some(w)) = (self.window, self.plan.window) else {
            return;
        };
        let horizon = self.stream_time.saturating_sub(w.retention);
        while let Some((&start, _)) = self.by_window.first_key_value() {
            if start + size > horizon {
                break;
            }
            let Some((_, ids)) = self.by_window.pop_first() else {
                break;
            };
            for g in ids {
                if self.live[g as usize] && self.starts[g as usize] == start {
                    let key = self.drop_group(g);
                    self.expired.push((key, start));
                }
            }
        }
    }

    fn window_of(&self, start: i64) -> Option<Window> {
        self.window
            .filter(|_| start != UNWINDOWED)
            .map(|(size, _)| (start, start + size))
    }

    /// Group keys as values, from their row bytes.
    fn decode_keys<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<Vec<GroupKey>> {
        key_values(&self.codec.decode(keys)?)
    }

    /// The groups changed since the last call, the starts of the expired windows' groups, and
    /// the key columns of both (the changed groups' rows first).
    fn take_changed(&mut self) -> Result<(Vec<u32>, Vec<i64>, Vec<ArrayRef>)> {
        let mut ids = std::mem::take(&mut self.dirty);
        ids.retain(|&g| std::mem::replace(&mut self.dirty_flag[g as usize], false));
        let expired = std::mem::take(&mut self.expired);
        let columns = self.codec.decode(
            ids.iter()
                .map(|&g| &*self.keys[g as usize])
                .chain(expired.iter().map(|(k, _)| &**k)),
        )?;
        Ok((ids, expired.into_iter().map(|(_, s)| s).collect(), columns))
    }

    fn state(&self, g: usize) -> Json {
        json!({
            "ts": self.times[g],
            "accs": self.accs.iter().map(|a| a.state(g)).collect::<Vec<_>>(),
        })
    }

    /// The groups changed since the last call, with their state (`None`: removed).
    pub fn take_dirty(&mut self) -> Result<Vec<DirtyGroup>> {
        let (ids, expired, columns) = self.take_changed()?;
        let mut keys = key_values(&columns)?.into_iter();
        let mut out = Vec::with_capacity(ids.len() + expired.len());
        for &g in &ids {
            let key = keys.next().unwrap_or_default();
            let window = self.window_of(self.starts[g as usize]);
            out.push(((key, window), Some(self.state(g as usize))));
        }
        for start in expired {
            let key = keys.next().unwrap_or_default();
            out.push(((key, self.window_of(start)), None));
        }
        Ok(out)
    }

    /// [`Columnar::take_dirty`] as changelog records (key and state text), written from the
    /// key columns and the accumulators without building values.
    pub fn take_dirty_records(&mut self) -> Result<Vec<DirtyRecord>> {
        let (ids, expired, columns) = self.take_changed()?;
        let mut out = Vec::with_capacity(ids.len() + expired.len());
        for (i, &g) in ids.iter().enumerate() {
            let g = g as usize;
            let key = changelog_key(&columns, i, self.window_of(self.starts[g]))?;
            let mut state = Vec::with_capacity(16 + 24 * self.accs.len());
            state.extend_from_slice(b"{\"ts\":");
            write_int(self.times[g], &mut state);
            state.extend_from_slice(b",\"accs\":[");
            for (n, acc) in self.accs.iter().enumerate() {
                if n > 0 {
                    state.push(b',');
                }
                acc.write_state(g, &mut state);
            }
            state.extend_from_slice(b"]}");
            out.push((key, Some(state)));
        }
        for (j, start) in expired.into_iter().enumerate() {
            let key = changelog_key(&columns, ids.len() + j, self.window_of(start))?;
            out.push((key, None));
        }
        Ok(out)
    }

    /// Forgets which groups changed.
    pub fn clear_dirty(&mut self) {
        for g in self.dirty.drain(..) {
            self.dirty_flag[g as usize] = false;
        }
        self.expired.clear();
    }

    /// Row bytes of a key given as values, and the hash of the values.
    fn encode_key(&self, key: &GroupKey) -> Result<(Box<[u8]>, u64)> {
        let columns = key
            .iter()
            .map(|v| Ok(v.to_array()?))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let rows = self.codec.encode(&columns)?;
        let hash = Self::key_hashes(&columns, 1)?[0];
        Ok((rows.get(0).into(), hash))
    }

    /// Restores one group from its changelog state.
    pub fn restore(&mut self, key: &GroupKey, window: Option<Window>, state: &Json) -> Result<()> {
        let (bytes, key_hash) = self.encode_key(key)?;
        let ts = state.get("ts").and_then(|t| t.as_i64()).unwrap_or(0);
        let start = window.map(|w| w.0).unwrap_or(UNWINDOWED);
        let g = self.group(&bytes, start, self.hash(key_hash, start), ts) as usize;
        self.settle();
        self.times[g] = ts;
        let accs = state
            .get("accs")
            .and_then(|a| a.as_array())
            .ok_or_else(|| EngineError::Internal("changelog state without accs".into()))?;
        for (acc, s) in self.accs.iter_mut().zip(accs) {
            acc.restore(g, s).map_err(EngineError::Internal)?;
        }
        if self.window.is_some() {
            self.stream_time = self.stream_time.max(ts);
            // Windows closed before the state was written were released then.
            self.suppress_time = self.suppress_time.max(ts);
            self.released_until = self.released_until.max(ts);
            self.suppress_start = self.suppress_start.max(start);
        }
        Ok(())
    }

    /// Forgets one group (a tombstone in the changelog).
    pub fn remove(&mut self, key: &GroupKey, window: Option<Window>) -> Result<()> {
        let (bytes, key_hash) = self.encode_key(key)?;
        let start = window.map(|w| w.0).unwrap_or(UNWINDOWED);
        if let Some(g) = self.find(&bytes, start, self.hash(key_hash, start)) {
            self.drop_group(g);
        }
        Ok(())
    }

    /// Every group's current result, as updates (to rebuild the table's rows after a restore).
    pub fn all_updates(&self) -> Result<Vec<Update>> {
        let ids: Vec<u32> = (0..self.keys.len() as u32)
            .filter(|&g| self.live[g as usize])
            .collect();
        let keys = self.decode_keys(ids.iter().map(|&g| &*self.keys[g as usize]))?;
        let results: Vec<ArrayRef> = self.accs.iter().map(|a| a.results(&ids)).collect();
        ids.iter()
            .zip(keys)
            .enumerate()
            .map(|(k, (&g, key))| {
                Ok(Update {
                    key,
                    window: self.window_of(self.starts[g as usize]),
                    results: Some(
                        results
                            .iter()
                            .map(|r| ScalarValue::try_from_array(r, k))
                            .collect::<std::result::Result<_, _>>()?,
                    ),
                    timestamp: self.times[g as usize],
                    offset: -1,
                })
            })
            .collect()
    }

    /// Number of groups held.
    pub fn len(&self) -> usize {
        self.live_count
    }
}

/// Whether the row format keeps keys of this type exactly as the value-based groups do.
fn plain_key(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Utf8
            | DataType::Binary
            | DataType::Decimal128(..)
            | DataType::Date32
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(..)
    )
}

/// Key columns as one value list per row.
fn key_values(columns: &[ArrayRef]) -> Result<Vec<GroupKey>> {
    let n = columns.first().map_or(0, |c| c.len());
    (0..n)
        .map(|i| {
            columns
                .iter()
                .map(|c| Ok(ScalarValue::try_from_array(c, i)?))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::same_short;

    #[test]
    fn short_keys_compare_as_slices_do() {
        for n in 0..=super::INLINE {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(same_short(&a, &a.clone()), "length {n}");
            for k in 0..n {
                let mut b = a.clone();
                b[k] ^= 0x80;
                assert!(!same_short(&a, &b), "length {n}, byte {k}");
            }
        }
    }
}

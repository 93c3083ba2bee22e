//! The aggregation operator: per group (and window) one accumulator per aggregate call, updated
//! record by record in input order.
//!
//! Changelog semantics, as ksqlDB's (Kafka Streams with caching off):
//! - stream source: every record that passes WHERE and has no null grouping value updates its
//!   group(s) and emits the group's new row; records with a null value are ignored;
//! - table source: a key's previous row is first undone from its group (which emits), then the
//!   new row is added (which emits); a tombstone or a row failing WHERE only undoes;
//! - time windows (tumbling, hopping): a record updates every window containing its time unless
//!   the window ended `grace` or more before stream time (the highest event time seen); it is
//!   then late, dropped and counted;
//! - session windows: a record opens a session or extends and merges the sessions within `gap`
//!   of it; merged-away sessions emit tombstones, then the merged session its row;
//! - `EMIT FINAL`: nothing is emitted until a window closes (stream time passes its end plus
//!   grace); then its final row, windows in order of their end.
//!
//! An update's timestamp is the highest event time among the rows of its group (session
//! windows: the session's end).
//!
//! The common case (a stream source, no session window, COUNT/SUM/AVG/MIN/MAX over numbers,
//! `EMIT FINAL` only over time windows) runs vectorised in [`Columnar`]; everything else row by
//! row here.
//!
//! State: groups in hash maps (time windows in a map ordered by window start, so windows past
//! their retention are dropped cheaply); every group changed by a step is reported by
//! [`Aggregator::take_dirty`] for the changelog.

use std::collections::BTreeMap;

use datafusion::common::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::columnar::Columnar;
use crate::error::{EngineError, Result};
use crate::planner::aggregate::{AggregatePlan, WindowShape};
use crate::udaf::Accumulator;
use crate::value::{write_int, write_json, write_value};

/// A group's values (the grouping expressions).
pub type GroupKey = Vec<ScalarValue>;

/// `EMIT FINAL`'s buffer for one window: the latest update per group, in the order the groups
/// first came (a withdrawn group leaves a hole), found by key without a scan.
#[derive(Debug, Default)]
struct Held {
    updates: Vec<Option<Update>>,
    index: HashMap<GroupKey, usize>,
}

/// A window: start and end, ms.
pub type Window = (i64, i64);

/// A group and its window, with its state for the changelog (`None`: removed).
pub type DirtyGroup = ((GroupKey, Option<Window>), Option<Json>);

/// A changelog record of a group: the key's text and the state's (`None`: removed).
pub type DirtyRecord = (Vec<u8>, Option<Vec<u8>>);

/// The changelog key of the group in row `row` of the key columns `columns`:
/// `{"g":[values],"w":[start,end]}` (`"w":null` unwindowed), each value as
/// [`crate::value::to_json`] writes it.
pub fn changelog_key(columns: &[ArrayRef], row: usize, window: Option<Window>) -> Result<Vec<u8>> {
    key_text(columns.len(), window, |n, out| {
        super::fast_json::write_cell(out, &columns[n], row)
    })
}

/// [`changelog_key`] of a key given as values.
fn changelog_key_of(key: &[ScalarValue], window: Option<Window>) -> Result<Vec<u8>> {
    key_text(key.len(), window, |n, out| {
        write_json(&key[n], out);
        Ok(())
    })
}

/// A changelog key whose `n` values `cell` writes.
fn key_text(
    n: usize,
    window: Option<Window>,
    mut cell: impl FnMut(usize, &mut Vec<u8>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(24 + 12 * n);
    out.extend_from_slice(b"{\"g\":[");
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        cell(i, &mut out)?;
    }
    out.extend_from_slice(b"],\"w\":");
    match window {
        Some((start, end)) => {
            out.push(b'[');
            write_int(start, &mut out);
            out.push(b',');
            write_int(end, &mut out);
            out.push(b']');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(out)
}

/// One group's state.
#[derive(Debug)]
pub struct Group {
    accs: Vec<Box<dyn Accumulator>>,
    /// The highest event time of its rows.
    timestamp: i64,
}

impl Group {
    /// Adds one row's arguments; an accumulator that refuses it (SUM's DECIMAL overflow) reports
    /// its error against the record's offset.
    fn add(&mut self, args: &[Vec<ScalarValue>], offset: i64, errors: &mut Vec<(i64, String)>) {
        for (acc, a) in self.accs.iter_mut().zip(args) {
            acc.add(a);
            if let Some(e) = acc.error() {
                errors.push((offset, e));
            }
        }
    }

    fn results(&self) -> Vec<ScalarValue> {
        self.accs.iter().map(|a| a.result()).collect()
    }

    /// The state for the changelog.
    pub fn state(&self) -> Json {
        json!({
            "ts": self.timestamp,
            "accs": self.accs.iter().map(|a| a.state()).collect::<Vec<_>>(),
        })
    }
}

/// One change of the aggregation's output.
#[derive(Debug, Clone)]
pub struct Update {
    /// The group.
    pub key: GroupKey,
    /// Its window.
    pub window: Option<Window>,
    /// The aggregate results; `None` when the group (a merged session) is gone.
    pub results: Option<Vec<ScalarValue>>,
    /// Event time of the update.
    pub timestamp: i64,
    /// Offset of the record that caused it.
    pub offset: i64,
}

#[derive(Debug)]
struct Session {
    start: i64,
    end: i64,
    group: Group,
}

/// A table source's key: the row it contributed last (its group and arguments).
pub type Contribution = (GroupKey, Vec<Vec<ScalarValue>>);

/// A batch of updates: rows of the aggregate schema (grouping values, results, window bounds,
/// ROWTIME), in emission order.
#[derive(Debug, Clone)]
pub struct UpdateBatch {
    /// The rows.
    pub batch: RecordBatch,
    /// Whether row `i` deletes its group (a merged-away session): its results are null.
    pub deleted: Vec<bool>,
    /// Offset of the record that caused row `i` (-1 when unknown).
    pub offsets: Vec<i64>,
}

impl UpdateBatch {
    /// The batch of a list of updates.
    pub fn from_updates(plan: &AggregatePlan, updates: &[Update]) -> Result<UpdateBatch> {
        Ok(UpdateBatch {
            batch: updates_batch(plan, updates)?,
            deleted: updates.iter().map(|u| u.results.is_none()).collect(),
            offsets: updates.iter().map(|u| u.offset).collect(),
        })
    }

    /// Number of updates.
    pub fn len(&self) -> usize {
        self.deleted.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty()
    }

    /// Update `i` alone.
    pub fn row(&self, i: usize) -> UpdateBatch {
        UpdateBatch {
            batch: self.batch.slice(i, 1),
            deleted: vec![self.deleted[i]],
            offsets: vec![self.offsets[i]],
        }
    }
}

/// The running state of one aggregation.
pub struct Aggregator {
    plan: Arc<AggregatePlan>,
    /// The vectorised form, when the plan has one (then the fields below stay empty).
    columnar: Option<Columnar>,
    /// Unwindowed groups.
    groups: HashMap<GroupKey, Group>,
    /// Time windows: by window start, then group.
    windows: BTreeMap<i64, HashMap<GroupKey, Group>>,
    /// Session windows by group, ordered by start.
    sessions: HashMap<GroupKey, Vec<Session>>,
    /// Table sources: what each source key contributed.
    contributions: HashMap<Vec<ScalarValue>, Contribution>,
    /// The highest event time seen.
    stream_time: i64,
    /// `EMIT FINAL`: windows updated and not yet emitted, by window end.
    /// Each window's latest update per group.
    pending: BTreeMap<(i64, i64), Held>,
    /// Highest timestamp of the updates seen by `EMIT FINAL`'s buffer.
    suppress_time: i64,
    /// Highest window start of the updates seen by `EMIT FINAL`'s buffer.
    suppress_start: i64,
    /// Groups changed since the last [`Aggregator::take_dirty`].
    dirty: HashSet<(GroupKey, Option<Window>)>,
    /// Table sources' keys whose contribution changed since the last
    /// [`Aggregator::take_dirty_contributions`].
    dirty_contributions: HashSet<Vec<ScalarValue>>,
    /// Records dropped because their window had closed.
    pub late: u64,
    /// Rows an accumulator refused since the last [`Aggregator::take_errors`]: the record's
    /// offset and the error.
    errors: Vec<(i64, String)>,
}

impl Aggregator {
    /// An empty aggregation.
    pub fn new(plan: Arc<AggregatePlan>) -> Aggregator {
        Aggregator {
            columnar: Columnar::try_new(&plan),
            plan,
            groups: HashMap::new(),
            windows: BTreeMap::new(),
            sessions: HashMap::new(),
            contributions: HashMap::new(),
            stream_time: i64::MIN,
            pending: BTreeMap::new(),
            suppress_time: i64::MIN,
            suppress_start: i64::MIN,
            dirty: HashSet::new(),
            dirty_contributions: HashSet::new(),
            late: 0,
            errors: Vec::new(),
        }
    }

    fn new_group(&self, timestamp: i64) -> Group {
        Group {
            accs: self
                .plan
                .calls
                .iter()
                .map(|c| c.function.create())
                .collect(),
            timestamp,
        }
    }

    /// Evaluates the grouping expressions and the calls' arguments over a batch; fails without
    /// touching the state.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<Inputs> {
        let n = batch.num_rows();
        let groups = self
            .plan
            .group_by
            .iter()
            .map(|g| Ok(g.evaluate(batch)?.into_array(n)?))
            .collect::<Result<Vec<_>>>()?;
        let args = self
            .plan
            .calls
            .iter()
            .map(|c| {
                c.args
                    .iter()
                    .map(|a| Ok(a.evaluate(batch)?.into_array(n)?))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let column = |name: &str| -> Result<Int64Array> {
            batch
                .column_by_name(name)
                .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
                .cloned()
                .ok_or_else(|| EngineError::Internal(format!("no {name}")))
        };
        Ok(Inputs {
            groups,
            args,
            rowtime: column(crate::schema::ROWTIME)?,
            offsets: column(crate::schema::ROWOFFSET)?,
        })
    }

    /// An aggregation that runs row by row even when a vectorised form exists.
    pub fn row_by_row(plan: Arc<AggregatePlan>) -> Aggregator {
        let mut a = Aggregator::new(plan);
        a.columnar = None;
        a
    }

    /// Whether the vectorised form runs this aggregation.
    pub fn is_vectorised(&self) -> bool {
        self.columnar.is_some()
    }

    /// Applies one batch as [`Aggregator::update_rows`] does, returning the updates as a batch; with
    /// `latest_only` (caching on), only the latest update of each group.
    pub fn update_batch(
        &mut self,
        inputs: &Inputs,
        pass: &BooleanArray,
        source_keys: Option<&[Vec<ScalarValue>]>,
        latest_only: bool,
    ) -> Result<UpdateBatch> {
        if let Some(c) = &mut self.columnar {
            return c.update(inputs, pass, latest_only);
        }
        let mut updates = self.update_rows(inputs, pass, source_keys)?;
        if latest_only {
            let mut last: HashMap<(&GroupKey, Option<Window>), usize> = HashMap::new();
            for (i, u) in updates.iter().enumerate() {
                last.insert((&u.key, u.window), i);
            }
            let mut keep: Vec<usize> = last.into_values().collect();
            keep.sort_unstable();
            let mut all: Vec<Option<Update>> = updates.into_iter().map(Some).collect();
            updates = keep.into_iter().filter_map(|i| all[i].take()).collect();
        }
        UpdateBatch::from_updates(&self.plan, &updates)
    }

    /// The rows an accumulator refused since the last call (record offset, error).
    pub fn take_errors(&mut self) -> Vec<(i64, String)> {
        std::mem::take(&mut self.errors)
    }

    /// For an aggregation over time windows, the end at or before which a window is past its
    /// retention: its groups are gone from the state, and its rows from the table pull queries
    /// read. (Sessions are kept.)
    pub fn retention_horizon(&self) -> Option<i64> {
        let w = self
            .plan
            .window
            .filter(|w| matches!(w.shape, WindowShape::Time { .. }))?;
        let stream_time = match &self.columnar {
            Some(c) => c.stream_time,
            None => self.stream_time,
        };
        Some(stream_time.saturating_sub(w.retention))
    }

    /// Records dropped because their window had closed.
    pub fn late(&self) -> u64 {
        match &self.columnar {
            Some(c) => c.late,
            None => self.late,
        }
    }

    /// Applies one batch row by row: `pass[i]` says whether row `i` has a value and passed WHERE,
    /// `source_keys[i]` is a table source's key of row `i`.
    fn update_rows(
        &mut self,
        inputs: &Inputs,
        pass: &BooleanArray,
        source_keys: Option<&[Vec<ScalarValue>]>,
    ) -> Result<Vec<Update>> {
        let mut out = Vec::new();
        let n = inputs.rowtime.len();
        for i in 0..n {
            let ts = inputs.rowtime.value(i);
            let offset = inputs.offsets.value(i);
            let passes = pass.is_valid(i) && pass.value(i);
            let key = cells(&inputs.groups, i)?;
            let args: Vec<Vec<ScalarValue>> = inputs
                .args
                .iter()
                .map(|a| cells(a, i))
                .collect::<Result<_>>()?;
            if let Some(source_keys) = source_keys {
                let source_key = source_keys.get(i).cloned().unwrap_or_default();
                self.dirty_contributions.insert(source_key.clone());
                let valid = passes && !key.iter().any(|k| k.is_null());
                match self.contributions.remove(&source_key) {
                    // An update within the same group: one change, one emit.
                    Some((old_key, old_args)) if valid && old_key == key => {
                        if let Some(g) = self.groups.get_mut(&key) {
                            for (acc, a) in g.accs.iter_mut().zip(&old_args) {
                                acc.undo(a);
                            }
                            g.add(&args, offset, &mut self.errors);
                            g.timestamp = g.timestamp.max(ts);
                            changed(
                                g,
                                &key,
                                None,
                                g.timestamp,
                                offset,
                                &mut out,
                                &mut self.dirty,
                            );
                        }
                    }
                    old => {
                        // The key's previous row leaves its group, then the new row joins its own.
                        if let Some((old_key, old_args)) = old {
                            if let Some(g) = self.groups.get_mut(&old_key) {
                                for (acc, a) in g.accs.iter_mut().zip(&old_args) {
                                    acc.undo(a);
                                }
                                g.timestamp = g.timestamp.max(ts);
                                changed(g, &old_key, None, ts, offset, &mut out, &mut self.dirty);
                            }
                        }
                        if valid {
                            self.add_unwindowed(key.clone(), &args, ts, offset, &mut out);
                        }
                    }
                }
                if valid {
                    self.contributions.insert(source_key, (key, args));
                }
                continue;
            }
            if !passes || key.iter().any(|k| k.is_null()) {
                continue;
            }
            match self.plan.window.map(|w| (w.shape, w.grace)) {
                None => self.add_unwindowed(key, &args, ts, offset, &mut out),
                Some((WindowShape::Time { size, advance }, grace)) => {
                    self.stream_time = self.stream_time.max(ts);
                    for start in window_starts(ts, size, advance) {
                        let end = start + size;
                        if end + grace <= self.stream_time || ts < 0 {
                            self.late += 1;
                        } else {
                            let window = self.windows.entry(start).or_default();
                            if !window.contains_key(&key) {
                                let fresh = Group {
                                    accs: self
                                        .plan
                                        .calls
                                        .iter()
                                        .map(|c| c.function.create())
                                        .collect(),
                                    timestamp: ts,
                                };
                                window.insert(key.clone(), fresh);
                            }
                            if let Some(g) = window.get_mut(&key) {
                                g.add(&args, offset, &mut self.errors);
                                g.timestamp = g.timestamp.max(ts);
                                let w = Some((start, end));
                                changed(g, &key, w, g.timestamp, offset, &mut out, &mut self.dirty);
                            }
                        }
                    }
                }
                Some((WindowShape::Session { gap }, grace)) => {
                    self.stream_time = self.stream_time.max(ts);
                    self.add_session(key, &args, ts, offset, gap, grace, &mut out);
                }
            }
        }
        self.expire();
        if self.plan.emit_final {
            return Ok(self.suppress(out));
        }
        Ok(out)
    }

    fn add_unwindowed(
        &mut self,
        key: GroupKey,
        args: &[Vec<ScalarValue>],
        ts: i64,
        offset: i64,
        out: &mut Vec<Update>,
    ) {
        if !self.groups.contains_key(&key) {
            let fresh = self.new_group(ts);
            self.groups.insert(key.clone(), fresh);
        }
        let Some(g) = self.groups.get_mut(&key) else {
            return;
        };
        g.add(args, offset, &mut self.errors);
        g.timestamp = g.timestamp.max(ts);
        changed(g, &key, None, g.timestamp, offset, out, &mut self.dirty);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_session(
        &mut self,
        key: GroupKey,
        args: &[Vec<ScalarValue>],
        ts: i64,
        offset: i64,
        gap: i64,
        grace: i64,
        out: &mut Vec<Update>,
    ) {
        // A session closes `gap` after its end, then stays open `grace` longer.
        let close_time = self.stream_time - grace - gap;
        let fresh = self.new_group(ts);
        let horizon = self
            .stream_time
            .saturating_sub(self.plan.window.map(|w| w.retention).unwrap_or(0));
        let sessions = self.sessions.entry(key.clone()).or_default();
        // Sessions past their retention are gone: a record near one starts a new session.
        sessions.retain(|s| {
            let keep = s.end >= horizon;
            if !keep {
                self.dirty.insert((key.clone(), Some((s.start, s.end))));
            }
            keep
        });
        let overlapping: Vec<usize> = sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.end >= ts - gap && s.start <= ts + gap)
            .map(|(i, _)| i)
            .collect();
        let mut start = ts;
        let mut end = ts;
        for &i in &overlapping {
            start = start.min(sessions[i].start);
            end = end.max(sessions[i].end);
        }
        if end < close_time {
            self.late += 1;
            return;
        }
        let mut merged = fresh;
        let unchanged = overlapping.len() == 1
            && sessions[overlapping[0]].start == start
            && sessions[overlapping[0]].end == end;
        let mut removed: Vec<Session> = overlapping
            .iter()
            .rev()
            .map(|&i| sessions.remove(i))
            .collect();
        removed.reverse();
        if !unchanged {
            // Merged-away sessions are deleted, earliest first.
            for old in &removed {
                out.push(Update {
                    key: key.clone(),
                    window: Some((old.start, old.end)),
                    results: None,
                    timestamp: old.end,
                    offset,
                });
                self.dirty.insert((key.clone(), Some((old.start, old.end))));
            }
        }
        // Fold the sessions in, latest first: each one merged is earlier than what is held.
        for old in removed.iter().rev() {
            for (acc, earlier) in merged.accs.iter_mut().zip(old.group.accs.iter()) {
                acc.merge(earlier.as_ref());
            }
            merged.timestamp = merged.timestamp.max(old.group.timestamp);
        }
        merged.add(args, offset, &mut self.errors);
        merged.timestamp = merged.timestamp.max(ts);
        out.push(Update {
            key: key.clone(),
            window: Some((start, end)),
            results: Some(merged.results()),
            timestamp: end,
            offset,
        });
        self.dirty.insert((key.clone(), Some((start, end))));
        let at = sessions.partition_point(|s| s.start < start);
        sessions.insert(
            at,
            Session {
                start,
                end,
                group: merged,
            },
        );
    }

    /// Drops time windows past their retention.
    fn expire(&mut self) {
        let Some(w) = self.plan.window else {
            return;
        };
        if let WindowShape::Time { size, .. } = w.shape {
            let horizon = self.stream_time.saturating_sub(w.retention);
            while let Some((&start, _)) = self.windows.first_key_value() {
                if start + size > horizon {
                    break;
                }
                if let Some((_, groups)) = self.windows.pop_first() {
                    for k in groups.into_keys() {
                        self.dirty.insert((k, Some((start, start + size))));
                    }
                }
            }
        }
    }

    /// `EMIT FINAL`: buffers the updates and releases the windows that closed (a window's
    /// latest update; a merged-away session's is withdrawn).
    fn suppress(&mut self, updates: Vec<Update>) -> Vec<Update> {
        let grace = self.plan.window.map(|w| w.grace).unwrap_or(0);
        for u in updates {
            self.suppress_time = self.suppress_time.max(u.timestamp);
            let Some((start, end)) = u.window else {
                continue;
            };
            self.suppress_start = self.suppress_start.max(start);
            let held = self.pending.entry((end, start)).or_default();
            match (held.index.get(&u.key).copied(), u.results.is_some()) {
                (Some(i), true) => held.updates[i] = Some(u),
                (None, true) => {
                    held.index.insert(u.key.clone(), held.updates.len());
                    held.updates.push(Some(u));
                }
                (Some(i), false) => {
                    held.index.remove(&u.key);
                    held.updates[i] = None;
                }
                (None, false) => {}
            }
        }
        let mut out = Vec::new();
        while let Some((&(end, _), _)) = self.pending.first_key_value() {
            if end + grace > self.suppress_time {
                break;
            }
            let Some(((_, start), held)) = self.pending.pop_first() else {
                break;
            };
            // A time window past its retention is gone, and not released (its store no longer
            // holds it); a session's final row is held here whatever its retention.
            let sessions = matches!(
                self.plan.window.map(|w| w.shape),
                Some(WindowShape::Session { .. })
            );
            // The final results are read from the window store, which keeps windows by start: a
            // window that started more than its size and grace before the latest window start
            // is past the store's retention when the results are read.
            let horizon = self
                .suppress_start
                .saturating_sub(end - start)
                .saturating_sub(grace);
            let retained = sessions || start >= horizon;
            out.extend(
                held.updates
                    .into_iter()
                    .flatten()
                    .filter(|u| retained && (sessions || self.lookup(&u.key, u.window).is_some()))
                    .map(|u| Update { offset: -1, ..u }),
            );
        }
        out
    }

    /// Every group's current result, as updates (to rebuild the table's rows after a restore).
    pub fn all_updates(&self) -> Result<Vec<Update>> {
        if let Some(c) = &self.columnar {
            return c.all_updates();
        }
        let update = |key: &GroupKey, window: Option<Window>, g: &Group| Update {
            key: key.clone(),
            window,
            results: Some(g.results()),
            timestamp: g.timestamp,
            offset: -1,
        };
        let size = match self.plan.window.map(|w| w.shape) {
            Some(WindowShape::Time { size, .. }) => size,
            _ => 0,
        };
        let mut out: Vec<Update> = self
            .groups
            .iter()
            .map(|(k, g)| update(k, None, g))
            .collect();
        for (start, groups) in &self.windows {
            out.extend(
                groups
                    .iter()
                    .map(|(k, g)| update(k, Some((*start, start + size)), g)),
            );
        }
        for (k, sessions) in &self.sessions {
            out.extend(
                sessions
                    .iter()
                    .map(|s| update(k, Some((s.start, s.end)), &s.group)),
            );
        }
        Ok(out)
    }

    /// Forgets which groups changed (nothing to write them to).
    pub fn clear_dirty(&mut self) {
        if let Some(c) = &mut self.columnar {
            c.clear_dirty();
        }
        self.dirty.clear();
        self.dirty_contributions.clear();
    }

    /// The groups changed since the last call, with their state (`None`: removed).
    pub fn take_dirty(&mut self) -> Result<Vec<DirtyGroup>> {
        if let Some(c) = &mut self.columnar {
            return c.take_dirty();
        }
        let dirty = std::mem::take(&mut self.dirty);
        Ok(dirty
            .into_iter()
            .map(|(key, window)| {
                let state = self.lookup(&key, window).map(|g| g.state());
                ((key, window), state)
            })
            .collect())
    }

    /// [`Aggregator::take_dirty`] as changelog records.
    pub fn take_dirty_records(&mut self) -> Result<Vec<DirtyRecord>> {
        if let Some(c) = &mut self.columnar {
            return c.take_dirty_records();
        }
        self.take_dirty()?
            .into_iter()
            .map(|((key, window), state)| {
                let state = state.map(|s| {
                    let mut text = Vec::new();
                    write_value(&s, &mut text);
                    text
                });
                Ok((changelog_key_of(&key, window)?, state))
            })
            .collect()
    }

    /// Table sources: the keys whose contribution changed since the last call, with what they
    /// contribute now (`None`: nothing).
    pub fn take_dirty_contributions(&mut self) -> Vec<(Vec<ScalarValue>, Option<&Contribution>)> {
        let dirty = std::mem::take(&mut self.dirty_contributions);
        dirty
            .into_iter()
            .map(|k| {
                let c = self.contributions.get(&k);
                (k, c)
            })
            .collect()
    }

    /// Restores what a table source's key contributes.
    pub fn restore_contribution(&mut self, source_key: Vec<ScalarValue>, c: Option<Contribution>) {
        match c {
            Some(c) => {
                self.contributions.insert(source_key, c);
            }
            None => {
                self.contributions.remove(&source_key);
            }
        }
    }

    /// The aggregation's plan.
    pub fn plan(&self) -> &AggregatePlan {
        &self.plan
    }

    fn lookup(&self, key: &GroupKey, window: Option<Window>) -> Option<&Group> {
        match (window, self.plan.window.map(|w| w.shape)) {
            (None, _) => self.groups.get(key),
            (Some((start, end)), Some(WindowShape::Session { .. })) => self
                .sessions
                .get(key)?
                .iter()
                .find(|s| s.start == start && s.end == end)
                .map(|s| &s.group),
            (Some((start, _)), _) => self.windows.get(&start)?.get(key),
        }
    }

    /// Restores one group from its changelog state.
    pub fn restore(&mut self, key: GroupKey, window: Option<Window>, state: &Json) -> Result<()> {
        if let Some(c) = &mut self.columnar {
            return c.restore(&key, window, state);
        }
        let mut g = self.new_group(state.get("ts").and_then(|t| t.as_i64()).unwrap_or(0));
        let accs = state
            .get("accs")
            .and_then(|a| a.as_array())
            .ok_or_else(|| EngineError::Internal("changelog state without accs".into()))?;
        for (acc, s) in g.accs.iter_mut().zip(accs) {
            acc.restore(s).map_err(EngineError::Internal)?;
        }
        self.stream_time = self.stream_time.max(g.timestamp);
        match (window, self.plan.window.map(|w| w.shape)) {
            (None, _) => {
                self.groups.insert(key, g);
            }
            (Some((start, end)), Some(WindowShape::Session { .. })) => {
                let sessions = self.sessions.entry(key).or_default();
                sessions.retain(|s| s.start != start);
                let at = sessions.partition_point(|s| s.start < start);
                sessions.insert(
                    at,
                    Session {
                        start,
                        end,
                        group: g,
                    },
                );
            }
            (Some((start, _)), _) => {
                self.windows.entry(start).or_default().insert(key, g);
            }
        }
        Ok(())
    }

    /// Forgets one group (a tombstone in the changelog).
    pub fn remove(&mut self, key: &GroupKey, window: Option<Window>) -> Result<()> {
        if let Some(c) = &mut self.columnar {
            return c.remove(key, window);
        }
        match window {
            None => {
                self.groups.remove(key);
            }
            Some((start, end)) => {
                if let Some(m) = self.windows.get_mut(&start) {
                    m.remove(key);
                }
                if let Some(ss) = self.sessions.get_mut(key) {
                    ss.retain(|s| !(s.start == start && s.end == end));
                }
            }
        }
        Ok(())
    }

    /// Number of groups held.
    pub fn len(&self) -> usize {
        if let Some(c) = &self.columnar {
            return c.len();
        }
        self.groups.len()
            + self.windows.values().map(|m| m.len()).sum::<usize>()
            + self.sessions.values().map(|s| s.len()).sum::<usize>()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The starts of the time windows (`size` long, `advance` apart, none before 0) that contain
/// event time `ts`, earliest first.
pub(crate) fn window_starts(ts: i64, size: i64, advance: i64) -> impl Iterator<Item = i64> {
    let first = {
        let s = (ts - size + advance).max(0);
        s - s % advance
    };
    (0..)
        .map(move |i| first + i * advance)
        .take_while(move |&start| start <= ts)
}

/// Reports a group's new result: an update to emit, and a change for the changelog.
fn changed(
    g: &Group,
    key: &GroupKey,
    window: Option<Window>,
    timestamp: i64,
    offset: i64,
    out: &mut Vec<Update>,
    dirty: &mut HashSet<(GroupKey, Option<Window>)>,
) {
    out.push(Update {
        key: key.clone(),
        window,
        results: Some(g.results()),
        timestamp,
        offset,
    });
    dirty.insert((key.clone(), window));
}

/// The evaluated inputs of a batch.
pub struct Inputs {
    pub(crate) groups: Vec<ArrayRef>,
    pub(crate) args: Vec<Vec<ArrayRef>>,
    pub(crate) rowtime: Int64Array,
    pub(crate) offsets: Int64Array,
}

fn cells(arrays: &[ArrayRef], i: usize) -> Result<Vec<ScalarValue>> {
    arrays
        .iter()
        .map(|a| Ok(ScalarValue::try_from_array(a, i)?))
        .collect()
}

/// Builds the aggregate-schema batch of a list of updates (group columns, results, window
/// bounds, ROWTIME); tombstones get null results.
pub fn updates_batch(plan: &AggregatePlan, updates: &[Update]) -> Result<RecordBatch> {
    let ng = plan.group_types.len();
    let nc = plan.calls.len();
    let mut columns: Vec<Vec<ScalarValue>> = (0..ng + nc + 3)
        .map(|_| Vec::with_capacity(updates.len()))
        .collect();
    for u in updates {
        for (j, k) in u.key.iter().enumerate() {
            columns[j].push(k.clone());
        }
        for (j, c) in plan.calls.iter().enumerate() {
            columns[ng + j].push(match &u.results {
                Some(r) => r[j].clone(),
                None => crate::value::null_of(&c.function.return_type),
            });
        }
        columns[ng + nc].push(ScalarValue::Int64(u.window.map(|w| w.0)));
        columns[ng + nc + 1].push(ScalarValue::Int64(u.window.map(|w| w.1)));
        columns[ng + nc + 2].push(ScalarValue::Int64(Some(u.timestamp)));
    }
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .zip(plan.agg_schema.fields())
        .map(|(cells, f)| {
            let t = crate::types::SqlType::from_arrow(f.data_type())
                .unwrap_or(crate::types::SqlType::String);
            crate::value::to_array(&t, cells).map_err(EngineError::Execution)
        })
        .collect::<Result<_>>()?;
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(&plan.agg_schema),
        arrays,
        &datafusion::arrow::record_batch::RecordBatchOptions::new()
            .with_row_count(Some(updates.len())),
    )?)
}

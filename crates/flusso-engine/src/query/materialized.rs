//! A table's current rows, kept by the query that writes it: what pull queries read.
//!
//! Every row the query emits replaces the row of its key (and window); a tombstone removes it.
//! Rows are held as values, not bytes, so a key lookup is one hash probe and a scan builds Arrow
//! columns directly.

use std::borrow::Cow;
use std::hash::BuildHasher;

use datafusion::common::ScalarValue;
use hashbrown::hash_table::Entry as Found;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};

use super::stateful::AggRow;

/// One row of a materialized table.
#[derive(Debug, Clone)]
pub struct MatRow {
    /// Key columns.
    pub key: Vec<ScalarValue>,
    /// The key's window.
    pub window: Option<(i64, i64)>,
    /// Value columns.
    pub value: Vec<ScalarValue>,
    /// ROWTIME of the row.
    pub rowtime: i64,
}

/// A row as stored: its key is the map's.
#[derive(Debug)]
struct Entry {
    window: Option<(i64, i64)>,
    value: Vec<ScalarValue>,
    rowtime: i64,
}

impl Entry {
    fn row(&self, key: &[ScalarValue]) -> MatRow {
        MatRow {
            key: key.to_vec(),
            window: self.window,
            value: self.value.clone(),
            rowtime: self.rowtime,
        }
    }
}

/// A key's rows, in window order, with the key's hash: the table grows without hashing its keys
/// again.
#[derive(Debug)]
struct Slot {
    hash: u64,
    key: Vec<ScalarValue>,
    entries: Vec<Entry>,
}

/// Slots by key.
#[derive(Debug, Default)]
struct Slots {
    table: HashTable<Slot>,
    hasher: DefaultHashBuilder,
}

impl Slots {
    fn hash(&self, key: &[ScalarValue]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The rows of `key`.
    fn get(&self, key: &[ScalarValue]) -> Option<&Vec<Entry>> {
        self.table
            .find(self.hash(key), |s| s.key == key)
            .map(|s| &s.entries)
    }
}

/// The current rows of a table: by key, then in window order (one row, window `None`, per key of
/// an unwindowed table).
#[derive(Debug)]
pub struct Materialized {
    rows: RwLock<Slots>,
    /// No window held ends before this (`i64::MAX`: none held).
    first_end: AtomicI64,
}

impl Default for Materialized {
    fn default() -> Self {
        Materialized {
            rows: RwLock::default(),
            first_end: AtomicI64::new(i64::MAX),
        }
    }
}

impl Materialized {
    /// An empty table.
    pub fn new() -> Materialized {
        Materialized::default()
    }

    /// Drops the rows of the windows that end at or before `horizon`: past the retention of a
    /// windowed table, they are no longer in its store (ksqlDB's pull queries do not see them).
    pub fn expire(&self, horizon: i64) {
        if self.first_end.load(Ordering::Relaxed) > horizon {
            return;
        }
        let mut rows = self.rows.write();
        let mut first_end = i64::MAX;
        rows.table.retain(|slot| {
            slot.entries.retain(|e| match e.window {
                Some((_, end)) if end <= horizon => false,
                Some((_, end)) => {
                    first_end = first_end.min(end);
                    true
                }
                None => true,
            });
            !slot.entries.is_empty()
        });
        self.first_end.store(first_end, Ordering::Relaxed);
    }

    /// Applies one emitted row, moving its key and value into the table.
    pub fn apply(&self, row: AggRow) {
        self.set(
            Cow::Owned(row.key),
            row.window,
            row.value.map(Cow::Owned),
            row.timestamp,
        );
    }

    /// Sets (or, with `None`, removes) the row of a key.
    pub fn upsert(
        &self,
        key: &[ScalarValue],
        window: Option<(i64, i64)>,
        value: Option<&[ScalarValue]>,
        rowtime: i64,
    ) {
        self.set(
            Cow::Borrowed(key),
            window,
            value.map(Cow::Borrowed),
            rowtime,
        );
    }

    /// [`Materialized::upsert`] of a key and value given or lent.
    fn set(
        &self,
        key: Cow<'_, [ScalarValue]>,
        window: Option<(i64, i64)>,
        value: Option<Cow<'_, [ScalarValue]>>,
        rowtime: i64,
    ) {
        let mut rows = self.rows.write();
        if let (Some((_, end)), Some(_)) = (window, &value) {
            self.first_end.fetch_min(end, Ordering::Relaxed);
        }
        let hash = rows.hash(&key);
        let mut slot = match rows.table.entry(hash, |s| s.key == *key, |s| s.hash) {
            Found::Occupied(slot) => slot,
            Found::Vacant(vacant) => {
                if let Some(v) = value {
                    let entry = Entry {
                        window,
                        value: v.into_owned(),
                        rowtime,
                    };
                    vacant.insert(Slot {
                        hash,
                        key: key.into_owned(),
                        entries: vec![entry],
                    });
                }
                return;
            }
        };
        let entries = &mut slot.get_mut().entries;
        let at = entries.binary_search_by(|e| e.window.cmp(&window));
        match (at, value) {
            (Ok(i), Some(v)) => {
                // An update in place: no new key.
                let e = &mut entries[i];
                match v {
                    Cow::Borrowed(v) => {
                        e.value.clear();
                        e.value.extend_from_slice(v);
                    }
                    Cow::Owned(v) => e.value = v,
                }
                e.rowtime = rowtime;
            }
            (Err(i), Some(v)) => entries.insert(
                i,
                Entry {
                    window,
                    value: v.into_owned(),
                    rowtime,
                },
            ),
            (Ok(i), None) => {
                entries.remove(i);
                if entries.is_empty() {
                    slot.remove();
                }
            }
            (Err(_), None) => {}
        }
    }

    /// The rows of one key (every window of it for a windowed table, in window order).
    pub fn get(&self, key: &[ScalarValue]) -> Vec<MatRow> {
        self.rows
            .read()
            .get(key)
            .map(|w| w.iter().map(|e| e.row(key)).collect())
            .unwrap_or_default()
    }

    /// Whether a key (and window) has a row.
    pub fn contains(&self, key: &[ScalarValue], window: Option<(i64, i64)>) -> bool {
        self.rows
            .read()
            .get(key)
            .is_some_and(|w| w.binary_search_by(|e| e.window.cmp(&window)).is_ok())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.read().table.iter().map(|s| s.entries.len()).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.read().table.is_empty()
    }

    /// Every row, ordered by key then window.
    pub fn scan(&self) -> Vec<MatRow> {
        let rows = self.rows.read();
        let mut keys: Vec<(&Vec<ScalarValue>, &Vec<Entry>)> =
            rows.table.iter().map(|s| (&s.key, &s.entries)).collect();
        keys.sort_by(|a, b| a.0.partial_cmp(b.0).unwrap_or(std::cmp::Ordering::Equal));
        keys.into_iter()
            .flat_map(|(k, w)| w.iter().map(|e| e.row(k)))
            .collect()
    }
}

/// A table's current rows read from its topic up to its end: the latest record of each key
/// (and window) wins, tombstones delete.
pub async fn table_rows(
    log: &dyn crate::log_client::LogClient,
    source: &crate::catalog::Source,
) -> crate::error::Result<Vec<MatRow>> {
    use crate::error::EngineError;
    let m = Materialized::new();
    let windowed = source.window.is_some();
    let scan_schema = source.schema.scan_schema(windowed);
    let nkeys = source.schema.key().len();
    let ncols = source.schema.ordered().len();
    let partitions = log.partitions(&source.topic).await?.unwrap_or(0);
    for p in 0..partitions {
        let (mut pos, end) = log.offsets(&source.topic, p).await?;
        while pos < end {
            let records = log.fetch(&source.topic, p, pos, 4 << 20).await?;
            let Some(last) = records.last().map(|r| r.offset) else {
                break;
            };
            let decoded = super::scan::decode(source, &scan_schema, p, &records)
                .map_err(EngineError::Execution)?;
            let b = &decoded.batch;
            let int = |name: &str, i: usize| -> Option<i64> {
                match ScalarValue::try_from_array(b.column_by_name(name)?, i).ok()? {
                    ScalarValue::Int64(v) => v,
                    _ => None,
                }
            };
            for i in 0..b.num_rows() {
                let cell = |c: usize| ScalarValue::try_from_array(b.column(c), i);
                let key = (0..nkeys).map(cell).collect::<Result<Vec<_>, _>>()?;
                let ts = int(crate::schema::ROWTIME, i).unwrap_or(0);
                let window = match (
                    int(crate::schema::WINDOWSTART, i),
                    int(crate::schema::WINDOWEND, i),
                ) {
                    (Some(s), Some(e)) if windowed => Some((s, e)),
                    _ => None,
                };
                if decoded.tombstone[i] {
                    m.upsert(&key, window, None, ts);
                } else {
                    let value = (nkeys..ncols).map(cell).collect::<Result<Vec<_>, _>>()?;
                    m.upsert(&key, window, Some(&value), ts);
                }
            }
            pos = last + 1;
        }
    }
    Ok(m.scan())
}

//! Durable state of an aggregation: its changelog topic and its restore.
//!
//! After each step that changed state, the query appends to `_flusso_query_<ID>_changelog`
//! (compacted, one partition) one record per changed group, per changed table-source key, and
//! last its source positions, all in one produce call: the state and the positions it reflects
//! are written together. On start the topic is read to its end (the latest record of each key
//! wins), the state rebuilt and reading resumes from the positions recorded with it. After a
//! clean stop the run continues exactly; after a crash the records read since the last changelog
//! write are read again (at-least-once output, no lost input).
//!
//! Record keys are JSON: `{"g": [group values], "w": [start, end]}` for a group,
//! `{"c": [source key values]}` for a table source's key, `"positions"` for the positions.
//! A write larger than one batch is split; restore applies only records a positions record
//! follows, so a write cut short by a crash is ignored as a whole.
//! Values are the accumulators' states, the contribution (`{"g": [...], "a": [[args], ...]}`),
//! or the positions (`{"partition": offset}`); a null value deletes.
//!
//! The table's rows for pull queries are rebuilt from the restored groups (through HAVING and
//! the projection); a stateless table query's from its sink topic (the latest row per key).

use std::sync::atomic::Ordering;
use std::time::Instant;

use datafusion::common::ScalarValue;
use serde_json::{json, Value as Json};

use super::PersistentQuery;
use crate::error::{EngineError, Result};
use crate::log_client::OutRecord;
use crate::types::SqlType;
use crate::value::{from_json, to_json};

/// Bytes of changelog records per produce call.
const CHUNK_BYTES: usize = 512 * 1024;

/// Stored records of a join step per changelog record.
const JOIN_PART_ROWS: usize = 1000;

/// Restore progress, reported in the log every this many records.
const PROGRESS_EVERY: u64 = 250_000;

fn values_json(values: &[ScalarValue]) -> Json {
    Json::Array(values.iter().map(to_json).collect())
}

fn values_from(j: Option<&Json>, types: &[SqlType]) -> Result<Vec<ScalarValue>> {
    let items = j
        .and_then(|j| j.as_array())
        .ok_or_else(|| EngineError::Internal("changelog: values are not an array".into()))?;
    items
        .iter()
        .zip(types)
        .map(|(v, t)| from_json(v, t).map_err(EngineError::Internal))
        .collect()
}

impl PersistentQuery {
    /// The changelog topic of a stateful query.
    pub fn changelog_topic(&self) -> String {
        format!("_flusso_query_{}_changelog", self.id)
    }

    /// Types of the calls' arguments.
    fn arg_types(&self) -> Vec<Vec<SqlType>> {
        let Some(agg) = &self.plan.aggregate else {
            return Vec::new();
        };
        agg.calls
            .iter()
            .map(|c| {
                c.args
                    .iter()
                    .map(|a| {
                        a.data_type(&self.plan.scan_schema)
                            .ok()
                            .and_then(|t| SqlType::from_arrow(&t))
                            .unwrap_or(SqlType::String)
                    })
                    .collect()
            })
            .collect()
    }

    /// Writes the pending state now, between steps.
    pub async fn write_changelog_now(&self) -> Result<()> {
        let _guard = self.step_lock.lock().await;
        self.write_changelog().await
    }

    /// Appends the state changed since the last call, and the positions, to the changelog.
    pub(super) async fn write_changelog(&self) -> Result<()> {
        let mut records = Vec::new();
        if let Some(joiner) = &self.joiner {
            // A step's state goes in parts of JOIN_PART_ROWS stored records (`{"j": step, "p":
            // part}`), then the number of parts (`{"j": step}`); parts beyond it are deleted.
            let mut parts_written = self.join_parts.lock();
            for snapshot in joiner.lock().snapshot(JOIN_PART_ROWS)? {
                let step = snapshot.step;
                let parts = snapshot.parts.len();
                for (i, part) in snapshot.parts.into_iter().enumerate() {
                    records.push(OutRecord {
                        key: Some(json!({ "j": step, "p": i }).to_string().into_bytes()),
                        value: Some(part),
                        timestamp: 0,
                        headers: Vec::new(),
                    });
                }
                let before = parts_written.insert(step, parts).unwrap_or(0);
                for i in parts..before {
                    records.push(OutRecord {
                        key: Some(json!({ "j": step, "p": i }).to_string().into_bytes()),
                        value: None,
                        timestamp: 0,
                        headers: Vec::new(),
                    });
                }
                let head = json!({ "parts": parts, "times": snapshot.times });
                records.push(OutRecord {
                    key: Some(json!({ "j": step }).to_string().into_bytes()),
                    value: Some(head.to_string().into_bytes()),
                    timestamp: 0,
                    headers: Vec::new(),
                });
            }
        }
        if let Some(state) = &self.aggregator {
            let mut agg = state.lock();
            let dirty = agg.take_dirty_records()?;
            records.reserve(dirty.len());
            records.extend(dirty.into_iter().map(|(key, value)| OutRecord {
                key: Some(key),
                value,
                timestamp: 0,
                headers: Vec::new(),
            }));
            for (source_key, c) in agg.take_dirty_contributions() {
                let k = json!({"c": values_json(&source_key)});
                let v = c.map(|(g, args)| {
                    json!({
                        "g": values_json(g),
                        "a": args.iter().map(|a| values_json(a)).collect::<Vec<_>>(),
                    })
                });
                records.push(OutRecord {
                    key: Some(k.to_string().into_bytes()),
                    value: v.map(|v| v.to_string().into_bytes()),
                    timestamp: 0,
                    headers: Vec::new(),
                });
            }
        }
        let current = self.positions.lock().clone();
        if records.is_empty() {
            // Nothing changed since the last write: the state reflects the current positions.
            *self.checkpointed.lock() = Some(current);
            return Ok(());
        }
        let positions: serde_json::Map<String, Json> = current
            .iter()
            .map(|(p, o)| (p.to_string(), Json::from(*o)))
            .collect();
        records.push(OutRecord {
            key: Some(b"\"positions\"".to_vec()),
            value: Some(Json::Object(positions).to_string().into_bytes()),
            timestamp: 0,
            headers: Vec::new(),
        });
        self.stats
            .changelog_out
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.produce_chunked(records).await?;
        *self.checkpointed.lock() = Some(current);
        Ok(())
    }

    /// Appends records to the changelog in batches under the topic's max.message.bytes; the
    /// last record (the positions) goes last, and restore applies only what a positions
    /// record follows.
    async fn produce_chunked(&self, records: Vec<OutRecord>) -> Result<()> {
        let topic = self.changelog_topic();
        let mut chunk: Vec<OutRecord> = Vec::new();
        let mut size = 0usize;
        for r in records {
            let n = r.key.as_ref().map_or(0, |k| k.len())
                + r.value.as_ref().map_or(0, |v| v.len())
                + 32;
            if size + n > CHUNK_BYTES && !chunk.is_empty() {
                self.log.produce(&topic, 0, &chunk).await?;
                chunk.clear();
                size = 0;
            }
            size += n;
            chunk.push(r);
        }
        self.log.produce(&topic, 0, &chunk).await
    }

    /// Rebuilds the state from the changelog and the table's rows from the sink topic; the
    /// query then resumes from the positions stored with the state.
    pub async fn restore(&self) -> Result<()> {
        if self.aggregator.is_some() || self.joiner.is_some() {
            let started = Instant::now();
            self.restore_state().await?;
            self.stats
                .restore_state_ms
                .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        if let Some(joiner) = &self.joiner {
            // A join's table inputs are read again from their start: their rows are the
            // join's table state.
            let tables = joiner.lock().table_inputs();
            let slots: Vec<i32> = self.positions.lock().keys().copied().collect();
            for slot in slots {
                if tables.contains(&super::join::unslot(slot).0) {
                    let (topic, partition) = self.plan.slot_topic(slot);
                    let (start, _) = self.log.offsets(topic, partition).await?;
                    self.positions.lock().insert(slot, start);
                }
            }
        }
        if let Some(m) = &self.materialized {
            let started = Instant::now();
            match (&self.aggregator, &self.plan.aggregate) {
                // An aggregation's rows are its groups' results, through HAVING and projection.
                (Some(state), Some(agg)) => {
                    let updates = state.lock().all_updates()?;
                    for chunk in updates.chunks(8192) {
                        let chunk = super::aggregate::UpdateBatch::from_updates(agg, chunk)?;
                        for r in super::stateful::project_updates(&self.plan, agg, &chunk)? {
                            if let Some(v) = &r.value {
                                m.upsert(&r.key, r.window, Some(v), r.timestamp);
                            }
                        }
                    }
                }
                _ => {
                    let rows = super::table_rows(self.log.as_ref(), &self.sink).await?;
                    for r in &rows {
                        m.upsert(&r.key, r.window, Some(&r.value), r.rowtime);
                    }
                }
            }
            self.stats
                .restore_rows_ms
                .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            if !m.is_empty() {
                tracing::info!(query = %self.id, rows = m.len(), ms = started.elapsed().as_millis() as u64, "table rows restored");
            }
        }
        Ok(())
    }

    async fn restore_state(&self) -> Result<()> {
        let topic = self.changelog_topic();
        self.log.create_topic(&topic, 1, true).await?;
        let (mut pos, end) = self.log.offsets(&topic, 0).await?;
        if pos >= end {
            return Ok(());
        }
        let started = Instant::now();
        let group_types = match &self.aggregator {
            Some(state) => state.lock().plan().group_types.clone(),
            None => Vec::new(),
        };
        let source_key_types: Vec<SqlType> = self
            .plan
            .source
            .schema
            .key()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        let arg_types = self.arg_types();
        // The latest record of each key wins: collect, then apply. Records after the last
        // positions record belong to a write that did not finish: they are ignored.
        let mut latest: datafusion::common::HashMap<Vec<u8>, Option<Vec<u8>>> =
            datafusion::common::HashMap::new();
        let mut pending: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        let mut read = 0u64;
        while pos < end {
            let records = self.log.fetch(&topic, 0, pos, 4 << 20).await?;
            let Some(last) = records.last().map(|r| r.offset) else {
                break;
            };
            for r in records {
                if let Some(k) = r.key {
                    let is_positions = k.as_ref() == b"\"positions\"";
                    pending.push((k.to_vec(), r.value.map(|v| v.to_vec())));
                    if is_positions {
                        latest.extend(pending.drain(..));
                    }
                }
                read += 1;
                if read.is_multiple_of(PROGRESS_EVERY) {
                    self.stats.restored.store(read, Ordering::Relaxed);
                    tracing::info!(query = %self.id, records = read, of = end, "restoring state");
                }
            }
            pos = last + 1;
        }
        if !pending.is_empty() {
            // An unfinished write: supersede its records with the values restored, so that a
            // later compaction cannot leave them as the latest of their keys.
            let mut repair: Vec<OutRecord> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (k, _) in pending.drain(..) {
                if seen.insert(k.clone()) {
                    let value = latest.get(&k).cloned().flatten();
                    repair.push(OutRecord {
                        key: Some(k),
                        value,
                        timestamp: 0,
                        headers: Vec::new(),
                    });
                }
            }
            let positions = latest.get(b"\"positions\"".as_slice()).cloned().flatten();
            repair.push(OutRecord {
                key: Some(b"\"positions\"".to_vec()),
                value: Some(positions.unwrap_or_else(|| b"{}".to_vec())),
                timestamp: 0,
                headers: Vec::new(),
            });
            tracing::info!(query = %self.id, records = repair.len(), "unfinished changelog write superseded");
            self.produce_chunked(repair).await?;
        }
        let mut agg = self.aggregator.as_ref().map(|a| a.lock());
        let mut joiner = self.joiner.as_ref().map(|j| j.lock());
        // Join steps: their head records, and their parts by (step, part).
        let mut join_heads: Vec<(u64, Json)> = Vec::new();
        let mut join_parts: std::collections::HashMap<(u64, u64), Vec<u8>> = Default::default();
        let mut groups = 0u64;
        for (k, v) in latest {
            let key: Json = serde_json::from_slice(&k)
                .map_err(|e| EngineError::Internal(format!("changelog key: {e}")))?;
            // A join step's part is an Arrow IPC stream.
            if let (Some(j), Some(p), Some(v)) = (key.get("j"), key.get("p"), &v) {
                if let (Some(step), Some(part)) = (j.as_u64(), p.as_u64()) {
                    join_parts.insert((step, part), v.clone());
                }
                continue;
            }
            let value: Option<Json> = match v {
                Some(v) => Some(
                    serde_json::from_slice(&v)
                        .map_err(|e| EngineError::Internal(format!("changelog value: {e}")))?,
                ),
                None => None,
            };
            if key.as_str() == Some("positions") {
                if let Some(Json::Object(ps)) = value {
                    let mut positions = self.positions.lock();
                    for (p, o) in ps {
                        if let (Ok(p), Some(o)) = (p.parse::<i32>(), o.as_i64()) {
                            positions.insert(p, o);
                        }
                    }
                }
            } else if let (Some(j), Some(_)) = (key.get("j"), joiner.as_ref()) {
                if let (Some(step), Some(v), None) = (j.as_u64(), value, key.get("p")) {
                    join_heads.push((step, v));
                }
            } else if let (Some(g), Some(agg)) = (key.get("g"), agg.as_mut()) {
                let group = values_from(Some(g), &group_types)?;
                let window = key.get("w").and_then(|w| {
                    let w = w.as_array()?;
                    Some((w.first()?.as_i64()?, w.get(1)?.as_i64()?))
                });
                match value {
                    Some(state) => {
                        agg.restore(group, window, &state)?;
                        groups += 1;
                    }
                    None => agg.remove(&group, window)?,
                }
            } else if let (Some(c), Some(agg)) = (key.get("c"), agg.as_mut()) {
                let source_key = values_from(Some(c), &source_key_types)?;
                let contribution = match value {
                    Some(v) => {
                        let g = values_from(v.get("g"), &group_types)?;
                        let args = v
                            .get("a")
                            .and_then(|a| a.as_array())
                            .map(|a| a.to_vec())
                            .unwrap_or_default();
                        let args = args
                            .iter()
                            .zip(&arg_types)
                            .map(|(a, t)| values_from(Some(a), t))
                            .collect::<Result<Vec<_>>>()?;
                        Some((g, args))
                    }
                    None => None,
                };
                agg.restore_contribution(source_key, contribution);
            }
        }
        if let Some(joiner) = joiner.as_mut() {
            let mut written = self.join_parts.lock();
            for (step, head) in join_heads {
                let parts = head.get("parts").and_then(|p| p.as_u64()).unwrap_or(0);
                let parts_read: Vec<Vec<u8>> = (0..parts)
                    .filter_map(|part| join_parts.remove(&(step, part)))
                    .collect();
                let times = head
                    .get("times")
                    .and_then(|t| t.as_array())
                    .map(|t| t.iter().filter_map(|v| v.as_i64()).collect())
                    .unwrap_or_default();
                joiner.restore(step as usize, &parts_read, times)?;
                written.insert(step as usize, parts as usize);
            }
        }
        // What was restored is not a change to write again.
        if let Some(agg) = agg.as_mut() {
            agg.clear_dirty();
        }
        self.stats.restored.store(read, Ordering::Relaxed);
        tracing::info!(
            query = %self.id,
            records = read,
            groups,
            ms = started.elapsed().as_millis() as u64,
            "state restored from the changelog"
        );
        Ok(())
    }
}

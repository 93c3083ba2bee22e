// What the server has: streams, tables, queries, topics, types and functions, with message
// rates, lag and errors from /metrics. Refreshed every few seconds and after each statement;
// the sidebar and the completion read it.

import { ksql, getJSON, metrics } from './api.js';
import { KEYWORDS, TYPES, referencedNames } from './sql.js';
import { escapeHtml, fmtRate, fmtInt } from './util.js';

export const PROCESSING_LOG_TOPIC = 'default_ksql_processing_log';
const REFRESH_MS = 4000;

export const catalog = {
  streams: [],
  tables: [],
  queries: [],
  topics: [],
  types: {},
  functions: [],
  server: null,
  online: null,
  processingErrors: 0,
  /** Per query: {in, out, errors, late, lag, inRate, outRate}. */
  queryStats: new Map(),
  /** Per topic: {messages, rate}. */
  topicStats: new Map(),
  listeners: new Set(),
  lastSample: null,

  onChange(fn) { this.listeners.add(fn); },
  emit() { for (const fn of this.listeners) fn(this); },

  source(name) {
    return this.streams.find((s) => s.name === name) || this.tables.find((s) => s.name === name) || null;
  },

  query(id) { return this.queries.find((q) => q.id === id) || null; },

  async refresh() {
    clearTimeout(this.timer);
    try {
      const [entities, topics, m, info] = await Promise.all([
        ksql('SHOW STREAMS EXTENDED; SHOW TABLES EXTENDED; SHOW QUERIES; SHOW TYPES;'),
        getJSON('/api/topics'),
        metrics(),
        getJSON('/info'),
      ]);
      this.streams = (entities[0].sourceDescriptions || []).sort(byName);
      this.tables = (entities[1].sourceDescriptions || []).sort(byName);
      this.queries = (entities[2].queries || []).sort((a, b) => a.id.localeCompare(b.id));
      this.types = entities[3].types || {};
      this.topics = topics.topics || [];
      this.server = info.KsqlServerInfo;
      this.online = true;
      this.sample(m);
      if (!this.functions.length) {
        const f = await ksql('SHOW FUNCTIONS;');
        this.functions = f[0].functions || [];
      }
    } catch (e) {
      this.online = false;
      this.error = e.message;
    }
    this.emit();
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  },

  /** Turns counters into rates against the previous sample. */
  sample(m) {
    const now = performance.now();
    const prev = this.lastSample;
    const dt = prev ? (now - prev.at) / 1000 : 0;
    const val = (name, id) => {
      const s = (m[name] || []).find((x) => x.labels.query === id);
      return s ? s.value : 0;
    };
    const stats = new Map();
    for (const q of this.queries) {
      const s = {
        in: val('flusso_query_records_in_total', q.id),
        out: val('flusso_query_records_out_total', q.id),
        errors: val('flusso_query_errors_total', q.id),
        late: val('flusso_query_late_records_total', q.id),
        lag: val('flusso_query_lag_records', q.id),
      };
      const p = prev && prev.queries.get(q.id);
      s.inRate = p && dt > 0 ? Math.max(0, (s.in - p.in) / dt) : null;
      s.outRate = p && dt > 0 ? Math.max(0, (s.out - p.out) / dt) : null;
      stats.set(q.id, s);
    }
    const topicStats = new Map();
    for (const t of this.topics) {
      const end = t.partitions.reduce((a, p) => a + p.end, 0);
      const messages = t.partitions.reduce((a, p) => a + (p.end - p.start), 0);
      const p = prev && prev.topics.get(t.name);
      topicStats.set(t.name, { end, messages, rate: p && dt > 0 ? Math.max(0, (end - p.end) / dt) : null });
    }
    this.queryStats = stats;
    this.topicStats = topicStats;
    const pl = m.flusso_processing_log_errors_total;
    this.processingErrors = pl && pl[0] ? pl[0].value : 0;
    this.lastSample = { at: now, queries: stats, topics: topicStats };
  },

  start() {
    this.refresh();
  },
};

function byName(a, b) {
  return a.name.localeCompare(b.name);
}

/** Completion items for the editor's context. */
export function completions(ctx) {
  const prefix = ctx.prefix.toUpperCase();
  const sources = [...catalog.streams.map((s) => ({ s, kind: 'stream' })), ...catalog.tables.map((s) => ({ s, kind: 'table' }))]
    .filter(({ s }) => s.name !== 'KSQL_PROCESSING_LOG' || prefix.startsWith('KSQL'));
  const items = [];
  const add = (label, kind, detail, rank, insert) => items.push({ label, kind, detail, rank, insert });
  if (ctx.qualifier) {
    // After `X.`: the columns of source X (or of the source X aliases).
    const src = catalog.source(ctx.qualifier) || aliasSource(ctx.statement, ctx.qualifier);
    if (src) for (const f of src.fields || []) add(f.name, 'column', `${typeName(f.schema)} · ${src.name}`, 0);
    return rankFilter(items, prefix);
  }
  const wantsSource = ['FROM', 'JOIN', 'INTO', 'DESCRIBE', 'TABLE', 'STREAM', 'EXISTS'].includes(ctx.prevWord);
  if (ctx.prevWord === 'PRINT') {
    for (const t of catalog.topics.filter((t) => !t.internal)) add(t.name, 'topic', 'topic', 0, `'${t.name}'`);
    return rankFilter(items, prefix);
  }
  if (['TERMINATE', 'EXPLAIN'].includes(ctx.prevWord)) {
    for (const q of catalog.queries) add(q.id, 'query', 'query', 0);
    return rankFilter(items, prefix);
  }
  for (const { s, kind } of sources) add(s.name, kind, `${kind} · ${s.topic}`, wantsSource ? 0 : 3);
  if (!wantsSource) {
    const named = referencedNames(ctx.statement);
    for (const { s } of sources) {
      const inStatement = named.has(s.name);
      for (const f of s.fields || []) {
        if (inStatement) add(f.name, 'column', `${typeName(f.schema)} · ${s.name}`, 0);
      }
    }
    for (const f of catalog.functions) add(f.name, 'function', f.type === 'AGGREGATE' ? 'aggregate function' : f.type === 'TABLE' ? 'table function' : 'function', 2, `${f.name}(`);
    for (const k of KEYWORDS) add(k, 'keyword', 'keyword', 1);
    for (const t of TYPES) add(t, 'type', 'type', 2);
    for (const t of Object.keys(catalog.types)) add(t, 'type', 'custom type', 2);
  } else {
    for (const k of ['IF', 'EXISTS', 'EXTENDED', 'FUNCTION']) add(k, 'keyword', 'keyword', 4);
  }
  return rankFilter(items, prefix);
}

function aliasSource(statement, alias) {
  const m = new RegExp(`\\b(?:FROM|JOIN)\\s+([A-Za-z_][\\w]*)\\s+(?:AS\\s+)?${alias}\\b`, 'i').exec(statement);
  return m ? catalog.source(m[1].toUpperCase()) : null;
}

function rankFilter(items, prefix) {
  const seen = new Set();
  const out = [];
  for (const it of items) {
    const u = it.label.toUpperCase();
    let score;
    if (!prefix) score = 0;
    else if (u.startsWith(prefix)) score = 0;
    else if (u.includes(prefix)) score = 10;
    else continue;
    const key = `${it.kind}:${it.label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...it, score: score + it.rank });
  }
  return out.sort((a, b) => a.score - b.score || a.label.length - b.label.length || a.label.localeCompare(b.label));
}

export function typeName(schema) {
  if (!schema) return '';
  if (schema.type === 'ARRAY') return `ARRAY<${typeName(schema.memberSchema)}>`;
  if (schema.type === 'MAP') return `MAP<STRING, ${typeName(schema.memberSchema)}>`;
  if (schema.type === 'STRUCT') return `STRUCT<${(schema.fields || []).map((f) => `${f.name} ${typeName(f.schema)}`).join(', ')}>`;
  return schema.type;
}

/** The sidebar: every kind of object, filterable, with counts, rates and errors. */
export function renderSidebar(el) {
  if (!el.dataset.ready) {
    el.innerHTML = `<div class="side-search"><input type="search" placeholder="Filter" aria-label="Filter the catalog"></div><div class="side-body"></div>`;
    el.querySelector('input').addEventListener('input', () => renderSidebar(el));
    el.addEventListener('click', (e) => {
      const h = e.target.closest('.side-section > h3');
      if (!h) return;
      const sec = h.parentElement;
      sec.classList.toggle('collapsed');
      const closed = JSON.parse(localStorage.getItem('flusso.sidebar.closed') || '[]').filter((x) => x !== sec.dataset.key);
      if (sec.classList.contains('collapsed')) closed.push(sec.dataset.key);
      localStorage.setItem('flusso.sidebar.closed', JSON.stringify(closed));
    });
    el.dataset.ready = '1';
  }
  const filter = el.querySelector('input').value.trim().toUpperCase();
  const match = (name) => !filter || name.toUpperCase().includes(filter);
  const closed = new Set(JSON.parse(localStorage.getItem('flusso.sidebar.closed') || '[]'));
  const hash = location.hash;
  const enc = encodeURIComponent;
  const item = (href, label, meta = '', cls = '') => `<li><a href="${escapeHtml(href)}" class="${cls} ${hash === href ? 'active' : ''}" title="${escapeHtml(label)}"><span class="name">${escapeHtml(label)}</span>${meta}</a></li>`;
  const section = (key, title, count, body, empty) => `<section class="side-section ${closed.has(key) ? 'collapsed' : ''}" data-key="${key}">
      <h3><span class="chev"></span>${title}<span class="count">${count}</span></h3>
      <ul>${body || `<li class="side-empty">${empty}</li>`}</ul></section>`;
  const streams = catalog.streams.filter((s) => s.name !== 'KSQL_PROCESSING_LOG' && match(s.name));
  const tables = catalog.tables.filter((s) => match(s.name));
  const queries = catalog.queries.filter((q) => match(q.id));
  const topics = catalog.topics.filter((t) => !t.internal && match(t.name));
  const types = Object.keys(catalog.types).filter(match);
  const rate = (r) => (r ? `<span class="meta">${fmtRate(r)}</span>` : '');
  const body = [
    section('streams', 'Streams', streams.length, streams.map((s) => item(`#/source/${enc(s.name)}`, s.name, rate(catalog.topicStats.get(s.topic)?.rate), 'k-stream')).join(''), 'No streams yet'),
    section('tables', 'Tables', tables.length, tables.map((s) => item(`#/source/${enc(s.name)}`, s.name, s.windowType ? '<span class="tag">windowed</span>' : rate(catalog.topicStats.get(s.topic)?.rate), 'k-table')).join(''), 'No tables yet'),
    section('queries', 'Queries', queries.length, queries.map((q) => {
      const st = catalog.queryStats.get(q.id);
      const err = st && st.errors ? `<span class="badge err" title="Records skipped">${fmtInt(st.errors)}</span>` : '';
      return item(`#/query/${enc(q.id)}`, q.id, `${err}${rate(st?.inRate)}<span class="dot ${q.state === 'RUNNING' ? 'ok' : 'warn'}" title="${escapeHtml(q.state || '')}"></span>`, 'k-query');
    }).join(''), 'No running queries'),
    section('topics', 'Topics', topics.length, topics.map((t) => item(`#/topic/${enc(t.name)}`, t.name, rate(catalog.topicStats.get(t.name)?.rate), 'k-topic')).join(''), 'No topics yet'),
    section('types', 'Types', types.length, types.map((t) => item(`#/types`, t, '', 'k-type')).join(''), 'No custom types'),
  ].join('');
  const errors = catalog.processingErrors;
  const plog = `<a class="side-plog ${hash === '#/processing-log' ? 'active' : ''}" href="#/processing-log"><span>Processing log</span>${errors ? `<span class="badge err">${fmtInt(errors)} error${errors === 1 ? '' : 's'}</span>` : '<span class="badge ok">no errors</span>'}</a>`;
  el.querySelector('.side-body').innerHTML = body + plog;
}

// The SQL view: the editor, its toolbar (run, stop, read-from, examples, history) and the
// results (a live table, a live chart, and a log of what each statement answered).

import { SqlEditor } from './editor.js';
import { Grid } from './grid.js';
import { LiveChart, chartColumns, defaultSettings } from './chart.js';
import { ksql, streamQuery } from './api.js';
import { splitStatements, statementKind, errorOffset, tokenAt, lineCol, highlight } from './sql.js';
import { catalog, completions } from './catalog.js';
import { escapeHtml, html, toast, fmtInt, ago } from './util.js';
import { addPanelDialog } from './dashboards.js';

const HISTORY_KEY = 'flusso.history';
const BUFFER_KEY = 'flusso.buffer';
const HISTORY_MAX = 100;

export const EXAMPLES = [
  {
    title: 'Create a stream and insert records',
    sql: `CREATE STREAM pageviews (user_id VARCHAR KEY, page VARCHAR, duration_ms INT)
  WITH (kafka_topic='pageviews', partitions=1, value_format='JSON');

INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('alice', 'home', 120);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('bob', 'pricing', 340);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('carol', 'home', 95);
`,
  },
  {
    title: 'Windowed table (views per page per minute)',
    sql: `CREATE TABLE views_per_page AS
  SELECT page, COUNT(*) AS views, AVG(duration_ms) AS avg_ms
  FROM pageviews
  WINDOW TUMBLING (SIZE 1 MINUTE)
  GROUP BY page
  EMIT CHANGES;
`,
  },
  { title: 'Push query: rows as they arrive', sql: 'SELECT * FROM pageviews EMIT CHANGES;\n' },
  { title: 'Push query over a table: its changes', sql: 'SELECT page, WINDOWSTART, views FROM views_per_page EMIT CHANGES;\n' },
  { title: 'Pull query: a table\'s current rows', sql: 'SELECT * FROM views_per_page;\n' },
  { title: 'List streams, tables and queries', sql: 'SHOW STREAMS;\nSHOW TABLES;\nSHOW QUERIES;\n' },
];

export class Workbench {
  constructor(root) {
    this.root = root;
    this.running = null;
    this.log = [];
    root.innerHTML = `
      <div class="workbench">
        <div class="wb-top">
          <div class="toolbar">
            <button class="btn primary" data-act="run" title="Run the selection, or every statement (Ctrl/⌘+Enter)">
              <svg viewBox="0 0 16 16" width="12" height="12"><path d="M4 2.5v11l9-5.5z" fill="currentColor"/></svg>Run<kbd>Ctrl ↵</kbd></button>
            <button class="btn" data-act="stop" title="Stop the running query (Esc)" disabled>
              <svg viewBox="0 0 16 16" width="11" height="11"><rect x="3" y="3" width="10" height="10" rx="1.5" fill="currentColor"/></svg>Stop<kbd>Esc</kbd></button>
            <label class="field-inline" title="Where queries start reading their sources (auto.offset.reset)">Read from
              <select data-act="offset"><option value="earliest">earliest</option><option value="latest">latest</option></select></label>
            <div class="grow"></div>
            <div class="menu-wrap"><button class="btn ghost" data-act="examples" aria-haspopup="true">Examples ▾</button><div class="menu" data-menu="examples" hidden></div></div>
            <div class="menu-wrap"><button class="btn ghost" data-act="history" aria-haspopup="true">History ▾</button><div class="menu menu-wide" data-menu="history" hidden></div></div>
          </div>
          <div class="editor-host"></div>
          <div class="error-bar" role="alert" hidden></div>
        </div>
        <div class="splitter" title="Drag to resize"></div>
        <div class="wb-results">
          <div class="results-bar">
            <div class="seg" role="tablist">
              <button role="tab" data-tab="table" class="on">Table</button>
              <button role="tab" data-tab="chart">Chart</button>
              <button role="tab" data-tab="log">Log <span class="log-count"></span></button>
            </div>
            <div class="status" aria-live="polite"></div>
            <div class="grow"></div>
            <div class="chart-controls" hidden>
              <label>Chart <select data-chart="mode"><option value="line">Time series</option><option value="bars">Bars per key</option></select></label>
              <label>Value <select data-chart="value"></select></label>
              <label>Key <select data-chart="key"></select></label>
              <label class="time-ctl">Time <select data-chart="time"></select></label>
            </div>
            <button class="btn small" data-act="add-panel" hidden title="Add this pull query to a dashboard as a panel">+ Add to dashboard</button>
          </div>
          <div class="results-body">
            <div class="pane" data-pane="table"></div>
            <div class="pane" data-pane="chart" hidden></div>
            <div class="pane log" data-pane="log" hidden></div>
          </div>
        </div>
      </div>`;
    const $ = (s) => root.querySelector(s);
    this.$ = $;
    this.editor = new SqlEditor($('.editor-host'), {
      complete: completions,
      onRun: () => this.run(),
      onCancel: () => this.stop(),
      onChange: (text) => localStorage.setItem(BUFFER_KEY, text),
      placeholder: 'Write SQL here — CREATE STREAM …; INSERT INTO …; SELECT … EMIT CHANGES;\nCtrl/⌘+Enter runs the selection or every statement · Ctrl+Space completes · Examples ▾ has some to start from.',
    });
    this.editor.value = localStorage.getItem(BUFFER_KEY) ?? '';
    this.grid = new Grid($('[data-pane=table]'));
    this.grid.setEmpty('Results appear here. Run a query with Ctrl/⌘+Enter.');
    this.chart = new LiveChart($('[data-pane=chart]'));
    this.errorBar = $('.error-bar');
    this.status = $('.status');
    $('[data-act=offset]').value = localStorage.getItem('flusso.offset') || 'earliest';
    $('[data-act=offset]').addEventListener('change', (e) => localStorage.setItem('flusso.offset', e.target.value));
    $('[data-act=run]').addEventListener('click', () => this.run());
    $('[data-act=stop]').addEventListener('click', () => this.stop());
    $('[data-act=add-panel]').addEventListener('click', () => this.lastPull && addPanelDialog(this.lastPull));
    root.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => this.tab(b.dataset.tab)));
    root.querySelectorAll('[data-chart]').forEach((s) => s.addEventListener('change', () => this.chartChanged()));
    this.setupMenus();
    this.setupSplitter();
    this.errorBar.addEventListener('click', () => {
      if (this.errorAt !== undefined) this.editor.goTo(this.errorAt);
    });
    this.tab('table');
  }

  show() {
    requestAnimationFrame(() => this.editor.focus());
  }

  properties() {
    return { 'auto.offset.reset': this.$('[data-act=offset]').value };
  }

  tab(name) {
    this.activeTab = name;
    this.root.querySelectorAll('[data-tab]').forEach((b) => {
      b.classList.toggle('on', b.dataset.tab === name);
      b.setAttribute('aria-selected', b.dataset.tab === name);
    });
    this.root.querySelectorAll('[data-pane]').forEach((p) => { p.hidden = p.dataset.pane !== name; });
    this.$('.chart-controls').hidden = name !== 'chart' || !this.header;
    if (name === 'chart') this.chart.fit();
    if (name === 'table') this.grid.schedule();
  }

  setupSplitter() {
    const top = this.$('.wb-top');
    const saved = Number(localStorage.getItem('flusso.editorHeight'));
    if (saved > 80) top.style.height = `${saved}px`;
    const bar = this.$('.splitter');
    bar.addEventListener('pointerdown', (e) => {
      bar.setPointerCapture(e.pointerId);
      const startY = e.clientY;
      const startH = top.getBoundingClientRect().height;
      const move = (ev) => {
        const h = Math.max(100, Math.min(window.innerHeight - 220, startH + ev.clientY - startY));
        top.style.height = `${h}px`;
      };
      const up = () => {
        bar.removeEventListener('pointermove', move);
        bar.removeEventListener('pointerup', up);
        localStorage.setItem('flusso.editorHeight', Math.round(top.getBoundingClientRect().height));
        this.chart.fit();
      };
      bar.addEventListener('pointermove', move);
      bar.addEventListener('pointerup', up);
    });
  }

  setupMenus() {
    const open = (name) => {
      this.root.querySelectorAll('[data-menu]').forEach((m) => { m.hidden = m.dataset.menu !== name || !m.hidden; });
    };
    this.$('[data-act=examples]').addEventListener('click', (e) => {
      e.stopPropagation();
      this.$('[data-menu=examples]').innerHTML = EXAMPLES.map((x, i) => `<button data-example="${i}"><b>${escapeHtml(x.title)}</b><code>${escapeHtml(x.sql.split('\n')[0])}</code></button>`).join('');
      open('examples');
    });
    this.$('[data-act=history]').addEventListener('click', (e) => {
      e.stopPropagation();
      const hist = history();
      this.$('[data-menu=history]').innerHTML = hist.length
        ? hist.map((h, i) => `<button data-history="${i}"><code>${escapeHtml(h.sql.trim().slice(0, 300))}</code><small>${ago(h.at)}</small></button>`).join('')
        : '<p class="menu-empty">Statements you run are kept here.</p>';
      open('history');
    });
    this.root.addEventListener('click', (e) => {
      const ex = e.target.closest('[data-example]');
      const hi = e.target.closest('[data-history]');
      if (ex) {
        const sql = EXAMPLES[Number(ex.dataset.example)].sql;
        const cur = this.editor.value;
        this.editor.replaceAll(cur.trim() ? `${cur.replace(/\s*$/, '')}\n\n${sql}` : sql);
      } else if (hi) {
        this.editor.replaceAll(history()[Number(hi.dataset.history)].sql);
      }
      if (!e.target.closest('[data-act=examples], [data-act=history]')) open(null);
    });
    document.addEventListener('click', (e) => { if (!this.root.contains(e.target)) open(null); });
  }

  /** Runs the selection, or the whole buffer: statement after statement. */
  async run() {
    this.stop(true);
    const sel = this.editor.selection();
    const text = sel ? sel.text : this.editor.value;
    const statements = splitStatements(text, sel ? sel.start : 0);
    if (!statements.length) {
      toast('Nothing to run: write a statement first.');
      return;
    }
    addHistory(text);
    this.editor.setErrors([]);
    this.errorBar.hidden = true;
    this.errorAt = undefined;
    const runId = (this.runId = (this.runId || 0) + 1);
    let changed = false;
    for (let i = 0; i < statements.length; i++) {
      if (runId !== this.runId) return;
      const st = statements[i];
      const kind = statementKind(st.text);
      if (kind === 'statement') {
        this.setStatus('running', 'Running…');
        try {
          const entities = await ksql(st.text, this.properties());
          changed = true;
          this.showEntities(st, entities);
        } catch (e) {
          this.fail(st, e);
          break;
        }
      } else {
        const ok = await this.query(st, kind);
        if (!ok) break;
        if (kind !== 'pull' && i + 1 < statements.length) {
          this.addLog('note', null, `${statements.length - i - 1} statement(s) after this ${kind === 'print' ? 'PRINT' : 'push query'} were not run: it runs until stopped.`);
          break;
        }
      }
    }
    if (changed) catalog.refresh();
    if (!this.running && runId === this.runId && this.status.dataset.state === 'running') this.setStatus('done', 'Done');
  }

  /** Starts a query; for a pull query waits for its end. False on error. */
  query(st, kind) {
    return new Promise((resolve) => {
      const started = performance.now();
      let count = 0;
      let texts = 0;
      this.header = null;
      this.lastPull = null;
      this.$('[data-act=add-panel]').hidden = true;
      this.setStatus('running', kind === 'pull' ? 'Running…' : 'Starting…');
      const rateWindow = [];
      const tick = () => {
        const secs = (performance.now() - started) / 1000;
        const now = performance.now();
        while (rateWindow.length && now - rateWindow[0].t > 5000) rateWindow.shift();
        const recent = rateWindow.reduce((a, r) => a + r.n, 0);
        const rate = rateWindow.length ? recent / Math.max(1, Math.min(5, secs)) : 0;
        this.setStatus('live', `<b>Streaming</b> · ${fmtInt(count)} row${count === 1 ? '' : 's'} · ${rate >= 10 ? fmtInt(Math.round(rate)) : rate.toFixed(1)} rows/s · ${fmtDuration(secs)}`, handle.queryId);
      };
      const handle = streamQuery(st.text, this.properties(), {
        onHeader: (h) => {
          this.header = h;
          this.grid.setColumns(h.columnNames, h.columnTypes);
          this.grid.setEmpty(kind === 'pull' ? 'No rows.' : 'Waiting for rows… (records inserted now appear here)');
          this.configureChart(h, kind === 'pull');
          if (this.activeTab === 'log') this.tab('table');
          if (kind !== 'pull') {
            tick();
            resolve(true);
          }
        },
        onRows: (rows) => {
          count += rows.length;
          rateWindow.push({ t: performance.now(), n: rows.length });
          this.grid.append(rows);
          this.chart.add(rows);
        },
        onText: (line) => {
          if (!texts++) {
            this.grid.setColumns(['PRINT'], ['STRING']);
            this.configureChart({ columnNames: [], columnTypes: [] }, false);
            resolve(true);
          }
          count++;
          this.grid.append([[line]]);
        },
        onEnd: () => {
          clearInterval(this.ticker);
          if (this.running === handle) this.running = null;
          this.runningButtons(false);
          const secs = (performance.now() - started) / 1000;
          this.setStatus('done', `${kind === 'pull' ? 'Pull query' : 'Query'} done · ${fmtInt(count)} row${count === 1 ? '' : 's'} · ${fmtDuration(secs)}`, handle.queryId);
          this.addLog('ok', st, `${fmtInt(count)} row${count === 1 ? '' : 's'}`);
          if (kind === 'pull' && this.header) {
            this.lastPull = { sql: st.text.trim(), columns: this.header.columnNames, types: this.header.columnTypes, rows: this.grid.rows };
            this.$('[data-act=add-panel]').hidden = false;
          }
          resolve(true);
        },
        onError: (e) => {
          clearInterval(this.ticker);
          if (this.running === handle) this.running = null;
          this.runningButtons(false);
          this.fail(st, e);
          resolve(false);
        },
      });
      this.running = handle;
      this.runningKind = kind;
      // Stopping a pull query ends its wait in run().
      this.settle = () => resolve(false);
      this.runningButtons(true);
      clearInterval(this.ticker);
      if (kind !== 'pull') {
        this.ticker = setInterval(() => { if (this.header || texts) tick(); }, 500);
      }
    });
  }

  configureChart(h, pull) {
    const names = h.columnNames;
    const types = h.columnTypes;
    const settings = defaultSettings(names, types, pull);
    this.chartSettings = settings;
    const { numeric, keys, times } = chartColumns(names, types);
    const opt = (i, label) => `<option value="${i}">${escapeHtml(label)}</option>`;
    this.$('[data-chart=mode]').value = settings.mode;
    this.$('[data-chart=value]').innerHTML = numeric.length ? numeric.map((i) => opt(i, names[i])).join('') : '<option value="-1">(none)</option>';
    this.$('[data-chart=value]').value = settings.value;
    this.$('[data-chart=key]').innerHTML = opt(-1, '(none)') + keys.map((i) => opt(i, names[i])).join('');
    this.$('[data-chart=key]').value = settings.key;
    this.$('[data-chart=time]').innerHTML = opt(-1, 'arrival time') + times.map((i) => opt(i, names[i])).join('');
    this.$('[data-chart=time]').value = settings.time;
    this.$('.time-ctl').hidden = settings.mode !== 'line';
    this.$('.chart-controls').hidden = this.activeTab !== 'chart' || !names.length;
    this.chart.configure(names, types, settings);
  }

  chartChanged() {
    const get = (k) => this.$(`[data-chart=${k}]`).value;
    const settings = { mode: get('mode'), value: Number(get('value')), key: Number(get('key')), time: Number(get('time')) };
    this.$('.time-ctl').hidden = settings.mode !== 'line';
    this.chart.configure(this.header.columnNames, this.header.columnTypes, settings);
    this.chart.add(this.grid.rows);
  }

  runningButtons(on) {
    this.$('[data-act=stop]').disabled = !on;
    this.root.classList.toggle('is-running', on);
  }

  /** Stops the running query (Escape). */
  stop(quiet = false) {
    if (!this.running) return false;
    const handle = this.running;
    this.running = null;
    clearInterval(this.ticker);
    handle.cancel();
    this.settle?.();
    this.runningButtons(false);
    if (!quiet) {
      this.setStatus('stopped', `Stopped · ${fmtInt(this.grid.count)} row${this.grid.count === 1 ? '' : 's'}`, handle.queryId);
      this.addLog('note', null, `Stopped ${handle.queryId || 'the query'}.`);
    }
    return true;
  }

  setStatus(state, htmlText, queryId) {
    this.status.dataset.state = state;
    this.status.innerHTML = `<span class="dot"></span><span>${htmlText}</span>${queryId ? `<code class="qid">${escapeHtml(queryId)}</code>` : ''}`;
  }

  /** Shows a statement's entities: lists in the table, the rest in the log. */
  showEntities(st, entities) {
    for (const ent of entities) {
      const tab = tabular(ent);
      if (tab) {
        this.header = null;
        this.lastPull = null;
        this.$('[data-act=add-panel]').hidden = true;
        this.grid.setColumns(tab.columns, tab.types || []);
        this.grid.setRows(tab.rows);
        this.grid.setEmpty('Nothing to list.');
        this.configureChart({ columnNames: [], columnTypes: [] }, false);
        this.tab('table');
        this.setStatus('done', `${escapeHtml(tab.title)} · ${fmtInt(tab.rows.length)}`);
        this.addLog('ok', st, `${tab.title}: ${fmtInt(tab.rows.length)}`);
      } else {
        const msg = entityMessage(ent);
        this.setStatus('done', escapeHtml(msg.text.split('\n')[0]));
        this.addLog('ok', st, msg.text, msg.pre);
        if (this.activeTab !== 'log' && !this.header) this.tab('log');
      }
      for (const w of ent.warnings || []) this.addLog('note', st, w.message || String(w));
    }
    if (!entities.length) {
      this.setStatus('done', 'Done');
      this.addLog('ok', st, 'Done');
    }
  }

  /** Marks an error at its place in the editor and logs it. */
  fail(st, e) {
    const text = this.editor.value;
    const at = errorOffset(st.text, e.message || '');
    const offset = st.start + (at === null ? 0 : at);
    const range = tokenAt(text, offset);
    const { line, col } = lineCol(text, offset);
    // The server's "line L:C" counts from the statement; the buffer's place is shown instead.
    const message = (e.message || 'Error').replace(/^line \d+:\d+:\s*/i, '');
    this.editor.setErrors([{ ...range, message }]);
    this.errorAt = offset;
    this.errorBar.innerHTML = `<span class="pos">Line ${line}, column ${col}</span><span class="msg">${escapeHtml(message)}</span>`;
    this.errorBar.hidden = false;
    this.setStatus('error', `Error at line ${line}:${col}`);
    this.addLog('error', st, `Line ${line}:${col}: ${message}`);
  }

  addLog(kind, st, text, pre) {
    this.log.push({ kind, sql: st ? st.text : null, text, pre, at: Date.now() });
    if (this.log.length > 500) this.log.shift();
    const pane = this.$('[data-pane=log]');
    pane.innerHTML = this.log.slice().reverse().map((l) => `<div class="log-entry ${l.kind}">
        <div class="log-head"><span class="log-kind">${l.kind === 'error' ? 'Error' : l.kind === 'ok' ? 'OK' : 'Note'}</span><time>${new Date(l.at).toLocaleTimeString()}</time></div>
        ${l.sql ? `<pre class="log-sql sql">${highlight(l.sql)}</pre>` : ''}
        <div class="log-text">${escapeHtml(l.text)}</div>${l.pre ? `<pre class="log-pre">${escapeHtml(l.pre)}</pre>` : ''}</div>`).join('');
    const errors = this.log.filter((l) => l.kind === 'error').length;
    this.$('.log-count').textContent = this.log.length ? String(this.log.length) : '';
    this.$('.log-count').classList.toggle('has-errors', errors > 0);
  }

  /** Puts SQL in the editor (replacing it) and runs it. */
  runSql(sql) {
    this.editor.replaceAll(sql);
    this.run();
  }
}

function fmtDuration(secs) {
  if (secs < 1) return `${Math.round(secs * 1000)} ms`;
  if (secs < 60) return `${secs.toFixed(1)} s`;
  return `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
}

export function history() {
  try {
    return JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
  } catch {
    return [];
  }
}

function addHistory(sql) {
  const h = history().filter((x) => x.sql.trim() !== sql.trim());
  h.unshift({ sql, at: Date.now() });
  localStorage.setItem(HISTORY_KEY, JSON.stringify(h.slice(0, HISTORY_MAX)));
}

/** A listing entity as a table: {title, columns, rows}, or null. */
export function tabular(ent) {
  const t = ent['@type'];
  if (t === 'streams') return { title: 'Streams', columns: ['Stream Name', 'Kafka Topic', 'Key Format', 'Value Format', 'Windowed'], rows: ent.streams.map((s) => [s.name, s.topic, s.keyFormat, s.valueFormat, !!s.isWindowed]) };
  if (t === 'tables') return { title: 'Tables', columns: ['Table Name', 'Kafka Topic', 'Key Format', 'Value Format', 'Windowed'], rows: ent.tables.map((s) => [s.name, s.topic, s.keyFormat, s.valueFormat, !!s.isWindowed]) };
  if (t === 'queries') return { title: 'Queries', columns: ['Query ID', 'Type', 'Status', 'Sink', 'Query'], rows: ent.queries.map((q) => [q.id, q.queryType, q.state, (q.sinks || []).join(', '), q.queryString]) };
  if (t === 'kafka_topics' || t === 'kafka_topics_extended') return { title: 'Topics', columns: ['Name', 'Partitions'], rows: ent.topics.map((x) => [x.name, (x.replicaInfo || []).length]) };
  if (t === 'function_names') return { title: 'Functions', columns: ['Name', 'Type', 'Category'], rows: ent.functions.map((f) => [f.name, f.type, f.category]) };
  if (t === 'type_list') return { title: 'Types', columns: ['Name', 'Schema'], rows: Object.entries(ent.types).map(([n, s]) => [n, schemaText(s)]) };
  if (t === 'properties') return { title: 'Properties', columns: ['Property', 'Scope', 'Value'], rows: (ent.properties || []).map((p) => [p.name, p.scope, p.value]) };
  if (t === 'variables') return { title: 'Variables', columns: ['Name', 'Value'], rows: (ent.variables || []).map((v) => [v.name, v.value]) };
  if (t === 'sourceDescription') {
    const s = ent.sourceDescription;
    return { title: `${s.type === 'TABLE' ? 'Table' : 'Stream'} ${s.name}`, columns: ['Field', 'Type', ''], rows: s.fields.map((f) => [f.name, schemaText(f.schema), f.type === 'KEY' ? '(key)' : f.type === 'HEADERS' ? '(headers)' : '']) };
  }
  if (t === 'source_descriptions') return { title: 'Sources', columns: ['Name', 'Type', 'Topic', 'Key Format', 'Value Format', 'Partitions'], rows: ent.sourceDescriptions.map((s) => [s.name, s.type, s.topic, s.keyFormat, s.valueFormat, s.partitions]) };
  if (t === 'query_descriptions') return { title: 'Queries', columns: ['Query ID', 'State', 'Sources', 'Sinks', 'Query'], rows: ent.queryDescriptions.map((q) => [q.id, q.state, (q.sources || []).join(', '), (q.sinks || []).join(', '), q.statementText]) };
  return null;
}

function schemaText(s) {
  if (!s) return '';
  if (s.type === 'ARRAY') return `ARRAY<${schemaText(s.memberSchema)}>`;
  if (s.type === 'MAP') return `MAP<STRING, ${schemaText(s.memberSchema)}>`;
  if (s.type === 'STRUCT') return `STRUCT<${(s.fields || []).map((f) => `${f.name} ${schemaText(f.schema)}`).join(', ')}>`;
  return s.type;
}

function entityMessage(ent) {
  const t = ent['@type'];
  if (t === 'currentStatus') return { text: ent.commandStatus?.message || 'Done' };
  if (t === 'queryDescription') {
    const q = ent.queryDescription;
    return { text: `Query ${q.id} (${q.state || ''}): ${q.statementText}`, pre: q.executionPlan };
  }
  if (t === 'describe_function') return { text: `${ent.name} (${ent.type}) ${ent.description || ''}`, pre: (ent.functions || []).map((f) => `${ent.name}(${(f.arguments || []).map((a) => `${a.name} ${a.type}`).join(', ')}) → ${f.returnType}`).join('\n') };
  if (t === 'warning_entity') return { text: ent.message };
  return { text: ent.message || t || 'Done', pre: JSON.stringify(ent, null, 2) };
}

export { html };

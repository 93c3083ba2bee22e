// Detail pages: a stream or table (schema, topic, partitions, rates, the queries that read and
// write it), a persistent query (rates, lag, errors, EXPLAIN, terminate), and custom types.

import { ksql } from './api.js';
import { catalog, typeName } from './catalog.js';
import { highlight } from './sql.js';
import { escapeHtml, fmtInt, fmtRate, toast, confirmDialog } from './util.js';

export class Detail {
  constructor(root, workbench) {
    this.root = root;
    this.workbench = workbench;
    catalog.onChange(() => { if (!this.root.hidden && this.route) this.refresh(); });
  }

  async show(route) {
    this.route = route;
    this.plan = null;
    this.root.innerHTML = '<div class="page"><p class="muted">Loading…</p></div>';
    if (route.kind === 'query') {
      try {
        const [ent] = await ksql(`EXPLAIN ${route.name};`);
        this.plan = ent.queryDescription;
      } catch (e) {
        this.plan = { error: e.message };
      }
    }
    this.refresh();
  }

  refresh() {
    const r = this.route;
    if (r.kind === 'source') this.renderSource(r.name);
    else if (r.kind === 'query') this.renderQuery(r.name);
    else if (r.kind === 'types') this.renderTypes();
  }

  renderSource(name) {
    const s = catalog.source(name);
    if (!s) {
      this.root.innerHTML = `<div class="page"><div class="empty-state"><h2>${escapeHtml(name)} does not exist</h2><p>It may have been dropped.</p></div></div>`;
      return;
    }
    const isTable = s.type === 'TABLE';
    const topic = catalog.topics.find((t) => t.name === s.topic);
    const ts = catalog.topicStats.get(s.topic) || {};
    const parts = topic ? topic.partitions : [];
    const queries = [...(s.writeQueries || []).map((q) => ({ ...q, role: 'writes' })), ...(s.readQueries || []).map((q) => ({ ...q, role: 'reads' }))];
    this.root.innerHTML = `<div class="page">
      <div class="page-head">
        <span class="kind-badge ${isTable ? 'kb-table' : 'kb-stream'}">${isTable ? 'TABLE' : 'STREAM'}</span>
        <h1>${escapeHtml(s.name)}</h1>
        ${s.windowType ? `<span class="tag">${escapeHtml(s.windowType)} window</span>` : ''}
        <div class="grow"></div>
        <button class="btn primary" data-act="push">Query live</button>
        ${isTable ? '<button class="btn" data-act="pull">Pull query</button>' : ''}
        <a class="btn ghost" href="#/topic/${encodeURIComponent(s.topic)}">View topic</a>
      </div>
      <div class="stats">
        ${stat('Topic', `<a href="#/topic/${encodeURIComponent(s.topic)}">${escapeHtml(s.topic)}</a>`)}
        ${stat('Partitions', fmtInt(s.partitions || parts.length))}
        ${stat('Key format', escapeHtml(s.keyFormat))}
        ${stat('Value format', escapeHtml(s.valueFormat))}
        ${stat('Messages', fmtInt(ts.messages))}
        ${stat('Message rate', fmtRate(ts.rate))}
      </div>
      <div class="two-col">
        <section class="card"><h2>Schema</h2>
          <table class="table"><thead><tr><th>Field</th><th>Type</th><th></th></tr></thead><tbody>
          ${(s.fields || []).map((f) => `<tr><td><code>${escapeHtml(f.name)}</code></td><td class="muted"><code>${escapeHtml(typeName(f.schema))}</code></td><td>${f.type === 'KEY' ? '<span class="tag">key</span>' : f.type === 'HEADERS' ? '<span class="tag">headers</span>' : ''}</td></tr>`).join('')}
          </tbody></table></section>
        <section class="card"><h2>Partitions</h2>
          ${parts.length ? `<table class="table"><thead><tr><th>Partition</th><th class="num">Start offset</th><th class="num">End offset</th><th class="num">Messages</th></tr></thead><tbody>
          ${parts.map((p) => `<tr><td><a href="#/topic/${encodeURIComponent(s.topic)}?partition=${p.partition}">${p.partition}</a></td><td class="num">${fmtInt(p.start)}</td><td class="num">${fmtInt(p.end)}</td><td class="num">${fmtInt(p.end - p.start)}</td></tr>`).join('')}
          </tbody></table>` : '<p class="muted">The topic does not exist yet.</p>'}
        </section>
      </div>
      <section class="card"><h2>Queries</h2>
        ${queries.length ? `<table class="table"><thead><tr><th>Query</th><th></th><th>State</th><th class="num">In</th><th class="num">Out</th><th class="num">Lag</th></tr></thead><tbody>
        ${queries.map((q) => { const st = catalog.queryStats.get(q.id) || {}; return `<tr><td><a href="#/query/${encodeURIComponent(q.id)}">${escapeHtml(q.id)}</a></td><td class="muted">${q.role}</td><td>${escapeHtml(q.state || '')}</td><td class="num">${fmtRate(st.inRate)}</td><td class="num">${fmtRate(st.outRate)}</td><td class="num">${fmtInt(st.lag)}</td></tr>`; }).join('')}
        </tbody></table>` : '<p class="muted">No persistent query reads or writes it.</p>'}
      </section>
      <section class="card"><h2>Statement</h2><pre class="sql code-block">${highlight(s.statement || '')}</pre></section>
    </div>`;
    this.root.querySelector('[data-act=push]').addEventListener('click', () => {
      location.hash = '#/sql';
      setTimeout(() => this.workbench.runSql(`SELECT * FROM ${quoteName(s.name)} EMIT CHANGES;`), 30);
    });
    this.root.querySelector('[data-act=pull]')?.addEventListener('click', () => {
      location.hash = '#/sql';
      setTimeout(() => this.workbench.runSql(`SELECT * FROM ${quoteName(s.name)};`), 30);
    });
  }

  renderQuery(id) {
    const q = catalog.query(id);
    const plan = this.plan || {};
    const st = catalog.queryStats.get(id) || {};
    if (!q && !plan.id) {
      this.root.innerHTML = `<div class="page"><div class="empty-state"><h2>No query ${escapeHtml(id)}</h2><p>${escapeHtml(plan.error || 'It is not running: it may have been terminated.')}</p></div></div>`;
      return;
    }
    const errors = plan.queryErrors || [];
    const state = q ? q.state : 'TERMINATED';
    this.root.innerHTML = `<div class="page">
      <div class="page-head">
        <span class="kind-badge kb-query">QUERY</span>
        <h1>${escapeHtml(id)}</h1>
        <span class="tag ${state === 'RUNNING' ? 'ok' : 'warn'}">${escapeHtml(state)}</span>
        <div class="grow"></div>
        ${q ? '<button class="btn danger" data-act="terminate">Terminate</button>' : ''}
      </div>
      <div class="stats">
        ${stat('Records in', fmtRate(st.inRate), `${fmtInt(st.in)} in total`)}
        ${stat('Records out', fmtRate(st.outRate), `${fmtInt(st.out)} in total`)}
        ${stat('Lag', fmtInt(st.lag), 'records not yet read')}
        ${stat('Errors', fmtInt(st.errors), 'records skipped', st.errors ? 'bad' : '')}
        ${stat('Late records', fmtInt(st.late), 'dropped: window closed')}
      </div>
      <section class="card"><h2>Statement</h2><pre class="sql code-block">${highlight(plan.statementText || (q && q.queryString) || '')}</pre>
        <p class="muted">Reads ${links(plan.sources || [])} · writes ${links(plan.sinks || (q && q.sinks) || [])}</p></section>
      <section class="card"><h2>Execution plan <small class="muted">EXPLAIN ${escapeHtml(id)}</small></h2>
        ${plan.error ? `<p class="error-text">${escapeHtml(plan.error)}</p>` : `<pre class="code-block plan">${escapeHtml((plan.executionPlan || '').replace(/\t/g, '  '))}</pre>`}</section>
      ${errors.length ? `<section class="card"><h2>Errors</h2><ul class="errors">${errors.map((e) => `<li>${escapeHtml(e.errorMessage || JSON.stringify(e))}</li>`).join('')}</ul></section>` : ''}
      <section class="card"><h2>Processing log</h2><p class="muted">Records a query cannot process are written to the processing log: ${catalog.processingErrors ? `<a href="#/processing-log">${fmtInt(catalog.processingErrors)} so far</a>` : 'none so far'}.</p></section>
    </div>`;
    this.root.querySelector('[data-act=terminate]')?.addEventListener('click', async () => {
      if (!(await confirmDialog('Terminate query', `Terminate ${id}? Its sink stops being updated.`, 'Terminate', true))) return;
      try {
        await ksql(`TERMINATE ${id};`);
        toast(`Terminated ${id}.`, 'ok');
        await catalog.refresh();
      } catch (e) {
        toast(e.message, 'error');
      }
    });
  }

  renderTypes() {
    const types = Object.entries(catalog.types);
    this.root.innerHTML = `<div class="page">
      <div class="page-head"><h1>Types</h1></div>
      <p class="lead">Custom types made with <code>CREATE TYPE name AS …;</code> and usable in column definitions.</p>
      <section class="card">${types.length ? `<table class="table"><thead><tr><th>Name</th><th>Schema</th></tr></thead><tbody>
        ${types.map(([n, s]) => `<tr><td><code>${escapeHtml(n)}</code></td><td><code>${escapeHtml(typeName(s))}</code></td></tr>`).join('')}</tbody></table>`
        : '<p class="muted">No custom types yet. <code>CREATE TYPE address AS STRUCT&lt;street VARCHAR, zip INT&gt;;</code> makes one.</p>'}</section></div>`;
  }
}

function stat(label, value, sub = '', cls = '') {
  return `<div class="stat ${cls}"><div class="stat-label">${label}</div><div class="stat-value">${value}</div>${sub ? `<div class="stat-sub">${sub}</div>` : ''}</div>`;
}

function links(names) {
  if (!names.length) return '–';
  return names.map((n) => `<a href="#/source/${encodeURIComponent(n)}">${escapeHtml(n)}</a>`).join(', ');
}

function quoteName(name) {
  return /^[A-Z_][A-Z0-9_]*$/.test(name) ? name : `\`${name}\``;
}

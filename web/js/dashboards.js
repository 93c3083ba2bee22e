// Dashboards: panels that run a pull query every n seconds and show a table, a number or a
// chart. A dashboard is saved on the server (PUT /api/dashboards/:id) and opened by its URL,
// #/dashboards/<id>.

import { getJSON, sendJSON, pullQuery, ApiError } from './api.js';
import { SqlEditor } from './editor.js';
import { Grid } from './grid.js';
import { LiveChart, chartColumns, defaultSettings, formatNumber } from './chart.js';
import { completions } from './catalog.js';
import { splitStatements, statementKind } from './sql.js';
import { escapeHtml, html, toast, dialog, confirmDialog, ago, fmtInt } from './util.js';

const INTERVALS = [1, 2, 5, 10, 30, 60, 300];
const KINDS = { table: 'Table', number: 'Number', line: 'Line chart', bars: 'Bar chart' };

/** Dashboards created here but not saved yet, by id. */
const drafts = new Map();

export function newId() {
  const a = new Uint8Array(6);
  crypto.getRandomValues(a);
  return [...a].map((b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b % 32]).join('');
}

function shareUrl(id) {
  return `${location.origin}/#/dashboards/${id}`;
}

/** A panel's settings guessed from a result: bars for a number per key, a number for one row. */
export function guessPanel(sql, columns, types, rows) {
  const { numeric, keys } = chartColumns(columns, types);
  const settings = defaultSettings(columns, types, true);
  let kind = 'table';
  if (numeric.length && rows.length === 1) kind = 'number';
  else if (numeric.length && keys.length) kind = columns.some((c) => c.toUpperCase() === 'WINDOWSTART') ? 'line' : 'bars';
  return { id: newId(), title: titleFromSql(sql), sql, kind, interval: 5, value: settings.value >= 0 ? columns[settings.value] : null, key: settings.key >= 0 ? columns[settings.key] : null };
}

function titleFromSql(sql) {
  const m = /\bFROM\s+([`"]?[\w]+)/i.exec(sql);
  return m ? m[1].replace(/[`"]/g, '') : 'Panel';
}

/** "Add to dashboard" from the SQL view: picks a dashboard (or a new one), adds the panel, saves. */
export async function addPanelDialog(result) {
  let list = [];
  try {
    list = (await getJSON('/api/dashboards')).dashboards;
  } catch { /* offline: only a new one */ }
  const body = html(`<div class="form">
    <label>Dashboard <select name="target">
      <option value="">New dashboard…</option>
      ${list.map((d) => `<option value="${escapeHtml(d.id)}">${escapeHtml(d.title)}</option>`).join('')}
    </select></label>
    <label class="new-title">Title of the new dashboard <input name="title" value="My dashboard" maxlength="200"></label>
    <label>Panel title <input name="panel" value="${escapeHtml(titleFromSql(result.sql))}" maxlength="200"></label>
  </div>`);
  const target = body.querySelector('[name=target]');
  target.addEventListener('change', () => { body.querySelector('.new-title').hidden = !!target.value; });
  const ok = await dialog('Add to dashboard', body, [{ label: 'Cancel', value: false }, { label: 'Add panel', primary: true, value: true }]);
  if (!ok) return;
  const panel = guessPanel(result.sql, result.columns, result.types, result.rows);
  panel.title = body.querySelector('[name=panel]').value.trim() || panel.title;
  let doc;
  let id = target.value;
  try {
    if (id) doc = await getJSON(`/api/dashboards/${encodeURIComponent(id)}`);
    else {
      id = newId();
      doc = { title: body.querySelector('[name=title]').value.trim() || 'My dashboard', panels: [] };
    }
    doc.panels.push(panel);
    await sendJSON('PUT', `/api/dashboards/${encodeURIComponent(id)}`, { title: doc.title, panels: doc.panels });
    toast(`Added to “${doc.title}”.`, 'ok');
    location.hash = `#/dashboards/${id}`;
  } catch (e) {
    toast(`Cannot save the dashboard: ${e.message}`, 'error');
  }
}

/** The dashboards view: the list, or one dashboard. */
export class Dashboards {
  constructor(root) {
    this.root = root;
    this.current = null;
    window.addEventListener('beforeunload', (e) => {
      if (this.current && this.current.dirty) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
  }

  hide() {
    if (this.current) this.current.stop();
  }

  async show(id) {
    if (this.current) this.current.stop();
    this.current = null;
    if (!id) return this.showList();
    const draft = drafts.get(id);
    if (draft) {
      this.current = new DashboardView(this.root, id, draft.doc, draft);
      return;
    }
    this.root.innerHTML = '<div class="page"><p class="muted">Loading…</p></div>';
    try {
      const doc = await getJSON(`/api/dashboards/${encodeURIComponent(id)}`);
      this.current = new DashboardView(this.root, id, doc, null);
    } catch (e) {
      const missing = e instanceof ApiError && e.status === 404;
      this.root.innerHTML = `<div class="page"><div class="empty-state">
        <h2>${missing ? 'No such dashboard' : 'Cannot open the dashboard'}</h2>
        <p>${escapeHtml(e.message)}</p><p><a class="btn" href="#/dashboards">All dashboards</a></p></div></div>`;
    }
  }

  async showList() {
    this.root.innerHTML = `<div class="page">
      <div class="page-head"><h1>Dashboards</h1><div class="grow"></div><button class="btn primary" data-act="new">+ New dashboard</button></div>
      <p class="lead">A dashboard is a set of panels, each running a pull query every few seconds and showing a table, a number or a chart. Saved dashboards are kept by the server and open by their link.</p>
      <div class="cards" data-list><p class="muted">Loading…</p></div></div>`;
    this.root.querySelector('[data-act=new]').addEventListener('click', () => createDashboard());
    let list;
    try {
      list = (await getJSON('/api/dashboards')).dashboards;
    } catch (e) {
      this.root.querySelector('[data-list]').innerHTML = `<p class="error-text">${escapeHtml(e.message)}</p>`;
      return;
    }
    const unsaved = [...drafts.entries()].filter(([id]) => !list.some((d) => d.id === id));
    const cards = [
      ...unsaved.map(([id, d]) => `<a class="card dash-card" href="#/dashboards/${id}"><h3>${escapeHtml(d.doc.title)}</h3><p>${d.doc.panels.length} panel${d.doc.panels.length === 1 ? '' : 's'} · <span class="tag warn">not saved</span></p></a>`),
      ...list.map((d) => `<a class="card dash-card" href="#/dashboards/${encodeURIComponent(d.id)}"><h3>${escapeHtml(d.title)}</h3><p>${d.panels} panel${d.panels === 1 ? '' : 's'} · saved ${ago(d.updated)}</p></a>`),
    ];
    this.root.querySelector('[data-list]').innerHTML = cards.length
      ? cards.join('')
      : `<div class="empty-state"><h2>No dashboards yet</h2><p>Create one here, or run a pull query in the SQL view and choose “Add to dashboard”.</p><button class="btn primary" data-act="new2">+ New dashboard</button></div>`;
    this.root.querySelector('[data-act=new2]')?.addEventListener('click', () => createDashboard());
  }
}

function createDashboard() {
  const id = newId();
  drafts.set(id, { doc: { title: 'Untitled dashboard', panels: [] }, dirty: true });
  location.hash = `#/dashboards/${id}`;
}

class DashboardView {
  constructor(root, id, doc, draft) {
    this.root = root;
    this.id = id;
    this.doc = { title: doc.title, panels: (doc.panels || []).map((p) => ({ ...p, id: p.id || newId() })) };
    this.saved = !draft;
    this.dirty = draft ? draft.dirty : false;
    this.panels = new Map();
    this.render();
  }

  markDirty() {
    this.dirty = true;
    if (!this.saved) drafts.set(this.id, { doc: this.doc, dirty: true });
    this.updateHead();
  }

  render() {
    this.root.innerHTML = `<div class="page dashboard">
      <div class="page-head">
        <input class="title-input" aria-label="Dashboard title" maxlength="200" value="${escapeHtml(this.doc.title)}">
        <span class="save-state"></span>
        <div class="grow"></div>
        <button class="btn" data-act="add">+ Add panel</button>
        <button class="btn primary" data-act="save" title="Save (Ctrl/⌘+S)">Save</button>
        <button class="btn ghost" data-act="link" title="Copy this dashboard's link">Copy link</button>
        <button class="btn ghost danger-text" data-act="delete" title="Delete this dashboard">Delete</button>
      </div>
      <div class="panels"></div></div>`;
    const $ = (s) => this.root.querySelector(s);
    const title = $('.title-input');
    const fit = () => { title.size = Math.max(6, title.value.length + 1); };
    fit();
    title.addEventListener('input', () => { this.doc.title = title.value; fit(); this.markDirty(); });
    $('[data-act=add]').addEventListener('click', () => this.editPanel(null));
    $('[data-act=save]').addEventListener('click', () => this.save());
    $('[data-act=link]').addEventListener('click', () => this.copyLink());
    $('[data-act=delete]').addEventListener('click', () => this.remove());
    this.keys = (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') { e.preventDefault(); this.save(); }
    };
    document.addEventListener('keydown', this.keys);
    this.renderPanels();
    this.updateHead();
  }

  updateHead() {
    const state = this.root.querySelector('.save-state');
    if (!state) return;
    state.className = `save-state ${this.dirty ? 'dirty' : 'clean'}`;
    state.textContent = !this.saved ? 'Not saved yet' : this.dirty ? 'Unsaved changes' : 'Saved';
    this.root.querySelector('[data-act=save]').disabled = !this.dirty;
    this.root.querySelector('[data-act=link]').disabled = !this.saved;
    this.root.querySelector('[data-act=delete]').hidden = !this.saved;
  }

  renderPanels() {
    for (const p of this.panels.values()) p.stop();
    this.panels.clear();
    const box = this.root.querySelector('.panels');
    box.innerHTML = '';
    if (!this.doc.panels.length) {
      box.innerHTML = `<div class="empty-state wide"><h2>No panels yet</h2><p>A panel runs a pull query (<code>SELECT … FROM a_table …;</code>) every few seconds and shows its rows as a table, a number or a chart.</p><button class="btn primary" data-act="add2">+ Add panel</button></div>`;
      box.querySelector('[data-act=add2]').addEventListener('click', () => this.editPanel(null));
      return;
    }
    for (const spec of this.doc.panels) {
      const panel = new Panel(box, spec, {
        edit: () => this.editPanel(spec),
        remove: () => this.removePanel(spec),
      });
      this.panels.set(spec.id, panel);
    }
  }

  async editPanel(spec) {
    const result = await panelDialog(spec);
    if (!result) return;
    if (spec) Object.assign(spec, result);
    else this.doc.panels.push({ id: newId(), ...result });
    this.markDirty();
    this.renderPanels();
  }

  async removePanel(spec) {
    if (!(await confirmDialog('Remove panel', `Remove the panel “${spec.title}”?`, 'Remove', true))) return;
    this.doc.panels = this.doc.panels.filter((p) => p !== spec);
    this.markDirty();
    this.renderPanels();
  }

  async save() {
    if (!this.doc.title.trim()) {
      toast('Give the dashboard a title first.', 'error');
      return;
    }
    try {
      await sendJSON('PUT', `/api/dashboards/${encodeURIComponent(this.id)}`, { title: this.doc.title.trim(), panels: this.doc.panels });
      this.saved = true;
      this.dirty = false;
      drafts.delete(this.id);
      this.updateHead();
      toast('Dashboard saved.', 'ok');
    } catch (e) {
      toast(`Cannot save: ${e.message}`, 'error');
    }
  }

  async copyLink() {
    const url = shareUrl(this.id);
    try {
      await navigator.clipboard.writeText(url);
      toast('Link copied: ' + url, 'ok');
    } catch {
      const input = html(`<input class="wide-input" readonly value="${escapeHtml(url)}">`);
      await dialog('Link to this dashboard', input, [{ label: 'Close', primary: true, value: true }]);
    }
  }

  async remove() {
    if (!(await confirmDialog('Delete dashboard', `Delete “${this.doc.title}” for everyone? This cannot be undone.`, 'Delete', true))) return;
    try {
      await sendJSON('DELETE', `/api/dashboards/${encodeURIComponent(this.id)}`);
      this.dirty = false;
      toast('Dashboard deleted.', 'ok');
      location.hash = '#/dashboards';
    } catch (e) {
      toast(`Cannot delete: ${e.message}`, 'error');
    }
  }

  stop() {
    for (const p of this.panels.values()) p.stop();
    document.removeEventListener('keydown', this.keys);
    if (!this.saved) drafts.set(this.id, { doc: this.doc, dirty: true });
  }
}

/** One panel: runs its pull query every `interval` seconds and shows the answer. */
class Panel {
  constructor(box, spec, actions) {
    this.spec = spec;
    this.el = html(`<article class="panel panel-${spec.kind} ${spec.wide ? 'wide' : ''}" data-panel="${escapeHtml(spec.id)}">
      <header><h3 title="${escapeHtml(spec.sql)}">${escapeHtml(spec.title || 'Panel')}</h3>
        <span class="panel-meta"></span>
        <button class="icon-btn small" data-act="edit" title="Edit panel" aria-label="Edit panel"><svg viewBox="0 0 16 16" width="13" height="13"><path d="M11.3 2.3a1.4 1.4 0 0 1 2 2L5.6 12 3 13l1-2.6z" fill="none" stroke="currentColor" stroke-width="1.4"/></svg></button>
        <button class="icon-btn small" data-act="remove" title="Remove panel" aria-label="Remove panel"><svg viewBox="0 0 16 16" width="12" height="12"><path d="M3 3l10 10M13 3L3 13" stroke="currentColor" stroke-width="1.6"/></svg></button>
      </header><div class="panel-body"></div><div class="panel-error" hidden></div></article>`);
    box.appendChild(this.el);
    this.el.querySelector('[data-act=edit]').addEventListener('click', actions.edit);
    this.el.querySelector('[data-act=remove]').addEventListener('click', actions.remove);
    this.body = this.el.querySelector('.panel-body');
    this.meta = this.el.querySelector('.panel-meta');
    this.errorEl = this.el.querySelector('.panel-error');
    this.stopped = false;
    this.runs = 0;
    this.tick();
    this.agoTimer = setInterval(() => this.updateMeta(), 1000);
  }

  updateMeta() {
    if (!this.last) return;
    this.meta.textContent = `every ${intervalText(this.spec.interval)} · ${ago(this.last)}`;
    this.meta.title = `Updated ${new Date(this.last).toLocaleTimeString()} (${this.runs} refreshes)`;
  }

  async tick() {
    if (this.stopped) return;
    const started = Date.now();
    try {
      const res = await pullQuery(this.spec.sql, {});
      if (this.stopped) return;
      this.runs++;
      this.last = Date.now();
      this.errorEl.hidden = true;
      this.el.classList.remove('has-error');
      this.show(res);
      this.updateMeta();
    } catch (e) {
      if (this.stopped) return;
      this.errorEl.hidden = false;
      this.errorEl.textContent = e.message;
      this.el.classList.add('has-error');
    }
    const wait = Math.max(250, (this.spec.interval || 5) * 1000 - (Date.now() - started));
    this.timer = setTimeout(() => this.tick(), wait);
  }

  columnIndex(res, name, fallback) {
    const i = name ? res.columns.findIndex((c) => c.toUpperCase() === String(name).toUpperCase()) : -1;
    return i >= 0 ? i : fallback;
  }

  show(res) {
    const kind = this.spec.kind;
    const defaults = defaultSettings(res.columns, res.types, true);
    const value = this.columnIndex(res, this.spec.value, defaults.value);
    const key = this.spec.key === '' ? -1 : this.columnIndex(res, this.spec.key, defaults.key);
    if (kind === 'table') {
      if (!this.grid) this.grid = new Grid(this.body);
      const sig = res.columns.join('|');
      if (this.sig !== sig) { this.grid.setColumns(res.columns, res.types); this.sig = sig; }
      this.grid.follow = false;
      this.grid.setRows(res.rows);
      this.grid.setEmpty('No rows.');
    } else if (kind === 'number') {
      let text = '–';
      let sub = 'no rows';
      if (value >= 0 && res.rows.length) {
        const nums = res.rows.map((r) => Number(r[value])).filter((v) => !Number.isNaN(v));
        const total = nums.reduce((a, b) => a + b, 0);
        const delta = this.prev !== undefined ? total - this.prev : 0;
        this.prev = total;
        text = formatNumber(total);
        sub = `${escapeHtml(res.columns[value])}${res.rows.length > 1 ? ` · sum of ${fmtInt(res.rows.length)} rows` : ''}`;
        if (delta) sub += ` <span class="delta ${delta > 0 ? 'up' : 'down'}">${delta > 0 ? '▲' : '▼'} ${formatNumber(Math.abs(delta))}</span>`;
      } else if (value < 0) {
        sub = 'no numeric column';
      }
      this.body.innerHTML = `<div class="big-number"><div class="value">${text}</div><div class="sub">${sub}</div></div>`;
    } else {
      if (!this.chart) this.chart = new LiveChart(this.body);
      const hasTime = defaults.time >= 0;
      const settings = { mode: kind === 'bars' ? 'bars' : 'line', value, key, time: kind === 'line' && hasTime ? defaults.time : -1 };
      const sig = `${res.columns.join('|')}#${JSON.stringify(settings)}`;
      if (this.sig !== sig) { this.chart.configure(res.columns, res.types, settings); this.sig = sig; }
      if (settings.mode === 'bars') this.chart.setBars(res.rows);
      else if (settings.time >= 0) { this.chart.reset(); this.chart.add(res.rows); }
      else this.chart.add(res.rows);
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.agoTimer);
    if (this.chart) this.chart.destroy();
  }
}

function intervalText(s) {
  s = s || 5;
  return s < 60 ? `${s} s` : `${s / 60} min`;
}

/** The panel editor: title, SQL, kind, refresh, value and key; with a preview. Answers the spec. */
async function panelDialog(spec) {
  const s = spec || { title: '', sql: '', kind: 'table', interval: 5, value: null, key: null, wide: false };
  const body = html(`<div class="form panel-form">
    <div class="row">
      <label class="grow">Title <input name="title" maxlength="200" placeholder="e.g. Views per page" value="${escapeHtml(s.title || '')}"></label>
      <label>Refresh every <select name="interval">${INTERVALS.map((i) => `<option value="${i}" ${i === (s.interval || 5) ? 'selected' : ''}>${intervalText(i)}</option>`).join('')}</select></label>
    </div>
    <label>Pull query</label>
    <div class="panel-sql"></div>
    <div class="row">
      <label>Show as <select name="kind">${Object.entries(KINDS).map(([k, v]) => `<option value="${k}" ${k === s.kind ? 'selected' : ''}>${v}</option>`).join('')}</select></label>
      <label>Value <select name="value"></select></label>
      <label>Key <select name="key"></select></label>
      <label class="check"><input type="checkbox" name="wide" ${s.wide ? 'checked' : ''}> Wide</label>
      <div class="grow"></div>
      <button type="button" class="btn small" data-act="preview">Preview</button>
    </div>
    <div class="preview"><p class="muted">Preview runs the query once, to check it and to list its columns.</p></div>
  </div>`);
  const editor = new SqlEditor(body.querySelector('.panel-sql'), {
    complete: completions,
    onRun: () => preview(),
    placeholder: 'SELECT … FROM a_table WHERE …;',
  });
  editor.value = s.sql || '';
  const previewEl = body.querySelector('.preview');
  const valueSel = body.querySelector('[name=value]');
  const keySel = body.querySelector('[name=key]');
  const fill = (columns, types) => {
    const { numeric, keys } = chartColumns(columns, types);
    valueSel.innerHTML = `<option value="">(automatic)</option>` + numeric.map((i) => `<option>${escapeHtml(columns[i])}</option>`).join('');
    keySel.innerHTML = `<option value="">(automatic)</option>` + keys.map((i) => `<option>${escapeHtml(columns[i])}</option>`).join('');
    if (s.value && numeric.some((i) => columns[i] === s.value)) valueSel.value = s.value;
    if (s.key && keys.some((i) => columns[i] === s.key)) keySel.value = s.key;
  };
  const keep = (sel, v) => { sel.innerHTML = `<option value="">(automatic)</option>${v ? `<option selected>${escapeHtml(v)}</option>` : ''}`; };
  keep(valueSel, s.value);
  keep(keySel, s.key);
  const preview = async () => {
    const sql = editor.value.trim();
    const check = checkSql(sql);
    if (check) { previewEl.innerHTML = `<p class="error-text">${escapeHtml(check)}</p>`; return false; }
    previewEl.innerHTML = '<p class="muted">Running…</p>';
    try {
      const res = await pullQuery(sql, {});
      s.value = valueSel.value || s.value;
      s.key = keySel.value || s.key;
      fill(res.columns, res.types);
      const rows = res.rows.slice(0, 5);
      previewEl.innerHTML = `<p class="muted">${fmtInt(res.rows.length)} row${res.rows.length === 1 ? '' : 's'}${res.rows.length > 5 ? ' (first 5 shown)' : ''}</p>
        <div class="mini-table"><table><thead><tr>${res.columns.map((c, i) => `<th>${escapeHtml(c)}<small>${escapeHtml(res.types[i])}</small></th>`).join('')}</tr></thead>
        <tbody>${rows.map((r) => `<tr>${r.map((v) => `<td class="${typeof v === 'number' ? 'num' : ''}">${escapeHtml(v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : v)}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
      if (!spec && !body.querySelector('[name=title]').value.trim()) body.querySelector('[name=title]').value = titleFromSql(sql);
      if (!spec && !kindTouched) {
        const guess = guessPanel(sql, res.columns, res.types, res.rows);
        body.querySelector('[name=kind]').value = guess.kind;
      }
      return true;
    } catch (e) {
      previewEl.innerHTML = `<p class="error-text">${escapeHtml(e.message)}</p>`;
      return false;
    }
  };
  let kindTouched = false;
  body.querySelector('[name=kind]').addEventListener('change', () => { kindTouched = true; });
  body.querySelector('[data-act=preview]').addEventListener('click', () => preview());
  if (s.sql) setTimeout(preview, 0);
  for (;;) {
    const ok = await dialog(spec ? 'Edit panel' : 'Add panel', body, [{ label: 'Cancel', value: false }, { label: spec ? 'Apply' : 'Add panel', primary: true, value: true }]);
    if (!ok) return null;
    const sql = editor.value.trim();
    const problem = checkSql(sql);
    if (!problem) {
      return {
        title: body.querySelector('[name=title]').value.trim() || titleFromSql(sql),
        sql,
        kind: body.querySelector('[name=kind]').value,
        interval: Number(body.querySelector('[name=interval]').value),
        value: valueSel.value || null,
        key: keySel.value || null,
        wide: body.querySelector('[name=wide]').checked,
      };
    }
    toast(problem, 'error');
  }
}

/** Why SQL cannot be a panel's query, or null. */
function checkSql(sql) {
  if (!sql) return 'Write a pull query, e.g. SELECT * FROM a_table;';
  const statements = splitStatements(sql);
  if (statements.length !== 1) return 'A panel runs one query.';
  const kind = statementKind(statements[0].text);
  if (kind === 'push') return 'A panel runs a pull query: remove EMIT CHANGES.';
  if (kind !== 'pull') return 'A panel runs a pull query (SELECT … FROM a_table …;).';
  return null;
}

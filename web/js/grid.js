// A virtualised table: only the rows in view are in the page, so it stays fast with hundreds
// of thousands of rows arriving. Rows are arrays of JSON values.

import { escapeHtml } from './sql.js';

const ROW_HEIGHT = 26;
const OVERSCAN = 8;

export class Grid {
  constructor(container) {
    this.el = document.createElement('div');
    this.el.className = 'grid';
    this.el.innerHTML = `
      <div class="grid-head"><div class="grid-row grid-header"></div></div>
      <div class="grid-body" tabindex="0"><div class="grid-spacer"></div><div class="grid-rows"></div></div>
      <div class="grid-empty" hidden></div>`;
    container.appendChild(this.el);
    this.head = this.el.querySelector('.grid-header');
    this.headWrap = this.el.querySelector('.grid-head');
    this.body = this.el.querySelector('.grid-body');
    this.spacer = this.el.querySelector('.grid-spacer');
    this.rowsEl = this.el.querySelector('.grid-rows');
    this.empty = this.el.querySelector('.grid-empty');
    this.columns = [];
    this.types = [];
    this.rows = [];
    this.widths = [];
    this.follow = true;
    this.pending = false;
    this.body.addEventListener('scroll', () => {
      this.headWrap.scrollLeft = this.body.scrollLeft;
      const atBottom = this.body.scrollTop + this.body.clientHeight >= this.body.scrollHeight - ROW_HEIGHT;
      this.follow = atBottom;
      this.schedule();
    });
    new ResizeObserver(() => this.schedule()).observe(this.body);
    this.renderHeader();
  }

  /** New columns: clears the rows. */
  setColumns(names, types = []) {
    this.columns = names;
    this.types = types;
    this.rows = [];
    this.widths = names.map((n, i) => Math.min(360, Math.max(72, n.length * 8 + (types[i] || '').length * 6.2 + 34)));
    this.measured = 0;
    this.follow = true;
    this.body.scrollTop = 0;
    this.renderHeader();
    this.schedule();
  }

  /** Appends rows; the view follows the end while scrolled to the bottom. */
  append(rows) {
    for (const r of rows) this.rows.push(r);
    if (this.measured < 200) this.measure();
    this.schedule();
  }

  /** Replaces every row. */
  setRows(rows) {
    this.rows = rows.slice();
    this.measured = 0;
    this.measure();
    this.schedule();
  }

  clear(message = '') {
    this.columns = [];
    this.rows = [];
    this.renderHeader();
    this.setEmpty(message);
    this.schedule();
  }

  setEmpty(message) {
    this.emptyMessage = message;
    this.schedule();
  }

  get count() { return this.rows.length; }

  /** Widens columns to fit the first rows. */
  measure() {
    const until = Math.min(this.rows.length, 200);
    let changed = false;
    for (let i = this.measured; i < until; i++) {
      const row = this.rows[i];
      for (let c = 0; c < this.columns.length; c++) {
        const w = Math.min(420, format(row[c]).length * 7.6 + 24);
        if (w > this.widths[c]) { this.widths[c] = w; changed = true; }
      }
    }
    this.measured = until;
    if (changed) this.renderHeader();
  }

  /** Width of the row-number column: enough digits for the row count. */
  numWidth() {
    return Math.max(44, String(this.rows.length).length * 7.4 + 20);
  }

  template() {
    return `${Math.round(this.numWidth())}px ${this.widths.map((w) => `${Math.round(w)}px`).join(' ')}`;
  }

  renderHeader() {
    this.el.classList.toggle('no-columns', !this.columns.length);
    const tpl = this.template();
    this.head.style.gridTemplateColumns = tpl;
    this.head.innerHTML = this.columns.length
      ? `<div class="cell num rownum">#</div>` + this.columns
        .map((c, i) => `<div class="cell" title="${escapeHtml(c)} ${escapeHtml(this.types[i] || '')}">${escapeHtml(c)}<small>${escapeHtml(this.types[i] || '')}</small></div>`)
        .join('')
      : '';
    const width = Math.round(this.numWidth()) + this.widths.reduce((a, b) => a + b, 0);
    this.headerDigits = String(this.rows.length).length;
    this.head.style.width = this.rowsEl.style.width = this.spacer.style.width = `${width}px`;
    this.rendered = null;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const n = this.rows.length;
    if (String(n).length !== this.headerDigits && this.columns.length) this.renderHeader();
    this.empty.hidden = n > 0 || !this.emptyMessage;
    this.empty.textContent = this.emptyMessage || '';
    this.spacer.style.height = `${n * ROW_HEIGHT}px`;
    if (this.follow && n) this.body.scrollTop = this.body.scrollHeight;
    const top = this.body.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + this.body.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const key = `${first}:${last}:${n}:${this.columns.length}`;
    if (this.rendered === key) return;
    this.rendered = key;
    const tpl = this.template();
    let html = '';
    for (let i = first; i < last; i++) {
      const row = this.rows[i];
      html += `<div class="grid-row${i % 2 ? ' odd' : ''}" style="grid-template-columns:${tpl}"><div class="cell num rownum">${i + 1}</div>`;
      for (let c = 0; c < this.columns.length; c++) {
        const v = row[c];
        const cls = v === null || v === undefined ? 'cell null' : typeof v === 'number' ? 'cell num' : 'cell';
        const text = format(v);
        html += `<div class="${cls}" title="${escapeHtml(text.length > 40 ? text.slice(0, 2000) : '')}">${escapeHtml(text)}</div>`;
      }
      html += '</div>';
    }
    this.rowsEl.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.rowsEl.innerHTML = html;
  }
}

export function format(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

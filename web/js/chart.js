// Live charts over query rows, drawn with uPlot: a time series of a numeric column (one line per
// key), or bars of a numeric column per key (the latest value of each key, as a table has it).

import uPlot from '/web/vendor/uplot-1.6.32/uPlot.esm.js';
import { escapeHtml } from './sql.js';

export const PALETTE = ['#2f7fe0', '#e8743b', '#19a979', '#945ecf', '#ed4a7b', '#13a4b4', '#d4a21a', '#6c8893', '#5b6fd6', '#bf399e', '#7cb342', '#f06292'];
const MAX_SERIES = 12;
const MAX_POINTS = 5000;
const MAX_BARS = 60;
const TIME_NAMES = ['WINDOWSTART', 'WINDOWEND', 'ROWTIME'];
const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8, 1e9, 1e10];

export const isNumericType = (t) => /^(INT|INTEGER|BIGINT|DOUBLE|DECIMAL|FLOAT|REAL|SMALLINT|TINYINT)/i.test(t || '');

/** Chart choices for a result's columns: numeric value columns, key and time candidates. */
export function chartColumns(columns, types) {
  const numeric = [];
  const keys = [];
  const times = [];
  columns.forEach((c, i) => {
    const t = types[i] || '';
    if (TIME_NAMES.includes(c.toUpperCase()) || /^TIMESTAMP/i.test(t)) times.push(i);
    else if (isNumericType(t)) numeric.push(i);
    if (!isNumericType(t) && !/^(ARRAY|MAP|STRUCT)/i.test(t)) keys.push(i);
  });
  return { numeric, keys, times };
}

/** Default settings for a result: bars per key for a pull query, else a time series. */
export function defaultSettings(columns, types, pull) {
  const { numeric, keys, times } = chartColumns(columns, types);
  const start = times.find((i) => columns[i].toUpperCase() === 'WINDOWSTART');
  const time = start !== undefined ? start : times.length ? times[0] : -1;
  // Bars, and lines over a time column (a windowed table), are per key; a stream's values
  // over arrival time are one line.
  const perKey = pull || time >= 0;
  return {
    mode: pull ? 'bars' : 'line',
    value: numeric.length ? numeric[numeric.length - 1] : -1,
    key: perKey && keys.length ? keys[0] : -1,
    time,
  };
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function toMs(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

function toNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return null;
}

export class LiveChart {
  constructor(container) {
    this.el = document.createElement('div');
    this.el.className = 'chart';
    this.el.innerHTML = '<div class="chart-plot"></div><div class="chart-note" hidden></div>';
    container.appendChild(this.el);
    this.plotEl = this.el.querySelector('.chart-plot');
    this.note = this.el.querySelector('.chart-note');
    this.settings = { mode: 'line', value: -1, key: -1, time: -1 };
    this.columns = [];
    this.reset();
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.el);
    this.onTheme = () => this.retheme();
    window.addEventListener('themechange', this.onTheme);
  }

  /** Columns of the rows to come, and what to draw. Keeps nothing of earlier rows. */
  configure(columns, types, settings) {
    this.columns = columns;
    this.types = types;
    this.settings = { ...settings };
    this.reset();
  }

  reset() {
    this.series = new Map(); // key → Map(x → y) (time column) or null
    this.points = []; // arrival-time mode: {x, k, y}
    this.bars = new Map(); // key → y
    this.keys = [];
    this.lastX = null;
    this.skippedKeys = false;
    this.destroyPlot();
    this.schedule();
  }

  /** Adds rows (arrays) that arrived at `now` (ms). */
  add(rows, now = Date.now()) {
    const { mode, value, key, time } = this.settings;
    if (value < 0) return;
    for (const row of rows) {
      const y = toNumber(row[value]);
      const k = key >= 0 ? String(row[key]) : this.columns[value];
      if (mode === 'bars') {
        if (!this.bars.has(k) && this.bars.size >= MAX_BARS) { this.skippedKeys = true; continue; }
        this.bars.set(k, y);
        continue;
      }
      if (!this.keys.includes(k)) {
        if (this.keys.length >= MAX_SERIES) { this.skippedKeys = true; continue; }
        this.keys.push(k);
      }
      if (time >= 0) {
        const x = toMs(row[time]);
        if (x === null) continue;
        let m = this.series.get(k);
        if (!m) this.series.set(k, (m = new Map()));
        m.set(x, y);
        if (m.size > MAX_POINTS) m.delete(m.keys().next().value);
      } else {
        // Rows keep their order on the axis, however close their arrivals.
        const x = Math.max(now, (this.lastX ?? -Infinity) + 0.001);
        this.lastX = x;
        this.points.push({ x, k: this.keys.indexOf(k), y });
      }
    }
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.schedule();
  }

  /** Replaces every bar (pull results). */
  setBars(rows) {
    this.bars = new Map();
    this.add(rows);
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    // At most about 8 redraws a second, however fast rows arrive.
    setTimeout(() => requestAnimationFrame(() => { this.pending = false; this.draw(); }), 120);
  }

  data() {
    const { mode, time } = this.settings;
    if (mode === 'bars') {
      const keys = [...this.bars.keys()];
      return { labels: keys, data: [keys.map((_, i) => i), keys.map((k) => this.bars.get(k))] };
    }
    if (time >= 0) {
      const xs = new Set();
      for (const m of this.series.values()) for (const x of m.keys()) xs.add(x);
      let sorted = [...xs].sort((a, b) => a - b);
      if (sorted.length > MAX_POINTS) sorted = sorted.slice(-MAX_POINTS);
      return {
        labels: this.keys,
        data: [sorted, ...this.keys.map((k) => {
          const m = this.series.get(k) || new Map();
          return sorted.map((x) => (m.has(x) ? m.get(x) : null));
        })],
      };
    }
    const xs = this.points.map((p) => p.x);
    return {
      labels: this.keys,
      data: [xs, ...this.keys.map((_, i) => this.points.map((p) => (p.k === i ? p.y : null)))],
    };
  }

  message() {
    const { value } = this.settings;
    if (!this.columns.length) return 'Run a query to chart its rows.';
    if (value < 0) return 'This result has no numeric column to chart.';
    return '';
  }

  draw() {
    const msg = this.message();
    const { labels, data } = msg ? { labels: [], data: [[]] } : this.data();
    const empty = !data[0].length;
    const note = msg || (empty ? 'Waiting for rows…' : this.skippedKeys ? `Showing the first ${this.settings.mode === 'bars' ? MAX_BARS : MAX_SERIES} keys.` : '');
    this.note.hidden = !note;
    this.note.textContent = note;
    this.el.classList.toggle('is-empty', !!msg || empty);
    if (msg || empty) { this.destroyPlot(); return; }
    const signature = `${this.settings.mode}|${labels.length}|${this.theme()}`;
    if (!this.plot || this.signature !== signature || (this.settings.mode === 'bars' && this.barLabels !== labels.join('\u0000'))) {
      this.destroyPlot();
      this.signature = signature;
      this.barLabels = labels.join('\u0000');
      this.create(labels, data);
    } else {
      this.plot.setData(data);
    }
  }

  theme() { return document.documentElement.dataset.theme; }

  /** The plot's size: the box less the legend under it (which may wrap). */
  size() {
    const r = this.plotEl.getBoundingClientRect();
    const legend = this.plotEl.querySelector('.u-legend');
    const lh = legend ? legend.getBoundingClientRect().height + 4 : this.settings.mode === 'bars' ? 4 : 34;
    return { width: Math.max(120, Math.floor(r.width)), height: Math.max(100, Math.floor(r.height - lh)) };
  }

  create(labels, data) {
    const axis = cssVar('--chart-axis') || '#667';
    const grid = cssVar('--chart-grid') || '#ddd';
    const font = '11px ' + (cssVar('--font') || 'sans-serif');
    const axisOpts = { stroke: axis, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 } };
    const valueName = this.columns[this.settings.value];
    const { width, height } = this.size();
    // Counts get whole-number ticks.
    const ints = data.slice(1).every((ys) => ys.every((y) => y === null || Number.isInteger(y)));
    const yAxis = { ...axisOpts, size: 56, label: valueName, labelFont: font, labelSize: 16, ...(ints ? { incrs: INT_INCRS } : {}) };
    let opts;
    if (this.settings.mode === 'bars') {
      const n = labels.length;
      opts = {
        width, height,
        legend: { show: false },
        cursor: { points: { show: false }, drag: { x: false, y: false } },
        scales: {
          x: { time: false, range: () => [-0.5, n - 0.5] },
          y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
        },
        series: [
          { label: 'key', value: (u, i) => (i === null ? '' : labels[i]) },
          {
            label: valueName,
            fill: PALETTE[0] + 'cc',
            stroke: PALETTE[0],
            width: 1,
            paths: uPlot.paths.bars({ size: [0.7, 90] }),
            points: { show: false },
          },
        ],
        axes: [
          { ...axisOpts, grid: { show: false }, splits: () => labels.map((_, i) => i),
            values: (u, splits) => splits.map((i) => clip(labels[i] ?? '', n > 12 ? 8 : 18)), rotate: n > 16 ? -40 : 0, size: n > 16 ? 60 : 40 },
          yAxis,
        ],
        hooks: { draw: [(u) => drawBarValues(u, n, axis, font)] },
      };
    } else {
      opts = {
        width, height,
        ms: 1,
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [
          { label: this.settings.time >= 0 ? this.columns[this.settings.time] : 'arrival time' },
          ...labels.map((k, i) => ({
            label: k,
            stroke: PALETTE[i % PALETTE.length],
            width: 2,
            spanGaps: true,
            points: { size: 5, show: data[0].length < 120 },
          })),
        ],
        axes: [axisOpts, yAxis],
      };
    }
    this.plot = new uPlot(opts, data, this.plotEl);
    // Once laid out, the legend's height is known: the plot takes the rest.
    requestAnimationFrame(() => this.fit());
  }

  fit() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
  }

  destroyPlot() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
  }

  /** Redraws with the current theme's colours. */
  retheme() {
    this.destroyPlot();
    this.schedule();
  }

  destroy() {
    window.removeEventListener('themechange', this.onTheme);
    this.resize.disconnect();
    this.destroyPlot();
    this.el.remove();
  }
}

function clip(s, n) {
  s = String(s);
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Writes each bar's value above it when the bars are few enough to read. */
function drawBarValues(u, n, color, font) {
  if (n > 24) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = color;
  ctx.font = font.replace(/^(\d+)px/, (m, px) => `${Math.round(px * devicePixelRatio)}px`);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  const ys = u.data[1];
  for (let i = 0; i < n; i++) {
    const v = ys[i];
    if (v === null || v === undefined) continue;
    const x = u.valToPos(i, 'x', true);
    const y = u.valToPos(v, 'y', true);
    ctx.fillText(formatNumber(v), x, y - 3 * devicePixelRatio);
  }
  ctx.restore();
}

export function formatNumber(v) {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  return v.toLocaleString('en-US', { maximumFractionDigits: a >= 100 ? 1 : a >= 1 ? 2 : 4 });
}

export { escapeHtml };

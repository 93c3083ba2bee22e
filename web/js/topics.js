// The topic viewer: every topic with its partitions and rates, and one topic's records by
// partition and offset, or from the end (live), decoded as JSON, string or hex, with keys,
// headers and timestamps.

import { getJSON } from './api.js';
import { catalog, PROCESSING_LOG_TOPIC } from './catalog.js';
import { escapeHtml, fmtInt, fmtRate, fmtTime, fromBase64, decode, jsonHtml } from './util.js';

const LIMITS = [20, 50, 100, 500];

export class Topics {
  constructor(root) {
    this.root = root;
    catalog.onChange(() => {
      if (this.root.hidden) return;
      if (!this.topic) return this.renderList();
      this.renderPartitions();
      if (this.waiting && catalog.topics.some((t) => t.name === this.topic)) this.load();
    });
  }

  hide() {
    clearTimeout(this.liveTimer);
    this.live = false;
  }

  show(name, params = {}) {
    this.hide();
    this.topic = name || null;
    if (!name) return this.renderList();
    const partition = params.partition !== undefined ? params.partition : 'all';
    const processing = name === PROCESSING_LOG_TOPIC;
    this.state = { partition, from: 'end', offset: 0, limit: 50, as: 'auto', live: processing };
    this.renderViewer(processing);
    this.load();
  }

  renderList() {
    const showInternal = localStorage.getItem('flusso.internalTopics') === '1';
    const topics = catalog.topics.filter((t) => showInternal || !t.internal);
    this.root.innerHTML = `<div class="page">
      <div class="page-head"><h1>Topics</h1><div class="grow"></div>
        <label class="check"><input type="checkbox" data-act="internal" ${showInternal ? 'checked' : ''}> Show internal topics</label></div>
      <section class="card flush">${topics.length ? `<table class="table hover"><thead><tr><th>Name</th><th class="num">Partitions</th><th class="num">Messages</th><th class="num">Rate</th><th>Used by</th></tr></thead><tbody>
        ${topics.map((t) => {
          const s = catalog.topicStats.get(t.name) || {};
          const users = [...catalog.streams, ...catalog.tables].filter((x) => x.topic === t.name).map((x) => `<a href="#/source/${encodeURIComponent(x.name)}">${escapeHtml(x.name)}</a>`).join(', ');
          return `<tr><td><a href="#/topic/${encodeURIComponent(t.name)}">${escapeHtml(t.name)}</a>${t.internal ? ' <span class="tag">internal</span>' : ''}</td><td class="num">${t.partitions.length}</td><td class="num">${fmtInt(s.messages)}</td><td class="num">${fmtRate(s.rate)}</td><td>${users || '<span class="muted">–</span>'}</td></tr>`;
        }).join('')}</tbody></table>` : '<div class="empty-state"><h2>No topics yet</h2><p>Creating a stream or table makes its topic; any Kafka client can make more.</p></div>'}</section></div>`;
    this.root.querySelector('[data-act=internal]').addEventListener('change', (e) => {
      localStorage.setItem('flusso.internalTopics', e.target.checked ? '1' : '0');
      this.renderList();
    });
  }

  renderViewer(processing) {
    const s = this.state;
    const name = this.topic;
    this.root.innerHTML = `<div class="page topic-viewer">
      <div class="page-head">
        <span class="kind-badge kb-topic">${processing ? 'LOG' : 'TOPIC'}</span>
        <h1>${processing ? 'Processing log' : escapeHtml(name)}</h1>
        ${processing ? `<span class="muted">topic ${escapeHtml(name)}: records queries could not process</span>` : ''}
        <div class="grow"></div>
        <a class="btn ghost" href="#/topics">All topics</a>
      </div>
      <div class="partitions"></div>
      <div class="toolbar topic-toolbar">
        <label>Partition <select data-k="partition"></select></label>
        <label>From <select data-k="from"><option value="end">the end (latest)</option><option value="beginning">the beginning</option><option value="offset">offset…</option></select></label>
        <label class="offset-ctl">Offset <input data-k="offset" type="number" min="0" value="0"></label>
        <label>Records <select data-k="limit">${LIMITS.map((l) => `<option>${l}</option>`).join('')}</select></label>
        <label>Decode as <select data-k="as"><option value="auto">auto</option><option value="json">JSON</option><option value="string">string</option><option value="hex">hex</option></select></label>
        <button class="btn small" data-act="load">Load</button>
        <button class="btn small ghost" data-act="older" title="The records before these">◀ Older</button>
        <button class="btn small ghost" data-act="newer" title="The records after these">Newer ▶</button>
        <div class="grow"></div>
        <label class="check" title="Reload the latest records every second"><input type="checkbox" data-k="live"> Live</label>
      </div>
      <div class="records-info muted"></div>
      <div class="records"></div>
    </div>`;
    const $ = (q) => this.root.querySelector(q);
    this.renderPartitions();
    $('[data-k=from]').value = s.from;
    $('[data-k=limit]').value = String(s.limit);
    $('[data-k=as]').value = s.as;
    $('[data-k=live]').checked = s.live;
    const sync = () => {
      s.partition = $('[data-k=partition]').value;
      s.from = $('[data-k=from]').value;
      s.offset = Math.max(0, Number($('[data-k=offset]').value) || 0);
      s.limit = Number($('[data-k=limit]').value);
      s.as = $('[data-k=as]').value;
      s.live = $('[data-k=live]').checked;
      if (s.live) s.from = 'end';
      $('[data-k=from]').value = s.from;
      $('.offset-ctl').hidden = s.from !== 'offset';
    };
    $('.offset-ctl').hidden = s.from !== 'offset';
    this.root.querySelectorAll('[data-k]').forEach((el) => el.addEventListener('change', () => {
      sync();
      if (el.dataset.k === 'as') this.renderRecords();
      else this.load();
    }));
    $('[data-k=offset]').addEventListener('keydown', (e) => { if (e.key === 'Enter') { sync(); this.load(); } });
    $('[data-act=load]').addEventListener('click', () => { sync(); this.load(); });
    $('[data-act=older]').addEventListener('click', () => this.page(-1));
    $('[data-act=newer]').addEventListener('click', () => this.page(1));
    this.root.querySelector('.records').addEventListener('click', (e) => {
      const row = e.target.closest('.rec');
      if (row && !window.getSelection().toString()) row.classList.toggle('open');
    });
  }

  renderPartitions() {
    const topic = catalog.topics.find((t) => t.name === this.topic);
    const box = this.root.querySelector('.partitions');
    const sel = this.root.querySelector('[data-k=partition]');
    if (!box || !sel) return;
    this.root.querySelector('.topic-toolbar').hidden = !topic;
    if (!topic) {
      box.innerHTML = '';
      return;
    }
    const stats = catalog.topicStats.get(topic.name) || {};
    box.innerHTML = `<div class="stats">
      <div class="stat"><div class="stat-label">Partitions</div><div class="stat-value">${topic.partitions.length}</div></div>
      <div class="stat"><div class="stat-label">Messages</div><div class="stat-value">${fmtInt(stats.messages)}</div></div>
      <div class="stat"><div class="stat-label">Rate</div><div class="stat-value">${fmtRate(stats.rate)}</div></div>
      ${topic.partitions.slice(0, 6).map((p) => `<div class="stat small"><div class="stat-label">Partition ${p.partition}</div><div class="stat-value">${fmtInt(p.start)} – ${fmtInt(p.end)}</div><div class="stat-sub">offsets</div></div>`).join('')}
    </div>`;
    const want = `all|${topic.partitions.map((p) => p.partition).join('|')}`;
    if (sel.dataset.sig !== want) {
      sel.innerHTML = `<option value="all">all</option>` + topic.partitions.map((p) => `<option value="${p.partition}">${p.partition}</option>`).join('');
      sel.dataset.sig = want;
      sel.value = this.state.partition;
      if (sel.value !== String(this.state.partition)) { sel.value = 'all'; this.state.partition = 'all'; }
    }
  }

  /** Moves a page back (-1) or forward (1) from the records shown. */
  page(dir) {
    const s = this.state;
    const recs = this.records || [];
    if (s.partition === 'all') {
      // Per partition: the page before the first shown, or after the last.
      s.positions = {};
      for (const p of this.partitionsOf()) {
        const mine = recs.filter((r) => r.partition === p);
        const first = mine.length ? mine[0].offset : (this.ends?.[p] ?? 0);
        const last = mine.length ? mine[mine.length - 1].offset + 1 : (this.ends?.[p] ?? 0);
        s.positions[p] = dir < 0 ? Math.max(0, first - s.limit) : last;
      }
      s.from = 'positions';
    } else {
      const first = recs.length ? recs[0].offset : s.offset;
      const last = recs.length ? recs[recs.length - 1].offset + 1 : s.offset;
      s.offset = dir < 0 ? Math.max(0, first - s.limit) : last;
      s.from = 'offset';
      this.root.querySelector('[data-k=offset]').value = s.offset;
    }
    s.live = false;
    this.root.querySelector('[data-k=live]').checked = false;
    this.root.querySelector('[data-k=from]').value = s.from === 'positions' ? 'offset' : s.from;
    this.root.querySelector('.offset-ctl').hidden = s.from !== 'offset';
    this.load();
  }

  partitionsOf() {
    const topic = catalog.topics.find((t) => t.name === this.topic);
    if (this.state.partition !== 'all') return [Number(this.state.partition)];
    return topic ? topic.partitions.map((p) => p.partition) : [0];
  }

  async load() {
    clearTimeout(this.liveTimer);
    const s = this.state;
    const name = this.topic;
    const seq = (this.seq = (this.seq || 0) + 1);
    const parts = this.partitionsOf();
    // A topic not there yet (an empty processing log): shown when it appears.
    this.waiting = !catalog.topics.some((t) => t.name === name);
    if (this.waiting) {
      this.records = [];
      this.root.querySelector('.records-info').textContent = '';
      this.root.querySelector('.records').innerHTML = `<div class="empty-state"><p class="muted">${name === PROCESSING_LOG_TOPIC
        ? 'No record has failed processing: the processing log is empty. Records a query cannot read or compute show here.'
        : 'This topic does not exist (yet). It shows here when it is created.'}</p></div>`;
      return;
    }
    try {
      const answers = await Promise.all(parts.map((p) => {
        const q = new URLSearchParams({ partition: p, limit: s.limit });
        if (s.from === 'beginning') q.set('offset', 0);
        else if (s.from === 'offset') q.set('offset', s.offset);
        else if (s.from === 'positions') q.set('offset', s.positions[p] ?? 0);
        else q.set('offset', 'end');
        return getJSON(`/api/topics/${encodeURIComponent(name)}/records?${q}`);
      }));
      if (seq !== this.seq) return;
      let records = answers.flatMap((a) => a.records);
      if (parts.length > 1) records.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
      this.ends = Object.fromEntries(answers.map((a) => [a.partition, a.end]));
      this.records = records;
      const total = answers.reduce((a, x) => a + (x.end - x.start), 0);
      const where = s.from === 'end' ? 'the latest' : s.from === 'beginning' ? 'the first' : '';
      this.root.querySelector('.records-info').textContent = records.length
        ? `${where ? `Showing ${where} ${fmtInt(records.length)}` : `Showing ${fmtInt(records.length)}`} of ${fmtInt(total)} record${total === 1 ? '' : 's'}${parts.length > 1 ? ` in ${parts.length} partitions (up to ${s.limit} each), by timestamp` : ` in partition ${parts[0]}`}${s.live ? ' · live' : ''}`
        : '';
      this.renderRecords();
    } catch (e) {
      if (seq !== this.seq) return;
      this.records = [];
      this.root.querySelector('.records').innerHTML = `<div class="empty-state"><p class="${e.status === 404 ? 'muted' : 'error-text'}">${escapeHtml(e.status === 404 && name === PROCESSING_LOG_TOPIC ? 'No record has failed processing: the processing log is empty.' : e.message)}</p></div>`;
    }
    if (s.live && !this.root.hidden) this.liveTimer = setTimeout(() => this.load(), 1000);
  }

  renderRecords() {
    const box = this.root.querySelector('.records');
    if (!box) return;
    const recs = this.records || [];
    if (!recs.length) {
      box.innerHTML = `<div class="empty-state"><p class="muted">No records here${this.state.live ? ' yet: new ones appear as they arrive' : ''}.</p></div>`;
      return;
    }
    const open = new Set([...box.querySelectorAll('.rec.open')].map((r) => r.dataset.id));
    const as = this.state.as;
    const rows = (this.state.from === 'end' ? recs.slice().reverse() : recs).map((r) => {
      const id = `${r.partition}:${r.offset}`;
      const key = decode(r.key === null ? null : fromBase64(r.key), as === 'json' ? 'auto' : as);
      const value = decode(r.value === null ? null : fromBase64(r.value), as);
      const headers = r.headers.map((h) => ({ key: h.key, value: decode(h.value === null ? null : fromBase64(h.value), as === 'json' ? 'auto' : as) }));
      return `<div class="rec ${open.has(id) ? 'open' : ''}" data-id="${id}">
        <div class="rec-line">
          <span class="rec-pos" title="partition ${r.partition}, offset ${r.offset}"><b>${r.partition}</b>:${r.offset}</span>
          <time title="${r.timestamp}">${fmtTime(r.timestamp)}</time>
          <span class="rec-key ${key.kind}" title="key">${escapeHtml(key.text)}</span>
          <span class="rec-value ${value.kind}">${value.kind === 'json' ? jsonHtml(value.value) : escapeHtml(value.kind === 'null' ? 'null (tombstone)' : value.text)}</span>
          ${headers.length ? `<span class="tag">${headers.length} header${headers.length === 1 ? '' : 's'}</span>` : ''}
        </div>
        <div class="rec-detail">
          <dl>
            <dt>Partition</dt><dd>${r.partition}</dd><dt>Offset</dt><dd>${r.offset}</dd>
            <dt>Timestamp</dt><dd>${fmtTime(r.timestamp)} <span class="muted">(${r.timestamp})</span></dd>
            <dt>Key</dt><dd><code>${escapeHtml(key.text)}</code> <span class="muted">${key.kind}</span></dd>
            ${headers.map((h) => `<dt>Header</dt><dd><code>${escapeHtml(h.key)}</code> = <code>${escapeHtml(h.value.text)}</code></dd>`).join('')}
          </dl>
          <pre class="code-block">${value.kind === 'json' ? jsonHtml(value.value, true) : escapeHtml(value.text)}</pre>
        </div></div>`;
    });
    box.innerHTML = rows.join('');
  }
}

// The dashboard's entry point: routes (#/sql, #/source/X, #/query/Q, #/topics, #/topic/T,
// #/processing-log, #/types, #/dashboards, #/dashboards/ID), the theme, keyboard shortcuts and
// the server's status.

import { catalog, renderSidebar, PROCESSING_LOG_TOPIC } from './catalog.js';
import { Workbench } from './workbench.js';
import { Detail } from './detail.js';
import { Topics } from './topics.js';
import { Dashboards } from './dashboards.js';
import { escapeHtml, html, dialog } from './util.js';

const views = {};
const el = (id) => document.getElementById(id);

function route() {
  const hash = location.hash || '#/sql';
  const [path, query] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  const head = parts[0] || 'sql';
  if (head === 'source' || head === 'query') return { view: 'detail', nav: null, kind: head, name: parts[1] };
  if (head === 'types') return { view: 'detail', nav: null, kind: 'types' };
  if (head === 'topics') return { view: 'topics', nav: 'topics', name: null };
  if (head === 'topic') return { view: 'topics', nav: 'topics', name: parts[1], params };
  if (head === 'processing-log') return { view: 'topics', nav: null, name: PROCESSING_LOG_TOPIC, params };
  if (head === 'dashboards') return { view: 'dashboards', nav: 'dashboards', id: parts[1] || null };
  return { view: 'sql', nav: 'sql' };
}

function navigate() {
  const r = route();
  document.querySelectorAll('#main > .view').forEach((v) => { v.hidden = v.dataset.view !== r.view; });
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('on', a.dataset.nav === r.nav));
  if (r.view !== 'dashboards') views.dashboards.hide();
  if (r.view !== 'topics') views.topics.hide();
  if (r.view === 'sql') {
    views.sql.show();
    document.title = 'SQL · Flusso';
  } else if (r.view === 'detail') {
    views.detail.show(r);
    document.title = `${r.name || 'Types'} · Flusso`;
  } else if (r.view === 'topics') {
    views.topics.show(r.name, r.params || {});
    document.title = `${r.name || 'Topics'} · Flusso`;
  } else if (r.view === 'dashboards') {
    views.dashboards.show(r.id);
    document.title = 'Dashboards · Flusso';
  }
  renderSidebar(el('sidebar'));
  el('main').scrollTop = 0;
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('flusso.theme', theme);
  window.dispatchEvent(new CustomEvent('themechange'));
}

function shortcuts() {
  const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';
  const rows = [
    [`${mod} + Enter`, 'Run the selection, or every statement'],
    ['Esc', 'Stop the running query; close a list or dialog'],
    [`${mod} + Space`, 'Complete a keyword, name or function'],
    [`${mod} + /`, 'Comment or uncomment the lines'],
    [`${mod} + S`, 'Save the dashboard'],
    ['?', 'These shortcuts'],
  ];
  const body = html(`<table class="table shortcuts">${rows.map(([k, d]) => `<tr><td><kbd>${escapeHtml(k)}</kbd></td><td>${escapeHtml(d)}</td></tr>`).join('')}</table>`);
  dialog('Keyboard shortcuts', body, [{ label: 'Close', primary: true, value: true }]);
}

function serverStatus() {
  const s = el('server-status');
  if (catalog.online === false) {
    s.className = 'server-status off';
    s.textContent = 'server unreachable';
    s.title = catalog.error || '';
  } else if (catalog.online) {
    const info = catalog.server || {};
    s.className = 'server-status on';
    s.textContent = `${(info.serverStatus || 'running').toLowerCase()} · v${info.version || ''}`;
    s.title = `Flusso ${info.version || ''} · ${info.kafkaClusterId || ''}`;
  }
}

function main() {
  views.sql = new Workbench(el('view-sql'));
  views.detail = new Detail(el('view-detail'), views.sql);
  views.topics = new Topics(el('view-topics'));
  views.dashboards = new Dashboards(el('view-dashboards'));
  catalog.onChange(() => {
    renderSidebar(el('sidebar'));
    serverStatus();
  });
  el('theme-btn').addEventListener('click', () => setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
  el('shortcuts-btn').addEventListener('click', shortcuts);
  window.addEventListener('hashchange', navigate);
  document.addEventListener('keydown', (e) => {
    const typing = e.target.closest && e.target.closest('input, textarea, select, [contenteditable]');
    if (document.querySelector('dialog[open]')) return;
    const sqlView = !el('view-sql').hidden;
    if (sqlView && (e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      views.sql.run();
    } else if (e.key === 'Escape' && sqlView) {
      views.sql.stop();
    } else if (e.key === '?' && !typing) {
      e.preventDefault();
      shortcuts();
    }
  });
  renderSidebar(el('sidebar'));
  navigate();
  catalog.start();
}

main();

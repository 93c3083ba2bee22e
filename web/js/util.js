// Small helpers shared by the views.

import { escapeHtml } from './sql.js';

export { escapeHtml };

/** An element from HTML text. */
export function html(text) {
  const t = document.createElement('template');
  t.innerHTML = text.trim();
  return t.content.firstElementChild;
}

/** A short message in the corner: kind 'info', 'ok' or 'error'. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = document.createElement('div');
  el.className = `toast toast-${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  el.textContent = message;
  box.appendChild(el);
  setTimeout(() => el.classList.add('out'), kind === 'error' ? 6000 : 3000);
  setTimeout(() => el.remove(), kind === 'error' ? 6400 : 3400);
}

export function fmtInt(n) {
  return Number(n || 0).toLocaleString('en-US');
}

export function fmtRate(r) {
  if (r === undefined || r === null || Number.isNaN(r)) return '–';
  if (r === 0) return '0/s';
  if (r < 10) return `${r.toFixed(1)}/s`;
  return `${Math.round(r).toLocaleString('en-US')}/s`;
}

export function fmtTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** A modal dialog: `body` an element; buttons [{label, primary?, danger?, value}]; answers the value. */
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const d = html(`<dialog class="modal"><form method="dialog">
      <header><h2>${escapeHtml(title)}</h2></header><div class="modal-body"></div>
      <footer>${buttons.map((b, i) => `<button value="${i}" class="btn ${b.primary ? 'primary' : ''} ${b.danger ? 'danger' : ''}">${escapeHtml(b.label)}</button>`).join('')}</footer>
      </form></dialog>`);
    d.querySelector('.modal-body').appendChild(body);
    document.body.appendChild(d);
    d.addEventListener('close', () => {
      const i = Number(d.returnValue);
      d.remove();
      resolve(Number.isInteger(i) && buttons[i] ? buttons[i].value : null);
    });
    d.showModal();
    const first = body.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

/** Asks for confirmation. */
export async function confirmDialog(title, message, action = 'OK', danger = false) {
  const body = html(`<p class="confirm-text">${escapeHtml(message)}</p>`);
  return (await dialog(title, body, [{ label: 'Cancel', value: false }, { label: action, primary: !danger, danger, value: true }])) === true;
}

/** Decodes base64 to bytes. */
export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hex(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
  return out;
}

/** Bytes as text: 'json' (pretty when it parses), 'string', 'hex' or 'auto'. */
export function decode(bytes, as) {
  if (bytes === null) return { kind: 'null', text: 'null' };
  if (as === 'hex') return { kind: 'hex', text: hex(bytes) };
  let text = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  if (as === 'string') return { kind: 'string', text: text ?? new TextDecoder().decode(bytes) };
  if (text !== null && (as === 'json' || as === 'auto')) {
    const t = text.trim();
    if (t && '{["tfn-0123456789'.includes(t[0])) {
      try {
        return { kind: 'json', text: JSON.stringify(JSON.parse(t)), value: JSON.parse(t) };
      } catch { /* not JSON */ }
    }
    if (as === 'json') return { kind: 'invalid', text };
  }
  // eslint-disable-next-line no-control-regex
  if (text !== null && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { kind: 'string', text };
  return { kind: 'hex', text: hex(bytes) };
}

/** A JSON value as highlighted HTML (pretty or on one line). */
export function jsonHtml(value, pretty = false, indent = '') {
  const next = indent + '  ';
  if (value === null) return '<span class="j-null">null</span>';
  if (typeof value === 'string') return `<span class="j-str">${escapeHtml(JSON.stringify(value))}</span>`;
  if (typeof value === 'number') return `<span class="j-num">${value}</span>`;
  if (typeof value === 'boolean') return `<span class="j-bool">${value}</span>`;
  const nl = pretty ? '\n' : '';
  const sp = pretty ? ' ' : '';
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return `[${nl}${value.map((v) => (pretty ? next : '') + jsonHtml(v, pretty, next)).join(`,${pretty ? nl : ' '}`)}${nl}${pretty ? indent : ''}]`;
  }
  const keys = Object.keys(value);
  if (!keys.length) return '{}';
  return `{${nl}${keys.map((k) => `${pretty ? next : ''}<span class="j-key">${escapeHtml(JSON.stringify(k))}</span>:${sp}${jsonHtml(value[k], pretty, next)}`).join(`,${pretty ? nl : ' '}`)}${nl}${pretty ? indent : ''}}`;
}

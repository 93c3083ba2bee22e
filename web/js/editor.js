// A SQL editor: a textarea over a highlighted copy of its text (same font, same scroll), with
// line numbers, completion, and errors underlined at their place.

import { highlight, lineCol, tokenize, escapeHtml } from './sql.js';

const IDENT = /[A-Za-z0-9_]/;

export class SqlEditor {
  /**
   * `options`: `complete(context)` → [{label, kind, detail?, insert?}] for completion;
   * `onRun()` (Ctrl/Cmd-Enter), `onCancel()` (Escape with nothing to close), `onChange(text)`,
   * `placeholder`.
   */
  constructor(container, options = {}) {
    this.options = options;
    this.errors = [];
    this.el = document.createElement('div');
    this.el.className = 'editor';
    this.el.innerHTML = `
      <div class="gutter" aria-hidden="true"><div class="gutter-inner"></div></div>
      <div class="code">
        <pre class="highlight" aria-hidden="true"></pre>
        <textarea spellcheck="false" autocapitalize="off" autocomplete="off" autocorrect="off"
          aria-label="SQL editor" wrap="off"></textarea>
      </div>
      <ul class="completions" role="listbox" hidden></ul>`;
    container.appendChild(this.el);
    this.gutter = this.el.querySelector('.gutter-inner');
    this.pre = this.el.querySelector('pre');
    this.ta = this.el.querySelector('textarea');
    this.popup = this.el.querySelector('.completions');
    if (options.placeholder) this.ta.placeholder = options.placeholder;
    this.items = [];
    this.active = 0;
    this.ta.addEventListener('input', () => this.onInput());
    this.ta.addEventListener('scroll', () => this.syncScroll());
    this.ta.addEventListener('keydown', (e) => this.onKey(e));
    this.ta.addEventListener('blur', () => setTimeout(() => this.closePopup(), 150));
    this.ta.addEventListener('click', () => this.closePopup());
    this.popup.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li');
      if (!li) return;
      e.preventDefault();
      this.accept(Number(li.dataset.i));
    });
    this.render();
  }

  get value() { return this.ta.value; }

  set value(text) {
    this.ta.value = text;
    this.errors = [];
    this.render();
  }

  focus() { this.ta.focus(); }

  /** The selected text and where it starts, or null when nothing is selected. */
  selection() {
    const { selectionStart: s, selectionEnd: e } = this.ta;
    if (s === e || !this.ta.value.slice(s, e).trim()) return null;
    return { text: this.ta.value.slice(s, e), start: s };
  }

  /** Replaces the whole text (undoable), keeping focus. */
  replaceAll(text) {
    this.ta.focus();
    this.ta.select();
    if (!document.execCommand('insertText', false, text)) this.ta.value = text;
    this.onInput();
  }

  /** Inserts text at the caret (undoable). */
  insert(text) {
    this.ta.focus();
    if (!document.execCommand('insertText', false, text)) {
      const { selectionStart: s, selectionEnd: e, value } = this.ta;
      this.ta.value = value.slice(0, s) + text + value.slice(e);
      this.ta.selectionStart = this.ta.selectionEnd = s + text.length;
    }
    this.onInput();
  }

  /** Errors to show: [{start, end, message}] (offsets in the text). */
  setErrors(errors) {
    this.errors = errors;
    this.render();
  }

  /** Moves the caret to an offset and scrolls it into view. */
  goTo(offset) {
    this.ta.focus();
    this.ta.setSelectionRange(offset, offset);
    const { line } = lineCol(this.ta.value, offset);
    const lh = this.lineHeight();
    const top = (line - 1) * lh;
    if (top < this.ta.scrollTop || top > this.ta.scrollTop + this.ta.clientHeight - 2 * lh) {
      this.ta.scrollTop = Math.max(0, top - this.ta.clientHeight / 2);
    }
  }

  lineHeight() {
    return parseFloat(getComputedStyle(this.ta).lineHeight) || 20;
  }

  onInput() {
    if (this.errors.length) this.errors = [];
    this.render();
    this.options.onChange?.(this.ta.value);
    this.updateCompletion(false);
  }

  render() {
    const text = this.ta.value;
    const marks = this.errors.map((e) => ({ start: e.start, end: Math.max(e.end, e.start + 1), cls: 'err-mark' }));
    this.pre.innerHTML = highlight(text, marks) + (text.endsWith('\n') || !text ? ' ' : '');
    const lines = text.split('\n').length;
    const errorLines = new Map();
    for (const e of this.errors) errorLines.set(lineCol(text, e.start).line, e.message);
    let html = '';
    for (let i = 1; i <= lines; i++) {
      const msg = errorLines.get(i);
      html += msg ? `<div class="err" title="${escapeHtml(msg)}">${i}</div>` : `<div>${i}</div>`;
    }
    this.gutter.innerHTML = html;
    this.syncScroll();
  }

  syncScroll() {
    const { scrollLeft: x, scrollTop: y } = this.ta;
    this.pre.style.transform = `translate(${-x}px, ${-y}px)`;
    this.gutter.style.transform = `translateY(${-y}px)`;
    if (!this.popup.hidden) this.placePopup();
  }

  onKey(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (!this.popup.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = this.items.length;
        this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.renderPopup();
        return;
      }
      if ((e.key === 'Enter' && !mod) || e.key === 'Tab') {
        e.preventDefault();
        this.accept(this.active);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        this.closePopup();
        return;
      }
    }
    if (mod && e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      this.options.onRun?.();
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      this.options.onCancel?.();
    } else if (mod && (e.key === ' ' || e.code === 'Space')) {
      e.preventDefault();
      this.updateCompletion(true);
    } else if (e.key === 'Tab' && !e.shiftKey) {
      e.preventDefault();
      this.insert('  ');
    } else if (e.key === 'Enter' && !mod && !e.shiftKey && !e.altKey) {
      // Keep the indentation of the line.
      e.preventDefault();
      const { value, selectionStart: s } = this.ta;
      const lineStart = value.lastIndexOf('\n', s - 1) + 1;
      const indent = /^[ \t]*/.exec(value.slice(lineStart, s))[0];
      this.insert('\n' + indent);
    } else if (mod && e.key === '/') {
      e.preventDefault();
      this.toggleComment();
    }
  }

  toggleComment() {
    const { value, selectionStart: s, selectionEnd: e } = this.ta;
    const from = value.lastIndexOf('\n', s - 1) + 1;
    let to = value.indexOf('\n', e > s && value[e - 1] === '\n' ? e - 1 : e);
    if (to < 0) to = value.length;
    const lines = value.slice(from, to).split('\n');
    const commented = lines.every((l) => !l.trim() || /^\s*--/.test(l));
    const next = lines.map((l) => (commented ? l.replace(/^(\s*)-- ?/, '$1') : l.trim() ? '-- ' + l : l)).join('\n');
    this.ta.setSelectionRange(from, to);
    this.insert(next);
    this.ta.setSelectionRange(from, from + next.length);
  }

  /** The word being typed before the caret, the name before a `.`, and the keyword before. */
  context() {
    const { value, selectionStart: pos } = this.ta;
    let start = pos;
    while (start > 0 && IDENT.test(value[start - 1])) start--;
    const prefix = value.slice(start, pos);
    let qualifier = null;
    if (value[start - 1] === '.') {
      let q = start - 1;
      while (q > 0 && IDENT.test(value[q - 1])) q--;
      qualifier = value.slice(q, start - 1).toUpperCase();
    }
    // The statement around the caret, and the keyword before the word.
    const before = value.slice(0, start);
    const stmtStart = before.lastIndexOf(';') + 1;
    let stmtEnd = value.indexOf(';', pos);
    if (stmtEnd < 0) stmtEnd = value.length;
    const statement = value.slice(stmtStart, stmtEnd);
    const words = tokenize(value.slice(stmtStart, start)).filter((t) => t.type !== 'ws' && t.type !== 'comment');
    const last = words[words.length - 1];
    const prevWord = last ? value.slice(stmtStart + last.start, stmtStart + last.end).toUpperCase() : '';
    const toks = tokenize(value.slice(stmtStart, pos));
    const t = toks[toks.length - 1];
    const inString = !!t && t.end === pos - stmtStart
      && ((t.type === 'string' && !isClosed(value.slice(stmtStart + t.start, pos))) || t.type === 'comment');
    return { prefix, start, pos, qualifier, prevWord, statement, inString };
  }

  updateCompletion(explicit) {
    if (!this.options.complete) return;
    const ctx = this.context();
    if (ctx.inString || (!explicit && !ctx.prefix && !ctx.qualifier)) {
      this.closePopup();
      return;
    }
    const items = this.options.complete(ctx).slice(0, 50);
    if (!items.length || (!explicit && items.length === 1 && items[0].label.toUpperCase() === ctx.prefix.toUpperCase())) {
      this.closePopup();
      return;
    }
    this.items = items;
    this.ctx = ctx;
    this.active = 0;
    this.popup.hidden = false;
    this.renderPopup();
    this.placePopup();
  }

  renderPopup() {
    this.popup.innerHTML = this.items
      .map((it, i) => `<li role="option" data-i="${i}" class="${i === this.active ? 'active' : ''}">
        <span class="c-kind c-${it.kind}">${kindIcon(it.kind)}</span>
        <span class="c-label">${escapeHtml(it.label)}</span>
        <span class="c-detail">${escapeHtml(it.detail || it.kind)}</span></li>`)
      .join('');
    const li = this.popup.children[this.active];
    if (li) li.scrollIntoView({ block: 'nearest' });
  }

  placePopup() {
    const { line, col } = lineCol(this.ta.value, this.ctx ? this.ctx.start : this.ta.selectionStart);
    const cw = this.charWidth();
    const lh = this.lineHeight();
    const code = this.el.querySelector('.code');
    const pad = 12;
    let x = code.offsetLeft + pad + (col - 1) * cw - this.ta.scrollLeft - 28;
    let y = 10 + line * lh - this.ta.scrollTop + 2;
    const width = 380;
    x = Math.max(4, Math.min(x, this.el.clientWidth - width - 4));
    if (y + 220 > this.el.clientHeight && y - lh - 224 > 0) y = y - lh - 226;
    this.popup.style.left = `${x}px`;
    this.popup.style.top = `${y}px`;
  }

  charWidth() {
    if (!this._cw) {
      const span = document.createElement('span');
      span.textContent = 'M'.repeat(20);
      span.style.visibility = 'hidden';
      this.pre.appendChild(span);
      this._cw = span.getBoundingClientRect().width / 20 || 8;
      span.remove();
    }
    return this._cw;
  }

  closePopup() {
    this.popup.hidden = true;
    this.items = [];
  }

  accept(i) {
    const item = this.items[i];
    if (!item) return;
    const { start, pos } = this.ctx;
    const { value } = this.ta;
    let end = pos;
    while (end < value.length && IDENT.test(value[end])) end++;
    this.ta.focus();
    this.ta.setSelectionRange(start, end);
    const text = item.insert || item.label;
    this.closePopup();
    if (!document.execCommand('insertText', false, text)) {
      this.ta.value = value.slice(0, start) + text + value.slice(end);
      this.ta.selectionStart = this.ta.selectionEnd = start + text.length;
    }
    if (this.errors.length) this.errors = [];
    this.render();
    this.options.onChange?.(this.ta.value);
  }
}

/** Whether a string token is closed: its quotes pair up. */
function isClosed(str) {
  return (str.match(/'/g) || []).length % 2 === 0;
}

function kindIcon(kind) {
  return { keyword: 'K', stream: 'S', table: 'T', column: 'C', function: 'ƒ', topic: '#', type: 'τ', query: 'Q' }[kind] || '·';
}

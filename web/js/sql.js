// ksqlDB's SQL for the editor: a tokenizer (for highlighting and completion), a statement
// splitter that keeps each statement's place in the buffer, and error positions.

export const KEYWORDS = [
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'HAVING', 'EMIT', 'CHANGES', 'FINAL', 'LIMIT',
  'CREATE', 'OR', 'REPLACE', 'STREAM', 'TABLE', 'AS', 'WITH', 'INSERT', 'INTO', 'VALUES',
  'DROP', 'DELETE', 'TOPIC', 'TERMINATE', 'SHOW', 'LIST', 'DESCRIBE', 'EXTENDED', 'EXPLAIN',
  'PRINT', 'BEGINNING', 'INTERVAL', 'PARTITION', 'PARTITIONS', 'WINDOW', 'TUMBLING',
  'HOPPING', 'SESSION', 'SIZE', 'ADVANCE', 'GRACE', 'PERIOD', 'RETENTION', 'JOIN', 'LEFT',
  'RIGHT', 'FULL', 'OUTER', 'INNER', 'ON', 'WITHIN', 'AND', 'NOT', 'NULL', 'IS', 'IN',
  'BETWEEN', 'LIKE', 'ESCAPE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'CAST', 'TRUE', 'FALSE',
  'KEY', 'PRIMARY', 'HEADERS', 'HEADER', 'IF', 'EXISTS', 'STREAMS', 'TABLES', 'QUERIES',
  'TOPICS', 'TYPES', 'FUNCTIONS', 'PROPERTIES', 'VARIABLES', 'FUNCTION', 'TYPE', 'SET',
  'UNSET', 'DEFINE', 'UNDEFINE', 'ALL', 'DISTINCT', 'STRUCT', 'ARRAY', 'MAP',
  'MILLISECOND', 'MILLISECONDS', 'SECOND', 'SECONDS', 'MINUTE', 'MINUTES', 'HOUR', 'HOURS',
  'DAY', 'DAYS', 'EXPLODE', 'ASC', 'DESC',
];

export const TYPES = [
  'STRING', 'VARCHAR', 'INT', 'INTEGER', 'BIGINT', 'DOUBLE', 'DECIMAL', 'BOOLEAN', 'DATE',
  'TIME', 'TIMESTAMP', 'BYTES',
];

const KEYWORD_SET = new Set(KEYWORDS);
const TYPE_SET = new Set(TYPES);

/** Token kinds: kw, type, ident, qident, string, number, comment, op, punct, var, ws. */
export function tokenize(text) {
  const out = [];
  const n = text.length;
  let i = 0;
  const push = (type, start, end) => out.push({ type, start, end });
  while (i < n) {
    const c = text[i];
    const start = i;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      while (i < n && /\s/.test(text[i])) i++;
      push('ws', start, i);
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
      push('comment', start, i);
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      push('comment', start, i);
    } else if (c === "'") {
      i++;
      while (i < n) {
        if (text[i] === "'") {
          if (text[i + 1] === "'") { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      push('string', start, i);
    } else if (c === '`' || c === '"') {
      const close = text.indexOf(c, i + 1);
      i = close < 0 ? n : close + 1;
      push('qident', start, i);
    } else if (c === '$' && text[i + 1] === '{') {
      const close = text.indexOf('}', i + 2);
      i = close < 0 ? n : close + 1;
      push('var', start, i);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] || ''))) {
      while (i < n && /[0-9.]/.test(text[i])) i++;
      if (i < n && /[eE]/.test(text[i]) && /[-+0-9]/.test(text[i + 1] || '')) {
        i += 2;
        while (i < n && /[0-9]/.test(text[i])) i++;
      }
      push('number', start, i);
    } else if (/[A-Za-z_@]/.test(c) || c > '\u007f') {
      while (i < n && (/[A-Za-z0-9_@$]/.test(text[i]) || text[i] > '\u007f')) i++;
      const word = text.slice(start, i).toUpperCase();
      push(KEYWORD_SET.has(word) ? 'kw' : TYPE_SET.has(word) ? 'type' : 'ident', start, i);
    } else if (c === ';' || c === ',' || c === '(' || c === ')' || c === '.' || c === '[' || c === ']') {
      i++;
      push('punct', start, i);
    } else {
      i++;
      while (i < n && /[<>=!|*+\-/%:]/.test(text[i]) && /[<>=!|:]/.test(c)) i++;
      push('op', start, i);
    }
  }
  return out;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
export function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (ch) => ESCAPES[ch]);
}

/**
 * HTML of `text` highlighted; `marks` are [{start, end, cls}] ranges wrapped in a span of
 * that class (errors). Marks may not overlap one another.
 */
export function highlight(text, marks = []) {
  let html = '';
  for (const t of tokenize(text)) {
    // Cut the token where a mark begins or ends.
    const cuts = new Set([t.start, t.end]);
    for (const m of marks) {
      if (m.start > t.start && m.start < t.end) cuts.add(m.start);
      if (m.end > t.start && m.end < t.end) cuts.add(m.end);
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const [s, e] = [points[i], points[i + 1]];
      const mark = marks.find((m) => m.start <= s && e <= m.end);
      const cls = [t.type === 'ws' ? '' : `t-${t.type}`, mark ? mark.cls : ''].filter(Boolean).join(' ');
      const piece = escapeHtml(text.slice(s, e));
      html += cls ? `<span class="${cls}">${piece}</span>` : piece;
    }
  }
  // A mark at or past the end (an error at the end of input) shows as a small box.
  for (const m of marks) if (m.start >= text.length) html += `<span class="${m.cls} at-end"> </span>`;
  return html;
}

/**
 * The statements of a buffer, split at `;` outside strings and comments: [{text, start, end}],
 * `start` the offset of the statement's first character in the buffer. Blank pieces (only
 * whitespace and comments) are skipped; a last statement without `;` is kept.
 */
export function splitStatements(text, base = 0) {
  const out = [];
  let begin = null;
  for (const t of tokenize(text)) {
    if (t.type === 'ws' || t.type === 'comment') continue;
    if (begin === null) begin = t.start;
    if (t.type === 'punct' && text[t.start] === ';') {
      out.push({ text: text.slice(begin, t.end), start: base + begin, end: base + t.end });
      begin = null;
    }
  }
  if (begin !== null) {
    const rest = text.slice(begin).replace(/\s+$/, '');
    out.push({ text: rest, start: base + begin, end: base + begin + rest.length });
  }
  return out;
}

/** What a statement is: 'pull' or 'push' (SELECT), 'print', or 'statement' (via /ksql). */
export function statementKind(text) {
  const words = tokenize(text).filter((t) => t.type !== 'ws' && t.type !== 'comment');
  const first = words[0] ? text.slice(words[0].start, words[0].end).toUpperCase() : '';
  if (first === 'PRINT') return 'print';
  if (first !== 'SELECT') return 'statement';
  for (let i = 0; i + 1 < words.length; i++) {
    const a = text.slice(words[i].start, words[i].end).toUpperCase();
    const b = text.slice(words[i + 1].start, words[i + 1].end).toUpperCase();
    if (a === 'EMIT' && (b === 'CHANGES' || b === 'FINAL')) return 'push';
  }
  return 'pull';
}

/** 1-based line and column of an offset. */
export function lineCol(text, offset) {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; last = i; }
  }
  return { line, col: offset - last };
}

/** The offset of a 1-based line and column. */
export function offsetOf(text, line, col) {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(offset + Math.max(col - 1, 0), text.length);
}

/**
 * Where an error message points in the statement `stmt`: an offset inside it, or null.
 * Parse errors name "line L:C" (or ksqlDB's "Line: L, Col: C"); errors about a name
 * ("column 'X' cannot be resolved", "X does not exist", "function ... 'X'") point at that name.
 */
export function errorOffset(stmt, message) {
  const m = /line (\d+):(\d+)/i.exec(message) || /Line: (\d+), Col: (\d+)/.exec(message);
  if (m) return offsetOf(stmt, Number(m[1]), Number(m[2]));
  const names = [];
  for (const q of message.matchAll(/'([^']{1,128})'/g)) names.push(q[1]);
  const dne = /^([A-Za-z_][\w]*) does not exist/.exec(message);
  if (dne) names.push(dne[1]);
  for (const name of names) {
    const at = findWord(stmt, name);
    if (at !== null) return at;
  }
  return null;
}

/** Offset of the identifier `name` (any case, outside strings and comments) in `text`. */
export function findWord(text, name) {
  const want = name.toUpperCase().replace(/^`|`$/g, '');
  for (const t of tokenize(text)) {
    if (t.type !== 'ident' && t.type !== 'kw' && t.type !== 'type' && t.type !== 'qident') continue;
    let w = text.slice(t.start, t.end);
    if (t.type === 'qident') w = w.slice(1, -1);
    else w = w.toUpperCase();
    if (w === want) return t.start;
  }
  return null;
}

/** The token range at `offset` (for error underlines): {start, end}. */
export function tokenAt(text, offset) {
  for (const t of tokenize(text)) {
    if (t.start <= offset && offset < t.end && t.type !== 'ws') return { start: t.start, end: t.end };
    if (t.start > offset) return t.type === 'ws' ? { start: offset, end: offset + 1 } : { start: t.start, end: t.end };
  }
  return { start: offset, end: offset + 1 };
}

/** The sources a statement names after FROM, JOIN, INTO, DESCRIBE, TABLE or STREAM. */
export function referencedNames(text) {
  const words = tokenize(text).filter((t) => t.type !== 'ws' && t.type !== 'comment');
  const out = new Set();
  for (let i = 0; i + 1 < words.length; i++) {
    const kw = text.slice(words[i].start, words[i].end).toUpperCase();
    if (['FROM', 'JOIN', 'INTO', 'DESCRIBE', 'TABLE', 'STREAM'].includes(kw)) {
      const t = words[i + 1];
      if (t.type === 'ident' || t.type === 'qident') {
        let w = text.slice(t.start, t.end);
        out.add(t.type === 'qident' ? w.slice(1, -1) : w.toUpperCase());
      }
    }
  }
  return out;
}

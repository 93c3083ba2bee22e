// The server's API as the page uses it: statements (/ksql), streamed queries (/query-stream,
// /close-query), saved dashboards, topic records and metrics.

/** An error answered by the server: ksqlDB's shape (`@type`, `error_code`, `message`). */
export class ApiError extends Error {
  constructor(body, status) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error_code;
    this.statementText = body && body.statementText;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text };
  }
  if (!response.ok) throw new ApiError(body, response.status);
  return body;
}

export async function getJSON(url) {
  return parse(await fetch(url, { headers: { Accept: 'application/json' } }));
}

export async function sendJSON(method, url, body) {
  return parse(await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

/** Runs statements through /ksql; answers ksqlDB's entities. */
export async function ksql(sql, properties = {}) {
  return sendJSON('POST', '/ksql', { ksql: sql, streamsProperties: properties });
}

/**
 * Starts a query (push or pull) or PRINT on /query-stream and streams what it answers:
 * `onHeader({queryId, columnNames, columnTypes})`, `onRows(rows)` in batches, `onText(line)`
 * for PRINT, then `onEnd()` or `onError(ApiError)`. Answers `{ cancel() }`.
 */
export function streamQuery(sql, properties, handlers) {
  const controller = new AbortController();
  let queryId = null;
  let cancelled = false;
  const run = async () => {
    let response;
    try {
      response = await fetch('/query-stream', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/vnd.ksqlapi.delimited.v1',
        },
        body: JSON.stringify({ sql, properties }),
        signal: controller.signal,
      });
    } catch (e) {
      if (!cancelled) handlers.onError?.(new ApiError({ message: `Cannot reach the server: ${e.message}` }, 0));
      return;
    }
    if (!response.ok) {
      try {
        await parse(response);
      } catch (e) {
        handlers.onError?.(e);
      }
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let header = false;
    let print = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split('\n');
        buffer = lines.pop();
        const rows = [];
        for (const line of lines) {
          if (!line) continue;
          if (print) { handlers.onText?.(line); continue; }
          if (!header) {
            let first;
            try { first = JSON.parse(line); } catch { first = null; }
            if (first && first.columnNames) {
              header = true;
              queryId = first.queryId;
              handlers.onHeader?.(first);
              continue;
            }
            if (first && first.error_code) { handlers.onError?.(new ApiError(first, 400)); return; }
            print = true;
            handlers.onText?.(line);
            continue;
          }
          if (line[0] === '[') {
            rows.push(JSON.parse(line));
          } else {
            const obj = JSON.parse(line);
            if (obj.error_code) {
              if (rows.length) handlers.onRows?.(rows.splice(0));
              handlers.onError?.(new ApiError(obj, 500));
              return;
            }
          }
        }
        if (rows.length) handlers.onRows?.(rows);
      }
      if (!cancelled) handlers.onEnd?.();
    } catch (e) {
      if (!cancelled) handlers.onError?.(new ApiError({ message: `The query stopped: ${e.message}` }, 0));
    }
  };
  const done = run();
  return {
    done,
    get queryId() { return queryId; },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      if (queryId) {
        fetch('/close-query', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ queryId }),
        }).catch(() => {});
      }
      controller.abort();
    },
  };
}

/** A pull query's whole answer: `{columns, types, rows}`. */
export function pullQuery(sql, properties = {}) {
  return new Promise((resolve, reject) => {
    let header = null;
    const rows = [];
    streamQuery(sql, properties, {
      onHeader: (h) => { header = h; },
      onRows: (r) => { for (const row of r) rows.push(row); },
      onText: () => {},
      onEnd: () => resolve({ columns: header ? header.columnNames : [], types: header ? header.columnTypes : [], rows }),
      onError: reject,
    });
  });
}

/** /metrics parsed: name → [{labels, value}]. */
export async function metrics() {
  const text = await (await fetch('/metrics')).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    (out[m[1]] ||= []).push({ labels, value: Number(m[4]) });
  }
  return out;
}

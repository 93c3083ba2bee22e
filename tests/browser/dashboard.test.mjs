// Flusso's dashboard in headless Chromium, against a real server started here:
// statements from the editor, a push query's rows and chart, an error marked in the editor,
// a dashboard of pull-query panels that updates, and the same dashboard reopened after a restart.
//
//   FLUSSO_BIN=../../target/debug/flusso node --test dashboard.test.mjs
//
// Screenshots go to $SCREENSHOT_DIR (default: a temporary directory); SCREENSHOT_DIR=../../docs
// refreshes the README's.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.FLUSSO_BIN || path.resolve(here, '../../target/debug/flusso');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flusso-browser-'));
const SHOTS = process.env.SCREENSHOT_DIR ? path.resolve(process.env.SCREENSHOT_DIR) : path.join(tmp, 'screenshots');
fs.mkdirSync(SHOTS, { recursive: true });
const WAIT = 20_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

class Server {
  constructor(dataDir, httpPort, kafkaPort) {
    Object.assign(this, { dataDir, httpPort, kafkaPort });
    this.url = `http://127.0.0.1:${httpPort}`;
    this.logPath = path.join(tmp, 'server.log');
  }

  async start() {
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(BIN, ['server', '--data-dir', this.dataDir, '--http-listen', `127.0.0.1:${this.httpPort}`,
      '--kafka-listen', `127.0.0.1:${this.kafkaPort}`, '--log-level', 'warn'], { stdio: ['ignore', log, log] });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/healthcheck`);
        if (r.ok) return;
      } catch { /* not yet */ }
      if (this.proc.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`server did not start:\n${fs.readFileSync(this.logPath, 'utf8').slice(-3000)}`);
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  async ksql(sql) {
    const r = await fetch(`${this.url}/ksql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ksql: sql, streamsProperties: {} }),
    });
    const body = await r.json();
    assert.ok(r.ok, `${sql}: ${JSON.stringify(body)}`);
    return body;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
let context;
let page;
let dashboardUrl;
const pageErrors = [];

/** Types into the editor (replacing its text) and runs it with Ctrl+Enter. */
async function runInEditor(sql) {
  const editor = page.locator('#view-sql .editor textarea');
  await editor.fill(sql);
  await editor.press('Control+Enter');
}

/** History for the chart: views per page per minute over the last 20 minutes. */
function history(now) {
  const pages = { home: 9, pricing: 5, docs: 3 };
  const out = [];
  for (let m = 20; m >= 1; m--) {
    const minute = Math.floor((now - m * 60_000) / 60_000) * 60_000;
    for (const [pageName, base] of Object.entries(pages)) {
      const n = Math.max(1, Math.round(base + base * 0.5 * Math.sin(m / 3 + base)));
      for (let i = 0; i < n; i++) {
        const user = `u${(m * 7 + i) % 13}`;
        out.push(`INSERT INTO pageviews (ROWTIME, user_id, page, duration_ms) VALUES (${minute + i * 1000}, '${user}', '${pageName}', ${80 + ((m * 37 + i * 53) % 400)});`);
      }
    }
  }
  return out;
}

describe('dashboard', { timeout: 150_000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(BIN), `no flusso binary at ${BIN} (set FLUSSO_BIN)`);
    assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}`);
    server = new Server(path.join(tmp, 'data'), await freePort(), await freePort());
    await server.start();
    context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await context?.close();
    await server?.stop();
    // The server's log and the screenshots stay in the temporary directory; data and profile go.
    if (!process.env.KEEP_TMP) {
      for (const dir of ['data', 'chromium-profile']) fs.rmSync(path.join(tmp, dir), { recursive: true, force: true });
    }
  });

  test('the page loads at / with the catalog', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('.server-status.on').waitFor();
    await page.locator('#view-sql .editor textarea').waitFor();
    const css = await fetch(`${server.url}/web/app.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /text\/css/);
  });

  test('a stream and a windowed table created from the editor', async () => {
    await runInEditor(`CREATE STREAM pageviews (user_id VARCHAR KEY, page VARCHAR, duration_ms INT)
  WITH (kafka_topic='pageviews', partitions=1, value_format='JSON');

CREATE TABLE views_per_page AS
  SELECT page, COUNT(*) AS views, AVG(duration_ms) AS avg_ms
  FROM pageviews
  WINDOW TUMBLING (SIZE 1 MINUTE)
  GROUP BY page
  EMIT CHANGES;

INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('alice', 'home', 120);
INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('bob', 'pricing', 340);`);
    await page.locator('.sidebar a[href="#/source/PAGEVIEWS"]').waitFor();
    await page.locator('.sidebar a[href="#/source/VIEWS_PER_PAGE"]').waitFor();
    await page.locator('.sidebar .k-query', { hasText: 'CTAS_VIEWS_PER_PAGE' }).waitFor();
    await page.locator('#view-sql .status[data-state="done"]').waitFor();
    assert.equal(await page.locator('#view-sql .error-bar').isVisible(), false);
  });

  test("a push query's rows and chart appear and update as records arrive", async () => {
    await server.ksql(history(Date.now()).join('\n'));
    await runInEditor('SELECT page, WINDOWSTART, views, avg_ms FROM views_per_page EMIT CHANGES;');
    await page.locator('#view-sql .status[data-state="live"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#view-sql .grid-rows .grid-row').length > 10);
    await page.click('#view-sql [data-tab=chart]');
    await page.locator('#view-sql .chart .uplot canvas').waitFor();
    const legend = page.locator('#view-sql .u-legend .u-series');
    await page.waitForFunction(() => document.querySelectorAll('#view-sql .u-legend .u-series').length === 4);
    const before = await legend.allTextContents();
    assert.ok(!before.join(' ').includes('blog'), before.join(' '));
    // A new key arrives while the query runs: a new row, and a new line in the chart.
    await server.ksql("INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('carol', 'blog', 95);");
    await page.waitForFunction(() => [...document.querySelectorAll('#view-sql .u-legend .u-series')].some((s) => s.textContent.includes('blog')));
    await page.click('#view-sql [data-tab=table]');
    await page.waitForFunction(() => [...document.querySelectorAll('#view-sql .grid-rows .cell')].some((c) => c.textContent === 'blog'));
    await page.click('#view-sql [data-tab=chart]');
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-sql.png') });
    await page.keyboard.press('Escape');
    await page.locator('#view-sql .status[data-state="stopped"]').waitFor();
  });

  test('an error is marked in the editor at its line and column', async () => {
    await page.click('#view-sql [data-tab=table]');
    await runInEditor('SHOW STREAMS;\nSELECT nocol FROM pageviews EMIT CHANGES;');
    await page.locator('#view-sql .err-mark', { hasText: 'nocol' }).waitFor();
    const bar = await page.locator('#view-sql .error-bar').textContent();
    assert.match(bar, /Line 2, column 8/);
    assert.match(bar, /NOCOL/);
    assert.equal(await page.locator('#view-sql .gutter .err').textContent(), '2');
    await runInEditor('SHOW STREAMS;\nSELEC oops;');
    await page.locator('#view-sql .err-mark', { hasText: 'SELEC' }).waitFor();
    assert.match(await page.locator('#view-sql .error-bar').textContent(), /Line 2, column 1.*Syntax Error/);
  });

  test('a dashboard of pull panels updates, is saved and opens by its URL', async () => {
    await page.click('.tabs a[data-nav=dashboards]');
    await page.click('text=+ New dashboard');
    await page.locator('.dashboard .title-input').fill('Site traffic');

    const addPanel = async (title, sql, kind, value, interval = '1') => {
      await page.click('.dashboard [data-act=add]');
      const dlg = page.locator('dialog[open]');
      await dlg.locator('[name=title]').fill(title);
      await dlg.locator('.panel-sql textarea').fill(sql);
      await dlg.locator('[data-act=preview]').click();
      await dlg.locator('.mini-table').waitFor();
      await dlg.locator('[name=kind]').selectOption(kind);
      if (value) await dlg.locator('[name=value]').selectOption(value);
      await dlg.locator('[name=interval]').selectOption(interval);
      if (kind === 'line') await dlg.locator('[name=wide]').check();
      await dlg.locator('button.primary').click();
      await page.locator('dialog[open]').waitFor({ state: 'detached' });
    };
    await addPanel('Views per page per minute', 'SELECT * FROM views_per_page;', 'line', 'VIEWS');
    await addPanel('Views per page (latest minute)', 'SELECT * FROM views_per_page;', 'bars', 'VIEWS');
    await addPanel('Views of the blog', "SELECT * FROM views_per_page WHERE page = 'blog';", 'number', 'VIEWS');
    await addPanel('Rows', 'SELECT page, WINDOWSTART, views, avg_ms FROM views_per_page;', 'table', null, '5');

    const number = page.locator('.panel-number .big-number .value');
    await page.waitForFunction(() => document.querySelector('.panel-number .big-number .value')?.textContent === '1');
    await page.locator('.panel-line .uplot canvas').waitFor();
    await page.locator('.panel-bars .uplot canvas').waitFor();
    // The panels run their query every second: a new record shows.
    await server.ksql("INSERT INTO pageviews (user_id, page, duration_ms) VALUES ('dave', 'blog', 60);");
    await page.waitForFunction(() => document.querySelector('.panel-number .big-number .value')?.textContent === '2');
    assert.equal(await number.textContent(), '2');

    await page.click('.dashboard [data-act=save]');
    await page.locator('.save-state.clean').waitFor();
    dashboardUrl = page.url();
    const id = dashboardUrl.split('#/dashboards/')[1];
    assert.match(id, /^[a-z0-9]+$/);
    const saved = await (await fetch(`${server.url}/api/dashboards/${id}`)).json();
    assert.equal(saved.title, 'Site traffic');
    assert.equal(saved.panels.length, 4);
    await page.waitForTimeout(1500);
    await page.evaluate(() => document.getElementById('toasts').replaceChildren());
    await page.screenshot({ path: path.join(SHOTS, 'dashboard.png') });
  });

  test('the dashboard reopens after a server restart', async () => {
    await server.stop();
    await server.start();
    const dark = await context.newPage();
    await dark.emulateMedia({ colorScheme: 'dark' });
    await dark.goto(dashboardUrl);
    await dark.locator('.dashboard .title-input').waitFor();
    assert.equal(await dark.locator('.dashboard .title-input').inputValue(), 'Site traffic');
    assert.equal(await dark.locator('.panel').count(), 4);
    await dark.waitForFunction(() => document.querySelector('.panel-number .big-number .value')?.textContent === '2', null, { timeout: WAIT });
    await dark.locator('.panel-line .uplot canvas').waitFor({ timeout: WAIT });
    const list = await (await fetch(`${server.url}/api/dashboards`)).json();
    assert.deepEqual(list.dashboards.map((d) => d.title), ['Site traffic']);
    await dark.waitForTimeout(1200);
    await dark.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png') });
    await dark.close();
  });

  test('the topic viewer shows records with keys and timestamps', async () => {
    await page.goto(`${server.url}/#/topic/pageviews`);
    await page.locator('.rec').first().waitFor();
    assert.match(await page.locator('.rec').first().textContent(), /blog/);
    await page.locator('[data-k=as]').selectOption('hex');
    await page.locator('.rec-value.hex').first().waitFor();
  });

  test('no script error on the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});

// Shared by the browser tests: arguments, checks, the server, OTLP posting and the Chromium
// page helpers. Usage of a test: node X_test.mjs --server BIN --web-dir DIR --artifacts DIR
// [--work DIR] [--chromium PATH].
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const args = ParseArgs(process.argv.slice(2));
export const repo = resolve(here, '../..');
export const web_dist = resolve(args['web-dir'] || join(repo, 'web/dist'));
export const artifacts = resolve(args.artifacts || 'browser-artifacts');
export const chromium_path = args.chromium || '/usr/bin/chromium';
const counts = { passed: 0, failed: 0 };

export function ParseArgs(list) {
  const out = {};
  for (let i = 0; i < list.length; i++) {
    if (!list[i].startsWith('--')) continue;
    const key = list[i].slice(2);
    if (i + 1 < list.length && !list[i + 1].startsWith('--')) out[key] = list[++i];
    else out[key] = true;
  }
  return out;
}

export function Check(name, ok, detail = '') {
  if (ok) counts.passed++;
  else counts.failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
  return ok;
}

export function Finish(code) {
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(code ?? (counts.failed ? 1 : 0));
}

// ---- the server ----

// extra: more flags (e.g. --tokens-file FILE).
export function StartServer(binary, data_dir, extra = []) {
  return new Promise((resolve_, reject) => {
    const child = spawn(binary, [
      '--otlp-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--otlp-grpc-addr', 'off',
      '--data-dir', data_dir,
      '--pair-wait', '1s', '--flush-interval', '200ms', '--web-dir', web_dist,
      '--trace-url', 'http://jaeger.test:16686/trace/{trace_id}', ...extra,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ready line in 60 s; stderr: ${err.slice(-2000)}`)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /edgewise ready otlp=(\S+) http=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve_({ child, otlp: m[1], http: m[2], stderr: () => err });
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 200000) err = err.slice(-100000);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}; stderr: ${err.slice(-2000)}`));
    });
  });
}

// token: sent as a bearer token when given.
export async function PostOtlp(otlp, body, token = '') {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`http://${otlp}/v1/traces`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /v1/traces: ${res.status} ${text.slice(0, 300)}`);
  const reply = text ? JSON.parse(text) : {};
  const rejected = Number(reply.partialSuccess?.rejectedSpans ?? reply.partial_success?.rejected_spans ?? 0);
  if (rejected) throw new Error(`spans rejected: ${text.slice(0, 300)}`);
}

export async function GetMap(http, params, token = '') {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetch(`http://${http}/api/v1/map?${new URLSearchParams(params)}`, { headers });
  return res.json();
}

// Waits until the map has `count` edges with `requests` in total (pairing and flush are async).
export async function WaitForMap(http, params, predicate, what, token = '') {
  const deadline = Date.now() + 90000;
  let last = null;
  while (Date.now() < deadline) {
    last = await GetMap(http, params, token).catch((e) => ({ error: String(e) }));
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last map: ${JSON.stringify(last).slice(0, 1500)}`);
}

export function Label(n) {
  return n.namespace ? `${n.namespace}/${n.name}` : n.name;
}

export function EdgesByName(list) {
  return new Map(list.map((e) => [`${e.source_name} -> ${e.target_name}`, e]));
}

// ---- the browser ----

export async function Launch() {
  const require = createRequire(join(repo, 'web/package.json'));
  const { chromium } = require('playwright-core');
  const profile = mkdtempSync(join(artifacts, 'chromium-profile-'));
  // A fresh profile directory (playwright passes it to Chromium as --user-data-dir).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromium_path,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { context, profile };
}

export async function WaitRender(page, previous_count) {
  await page.waitForFunction(
    (n) => window.__edgewise && window.__edgewise.ready && (window.__edgewise.renderCount > n || window.__edgewise.lastError),
    previous_count, { timeout: 60000 });
  await page.waitForTimeout(100);
}

export async function Shot(page, name) {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  console.log(`     screenshot ${path}`);
}

export async function RenderCount(page) {
  return page.evaluate(() => window.__edgewise?.renderCount ?? 0);
}

export async function Hover(page, id) {
  await page.mouse.move(5, 5);
  await page.waitForFunction(() => !window.__edgewise.hover);
  const p = await page.evaluate((x) => window.__edgewise.screenPoint(x), id);
  await page.mouse.move(p.x, p.y, { steps: 3 });
  await page.waitForFunction((x) => window.__edgewise.hover?.id === x && window.__edgewise.hover.tracesLoaded, id, { timeout: 30000 });
  return page.evaluate(() => window.__edgewise.hover.text);
}

export function Near(text, label, expected, tolerance) {
  const m = new RegExp(`${label}[^\\n]*`).exec(text);
  if (!m) return false;
  const nums = [...m[0].matchAll(/([\d.]+) ?(ms|s)\b/g)].map((x) => Number(x[1]) * (x[2] === 's' ? 1000 : 1));
  return expected.every((v, i) => nums[i] !== undefined && Math.abs(nums[i] - v) <= v * tolerance);
}


// ---- a whole test ----

// Runs a browser test against a fresh server: checks that the server binary, web/dist and
// playwright-core exist, starts the server on a new data directory under --work (or the
// artifacts), calls body(server, base, launch) (launch() starts Chromium; it is closed at the end),
// turns an exception into a failed check with the tail of the server's stderr, stops the server,
// removes the data directory and exits with the checks' result. server_args: more flags for the
// server.
export async function RunWithServer(body, server_args = []) {
  if (!args.server || !existsSync(args.server)) {
    console.log(`FAIL server binary not found: ${args.server}`);
    Finish(1);
  }
  if (!existsSync(join(web_dist, 'index.html')) || !existsSync(join(repo, 'web/node_modules/playwright-core'))) {
    console.log(`FAIL ${web_dist}/index.html or web/node_modules missing: run tools/dev deps (npm ci + npm run build in web/)`);
    Finish(1);
  }
  mkdirSync(artifacts, { recursive: true });
  const work = mkdtempSync(join(args.work || artifacts, 'data-'));
  let server = null;
  let launched = null;
  const launch = async () => {
    launched = await Launch();
    return launched;
  };
  try {
    server = await StartServer(args.server, work, server_args);
    await body(server, `http://${server.http}`, launch);
  } catch (e) {
    Check('test ran to the end', false, e.stack || String(e));
    if (server) console.log(`server stderr (tail):\n${server.stderr().slice(-3000)}`);
  } finally {
    if (launched) {
      await launched.context.close().catch(() => {});
      rmSync(launched.profile, { recursive: true, force: true });
    }
    if (server) {
      server.child.removeAllListeners('exit');
      server.child.kill('SIGTERM');
      await new Promise((r) => { server.child.once('exit', r); setTimeout(r, 10000); });
    }
    rmSync(work, { recursive: true, force: true });
  }
  Finish();
}

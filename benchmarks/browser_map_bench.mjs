// The web map in Chromium at scale (issue 19): time to the first complete render of a 300-service
// / 3,000-edge map and of a 1,000-service / 10,000-edge map (each ingested through OTLP into a
// fresh server), drawn whole (`all=1`) and as the page opens them by default (grouped by
// namespace); the frame time while panning the whole large map; and a replay step of it.
// "First complete render" = from navigation start to the first frame painted after the map was
// drawn (window.__edgewise.drawnAt + paintMs). Prints MEASURE lines for benchmarks/RESULTS.md.
//
// Usage: node benchmarks/browser_map_bench.mjs --server build/server/edgewise --web-dir web/dist
//          --artifacts build/browser-artifacts [--runs 3] [--only 3000|10000]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LargeTraffic } from '../tests/browser/otlp_traffic.mjs';
import { args, artifacts, Launch, PostOtlp, Shot, StartServer, WaitForMap } from '../tests/browser/harness.mjs';

const runs = Number(args.runs || 3);
const kQuery = 'server.namespace =~ "^ns"';

function Median(list) {
  const s = [...list].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function FirstRender(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.__edgewise?.renderCount > 0 && window.__edgewise.paintMs !== undefined && window.__edgewise.ready,
    null, { timeout: 300000 });
  return page.evaluate(() => ({
    nodes: window.__edgewise.nodes().length, edges: window.__edgewise.edges().length, layout: window.__edgewise.layoutMs,
    render: window.__edgewise.renderMs, total: window.__edgewise.drawnAt + window.__edgewise.paintMs,
  }));
}

// Frame intervals while a person drags the map: the mouse goes down on empty space and moves
// 400 px in 2-px steps; the page records the time between animation frames meanwhile.
async function PanFrames(page) {
  await page.evaluate(() => {
    window.__frames = [];
    window.__recording = true;
    let last = performance.now();
    const tick = () => {
      const now = performance.now();
      window.__frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const box = await page.evaluate(() => document.getElementById('graph').getBoundingClientRect().toJSON());
  const x = box.left + 8;
  const y = box.top + 8;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 200; i++) await page.mouse.move(x + i * 2, y + i);
  await page.mouse.up();
  return page.evaluate(() => {
    window.__recording = false;
    return window.__frames.slice(1);
  });
}

async function One(services, edges, namespaces, launched) {
  const work = mkdtempSync(join(args.work || artifacts, 'bench-'));
  const server = await StartServer(args.server, work);
  try {
    for (const body of LargeTraffic(Date.now(), services, edges, namespaces)) await PostOtlp(server.otlp, body);
    // Nearly every pair: under the pending-memory limits a few client halves may be evicted and
    // become calls to an external service instead (the edge count drawn is printed).
    let last = -1;
    for (let stable = 0; stable < 3;) {
      const m = await WaitForMap(server.http, { start: 'now-1h', end: 'now', query: kQuery }, (x) => (x.edges || []).length >= edges * 0.9, `${edges} edges`);
      stable = m.edges.length === last ? stable + 1 : 0;
      last = m.edges.length;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const base = `http://${server.http}/?range=1h&q=${encodeURIComponent(kQuery)}`;
    const page = await launched.context.newPage();
    for (const [what, url] of [['whole (all=1)', `${base}&all=1`], ['whole, WebGL renderer (all=1&webgl=1)', `${base}&all=1&webgl=1`], ['default (grouped)', base]]) {
      const results = [];
      for (let i = 0; i < runs; i++) results.push(await FirstRender(page, url));
      const r = results[0];
      console.log(`MEASURE ${services} services / ${edges} edges, ${what}: drew ${r.nodes} nodes ${r.edges} edges; first complete render `
        + `median ${Median(results.map((x) => x.total)).toFixed(0)} ms (runs ${results.map((x) => x.total.toFixed(0)).join(', ')}); `
        + `layout ${Median(results.map((x) => x.layout)).toFixed(0)} ms, render ${Median(results.map((x) => x.render)).toFixed(0)} ms`);
    }
    await FirstRender(page, `${base}&all=1`);
    await Shot(page, `bench-${edges}`);
    const frames = await PanFrames(page);
    frames.sort((a, b) => a - b);
    console.log(`MEASURE ${services} services / ${edges} edges, panning the whole map: frame time median ${Median(frames).toFixed(1)} ms, `
      + `p95 ${frames[Math.floor(frames.length * 0.95)].toFixed(1)} ms, max ${frames[frames.length - 1].toFixed(1)} ms (${frames.length} frames)`);
    const steps = [];
    for (const mode of ['&all=1', '']) {
      await FirstRender(page, `${base}${mode}`);
      for (let i = 0; i < runs; i++) {
        await page.evaluate((at) => {
          window.__edgewise.stepReady = false;
          window.__edgewise.update({ at });
        }, 57 + i);
        await page.waitForFunction(() => window.__edgewise.stepReady && window.__edgewise.ready, null, { timeout: 300000 });
        steps.push([mode, await page.evaluate(() => window.__edgewise.stepMs)]);
      }
    }
    for (const mode of ['&all=1', '']) {
      const list = steps.filter((s) => s[0] === mode).map((s) => s[1]);
      console.log(`MEASURE ${services} services / ${edges} edges, replay step (1 h range, minute steps, ${mode ? 'whole map' : 'grouped'}): `
        + `fetch + draw median ${Median(list).toFixed(0)} ms (runs ${list.map((x) => x.toFixed(0)).join(', ')})`);
    }
    await page.close();
  } finally {
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    await new Promise((r) => { server.child.once('exit', r); setTimeout(r, 10000); });
    rmSync(work, { recursive: true, force: true });
  }
}

async function Main() {
  mkdirSync(artifacts, { recursive: true });
  const launched = await Launch();
  try {
    const only = args.only ? Number(args.only) : 0;
    if (!only || only === 3000) await One(300, 3000, 12, launched);
    if (!only || only === 10000) await One(1000, 10000, 30, launched);
  } finally {
    await launched.context.close().catch(() => {});
    rmSync(launched.profile, { recursive: true, force: true });
  }
}

Main().catch((e) => {
  console.error(e);
  process.exit(1);
});

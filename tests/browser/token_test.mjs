// Browser test of tokens (docs/web.md, "Tokens"), in Debian's Chromium through playwright-core,
// against the real server run with --tokens-file: the page, answered 401, asks for a token; a
// wrong one is refused and asked for again; with the right one (query scope) it shows the map of
// the traffic sent with the tenant's ingest token, and nothing of another tenant's traffic sent
// in the same minutes; the token is kept for the browser session (a
// reload asks nothing), and the page sent `Authorization: Bearer TOKEN` on its API calls.
// Usage: node token_test.mjs --server BIN --web-dir DIR --artifacts DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KnownTraffic, LargeTraffic } from './otlp_traffic.mjs';
import {
  artifacts, Check, Label, PostOtlp, RunWithServer, Shot, WaitForMap, WaitRender,
} from './harness.mjs';

const kIngest = 'tok-ingest-browser-4e1a';
const kQuery = 'tok-query-browser-9c3f';
const kOther = 'tok-other-tenant-5d2b';  // tenant "bank": ingest and query

async function PromptChecks(page, base) {
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.accept(dialogs.length === 1 ? 'not-the-token' : kQuery);
  });
  const auth = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/map')) auth.push(r.headers().authorization || '');
  });
  await page.goto(`${base}/?range=1h`);
  await WaitRender(page, 0);
  Check('the page asked for a token, then again after a wrong one', dialogs.length === 2
    && /needs a token/.test(dialogs[0]) && /refused/.test(dialogs[1]), JSON.stringify(dialogs));
  const nodes = (await page.evaluate(() => window.__edgewise.nodes())).map(Label).sort();
  const want = ['External Client', 'api.stripe.com', 'payments/payments', 'postgresql/orders', 'shop/api', 'shop/frontend'];
  Check('with the right token the page shows its tenant\'s map, none of the other tenant\'s nodes',
    JSON.stringify(nodes) === JSON.stringify(want), nodes.join(', '));
  Check('the map calls carried the bearer token', auth.includes(`Bearer ${kQuery}`), auth.join(' | '));
  const stored = await page.evaluate(() => sessionStorage.getItem('edgewise.token'));
  Check('the token is kept in sessionStorage', stored === kQuery, String(stored));
  await Shot(page, 'token-map');
  const before = dialogs.length;
  await page.reload();
  await WaitRender(page, 0);
  const again = (await page.evaluate(() => window.__edgewise.nodes())).length;
  Check('a reload in the same session asks nothing and shows the map', dialogs.length === before && again === want.length,
    `dialogs ${dialogs.length}, nodes ${again}`);
}

async function Main() {
  mkdirSync(artifacts, { recursive: true });
  const tokens = join(artifacts, 'browser-tokens');
  writeFileSync(tokens, `${kIngest} shop ingest\n${kQuery} shop query\n${kOther} bank ingest,query\n`);
  await RunWithServer(async (server, base, launch) => {
    const traffic = KnownTraffic(Date.now());
    for (const body of traffic.bodies) await PostOtlp(server.otlp, body, kIngest);
    await WaitForMap(server.http, { start: 'now-1h', end: 'now' }, (m) => (m.edges || []).length >= 5
      && (m.edges || []).reduce((s, e) => s + e.requests, 0) >= 45, 'the known traffic', kQuery);
    // Another tenant's traffic in the same minutes: the page must not show any of it.
    for (const body of LargeTraffic(Date.now(), 40, 60, 3)) await PostOtlp(server.otlp, body, kOther);
    await WaitForMap(server.http, { start: 'now-1h', end: 'now' }, (m) => (m.edges || []).length >= 60,
      'the other tenant\'s traffic', kOther);
    const launched = await launch();
    await PromptChecks(await launched.context.newPage(), base);
  }, ['--tokens-file', tokens]);
}

Main();

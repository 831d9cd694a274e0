// Browser test of the map's reading and navigation features, in Debian's Chromium through
// playwright-core, against the real server: edge labels, find (highlight, centre, Enter cycles),
// hide (node, namespace, kind; chips undo it), automatic grouping of a 200-service map and a
// namespace expanded in place, replay over an hour and a week, the edge breakdown and node
// figures in the panels, and three small faults (double click with the panel closed, the
// tooltip at the bottom edge, the panel title under the close button). Screenshots go to
// --artifacts. Usage: node features_test.mjs --server BIN --web-dir DIR --artifacts DIR
import { KnownTraffic, LargeTraffic, LongNamedPairs } from './otlp_traffic.mjs';
import {
  Check, EdgesByName, Label, PostOtlp, RenderCount, RunWithServer, Shot, WaitForMap, WaitRender,
} from './harness.mjs';

const kBig = 'server.namespace =~ "^ns"';
const kSmall = 'server.namespace !~ "^ns"';

async function Nodes(page) {
  return page.evaluate(() => window.__edgewise.nodes());
}

async function Update(page, changes) {
  const n = await RenderCount(page);
  await page.evaluate((c) => window.__edgewise.update(c), changes);
  await WaitRender(page, n);
}

async function LabelChecks(page, base) {
  await page.goto(`${base}/?range=15m`);
  await WaitRender(page, 0);
  let n = await RenderCount(page);
  await page.check('#labels');
  await page.waitForFunction((c) => window.__edgewise.renderCount > c, n);
  const edges = EdgesByName(await page.evaluate(() => window.__edgewise.edges()));
  const l = edges.get('shop/frontend -> shop/api')?.label || '';
  Check('edge labels: rate, error % and p99 on the line', /\/(s|min|h) · 30\.0% · p99 \d/.test(l) && page.url().includes('labels=1'), l);
  await Shot(page, 'labels');
  n = await RenderCount(page);
  await page.uncheck('#labels');
  await page.waitForFunction((c) => window.__edgewise.renderCount > c, n);
  const off = EdgesByName(await page.evaluate(() => window.__edgewise.edges()));
  Check('edge labels off again', off.get('shop/frontend -> shop/api')?.label === '');
  // Legend: one entry per node kind with its shape, and the amber colour.
  const legend = await page.evaluate(() => [...document.querySelectorAll('#legend .kind')].map((e) => e.dataset.kind));
  Check('legend shows every node kind', ['service', 'external_client', 'external_service', 'database', 'messaging', 'namespace'].every((k) => legend.includes(k)), legend.join(','));
}

async function FindChecks(page) {
  const by = new Map((await Nodes(page)).map((x) => [Label(x), x]));
  await page.fill('#find', 'API');
  await page.waitForFunction(() => (window.__edgewise.found || []).length > 0);
  let f = await page.evaluate(() => ({ found: window.__edgewise.found, current: window.__edgewise.foundCurrent, count: document.getElementById('find-count').textContent }));
  const want = ['shop/api', 'api.stripe.com'].map((l) => String(by.get(l).id)).sort();
  Check('find: matching nodes highlighted (case-insensitive)', JSON.stringify([...f.found].sort()) === JSON.stringify(want) && f.count === `1/2`, JSON.stringify(f));
  const centred = await page.evaluate((id) => {
    const el = window.__edgewise.cy.getElementById(id);
    const p = el.renderedPosition();
    const cy = window.__edgewise.cy;
    return { dx: Math.abs(p.x - cy.width() / 2), dy: Math.abs(p.y - cy.height() / 2), match: el.hasClass('match-current') };
  }, f.current);
  Check('find: the view is centred on the current match', centred.dx < 2 && centred.dy < 2 && centred.match, JSON.stringify(centred));
  await Shot(page, 'find');
  await page.press('#find', 'Enter');
  const next = await page.evaluate(() => window.__edgewise.foundCurrent);
  await page.press('#find', 'Enter');
  const again = await page.evaluate(() => window.__edgewise.foundCurrent);
  Check('find: Enter cycles through the matches', next !== f.current && again === f.current && want.includes(next), `${f.current} ${next} ${again}`);
  Check('find: in the URL', /find=API/.test(page.url()));
  // The URL restores it.
  await page.goto(page.url());
  await WaitRender(page, 0);
  f = await page.evaluate(() => ({ found: window.__edgewise.found, value: document.getElementById('find').value }));
  Check('find: restored from the URL', f.value === 'API' && f.found.length === 2, JSON.stringify(f));
  await page.fill('#find', '');
  await page.waitForFunction(() => (window.__edgewise.found || []).length === 0);
}

async function HideChecks(page) {
  const labels = async () => (await Nodes(page)).map(Label);
  // All nodes of a kind, from the legend.
  let n = await RenderCount(page);
  await page.click('#legend .kind[data-kind=database]');
  await WaitRender(page, n);
  let l = await labels();
  Check('hide a kind from the legend: no database node, a chip', !l.includes('postgresql/orders') && l.includes('shop/api')
    && /hide=kind%3Adatabase/.test(page.url()) && (await page.locator('#chips .chip').count()) === 1, l.join(','));
  // A node and a namespace from the node panel.
  const by = new Map((await Nodes(page)).map((x) => [Label(x), x]));
  await Update(page, { sel: String(by.get('api.stripe.com').id) });
  await page.waitForFunction(() => window.__edgewise.panelLoaded);
  n = await RenderCount(page);
  await page.click('#panel [data-act=hide-node]');
  await WaitRender(page, n);
  await Update(page, { sel: String(by.get('payments/payments').id) });
  await page.waitForFunction(() => window.__edgewise.panelLoaded);
  n = await RenderCount(page);
  await page.click('#panel [data-act=hide-ns]');
  await WaitRender(page, n);
  l = await labels();
  const chips = await page.locator('#chips .chip').allInnerTexts();
  Check('hide a node and a namespace from the panel', !l.includes('api.stripe.com') && !l.includes('payments/payments') && l.includes('shop/frontend')
    && chips.length === 3 && chips.some((c) => /namespace payments/.test(c)) && chips.some((c) => /api\.stripe\.com/.test(c)), `${l} | ${chips}`);
  await Shot(page, 'hidden');
  // The URL keeps it; chips undo it one by one.
  await page.goto(page.url());
  await WaitRender(page, 0);
  Check('hide: restored from the URL', (await page.locator('#chips .chip').count()) === 3 && !(await labels()).includes('api.stripe.com'));
  for (let i = 3; i > 0; i--) {
    n = await RenderCount(page);
    await page.click('#chips .chip button >> nth=0');
    await WaitRender(page, n);
  }
  l = await labels();
  Check('chips undo every hide', ['postgresql/orders', 'api.stripe.com', 'payments/payments'].every((x) => l.includes(x))
    && !/hide=/.test(page.url()) && (await page.isHidden('#chips')), l.join(','));
}

async function PanelChecks(page) {
  const by = new Map((await Nodes(page)).map((x) => [Label(x), x]));
  const edge = (await page.evaluate(() => window.__edgewise.edges())).find((e) => e.source_name === 'shop/frontend' && e.target_name === 'shop/api');
  await Update(page, { sel: `e:${edge.id}` });
  await page.waitForFunction(() => window.__edgewise.panelLoaded && document.querySelector('#panel table.breakdown'), null, { timeout: 30000 });
  const tables = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#panel table.breakdown')].map((t) => [t.dataset.by,
    [...t.rows].slice(1).map((r) => [...r.cells].map((c) => c.innerText.trim()))])));
  const row = (by, key) => (tables[by] || []).find((r) => r[0] === key) || [];
  Check('edge panel: breakdown by path', row('path', '/v1/orders/{id}')[1] === '10' && row('path', '/v1/orders/{id}')[2] === '3', JSON.stringify(tables.path));
  Check('edge panel: breakdown by method', row('method', 'GET')[1] === '10', JSON.stringify(tables.method));
  Check('edge panel: breakdown by status (busiest first)', JSON.stringify((tables.status || []).map((r) => r.slice(0, 3))) === '[["200","7","0"],["500","3","3"]]', JSON.stringify(tables.status));
  // p99 of the path: the server durations are 10..100 ms.
  Check('edge panel: breakdown p99', /^(99|100|101)(\.\d)? ms$/.test(row('path', '/v1/orders/{id}')[4] || ''), row('path', '/v1/orders/{id}')[4]);
  // The busiest minute of the range heads the trend (series peak_rate_per_s): the edge's 10
  // requests give at most 10 in one minute, and at least one minute holds some.
  const peak = await page.evaluate(() => {
    const el = document.querySelector('#panel .peak');
    return el ? { rate: Number(el.dataset.peak), text: el.innerText } : null;
  });
  Check('edge panel: the busiest minute of the range', peak !== null && peak.rate > 0 && peak.rate * 60 <= 10.01
    && /busiest minute/.test(peak.text), JSON.stringify(peak));
  await Shot(page, 'edge-breakdown');
  // A long title wraps before the close button (it ran under it).
  const long = (await page.evaluate(() => window.__edgewise.edges())).find((e) => /recommendation-engine-v2/.test(e.source_name));
  await Update(page, { sel: `e:${long.id}` });
  await page.waitForFunction(() => window.__edgewise.panelLoaded);
  const overlap = await page.evaluate(() => {
    const h2 = document.querySelector('#panel h2');
    const range = document.createRange();
    range.selectNodeContents(h2);
    const close = document.getElementById('panel-close').getBoundingClientRect();
    return [...range.getClientRects()].some((r) => r.right > close.left && r.left < close.right && r.bottom > close.top && r.top < close.bottom);
  });
  Check('edge panel: a long title does not run under the close button', !overlap);
  await Shot(page, 'edge-panel-title');
  // Node panel: incoming and outgoing figures with latency.
  await Update(page, { sel: String(by.get('shop/api').id) });
  await page.waitForFunction(() => window.__edgewise.panelLoaded);
  const fig = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#panel table.figures tr[data-k]')].map((r) => [r.dataset.k, [...r.cells].map((c) => c.innerText.trim())])));
  Check('node panel: outgoing figures (11 requests, 0 errors) and latency', fig.out?.[2] === '11' && fig.out?.[3] === '0' && /ms$/.test(fig.out?.[5] || ''), JSON.stringify(fig));
  Check('node panel: incoming figures (10 requests, 3 errors)', fig.in?.[2] === '10' && fig.in?.[3] === '3' && /ms$/.test(fig.in?.[5] || ''), JSON.stringify(fig));
  await Shot(page, 'node-figures');
  await page.click('#panel-close');
}

async function FaultChecks(page, by) {
  // Double click with the panel closed focuses the node (the panel opening used to refit the
  // map, so the second click landed on the namespace box).
  await page.waitForFunction(() => document.getElementById('panel').hidden);
  const id = String(by.get('shop/api').id);
  const p = await page.evaluate((x) => window.__edgewise.screenPoint(x), id);
  await page.mouse.dblclick(p.x, p.y);
  await page.waitForFunction(() => window.__edgewise.state().focus && window.__edgewise.ready, null, { timeout: 10000 }).catch(() => {});
  const st = await page.evaluate(() => window.__edgewise.state());
  Check('double click with the panel closed focuses that node', st.focus === id, `focus=${st.focus}`);
  await Update(page, { focus: '', sel: '' });
  // Tooltip at the bottom of the window stays inside it after the exemplars load.
  const edge = (await page.evaluate(() => window.__edgewise.edges())).find((e) => e.source_name === 'shop/frontend' && e.target_name === 'shop/api');
  await page.evaluate((eid) => {
    const cy = window.__edgewise.cy;
    const m = cy.getElementById(eid).renderedMidpoint();
    cy.panBy({ x: 0, y: cy.height() - 12 - m.y });
  }, edge.id);
  await page.mouse.move(5, 5);
  const q = await page.evaluate((x) => window.__edgewise.screenPoint(x), edge.id);
  await page.mouse.move(q.x, q.y, { steps: 3 });
  await page.waitForFunction((x) => window.__edgewise.hover?.id === x && window.__edgewise.hover.tracesLoaded, edge.id, { timeout: 30000 });
  await page.waitForTimeout(50);
  const tip = await page.evaluate(() => ({ bottom: document.getElementById('tooltip').getBoundingClientRect().bottom, h: window.innerHeight }));
  Check('edge tooltip stays inside the window once exemplars load', tip.bottom <= tip.h, JSON.stringify(tip));
  await Shot(page, 'tooltip-bottom');
  await page.mouse.move(5, 5);
}

async function ReplayChecks(page, base, t0) {
  await page.goto(`${base}/?range=1h&q=${encodeURIComponent(kSmall)}`);
  await WaitRender(page, 0);
  const before = new Map((await Nodes(page)).map((x) => [String(x.id), JSON.stringify(x.position)]));
  await page.click('#replay');
  await page.waitForFunction(() => window.__edgewise.stepReady && window.__edgewise.step);
  let s = await page.evaluate(() => window.__edgewise.step);
  Check('replay over 1 h: minute steps', s.unit === 'minute' && s.count >= 60 && s.count <= 61 && s.index === 0, JSON.stringify(s));
  const edges0 = await page.evaluate(() => window.__edgewise.edges());
  Check('replay: a step without traffic keeps every edge, faded', edges0.length >= 5 && edges0.every((e) => e.absent && e.requests === 0), edges0.length);
  // The steps holding the known traffic (four minutes ago): client -> frontend has its 20 requests.
  const first = Math.floor((t0 - Date.parse(s.start)) / 60000);
  let total = 0;
  for (const i of [first - 1, first, first + 1]) {
    await page.evaluate((x) => {
      window.__edgewise.stepReady = false;
      const el = document.getElementById('slider');
      el.value = String(x);
      el.dispatchEvent(new Event('input'));
    }, i);
    await page.waitForFunction(() => window.__edgewise.stepReady);
    const e = (await page.evaluate(() => window.__edgewise.edges())).find((x) => x.source_name === 'External Client' && x.target_name === 'shop/frontend');
    total += e?.requests || 0;
  }
  Check('replay: the steps around the traffic add up to its 20 requests', total === 20, String(total));
  const during = new Map((await Nodes(page)).map((x) => [String(x.id), JSON.stringify(x.position)]));
  Check('replay: the layout stays still', [...before].every(([k, v]) => during.get(k) === v) && during.size === before.size);
  Check('replay: the step is in the URL', /at=\d+/.test(page.url()));
  await Shot(page, 'replay-step');
  // Play advances by itself; pause stops.
  const at = await page.evaluate(() => window.__edgewise.step.index);
  await page.click('#play');
  await page.waitForFunction((a) => window.__edgewise.step.index >= a + 2, at, { timeout: 30000 });
  await page.click('#play');
  const paused = await page.evaluate(() => window.__edgewise.step.index);
  await page.waitForTimeout(2500);
  Check('replay: play advances, pause stops', (await page.evaluate(() => window.__edgewise.step.index)) === paused && paused >= at + 2);
  const ms = await page.evaluate(() => window.__edgewise.stepMs);
  console.log(`MEASURE replay step (1 h range, small map): ${ms.toFixed(0)} ms`);
  // A week: day steps.
  await Update(page, { range: '7d', at: 0 });
  await page.waitForFunction(() => window.__edgewise.stepReady && window.__edgewise.step?.unit === 'day');
  s = await page.evaluate(() => window.__edgewise.step);
  Check('replay over 7 d: day steps', s.count >= 7 && s.count <= 8, JSON.stringify(s));
  const n = await RenderCount(page);
  await page.click('#replay');
  await WaitRender(page, n);
  Check('closing replay hides its bar and leaves the URL', (await page.isHidden('#replaybar')) && !/at=/.test(page.url()));
}

async function GroupChecks(page, base) {
  await page.goto(`${base}/?range=1h&q=${encodeURIComponent(kBig)}`);
  await WaitRender(page, 0);
  let nodes = await Nodes(page);
  const auto = await page.evaluate(() => window.__edgewise.autoGrouped);
  Check('a 200-service map starts grouped by namespace', auto && auto.nodes >= 190 && nodes.filter((x) => x.kind === 'namespace').length === 8
    && !nodes.some((x) => x.kind === 'service') && /group=1/.test(page.url()), JSON.stringify(auto));
  await Shot(page, 'auto-grouped');
  const grouped_edges = await page.evaluate(() => window.__edgewise.edges());
  // Click ns5: it expands in place.
  const p = await page.evaluate(() => window.__edgewise.screenPoint('ns:ns5'));
  let n = await RenderCount(page);
  await page.mouse.click(p.x, p.y);
  await WaitRender(page, n);
  nodes = await Nodes(page);
  const inside = nodes.filter((x) => x.kind === 'service');
  const want = await page.evaluate(async (q) => {
    const m = await (await fetch(`/api/v1/map?start=now-1h&end=now&query=${encodeURIComponent(q)}`)).json();
    return m.nodes.filter((x) => x.kind === 'service' && x.namespace === 'ns5').length;
  }, kBig);
  Check('click a namespace: its services drawn in place of it', want >= 20 && inside.length === want && inside.every((x) => x.namespace === 'ns5')
    && !nodes.some((x) => x.id === 'ns:ns5') && nodes.filter((x) => x.kind === 'namespace').length === 7 && /expand=ns5/.test(page.url()), inside.length);
  // The expanded edges add up to the grouped ones they replace.
  const edges = await page.evaluate(() => window.__edgewise.edges());
  const ids = new Set(inside.map((x) => String(x.id)));
  let ok = true;
  for (const g of grouped_edges.filter((e) => e.source === 'ns:ns5' && e.target !== 'ns:ns5')) {
    const sum = edges.filter((e) => ids.has(String(e.source)) && e.target === g.target).reduce((s, e) => s + e.requests, 0);
    if (sum !== g.requests) ok = false;
  }
  Check('expanded edges add up to the namespace edges they replace', ok);
  // Find reaches services inside collapsed namespaces through their namespace node.
  await page.fill('#find', 'svc-17');
  await page.waitForFunction(() => (window.__edgewise.found || []).length > 0);
  const found = await page.evaluate(() => window.__edgewise.found);
  Check('find on a grouped map: the namespace holding the service', found.includes('ns:ns1'), found.join(','));
  await Shot(page, 'expanded');
  await page.fill('#find', '');
  n = await RenderCount(page);
  await page.click('#chips .chip.expanded button');
  await WaitRender(page, n);
  Check('the chip collapses it again', (await Nodes(page)).some((x) => x.id === 'ns:ns5') && !/expand=/.test(page.url()));
}

RunWithServer(async (server, base, launch) => {
  const now = Date.now();
  for (const body of KnownTraffic(now).bodies) await PostOtlp(server.otlp, body);
  for (const body of LongNamedPairs(now)) await PostOtlp(server.otlp, body);
  // 200 services in 8 namespaces, 40 minutes ago: in the 1 h range, not in 15 min.
  for (const body of LargeTraffic(now - 37 * 60000, 200, 600, 8)) await PostOtlp(server.otlp, body);
  await WaitForMap(server.http, { start: 'now-15m', end: 'now' }, (m) => (m.edges || []).reduce((s, e) => s + e.requests, 0) >= 47, 'the known traffic');
  await WaitForMap(server.http, { start: 'now-1h', end: 'now', query: kBig }, (m) => (m.edges || []).length >= 620, 'the 200-service map');
  const page = await (await launch()).context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await LabelChecks(page, base);
  await FindChecks(page);
  await HideChecks(page);
  await PanelChecks(page);
  await FaultChecks(page, new Map((await Nodes(page)).map((x) => [Label(x), x])));
  await ReplayChecks(page, base, now - 4 * 60000);
  await GroupChecks(page, base);
  Check('no page errors', !errors.length, errors.join(' | '));
});

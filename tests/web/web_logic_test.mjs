// The page's pure logic in Node (no browser): the layout fitted to the page (namespaces never
// overlap, a one-namespace map wraps instead of stacking in one column, small maps unchanged,
// deterministic), and web/src/views.js against brute-force models over generated maps
// (namespaces expanded in place, hiding, replay steps, a step drawn over the whole range).
// Prints one line per check and "N passed, M failed"; exits 1 on any failure.
import { LayeredLayout } from '../../web/src/layout.js';
import { ApplyHide, BusiestStep, ComposeExpanded, HideTokens, MergeStep, ReplaySteps } from '../../web/src/views.js';
import { SyntheticMap } from '../../web/bench/layout_bench.mjs';

let passed = 0;
let failed = 0;
function Check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}

function Boxes(nodes, pos) {
  const boxes = new Map();
  for (const n of nodes) {
    if (n.kind !== 'service' || !n.namespace) continue;
    const p = pos.get(n.id);
    const b = boxes.get(n.namespace) || { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    b.x0 = Math.min(b.x0, p.x - 75); b.x1 = Math.max(b.x1, p.x + 75);
    b.y0 = Math.min(b.y0, p.y - 17); b.y1 = Math.max(b.y1, p.y + 17);
    boxes.set(n.namespace, b);
  }
  return [...boxes.values()];
}

function Overlaps(boxes) {
  let count = 0;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (Math.min(a.x1, b.x1) > Math.max(a.x0, b.x0) && Math.min(a.y1, b.y1) > Math.max(a.y0, b.y0)) count++;
    }
  }
  return count;
}

function Extent(pos) {
  const xs = [...pos.values()].map((p) => p.x);
  const ys = [...pos.values()].map((p) => p.y);
  return { w: Math.max(...xs) - Math.min(...xs) + 150, h: Math.max(...ys) - Math.min(...ys) + 34 };
}

function LayoutChecks() {
  for (const [n, m, ns] of [[300, 2980, 12], [1000, 10000, 30]]) {
    const { nodes, edges } = SyntheticMap(n, m, ns);
    const { positions } = LayeredLayout(nodes, edges);
    const again = LayeredLayout(nodes, edges).positions;
    Check(`layout ${n}/${m}: every node placed, deterministic`, nodes.every((x) => positions.has(x.id))
      && nodes.every((x) => JSON.stringify(positions.get(x.id)) === JSON.stringify(again.get(x.id))));
    const distinct = new Set([...positions.values()].map((p) => `${p.x},${p.y}`));
    Check(`layout ${n}/${m}: no two nodes on one spot`, distinct.size === nodes.length, `${distinct.size} of ${nodes.length}`);
    Check(`layout ${n}/${m}: namespace boxes never overlap`, Overlaps(Boxes(nodes, positions)) === 0);
    const e = Extent(positions);
    Check(`layout ${n}/${m}: about the page's shape (16:9 within 0.5x..2x)`, e.w / e.h > 0.89 && e.w / e.h < 3.6, `${e.w.toFixed(0)}x${e.h.toFixed(0)}`);
  }
  // One namespace of 56 services all called by one front service: they used to stack in one
  // column 56 high.
  const nodes = [{ id: 'front', kind: 'service', namespace: 'shop' }];
  const edges = [];
  for (let i = 0; i < 56; i++) {
    nodes.push({ id: `s${i}`, kind: 'service', namespace: 'shop' });
    edges.push({ source: 'front', target: `s${i}` });
  }
  const { positions } = LayeredLayout(nodes, edges);
  const per_x = new Map();
  for (const p of positions.values()) per_x.set(p.x, (per_x.get(p.x) || 0) + 1);
  const tallest = Math.max(...per_x.values());
  Check('layout: 56 callees of one service wrap into columns (at most 14 high)', tallest <= 14 && per_x.size >= 5, `columns ${[...per_x.values()]}`);
  Check('layout: callees stay right of their caller', [...positions].every(([id, p]) => id === 'front' || p.x > positions.get('front').x));
  // A small map keeps the plain layered layout (one band, one column per layer).
  const small = LayeredLayout([{ id: 'a', kind: 'service', namespace: 'x' }, { id: 'b', kind: 'service', namespace: 'x' }, { id: 'c', kind: 'database', namespace: '' }],
    [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }]).positions;
  Check('layout: a small map is left as layers', small.get('a').x < small.get('b').x && small.get('b').x < small.get('c').x && small.get('a').y === small.get('b').y);
}

// A random ungrouped map and the grouped map the API would answer for it (built here by summing).
function RandomMaps(seed, services, namespaces, count) {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 2147483648;
  const nodes = [{ id: 'n1', kind: 'external_client', namespace: '', name: 'External Client' }, { id: 'n2', kind: 'database', namespace: '', name: 'pg' }];
  for (let i = 0; i < services; i++) nodes.push({ id: `n${i + 3}`, kind: 'service', namespace: `ns${i % namespaces}`, name: `svc${i}` });
  const edges = new Map();
  while (edges.size < count) {
    const a = nodes[Math.floor(rnd() * nodes.length)];
    const b = nodes[Math.floor(rnd() * nodes.length)];
    if (b.kind === 'external_client' || a.kind === 'database') continue;
    const requests = 1 + Math.floor(rnd() * 1000);
    const errors = Math.floor(rnd() * requests * 0.1);
    edges.set(`${a.id}>${b.id}`, { source: a.id, target: b.id, requests, errors, rate_per_s: requests / 3600, error_rate: errors / requests,
      latency_ms: { p50: rnd() * 10, p90: rnd() * 50, p95: rnd() * 80, p99: rnd() * 200 }, protocol: 'http' });
  }
  const full = { nodes, edges: [...edges.values()] };
  const g = (id) => {
    const n = nodes.find((x) => x.id === id);
    return n.kind === 'service' ? `ns:${n.namespace}` : id;
  };
  const gnodes = new Map();
  for (const n of nodes) gnodes.set(g(n.id), n.kind === 'service' ? { id: `ns:${n.namespace}`, kind: 'namespace', name: n.namespace, namespace: n.namespace } : n);
  const gedges = new Map();
  for (const e of full.edges) {
    const k = `${g(e.source)}>${g(e.target)}`;
    const m = gedges.get(k) || { source: g(e.source), target: g(e.target), requests: 0, errors: 0 };
    m.requests += e.requests;
    m.errors += e.errors;
    gedges.set(k, m);
  }
  return { full, grouped: { nodes: [...gnodes.values()], edges: [...gedges.values()] } };
}

function ViewChecks() {
  for (const seed of [1, 2, 3]) {
    const { full, grouped } = RandomMaps(seed, 120, 6, 700);
    const expand = new Set(['ns1', 'ns4']);
    const out = ComposeExpanded(grouped, full, expand);
    // Model: map each end to itself when in an expanded namespace (or not a service), else to its
    // namespace node; sum every full edge into its mapped pair.
    const by = new Map(full.nodes.map((n) => [n.id, n]));
    const end = (id) => (by.get(id).kind === 'service' && !expand.has(by.get(id).namespace) ? `ns:${by.get(id).namespace}` : id);
    const want = new Map();
    for (const e of full.edges) {
      const k = `${end(e.source)}>${end(e.target)}`;
      const w = want.get(k) || [0, 0];
      want.set(k, [w[0] + e.requests, w[1] + e.errors]);
    }
    const got = new Map(out.edges.map((e) => [`${e.source}>${e.target}`, [e.requests, e.errors]]));
    const same = want.size === got.size && [...want].every(([k, v]) => JSON.stringify(got.get(k)) === JSON.stringify(v));
    Check(`expand (seed ${seed}): every edge sums its members, none missing or extra`, same, `${got.size} vs ${want.size}`);
    const ids = new Set(out.nodes.map((n) => n.id));
    Check(`expand (seed ${seed}): expanded namespaces replaced by their services`, !ids.has('ns:ns1') && !ids.has('ns:ns4') && ids.has('ns:ns2')
      && full.nodes.filter((n) => expand.has(n.namespace)).every((n) => ids.has(n.id)) && out.edges.every((e) => ids.has(e.source) && ids.has(e.target)));
    const p99 = out.edges.every((e) => {
      const members = full.edges.filter((f) => end(f.source) === e.source && end(f.target) === e.target);
      return !members.length || !e.latency_ms || members.length === 0 || (e.source.startsWith('ns:') && e.target.startsWith('ns:'))
        || Math.abs(e.latency_ms.p99 - Math.max(...members.map((f) => f.latency_ms.p99))) < 1e-9;
    });
    Check(`expand (seed ${seed}): a merged edge's p99 is its largest member's`, p99);
    // Hide: a node, a namespace, a kind; brute force over the nodes.
    const tokens = HideTokens('n7,ns:ns2,kind:database');
    const hidden = ApplyHide(full, tokens);
    const keep = (n) => n.id !== 'n7' && n.kind !== 'database' && !(n.kind === 'service' && n.namespace === 'ns2');
    const kept = new Set(full.nodes.filter(keep).map((n) => n.id));
    Check(`hide (seed ${seed}): exactly the nodes kept and their edges`, hidden.nodes.length === kept.size
      && hidden.edges.length === full.edges.filter((e) => kept.has(e.source) && kept.has(e.target)).length && hidden.nodes.every((n) => kept.has(n.id)));
    // A step drawn over the whole range: same ids in the same order, step figures or zero.
    const step = { nodes: full.nodes.slice(0, 40), edges: full.edges.filter((_, i) => i % 3 === 0).map((e) => ({ ...e, requests: 1 })) };
    const merged = MergeStep(full, step);
    const step_edges = new Set(step.edges.map((e) => `${e.source}>${e.target}`));
    Check(`replay step (seed ${seed}): whole-range topology, step figures, the rest absent`, merged.nodes.map((n) => n.id).join() === full.nodes.map((n) => n.id).join()
      && merged.edges.every((e, i) => e.source === full.edges[i].source && e.target === full.edges[i].target
        && (step_edges.has(`${e.source}>${e.target}`) ? e.requests === 1 && !e.absent : e.requests === 0 && e.absent)));
  }
  const steps = (a, b) => ReplaySteps(a, b);
  const h = steps('2026-12-07T10:00:00Z', '2026-12-07T11:00:00Z');
  Check('replay steps: 1 h is 60 minute steps', h.length === 60 && h.every((s) => s.unit === 'minute' && s.seconds === 60) && h[59].end === '2026-12-07T11:00:00.000Z');
  const six = steps('2026-12-07T05:00:00Z', '2026-12-07T11:00:00Z');
  Check('replay steps: 6 h is 6 hour steps', six.length === 6 && six[0].unit === 'hour');
  const week = steps('2026-11-30T10:37:00Z', '2026-12-07T10:38:00Z');
  Check('replay steps: 7 d is 8 day steps, the last one short', week.length === 8 && week[0].unit === 'day' && week[7].seconds === 60);
  Check('replay steps: an empty or reversed range has none', steps('2026-12-07T10:00:00Z', '2026-12-07T10:00:00Z').length === 0 && steps('x', 'y').length === 0);
}

function PeakChecks() {
  // Brute force over random series: the busiest step is the largest known peak, nulls skipped.
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let ok = true;
  for (let k = 0; k < 200; k++) {
    const points = Array.from({ length: 1 + Math.floor(rnd() * 30) }, (_, i) => ({ t: i, peak: rnd() < 0.2 ? null : Math.floor(rnd() * 1000) / 60 }));
    const known = points.filter((p) => p.peak !== null);
    const got = BusiestStep(points);
    if (!known.length) { ok = ok && got === null; continue; }
    const max = Math.max(...known.map((p) => p.peak));
    ok = ok && got.rate === max && points.find((p) => p.peak === max).t === got.t;
  }
  Check('busiest step: the largest known peak and its step, null when none is known', ok);
}

LayoutChecks();
ViewChecks();
PeakChecks();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// Client-side views of map answers: namespaces expanded in place on a grouped map, hidden nodes,
// replay steps and a step's map drawn over the whole range's topology. Pure functions of API
// bodies ({nodes, edges, start, end}).

// Hide tokens from the `hide` URL parameter: node ids (`n12`, `ns:shop` for a grouped map's
// namespace node), `ns:<namespace>` (also every service of that namespace) and `kind:<kind>`.
export function HideTokens(text) {
  return new Set(String(text || '').split(',').filter(Boolean));
}

export function IsHidden(node, tokens) {
  if (!tokens.size) return false;
  if (tokens.has(String(node.id))) return true;
  if (tokens.has(`kind:${node.kind}`)) return true;
  return node.kind === 'service' && tokens.has(`ns:${node.namespace || ''}`);
}

// The body without hidden nodes and their edges.
export function ApplyHide(body, tokens) {
  if (!tokens.size || !body) return body;
  const nodes = (body.nodes || []).filter((n) => !IsHidden(n, tokens));
  const ids = new Set(nodes.map((n) => String(n.id)));
  const edges = (body.edges || []).filter((e) => ids.has(String(e.source)) && ids.has(String(e.target)));
  return { ...body, nodes, edges };
}

function AddLatency(into, l) {
  for (const k of ['p50', 'p90', 'p95', 'p99']) {
    if (l && Number.isFinite(l[k])) into[k] = Math.max(into[k] ?? 0, l[k]);
  }
}

// A grouped map with the namespaces in `expand` (names) drawn as their services: the grouped
// answer's other nodes and edges stay as they are; every edge of the ungrouped answer `full` with
// an end in an expanded namespace is kept, its other end mapped to its namespace node when that
// one is collapsed. Edges that merge that way add requests, errors and rate; their percentiles
// are the largest member's (an upper bound: sketches do not travel to the page).
export function ComposeExpanded(grouped, full, expand) {
  if (!expand.size) return grouped;
  const by_id = new Map(full.nodes.map((n) => [String(n.id), n]));
  const inside = new Set();
  for (const n of full.nodes) if (n.kind === 'service' && expand.has(n.namespace || '')) inside.add(String(n.id));
  const end = (id) => {
    if (inside.has(id)) return id;
    const n = by_id.get(id);
    return n && n.kind === 'service' ? `ns:${n.namespace || ''}` : id;
  };
  const open_ns = (id) => id.startsWith('ns:') && expand.has(id.slice(3));
  const nodes = grouped.nodes.filter((n) => !open_ns(String(n.id)));
  for (const id of inside) nodes.push(by_id.get(id));
  const ids = new Set(nodes.map((n) => String(n.id)));
  const edges = grouped.edges.filter((e) => !open_ns(String(e.source)) && !open_ns(String(e.target)));
  const merged = new Map();
  for (const e of full.edges) {
    const s = String(e.source);
    const t = String(e.target);
    if (!inside.has(s) && !inside.has(t)) continue;
    const a = end(s);
    const b = end(t);
    if (!ids.has(a) || !ids.has(b)) continue;
    const key = `${a}\u2192${b}`;
    let m = merged.get(key);
    if (!m) {
      m = { ...e, source: a, target: b, requests: 0, errors: 0, rate_per_s: 0, latency_ms: {}, members: 0 };
      merged.set(key, m);
    }
    if ((e.requests || 0) > m.busiest) m.protocol = e.protocol;
    m.busiest = Math.max(m.busiest || 0, e.requests || 0);
    m.requests += e.requests || 0;
    m.errors += e.errors || 0;
    m.rate_per_s += e.rate_per_s || 0;
    m.members++;
    AddLatency(m.latency_ms, e.latency_ms);
  }
  for (const m of merged.values()) {
    m.error_rate = m.requests ? m.errors / m.requests : 0;
    delete m.busiest;
    edges.push(m);
  }
  return { ...grouped, nodes, edges };
}

const kUnits = [
  { max: 3 * 3600, seconds: 60, unit: 'minute' },
  { max: 2 * 86400, seconds: 3600, unit: 'hour' },
  { max: Infinity, seconds: 86400, unit: 'day' },
];

// Replay steps over [start, end) (RFC 3339, as the map answers them): minutes up to 3 h, hours
// up to 2 days, days beyond. Each {start, end, seconds, unit}; the last may be shorter.
export function ReplaySteps(start, end) {
  const s = Date.parse(start);
  const e = Date.parse(end);
  if (!Number.isFinite(s) || !Number.isFinite(e) || e <= s) return [];
  const span = (e - s) / 1000;
  const u = kUnits.find((x) => span <= x.max);
  const out = [];
  for (let t = s; t < e && out.length < 1000; t += u.seconds * 1000) {
    const stop = Math.min(e, t + u.seconds * 1000);
    out.push({ start: new Date(t).toISOString(), end: new Date(stop).toISOString(), seconds: (stop - t) / 1000, unit: u.unit });
  }
  return out;
}

// The step's figures over the whole range's nodes and edges (so the layout stays still): what
// the step lacks is kept with zero figures and `absent: true`.
export function MergeStep(base, step) {
  const nodes = new Map((step.nodes || []).map((n) => [String(n.id), n]));
  const edges = new Map((step.edges || []).map((e) => [`${e.source}\u2192${e.target}`, e]));
  const zero = { requests_in: 0, errors_in: 0, requests_out: 0, errors_out: 0 };
  return {
    ...step,
    nodes: (base.nodes || []).map((n) => nodes.get(String(n.id)) || { ...n, ...zero, absent: true }),
    edges: (base.edges || []).map(
      (e) => edges.get(`${e.source}\u2192${e.target}`) || { ...e, requests: 0, errors: 0, rate_per_s: 0, error_rate: 0, latency_ms: {}, absent: true },
    ),
  };
}

// The busiest minute over a series' points (issue "Long history for capacity"): the largest
// `peak` (requests per second in the step's busiest minute) and the time of its step; null when
// no point knows its peak (the API answers null where it cannot be known exactly).
export function BusiestStep(points) {
  let best = null;
  for (const p of points || []) {
    if (p.peak === null || p.peak === undefined || !Number.isFinite(p.peak)) continue;
    if (!best || p.peak > best.rate) best = { rate: p.peak, t: p.t };
  }
  return best;
}

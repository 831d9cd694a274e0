// The side panel (click a node or an edge) and the hover tooltip contents. Reads
// /api/v1/service, /api/v1/edge/series and /api/v1/edge/traces.

import { GetJson, NodeQuery, StepFor } from './api.js';
import { BusiestStep } from './views.js';
import { Count, EdgeLabel, Esc, Millis, Minute, NodeLabel, Percent, Rate, ToDate } from './format.js';

// ---- response shapes, read tolerantly (the series/traces field names are the API's) ----

export function SeriesPoints(body) {
  const list = body?.points || body?.series || body?.steps || (Array.isArray(body) ? body : []);
  return list.map((p) => ({
    t: ToDate(p.time ?? p.start ?? p.t ?? p.minute ?? p.timestamp),
    requests: Number(p.requests ?? 0),
    errors: Number(p.errors ?? 0),
    p95: p.latency_ms ? Number(p.latency_ms.p95 ?? NaN) : NaN,
    peak: p.peak_rate_per_s === null || p.peak_rate_per_s === undefined ? null : Number(p.peak_rate_per_s),
  }));
}

export function TraceList(body) {
  const list = body?.traces || body?.exemplars || (Array.isArray(body) ? body : []);
  const rows = list.map((t) => {
    const status = t.status ?? t.status_code ?? '';
    const error = Boolean(t.error ?? t.is_error ?? (Number(status) >= 500 || status === 'error'));
    return {
      id: t.trace_id ?? t.id ?? '',
      url: t.trace_url ?? '', // the server's --trace-url link, when it has one
      minute: t.minute ?? t.time ?? t.start ?? '',
      duration_ms: Number(t.duration_ms ?? (t.duration_us !== undefined ? t.duration_us / 1000 : NaN)),
      status,
      error,
    };
  });
  // Errors first, then newest first (the server's order is newest first; keep it stable).
  return rows.map((r, i) => [r, i]).sort((a, b) => b[0].error - a[0].error || a[1] - b[1]).map((x) => x[0]);
}

// ---- tooltip HTML ----

function Signed(v, fmt) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  return (v > 0 ? '+' : v < 0 ? '−' : '±') + fmt(Math.abs(v));
}

export function EdgeTooltip(edge, view, traces) {
  const src = view.nodeById.get(String(edge.source));
  const dst = view.nodeById.get(String(edge.target));
  const l = edge.latency_ms || {};
  const prev = edge.previous || edge.prev || null;
  const cls = edge.errors > 0 ? 'err' : 'ok';
  let html = `<div class="title">${Esc(EdgeLabel(src, dst))}</div><table>
<tr><td>rate</td><td class="num" data-k="rate">${Rate(edge.rate_per_s)}</td></tr>
<tr><td>error rate</td><td class="num ${cls}" data-k="error_rate">${Percent(edge.error_rate)}</td></tr>
<tr><td>requests</td><td class="num" data-k="requests">${Count(edge.requests)}</td></tr>
<tr><td>errors</td><td class="num ${cls}" data-k="errors">${Count(edge.errors)}</td></tr>
<tr><td>p50 / p95 / p99</td><td class="num" data-k="latency">${Millis(l.p50)} / ${Millis(l.p95)} / ${Millis(l.p99)}</td></tr>
<tr><td>protocol</td><td data-k="protocol">${Esc(edge.protocol || '–')}</td></tr>`;
  if (edge.change) {
    html += `<tr><td>vs. before</td><td data-k="change">${Esc(edge.change)}</td></tr>`;
    if (prev) html += `<tr><td>before</td><td class="num">${Count(prev.requests)} req, ${Percent(prev.error_rate)} err</td></tr>`;
    const d = edge.delta;
    if (d) html += `<tr><td>Δ rate / err / p99</td><td class="num">${Signed(d.rate_per_s, Rate)} / ${Signed(d.error_rate, Percent)} / ${Signed(d.p99_ms, Millis)}</td></tr>`;
  }
  html += '</table>';
  html += `<div style="margin-top:6px"><b>Exemplar traces</b> <span class="muted">(click the edge for all)</span></div>`;
  if (traces === undefined) html += '<div class="muted">loading…</div>';
  else if (!traces.length) html += '<div class="muted">none recorded</div>';
  else html += TraceRows(traces.slice(0, 5), false);
  return html;
}

export function NodeTooltip(node, view, health) {
  const incoming = view.data.edges.filter((e) => String(e.target) === String(node.id));
  const outgoing = view.data.edges.filter((e) => String(e.source) === String(node.id));
  const rate_in = incoming.reduce((s, e) => s + (e.rate_per_s || 0), 0);
  const inside = incoming.find((e) => String(e.source) === String(node.id));
  const names = new Set();
  for (const e of incoming) if (e !== inside) names.add(NodeLabel(view.nodeById.get(String(e.source))));
  for (const e of outgoing) if (e !== inside) names.add(NodeLabel(view.nodeById.get(String(e.target))));
  const list = [...names].sort();
  const shown = list.slice(0, 8).map(Esc).join(', ') + (list.length > 8 ? `, … (${list.length} in all)` : '');
  const cls = health.label === 'erroring' ? 'err' : 'ok';
  return `<div class="title">${Esc(NodeLabel(node))} <span class="muted">${Esc(node.kind)}</span></div><table>
<tr><td>incoming rate</td><td class="num" data-k="rate_in">${Rate(rate_in)}</td></tr>
<tr><td>requests in</td><td class="num" data-k="requests_in">${Count(node.requests_in)}</td></tr>
<tr><td>errors in</td><td class="num ${cls}" data-k="errors_in">${Count(node.errors_in)} (${Percent(health.rate ?? 0)})</td></tr>
<tr><td>health</td><td class="${cls}" data-k="health">${Esc(health.label)}</td></tr>${inside ? `
<tr><td>inside</td><td class="num" data-k="inside">${Count(inside.requests)} requests, ${Count(inside.errors)} errors</td></tr>` : ''}
<tr><td>connected</td><td data-k="connected">${shown || '–'}</td></tr>${NodeChange(node)}</table>`;
}

function NodeChange(node) {
  if (!node.change) return '';
  const p = node.previous || {};
  return `<tr><td>vs. before</td><td data-k="change">${Esc(node.change)}</td></tr>
<tr><td>before</td><td class="num">${Count(p.requests_in)} in, ${Count(p.errors_in)} errors</td></tr>`;
}

// The link of a trace: the page's trace_url URL parameter when set ({trace_id} or {id} replaced),
// else the server's (--trace-url, the API's trace_url), else none.
export function TraceHref(t, template) {
  if (template) return template.replaceAll('{trace_id}', t.id).replaceAll('{id}', t.id);
  return t.url || '';
}

// links: the full ids, linked where there is a link, each with a copy button (the panel);
// otherwise ids cut to 16 characters (the tooltip).
export function TraceRows(traces, links, template) {
  const rows = traces
    .map((t) => {
      const href = TraceHref(t, template);
      const id = href ? `<a href="${Esc(href)}" target="_blank" rel="noopener">${Esc(t.id)}</a>` : Esc(t.id);
      const copy = ` <button type="button" class="copy" data-copy="${Esc(t.id)}" title="copy the trace id">copy</button>`;
      return `<tr class="${t.error ? 'err' : ''}"><td class="trace">${links ? id + copy : Esc(t.id.slice(0, 16))}${!links && t.id.length > 16 ? '…' : ''}</td>
<td>${Esc(Minute(t.minute))}</td><td class="num">${Millis(t.duration_ms)}</td><td>${Esc(t.status === '' ? (t.error ? 'error' : 'ok') : t.status)}</td></tr>`;
    })
    .join('');
  return `<table class="traces"><tr><th>trace</th><th>minute</th><th class="num">duration</th><th>status</th></tr>${rows}</table>`;
}

// Copies text to the clipboard (the Clipboard API where the page may use it, else a selection
// and execCommand, which also works on plain http). Resolves to true when copied.
export async function CopyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function WireCopyButtons(root) {
  root.querySelectorAll('button.copy[data-copy]').forEach((b) => {
    b.onclick = async () => {
      const ok = await CopyText(b.dataset.copy);
      if (window.__edgewise) window.__edgewise.lastCopied = ok ? b.dataset.copy : '';
      b.textContent = ok ? 'copied' : 'copy failed';
      setTimeout(() => (b.textContent = 'copy'), 1500);
    };
  });
}

// ---- inline SVG trend chart ----

export function Sparkline(points, key, label, color, fmt) {
  const w = 340;
  const h = 64;
  const pad = 16;
  const values = points.map((p) => p[key]).map((v) => (Number.isFinite(v) ? v : null));
  const max = Math.max(0, ...values.filter((v) => v !== null));
  const n = points.length;
  let path = '';
  values.forEach((v, i) => {
    if (v === null) return;
    const x = n > 1 ? (i / (n - 1)) * (w - 2) + 1 : w / 2;
    const y = h - pad - (max ? (v / max) * (h - pad - 12) : 0);
    path += `${path && values[i - 1] !== null ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const first = points[0]?.t ? Minute(points[0].t) : '';
  const last = points[n - 1]?.t ? Minute(points[n - 1].t) : '';
  return `<svg class="chart" data-series="${Esc(key)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<text x="0" y="9">${Esc(label)} (max ${Esc(fmt(max))})</text>
<line x1="0" x2="${w}" y1="${h - pad}" y2="${h - pad}" stroke="#dde1e7"/>
<path d="${path}" fill="none" stroke="${color}" stroke-width="1.6"/>
<text x="0" y="${h - 3}">${Esc(first)}</text><text x="${w}" y="${h - 3}" text-anchor="end">${Esc(last)}</text></svg>`;
}

function Charts(points) {
  if (!points.length) return '<div class="muted">no data in range</div>';
  const busiest = BusiestStep(points);
  return (
    (busiest
      ? `<div class="peak" data-peak="${busiest.rate}">busiest minute: <b>${Esc(Rate(busiest.rate))}</b>` +
        ` (in the step of ${Esc(Minute(busiest.t))})</div>`
      : '') +
    Sparkline(points, 'requests', 'requests', '#2f6fe0', Count) +
    Sparkline(points, 'errors', 'errors', '#d64545', Count) +
    Sparkline(points, 'p95', 'p95 latency', '#7a4fd0', Millis)
  );
}

function EdgeTable(edges, view, side) {
  if (!edges.length) return '<div class="muted">none</div>';
  const rows = [...edges]
    .sort((a, b) => (b.requests || 0) - (a.requests || 0))
    .map((e) => {
      const other = view.nodeById.get(String(side === 'in' ? e.source : e.target));
      const cls = e.errors > 0 ? 'err' : '';
      const label = String(e.source) === String(e.target) ? `${NodeLabel(other)} (inside)` : NodeLabel(other);
      return `<tr><td><a data-node="${Esc(other?.id)}">${Esc(label)}</a></td><td class="num">${Count(e.requests)}</td>
<td class="num ${cls}">${Percent(e.error_rate)}</td><td class="num">${Millis(e.latency_ms?.p95)}</td><td class="num">${Millis(e.latency_ms?.p99)}</td></tr>`;
    })
    .join('');
  return `<table><tr><th>${side === 'in' ? 'from' : 'to'}</th><th class="num">req</th><th class="num">err</th><th class="num">p95</th><th class="num">p99</th></tr>${rows}</table>`;
}

// Missing-edge diagnostics as /api/v1/service reports them: the halves that expired unpaired, and
// per destination that no server span answered whether that points at broken propagation
// (toward a traced service: red) or is the expected outcome (toward an external service).
const kVerdicts = {
  propagation: ['err', 'traced: check propagation'],
  expected: ['muted', 'external: expected'],
  unknown: ['muted', 'IP address: cannot tell'],
};

export function Diagnostics(body) {
  const d = body?.missing_edges;
  if (!d || typeof d !== 'object') return '<div class="muted">none reported</div>';
  const suspects = Number(d.propagation_suspects ?? 0);
  const count = (k, v, cls) => `<tr><td>${Esc(k)}</td><td class="num ${v ? cls : ''}" data-k="${Esc(k.replace(/ /g, '_'))}">${Count(v ?? 0)}</td></tr>`;
  const total = Number(d.client_halves_expired || 0) + Number(d.server_halves_expired || 0) + Number(d.evicted || 0);
  let html = total ? '' : '<div class="ok">no unpaired halves in range</div>';
  html += `<table>${count('client halves expired', d.client_halves_expired, '')}${count('server halves expired', d.server_halves_expired, 'err')}${count('evicted', d.evicted, 'err')}`;
  html += `${count('propagation suspects', suspects, 'err')}${count('expected unpaired', d.expected_unpaired, '')}</table>`;
  const list = Array.isArray(d.destinations) ? d.destinations : [];
  if (list.length) {
    const rows = list.map((x) => {
      const [cls, text] = kVerdicts[x.verdict] || ['muted', x.verdict];
      return `<tr data-verdict="${Esc(x.verdict)}"><td>${Esc(x.name)}</td><td class="num">${Count(x.requests)}</td><td class="${cls}">${Esc(text)}</td></tr>`;
    }).join('');
    html += `<table class="destinations"><tr><th>unanswered calls to</th><th class="num">req</th><th>verdict</th></tr>${rows}</table>`;
  }
  if (d.hint) html += `<div class="${suspects || d.evicted ? 'err' : 'muted'}" data-k="hint" style="margin-top:4px">${Esc(d.hint)}</div>`;
  return html;
}

// In and out figures of a node from its drawn edges: rate, requests, errors and the largest
// p99 of the edges (the slowest caller / callee).
function Figures(edges, requests, errors, side) {
  const rate = edges.reduce((s, e) => s + (e.rate_per_s || 0), 0);
  const p99 = edges.reduce((m, e) => Math.max(m, e.latency_ms?.p99 || 0), 0);
  const cls = errors > 0 ? 'err' : '';
  return `<tr data-k="${side}"><td>${side === 'in' ? 'incoming' : 'outgoing'}</td><td class="num">${Rate(rate)}</td>
<td class="num">${Count(requests)}</td><td class="num ${cls}">${Count(errors)}</td>
<td class="num ${cls}">${Percent(requests ? errors / requests : 0)}</td><td class="num">${edges.length ? Millis(p99) : '–'}</td></tr>`;
}

// Fills the panel for a node. window_ is {start, end, seconds}. Returns when loaded.
export async function ShowNode(body_el, node, view, window_, actions) {
  const incoming = view.data.edges.filter((e) => String(e.target) === String(node.id));
  const outgoing = view.data.edges.filter((e) => String(e.source) === String(node.id));
  const req_in = incoming.reduce((s, e) => s + (e.requests || 0), 0);
  const err_in = incoming.reduce((s, e) => s + (e.errors || 0), 0);
  const req_out = outgoing.reduce((s, e) => s + (e.requests || 0), 0);
  const err_out = outgoing.reduce((s, e) => s + (e.errors || 0), 0);
  const kind = String(node.kind || 'service').replace(/_/g, ' ');
  const ns_token = node.kind === 'service' ? `ns:${node.namespace || ''}` : '';
  body_el.innerHTML = `<h2>${Esc(node.kind === 'namespace' ? NodeLabel(node) : node.name)}</h2>
<div class="sub">${Esc(node.kind)}${node.namespace && node.kind !== 'namespace' ? ' · namespace ' + Esc(node.namespace) : ''}</div>
<div class="actions"><button type="button" data-act="focus">Focus here</button> <button type="button" data-act="filter">Filter to its traffic</button></div>
<div class="actions">hide: <button type="button" data-act="hide-node">this node</button>${ns_token ? ` <button type="button" data-act="hide-ns">namespace ${Esc(node.namespace || '(none)')}</button>` : ''}${node.kind !== 'namespace' ? ` <button type="button" data-act="hide-kind">all ${Esc(kind)} nodes</button>` : ''}</div>
<table class="figures"><tr><th></th><th class="num">rate</th><th class="num">req</th><th class="num">err</th><th class="num">err %</th><th class="num" title="the largest p99 of its edges">max p99</th></tr>
${Figures(incoming, req_in, err_in, 'in')}${Figures(outgoing, req_out, err_out, 'out')}</table>
<h3>Trend (incoming)</h3><div id="panel-trend" class="muted">loading…</div>
<h3>Callers</h3>${EdgeTable(incoming, view, 'in')}
<h3>Callees</h3>${EdgeTable(outgoing, view, 'out')}
<h3>Missing-edge diagnostics</h3><div id="panel-diag" class="muted">loading…</div>`;
  body_el.querySelector('[data-act=focus]').onclick = () => actions.focus(node.id);
  body_el.querySelector('[data-act=filter]').onclick = () => actions.filter(NodeQuery(node));
  body_el.querySelector('[data-act=hide-node]').onclick = () => actions.hide(String(node.id));
  const hide_ns = body_el.querySelector('[data-act=hide-ns]');
  if (hide_ns) hide_ns.onclick = () => actions.hide(ns_token);
  const hide_kind = body_el.querySelector('[data-act=hide-kind]');
  if (hide_kind) hide_kind.onclick = () => actions.hide(`kind:${node.kind}`);
  body_el.querySelectorAll('a[data-node]').forEach((a) => (a.onclick = () => actions.select(a.dataset.node)));
  const [series, service] = await Promise.all([
    GetJson('/api/v1/edge/series', { query: NodeQuery(node), start: window_.start, end: window_.end, step: StepFor(window_.seconds) }),
    GetJson('/api/v1/service', { id: node.id, start: window_.start, end: window_.end }),
  ]);
  const trend = body_el.querySelector('#panel-trend');
  const diag = body_el.querySelector('#panel-diag');
  if (!trend || !diag) return; // the panel moved on
  trend.className = '';
  trend.innerHTML = series.ok ? Charts(SeriesPoints(series.body)) : `<div class="err">${Esc(series.body?.error)}</div>`;
  diag.className = '';
  diag.innerHTML = service.ok ? Diagnostics(service.body) : `<div class="err">${Esc(service.body?.error)}</div>`;
}

export async function ShowEdge(body_el, edge, view, window_, template) {
  const src = view.nodeById.get(String(edge.source));
  const dst = view.nodeById.get(String(edge.target));
  const l = edge.latency_ms || {};
  body_el.innerHTML = `<h2>${Esc(EdgeLabel(src, dst))}</h2>
<div class="sub">${Esc(edge.protocol || '')} · ${Rate(edge.rate_per_s)} · ${Count(edge.requests)} requests · ${Count(edge.errors)} errors (${Percent(edge.error_rate)})</div>
<div class="sub">p50 ${Millis(l.p50)} · p95 ${Millis(l.p95)} · p99 ${Millis(l.p99)}</div>
<h3>Trend</h3><div id="panel-trend" class="muted">loading…</div>
<h3>Breakdown</h3><div id="panel-breakdown" class="muted">loading…</div>
<h3>Exemplar traces</h3><div id="panel-traces" class="muted">loading…</div>`;
  const ids = { source: edge.source, target: edge.target, start: window_.start, end: window_.end };
  const [series, traces, ...parts] = await Promise.all([
    GetJson('/api/v1/edge/series', { ...ids, step: StepFor(window_.seconds) }),
    GetJson('/api/v1/edge/traces', ids), // errors and successes; TraceList puts errors first
    ...['path', 'method', 'status'].map((by) => GetJson('/api/v1/edge/breakdown', { ...ids, by, top: 10 })),
  ]);
  const breakdown = body_el.querySelector('#panel-breakdown');
  if (breakdown) {
    breakdown.className = '';
    breakdown.innerHTML = ['path', 'method', 'status'].map((by, i) => Breakdown(by, parts[i])).join('');
  }
  const trend = body_el.querySelector('#panel-trend');
  const list = body_el.querySelector('#panel-traces');
  if (!trend || !list) return;
  trend.className = '';
  trend.innerHTML = series.ok ? Charts(SeriesPoints(series.body)) : `<div class="err">${Esc(series.body?.error)}</div>`;
  list.className = '';
  if (!traces.ok) list.innerHTML = `<div class="err">${Esc(traces.body?.error)}</div>`;
  else {
    const rows = TraceList(traces.body);
    list.innerHTML = rows.length ? TraceRows(rows, true, template) : '<div class="muted">none recorded</div>';
    WireCopyButtons(list);
  }
}

// One breakdown table (/api/v1/edge/breakdown): the top groups with requests, errors and p99,
// and the rest as one row.
function Breakdown(by, r) {
  if (!r.ok) return `<div class="err">${Esc(r.body?.error)}</div>`;
  const groups = r.body?.groups || [];
  if (!groups.length) return `<table class="breakdown" data-by="${by}"><tr><th>${by}</th></tr><tr><td class="muted">none recorded</td></tr></table>`;
  const none = { path: '(no path)', method: '(no method)', status: '(none)' }[by];
  const rows = groups.map((g) => {
    const cls = g.errors > 0 ? 'err' : '';
    const key = g.key === '' || (by === 'status' && g.key === '0') ? none : g.key;
    return `<tr><td class="key">${Esc(key)}</td><td class="num">${Count(g.requests)}</td><td class="num ${cls}">${Count(g.errors)}</td>
<td class="num ${cls}">${Percent(g.error_rate)}</td><td class="num">${Millis(g.latency_ms?.p99)}</td></tr>`;
  }).join('');
  const other = r.body.other?.requests ? `<tr class="muted"><td>${r.body.groups_total - groups.length} more</td><td class="num">${Count(r.body.other.requests)}</td><td class="num">${Count(r.body.other.errors)}</td><td></td><td></td></tr>` : '';
  return `<table class="breakdown" data-by="${by}"><tr><th>${by}</th><th class="num">req</th><th class="num">err</th><th class="num">err %</th><th class="num">p99</th></tr>${rows}${other}</table>`;
}

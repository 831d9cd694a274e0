// Edgewise web map: page state (kept in the URL), controls, fetching /api/v1/map, the tooltip,
// the side panel, and window.__edgewise (the rendered graph, exposed for tests and scripts).

import { CompareParam, GetJson, TimeWindow } from './api.js';
import { EdgeColor, EdgeId, kColors, MapView, NodeHealth } from './graph.js';
import { Esc, NodeLabel } from './format.js';
import { EdgeTooltip, NodeTooltip, ShowEdge, ShowNode, TraceList } from './panel.js';

// Past these sizes the page asks the server to prune instead of drawing everything.
const kMaxNodes = 600;
const kMaxEdges = 2500;
const kAutoTop = 300;

const kDefaults = {
  q: '', range: '1h', start: '', end: '', compare: '', errors: false, top: 0, group: false,
  thr: 1, refresh: 0, focus: '', depth: 1, sel: '', trace_url: '', all: false, max_nodes: kMaxNodes,
};

const $ = (id) => document.getElementById(id);

function ReadUrl() {
  const p = new URLSearchParams(location.search);
  const s = { ...kDefaults };
  for (const k of Object.keys(kDefaults)) {
    if (!p.has(k)) continue;
    const v = p.get(k);
    if (typeof kDefaults[k] === 'boolean') s[k] = v === '1' || v === 'true';
    else if (typeof kDefaults[k] === 'number') s[k] = Number.isFinite(Number(v)) ? Number(v) : kDefaults[k];
    else s[k] = v;
  }
  return s;
}

function WriteUrl(s) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) {
    if (v === kDefaults[k] || v === '' || v === false) continue;
    p.set(k, v === true ? '1' : String(v));
  }
  const url = `${location.pathname}${p.toString() ? '?' + p : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
}

const state = ReadUrl();
const ew = {
  ready: false, lastError: null, renderCount: 0, layoutMs: 0, renderMs: 0, lastRequest: '',
  autoPruned: false, consoleErrors: [],
};
window.__edgewise = ew;
let map_body = { nodes: [], edges: [] };
let refresh_timer = null;
let generation = 0;
const trace_cache = new Map();

const view = new MapView($('graph'), {
  onHover: (what, id, ev) => ShowTooltip(what, id, ev),
  onMove: (ev) => MoveTooltip(ev),
  onSelect: (what, id) => Select(what === 'edge' ? `e:${id}` : id || ''),
  onFocus: (id) => Update({ focus: id }),
});

// ---- tooltip ----
let hovered = null;
function ShowTooltip(what, id, ev) {
  const tip = $('tooltip');
  hovered = what ? { what, id } : null;
  if (!what) {
    tip.hidden = true;
    ew.hover = null;
    return;
  }
  const window_ = TimeWindow(state);
  if (what === 'edge') {
    const edge = view.edgeById.get(id);
    if (!edge) return;
    const key = `${id}|${window_.start}|${window_.end}`;
    tip.innerHTML = EdgeTooltip(edge, view, trace_cache.get(key));
    if (!trace_cache.has(key)) {
      GetJson('/api/v1/edge/traces', { source: edge.source, target: edge.target, start: window_.start, end: window_.end }).then(
        (r) => {
          trace_cache.set(key, r.ok ? TraceList(r.body) : []);
          if (hovered && hovered.id === id) {
            tip.innerHTML = EdgeTooltip(edge, view, trace_cache.get(key));
            ew.hover = { what, id, text: tip.innerText, tracesLoaded: true };
          }
        },
      );
    }
  } else {
    const node = view.nodeById.get(id);
    if (!node) return;
    tip.innerHTML = NodeTooltip(node, view, NodeHealth(node, state.thr / 100));
  }
  tip.hidden = false;
  ew.hover = { what, id, text: tip.innerText, tracesLoaded: what === 'edge' ? trace_cache.has(`${id}|${window_.start}|${window_.end}`) : true };
  MoveTooltip(ev);
}

function MoveTooltip(ev) {
  const tip = $('tooltip');
  if (tip.hidden || !ev) return;
  const x = Math.min(ev.clientX + 16, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(ev.clientY + 16, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, y)}px`;
}

// ---- side panel ----
function Select(sel) {
  state.sel = sel;
  WriteUrl(state);
  ShowPanel();
}

async function ShowPanel() {
  const panel = $('panel');
  const body = $('panel-body');
  const window_ = TimeWindow(state);
  if (!state.sel) {
    const was_shown = !panel.hidden;
    panel.hidden = true;
    view.Select('');
    if (was_shown) {
      view.cy.resize();
      view.Fit();
    }
    return;
  }
  const was_hidden = panel.hidden;
  panel.hidden = false;
  if (was_hidden) {
    view.cy.resize();
    view.Fit();
  }
  ew.panelLoaded = false;
  if (state.sel.startsWith('e:')) {
    const edge = view.edgeById.get(state.sel.slice(2));
    if (!edge) return Select('');
    view.Select(state.sel.slice(2));
    await ShowEdge(body, edge, view, window_, state.trace_url);
  } else {
    const node = view.nodeById.get(state.sel);
    if (!node) return Select('');
    view.Select(state.sel);
    await ShowNode(body, node, view, window_, {
      focus: (id) => Update({ focus: id }),
      filter: (q) => Update({ q }),
      select: (id) => Select(id),
    });
  }
  ew.panelLoaded = true;
}

// ---- controls ----
function SyncControls() {
  $('query').value = state.q;
  $('range').value = state.range;
  $('custom-range').hidden = state.range !== 'custom';
  $('start').value = state.start;
  $('end').value = state.end;
  $('compare').value = state.compare;
  $('errors-only').checked = state.errors;
  $('top').value = state.top;
  $('group').checked = state.group;
  $('threshold').value = state.thr;
  $('refresh').value = String(state.refresh);
  $('depth').value = state.depth;
  $('focusbar').hidden = !state.focus;
  const f = view.nodeById.get(state.focus) || map_body.nodes?.find((n) => String(n.id) === state.focus);
  $('focus-name').textContent = f ? NodeLabel(f) : state.focus;
}

function Update(changes) {
  Object.assign(state, changes);
  if ('q' in changes || 'focus' in changes || 'group' in changes) state.all = false;
  // A namespace node exists only in a grouped map: ungrouping leaves its focus.
  if ('group' in changes && !state.group && state.focus.startsWith('ns:')) state.focus = '';
  WriteUrl(state);
  SyncControls();
  if ('refresh' in changes) ScheduleRefresh();
  Load();
}

function BindControls() {
  $('query-form').addEventListener('submit', (e) => {
    e.preventDefault();
    Update({ q: $('query').value.trim() });
  });
  $('range').addEventListener('change', () => {
    const range = $('range').value;
    if (range === 'custom' && !state.start) {
      const pad = (d) => new Date(d - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      state.end = pad(Date.now());
      state.start = pad(Date.now() - 3600 * 1000);
    }
    Update({ range });
  });
  for (const id of ['start', 'end']) $(id).addEventListener('change', () => Update({ [id]: $(id).value }));
  $('compare').addEventListener('change', () => Update({ compare: $('compare').value }));
  $('errors-only').addEventListener('change', () => Update({ errors: $('errors-only').checked }));
  $('top').addEventListener('change', () => Update({ top: Math.max(0, Number($('top').value) || 0) }));
  $('group').addEventListener('change', () => Update({ group: $('group').checked }));
  $('threshold').addEventListener('change', () => {
    state.thr = Math.max(0, Number($('threshold').value) || 0);
    WriteUrl(state);
    Draw(); // colours only: no refetch
  });
  $('refresh').addEventListener('change', () => {
    state.refresh = Number($('refresh').value) || 0;
    WriteUrl(state);
    ScheduleRefresh();
  });
  $('depth').addEventListener('change', () => Update({ depth: Math.max(1, Number($('depth').value) || 1) }));
  $('unfocus').addEventListener('click', () => Update({ focus: '' }));
  $('panel-close').addEventListener('click', () => Select(''));
  $('query').addEventListener('input', () => {
    $('query').classList.remove('bad');
    $('query-error').hidden = true;
  });
}

function ScheduleRefresh() {
  clearInterval(refresh_timer);
  refresh_timer = null;
  if (state.refresh > 0) refresh_timer = setInterval(() => Load({ quiet: true }), state.refresh * 1000);
}

// ---- loading and drawing ----
function MapParams(window_, top) {
  return {
    query: state.q,
    start: window_.start,
    end: window_.end,
    focus: state.focus,
    depth: state.focus ? state.depth : '',
    compare: CompareParam(state, window_),
    errors_only: state.errors ? 'true' : '',
    top: top || '',
    group: state.group ? 'namespace' : '',
  };
}

function ShowQueryError(body) {
  const has_pos = Number.isInteger(body?.position);
  $('query').classList.add('bad');
  $('query-error').hidden = false;
  $('query-caret').textContent = has_pos ? ' '.repeat(Math.max(0, body.position)) + '^' : '';
  $('query-message').textContent = body?.error || 'bad request';
}

async function Load(opts = {}) {
  const my = ++generation;
  ew.ready = false;
  if (!opts.quiet) SetStatus('loading…');
  const window_ = TimeWindow(state);
  let top = state.top;
  let r = await GetJson('/api/v1/map', MapParams(window_, top));
  if (my !== generation) return;
  ew.autoPruned = false;
  const max_edges = Math.round((kMaxEdges * state.max_nodes) / kMaxNodes);
  const big = r.ok && ((r.body?.nodes?.length || 0) > state.max_nodes || (r.body?.edges?.length || 0) > max_edges);
  if (big && !state.all && !state.group && !(state.top > 0 && state.top <= kAutoTop)) {
    const total = { nodes: r.body.nodes.length, edges: r.body.edges.length };
    top = kAutoTop;
    r = await GetJson('/api/v1/map', MapParams(window_, top));
    if (my !== generation) return;
    ew.autoPruned = total;
  }
  ew.lastRequest = r.url;
  if (!r.ok) {
    ew.lastError = { status: r.status, ...(r.body || {}) };
    if (r.status === 400 && ('position' in (r.body || {}) || state.q)) ShowQueryError(r.body);
    SetStatus(`error: ${r.body?.error || 'HTTP ' + r.status}`, true);
    ew.ready = true;
    return;
  }
  ew.lastError = null;
  $('query').classList.remove('bad');
  $('query-error').hidden = true;
  map_body = r.body || { nodes: [], edges: [] };
  Draw();
  ShowBanner();
  SyncControls();
  if (state.sel && !opts.quiet) ShowPanel();
  ew.ready = true;
}

function Draw() {
  const t = performance.now();
  const { relayout } = view.Render(map_body, state.thr / 100);
  ew.renderMs = performance.now() - t;
  ew.timing = view.timing;
  if (relayout) ew.layoutMs = view.layoutMs;
  ew.renderCount++;
  ew.drawnAt = performance.now(); // since navigation start
  const drawn = ew.drawnAt;
  ew.paintMs = undefined;
  requestAnimationFrame(() => requestAnimationFrame(() => (ew.paintMs = performance.now() - drawn)));
  const n = view.data.nodes.length;
  const e = view.data.edges.length;
  const err = view.data.edges.filter((x) => EdgeColor(x, state.thr / 100) === kColors.error).length;
  SetStatus(`${n} nodes · ${e} edges · ${err} red · ${map_body.start || ''} → ${map_body.end || ''} · layout ${view.layoutMs.toFixed(1)} ms`);
}

function ShowBanner() {
  const b = $('banner');
  if (!ew.autoPruned) {
    b.hidden = true;
    return;
  }
  b.hidden = false;
  b.innerHTML = `Large map (${ew.autoPruned.nodes} nodes, ${ew.autoPruned.edges} edges): showing the ${kAutoTop} busiest edges.
<button type="button" id="b-group">group by namespace</button><button type="button" id="b-all">draw everything</button>`;
  $('b-group').onclick = () => Update({ group: true });
  $('b-all').onclick = () => Update({ all: true });
}

function SetStatus(text, is_error) {
  $('status-text').textContent = text;
  $('status').classList.toggle('error', Boolean(is_error));
}

function Legend() {
  $('legend').innerHTML = [
    [kColors.ok, 'ok'], [kColors.error, 'errors ≥ threshold'], [kColors.new, 'new (compare)'], [kColors.gone, 'gone (compare)'],
  ].map(([c, l]) => `<span><i style="border-color:${c}${l.startsWith('new') ? ';border-top-style:dashed' : l.startsWith('gone') ? ';border-top-style:dotted' : ''}"></i>${Esc(l)}</span>`).join('');
}

// ---- the test/script surface ----
ew.state = () => ({ ...state });
ew.nodes = () =>
  view.data.nodes.map((n) => {
    const el = view.Rendered(String(n.id));
    const health = NodeHealth(n, state.thr / 100);
    return { ...n, health: health.label, shape: el?.data('shape'), parent: el?.data('parent') || '', position: el ? { ...el.position() } : null };
  });
ew.edges = () =>
  view.data.edges.map((e) => {
    const el = view.Rendered(EdgeId(e.source, e.target));
    const color = EdgeColor(e, state.thr / 100);
    return {
      ...e, id: EdgeId(e.source, e.target), width: el?.data('width'),
      color: e.change === 'gone' ? 'grey' : color === kColors.error ? 'red' : color === kColors.ok ? 'green' : 'grey',
      source_name: NodeLabel(view.nodeById.get(String(e.source))), target_name: NodeLabel(view.nodeById.get(String(e.target))),
    };
  });
ew.screenPoint = (id) => view.ScreenPoint(id);
ew.edgeId = (source, target) => EdgeId(source, target);
ew.reload = () => Load();
ew.cy = view.cy;
ew.update = (changes) => Update(changes);

window.addEventListener('error', (e) => ew.consoleErrors.push(String(e.message)));
window.addEventListener('resize', () => view.cy.resize());
$('graph').addEventListener('mouseleave', () => ShowTooltip(null, null, null));
Legend();
BindControls();
SyncControls();
ScheduleRefresh();
Load();

// Edgewise web map: page state (kept in the URL), controls, fetching /api/v1/map, the tooltip,
// the side panel, and window.__edgewise (the rendered graph, exposed for tests and scripts).

import { CompareParam, GetJson, TimeWindow } from './api.js';
import { EdgeColor, EdgeId, kColors, kShapes, MapView, NodeHealth } from './graph.js';
import { Esc, Minute, NodeLabel } from './format.js';
import { ApplyHide, ComposeExpanded, HideTokens, MergeStep, ReplaySteps } from './views.js';
import { EdgeTooltip, NodeTooltip, ShowEdge, ShowNode, TraceList } from './panel.js';

// Past these sizes the page asks the server to prune instead of drawing everything.
const kMaxNodes = 600;
const kMaxEdges = 2500;
const kAutoTop = 300;
// Past this many nodes an ungrouped, unfocused map starts grouped by namespace.
const kGroupAt = 150;

const kDefaults = {
  q: '', range: '1h', start: '', end: '', compare: '', errors: false, top: 0, group: false,
  thr: 5, warn: 1, refresh: 0, focus: '', depth: 1, sel: '', trace_url: '', all: false, max_nodes: kMaxNodes,
  group_at: kGroupAt, expand: '', hide: '', find: '', fi: 0, labels: false, at: -1, webgl: false,
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
let map_body = { nodes: [], edges: [] }; // what is drawn
let base_body = { nodes: [], edges: [] }; // the whole range's map (replay draws steps over it)
let step_body = null; // the replay step's own map
let members = []; // a grouped map's services (for expand and find)
const names = new Map(); // node id -> label of every node seen (chips of hidden nodes)
let refresh_timer = null;
let generation = 0;
const trace_cache = new Map();

const view = new MapView($('graph'), {
  onHover: (what, id, ev) => ShowTooltip(what, id, ev),
  onMove: (ev) => MoveTooltip(ev),
  onSelect: (what, id) => {
    // A grouped map's namespace node expands in place on click.
    if (what === 'node' && id.startsWith('ns:') && state.group) return Expand(id.slice(3), true);
    Select(what === 'edge' ? `e:${id}` : id || '');
  },
  onFocus: (id) => Update({ focus: id }),
}, { webgl: state.webgl });

// ---- tooltip ----
let hovered = null;
let last_pointer = null;
function ShowTooltip(what, id, ev) {
  if (ev) last_pointer = { clientX: ev.clientX, clientY: ev.clientY };
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
            MoveTooltip(last_pointer); // it grew: keep it inside the window
            ew.hover = { what, id, text: tip.innerText, tracesLoaded: true };
          }
        },
      );
    }
  } else {
    const node = view.nodeById.get(id);
    if (!node) return;
    tip.innerHTML = NodeTooltip(node, view, NodeHealth(node, state.thr / 100, state.warn / 100));
  }
  tip.hidden = false;
  ew.hover = { what, id, text: tip.innerText, tracesLoaded: what === 'edge' ? trace_cache.has(`${id}|${window_.start}|${window_.end}`) : true };
  MoveTooltip(ev);
}

function MoveTooltip(ev) {
  const tip = $('tooltip');
  if (ev) last_pointer = { clientX: ev.clientX, clientY: ev.clientY };
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
    if (was_shown) view.cy.resize();
    return;
  }
  const was_hidden = panel.hidden;
  panel.hidden = false;
  // Resize only: refitting moved the map under the pointer, so a double click's second click
  // landed elsewhere (on the namespace box) and did not focus.
  if (was_hidden) view.cy.resize();
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
      hide: (token) => Hide(token),
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
  $('warn').value = state.warn;
  $('labels').checked = state.labels;
  if (document.activeElement !== $('find')) $('find').value = state.find;
  $('replay').classList.toggle('on', state.at >= 0);
  $('replaybar').hidden = state.at < 0;
  Chips();
  $('refresh').value = String(state.refresh);
  $('depth').value = state.depth;
  $('focusbar').hidden = !state.focus;
  const f = view.nodeById.get(state.focus) || map_body.nodes?.find((n) => String(n.id) === state.focus);
  $('focus-name').textContent = f ? NodeLabel(f) : state.focus;
}

function Update(changes) {
  Object.assign(state, changes);
  if ('q' in changes || 'focus' in changes) state.all = false;
  // Unchecking "by namespace" means: draw the services (no automatic grouping either).
  if ('group' in changes) state.all = !state.group;
  if ('group' in changes && !state.group) state.expand = '';
  if (!('at' in changes) && ('q' in changes || 'range' in changes || 'start' in changes || 'end' in changes || 'group' in changes)) {
    state.at = -1;
    StopPlay();
  }
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
  for (const [id, key] of [['threshold', 'thr'], ['warn', 'warn']]) {
    $(id).addEventListener('change', () => {
      state[key] = Math.max(0, Number($(id).value) || 0);
      WriteUrl(state);
      Draw(); // colours only: no refetch
    });
  }
  $('labels').addEventListener('change', () => {
    state.labels = $('labels').checked;
    WriteUrl(state);
    Draw();
  });
  $('find').addEventListener('input', () => {
    state.find = $('find').value;
    state.fi = 0;
    WriteUrl(state);
    ApplyFind(true);
  });
  $('find').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    state.fi += e.shiftKey ? -1 : 1;
    WriteUrl(state);
    ApplyFind(true);
  });
  $('replay').addEventListener('click', () => {
    if (state.at >= 0) {
      StopPlay();
      Update({ at: -1 });
    } else Update({ at: 0 });
  });
  $('play').addEventListener('click', () => (playing ? StopPlay() : Play()));
  $('slider').addEventListener('input', () => {
    StopPlay();
    state.at = Number($('slider').value);
    WriteUrl(state);
    LoadStep();
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
function MapParams(window_, top, grouped = state.group) {
  return {
    query: state.q,
    start: window_.start,
    end: window_.end,
    focus: state.focus,
    depth: state.focus ? state.depth : '',
    compare: CompareParam(state, window_),
    errors_only: state.errors ? 'true' : '',
    top: top || '',
    group: grouped ? 'namespace' : '',
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
  const r = await FetchMap(window_, state.top);
  if (my !== generation) return;
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
  base_body = r.body || { nodes: [], edges: [] };
  map_body = base_body;
  step_body = null;
  Draw();
  ShowBanner();
  SyncControls();
  if (state.at >= 0) await LoadStep(my);
  if (my !== generation) return;
  if (state.sel && !opts.quiet) ShowPanel();
  ew.ready = true;
}

// The map of a window as the page draws it: automatic grouping past group_at nodes, the
// automatic prune past max_nodes, expanded namespaces composed in, hidden nodes taken out.
// Returns {ok, status, body, url}.
async function FetchMap(window_, top, quiet_flags = false) {
  const r = await FetchRaw(window_, top, quiet_flags);
  for (const n of r.ok ? r.body.nodes || [] : []) names.set(String(n.id), NodeLabel(n));
  return r.ok ? { ...r, body: ApplyHide(r.body, HideTokens(state.hide)) } : r;
}

async function FetchRaw(window_, top, quiet_flags) {
  let r = await GetJson('/api/v1/map', MapParams(window_, top));
  if (!quiet_flags) {
    ew.autoPruned = false;
    ew.autoGrouped = false;
  }
  if (!r.ok) return r;
  let full = state.group ? null : r.body;
  const n = r.body?.nodes?.length || 0;
  if (!state.group && !state.all && !state.focus && !(state.top > 0) && n > state.group_at) {
    if (!quiet_flags) ew.autoGrouped = { nodes: n, edges: r.body.edges.length };
    state.group = true;
    WriteUrl(state);
    r = await GetJson('/api/v1/map', MapParams(window_, top));
    if (!r.ok) return r;
  }
  if (state.group) {
    // The services of the namespaces to expand (and to find names in) come from the ungrouped map.
    if (!full) {
      const u = await GetJson('/api/v1/map', MapParams(window_, top, false));
      full = u.ok ? u.body : { nodes: [], edges: [] };
    }
    members = full.nodes.filter((x) => x.kind === 'service');
    return { ...r, body: ComposeExpanded(r.body, full, new Set(List(state.expand))) };
  }
  members = [];
  const max_edges = Math.round((kMaxEdges * state.max_nodes) / kMaxNodes);
  const big = (r.body?.nodes?.length || 0) > state.max_nodes || (r.body?.edges?.length || 0) > max_edges;
  if (big && !state.all && !(state.top > 0 && state.top <= kAutoTop)) {
    const total = { nodes: r.body.nodes.length, edges: r.body.edges.length };
    r = await GetJson('/api/v1/map', MapParams(window_, kAutoTop));
    if (!r.ok) return r;
    if (!quiet_flags) ew.autoPruned = total;
  }
  return r;
}

function List(text) {
  return String(text || '').split(',').filter(Boolean);
}

// ---- expand, hide, find ----
function Expand(ns, on) {
  const list = new Set(List(state.expand));
  if (on) list.add(ns);
  else list.delete(ns);
  Update({ expand: [...list].sort().join(',') });
}

function Hide(token) {
  const list = new Set(List(state.hide));
  list.add(token);
  if (state.sel) state.sel = '';
  Update({ hide: [...list].join(',') });
}

function Unhide(token) {
  Update({ hide: List(state.hide).filter((t) => t !== token).join(',') });
}

function ChipLabel(token) {
  if (token.startsWith('kind:')) return `all ${token.slice(5).replace(/_/g, ' ')}`;
  if (token.startsWith('ns:')) return `namespace ${token.slice(3) || '(none)'}`;
  return names.get(token) || token;
}

function Chips() {
  const el = $('chips');
  const hidden = List(state.hide);
  const expanded = state.group ? List(state.expand) : [];
  el.hidden = !hidden.length && !expanded.length;
  el.innerHTML =
    hidden.map((t) => `<span class="chip" data-hide="${Esc(t)}">hidden: ${Esc(ChipLabel(t))} <button type="button" title="show again">×</button></span>`).join('') +
    expanded.map((ns) => `<span class="chip expanded" data-expand="${Esc(ns)}">expanded: ${Esc(ns || '(no namespace)')} <button type="button" title="collapse">×</button></span>`).join('');
  el.querySelectorAll('[data-hide] button').forEach((b) => (b.onclick = () => Unhide(b.parentElement.dataset.hide)));
  el.querySelectorAll('[data-expand] button').forEach((b) => (b.onclick = () => Expand(b.parentElement.dataset.expand, false)));
}

// Nodes whose label holds the find text (case-insensitive); on a grouped map also the namespace
// nodes holding a matching service. Highlights them, centres the current one (Enter cycles).
function ApplyFind(centre) {
  const text = state.find.trim().toLowerCase();
  const found = $('find-count');
  if (!text) {
    view.Mark([]);
    found.textContent = '';
    ew.found = [];
    return;
  }
  const ids = [];
  for (const n of view.data.nodes) {
    if (n.absent) continue;
    if (NodeLabel(n).toLowerCase().includes(text)) ids.push(String(n.id));
    else if (n.kind === 'namespace' && members.some((m) => (m.namespace || '') === (n.namespace ?? n.name ?? '') && NodeLabel(m).toLowerCase().includes(text))) ids.push(String(n.id));
  }
  const i = ids.length ? ((state.fi % ids.length) + ids.length) % ids.length : 0;
  const current = ids[i];
  view.Mark(ids, current);
  found.textContent = ids.length ? `${i + 1}/${ids.length}` : 'no match';
  found.classList.toggle('err', !ids.length);
  ew.found = ids;
  ew.foundCurrent = current || '';
  if (centre && current) view.Centre(current);
}

// ---- replay ----
let playing = false;
let play_timer = null;

function StopPlay() {
  playing = false;
  clearTimeout(play_timer);
  play_timer = null;
  $('play').textContent = '▶';
}

function Play() {
  const steps = ReplaySteps(base_body.start, base_body.end);
  if (!steps.length) return;
  playing = true;
  $('play').textContent = '⏸';
  if (state.at < 0 || state.at >= steps.length - 1) state.at = -1;
  const next = async () => {
    if (!playing) return;
    state.at++;
    if (state.at >= steps.length) {
      state.at = steps.length - 1;
      return StopPlay();
    }
    WriteUrl(state);
    await LoadStep();
    if (playing) play_timer = setTimeout(next, 1000);
  };
  next();
}

// Draws step state.at of the range: its map (start/end of the step) over the whole range's
// nodes and edges, so nothing moves; what had no traffic in the step is faded.
async function LoadStep(my = generation) {
  const steps = ReplaySteps(base_body.start, base_body.end);
  $('replaybar').hidden = state.at < 0;
  if (state.at < 0 || !steps.length) return;
  state.at = Math.min(state.at, steps.length - 1);
  const step = steps[state.at];
  $('slider').max = String(steps.length - 1);
  $('slider').value = String(state.at);
  $('step-label').textContent = `${Minute(step.start)} – ${Minute(step.end)} (${state.at + 1}/${steps.length}, ${step.unit} steps)`;
  const t = performance.now();
  ew.stepReady = false;
  const r = await FetchMap({ start: step.start, end: step.end, seconds: step.seconds }, state.top, true);
  if (my !== generation) return;
  step_body = r.ok ? r.body : { nodes: [], edges: [] };
  map_body = MergeStep(base_body, step_body);
  Draw(true);
  ew.stepMs = performance.now() - t;
  ew.step = { index: state.at, start: step.start, end: step.end, unit: step.unit, count: steps.length };
  ew.stepReady = true;
}

function Draw(keep = false) {
  const t = performance.now();
  const { relayout } = view.Render(map_body, { thr: state.thr / 100, warn: state.warn / 100, labels: state.labels, keep: keep || Boolean(step_body) });
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
  const err = view.data.edges.filter((x) => EdgeColor(x, state.thr / 100, state.warn / 100) === kColors.error).length;
  const amber = view.data.edges.filter((x) => EdgeColor(x, state.thr / 100, state.warn / 100) === kColors.warn).length;
  ApplyFind(false);
  // A tooltip of something no longer drawn (an expanded namespace, a hidden node) goes away.
  if (hovered && !(hovered.what === 'edge' ? view.edgeById : view.nodeById).has(hovered.id)) ShowTooltip(null, null, null);
  SetStatus(`${n} nodes · ${e} edges · ${err} red · ${amber} amber · ${map_body.start || ''} → ${map_body.end || ''} · layout ${view.layoutMs.toFixed(1)} ms`);
}

function ShowBanner() {
  const b = $('banner');
  if (ew.autoGrouped) {
    b.hidden = false;
    b.innerHTML = `Large map (${ew.autoGrouped.nodes} nodes, ${ew.autoGrouped.edges} edges): grouped by namespace — click a namespace to expand it.
<button type="button" id="b-all">draw every service</button>`;
    $('b-all').onclick = () => Update({ group: false });
    return;
  }
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

const kShapeIcons = {
  service: '<rect x="1" y="4" width="16" height="10" rx="3"/>',
  namespace: '<rect x="1" y="4" width="16" height="10" rx="1" stroke-width="2.5"/>',
  external_client: '<path d="M1 3 L9 8 L17 3 L9 15 Z"/>',
  external_service: '<path d="M5 2 L13 2 L17 9 L13 16 L5 16 L1 9 Z"/>',
  database: '<path d="M3 4 Q9 1 15 4 L15 14 Q9 17 3 14 Z"/>',
  messaging: '<path d="M1 4 L12 4 L17 9 L12 14 L1 14 Z"/>',
};

function Legend() {
  const colours = [
    [kColors.ok, 'ok'], [kColors.warn, 'errors ≥ amber'], [kColors.error, 'errors ≥ red'], [kColors.new, 'new (compare)'], [kColors.gone, 'gone (compare)'],
  ].map(([c, l]) => `<span><i style="border-color:${c}${l.startsWith('new') ? ';border-top-style:dashed' : l.startsWith('gone') ? ';border-top-style:dotted' : ''}"></i>${Esc(l)}</span>`).join('');
  const kinds = Object.keys(kShapes).concat('namespace').map((k) =>
    `<span class="kind" data-kind="${k}" title="${k === 'namespace' ? 'a grouped namespace' : `click to hide all ${k.replace(/_/g, ' ')} nodes`}"><svg width="18" height="18" viewBox="0 0 18 18" fill="#fff" stroke="#4a5568" stroke-width="1.5">${kShapeIcons[k]}</svg>${Esc(k.replace(/_/g, ' '))}</span>`).join('');
  $('legend').innerHTML = colours + kinds;
  $('legend').querySelectorAll('[data-kind]').forEach((el) => {
    if (el.dataset.kind !== 'namespace') el.onclick = () => Hide(`kind:${el.dataset.kind}`);
  });
}

// ---- the test/script surface ----
ew.state = () => ({ ...state });
ew.nodes = () =>
  view.data.nodes.map((n) => {
    const el = view.Rendered(String(n.id));
    const health = NodeHealth(n, state.thr / 100, state.warn / 100);
    return { ...n, health: health.label, shape: el?.data('shape'), parent: el?.data('parent') || '', position: el ? { ...el.position() } : null };
  });
ew.edges = () =>
  view.data.edges.map((e) => {
    const el = view.Rendered(EdgeId(e.source, e.target));
    const color = EdgeColor(e, state.thr / 100, state.warn / 100);
    return {
      ...e, id: EdgeId(e.source, e.target), width: el?.data('width'), label: el?.hasClass('labelled') ? el.data('elabel') : '',
      color: e.change === 'gone' ? 'grey' : color === kColors.error ? 'red' : color === kColors.warn ? 'amber' : color === kColors.ok ? 'green' : 'grey',
      source_name: NodeLabel(view.nodeById.get(String(e.source))), target_name: NodeLabel(view.nodeById.get(String(e.target))),
    };
  });
ew.screenPoint = (id) => view.ScreenPoint(id);
ew.edgeId = (source, target) => EdgeId(source, target);
ew.reload = () => Load();
ew.cy = view.cy;
ew.update = (changes) => Update(changes);
ew.view = view;

window.addEventListener('error', (e) => ew.consoleErrors.push(String(e.message)));
window.addEventListener('resize', () => view.cy.resize());
$('graph').addEventListener('mouseleave', () => ShowTooltip(null, null, null));
Legend();
BindControls();
SyncControls();
ScheduleRefresh();
Load();

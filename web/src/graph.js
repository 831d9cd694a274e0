// The map view: turns /api/v1/map JSON into cytoscape elements (namespace boxes as compound
// parents), styles them (shape by kind, green/red by error rate, width by log requests,
// new/gone drawn distinctly, a node's calls to itself — with group=namespace, the traffic inside
// a namespace — as a loop above it) and places them with the layered layout, keeping positions
// stable across refreshes.

import cytoscape from 'cytoscape';
import { Count, Millis, NodeLabel, Percent, Rate } from './format.js';
import { LayeredLayout, TopologyKey } from './layout.js';

export const kColors = { ok: '#2e9d5b', warn: '#e39a12', error: '#d64545', idle: '#9aa3b2', new: '#2f6fe0', gone: '#a0a7b4' };

// Past this many edges they are drawn as straight haystack lines with a mid-edge arrow, and the
// namespace boxes become plain background rectangles drawn from the layout's bands instead of
// compound parents (compound bookkeeping made styling 4x slower on a 2,000-edge map).
export const kManyEdges = 800;

export const kShapes = {
  service: 'round-rectangle',
  external_client: 'vee',
  external_service: 'hexagon',
  database: 'barrel',
  messaging: 'round-tag',
};

export function EdgeId(source, target) {
  return `${source}\u2192${target}`;
}

// Not `ns:<namespace>`: that is the id of a namespace node of a grouped map.
function NamespaceBoxId(ns) {
  return `box:${ns}`;
}

function IsLoop(edge) {
  return String(edge.source) === String(edge.target);
}

function Style() {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'font-size': 11,
        'min-zoomed-font-size': 7, // labels too small to read are not drawn (big maps)
        color: '#1d2330',
        'text-wrap': 'ellipsis',
        'text-max-width': 150,
        'background-color': '#ffffff',
        'border-width': 2,
        'border-color': 'data(health_color)',
        shape: 'data(shape)',
      },
    },
    {
      selector: 'node[kind = "service"], node[kind = "namespace"]',
      style: { width: 150, height: 34, 'text-valign': 'center', 'text-halign': 'center' },
    },
    {
      selector: 'node[kind != "service"][kind != "namespace"]',
      style: { width: 40, height: 40, 'text-valign': 'bottom', 'text-margin-y': 4, 'text-max-width': 180 },
    },
    { selector: 'node[kind = "namespace"]', style: { 'background-color': '#eef3fb', 'border-width': 3, 'font-weight': 600, color: '#34508f' } },
    { selector: 'node[kind = "external_client"]', style: { 'background-color': '#e6ecf7' } },
    { selector: 'node[kind = "external_service"]', style: { 'background-color': '#fff0dc' } },
    { selector: 'node[kind = "database"]', style: { 'background-color': '#efe6fb' } },
    { selector: 'node[kind = "messaging"]', style: { 'background-color': '#e2f5f1' } },
    {
      selector: ':parent',
      style: {
        shape: 'round-rectangle',
        'background-color': '#eef3fb',
        'background-opacity': 0.7,
        'border-width': 1,
        'border-style': 'dashed',
        'border-color': '#8ea4cf',
        label: 'data(label)',
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        'font-size': 12,
        'font-weight': 600,
        color: '#34508f',
        padding: 14,
      },
    },
    {
      selector: 'node.bandbox',
      style: {
        shape: 'round-rectangle',
        width: 'data(w)',
        height: 'data(h)',
        'background-color': '#eef3fb',
        'background-opacity': 0.7,
        'border-width': 1,
        'border-style': 'dashed',
        'border-color': '#8ea4cf',
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        'font-size': 12,
        'font-weight': 600,
        color: '#34508f',
        'z-compound-depth': 'bottom',
        events: 'no',
      },
    },
    { selector: 'node[change = "new"]', style: { 'border-style': 'double', 'border-width': 5, 'border-color': kColors.new } },
    { selector: 'node[change = "gone"]', style: { 'border-style': 'dashed', opacity: 0.5 } },
    { selector: 'node:selected', style: { 'overlay-color': '#2f6fe0', 'overlay-opacity': 0.15, 'overlay-padding': 6 } },
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'line-color': 'data(color)',
        'target-arrow-color': 'data(color)',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9,
        'curve-style': 'bezier',
        opacity: 0.85,
      },
    },
    // Big maps: haystack edges (the cheapest cytoscape draws) with the arrow at mid-edge.
    {
      selector: 'edge.many',
      style: {
        'curve-style': 'haystack',
        'haystack-radius': 0,
        'target-arrow-shape': 'none',
        'mid-target-arrow-shape': 'triangle',
        'mid-target-arrow-color': 'data(color)',
      },
    },
    {
      selector: 'edge[change = "new"]',
      style: {
        'line-style': 'dashed',
        'line-dash-pattern': [9, 4],
        label: 'new',
        'font-size': 10,
        color: kColors.new,
        'text-background-color': '#fff',
        'text-background-opacity': 1,
        'text-background-padding': 1,
      },
    },
    {
      selector: 'edge[change = "gone"]',
      style: {
        'line-style': 'dotted',
        'line-color': kColors.gone,
        'target-arrow-color': kColors.gone,
        opacity: 0.6,
        label: 'gone',
        'font-size': 10,
        color: '#6b7585',
        'text-background-color': '#fff',
        'text-background-opacity': 1,
      },
    },
    // A node's calls to itself: a loop above the node (the default loop, up and to the left,
    // has a control point inside a wide service box, where cytoscape cannot draw it), labelled
    // with its requests. Never haystack: haystack edges cannot loop.
    {
      selector: 'edge.loop',
      style: {
        'curve-style': 'bezier',
        'loop-direction': '0deg',
        'loop-sweep': '-50deg',
        'control-point-step-size': 48,
        'target-arrow-shape': 'triangle',
        label: 'data(loop_label)',
        'text-margin-y': -12,
        'font-size': 10,
        color: '#34508f',
        'text-background-color': '#fff',
        'text-background-opacity': 0.8,
        'text-background-padding': 1,
      },
    },
    // Optional edge labels: rate · error % · p99 along the line.
    {
      selector: 'edge.labelled',
      style: {
        label: 'data(elabel)',
        'font-size': 9,
        'min-zoomed-font-size': 6,
        'text-rotation': 'autorotate',
        color: '#2a3242',
        'text-background-color': '#fff',
        'text-background-opacity': 0.85,
        'text-background-padding': 1,
      },
    },
    // Find: matches ringed in orange, the current one thicker; the rest dimmed.
    { selector: 'node.match', style: { 'overlay-color': '#ff9800', 'overlay-opacity': 0.35, 'overlay-padding': 8, 'z-index': 20 } },
    { selector: 'node.match-current', style: { 'overlay-opacity': 0.6, 'overlay-padding': 14, 'border-width': 4, 'border-color': '#ff6d00' } },
    { selector: '.dim', style: { opacity: 0.25 } },
    // Replay: what had no traffic in the step is kept in place but faded.
    { selector: '.absent', style: { opacity: 0.12 } },
    { selector: 'edge.hover', style: { opacity: 1, 'z-index': 10, 'underlay-color': '#2f6fe0', 'underlay-opacity': 0.18, 'underlay-padding': 4 } },
    { selector: 'edge:selected', style: { opacity: 1, 'underlay-color': '#2f6fe0', 'underlay-opacity': 0.3, 'underlay-padding': 4 } },
    { selector: '.faded', style: { opacity: 0.15 } },
  ];
}

// Error rate -> colour under the page's thresholds (ratios, e.g. 0.05 red and 0.01 amber).
export function EdgeColor(edge, threshold, warn = threshold) {
  if (!edge.requests) return kColors.idle;
  if (!(edge.errors > 0)) return kColors.ok;
  if (edge.error_rate >= threshold) return kColors.error;
  return edge.error_rate >= warn ? kColors.warn : kColors.ok;
}

export function NodeHealth(node, threshold, warn = threshold) {
  const req = node.requests_in || 0;
  if (!req) return { label: 'no incoming traffic', color: kColors.idle };
  const rate = (node.errors_in || 0) / req;
  if (node.errors_in > 0 && rate >= threshold) return { label: 'erroring', color: kColors.error, rate };
  if (node.errors_in > 0 && rate >= warn) return { label: 'warning', color: kColors.warn, rate };
  return { label: 'healthy', color: kColors.ok, rate };
}

// The text of an edge label: rate, error rate and p99.
export function EdgeText(e) {
  return `${Rate(e.rate_per_s)} · ${Percent(e.error_rate)} · p99 ${Millis(e.latency_ms?.p99)}`;
}

// Edge width: 1.5 px to 9 px on a log scale of requests relative to the busiest edge.
export function EdgeWidth(requests, max_requests) {
  const top = Math.log10(1 + Math.max(1, max_requests));
  return 1.5 + (7.5 * Math.log10(1 + Math.max(0, requests || 0))) / top;
}

// Background rectangles for namespace bands (big maps): not compound parents, no events.
function BandBoxes(bands) {
  return bands
    .filter((b) => b.name)
    .map((b) => ({
      group: 'nodes',
      classes: 'bandbox',
      data: {
        id: `band:${b.name}`, label: b.name, kind: 'box', shape: 'round-rectangle', health_color: '#8ea4cf',
        w: b.right - b.left + 180, h: b.bottom - b.top + 56,
      },
      position: { x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 },
      locked: true,
      selectable: false,
      grabbable: false,
    }));
}

export class MapView {
  // options.webgl: cytoscape's WebGL renderer (3.31+, experimental) instead of the 2D canvas.
  constructor(container, handlers, options = {}) {
    this.cy = cytoscape({
      container,
      style: Style(),
      ...(options.webgl ? { renderer: { name: 'canvas', webgl: true } } : {}),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: 'single',
    });
    this.topology = '';
    this.layoutMs = 0;
    this.data = { nodes: [], edges: [] };
    this.nodeById = new Map();
    this.edgeById = new Map();
    const cy = this.cy;
    cy.on('mouseover', 'edge', (e) => {
      e.target.addClass('hover');
      handlers.onHover?.('edge', e.target.id(), e.originalEvent);
    });
    cy.on('mouseover', 'node', (e) => {
      if (e.target.isParent()) return;
      handlers.onHover?.('node', e.target.id(), e.originalEvent);
    });
    cy.on('mousemove', (e) => handlers.onMove?.(e.originalEvent));
    cy.on('mouseout', 'edge, node', (e) => {
      e.target.removeClass('hover');
      handlers.onHover?.(null, null, e.originalEvent);
    });
    cy.on('tap', 'node', (e) => {
      if (!e.target.isParent()) handlers.onSelect?.('node', e.target.id());
    });
    cy.on('tap', 'edge', (e) => handlers.onSelect?.('edge', e.target.id()));
    cy.on('tap', (e) => {
      if (e.target === cy) handlers.onSelect?.(null, null);
    });
    cy.on('dbltap', 'node', (e) => {
      if (!e.target.isParent()) handlers.onFocus?.(e.target.id());
    });
  }

  // Replaces the displayed map. Returns {relayout: bool}.
  // opts: {thr, warn} (ratios), labels (edge labels on), keep (never lay out again: replay).
  Render(map, opts) {
    const nodes = (map.nodes || []).filter((n) => n && n.id !== undefined);
    const ids = new Set(nodes.map((n) => String(n.id)));
    const edges = (map.edges || []).filter((e) => ids.has(String(e.source)) && ids.has(String(e.target)));
    this.data = { nodes, edges };
    this.nodeById = new Map(nodes.map((n) => [String(n.id), n]));
    this.edgeById = new Map(edges.map((e) => [EdgeId(e.source, e.target), e]));
    const elements = this.Elements(nodes, edges, opts);
    const cy = this.cy;
    const key = TopologyKey(nodes, edges);
    const previous = new Set(cy.nodes().map((n) => n.id()));
    const wanted = new Set(elements.map((el) => el.data.id));
    cy.nodes('.bandbox').forEach((n) => wanted.add(n.id())); // replaced only on relayout
    let relayout = false;
    const timing = {};
    let t = performance.now();
    const lap = (name) => {
      const now = performance.now();
      timing[name] = now - t;
      t = now;
    };
    cy.startBatch();
    cy.elements().filter((el) => !wanted.has(el.id())).remove();
    const fresh = [];
    for (const el of elements) {
      const existing = cy.getElementById(el.data.id);
      if (existing.nonempty()) {
        existing.data(el.data);
        if (el.group === 'edges' || !existing.hasClass('bandbox')) existing.classes(el.classes || '');
      }
      else fresh.push(el);
    }
    lap('update');
    if (fresh.length) cy.add(fresh);
    lap('add');
    cy.edges().not('.loop').toggleClass('many', edges.length > kManyEdges);
    // Big maps pan and zoom as a cached picture of the last frame (redrawn when the motion stops).
    const renderer = cy.renderer?.();
    if (renderer) renderer.textureOnViewport = edges.length > kManyEdges;
    if (key !== this.topology && !opts.keep) {
      const added = nodes.some((n) => !previous.has(String(n.id)));
      // Keep positions when nodes only went away; lay out afresh when new ones came.
      if (added || previous.size === 0) {
        const { positions, bands } = LayeredLayout(
          nodes.map((n) => ({ id: String(n.id), kind: n.kind, namespace: n.namespace })),
          edges.map((e) => ({ source: String(e.source), target: String(e.target) })),
        );
        lap('layout');
        this.layoutMs = timing.layout;
        cy.nodes(':childless').positions((n) => positions.get(n.id()) || n.position());
        cy.nodes('.bandbox').remove();
        if (edges.length > kManyEdges) cy.add(BandBoxes(bands));
        lap('position');
        relayout = true;
      }
      this.topology = key;
    }
    cy.endBatch();
    lap('endBatch');
    this.timing = timing;
    // Fit to the nodes only: edge bounding boxes (bezier control points) are costly to compute.
    if (relayout) this.Fit();
    lap('fit');
    return { relayout };
  }

  Elements(nodes, edges, opts) {
    const { thr: threshold, warn } = opts;
    const out = [];
    const namespaces = new Set();
    for (const n of nodes) {
      if (n.kind === 'service' && n.namespace && edges.length <= kManyEdges) namespaces.add(n.namespace);
    }
    for (const ns of [...namespaces].sort()) {
      out.push({ group: 'nodes', data: { id: NamespaceBoxId(ns), label: ns, kind: 'box', shape: 'round-rectangle', health_color: '#8ea4cf' } });
    }
    for (const n of nodes) {
      const health = NodeHealth(n, threshold, warn);
      const data = {
        id: String(n.id),
        label: n.kind === 'namespace' ? NodeLabel(n) : n.name || String(n.id),
        kind: n.kind || 'service',
        shape: kShapes[n.kind] || 'round-rectangle',
        health_color: health.color,
        change: n.change || '',
      };
      if (n.kind === 'service' && n.namespace && edges.length <= kManyEdges) data.parent = NamespaceBoxId(n.namespace);
      out.push({ group: 'nodes', data, classes: n.absent ? 'absent' : '' });
    }
    let max_requests = 1;
    for (const e of edges) max_requests = Math.max(max_requests, e.requests || 0);
    const many = edges.length > kManyEdges;
    for (const e of edges) {
      const loop = IsLoop(e);
      out.push({
        group: 'edges',
        classes: [loop ? 'loop' : many ? 'many' : '', opts.labels && !loop ? 'labelled' : '', e.absent ? 'absent' : '']
          .filter(Boolean).join(' '),
        data: {
          id: EdgeId(e.source, e.target),
          source: String(e.source),
          target: String(e.target),
          color: EdgeColor(e, threshold, warn),
          elabel: EdgeText(e),
          width: EdgeWidth(e.requests, max_requests),
          change: e.change || '',
          loop_label: loop ? `${Count(e.requests)} inside` : '',
        },
      });
    }
    return out;
  }

  // Fits the viewport to the node positions (computed here: cytoscape's own bounding boxes
  // measure every label and edge, seconds on a 2,000-edge map).
  Fit(padding = 30) {
    const cy = this.cy;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    cy.nodes(':childless').not('.bandbox').forEach((n) => {
      const p = n.position();
      x0 = Math.min(x0, p.x - 90);
      x1 = Math.max(x1, p.x + 90);
      y0 = Math.min(y0, p.y - 45);
      y1 = Math.max(y1, p.y + 40);
    });
    if (!Number.isFinite(x0)) return;
    const w = cy.width() - 2 * padding;
    const h = cy.height() - 2 * padding;
    const zoom = Math.max(cy.minZoom(), Math.min(1.5, w / (x1 - x0), h / (y1 - y0)));
    cy.viewport({
      zoom,
      pan: { x: padding + (w - zoom * (x1 - x0)) / 2 - zoom * x0, y: padding + (h - zoom * (y1 - y0)) / 2 - zoom * y0 },
    });
  }

  // Page coordinates of a node's centre or an edge's midpoint (for tests and tooltips).
  ScreenPoint(id) {
    const el = this.cy.getElementById(id);
    if (el.empty()) return null;
    const p = el.isEdge() ? el.renderedMidpoint() : el.renderedPosition();
    const box = this.cy.container().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  }

  Rendered(id) {
    const el = this.cy.getElementById(id);
    return el.nonempty() ? el : null;
  }

  // Centres the view on a node, zooming in to at least `zoom`.
  Centre(id, zoom = 0.9) {
    const el = this.cy.getElementById(id);
    if (el.empty()) return;
    this.cy.zoom(Math.max(this.cy.zoom(), zoom));
    this.cy.center(el);
  }

  // Marks find matches (ids) and the current one; the others are dimmed. No ids: clears.
  Mark(ids, current) {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass('match match-current dim');
      if (!ids.length) return;
      const set = new Set(ids);
      cy.nodes(':childless').not('.bandbox').forEach((n) => n.addClass(set.has(n.id()) ? 'match' : 'dim'));
      cy.edges().addClass('dim');
      if (current) cy.getElementById(current).addClass('match-current');
    });
  }

  Select(id) {
    this.cy.elements().unselect();
    if (id) this.cy.getElementById(id).select();
  }
}

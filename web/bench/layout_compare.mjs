// Compares three layouts of the synthetic map at 300 services / ~3,000 edges and 1,000 services /
// 10,000 edges: the page's own (src/layout.js, with the page's aspect ratio), ELK layered
// (elkjs, namespaces as compound nodes) and cytoscape-fcose (namespaces as compound parents).
// For each: the time, and what a person sees when the result is fitted into a 1600x900 map
// area: the zoom (labels are 11 px, drawn only at >= 7 px on screen, so zoom >= 0.64 reads),
// the share of the area the drawing covers, and how much namespace boxes overlap.
// Usage: node bench/layout_compare.mjs [--skip elk,fcose]
import cytoscape from 'cytoscape';
import fcose from 'cytoscape-fcose';
import ELK from 'elkjs/lib/elk.bundled.js';
import { LayeredLayout } from '../src/layout.js';
import { SyntheticMap } from './layout_bench.mjs';

cytoscape.use(fcose);
const kW = 1600;
const kH = 900;
const skip = new Set((process.argv[process.argv.indexOf('--skip') + 1] || '').split(','));

function Size(n) {
  return n.kind === 'service' ? { w: 150, h: 34 } : { w: 40, h: 40 };
}

// Fit zoom, covered share and namespace overlap of positions (Map id -> {x, y}).
function Judge(nodes, pos) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const boxes = new Map();
  for (const n of nodes) {
    const p = pos.get(n.id);
    const s = Size(n);
    x0 = Math.min(x0, p.x - s.w / 2); x1 = Math.max(x1, p.x + s.w / 2);
    y0 = Math.min(y0, p.y - s.h / 2); y1 = Math.max(y1, p.y + s.h / 2);
    if (n.kind !== 'service' || !n.namespace) continue;
    const b = boxes.get(n.namespace) || { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    b.x0 = Math.min(b.x0, p.x - s.w / 2); b.x1 = Math.max(b.x1, p.x + s.w / 2);
    b.y0 = Math.min(b.y0, p.y - s.h / 2); b.y1 = Math.max(b.y1, p.y + s.h / 2);
    boxes.set(n.namespace, b);
  }
  const zoom = Math.min(kW / (x1 - x0), kH / (y1 - y0));
  const cover = ((x1 - x0) * zoom * (y1 - y0) * zoom) / (kW * kH);
  // Overlap: the area covered by two or more namespace boxes over the area of all boxes.
  const list = [...boxes.values()];
  let overlap = 0;
  let area = 0;
  for (let i = 0; i < list.length; i++) {
    area += (list[i].x1 - list[i].x0) * (list[i].y1 - list[i].y0);
    for (let j = i + 1; j < list.length; j++) {
      const w = Math.min(list[i].x1, list[j].x1) - Math.max(list[i].x0, list[j].x0);
      const h = Math.min(list[i].y1, list[j].y1) - Math.max(list[i].y0, list[j].y0);
      if (w > 0 && h > 0) overlap += w * h;
    }
  }
  return { zoom, cover, overlap: area ? overlap / area : 0 };
}

function Own(nodes, edges) {
  const t = performance.now();
  const { positions } = LayeredLayout(nodes, edges, { aspect: kW / kH });
  return { ms: performance.now() - t, pos: positions };
}

async function Elk(nodes, edges) {
  const elk = new ELK();
  const groups = new Map();
  const root = [];
  for (const n of nodes) {
    const s = Size(n);
    const child = { id: n.id, width: s.w, height: s.h };
    if (n.kind === 'service' && n.namespace) {
      if (!groups.has(n.namespace)) groups.set(n.namespace, { id: `box:${n.namespace}`, children: [] });
      groups.get(n.namespace).children.push(child);
    } else root.push(child);
  }
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.aspectRatio': String(kW / kH), 'elk.layered.spacing.nodeNodeBetweenLayers': '60',
    },
    children: [...root, ...groups.values()],
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
  };
  const t = performance.now();
  const out = await elk.layout(graph);
  const ms = performance.now() - t;
  const pos = new Map();
  const walk = (g, dx, dy) => {
    for (const c of g.children || []) {
      const x = dx + c.x;
      const y = dy + c.y;
      if (c.children) walk(c, x, y);
      else pos.set(c.id, { x: x + c.width / 2, y: y + c.height / 2 });
    }
  };
  walk(out, 0, 0);
  return { ms, pos };
}

function Fcose(nodes, edges) {
  const elements = [];
  const spaces = new Set(nodes.filter((n) => n.kind === 'service' && n.namespace).map((n) => n.namespace));
  for (const ns of spaces) elements.push({ data: { id: `box:${ns}` } });
  for (const n of nodes) {
    const s = Size(n);
    const data = { id: n.id, w: s.w, h: s.h };
    if (n.kind === 'service' && n.namespace) data.parent = `box:${n.namespace}`;
    elements.push({ data });
  }
  edges.forEach((e, i) => elements.push({ data: { id: `e${i}`, source: e.source, target: e.target } }));
  const cy = cytoscape({
    headless: true, styleEnabled: true, elements,
    style: [{ selector: 'node[w]', style: { width: 'data(w)', height: 'data(h)' } }],
  });
  const t = performance.now();
  cy.layout({ name: 'fcose', animate: false, randomize: true, quality: 'default', packComponents: true }).run();
  const ms = performance.now() - t;
  const pos = new Map();
  cy.nodes(':childless').forEach((n) => pos.set(n.id(), { ...n.position() }));
  return { ms, pos };
}

const sizes = [[300, 2980, 12], [1000, 10000, 30]];
for (const [n, m, ns] of sizes) {
  const { nodes, edges } = SyntheticMap(n, m, ns);
  const runs = [['own', Own]];
  if (!skip.has('elk')) runs.push(['elk', Elk]);
  if (!skip.has('fcose')) runs.push(['fcose', Fcose]);
  for (const [name, fn] of runs) {
    const r = await fn(nodes, edges);
    const j = Judge(nodes, r.pos);
    console.log(`${name.padEnd(6)} ${nodes.length} nodes ${edges.length} edges: ${r.ms.toFixed(0)} ms, ` +
      `fit zoom ${j.zoom.toFixed(2)}, covers ${(j.cover * 100).toFixed(0)}% of ${kW}x${kH}, ` +
      `namespace overlap ${(j.overlap * 100).toFixed(1)}%`);
  }
}

// Layered left-to-right layout for the service map.
//
// Why our own and not dagre/ELK: dagre needed > 1 s for 100 nodes with compound boxes, and
// neither keeps positions stable across refreshes. This one is O((V + E) * sweeps), a pure
// deterministic function of the topology (same map in, same positions out), and it never lets
// two namespace boxes overlap because each namespace gets its own horizontal band.
//
//   column 0            External Client (and other callers without a caller of their own)
//   columns 1..k        services, by longest path from the callers (cycles broken by DFS);
//                       past ~sqrt(n) columns they are squeezed proportionally
//   last column         sinks that are not services: databases, external services, messaging
//   bands (rows)        one per namespace, stacked top to bottom; services without a namespace
//                       form an unboxed band of their own
//
// Inside each (band, column) cell the nodes are ordered by the barycentre of their neighbours
// (a few down/up sweeps), which keeps most edges short and uncrossed.

const kPinnedSinkKinds = new Set(['database', 'external_service', 'messaging']);

export const kLayoutDefaults = {
  columnGap: 230, // x distance between columns
  rowGap: 70, // y distance between nodes in one cell
  bandGap: 60, // y gap between namespace bands (room for box padding and label)
  subGap: 175, // x distance between the sub-columns a tall cell wraps into
  sweeps: 4,
  pageWidth: 1600, // px of the map area at zoom 1
  aspect: 16 / 9, // width / height of the map area: tall cells wrap, bands pack toward it
};

function ByString(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Returns the set of edge indices that close a cycle (found by an iterative DFS in id order).
function BackEdges(ids, out) {
  const state = new Map(); // 1 = on stack, 2 = done
  const back = new Set();
  for (const root of ids) {
    if (state.has(root)) continue;
    const stack = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const list = out.get(top[0]) || [];
      if (top[1] >= list.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const [next, edge_index] = list[top[1]++];
      const s = state.get(next);
      if (s === 1) back.add(edge_index);
      else if (s === undefined) {
        state.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
  return back;
}

// Longest-path ranks over the acyclic part; nodes is [{id, kind, namespace}], edges
// [{source, target}]. Returns Map id -> column.
function Columns(nodes, edges) {
  const ids = nodes.map((n) => n.id).sort(ByString);
  const kind = new Map(nodes.map((n) => [n.id, n.kind]));
  const out = new Map();
  edges.forEach((e, i) => {
    if (e.source === e.target || !kind.has(e.source) || !kind.has(e.target)) return;
    if (!out.has(e.source)) out.set(e.source, []);
    out.get(e.source).push([e.target, i]);
  });
  for (const list of out.values()) list.sort((a, b) => ByString(a[0], b[0]));
  const back = BackEdges(ids, out);
  const indeg = new Map(ids.map((id) => [id, 0]));
  for (const [, list] of out) for (const [t, i] of list) if (!back.has(i)) indeg.set(t, indeg.get(t) + 1);
  const col = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q];
    for (const [t, i] of out.get(id) || []) {
      if (back.has(i)) continue;
      col.set(t, Math.max(col.get(t), col.get(id) + 1));
      indeg.set(t, indeg.get(t) - 1);
      if (indeg.get(t) === 0) queue.push(t);
    }
  }
  // External Client always first; services never share column 0 with it when it exists.
  const has_client = nodes.some((n) => n.kind === 'external_client');
  let max_col = 0;
  for (const id of ids) {
    const k = kind.get(id);
    if (k === 'external_client') col.set(id, 0);
    else if (has_client) col.set(id, Math.max(1, col.get(id)));
    if (!IsPinnedSink(k, out.get(id))) max_col = Math.max(max_col, col.get(id));
  }
  // Deep maps (random or very layered) would become a thin strip: squeeze the service columns
  // into at most ~sqrt(n) (order kept, so edges still point right or straight down).
  const limit = Math.max(6, Math.ceil(Math.sqrt(ids.length)));
  const first = has_client ? 1 : 0;
  if (max_col - first + 1 > limit) {
    const span = max_col - first + 1;
    for (const id of ids) {
      if (kind.get(id) === 'external_client' || IsPinnedSink(kind.get(id), out.get(id))) continue;
      col.set(id, first + Math.floor(((col.get(id) - first) * limit) / span));
    }
    max_col = first + limit - 1;
  }
  for (const id of ids) if (IsPinnedSink(kind.get(id), out.get(id))) col.set(id, max_col + 1);
  return col;
}

function IsPinnedSink(kind, out_list) {
  return kPinnedSinkKinds.has(kind) && !(out_list && out_list.length);
}

// The band a node belongs to: a namespace name for services, '' for unboxed services, and
// null for nodes placed in the full-height outer columns (External Client, pinned sinks).
function BandOf(node, column, last_column) {
  if (node.kind === 'external_client') return null;
  if (column === last_column && kPinnedSinkKinds.has(node.kind)) return null;
  return node.kind === 'service' ? node.namespace || '' : '';
}

// Computes positions. Returns {positions: Map id -> {x, y}, bands: [{name, top, bottom, left,
// right}]} (band extents are node centres).
export function LayeredLayout(nodes, edges, options = {}) {
  const opt = { ...kLayoutDefaults, ...options };
  const col = Columns(nodes, edges);
  let last = 0;
  for (const c of col.values()) last = Math.max(last, c);
  const band_of = new Map();
  for (const n of nodes) band_of.set(n.id, BandOf(n, col.get(n.id), last));

  // Cells: band -> column -> [ids]; bands sorted by their leftmost column, then name.
  const cells = new Map();
  const outer = new Map(); // column -> ids of full-height nodes
  for (const n of [...nodes].sort((a, b) => ByString(a.id, b.id))) {
    const b = band_of.get(n.id);
    const c = col.get(n.id);
    if (b === null) {
      if (!outer.has(c)) outer.set(c, []);
      outer.get(c).push(n.id);
      continue;
    }
    if (!cells.has(b)) cells.set(b, new Map());
    const row = cells.get(b);
    if (!row.has(c)) row.set(c, []);
    row.get(c).push(n.id);
  }
  const band_names = [...cells.keys()].sort((a, b) => {
    const ca = Math.min(...cells.get(a).keys());
    const cb = Math.min(...cells.get(b).keys());
    if (a === '' || b === '') return a === '' ? 1 : -1; // unboxed services last
    return ca - cb || ByString(a, b);
  });

  const neigh = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    if (e.source === e.target || !neigh.has(e.source) || !neigh.has(e.target)) continue;
    neigh.get(e.source).push(e.target);
    neigh.get(e.target).push(e.source);
  }
  const pos = new Map();
  const bands = [];
  // Initial placement in id order, then barycentre sweeps inside each cell.
  let y = 0;
  for (const b of band_names) {
    const row = cells.get(b);
    let height = 0;
    for (const ids of row.values()) height = Math.max(height, ids.length);
    const top = y;
    for (const [c, ids] of row) {
      const offset = ((height - ids.length) * opt.rowGap) / 2;
      ids.forEach((id, i) => pos.set(id, { x: c * opt.columnGap, y: top + offset + i * opt.rowGap }));
    }
    const bottom = top + (height - 1) * opt.rowGap;
    const cols = [...row.keys()];
    bands.push({ name: b, top, bottom, left: Math.min(...cols) * opt.columnGap, right: Math.max(...cols) * opt.columnGap });
    y = bottom + opt.rowGap + opt.bandGap;
  }
  const total_bottom = Math.max(0, y - opt.rowGap - opt.bandGap);
  PlaceOuter(outer, pos, opt, total_bottom);

  for (let s = 0; s < opt.sweeps; s++) {
    for (const b of band_names) for (const ids of cells.get(b).values()) Reorder(ids, pos, neigh);
    PlaceOuter(outer, pos, opt, total_bottom, neigh);
  }
  const packed = FitToPage(nodes.length, band_names, cells, outer, pos, opt);
  return { positions: pos, bands: packed || bands, columns: last + 1 };
}

// Uses the page: a cell taller than ~sqrt(n) rows wraps into sub-columns (its barycentre order
// kept, column by column), and when the stacked bands are taller than the page's aspect ratio
// they are packed into shelves, left to right, of a width that makes the drawing about as wide
// as the page. External Client stays left of everything and sinks right. Returns the bands, or
// null when nothing needed to change.
function FitToPage(n, band_names, cells, outer, pos, opt) {
  const limit = Math.max(4, Math.ceil(Math.sqrt((n * opt.columnGap) / (opt.rowGap * opt.aspect))));
  let tallest = 0;
  for (const b of band_names) for (const ids of cells.get(b).values()) tallest = Math.max(tallest, ids.length);
  const stack_h = band_names.reduce((h, b) => h + BandRows(cells.get(b), Infinity) * opt.rowGap + opt.bandGap, 0);
  let max_col = 0;
  for (const b of band_names) for (const c of cells.get(b).keys()) max_col = Math.max(max_col, c);
  const stack_w = (max_col + 2) * opt.columnGap;
  // Small maps that fit the page at full size are left as they are.
  if (tallest <= limit && stack_w <= opt.pageWidth && stack_h <= opt.pageWidth / opt.aspect) return null;
  // Blocks: each band laid out alone, its columns squeezed to about sqrt(size) (order kept) and
  // its cells wrapped, at x from 0.
  const blocks = [];
  for (const b of band_names) {
    const row = cells.get(b);
    const cols = [...row.keys()].sort((a, c) => a - c);
    let size = 0;
    for (const ids of row.values()) size += ids.length;
    const keep = Math.max(1, Math.min(cols.length,
      Math.ceil(Math.sqrt((size * opt.rowGap * opt.aspect) / opt.columnGap))));
    const merged = [];
    cols.forEach((c, i) => {
      const k = Math.floor((i * keep) / cols.length);
      if (!merged[k]) merged[k] = [];
      merged[k].push(...[...row.get(c)].sort((a, d) => pos.get(a).y - pos.get(d).y));
    });
    const squeezed = new Map(merged.filter(Boolean).map((ids, i) => [i, ids]));
    const rows = BandRows(squeezed, Math.max(limit, Math.ceil(Math.sqrt(size / opt.aspect))));
    const local = new Map();
    let x = 0;
    for (const ids of squeezed.values()) {
      const sub = Math.ceil(ids.length / rows);
      const per = Math.ceil(ids.length / sub);
      ids.forEach((id, i) => {
        const j = Math.floor(i / per);
        const in_col = Math.min(per, ids.length - j * per);
        local.set(id, { x: x + j * opt.subGap, y: ((i % per) + (rows - in_col) / 2) * opt.rowGap });
      });
      x += (sub - 1) * opt.subGap + opt.columnGap;
    }
    blocks.push({ name: b, local, w: x - opt.columnGap, h: (rows - 1) * opt.rowGap });
  }
  const area = blocks.reduce((a, k) => a + (k.w + opt.columnGap) * (k.h + opt.rowGap + opt.bandGap), 0);
  const shelf_w = Math.max(...blocks.map((k) => k.w), Math.sqrt(area * opt.aspect));
  const bands = [];
  let x = 0;
  let y = 0;
  let shelf_h = 0;
  for (const k of blocks) {
    if (x > 0 && x + k.w > shelf_w) {
      y += shelf_h + opt.rowGap + opt.bandGap;
      x = 0;
      shelf_h = 0;
    }
    for (const [id, p] of k.local) pos.set(id, { x: x + p.x + opt.columnGap, y: y + p.y });
    bands.push({ name: k.name, top: y, bottom: y + k.h, left: x + opt.columnGap, right: x + opt.columnGap + k.w });
    x += k.w + opt.columnGap;
    shelf_h = Math.max(shelf_h, k.h);
  }
  const width = Math.max(...bands.map((b) => b.right));
  const height = y + shelf_h;
  // Outer columns: External Client at x 0, sinks after the widest shelf, each wrapped to height.
  const outer_cols = [...outer.keys()].sort((a, c) => a - c);
  for (const c of outer_cols) {
    const ids = [...outer.get(c)].sort((a, d) => pos.get(a).y - pos.get(d).y);
    const per = Math.max(1, Math.floor(height / opt.rowGap) + 1);
    const base = c === 0 ? 0 : width + opt.columnGap;
    const sub = Math.ceil(ids.length / per);
    const step = ids.length > 1 ? Math.max(opt.rowGap, height / (Math.min(ids.length, per) - 1 || 1)) : 0;
    ids.forEach((id, i) => {
      const j = Math.floor(i / per);
      const x0 = c === 0 ? base - (sub - 1 - j) * opt.subGap : base + j * opt.subGap;
      pos.set(id, { x: x0, y: ids.length > 1 ? (i % per) * step : height / 2 });
    });
  }
  return bands;
}

// Rows of a band whose cells hold at most `limit` rows each (wrapping into sub-columns).
function BandRows(row, limit) {
  let rows = 1;
  for (const ids of row.values()) {
    const sub = Math.ceil(ids.length / limit);
    rows = Math.max(rows, Math.ceil(ids.length / sub));
  }
  return rows;
}

// Re-sorts the nodes of one cell by neighbour barycentre, reusing the cell's y slots.
function Reorder(ids, pos, neigh) {
  if (ids.length < 2) return;
  const slots = ids.map((id) => pos.get(id).y).sort((a, b) => a - b);
  const key = new Map();
  for (const id of ids) {
    const ns = neigh.get(id);
    let sum = 0;
    let count = 0;
    for (const other of ns) {
      const p = pos.get(other);
      if (p && p.x !== pos.get(id).x) {
        sum += p.y;
        count++;
      }
    }
    key.set(id, count ? sum / count : pos.get(id).y);
  }
  ids.sort((a, b) => key.get(a) - key.get(b) || ByString(a, b));
  ids.forEach((id, i) => (pos.get(id).y = slots[i]));
}

// Outer columns span the whole height: nodes spread evenly, ordered by neighbour barycentre.
function PlaceOuter(outer, pos, opt, total_bottom, neigh) {
  for (const [c, ids] of outer) {
    if (neigh) {
      const key = new Map();
      for (const id of ids) {
        const ys = neigh.get(id).map((o) => pos.get(o)).filter((p) => p && p.x !== c * opt.columnGap);
        key.set(id, ys.length ? ys.reduce((s, p) => s + p.y, 0) / ys.length : 0);
      }
      ids.sort((a, b) => key.get(a) - key.get(b) || ByString(a, b));
    }
    const span = Math.max(total_bottom, (ids.length - 1) * opt.rowGap);
    const step = ids.length > 1 ? span / (ids.length - 1) : 0;
    const start = ids.length > 1 ? 0 : total_bottom / 2;
    ids.forEach((id, i) => pos.set(id, { x: c * opt.columnGap, y: start + i * Math.max(step, opt.rowGap) }));
  }
}

// A key that changes exactly when the layout would: the sorted node ids with namespace and
// kind, and the sorted edge pairs.
export function TopologyKey(nodes, edges) {
  const n = nodes.map((x) => `${x.id}\u0001${x.kind}\u0001${x.namespace || ''}`).sort(ByString);
  const e = edges.map((x) => `${x.source}\u0001${x.target}`).sort(ByString);
  return n.join('\u0002') + '\u0003' + e.join('\u0002');
}

// Measures the layered layout on a synthetic map (default 500 nodes, 2,000 edges, 20
// namespaces). Usage: node bench/layout_bench.mjs [nodes] [edges] [namespaces]
import { LayeredLayout } from '../src/layout.js';

export function SyntheticMap(n, m, ns) {
  let s = 1;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const nodes = [{ id: 'client', kind: 'external_client', namespace: '', name: 'External Client' }];
  for (let i = 0; i < n - 1; i++) {
    const kind = i % 25 === 24 ? 'database' : 'service';
    nodes.push({ id: 'n' + i, kind, namespace: kind === 'service' ? 'ns' + (i % ns) : '', name: 'svc-' + i });
  }
  const edges = [];
  const seen = new Set();
  for (let i = 0; i < n / 10; i++) {
    edges.push({ source: 'client', target: 'n' + i * 10 });
    seen.add('client-n' + i * 10);
  }
  while (edges.length < m) {
    const a = Math.floor(r() * (n - 1));
    const b = Math.floor(r() * (n - 1));
    const k = `n${a}-n${b}`;
    if (a === b || seen.has(k) || nodes[a + 1].kind !== 'service') continue;
    seen.add(k);
    edges.push({ source: 'n' + a, target: 'n' + b, requests: Math.floor(r() * 1e5) });
  }
  return { nodes, edges };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n, m, ns] = [+process.argv[2] || 500, +process.argv[3] || 2000, +process.argv[4] || 20];
  const { nodes, edges } = SyntheticMap(n, m, ns);
  const times = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    LayeredLayout(nodes, edges);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`layout ${nodes.length} nodes ${edges.length} edges: median ${times[3].toFixed(1)} ms`);
}

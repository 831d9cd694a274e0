// Number and time formatting shared by the tooltip and the side panel.

export function Esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function Count(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(2) + ' G';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + ' M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + ' k';
  return String(Math.round(n));
}

export function Rate(per_s) {
  if (per_s === undefined || per_s === null || Number.isNaN(per_s)) return '–';
  if (per_s >= 100) return per_s.toFixed(0) + '/s';
  if (per_s >= 1) return per_s.toFixed(2) + '/s';
  if (per_s * 60 >= 1) return (per_s * 60).toFixed(1) + '/min';
  return (per_s * 3600).toFixed(1) + '/h';
}

export function Percent(ratio) {
  if (ratio === undefined || ratio === null || Number.isNaN(ratio)) return '–';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  return (p < 10 ? p.toFixed(2) : p.toFixed(1)) + '%';
}

export function Millis(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '–';
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 100) return ms.toFixed(0) + ' ms';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  return ms.toFixed(2) + ' ms';
}

// A minute as "HH:MM" (today) or "MM-DD HH:MM"; accepts RFC 3339, unix seconds or millis.
export function Minute(t) {
  const d = ToDate(t);
  if (!d) return String(t ?? '');
  const pad = (x) => String(x).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return hm;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

export function ToDate(t) {
  if (t === undefined || t === null || t === '') return null;
  if (typeof t === 'number') return new Date(t > 1e12 ? t : t * 1000);
  if (/^\d+$/.test(t)) return ToDate(Number(t));
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// "ns/name" for services, the name for other nodes; a namespace node (group=namespace) is its
// namespace ("(no namespace)" for the services without one).
export function NodeLabel(node) {
  if (!node) return '?';
  if (node.kind === 'namespace') return node.name || '(no namespace)';
  return node.namespace ? `${node.namespace}/${node.name}` : node.name;
}

// The label of an edge's two ends: "a → b", or "inside a" for a node's calls to itself.
export function EdgeLabel(source, target) {
  if (source && source === target) return `inside ${NodeLabel(source)}`;
  return `${NodeLabel(source)} → ${NodeLabel(target)}`;
}

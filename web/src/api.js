// Talks to the public query API (/api/v1/...). Every call returns {ok, status, body, url};
// a 400 body carries {error, position}. Never throws.
//
// Tokens: when the server answers 401 the page asks for a token (one prompt for all the calls
// waiting on it), keeps it in sessionStorage for the browser session and sends it as
// `Authorization: Bearer TOKEN`; a token the server refuses is forgotten and asked for again.

const kTokenKey = 'edgewise.token';
let asking = null;  // the prompt in progress, shared by the calls that got a 401

function StoredToken() {
  try {
    return globalThis.sessionStorage?.getItem(kTokenKey) || '';
  } catch {
    return '';
  }
}

function AskToken(refused) {
  if (!asking) {
    asking = new Promise((resolve) => {
      setTimeout(() => {
        const text = refused ? 'The server refused that token. Edgewise token (query scope):'
          : 'This Edgewise server needs a token (query scope):';
        const token = String(globalThis.prompt(text, '') ?? '').trim();
        try {
          if (token) globalThis.sessionStorage.setItem(kTokenKey, token);
        } catch {
          // no storage: the token lasts as long as this page
        }
        asking = null;
        resolve(token);
      }, 0);
    });
  }
  return asking;
}

async function Fetch(url) {
  const headers = { Accept: 'application/json' };
  for (let attempt = 0; ; attempt++) {
    const token = StoredToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    else delete headers.Authorization;
    const res = await fetch(url, { headers });
    if (res.status !== 401 || typeof globalThis.prompt !== 'function' || attempt >= 3) return res;
    if (token && StoredToken() === token) {
      try {
        globalThis.sessionStorage.removeItem(kTokenKey);
      } catch {
        // nothing stored
      }
    }
    // Another call may have been given a token meanwhile: use it before asking.
    if (!StoredToken() && !(await AskToken(Boolean(token)))) return res;
  }
}

export async function GetJson(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '' && v !== false) qs.set(k, String(v));
  }
  const url = qs.toString() ? `${path}?${qs}` : path;
  try {
    const res = await Fetch(url);
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { error: text.slice(0, 300) || `HTTP ${res.status}` };
    }
    return { ok: res.ok, status: res.status, body, url };
  } catch (err) {
    return { ok: false, status: 0, body: { error: `network: ${err.message}` }, url };
  }
}

// Seconds in a relative duration like "15m", "-7d"; null when it is not one.
export function DurationSeconds(text) {
  const m = /^-?(\d+)(s|m|h|d|w)$/.exec(String(text || '').trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
}

// The time window of a view state: {start, end} as API parameters and its length in seconds.
export function TimeWindow(state) {
  if (state.range === 'custom' && state.start && state.end) {
    const s = Date.parse(state.start);
    const e = Date.parse(state.end);
    if (Number.isFinite(s) && Number.isFinite(e) && e > s) {
      return { start: new Date(s).toISOString(), end: new Date(e).toISOString(), seconds: (e - s) / 1000 };
    }
  }
  const range = state.range && state.range !== 'custom' ? state.range : '1h';
  const seconds = DurationSeconds(range) || 3600;
  return { start: `now-${range}`, end: 'now', seconds };
}

// The compare= parameter for the server: "prev" means the period just before this one.
export function CompareParam(state, window) {
  if (!state.compare) return '';
  if (state.compare === 'prev') return `-${Math.max(1, Math.round(window.seconds / 60))}m`;
  return state.compare;
}

// A trend step giving about 60 points, a whole number of minutes.
export function StepFor(seconds) {
  const minutes = Math.max(1, Math.ceil(seconds / 60 / 60));
  return `${minutes}m`;
}

// The filter selecting requests into one node (its incoming traffic: name, namespace and kind,
// so that a namesake elsewhere does not count); for a namespace node of a grouped map, into any
// service of the namespace.
export function NodeQuery(node) {
  const q = (s) => `"${String(s ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (node.kind === 'namespace') return `server.namespace = ${q(node.namespace ?? node.name)} and server.kind = service`;
  return `server.service.name = ${q(node.name)} and server.namespace = ${q(node.namespace)} and server.kind = ${node.kind || 'service'}`;
}

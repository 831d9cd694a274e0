// Known traffic for the browser test, as OTLP/JSON bodies for POST /v1/traces.
//
// Current period (a few minutes ago):
//   External Client -> shop/frontend      20 root SERVER spans, 2 with status 500
//   shop/frontend   -> shop/api           10 CLIENT+SERVER pairs, 3 with status 500;
//                                          server durations 10, 20, ..., 100 ms (p50 50, p99 100)
//   shop/api        -> payments/payments   5 pairs, no errors
//   payments        -> api.stripe.com      4 CLIENT spans with server.address and no partner
//                                          (external service after --pair-wait), 1 with 500
//   shop/api        -> postgresql/orders   6 CLIENT spans with db.system (database, complete at once)
// Previous hour (90 minutes ago), for compare:
//   External Client -> shop/frontend       5 root spans            (same)
//   shop/frontend   -> shop/legacy          3 pairs                 (gone now)

import { randomBytes } from 'node:crypto';

const kServer = 2;
const kClient = 3;

function Hex(bytes) {
  return randomBytes(bytes).toString('hex');
}

function Attr(key, value) {
  return typeof value === 'number'
    ? { key, value: { intValue: String(value) } }
    : { key, value: { stringValue: String(value) } };
}

function Span({ trace, id, parent, kind, start_ms, duration_ms, name, attrs = [], error = false }) {
  const start_ns = BigInt(Math.round(start_ms)) * 1000000n;
  const end_ns = start_ns + BigInt(Math.round(duration_ms * 1e6));
  const span = {
    traceId: trace,
    spanId: id,
    name,
    kind,
    startTimeUnixNano: start_ns.toString(),
    endTimeUnixNano: end_ns.toString(),
    attributes: attrs,
    status: { code: error ? 2 : 0 },
  };
  if (parent) span.parentSpanId = parent;
  return span;
}

// Groups spans by (service, namespace) into one ExportTraceServiceRequest.
class Batch {
  constructor() {
    this.by_service = new Map();
  }
  Add(service, namespace, span) {
    const key = `${namespace}/${service}`;
    if (!this.by_service.has(key)) this.by_service.set(key, { service, namespace, spans: [] });
    this.by_service.get(key).spans.push(span);
  }
  Body() {
    return {
      resourceSpans: [...this.by_service.values()].map((r) => ({
        resource: {
          attributes: [Attr('service.name', r.service), ...(r.namespace ? [Attr('k8s.namespace.name', r.namespace)] : [])],
        },
        scopeSpans: [{ scope: { name: 'edgewise-browser-test' }, spans: r.spans }],
      })),
    };
  }
}

function Http(status, route) {
  return [Attr('http.request.method', 'GET'), Attr('http.route', route), Attr('http.response.status_code', status)];
}

// A CLIENT span in `from` and its SERVER span in `to` (server parent = client span id).
function Pair(batches, from, to, start_ms, duration_ms, status, route) {
  const trace = Hex(16);
  const client_id = Hex(8);
  const client = Span({ trace, id: client_id, kind: kClient, start_ms, duration_ms: duration_ms + 2, name: `GET ${route}`, attrs: Http(status, route) });
  const server = Span({ trace, id: Hex(8), parent: client_id, kind: kServer, start_ms: start_ms + 1, duration_ms, name: `GET ${route}`, attrs: Http(status, route), error: status >= 500 });
  // Client and server halves go in different requests, as they would from two processes.
  batches[0].Add(from[1], from[0], client);
  batches[1].Add(to[1], to[0], server);
  return trace;
}

// Returns {bodies: [json objects], traces: {edge name: [trace ids]}}.
export function KnownTraffic(now_ms) {
  const now = [new Batch(), new Batch()];
  const old = [new Batch(), new Batch()];
  const traces = { client_frontend: [], frontend_api: [], frontend_api_errors: [], api_payments: [], payments_stripe: [], payments_stripe_errors: [] };
  const t0 = now_ms - 4 * 60 * 1000; // four minutes ago: inside every preset range
  for (let i = 0; i < 20; i++) {
    const trace = Hex(16);
    const status = i < 2 ? 500 : 200;
    now[1].Add('frontend', 'shop', Span({ trace, id: Hex(8), kind: kServer, start_ms: t0 + i * 100, duration_ms: 5 + i, name: 'GET /', attrs: Http(status, '/'), error: status >= 500 }));
    traces.client_frontend.push(trace);
  }
  for (let i = 0; i < 10; i++) {
    const status = i < 3 ? 500 : 200;
    const trace = Pair(now, ['shop', 'frontend'], ['shop', 'api'], t0 + i * 150, (i + 1) * 10, status, '/v1/orders/{id}');
    traces.frontend_api.push(trace);
    if (status >= 500) traces.frontend_api_errors.push(trace);
  }
  for (let i = 0; i < 5; i++) {
    traces.api_payments.push(Pair(now, ['shop', 'api'], ['payments', 'payments'], t0 + 2000 + i * 100, 30, 200, '/charge'));
  }
  for (let i = 0; i < 4; i++) {
    const status = i === 0 ? 502 : 200;
    const trace = Hex(16);
    traces.payments_stripe.push(trace);
    if (status >= 500) traces.payments_stripe_errors.push(trace);
    now[0].Add('payments', 'payments', Span({
      trace, id: Hex(8), kind: kClient, start_ms: t0 + 3000 + i * 100, duration_ms: 120, name: 'POST /v1/charges',
      attrs: [...Http(status, '/v1/charges'), Attr('server.address', 'api.stripe.com'), Attr('server.port', 443)], error: status >= 500,
    }));
  }
  for (let i = 0; i < 6; i++) {
    now[0].Add('api', 'shop', Span({
      trace: Hex(16), id: Hex(8), kind: kClient, start_ms: t0 + 4000 + i * 100, duration_ms: 3, name: 'SELECT orders',
      attrs: [Attr('db.system', 'postgresql'), Attr('db.namespace', 'orders'), Attr('db.operation.name', 'SELECT')],
    }));
  }
  const t_old = now_ms - 90 * 60 * 1000;
  for (let i = 0; i < 5; i++) {
    old[1].Add('frontend', 'shop', Span({ trace: Hex(16), id: Hex(8), kind: kServer, start_ms: t_old + i * 100, duration_ms: 8, name: 'GET /', attrs: Http(200, '/') }));
  }
  for (let i = 0; i < 3; i++) Pair(old, ['shop', 'frontend'], ['shop', 'legacy'], t_old + 1000 + i * 100, 15, 200, '/legacy');
  return { bodies: [now[0].Body(), now[1].Body(), old[0].Body(), old[1].Body()], traces };
}

// `count` CLIENT spans of service `from` ([namespace, name]) that name `peer` (peer.service) and
// that no server span answers: after --pair-wait they are calls to the external service `peer`.
// With `peer` the name of a traced service, that is what broken trace-context propagation looks
// like.
export function UnansweredCalls(now_ms, from, peer, count) {
  const batch = new Batch();
  for (let i = 0; i < count; i++) {
    batch.Add(from[1], from[0], Span({
      trace: Hex(16), id: Hex(8), kind: kClient, start_ms: now_ms - 2 * 60 * 1000 + i * 100, duration_ms: 8,
      name: 'GET /v1/orders', attrs: [...Http(200, '/v1/orders'), Attr('peer.service', peer)],
    }));
  }
  return batch.Body();
}

// A large map for the scale measurement: `services` services in `namespaces` namespaces and
// `edges` distinct service-to-service edges (one pair each), plus External Client roots.
export function LargeTraffic(now_ms, services, edges, namespaces) {
  const batches = [new Batch(), new Batch()];
  const t0 = now_ms - 3 * 60 * 1000;
  const svc = (i) => [`ns${i % namespaces}`, `svc-${i}`];
  let seed = 7;
  // 32-bit integer arithmetic: in doubles the product loses bits and the sequence falls into a
  // short cycle (10,000 distinct edges among 1,000 services were never reached).
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 2147483648;
  const seen = new Set();
  for (let i = 0; i < services; i += 10) {
    const [ns, name] = svc(i);
    batches[1].Add(name, ns, Span({ trace: Hex(16), id: Hex(8), kind: kServer, start_ms: t0, duration_ms: 5, name: 'GET /', attrs: Http(200, '/') }));
  }
  while (seen.size < edges) {
    const a = Math.floor(rnd() * services);
    const b = Math.floor(rnd() * services);
    if (a === b || seen.has(`${a}-${b}`)) continue;
    seen.add(`${a}-${b}`);
    Pair(batches, svc(a), svc(b), t0 + (seen.size % 1000), 5 + (seen.size % 50), seen.size % 37 ? 200 : 500, '/x');
  }
  return [batches[0].Body(), batches[1].Body()];
}

// Two client/server pairs between services with long names (a panel title that needs to wrap),
// five minutes before now_ms.
export function LongNamedPairs(now_ms) {
  const batches = [new Batch(), new Batch()];
  for (let i = 0; i < 2; i++) {
    Pair(batches, ['checkout-platform', 'recommendation-engine-v2'], ['checkout-platform', 'inventory-reservation-service'],
      now_ms - 5 * 60 * 1000 + i * 100, 12, 200, '/reserve');
  }
  return [batches[0].Body(), batches[1].Body()];
}

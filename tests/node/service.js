// One small HTTP service of the shop demo, instrumented with the OpenTelemetry JS SDK.
//
//   SERVICE=frontend|checkout|payments  PORT=n  OTLP_URL=http://host:port/v1/traces
//   EXPORTER=proto|json|grpc|zipkin  [COMPRESSION=gzip]
//   (EXPORTER=grpc: @opentelemetry/exporter-trace-otlp-grpc, OTLP_URL=http://host:port, the
//   http:// scheme meaning no TLS; EXPORTER=zipkin: @opentelemetry/exporter-zipkin,
//   OTLP_URL=http://host:port/api/v2/spans)  [CHECKOUT_URL=...] [PAYMENTS_URL=...]
//   [EXTERNAL_URL=http://api.payments-provider.invalid/charge]  [NAMESPACE=shop]
//   [OTEL_SEMCONV_STABILITY_OPT_IN=http  for the stable HTTP semantic conventions]
//
// Routes (what the real-client test expects):
//   frontend  GET /buy/:id   -> checkout GET /checkout/:id   (200)
//             GET /broken    -> checkout GET /fail           (checkout answers 500; frontend 502)
//   checkout  GET /checkout/:id -> payments POST /pay        (200)
//             GET /fail      -> 500 without calling anyone
//   payments  POST /pay      -> GET EXTERNAL_URL (unresolvable host: the call fails), then 200
// Prints "ready <port>" once listening; on SIGTERM flushes spans and exits 0.
'use strict';

const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const service = process.env.SERVICE || 'frontend';
const exporterKind = process.env.EXPORTER || 'proto';
const exporterConfig = { url: process.env.OTLP_URL || 'http://127.0.0.1:4318/v1/traces' };
if (process.env.COMPRESSION) exporterConfig.compression = process.env.COMPRESSION;
const exporterPackages = {
  json: '@opentelemetry/exporter-trace-otlp-http',
  proto: '@opentelemetry/exporter-trace-otlp-proto',
  grpc: '@opentelemetry/exporter-trace-otlp-grpc',
  zipkin: '@opentelemetry/exporter-zipkin',
};
if (!exporterPackages[exporterKind]) throw new Error(`unknown EXPORTER '${exporterKind}'`);
function makeExporter() {
  if (exporterKind === 'zipkin') {
    const { ZipkinExporter } = require(exporterPackages.zipkin);
    return new ZipkinExporter({ url: exporterConfig.url });
  }
  const { OTLPTraceExporter } = require(exporterPackages[exporterKind]);
  return new OTLPTraceExporter(exporterConfig);
}

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({
    'service.name': service,
    'service.namespace': process.env.NAMESPACE || 'shop',
  }),
  spanProcessors: [
    new BatchSpanProcessor(makeExporter(), {
      scheduledDelayMillis: 200,
      maxExportBatchSize: 512,
    }),
  ],
});
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

// Loaded after the instrumentation so that its require hook patches them.
const http = require('http');

function call(method, url) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

function reply(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text + '\n');
}

async function handle(req, res) {
  const path = req.url.split('?')[0];
  if (service === 'frontend' && req.method === 'GET' && path.startsWith('/buy/')) {
    const status = await call('GET', `${process.env.CHECKOUT_URL}/checkout/${path.slice(5)}`);
    return reply(res, status === 200 ? 200 : 502, `checkout said ${status}`);
  }
  if (service === 'frontend' && req.method === 'GET' && path === '/broken') {
    const status = await call('GET', `${process.env.CHECKOUT_URL}/fail`);
    return reply(res, status === 200 ? 200 : 502, `checkout said ${status}`);
  }
  if (service === 'checkout' && req.method === 'GET' && path.startsWith('/checkout/')) {
    const status = await call('POST', `${process.env.PAYMENTS_URL}/pay`);
    return reply(res, status === 200 ? 200 : 502, `payments said ${status}`);
  }
  if (service === 'checkout' && path === '/fail') return reply(res, 500, 'checkout failed');
  if (service === 'payments' && req.method === 'POST' && path === '/pay') {
    const external =
      process.env.EXTERNAL_URL || 'http://api.payments-provider.invalid/charge';
    const status = await call('GET', external);
    return reply(res, 200, `provider said ${status}`);
  }
  return reply(res, 404, 'no route');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => reply(res, 500, 'error'));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`ready ${server.address().port}`);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  try {
    await provider.forceFlush();
    await provider.shutdown();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Captures real OTLP request bodies from the OpenTelemetry JS SDK as decoder test fixtures.
// Usage: node capture_fixtures.js OUT_DIR
// Starts one capture server per service, the three services of service.js pointed at them,
// drives frontend with 2 x GET /buy/42 and 1 x GET /broken, stops the services (they flush on
// SIGTERM) and writes every body as OUT_DIR/<service>_<n>.<pb|json>[.gz].
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const outDir = process.argv[2] || path.join(__dirname, '..', 'fixtures');
fs.mkdirSync(outDir, { recursive: true });

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function captureServer(name) {
  let n = 0;
  return http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] || '';
      const json = type.includes('json');
      const gz = req.headers['content-encoding'] === 'gzip' ? '.gz' : '';
      const file = path.join(outDir, `${name}_${n++}.${json ? 'json' : 'pb'}${gz}`);
      fs.writeFileSync(file, Buffer.concat(chunks));
      console.log(`captured ${file} (${type}${gz ? ', gzip' : ''})`);
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
}

function startService(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'service.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`${env.SERVICE} exited ${code}`)));
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function main() {
  const names = ['frontend', 'checkout', 'payments'];
  const servers = {};
  for (const name of names) {
    const server = captureServer(name);
    servers[name] = { server, port: await listen(server) };
  }
  const otlp = (name) => `http://127.0.0.1:${servers[name].port}/v1/traces`;
  const payments = await startService({
    SERVICE: 'payments', EXPORTER: 'proto', COMPRESSION: 'gzip', OTLP_URL: otlp('payments'),
    OTEL_SEMCONV_STABILITY_OPT_IN: 'http',
  });
  const checkout = await startService({
    SERVICE: 'checkout', EXPORTER: 'json', OTLP_URL: otlp('checkout'),
    PAYMENTS_URL: payments.url, OTEL_SEMCONV_STABILITY_OPT_IN: 'http/dup',
  });
  const frontend = await startService({
    SERVICE: 'frontend', EXPORTER: 'proto', OTLP_URL: otlp('frontend'), CHECKOUT_URL: checkout.url,
  });
  for (const p of ['/buy/42', '/buy/42', '/broken']) {
    console.log(`GET ${p} -> ${await get(frontend.url + p)}`);
  }
  for (const s of [frontend, checkout, payments]) await stop(s.child);
  for (const name of names) servers[name].server.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

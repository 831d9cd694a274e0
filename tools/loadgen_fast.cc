// The pre-encoded fast path of the load generator (benchmarks): bodies are built once, then
// replayed as fast as the server accepts them, with fresh ids patched into each copy (gzip bodies
// are compressed after patching, on the load generator's CPU).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "base/time.h"
#include "tools/grpc_export.h"
#include "tools/loadgen.h"
#include "tools/loadgen_post.h"
#include "tools/zipkin_encoder.h"

namespace ew::tools {
namespace {

struct Body {
  std::string bytes;
  std::vector<TraceIdSlot> slots;
  size_t spans = 0;
};

// Builds bodies in pairs (2j, 2j+1): for a share of the spans, a request's client half is in one
// body and its server half in the other; the rest keep both halves (or their single half) in one.
// Trace ids are patched per replay cycle, so pairs stay pairs and cycles never collide.
std::vector<Body> BuildBodies(const LoadgenOptions& o, const Topology& topo) {
  TraceGenerator gen(&topo, o.topology.seed);
  std::vector<Body> bodies;
  const size_t batch = static_cast<size_t>(std::max(1, o.batch));
  const int pairs = std::max(1, o.bodies / 2);
  for (int p = 0; p < pairs; ++p) {
    std::vector<GenRequest> reqs;
    size_t total = 0;
    while (total < 2 * batch) {
      size_t before = reqs.size();
      gen.Generate(static_cast<uint64_t>(WallNowNs()), &reqs);
      for (size_t i = before; i < reqs.size(); ++i) {
        if (o.unpaired) {  // keep only client halves whose partner never comes
          if (reqs[i].halves.size() == 2) {
            reqs[i].halves.resize(1);
          } else {
            reqs[i].halves.clear();
          }
        }
        total += reqs[i].halves.size();
      }
    }
    std::vector<const OtlpSpan*> a, b;
    size_t cross = 0;
    const auto cross_target = static_cast<size_t>(o.cross_share * static_cast<double>(total));
    for (const GenRequest& r : reqs) {
      if (r.halves.size() == 2 && cross < cross_target) {
        bool flip = gen.rng()() & 1;
        (flip ? a : b).push_back(&r.halves[0]);
        (flip ? b : a).push_back(&r.halves[1]);
        cross += 2;
      } else {
        auto& smaller = a.size() <= b.size() ? a : b;
        for (const OtlpSpan& s : r.halves) smaller.push_back(&s);
      }
    }
    for (auto* list : {&a, &b}) {
      std::shuffle(list->begin(), list->end(), gen.rng());
      Body body;
      body.spans = list->size();
      // Gzip bodies are kept uncompressed here and compressed per send, after the ids are patched.
      body.bytes = EncodeBody(*list, topo.resources(), Uncompressed(o.encoding), &body.slots);
      bodies.push_back(std::move(body));
    }
  }
  return bodies;
}

}  // namespace

int RunPreencoded(const LoadgenOptions& o, LoadgenSummary* sum) {
  Topology topo = Topology::Build(o.topology);
  std::vector<Body> bodies = BuildBodies(o, topo);
  size_t spans = 0, bytes = 0;
  for (const Body& b : bodies) {
    spans += b.spans;
    bytes += b.bytes.size();
  }
  std::fprintf(stderr, "loadgen: %zu pre-encoded %s bodies, %.0f spans and %.0f bytes each\n",
               bodies.size(), std::string(EncodingName(o.encoding)).c_str(),
               static_cast<double>(spans) / static_cast<double>(bodies.size()),
               static_cast<double>(bytes) / static_cast<double>(bodies.size()));
  const bool json = IsJson(o.encoding);
  const bool gzip = IsGzip(o.encoding);
  const uint64_t nonce = static_cast<uint64_t>(WallNowNs()) << 16;
  std::atomic<uint64_t> next{0}, acked{0}, sent{0}, failures{0}, body_bytes{0}, posts{0};
  std::atomic<bool> unreachable{false}, done{false};
  const int64_t start = MonoNowNs();
  const bool use_grpc = o.grpc.port != 0;
  auto sender = [&] {
    HttpConnection conn(o.otlp, 30'000);
    std::unique_ptr<GrpcExporter> grpc;
    if (use_grpc) grpc = std::make_unique<GrpcExporter>(o.grpc);
    std::string copy, compressed;
    for (;;) {
      if (g_stop_requested.load() || unreachable.load()) break;
      if (o.duration_ms > 0 && MonoNowNs() - start >= o.duration_ms * 1'000'000) break;
      uint64_t i = next.fetch_add(1);
      if (o.requests > 0 && i >= o.requests) break;
      const Body& b = bodies[i % bodies.size()];
      std::string_view payload = b.bytes;
      if (!b.slots.empty()) {
        copy = b.bytes;
        PatchTraceIds(&copy, b.slots, json, nonce + i / bodies.size());
        payload = copy;
      }
      if (gzip && !use_grpc) {  // over gRPC, gzip is the gRPC client's message compression
        compressed = Gzip(payload);
        payload = compressed;
      }
      PostResult pr = use_grpc ? grpc->Export(payload, gzip)
                               : PostTraces(&conn, payload, o.encoding, &g_stop_requested);
      posts.fetch_add(1, std::memory_order_relaxed);
      sent.fetch_add(b.spans, std::memory_order_relaxed);
      body_bytes.fetch_add(payload.size(), std::memory_order_relaxed);
      if (pr.outcome == PostOutcome::kAcked) {
        acked.fetch_add(b.spans, std::memory_order_relaxed);
      } else {
        if (pr.outcome == PostOutcome::kUnreachable) unreachable = true;
        if (failures.fetch_add(1) < 5) {
          std::fprintf(stderr, "loadgen: POST: HTTP %d: %s\n", pr.http_status, pr.message.c_str());
        }
      }
    }
  };
  std::thread progress([&] {
    uint64_t last = 0;
    while (!done.load()) {
      for (int k = 0; k < 10 && !done.load(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!o.progress || done.load()) continue;
      uint64_t a = acked.load();
      std::fprintf(stderr, "loadgen: %5.0fs  rate=%.0f spans/s  acked=%llu spans  failures=%llu\n",
                   static_cast<double>(MonoNowNs() - start) / 1e9, static_cast<double>(a - last),
                   static_cast<unsigned long long>(a),
                   static_cast<unsigned long long>(failures.load()));
      last = a;
    }
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o.connections); ++i) threads.emplace_back(sender);
  for (auto& t : threads) t.join();
  done = true;
  progress.join();
  sum->elapsed_s = static_cast<double>(MonoNowNs() - start) / 1e9;
  sum->spans_sent = sent.load();
  sum->spans_acked = acked.load();
  sum->http_requests = posts.load();
  sum->http_failures = failures.load();
  sum->body_bytes = body_bytes.load();
  if (unreachable.load() && acked.load() == 0) return 3;
  return failures.load() > 0 ? 1 : 0;
}

}  // namespace ew::tools

// The map as Grafana Node Graph frames (docs/api.md "Node Graph frames").
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "query/render.h"

namespace ew::query {
namespace {

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

std::string NodeGraphRate(double per_second) {
  // Three significant digits ("0.000278", "12.5", "123"), whole numbers from 1000 on.
  return Format(per_second >= 1000 ? "%.0f" : "%.3g", per_second);
}

namespace {

// The share of failed requests in millionths (so that arc__failed + arc__success is exactly 1
// in the six decimals JsonWriter writes).
int64_t FailedMillionths(uint64_t errors, uint64_t requests) {
  if (requests == 0) return 0;
  return std::llround(static_cast<double>(errors) * 1e6 / static_cast<double>(requests));
}

void WriteNodeFrame(JsonWriter& w, const MapNode& n, double seconds) {
  // A node's figures are those of the traffic it answers; a node that only calls (a root
  // service, External Client) shows its outgoing traffic instead.
  const bool in = n.requests_in > 0 || n.requests_out == 0;
  const uint64_t requests = in ? n.requests_in : n.requests_out;
  const uint64_t errors = in ? n.errors_in : n.errors_out;
  const int64_t failed = FailedMillionths(errors, requests);
  w.BeginObject();
  w.Key("id").String(n.id);
  w.Key("title").String(n.name);
  w.Key("subtitle").String(n.ns.empty() ? n.kind : n.ns);
  w.Key("mainstat")
      .String(NodeGraphRate(static_cast<double>(requests) / seconds) +
              (in ? " req/s" : " req/s out"));
  w.Key("secondarystat").String(Format("%.2f%% errors", static_cast<double>(failed) / 1e4));
  w.Key("arc__success").Double(static_cast<double>(1'000'000 - failed) / 1e6);
  w.Key("arc__failed").Double(static_cast<double>(failed) / 1e6);
  w.Key("detail__kind").String(n.kind);
  w.Key("detail__namespace").String(n.ns);
  w.Key("detail__requests_in").Uint(n.requests_in);
  w.Key("detail__errors_in").Uint(n.errors_in);
  w.Key("detail__requests_out").Uint(n.requests_out);
  w.Key("detail__errors_out").Uint(n.errors_out);
  w.EndObject();
}

void WriteEdgeFrame(JsonWriter& w, const MapEdge& e, double seconds, uint64_t max_requests) {
  const EdgeSummary& s = e.stats;
  const double error_rate =
      s.requests ? static_cast<double>(s.errors) / static_cast<double>(s.requests) : 0.0;
  w.BeginObject();
  w.Key("id").String(e.source + "->" + e.target);
  w.Key("source").String(e.source);
  w.Key("target").String(e.target);
  w.Key("mainstat").String(NodeGraphRate(static_cast<double>(s.requests) / seconds) + " req/s");
  w.Key("secondarystat").String(Format("p90 %.2f ms", s.latency.p90 / 1000.0));
  w.Key("thickness").Uint(NodeGraphThickness(s.requests, max_requests));
  w.Key("color").String(s.errors == 0 ? "green" : error_rate < 0.05 ? "orange" : "red");
  w.Key("detail__protocol").String(storage::ProtocolName(s.protocol));
  w.Key("detail__requests").Uint(s.requests);
  w.Key("detail__errors").Uint(s.errors);
  w.Key("detail__error_rate").Double(error_rate);
  w.Key("detail__p50_ms").Double(s.latency.p50 / 1000.0);
  w.Key("detail__p90_ms").Double(s.latency.p90 / 1000.0);
  w.Key("detail__p95_ms").Double(s.latency.p95 / 1000.0);
  w.Key("detail__p99_ms").Double(s.latency.p99 / 1000.0);
  w.EndObject();
}

}  // namespace

uint64_t NodeGraphThickness(uint64_t requests, uint64_t max_requests) {
  if (requests == 0 || max_requests == 0) return 1;
  const double share =
      std::log1p(static_cast<double>(requests)) / std::log1p(static_cast<double>(max_requests));
  return 1 + static_cast<uint64_t>(std::llround(4.0 * std::min(share, 1.0)));
}

std::string RenderMapNodeGraph(const ServiceMap& map, int64_t start_minute, int64_t end_minute) {
  const double seconds = RangeSeconds(start_minute, end_minute);
  uint64_t max_requests = 0;
  for (const auto& e : map.edges) max_requests = std::max(max_requests, e.stats.requests);
  JsonWriter w;
  w.Reserve(1024 + map.edges.size() * 420 + map.nodes.size() * 360);
  w.BeginObject();
  w.Key("nodes").BeginArray();
  for (const auto& n : map.nodes) WriteNodeFrame(w, n, seconds);
  w.EndArray();
  w.Key("edges").BeginArray();
  for (const auto& e : map.edges) WriteEdgeFrame(w, e, seconds, max_requests);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace ew::query

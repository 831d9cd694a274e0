#include "query/render.h"

#include <flatbuffers/flatbuffers.h>

#include "base/time.h"
#include "schemas/query_generated.h"

namespace ew::query {

double RangeSeconds(int64_t start_minute, int64_t end_minute) {
  int64_t m = end_minute - start_minute;
  return m > 0 ? static_cast<double>(m) * 60.0 : 60.0;
}

std::string MinuteToRfc3339(int64_t minute) { return FormatRfc3339(minute * 60); }

namespace {

double Ms(double micros) { return micros / 1000.0; }

double ErrorRate(const EdgeSummary& s) {
  return s.requests ? static_cast<double>(s.errors) / static_cast<double>(s.requests) : 0.0;
}

void WriteFigures(JsonWriter& w, const EdgeSummary& s, double seconds) {
  w.Key("requests").Uint(s.requests);
  w.Key("errors").Uint(s.errors);
  w.Key("rate_per_s").Double(static_cast<double>(s.requests) / seconds);
  w.Key("error_rate").Double(ErrorRate(s));
  w.Key("latency_ms");
  WriteLatency(w, s.latency);
}

std::string_view NodeChange(const MapNode& n) {
  return ChangeOf(n.requests_in + n.requests_out, n.prev_requests_in + n.prev_requests_out);
}

}  // namespace

void WriteLatency(JsonWriter& w, const LatencyQuantiles& q) {
  w.BeginObject();
  w.Key("p50").Double(Ms(q.p50));
  w.Key("p90").Double(Ms(q.p90));
  w.Key("p95").Double(Ms(q.p95));
  w.Key("p99").Double(Ms(q.p99));
  w.EndObject();
}

void WriteNode(JsonWriter& w, const MapNode& n, bool compared) {
  w.BeginObject();
  w.Key("id").String(n.id);
  w.Key("kind").String(n.kind);
  w.Key("namespace").String(n.ns);
  w.Key("name").String(n.name);
  w.Key("requests_in").Uint(n.requests_in);
  w.Key("errors_in").Uint(n.errors_in);
  w.Key("requests_out").Uint(n.requests_out);
  w.Key("errors_out").Uint(n.errors_out);
  if (compared) {
    w.Key("previous").BeginObject();
    w.Key("requests_in").Uint(n.prev_requests_in);
    w.Key("errors_in").Uint(n.prev_errors_in);
    w.Key("requests_out").Uint(n.prev_requests_out);
    w.Key("errors_out").Uint(n.prev_errors_out);
    w.EndObject();
    w.Key("change").String(NodeChange(n));
  }
  w.EndObject();
}

void WriteEdge(JsonWriter& w, const MapEdge& e, double seconds, bool compared,
               double prev_seconds) {
  w.BeginObject();
  w.Key("source").String(e.source);
  w.Key("target").String(e.target);
  const EdgeSummary& proto = e.stats.requests || !compared ? e.stats : e.previous;
  w.Key("protocol").String(storage::ProtocolName(proto.protocol));
  WriteFigures(w, e.stats, seconds);
  if (compared) {
    w.Key("previous").BeginObject();
    WriteFigures(w, e.previous, prev_seconds);
    w.EndObject();
    w.Key("change").String(ChangeOf(e.stats.requests, e.previous.requests));
    w.Key("delta").BeginObject();
    w.Key("rate_per_s")
        .Double(static_cast<double>(e.stats.requests) / seconds -
                static_cast<double>(e.previous.requests) / prev_seconds);
    w.Key("error_rate").Double(ErrorRate(e.stats) - ErrorRate(e.previous));
    w.Key("p99_ms").Double(Ms(e.stats.latency.p99) - Ms(e.previous.latency.p99));
    w.EndObject();
  }
  w.EndObject();
}

void WritePlan(JsonWriter& w, const Plan& plan) {
  w.BeginObject();
  w.Key("family").String(FamilyName(plan.family));
  w.Key("why").String(plan.why);
  w.Key("ranges").BeginArray();
  for (const auto& r : plan.ranges) {
    int64_t unit = storage::TierUnitMinutes(r.tier);
    w.BeginObject();
    w.Key("tier").String(TierName(r.tier));
    w.Key("start").String(MinuteToRfc3339(r.start * unit));
    w.Key("end").String(MinuteToRfc3339(r.end * unit));
    w.Key("records_per_key").Int(r.end - r.start);
    w.EndObject();
  }
  w.EndArray();
  w.Key("prefixes").BeginArray();
  for (const auto& p : plan.prefixes) w.String(p.label);
  w.EndArray();
  w.Key("nothing_matches").Bool(plan.nothing);
  w.Key("scans").Uint(plan.Specs().size());
  w.EndObject();
}

std::string RenderMapJson(const ServiceMap& map, int64_t start_minute, int64_t end_minute,
                          const std::string& query_text, const Plan* plan,
                          const Plan* compare_plan) {
  double seconds = RangeSeconds(start_minute, end_minute);
  double prev_seconds = RangeSeconds(map.prev_start_minute, map.prev_end_minute);
  JsonWriter w;
  // One allocation for the whole answer (a growing multi-megabyte string would be re-mapped and
  // copied several times).
  w.Reserve(4096 + map.edges.size() * (map.compared ? 560 : 260) + map.nodes.size() * 200);
  w.BeginObject();
  w.Key("start").String(MinuteToRfc3339(start_minute));
  w.Key("end").String(MinuteToRfc3339(end_minute));
  if (map.compared) {
    w.Key("previous_start").String(MinuteToRfc3339(map.prev_start_minute));
    w.Key("previous_end").String(MinuteToRfc3339(map.prev_end_minute));
  }
  w.Key("nodes").BeginArray();
  for (const auto& n : map.nodes) WriteNode(w, n, map.compared);
  w.EndArray();
  w.Key("edges").BeginArray();
  for (const auto& e : map.edges) WriteEdge(w, e, seconds, map.compared, prev_seconds);
  w.EndArray();
  if (plan) {
    w.Key("query").String(query_text);
    w.Key("plan");
    WritePlan(w, *plan);
    if (compare_plan) {
      w.Key("compare_plan");
      WritePlan(w, *compare_plan);
    }
  }
  w.EndObject();
  return w.Take();
}

namespace {

flatbuffers::Offset<fb::Latency> FbLatency(flatbuffers::FlatBufferBuilder& b,
                                           const LatencyQuantiles& q) {
  return fb::CreateLatency(b, Ms(q.p50), Ms(q.p90), Ms(q.p95), Ms(q.p99));
}

flatbuffers::Offset<fb::MapEdge> FbEdge(flatbuffers::FlatBufferBuilder& b, const MapEdge& e,
                                        double seconds, bool compared, double prev_seconds) {
  auto src = b.CreateString(e.source);
  auto dst = b.CreateString(e.target);
  auto proto = b.CreateString(storage::ProtocolName(e.stats.protocol));
  auto lat = FbLatency(b, e.stats.latency);
  flatbuffers::Offset<flatbuffers::String> change;
  flatbuffers::Offset<fb::Previous> prev;
  if (compared) {
    change = b.CreateString(ChangeOf(e.stats.requests, e.previous.requests));
    auto plat = FbLatency(b, e.previous.latency);
    prev = fb::CreatePrevious(b, e.previous.requests, e.previous.errors,
                              static_cast<double>(e.previous.requests) / prev_seconds,
                              ErrorRate(e.previous), plat);
  }
  return fb::CreateMapEdge(b, src, dst, proto, e.stats.requests, e.stats.errors,
                           static_cast<double>(e.stats.requests) / seconds, ErrorRate(e.stats), lat,
                           change, prev);
}

}  // namespace

std::string RenderMapFlatbuffers(const ServiceMap& map, int64_t start_minute, int64_t end_minute) {
  double seconds = RangeSeconds(start_minute, end_minute);
  double prev_seconds = RangeSeconds(map.prev_start_minute, map.prev_end_minute);
  flatbuffers::FlatBufferBuilder b(1024 + map.edges.size() * 128);
  std::vector<flatbuffers::Offset<fb::MapNode>> nodes;
  for (const auto& n : map.nodes) {
    flatbuffers::Offset<flatbuffers::String> change;
    if (map.compared) change = b.CreateString(NodeChange(n));
    auto id = b.CreateString(n.id);
    auto kind = b.CreateString(n.kind);
    auto ns = b.CreateString(n.ns);
    auto name = b.CreateString(n.name);
    nodes.push_back(fb::CreateMapNode(b, id, kind, ns, name, n.requests_in, n.errors_in,
                                      n.requests_out, n.errors_out, change));
  }
  std::vector<flatbuffers::Offset<fb::MapEdge>> edges;
  for (const auto& e : map.edges)
    edges.push_back(FbEdge(b, e, seconds, map.compared, prev_seconds));
  auto start = b.CreateString(MinuteToRfc3339(start_minute));
  auto end = b.CreateString(MinuteToRfc3339(end_minute));
  auto nv = b.CreateVector(nodes);
  auto ev = b.CreateVector(edges);
  fb::FinishMapResponseBuffer(b, fb::CreateMapResponse(b, start, end, nv, ev));
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

std::string RenderError(std::string_view message, int64_t position) {
  JsonWriter w;
  w.BeginObject();
  w.Key("error").String(message);
  if (position >= 0) w.Key("position").Int(position);
  w.EndObject();
  return w.Take();
}

}  // namespace ew::query

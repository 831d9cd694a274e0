#include "tests/fault/traffic_ledger.h"

#include <chrono>
#include <set>

#include "base/hash.h"
#include "tests/common/json.h"
#include "tools/otlp_encoder.h"

namespace ew::testing {
namespace {

using tools::Attr;
using tools::MakeSpanId;
using tools::MakeTraceId;
using tools::OtlpResourceSpans;
using tools::OtlpSpan;
using Scopes = std::vector<std::vector<OtlpSpan>>;

constexpr int kServer = 2;  // OTLP SpanKind
constexpr int kClient = 3;

constexpr char kExternalClient[] = "External Client";

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A span placed a couple of seconds in the past (well inside the accepted window).
OtlpSpan MakeSpan(int kind, uint64_t trace_n, uint64_t span_n, uint64_t seed,
                  uint64_t duration_us) {
  OtlpSpan s;
  s.trace_id = MakeTraceId(seed, trace_n);
  s.span_id = MakeSpanId(seed, span_n);
  s.name = "op";
  s.kind = kind;
  s.start_ns = NowNs() - 2'000'000'000ULL;
  s.end_ns = s.start_ns + duration_us * 1000;
  return s;
}

std::vector<Attr> HttpServerAttrs(std::string route, int status) {
  return {Attr::Str("http.request.method", "POST"), Attr::Str("http.route", std::move(route)),
          Attr::Int("http.response.status_code", status)};
}

}  // namespace

TrafficLedger::TrafficLedger(uint64_t seed, int streams) : seed_(seed), streams_(streams) {}

// Root SERVER spans for a service of this request's own; every 6th request also carries a
// complete client/server pair between two more services of its own.
std::string TrafficLedger::RootRequest(int stream, uint64_t k, size_t id) {
  const std::string tag = std::to_string(stream) + "-" + std::to_string(k);
  const uint64_t n = 1 + (MixHash(seed_ ^ id) % 12);
  OtlpResourceSpans root{{Attr::Str("service.name", "root-" + tag)}, Scopes(1)};
  ExpectedEdge edge{kExternalClient, "root-" + tag, n, 0, {id}};
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t sid = ++ids_;
    OtlpSpan s = MakeSpan(kServer, sid, sid, seed_, 100 + (sid % 5000));
    const int status = (sid % 7 == 0) ? 503 : 200;
    if (status >= 500) ++edge.errors;
    s.attrs = HttpServerAttrs("/root/{id}", status);
    root.scopes[0].push_back(std::move(s));
  }
  edges_.push_back(std::move(edge));
  std::vector<OtlpResourceSpans> resources{std::move(root)};
  uint64_t spans = n;
  if (k % 6 == 0) {
    const uint64_t t = ++ids_;
    const uint64_t c = ++ids_;
    const uint64_t srv = ++ids_;
    OtlpSpan client = MakeSpan(kClient, t, c, seed_, 900);
    client.attrs = {Attr::Str("http.request.method", "GET"),
                    Attr::Str("server.address", "is-" + tag),
                    Attr::Int("http.response.status_code", 200)};
    OtlpSpan server = MakeSpan(kServer, t, srv, seed_, 700);
    server.parent_span_id = client.span_id;
    server.has_parent = true;
    server.attrs = HttpServerAttrs("/inner", 200);
    resources.push_back({{Attr::Str("service.name", "ic-" + tag)}, Scopes{{std::move(client)}}});
    resources.push_back({{Attr::Str("service.name", "is-" + tag)}, Scopes{{std::move(server)}}});
    edges_.push_back({"ic-" + tag, "is-" + tag, 1, 0, {id}});
    spans += 2;
  }
  span_count_[id] = spans;
  return tools::EncodeRequest(resources, tools::Encoding::kProtobuf);
}

// Opens a pair group (sends its first half, keeps the second) or sends the open group's second
// half. Even groups send the client half first, odd groups the server half.
std::string TrafficLedger::PairRequest(int stream, size_t id) {
  Stream& st = streams_[static_cast<size_t>(stream)];
  if (st.open_group) {
    st.open_group = false;
    edges_[st.group_edge].depends_on.push_back(id);
    span_count_[id] = edges_[st.group_edge].requests;
    return std::move(st.second_half);
  }
  const uint64_t g = st.groups++;
  const std::string tag = std::to_string(stream) + "-" + std::to_string(g);
  const uint64_t n = 1 + (MixHash(seed_ ^ (id * 3)) % 6);
  OtlpResourceSpans clients{{Attr::Str("service.name", "pc-" + tag)}, Scopes(1)};
  OtlpResourceSpans servers{{Attr::Str("service.name", "ps-" + tag)}, Scopes(1)};
  uint64_t errors = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t t = ++ids_;
    const uint64_t c = ++ids_;
    const uint64_t srv = ++ids_;
    OtlpSpan client = MakeSpan(kClient, t, c, seed_, 2000 + i);
    client.attrs = {Attr::Str("http.request.method", "GET"),
                    Attr::Str("server.address", "ps-" + tag)};
    OtlpSpan server = MakeSpan(kServer, t, srv, seed_, 1500 + i);
    server.parent_span_id = client.span_id;
    server.has_parent = true;
    const int status = (t % 5 == 0) ? 500 : 200;
    if (status >= 500) ++errors;
    server.attrs = HttpServerAttrs("/pair", status);
    clients.scopes[0].push_back(std::move(client));
    servers.scopes[0].push_back(std::move(server));
  }
  edges_.push_back({"pc-" + tag, "ps-" + tag, n, errors, {id}});
  st.open_group = true;
  st.group_edge = edges_.size() - 1;
  span_count_[id] = n;
  const bool client_first = g % 2 == 0;
  st.second_half =
      tools::EncodeRequest({client_first ? servers : clients}, tools::Encoding::kProtobuf);
  return tools::EncodeRequest({client_first ? clients : servers}, tools::Encoding::kProtobuf);
}

std::pair<size_t, std::string> TrafficLedger::NextRequest(int stream) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t id = outcomes_.size();
  outcomes_.push_back(Outcome::kUnsent);
  span_count_.push_back(0);
  Stream& st = streams_[static_cast<size_t>(stream)];
  const uint64_t k = st.next++;
  std::string body = (k % 3 == 2) ? PairRequest(stream, id) : RootRequest(stream, k, id);
  return {id, std::move(body)};
}

void TrafficLedger::Record(size_t request, Outcome outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  outcomes_[request] = outcome;
}

std::vector<std::string> TrafficLedger::Check(const EdgeCounts& edges) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> problems;
  std::set<std::pair<std::string, std::string>> known;
  for (const ExpectedEdge& e : edges_) {
    known.insert({e.source, e.target});
    bool all_acked = true;
    bool any_refused = false;
    for (size_t r : e.depends_on) {
      all_acked = all_acked && outcomes_[r] == Outcome::kAcked;
      any_refused =
          any_refused || outcomes_[r] == Outcome::kRefused || outcomes_[r] == Outcome::kUnsent;
    }
    if (e.depends_on.size() < 2 && e.source.starts_with("pc-")) {
      all_acked = false;  // the second half was never sent
      any_refused = true;
    }
    auto it = edges.find({e.source, e.target});
    const std::pair<uint64_t, uint64_t> got =
        it == edges.end() ? std::pair<uint64_t, uint64_t>{0, 0} : it->second;
    const std::pair<uint64_t, uint64_t> full{e.requests, e.errors};
    const std::pair<uint64_t, uint64_t> none{0, 0};
    const bool ok = all_acked     ? got == full
                    : any_refused ? got == none
                                  : (got == full || got == none);
    if (!ok) {
      problems.push_back(e.source + " -> " + e.target +
                         ": stored requests=" + std::to_string(got.first) +
                         " errors=" + std::to_string(got.second) + ", expected " +
                         std::to_string(e.requests) + "/" + std::to_string(e.errors) +
                         (all_acked     ? " (acknowledged)"
                          : any_refused ? " x0 (refused)"
                                        : " or 0 (answer lost)"));
    }
  }
  for (const auto& [key, counts] : edges) {
    if (!known.count(key)) {
      problems.push_back("unexpected edge " + key.first + " -> " + key.second +
                         " requests=" + std::to_string(counts.first));
    }
  }
  return problems;
}

LedgerSummary TrafficLedger::Summary() const {
  std::lock_guard<std::mutex> lock(mu_);
  LedgerSummary s;
  for (size_t i = 0; i < outcomes_.size(); ++i) {
    if (outcomes_[i] == Outcome::kUnsent) continue;
    ++s.requests;
    if (outcomes_[i] == Outcome::kAcked) {
      ++s.acked;
      s.acked_spans += span_count_[i];
    }
    if (outcomes_[i] == Outcome::kRefused) ++s.refused;
    if (outcomes_[i] == Outcome::kUnknown) ++s.unknown;
  }
  s.expected_edges = edges_.size();
  return s;
}

Outcome SendTraces(tools::HttpConnection* client, const std::string& body, int* status,
                   std::string* problem) {
  *status = 0;
  auto resp = client->Post("/v1/traces", body, "application/x-protobuf");
  if (!resp.ok()) return Outcome::kUnknown;
  *status = resp->status;
  if (resp->status == 200) {
    std::optional<int64_t> rejected = tools::ParseRejectedSpans(resp->body, false);
    if (!rejected) {
      *problem = "200 with a malformed ExportTraceServiceResponse";
    } else if (*rejected != 0) {
      *problem = "200 with " + std::to_string(*rejected) + " rejected spans";
    }
    return Outcome::kAcked;
  }
  if ((resp->status == 503 || resp->status == 429) && !resp->HasHeader("Retry-After")) {
    *problem = std::to_string(resp->status) + " without Retry-After";
  } else if (resp->status != 503 && resp->status != 429) {
    *problem = "unexpected status " + std::to_string(resp->status) + ": " + resp->body;
  }
  return Outcome::kRefused;
}

Result<EdgeCounts> FetchMapEdges(tools::HttpConnection* client) {
  auto resp = client->Get("/api/v1/map?start=now-3h&end=" + tools::UrlEncode("now+1h"));
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return Status::Internal("GET /api/v1/map: " + std::to_string(resp->status) + " " + resp->body);
  }
  auto doc = Json::Parse(resp->body);
  if (!doc.ok()) return doc.status();
  std::map<std::string, std::string> names;
  for (const Json& n : (*doc)["nodes"].Elements()) names[n["id"].String()] = n["name"].String();
  EdgeCounts out;
  for (const Json& e : (*doc)["edges"].Elements()) {
    auto& c = out[{names[e["source"].String()], names[e["target"].String()]}];
    c.first += e["requests"].Uint();
    c.second += e["errors"].Uint();
  }
  return out;
}

}  // namespace ew::testing

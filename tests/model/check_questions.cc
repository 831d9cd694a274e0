// The differential check: the model's questions (map, series, service, traces) and the hostile and
// unknown-name questions.
#include "tests/model/checker.h"

namespace ew::model::internal {

// `&focus=..&depth=..` of a random request's end (mo->focus, mo->depth).
std::string Checker::FocusParams(MapOptions* mo) {
  const Request& q = d_.requests[U(d_.requests.size())];
  mo->focus = Chance(0.5) ? q.client : q.server;
  mo->depth = 1 + static_cast<int>(U(3));
  // Grouped, a service's own id and its namespace's id both focus on the namespace node.
  const bool ns = mo->group_namespace && Chance(0.5) &&
                  d_.nodes[*mo->focus].kind == storage::NodeKind::kService;
  std::string url = "&focus=" + (ns ? "ns:" + tools::UrlEncode(d_.nodes[*mo->focus].ns)
                                    : server_.NodeId(*mo->focus));
  if (mo->depth != 1 || Chance(0.5)) url += "&depth=" + std::to_string(mo->depth);
  return url;
}

void Checker::AskMap() {
  std::string text;
  auto filter = filters_.Make(&text);
  Range r = MakeRange();
  MapOptions mo;
  mo.filter = filter.get();
  std::string url = Base("/api/v1/map", text, r);
  std::string compare;
  if (Chance(0.25)) {
    static const char* kShifts[] = {"-1d", "-7d", "-1h", "+1h", "-30m", "-365d", "+2d", "-1w"};
    compare = kShifts[U(std::size(kShifts))];
    mo.compare_minutes = ParseShiftMinutes(compare);
    url += "&compare=" + tools::UrlEncode(compare);
  }
  mo.group_namespace = Chance(0.1);
  if (mo.group_namespace) url += "&group=namespace";
  if (Chance(mo.group_namespace ? 0.4 : 0.2)) url += FocusParams(&mo);
  if (Chance(0.1)) {
    mo.min_requests = 1 + U(20);
    url += "&min_requests=" + std::to_string(mo.min_requests);
  }
  if (Chance(0.1)) {
    mo.errors_only = true;
    url += "&errors_only=true";
  }
  CompareOptions co;
  co.latency = !(filter && filter->Uses(FField::kError));
  co.skip_group_self_edges = mo.group_namespace && !o_.known.check_group_self_edges;
  if (Chance(0.15)) {
    co.top = 1 + U(20);
    co.top_by_errors = Chance(0.4);
    url += "&top=" + std::to_string(co.top);
    if (co.top_by_errors || Chance(0.5))
      url += co.top_by_errors ? "&top_by=errors" : "&top_by=requests";
  }
  const bool fb = Chance(0.3);
  if (Chance(0.1)) url += "&explain=true";  // the plan is added; the answer stays the same
  std::string body;
  if (!Get(url, &body, 200, fb)) return;
  const Range asked = Asked(r);
  r = Answered(r);
  mo.start = r.start;
  mo.end = r.end;
  if (mo.compare_minutes) {  // the shifted range as asked, widened on its own
    mo.prev_start = asked.start + *mo.compare_minutes;
    mo.prev_end = asked.end + *mo.compare_minutes;
    model_.Widen(&mo.prev_start, &mo.prev_end, asked_ms_);
  }
  auto got = fb ? ParseMapFlatBuffers(body) : ParseMapJson(body);
  if (!got.ok()) {
    Fail(url, {"unreadable answer: " + got.status().ToString()});
    return;
  }
  std::vector<std::string> diffs;
  if (!fb) CheckEchoedRanges(body, r, mo, &diffs);
  if (!fb && url.find("&explain=true") != std::string::npos) CheckPlan(body, r, &diffs);
  CompareMaps(model_.Map(mo), got->answer, co, &diffs);
  ++result_.questions;
  if (!diffs.empty()) Fail(url + (fb ? " [flatbuffers]" : ""), std::move(diffs));
}

bool Checker::MapOf(const std::string& query, const Range& r, MapAnswer* out, std::string* url) {
  *url = Base("/api/v1/map", query, r);
  std::string body;
  if (!Get(*url, &body)) return false;
  auto got = ParseMapJson(body);
  if (!got.ok()) {
    Fail(*url, {"unreadable answer: " + got.status().ToString()});
    return false;
  }
  *out = std::move(got->answer);
  return true;
}

void Checker::AskSeries() {
  static const int64_t kSteps[] = {1, 5, 15, 60, 120, 1440, 10080};
  int64_t step = kSteps[U(std::size(kSteps))];
  Range r = MakeRange(std::min<int64_t>(5 * kMinutesPerYear, step * 5000));
  r.end_now = false;  // series of a fixed range (a range ending now is covered by the map)
  if (r.end_param.rfind("now", 0) == 0 || r.start_param.rfind("now", 0) == 0) {
    r.end_param = std::to_string(r.end * 60);
    r.start_param = std::to_string(r.start * 60);
  }
  std::string text;
  std::unique_ptr<Filter> filter;
  std::optional<EdgeKey> edge;
  std::string url;
  const uint64_t p = U(10);
  if (p < 3) {
    filter = filters_.Make(&text);
    if (text.empty()) text = "protocol != nope";
    if (!filter) filter = filters_.Leaf(), text = filters_.Render(*filter, 0);
  }
  std::string edge_params;
  bool group = false;
  if (p >= 3) {
    const auto& e = d_.edges[U(d_.edges.size())];
    group = Chance(0.3);
    edge = EdgeKey{model_.GroupKey(e[0], group), model_.GroupKey(e[1], group)};
    edge_params = EdgeParams(e[0], e[1], group);
    if (p >= 8) filter = filters_.Make(&text);
  }
  const bool default_step = Chance(0.1);
  url = Base("/api/v1/edge/series", text, r) +
        (default_step ? std::string() : "&step=" + std::to_string(step) + "m") + edge_params;
  std::string body;
  if (!Get(url, &body)) return;
  r = Answered(r);
  // Without step=, about 60 points over the answered range: ceil((end - start) / 60) minutes.
  if (default_step) step = std::max<int64_t>(1, (r.end - r.start + 59) / 60);
  step = model_.SeriesStep(r.start, step, asked_ms_);
  auto doc = testing::Json::Parse(body);
  if (!doc.ok()) return Fail(url, {"unreadable answer"});
  const auto want = model_.Series(filter.get(), edge, r.start, r.end, step, group);
  const bool latency = !(filter && filter->Uses(FField::kError));
  std::vector<std::string> diffs;
  if ((*doc)["step_s"].Int() != step * 60) {
    diffs.push_back("step_s " + std::to_string((*doc)["step_s"].Int()) + ", model " +
                    std::to_string(step * 60));
  }
  std::set<int64_t> seen;
  for (const auto& pt : (*doc)["points"].Elements()) {
    auto t = ParseTimestampMs(pt["time"].String(), 0);
    const int64_t minute = t.ok() ? *t / kMsPerMinute : -1;
    Figures got{pt["requests"].Uint(), pt["errors"].Uint(), ParseLatencyJson(pt["latency_ms"])};
    auto it = want.find(minute);
    Figures w;
    if (it != want.end()) w = {it->second.requests, it->second.errors, it->second.latency_ms};
    seen.insert(minute);
    CompareFigures("point " + pt["time"].String(), w, got, latency, &diffs);
  }
  for (const auto& [m, pt] : want) {
    if (!seen.count(m)) diffs.push_back("point " + FormatRfc3339(m * 60) + " missing");
  }
  ++result_.questions;
  if (!diffs.empty()) Fail(url, std::move(diffs));
}

void Checker::AskService() {
  const Request& q = d_.requests[U(d_.requests.size())];
  // Nodes 0-4 have the odd names (quotes, spaces, UTF-8): asked for now and then.
  const uint32_t node = Chance(0.1)   ? static_cast<uint32_t>(U(5))
                        : Chance(0.5) ? q.client
                                      : q.server;
  const Node& n = d_.nodes[node];
  std::string text;
  auto filter = Chance(0.3) ? filters_.Make(&text) : nullptr;
  if (!filter) text.clear();
  Range r = MakeRange();
  std::string url = Base("/api/v1/service", text, r) + "&namespace=" + tools::UrlEncode(n.ns) +
                    "&name=" + tools::UrlEncode(n.name);
  if (n.kind != storage::NodeKind::kService || Chance(0.3)) {
    url += "&kind=" + std::string(storage::NodeKindName(n.kind));
  }
  std::string body;
  if (!Get(url, &body)) return;
  r = Answered(r);
  auto doc = testing::Json::Parse(body);
  if (!doc.ok()) return Fail(url, {"unreadable answer"});
  auto keys = NodeKeys((*doc)["nodes"]);
  const std::string self = n.Key();
  keys[(*doc)["node"]["id"].String()] = self;
  MapOptions mo;
  mo.filter = filter.get();
  mo.start = r.start;
  mo.end = r.end;
  const MapAnswer all = model_.Map(mo);
  std::vector<std::string> diffs;
  const bool latency = !(filter && filter->Uses(FField::kError));
  for (int dir = 0; dir < 2; ++dir) {
    CompareServiceEdges(all, (*doc)[dir == 0 ? "incoming" : "outgoing"], keys, self, dir == 0,
                        latency, &diffs);
  }
  const uint64_t expired[2] = {model_.ClientHalvesExpired(node, r.start, r.end),
                               model_.ServerHalvesExpired(node, r.start, r.end)};
  const char* kExpiredKeys[2] = {"client_halves_expired", "server_halves_expired"};
  for (int k = 0; k < 2; ++k) {
    const uint64_t got_expired = (*doc)["missing_edges"][kExpiredKeys[k]].Uint();
    if (expired[k] != got_expired) {
      diffs.push_back(std::string(kExpiredKeys[k]) + " model " + std::to_string(expired[k]) +
                      ", server " + std::to_string(got_expired));
    }
  }
  ++result_.questions;
  if (!diffs.empty()) Fail(url, std::move(diffs));
}

// Whether the server completes this request when a half expires (no arriving half completes it):
// calls to external services and topics, server halves whose parent never came.
bool Checker::CompletedByExpiry(const Request& q) const {
  if (!q.otlp) return false;
  if (q.shape == Shape::kOrphanServer) return true;
  return q.shape == Shape::kClientOnly && d_.nodes[q.server].kind != storage::NodeKind::kDatabase;
}

// One trace of an edge against the request it names: minute, status, error, start_ms.
void Checker::CheckTrace(const testing::Json& t, const Request& q,
                         std::vector<std::string>* diffs) const {
  const std::string id = t["trace_id"].String();
  auto minute = ParseTimestampMs(t["minute"].String(), 0);
  // From an hour record (ExemplarsPerHour) a trace is shown at its own start's minute: the hour.
  const int64_t unit = ExemplarsPerHour(q.minute) ? 60 : 1;
  if (!minute.ok() || *minute / kMsPerMinute / unit != q.minute / unit ||
      t["error"].Bool() != q.error || t["status"].Uint() != q.status) {
    diffs->push_back("trace " + id + ": minute/error/status " + t["minute"].String() + "/" +
                     (t["error"].Bool() ? "true" : "false") + "/" +
                     std::to_string(t["status"].Uint()) + ", model " +
                     FormatRfc3339(q.minute * 60) + "/" + (q.error ? "true" : "false") + "/" +
                     std::to_string(q.status));
  }
  // The server half's own start, except a pair whose client half completed it (the server half
  // waited): the client half's start (docs/api.md). Which half of an OTLP pair arrives second
  // is up to the encoding's span order, so either start is right for those; rollups written
  // through the storage API carry ExemplarStartMs.
  const int64_t got = t["start_ms"].Int();
  const bool either = q.otlp && q.shape == Shape::kPair;
  if (o_.known.check_exemplar_start && got != ExemplarStartMs(q) &&
      !(either && got == q.start_ms)) {
    diffs->push_back("trace " + id + ": start_ms " + std::to_string(got) + ", model " +
                     std::to_string(ExemplarStartMs(q)) +
                     (either ? " (or " + std::to_string(q.start_ms) + ")" : std::string()));
  }
}

// Every edge-minute keeps its newest error and newest success (docs/format/storage.md
// "Exemplars"), also edges completed by expiry: under the limit, every minute with a request
// that the errors filter admits shows at least one trace. Except (docs/ingest.md "Held
// exemplars") after a kill -9: halves loaded from the pending state expire without one, and
// which halves were pending at the last flush is up to timing, so there only requests that
// an arriving half completed count.
// Past the per-minute window an hour keeps the role holders of its minutes: every hour inside the
// range with a request that the errors filter admits shows at least one trace.
void Checker::CheckPresence(const std::map<std::string, const Request*>& by_trace, const Range& r,
                            const std::set<int64_t>& minutes_shown, bool only_errors,
                            bool only_successes, std::vector<std::string>* diffs) const {
  std::map<int64_t, uint64_t> missing;  // minute (the hour's first, per hour) -> requests
  std::set<int64_t> hours_shown;
  for (int64_t m : minutes_shown) hours_shown.insert(m / 60);
  for (const auto& [id, q] : by_trace) {
    if ((only_errors && !q->error) || (only_successes && q->error)) continue;
    if (result_.load.killed && CompletedByExpiry(*q)) continue;
    if (ExemplarsPerHour(q->minute)) {
      const int64_t h = q->minute / 60;
      if (h * 60 >= r.start && (h + 1) * 60 <= r.end && !hours_shown.count(h)) {
        ++missing[h * 60];
      }
    } else if (!minutes_shown.count(q->minute)) {
      ++missing[q->minute];
    }
  }
  for (const auto& [minute, n] : missing) {
    if (diffs->size() > 10) break;
    diffs->push_back("no trace in minute " + FormatRfc3339(minute * 60) +
                     " (model: " + std::to_string(n) + " requests)");
  }
}

void Checker::AskTraces() {
  const auto& e = d_.edges[U(d_.edges.size())];
  Range r = MakeRange(Chance(0.5) ? 1440 : 5 * kMinutesPerYear);
  const bool errors = Chance(0.5), group = Chance(0.3);
  std::string url = "/api/v1/edge/traces?" + EdgeParams(e[0], e[1], group).substr(1) +
                    "&start=" + tools::UrlEncode(r.start_param) +
                    "&end=" + tools::UrlEncode(r.end_param) + "&limit=1000" +
                    (Chance(0.7) ? std::string("&errors=") + (errors ? "true" : "false") : "");
  std::string body;
  if (!Get(url, &body)) return;
  r = Answered(r);
  auto doc = testing::Json::Parse(body);
  if (!doc.ok()) return Fail(url, {"unreadable answer"});
  std::map<std::string, const Request*> by_trace;
  for (const Request* q : model_.EdgeRequests(e[0], e[1], r.start, r.end, group)) {
    by_trace[tools::Hex(q->trace_id.data(), 16)] = q;
  }
  std::vector<std::string> diffs;
  const bool only_errors = url.find("errors=true") != std::string::npos;
  const bool only_successes = url.find("errors=false") != std::string::npos;
  std::set<int64_t> minutes_shown;
  int64_t previous_start = INT64_MAX;
  for (const auto& t : (*doc)["traces"].Elements()) {
    const std::string id = t["trace_id"].String();
    auto it = by_trace.find(id);
    if (it == by_trace.end()) {
      diffs.push_back("trace " + id + " is not a request of this edge in the range");
      continue;
    }
    const Request& q = *it->second;
    minutes_shown.insert(q.minute);
    CheckTrace(t, q, &diffs);
    if (o_.known.check_traces_errors_false &&
        ((only_errors && !q.error) || (only_successes && q.error))) {
      diffs.push_back(std::string(only_errors ? "errors=true" : "errors=false") + " returned " +
                      (q.error ? "error" : "success") + " trace " + id);
    }
    if (t["start_ms"].Int() > previous_start) {
      diffs.push_back("trace " + id + " is newer than the one before it (not newest first)");
    }
    previous_start = t["start_ms"].Int();
  }
  if (o_.known.check_exemplar_presence && (*doc)["traces"].Size() < 1000) {
    CheckPresence(by_trace, r, minutes_shown, only_errors, only_successes, &diffs);
  }
  ++result_.questions;
  if (!diffs.empty()) Fail(url, std::move(diffs));
}

// Mangled query text and parameters: a documented 200 or 4xx with a JSON error, never a 5xx or
// a dropped connection (network input is hostile).
void Checker::AskHostile() {
  std::string text;
  auto filter = filters_.Make(&text);
  static const char kJunk[] = "()\"=!<>~,\\ \t'a9-.";
  for (int n = 1 + static_cast<int>(U(3)); n > 0 && !text.empty(); --n) {
    const size_t at = U(text.size());
    if (Chance(0.5)) {
      text.erase(at, 1);
    } else {
      text.insert(at, 1, kJunk[U(sizeof(kJunk) - 1)]);
    }
  }
  static const char* kPaths[] = {"/api/v1/map", "/api/v1/edge/series", "/api/v1/service",
                                 "/api/v1/edge/traces"};
  static const char* kParams[] = {"&start=yesterday", "&end=-5",
                                  "&step=0m",         "&step=90s",
                                  "&depth=-1",        "&top=abc",
                                  "&compare=1y",      "&focus=n0",
                                  "&source=n1",       "&limit=100000",
                                  "&group=planet",    "&min_requests=-3",
                                  "&start=now-7y",    ""};
  std::string url = std::string(kPaths[U(4)]) + "?query=" + tools::UrlEncode(text) +
                    kParams[U(std::size(kParams))];
  auto resp = server_.Get(url, {});
  ++result_.questions;
  if (!resp.ok()) return Fail(url, {"no answer: " + resp.status().ToString()});
  if (resp->status >= 500) {
    return Fail(url, {"HTTP " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200)});
  }
  if (resp->status >= 400) {
    auto doc = testing::Json::Parse(resp->body);
    if (!doc.ok() || (*doc)["error"].String().empty()) {
      Fail(url, {"HTTP " + std::to_string(resp->status) +
                 " without a JSON error: " + resp->body.substr(0, 200)});
    }
  }
}

// Names the server does not know have exact statuses (docs/query.md "Endpoints"): an unknown
// parameter is a 400 naming it, an id of the right form that the store does not know a 404
// naming it, an id of neither form (or a namespace id on a map without group=namespace) a 400
// naming the parameter.
void Checker::AskUnknown() {
  static const char* kPaths[] = {"/api/v1/map", "/api/v1/edge/series", "/api/v1/service",
                                 "/api/v1/edge/traces"};
  const auto& e = d_.edges[U(d_.edges.size())];
  const std::string known = server_.NodeId(e[0]);
  const std::string unknown = Chance(0.5) ? "n" + std::to_string(90'000'000 + U(1'000'000))
                                          : "ns:nowhere-" + std::to_string(U(100));
  const bool bad_form = Chance(0.2);
  const std::string id = bad_form ? "frontend" : unknown;
  const uint64_t which = U(4);
  const Range r = MakeRange();
  std::string url = std::string(kPaths[which]) + "?start=" + tools::UrlEncode(r.start_param) +
                    "&end=" + tools::UrlEncode(r.end_param);  // traces take no query=
  if (Chance(0.3)) {  // a misspelt parameter on a question that is otherwise right
    url += which == 0   ? "&querry=1"
           : which == 2 ? "&id=" + known + "&querry=1"
                        : EdgeParams(e[0], e[1], false) + "&querry=1";
    return ExpectError(url, 400, "querry");
  }
  if (which == 0) {
    // A namespace id without group=namespace is a 400 (a known one: an unknown one is a 404
    // either way).
    const bool group = Chance(0.7), known_ns = !group && Chance(0.5);
    url += "&focus=" + (known_ns ? "ns:" + tools::UrlEncode(d_.nodes[d_.edges[0][0]].ns) : id) +
           (group ? "&group=namespace" : "");
    const bool refused = bad_form || known_ns;
    return ExpectError(url, refused ? 400 : 404, refused ? "focus" : id);
  }
  if (which == 2) return ExpectError(url + "&id=" + id, bad_form ? 400 : 404, bad_form ? "id" : id);
  const bool source = Chance(0.5);
  url += source ? "&source=" + id + "&target=" + known : "&source=" + known + "&target=" + id;
  ExpectError(url, bad_form ? 400 : 404, !bad_form ? id : source ? "source" : "target");
}

void Checker::ExpectError(const std::string& url, int status, const std::string& mention) {
  auto resp = server_.Get(url, {});
  ++result_.questions;
  if (!resp.ok()) return Fail(url, {"no answer: " + resp.status().ToString()});
  auto doc = testing::Json::Parse(resp->body);
  const std::string error = doc.ok() ? (*doc)["error"].String() : std::string();
  if (resp->status != status || error.find(mention) == std::string::npos) {
    Fail(url, {"HTTP " + std::to_string(resp->status) + " " + resp->body.substr(0, 200) +
               ", expected " + std::to_string(status) + " naming '" + mention + "'"});
  }
}

}  // namespace ew::model::internal

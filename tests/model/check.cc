// The differential check driver (see check.h): questions, asking, comparing.
#include "tests/model/check.h"

#include <cmath>
#include <set>
#include <sstream>

#include "base/time.h"
#include "tools/otlp_encoder.h"

namespace ew::model {
namespace {

constexpr int64_t kMinutesPerYear = 525'600;

struct Range {
  std::string start_param, end_param;
  int64_t start = 0, end = 0;  // minutes
  bool end_now = false;
};

class Checker {
 public:
  Checker(const CheckOptions& o, const Dataset& d, LoadedServer* server, CheckResult* result)
      : o_(o),
        d_(d),
        model_(d),
        server_(*server),
        result_(*result),
        rng_(o.gen.seed * 7919 + 1),
        filters_(d, &rng_) {}

  void AskOne() {
    const uint64_t p = U(100);
    if (p < 40) {
      AskMap();
    } else if (p < 55) {
      AskSeries();
    } else if (p < 70) {
      AskService();
    } else if (p < 80) {
      AskTraces();
    } else if (p < 88) {
      RelationOr();
    } else if (p < 96) {
      RelationSplit();
    } else if (Chance(0.5)) {
      AskHostile();
    } else {
      AskUnknown();
    }
  }

 private:
  uint64_t U(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t LogUniform(int64_t lo, int64_t hi) {
    return static_cast<int64_t>(
        std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi + 1.0))(rng_)));
  }

  std::string TimeParam(int64_t minute, bool is_end) {
    int64_t s = minute * 60;
    if (Chance(0.3))
      s += is_end ? -static_cast<int64_t>(1 + U(59)) : static_cast<int64_t>(1 + U(59));
    return Chance(0.6) ? std::to_string(s) : FormatRfc3339(s);
  }

  Range MakeRange(int64_t max_length = 5 * kMinutesPerYear) {
    const int64_t now_min = WallNowMs() / kMsPerMinute;
    int64_t length = LogUniform(1, max_length);
    if (Chance(0.3)) length = std::max<int64_t>(60, length / 60 * 60);
    if (Chance(0.2)) length = std::max<int64_t>(1440, length / 1440 * 1440);
    Range r;
    if (Chance(0.25)) {
      r.end_now = true;
      r.end_param = "now";
      r.end = now_min + 1;
    } else if (Chance(0.05)) {  // an end in the future
      const int64_t ahead = 1 + static_cast<int64_t>(U(90));
      r.end_now = true;
      r.end_param = "now+" + std::to_string(ahead) + "m";
      r.end = now_min + ahead + 1;
    } else {
      int64_t end = now_min - LogUniform(1, 5 * kMinutesPerYear - length);
      const uint64_t a = U(10);
      if (a < 2) end = end / 60 * 60;
      if (a == 2) end = end / 1440 * 1440;
      if (a == 3) {  // the first of a month
        const int64_t day = end / 1440;
        int64_t y = 1970 + day / 366;
        while (DaysFromCivil(y + 1, 1, 1) <= day) ++y;
        unsigned m = 1;
        while (m < 12 && DaysFromCivil(y, m + 1, 1) <= day) ++m;
        end = DaysFromCivil(y, m, 1) * 1440 + (Chance(0.5) ? static_cast<int64_t>(U(120)) : 0);
      }
      r.end = end;
      r.end_param = TimeParam(end, true);
    }
    r.start = r.end - length;
    if (Chance(0.2)) {  // across midnight
      const int64_t midnight = r.end / 1440 * 1440;
      if (midnight > r.start && midnight < r.end)
        r.start = midnight - 1 - static_cast<int64_t>(U(180));
    }
    r.start = std::max(r.start, now_min - 6 * kMinutesPerYear + 2 * 1440);
    if (r.start >= r.end) r.start = r.end - 1;
    // "now-Nm" is the minute N before the current one (now_ms - N minutes, rounded down).
    r.start_param = r.end_now && r.start <= now_min && Chance(0.5)
                        ? "now-" + std::to_string(now_min - r.start) + "m"
                        : TimeParam(r.start, false);
    return r;
  }

  // GETs target; asks again when the minute turned during the request.
  bool Get(const std::string& url, std::string* body, int want_status = 200,
           bool flatbuffers = false) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int64_t before = WallNowMs() / kMsPerMinute;
      std::vector<std::pair<std::string, std::string>> headers;
      if (flatbuffers) headers.emplace_back("Accept", "application/x-flatbuffers");
      auto resp = server_.Get(url, headers);
      const int64_t after = WallNowMs() / kMsPerMinute;
      if (!resp.ok()) {
        Fail(url, {"request failed: " + resp.status().ToString()});
        return false;
      }
      // The clock moves a range ending now and the retention horizons: ask again.
      if (before != after) continue;
      asked_ms_ = before * kMsPerMinute;
      if (resp->status != want_status) {
        Fail(url, {"HTTP " + std::to_string(resp->status) + ": " + resp->body.substr(0, 300)});
        return false;
      }
      *body = std::move(resp->body);
      return true;
    }
    return false;
  }

  // The range the last Get asked for: a range ending "now" moves with the clock.
  Range Asked(Range r) const {
    if (!r.end_now) return r;
    const int64_t now_min = asked_ms_ / kMsPerMinute;
    int64_t ahead = 0;
    if (r.end_param.rfind("now+", 0) == 0) ahead = std::stoll(r.end_param.substr(4));
    const int64_t moved = now_min + ahead + 1 - r.end;
    r.end += moved;
    if (r.start_param.rfind("now-", 0) == 0) r.start += moved;
    return r;
  }
  // The range it was answered for: pieces past a tier's retention widen.
  Range Answered(Range r) const {
    r = Asked(r);
    model_.Widen(&r.start, &r.end, asked_ms_);
    return r;
  }

  void Fail(const std::string& url, std::vector<std::string> diffs) {
    result_.failures.push_back({url, std::move(diffs)});
  }

  // `&source=..&target=..` of an edge; with `group`, a service end is its namespace's id
  // (`ns:<namespace>`, docs/query.md: the answer sums the member services' edges).
  std::string EdgeParams(uint32_t client, uint32_t server, bool group) const {
    auto id = [&](uint32_t n) {
      return group && d_.nodes[n].kind == storage::NodeKind::kService
                 ? "ns:" + tools::UrlEncode(d_.nodes[n].ns)
                 : server_.NodeId(n);
    };
    return "&source=" + id(client) + "&target=" + id(server);
  }

  std::string Base(const char* path, const std::string& query, const Range& r) {
    std::string url = std::string(path) + "?start=" + tools::UrlEncode(r.start_param) +
                      "&end=" + tools::UrlEncode(r.end_param);
    if (!query.empty() || Chance(0.1)) url += "&query=" + tools::UrlEncode(query);
    return url;
  }

  void AskMap();
  std::string FocusParams(MapOptions* mo);
  void AskSeries();
  void AskService();
  void AskTraces();
  bool CompletedByExpiry(const Request& q) const;
  // Exemplars of minutes this old may come from the per-hour records (docs/format/storage.md
  // "Exemplars": per minute for the server's default --exemplar-minutes-retention of 2 days,
  // rounded to hours, then per hour); with a margin of two hours for the clock moving on.
  static bool ExemplarsPerHour(int64_t minute) {
    return minute < WallNowMs() / kMsPerMinute - 2 * 1440 + 120;
  }
  void CheckPresence(const std::map<std::string, const Request*>& by_trace, const Range& r,
                     const std::set<int64_t>& minutes_shown, bool only_errors, bool only_successes,
                     std::vector<std::string>* diffs) const;
  void CheckTrace(const testing::Json& t, const Request& q, std::vector<std::string>* diffs) const;
  void AskHostile();
  void AskUnknown();
  void ExpectError(const std::string& url, int status, const std::string& mention);
  void RelationOr();
  void RelationSplit();
  bool MapOf(const std::string& query, const Range& r, MapAnswer* out, std::string* url);

  const CheckOptions& o_;
  const Dataset& d_;
  Model model_;
  LoadedServer& server_;
  int64_t asked_ms_ = 0;  // the minute the last Get was answered in
  CheckResult& result_;
  std::mt19937_64 rng_;
  FilterGen filters_;
};

int64_t ParseShiftMinutes(const std::string& s) {
  auto ms = ParseDurationMs(s);
  return ms.ok() ? *ms / kMsPerMinute : 0;
}

// The incoming (or outgoing) edges of a service answer against the model's map.
void CompareServiceEdges(const MapAnswer& all, const testing::Json& edges,
                         const std::map<std::string, std::string>& keys, const std::string& self,
                         bool incoming, bool latency, std::vector<std::string>* diffs) {
  std::map<EdgeKey, EdgeAnswer> want, got;
  for (const auto& [k, e] : all.edges) {
    if ((incoming ? k.second : k.first) == self) want[k] = e;
  }
  auto key = [&](const std::string& id) {
    auto it = keys.find(id);
    return it == keys.end() ? "?" + id : it->second;
  };
  for (const auto& e : edges.Elements()) {
    got[{key(e["source"].String()), key(e["target"].String())}] = ParseEdgeJson(e);
  }
  const std::string what = incoming ? "incoming " : "outgoing ";
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      diffs->push_back(what + k.first + " -> " + k.second + " missing (model " +
                       std::to_string(w.now.requests) + ")");
    } else {
      CompareFigures(what + k.first + " -> " + k.second, w.now, it->second.now, latency, diffs);
    }
  }
  for (const auto& [k, g] : got) {
    if (!want.count(k)) diffs->push_back(what + k.first + " -> " + k.second + " not in the model");
  }
}

// The answered range (start rounded down, end up to a minute, widened for retention) and with
// compare= the previous range.
void CheckEchoedRanges(const std::string& body, const Range& r, const MapOptions& mo,
                       std::vector<std::string>* diffs) {
  auto doc = testing::Json::Parse(body);
  if (!doc.ok()) return;
  auto check = [&](const char* s_key, const char* e_key, int64_t s, int64_t e) {
    if ((*doc)[s_key].String() != FormatRfc3339(s * 60) ||
        (*doc)[e_key].String() != FormatRfc3339(e * 60)) {
      diffs->push_back(std::string(s_key) + ".." + e_key + " " + (*doc)[s_key].String() + " .. " +
                       (*doc)[e_key].String() + ", model " + FormatRfc3339(s * 60) + " .. " +
                       FormatRfc3339(e * 60));
    }
  };
  check("start", "end", r.start, r.end);
  if (mo.compare_minutes) check("previous_start", "previous_end", mo.prev_start, mo.prev_end);
}

// The plan's tier ranges.
void CheckPlan(const std::string& body, const Range& r, std::vector<std::string>* diffs) {
  auto doc = testing::Json::Parse(body);
  if (!doc.ok()) return;
  std::string want, got;
  for (const auto& [tier, s, e] : Model::Cover(r.start, r.end)) {
    want += std::string(tier == storage::Tier::kMinute ? "minute"
                        : tier == storage::Tier::kHour ? "hour"
                                                       : "day") +
            " " + FormatRfc3339(s * 60) + " " + FormatRfc3339(e * 60) + "; ";
  }
  for (const auto& p : (*doc)["plan"]["ranges"].Elements()) {
    got += p["tier"].String() + " " + p["start"].String() + " " + p["end"].String() + "; ";
  }
  if (want != got) diffs->push_back("plan ranges: model " + want + "server " + got);
}

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

void Checker::RelationOr() {
  auto a = filters_.Leaf(), b = filters_.Leaf();
  const std::string ta = filters_.Render(*a, 3), tb = filters_.Render(*b, 3);
  Range r = MakeRange();
  r.end_now = false;
  if (r.end_param == "now" || r.start_param.rfind("now", 0) == 0) {
    r.end_param = std::to_string(r.end * 60);
    r.start_param = std::to_string(r.start * 60);
  }
  MapAnswer m_or, m_a, m_b, m_and, m_not_a, m_all;
  std::string url_or, url;
  if (!MapOf(ta + " or " + tb, r, &m_or, &url_or) || !MapOf(ta, r, &m_a, &url) ||
      !MapOf(tb, r, &m_b, &url) || !MapOf(ta + " and " + tb, r, &m_and, &url) ||
      !MapOf("not " + ta, r, &m_not_a, &url) || !MapOf("", r, &m_all, &url)) {
    return;
  }
  std::map<EdgeKey, std::pair<int64_t, int64_t>> sum;
  auto add = [&](const MapAnswer& m, int sign) {
    for (const auto& [k, e] : m.edges) {
      sum[k].first += sign * static_cast<int64_t>(e.now.requests);
      sum[k].second += sign * static_cast<int64_t>(e.now.errors);
    }
  };
  add(m_a, 1);
  add(m_b, 1);
  add(m_and, -1);
  add(m_or, -1);
  std::vector<std::string> diffs;
  for (const auto& [k, s] : sum) {
    if (s.first != 0 || s.second != 0) {
      diffs.push_back("map(A or B) != map(A) + map(B) - map(A and B) on " + k.first + " -> " +
                      k.second + " by " + std::to_string(s.first) + "/" + std::to_string(s.second));
    }
  }
  // Ternary logic partitioning (SQLancer): A and not A split the whole.
  sum.clear();
  add(m_a, 1);
  add(m_not_a, 1);
  add(m_all, -1);
  for (const auto& [k, s] : sum) {
    if (s.first != 0 || s.second != 0) {
      diffs.push_back("map(A) + map(not A) != map() on " + k.first + " -> " + k.second + " by " +
                      std::to_string(s.first) + "/" + std::to_string(s.second));
    }
  }
  ++result_.relations;
  if (!diffs.empty()) Fail(url_or + "  [relation: A=" + ta + " B=" + tb + "]", std::move(diffs));
}

void Checker::RelationSplit() {
  // Within the minute tier's retention every tier still holds the data, so any split adds up.
  const int64_t now_min = WallNowMs() / kMsPerMinute;
  const int64_t oldest = now_min - d_.retention.ms[0] / kMsPerMinute + 1440;
  const int64_t a = oldest + static_cast<int64_t>(U(static_cast<uint64_t>(now_min - oldest)));
  const int64_t c = a + 1 + static_cast<int64_t>(U(static_cast<uint64_t>(now_min + 1 - a)));
  const int64_t b = a + static_cast<int64_t>(U(static_cast<uint64_t>(c - a + 1)));
  std::string text;
  auto filter = Chance(0.5) ? filters_.Make(&text) : nullptr;
  if (!filter) text.clear();
  auto range = [](int64_t s, int64_t e) {
    Range r;
    r.start = s;
    r.end = e;
    r.start_param = std::to_string(s * 60);
    r.end_param = std::to_string(e * 60);
    return r;
  };
  MapAnswer whole, left, right;
  std::string url_whole, url;
  if (!MapOf(text, range(a, c), &whole, &url_whole)) return;
  if (b > a && !MapOf(text, range(a, b), &left, &url)) return;
  if (c > b && !MapOf(text, range(b, c), &right, &url)) return;
  std::map<EdgeKey, std::pair<int64_t, int64_t>> sum;
  for (const auto* m : {&left, &right}) {
    for (const auto& [k, e] : m->edges) {
      sum[k].first += static_cast<int64_t>(e.now.requests);
      sum[k].second += static_cast<int64_t>(e.now.errors);
    }
  }
  for (const auto& [k, e] : whole.edges) {
    sum[k].first -= static_cast<int64_t>(e.now.requests);
    sum[k].second -= static_cast<int64_t>(e.now.errors);
  }
  std::vector<std::string> diffs;
  for (const auto& [k, s] : sum) {
    if (s.first != 0 || s.second != 0) {
      diffs.push_back("map[a,b) + map[b,c) != map[a,c) on " + k.first + " -> " + k.second + " by " +
                      std::to_string(s.first) + "/" + std::to_string(s.second));
    }
  }
  ++result_.relations;
  if (!diffs.empty()) {
    Fail(url_whole + "  [relation: split at " + std::to_string(b * 60) + "]", std::move(diffs));
  }
}

}  // namespace

std::string CheckResult::Report() const {
  std::ostringstream s;
  s << "seed " << seed << ": " << questions << " questions, " << relations << " relations, "
    << nodes << " nodes, " << edges << " edges, " << requests << " requests ("
    << load.history_requests << " history in " << load.history_rollups << " rollups, "
    << load.otlp_requests << " over OTLP in " << load.otlp_spans << " spans"
    << (load.killed ? ", killed -9 and restarted" : "") << "), load " << load.seconds
    << " s, total " << seconds << " s, " << failures.size() << " failures\n";
  if (!error.empty()) s << "  RUN FAILED: " << error << "\n";
  for (const Failure& f : failures) {
    s << "  DIFFERENCE (reproduce: edgewise-model-check --seed " << seed << ")\n    GET "
      << f.question << "\n";
    for (const auto& d : f.diffs) s << "    " << d << "\n";
  }
  return s.str();
}

CheckResult RunSeed(const CheckOptions& options) {
  CheckResult result;
  result.seed = options.gen.seed;
  const int64_t t0 = MonoNowNs();
  const Dataset d = Generate(options.gen, WallNowMs());
  result.requests = d.requests.size();
  result.nodes = d.nodes.size();
  result.edges = d.edges.size();
  auto server = LoadedServer::Load(d, &result.load);
  if (!server.ok()) {
    result.error = server.status().ToString();
    return result;
  }
  Checker checker(options, d, server->get(), &result);
  for (int i = 0; i < options.questions; ++i) {
    if (options.max_seconds > 0 &&
        static_cast<double>(MonoNowNs() - t0) / 1e9 > options.max_seconds) {
      break;
    }
    checker.AskOne();
  }
  if (!(*server)->process().Running())
    result.error = "the server died: " + (*server)->process().Stderr();
  result.seconds = static_cast<double>(MonoNowNs() - t0) / 1e9;
  return result;
}

}  // namespace ew::model

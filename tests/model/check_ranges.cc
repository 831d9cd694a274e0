// The differential check: the answered range, the plan and a service's edges against the model.
#include "tests/model/checker.h"

namespace ew::model::internal {

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

}  // namespace ew::model::internal

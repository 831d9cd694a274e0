// The differential check: metamorphic relations that need no model (OR adds up, a split range
// adds up).
#include "tests/model/checker.h"

namespace ew::model::internal {

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

}  // namespace ew::model::internal

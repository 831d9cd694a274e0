// The exemplar rule's reference model for tests: of one edge-minute's requests, the holders of
// the four roles (newest and slowest error, newest and slowest success; storage/rollup_codec.h),
// found by plain tuple maxima over every request, newest first. Ingest, storage and query tests
// compare what the system kept with this.
#pragma once

#include <algorithm>
#include <tuple>
#include <vector>

#include "storage/edge_store.h"

namespace ew::testing {

inline std::vector<storage::Exemplar> ExemplarRoleHolders(
    const std::vector<storage::Exemplar>& all) {
  using storage::Exemplar;
  auto newest = [](const Exemplar& x) {
    return std::make_tuple(x.start_ms, x.duration_us, x.trace_id, x.status);
  };
  auto slowest = [](const Exemplar& x) {
    return std::make_tuple(x.duration_us, x.start_ms, x.trace_id, x.status);
  };
  std::vector<Exemplar> out;
  for (bool error : {true, false}) {
    const Exemplar* n = nullptr;
    const Exemplar* s = nullptr;
    for (const auto& x : all) {
      if (x.error != error) continue;
      if (n == nullptr || newest(x) > newest(*n)) n = &x;
      if (s == nullptr || slowest(x) > slowest(*s)) s = &x;
    }
    if (n != nullptr) out.push_back(*n);
    if (s != nullptr && !(*s == *n)) out.push_back(*s);
  }
  std::sort(out.begin(), out.end(), [](const Exemplar& a, const Exemplar& b) {
    return std::make_tuple(a.start_ms, a.duration_us, a.trace_id, a.status, a.error) >
           std::make_tuple(b.start_ms, b.duration_us, b.trace_id, b.status, b.error);
  });
  return out;
}

}  // namespace ew::testing

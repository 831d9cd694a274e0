// Helpers for the day-block tests: what a kEdge day scan answers, summed per edge (the map's
// view), with or without ScanSpec::coarse_days.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "storage/edge_store.h"

namespace ew::storage::testing {

// One edge's sums over a range: counts and sketch buckets (index -> count).
struct EdgeSums {
  uint64_t requests = 0, errors = 0, request_bytes = 0, response_bytes = 0;
  std::map<int32_t, uint64_t> server, client;
  bool operator==(const EdgeSums&) const = default;
};
using Answer = std::map<std::tuple<NodeId, NodeId, int>, EdgeSums>;

inline void AddValue(const RollupValue& v, EdgeSums* s) {
  s->requests += v.requests;
  s->errors += v.errors;
  s->request_bytes += v.request_bytes;
  s->response_bytes += v.response_bytes;
  for (const auto& [i, c] : v.server_latency.Buckets()) s->server[i] += c;
  for (const auto& [i, c] : v.client_latency.Buckets()) s->client[i] += c;
  const auto add_encoded = [](std::string_view enc, std::map<int32_t, uint64_t>* into) {
    EXPECT_TRUE(LatencySketch::ForEachEncodedBucket(enc, [&](int32_t i, uint64_t c) {
                  (*into)[i] += c;
                }).ok());
  };
  add_encoded(v.encoded.server, &s->server);
  add_encoded(v.encoded.client, &s->client);
}

// The edge-family day scan of [a, b) (days), summed per edge. *records counts the visits.
inline Answer ReadDays(const EdgeStore& store, TenantId tenant, int64_t a, int64_t b, bool coarse,
                       bool encoded = false, uint64_t* records = nullptr) {
  ScanSpec spec;
  spec.tenant = tenant;
  spec.family = Family::kEdge;
  spec.tier = Tier::kDay;
  spec.start = a;
  spec.end = b;
  spec.coarse_days = coarse;
  spec.encoded_sketches = encoded;
  Answer out;
  const Status s = store.Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
    EXPECT_GE(time, a);
    EXPECT_LT(time, b);
    AddValue(v, &out[{d.client, d.server, static_cast<int>(d.protocol)}]);
    if (records != nullptr) ++*records;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

}  // namespace ew::storage::testing

// The capacity ledger: a real EdgeStore filled through the storage write API (ApplyFlush) with
// known per-minute traffic — about 120 edges among 30 services and a database (node ids past
// 300), several records per edge-minute (paths, statuses, a second protocol), part of the
// minutes split across two flushes so the store's merges must add them — and a model that
// recomputes every figure of /api/v1/capacity and the series' peak_rate_per_s from the ledger.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "query/query_service.h"
#include "storage/edge_store.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query::testing {

using ew::testing::Json;
using storage::NodeId;

struct LedgerRec {
  int64_t minute = 0;
  NodeId client = 0;
  NodeId server = 0;
  storage::Protocol protocol = storage::Protocol::kHttp;
  std::string path;
  uint16_t status = 200;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint32_t server_us = 0;
};

// Traffic of one period: every edge is active in a minute with probability `active`; its
// requests grow by its own daily trend (-0.5 % to +3 % per day) and a few minutes burst.
struct TrafficWindow {
  int64_t start = 0;  // minutes
  int64_t end = 0;
  double active = 0.5;
};

struct ModelCell {
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t peak = 0;
  int64_t peak_minute = 0;
  std::vector<std::pair<uint32_t, uint64_t>> latencies;  // (µs, count)
};

class CapacityLedgerTest : public ::testing::Test {
 public:
  static constexpr int64_t kNowMinute = 20500LL * 1440 + 10 * 60 + 37;
  static constexpr int64_t kNowMs = kNowMinute * 60'000 + 30'000;

 protected:
  void SetUp() override;
  // Generates the windows' traffic into recs_ and writes it to the store.
  void Fill(const std::vector<TrafficWindow>& windows);
  void WriteLedger(std::mt19937_64& rng);

  ApiResponse Raw(const std::string& path, std::map<std::string, std::string> params);
  Json Get(const std::string& path, std::map<std::string, std::string> params);

  // Per group (client 0: the service `server`) one cell per step of [s, e).
  using Model = std::map<std::pair<NodeId, NodeId>, std::vector<ModelCell>>;
  Model Compute(const std::function<bool(const LedgerRec&)>& pred, int64_t s, int64_t e,
                int64_t step) const;
  // Runs /api/v1/capacity and compares every figure with the model. start/end in minutes.
  // peaks_may_be_unknown: a step's peak may be null (the store kept no minute counts for it);
  // every peak given must still be exact.
  void ExpectCapacity(const std::string& query, const std::function<bool(const LedgerRec&)>& pred,
                      int64_t start, int64_t end, const std::string& step, int64_t step_minutes,
                      bool peaks_may_be_unknown = false);
  // Runs /api/v1/edge/series (with params: query, or source/target) and compares each point's
  // requests and peak_rate_per_s with the model of the selected records.
  void ExpectSeriesPeaks(std::map<std::string, std::string> params,
                         const std::function<bool(const LedgerRec&)>& pred, int64_t start,
                         int64_t end, int64_t step_minutes);

  static std::string Id(NodeId n) {
    std::string s = std::to_string(n);
    s.insert(s.begin(), 'n');  // not "n" + ...: GCC 12 -Wrestrict misfires on it
    return s;
  }
  std::string Ns(NodeId n) const;
  std::string Name(NodeId n) const;

  ew::testing::TempDir dir_{"ew-capacity-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  std::vector<NodeId> services_;
  NodeId db_ = 0;
  std::vector<LedgerRec> recs_;
};

// The model's growth of a list of peaks: least-squares slope per day and relative figures.
struct ModelGrowth {
  std::optional<double> slope, pct, change;
};
ModelGrowth ModelGrowthOf(const std::vector<double>& peaks, int64_t step_minutes);
// Exact nearest-rank quantile of (value, count) pairs.
double NearestRank(std::vector<std::pair<uint32_t, uint64_t>> v, double q);

}  // namespace ew::query::testing

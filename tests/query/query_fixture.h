// A real EdgeStore in a temp dir filled through InternNode/InternString/ApplyFlush with known
// rollups, a QueryService on it, and an oracle that computes the exact expected per-edge counts
// of a filter straight from the rollup list.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
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
using storage::NodeKind;
using storage::Protocol;

constexpr int64_t kT0 = 20000LL * 1440;  // a day boundary (2024-10-04T00:00Z), in minutes

struct Rec {
  int64_t minute;
  NodeId client;
  NodeId server;
  Protocol protocol;
  std::string path;
  std::string method;
  uint16_t status;
  uint64_t requests;
  uint64_t errors;
  double server_us;  // 0: no server half
  double client_us;
};

using EdgeCounts = std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>>;

class QueryFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // Node handles.
  NodeId frontend_ = 0, cart_ = 0, payments_ = 0, orders_db_ = 0, stripe_ = 0, external_ = 0;
  static std::string Id(NodeId n) {
    std::string s = std::to_string(n);
    s.insert(s.begin(), 'n');
    return s;
  }

  // GET path?params with now = kT0 + 3 days.
  Json Get(const std::string& path, std::map<std::string, std::string> params,
           int expect_status = 200);
  ApiResponse Raw(const std::string& path, std::map<std::string, std::string> params,
                  bool flatbuffers = false);
  static std::string Ts(int64_t minute) { return std::to_string(minute * 60); }

  // Per-edge (requests, errors) of a map response.
  static EdgeCounts EdgesOf(const Json& map);
  // What the filter `pred(rec, error)` selects over [start, end).
  EdgeCounts Oracle(const std::function<bool(const Rec&, bool error)>& pred, int64_t start,
                    int64_t end) const;
  // Runs the map query over [start, end) and compares every edge with the oracle.
  void ExpectMap(const std::string& query, const std::function<bool(const Rec&, bool)>& pred,
                 int64_t start, int64_t end);

  std::string NsOf(NodeId n) const;
  std::string NameOf(NodeId n) const;
  std::string KindOf(NodeId n) const;

  ew::testing::TempDir dir_{"ew-query-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  std::vector<Rec> recs_;
};

}  // namespace ew::query::testing

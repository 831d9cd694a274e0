// TierPlanner: turns a time range and a parsed filter into the scans that answer it.
//
// Time: [start, end) in minutes is covered with the fewest records: whole days from the day
// tier, whole hours from the hour tier, the ragged minutes from the minute tier.
// Keys: top-level AND conjuncts `server.namespace = / in`, `server.service.name = / in` (and the
// client.* equivalents) become key prefixes (namespace, node); path/method/status filters read
// the detailed family; everything else reads the edge-level family. The predicate is still
// evaluated on every record, so prefixes only narrow and never decide.
//
// Thread-safety: pure functions; MakePlan reads the (thread-safe) store's dictionary.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "query/query_language.h"
#include "storage/edge_store.h"

namespace ew::query {

struct TierRange {
  storage::Tier tier = storage::Tier::kMinute;
  int64_t start = 0;  // in tier units since the epoch, inclusive
  int64_t end = 0;    // exclusive
  bool operator==(const TierRange&) const = default;
};

// Covers [start_minute, end_minute) with day, hour and minute ranges (in time order).
std::vector<TierRange> CoverMinutes(int64_t start_minute, int64_t end_minute);

// The oldest minute each tier still holds at now_ms, in minutes since the epoch: the retention
// filter (storage/rocks_ops.cc) drops a unit u once (u + 1) * unit <= now - retention, so the
// first kept unit is floor((now - retention) / unit). Records older than this may still be on
// disk until a compaction reaches them; queries never read them, so answers do not depend on
// when compactions run.
struct Horizons {
  int64_t minute = INT64_MIN;  // first minute of the minute tier
  int64_t hour = INT64_MIN;    // first minute of the first hour of the hour tier
  int64_t day = INT64_MIN;     // first minute of the first day of the day tier
};
Horizons RetentionHorizons(const std::array<int64_t, 3>& retention_ms, int64_t now_ms);

// Widens [start, end) (minutes) so that its cover never reads a tier past its retention: a
// ragged minute piece that reaches before the minute horizon widens to its whole hour, a ragged
// hour piece before the hour horizon to its whole day. Needs retention 1m <= 1h <= 1d (the
// config checks it). Days before the day horizon are gone, and stay part of the range.
std::pair<int64_t, int64_t> WidenForRetention(int64_t start, int64_t end, const Horizons& h);

// The minute range of [start_ms, end_ms): start rounded down, end rounded up.
std::pair<int64_t, int64_t> MinuteRange(int64_t start_ms, int64_t end_ms);

struct KeyPrefix {
  std::optional<storage::StringId> ns;
  std::optional<storage::NodeId> node;
  std::string label;  // for explain: "ns=shop", "node=shop/frontend"
};

struct Plan {
  int64_t start_minute = 0;
  int64_t end_minute = 0;
  std::vector<TierRange> ranges;
  storage::Family family = storage::Family::kEdge;
  // Empty: one scan per range over the whole family. Otherwise one scan per range and prefix.
  std::vector<KeyPrefix> prefixes;
  // A key predicate names nothing the dictionary knows: the answer is empty without a scan.
  bool nothing = false;
  std::string why;                  // one line on the choice of family and prefixes (for explain)
  bool need_minute_counts = false;  // ScanSpec::need_minute_counts of every scan (busiest minutes)

  std::vector<storage::ScanSpec> Specs() const;
};

std::string_view FamilyName(storage::Family f);  // "edge", "edge_by_client", "detail"
std::string_view TierName(storage::Tier t);      // "minute", "hour", "day"

// Plans a query over [start_minute, end_minute). root may be null (everything).
Plan MakePlan(const Expr* root, int64_t start_minute, int64_t end_minute,
              const storage::EdgeStore& store);

}  // namespace ew::query

#include "query/map_builder.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <deque>
#include <memory>
#include <string_view>
#include <thread>
#include <tuple>

namespace ew::query {

using storage::EdgeDims;
using storage::NodeKind;
using storage::Protocol;
using storage::RollupValue;

namespace {

// Nearest-rank quantiles of a bucket sequence in ascending index order: the smallest rank r with
// r >= q * n (the epsilon absorbs q * n rounding up), as LatencySketch::Quantile computes them.
constexpr std::array<double, 4> kQuantiles = {0.50, 0.90, 0.95, 0.99};

uint64_t RankOf(double q, uint64_t count) {
  double r = q * static_cast<double>(count);
  auto rank = static_cast<uint64_t>(std::ceil(r - r * 1e-12));
  return std::clamp<uint64_t>(rank, 1, count);
}

// Slack added on each side when a window is created or grown, so that the sketches of one edge
// (which wander by a few buckets from record to record) rarely grow it again.
constexpr int32_t kSlack = 32;

// A LEB128 varint of at most 64 bits from [*p, end), as coding::GetVarint64 reads it.
bool GetVarint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    const uint64_t byte = *(*p)++;
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

void LatencyAccumulator::Cover(int32_t lo, int32_t hi) {
  const int32_t max_index = storage::LatencySketch::kMaxIndex;
  if (dense_.empty()) {
    base_ = std::max(0, lo - kSlack);
    dense_.assign(static_cast<size_t>(std::min(max_index, hi + kSlack) - base_) + 1, 0);
    return;
  }
  // Grow by at least half the window on the side that needs it: few regrowths per edge.
  const auto grow = std::max<int32_t>(kSlack, static_cast<int32_t>(dense_.size() / 2));
  if (lo < base_) {
    const int32_t new_base = std::max(0, std::min(lo, base_ - grow));
    dense_.insert(dense_.begin(), static_cast<size_t>(base_ - new_base), 0);
    base_ = new_base;
  }
  const int32_t top = base_ + static_cast<int32_t>(dense_.size()) - 1;
  if (hi > top) {
    dense_.resize(static_cast<size_t>(std::min(max_index, std::max(hi, top + grow)) - base_) + 1,
                  0);
  }
}

void LatencyAccumulator::Add(const storage::LatencySketch& s) {
  if (s.Empty()) return;
  const auto& b = s.Buckets();
  Cover(b.front().first, b.back().first);  // buckets are sorted by index
  uint64_t* d = dense_.data();
  for (const auto& [index, count] : b) d[index - base_] += count;
  NoteUsed(b.front().first, b.back().first);
  count_ += s.Count();
}

Status LatencyAccumulator::AddEncoded(std::string_view encoding) {
  if (encoding.empty()) return Status::Ok();
  if (storage::LatencySketch::IsDense(encoding)) return AddEncodedDense(encoding);
  if (dense_.empty()) return AddEncodedSized(encoding);
  // Straight into the window (LatencySketch::ForEachEncodedBucket's format and checks, inlined:
  // this loop is most of a long map's time). Indexes ascend, so only the first bucket can fall
  // below the window; a bucket past it grows the window by half its size at least.
  const auto* p = reinterpret_cast<const uint8_t*>(encoding.data());
  const uint8_t* const end = p + encoding.size();
  const int32_t max_index = storage::LatencySketch::kMaxIndex;
  int64_t index = -1;
  int32_t first = -1;
  uint64_t added = 0;
  int32_t top = base_ + static_cast<int32_t>(dense_.size()) - 1;
  uint64_t* d = dense_.data() - base_;  // d[i]: count of bucket i inside the window
  while (p < end) {
    uint64_t head = 0, count = 1;
    if (*p < 0x80) {
      head = *p++;
    } else if (!GetVarint(&p, end, &head)) {
      return Status::Corruption("latency sketch: truncated bucket");
    }
    if ((head & 1) != 0) {
      if (p < end && *p < 0x80) {
        count = *p++;
      } else if (!GetVarint(&p, end, &count) || count > UINT64_MAX - 2) {
        return Status::Corruption("latency sketch: bad count");
      }
      count += 2;
    }
    const uint64_t gap = head >> 1;
    if (gap > static_cast<uint64_t>(max_index) ||
        index + 1 + static_cast<int64_t>(gap) > max_index) {
      return Status::Corruption("latency sketch: bucket index or count out of range");
    }
    index += 1 + static_cast<int64_t>(gap);
    const auto i = static_cast<int32_t>(index);
    if (i < base_ || i > top) {
      Cover(i, i);
      top = base_ + static_cast<int32_t>(dense_.size()) - 1;
      d = dense_.data() - base_;
    }
    if (first < 0) first = i;
    d[i] += count;
    added += count;
  }
  NoteUsed(first, static_cast<int32_t>(index));
  count_ += added;
  return Status::Ok();
}

// The dense form (hour and day sketches): its header gives the range, so the window is covered
// once, then the storage decoder (which validates everything) adds straight into it.
Status LatencyAccumulator::AddEncodedDense(std::string_view encoding) {
  const auto* p = reinterpret_cast<const uint8_t*>(encoding.data()) + 2;
  const uint8_t* const end = reinterpret_cast<const uint8_t*>(encoding.data()) + encoding.size();
  uint64_t first = 0, span = 0;
  const auto max_index = static_cast<uint64_t>(storage::LatencySketch::kMaxIndex);
  if (!GetVarint(&p, end, &first) || !GetVarint(&p, end, &span) || first > max_index ||
      span > max_index - first) {
    return Status::Corruption("latency sketch: bad dense range");
  }
  Cover(static_cast<int32_t>(first), static_cast<int32_t>(first + span));
  uint64_t* d = dense_.data() - base_;
  uint64_t added = 0;
  EW_RETURN_IF_ERROR(storage::sketch_internal::ForEachDenseBucket(
      encoding, 2, storage::LatencySketch::kMaxIndex, [d, &added](int32_t index, uint64_t count) {
        d[index] += count;
        added += count;
      }));
  NoteUsed(static_cast<int32_t>(first), static_cast<int32_t>(first + span));
  count_ += added;
  return Status::Ok();
}

Status LatencyAccumulator::AddEncodedSized(std::string_view encoding) {
  // An empty window: decode into a local run first (an encoding has at most kMaxIndex + 1
  // buckets), so the window is sized once, then add.
  thread_local std::vector<std::pair<int32_t, uint64_t>> run;
  run.clear();
  EW_RETURN_IF_ERROR(storage::LatencySketch::ForEachEncodedBucket(
      encoding, [](int32_t index, uint64_t count) { run.emplace_back(index, count); }));
  if (run.empty()) return Status::Ok();
  Cover(run.front().first, run.back().first);
  uint64_t* d = dense_.data();
  uint64_t added = 0;
  for (const auto& [index, count] : run) {
    d[index - base_] += count;
    added += count;
  }
  NoteUsed(run.front().first, run.back().first);
  count_ += added;
  return Status::Ok();
}

void LatencyAccumulator::Merge(const LatencyAccumulator& o) {
  if (o.count_ == 0) return;
  const int32_t o_hi = o.base_ + static_cast<int32_t>(o.dense_.size()) - 1;
  Cover(o.base_, o_hi);
  uint64_t* d = dense_.data() + (o.base_ - base_);
  for (size_t i = 0; i < o.dense_.size(); ++i) d[i] += o.dense_[i];
  NoteUsed(o.used_lo_, o.used_hi_);
  count_ += o.count_;
}

void LatencyAccumulator::Clear() {
  dense_.clear();  // keeps the capacity for the next use (tables are reused across queries)
  base_ = 0;
  count_ = 0;
  used_lo_ = used_hi_ = 0;
}

LatencyQuantiles LatencyAccumulator::Quantiles() const {
  if (count_ == 0) return {};
  const uint64_t r50 = RankOf(kQuantiles[0], count_), r90 = RankOf(kQuantiles[1], count_),
                 r95 = RankOf(kQuantiles[2], count_), r99 = RankOf(kQuantiles[3], count_);
  const uint64_t* d = dense_.data();
  const auto lo = static_cast<size_t>(used_lo_ - base_), hi = static_cast<size_t>(used_hi_ - base_);
  // p50 walking up from the lowest occupied bucket: the first whose cumulative count reaches
  // the rank.
  uint64_t seen = 0;
  size_t i50 = lo;
  for (; i50 < hi; ++i50) {
    seen += d[i50];
    if (seen >= r50) break;
  }
  // p90..p99 walking down from the highest: the cumulative count at a bucket is count minus
  // what lies above it; each answer is the lowest bucket whose cumulative still reaches its
  // rank, so the walk stops once it falls below the p90 rank (about a tenth of the requests).
  size_t i90 = hi, i95 = hi, i99 = hi;
  uint64_t above = 0;
  for (size_t k = hi + 1; k-- > lo;) {
    if (d[k] == 0) continue;
    const uint64_t cum = count_ - above;
    if (cum < r90) break;
    i90 = k;
    if (cum >= r95) i95 = k;
    if (cum >= r99) i99 = k;
    above += d[k];
  }
  auto value = [&](size_t i) {
    return storage::LatencySketch::BucketValue(base_ + static_cast<int32_t>(i));
  };
  return {value(i50), value(i90), value(i95), value(i99)};
}

Status EdgeStats::Add(const RollupValue& v, Protocol p, uint64_t req, uint64_t err) {
  requests += req;
  errors += err;
  size_t pi = static_cast<size_t>(p);
  by_protocol[pi < by_protocol.size() ? pi : 4] += req;
  const bool has_server = !v.server_latency.Empty() || !v.encoded.server.empty();
  if (has_server) {
    server_latency.Add(v.server_latency);
    EW_RETURN_IF_ERROR(server_latency.AddEncoded(v.encoded.server));
    if (!client_latency.Empty()) client_latency.Clear();
  } else if (server_latency.Empty()) {
    client_latency.Add(v.client_latency);
    EW_RETURN_IF_ERROR(client_latency.AddEncoded(v.encoded.client));
  }
  return Status::Ok();
}

void EdgeStats::Merge(EdgeStats& o) {
  requests += o.requests;
  errors += o.errors;
  for (size_t i = 0; i < by_protocol.size(); ++i) by_protocol[i] += o.by_protocol[i];
  if (!o.server_latency.Empty()) {
    if (server_latency.Empty()) {
      std::swap(server_latency, o.server_latency);
    } else {
      server_latency.Merge(o.server_latency);
    }
    client_latency.Clear();
  } else if (server_latency.Empty() && !o.client_latency.Empty()) {
    if (client_latency.Empty()) {
      std::swap(client_latency, o.client_latency);
    } else {
      client_latency.Merge(o.client_latency);
    }
  }
}

Protocol EdgeStats::MajorityProtocol() const {
  size_t best = 4;
  uint64_t best_n = 0;
  for (size_t i = 0; i < by_protocol.size(); ++i) {
    if (by_protocol[i] > best_n) {
      best_n = by_protocol[i];
      best = i;
    }
  }
  return static_cast<Protocol>(best);
}

void EdgeStats::Clear() {
  requests = errors = 0;
  by_protocol = {};
  server_latency.Clear();
  client_latency.Clear();
}

EdgeSummary EdgeStats::Summarize() const {
  return EdgeSummary{requests, errors, MajorityProtocol(), Latency()};
}

EdgeStats& EdgeTable::operator[](uint64_t key) {
  if ((used_ + 1) * 2 > slots_.size()) Rehash(std::max<size_t>(64, slots_.size() * 2));
  const size_t mask = slots_.size() - 1;
  for (size_t i = (key * 0x9e3779b97f4a7c15ULL) >> shift_;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.index == 0) {
      slot = {key, static_cast<uint32_t>(used_) + 1};
      if (used_ == entries_.size()) entries_.emplace_back(key, EdgeStats{});
      Entry& e = entries_[used_++];
      e.first = key;  // a reused entry was cleared by Clear
      return e.second;
    }
    if (slot.key == key) return entries_[slot.index - 1].second;
  }
}

void EdgeTable::reserve(size_t n) {
  entries_.reserve(n);
  size_t slots = 64;
  while (slots < n * 2) slots *= 2;
  if (slots > slots_.size()) Rehash(slots);
}

void EdgeTable::Rehash(size_t slots) {
  slots_.assign(slots, Slot{});
  shift_ = 64 - std::countr_zero(slots);
  const size_t mask = slots - 1;
  for (size_t e = 0; e < used_; ++e) {
    size_t i = (entries_[e].first * 0x9e3779b97f4a7c15ULL) >> shift_;
    while (slots_[i].index != 0) i = (i + 1) & mask;
    slots_[i] = {entries_[e].first, static_cast<uint32_t>(e) + 1};
  }
}

Status RunPlan(const Plan& plan, const storage::EdgeStore& store, Predicate* pred,
               const RecordSink& sink, QueryLimits* limits) {
  Status stopped;
  uint32_t until_check = QueryLimits::kCheckEvery;
  for (const auto& spec : plan.Specs()) {
    int64_t unit = storage::TierUnitMinutes(spec.tier);
    storage::Tier tier = spec.tier;
    Status s = store.Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
      if (limits != nullptr && --until_check == 0) {
        until_check = QueryLimits::kCheckEvery;
        stopped = limits->CheckDeadline();
        if (!stopped.ok()) return false;
      }
      auto [req, err] = pred->Select(d, v.requests, v.errors);
      if (req > 0) sink(time * unit, tier, d, v, req, err);
      return true;
    });
    EW_RETURN_IF_ERROR(s);
    EW_RETURN_IF_ERROR(stopped);
  }
  return limits != nullptr ? limits->CheckDeadline() : Status::Ok();
}

namespace {

// Runs specs into table; the first error (or limit hit) stops.
Status ScanInto(const std::vector<storage::ScanSpec>& specs, const storage::EdgeStore& store,
                Predicate* pred, EdgeTable* table, QueryLimits* limits) {
  Status bad;
  uint32_t until_check = QueryLimits::kCheckEvery;
  for (const storage::ScanSpec& spec : specs) {
    Status s = store.Scan(spec, [&](int64_t, const EdgeDims& d, const RollupValue& v) {
      if (limits != nullptr && --until_check == 0) {
        until_check = QueryLimits::kCheckEvery;
        bad = limits->CheckDeadline();
        if (!bad.ok()) return false;
      }
      uint64_t req = v.requests, err = v.errors;
      if (pred != nullptr) std::tie(req, err) = pred->Select(d, v.requests, v.errors);
      if (req == 0) return true;
      bad = (*table)[EdgeKey(d.client, d.server)].Add(v, d.protocol, req, err);
      if (bad.ok() && limits != nullptr) bad = limits->CheckEdges(table->size());
      return bad.ok();
    });
    EW_RETURN_IF_ERROR(s);
    EW_RETURN_IF_ERROR(bad);
  }
  return limits != nullptr ? limits->CheckDeadline() : Status::Ok();
}

// The parts of one parallel scan, shared with the helper tasks (which may run after the query
// has returned, when the caller scanned their part itself: they then only find it claimed).
struct ParallelScan {
  std::vector<std::vector<storage::ScanSpec>> work;
  std::vector<EdgeTable> tables;
  std::vector<Status> status;
  std::unique_ptr<std::atomic<bool>[]> claimed;
  Mutex mu;
  CondVar finished_cv;
  size_t finished GUARDED_BY(mu) = 0;  // parts scanned to the end (by anyone)

  // Scans part t unless someone already claimed it.
  void RunPart(size_t t, const storage::EdgeStore& store, QueryLimits* limits) {
    if (claimed[t].exchange(true, std::memory_order_acq_rel)) return;
    status[t] = ScanInto(work[t], store, nullptr, &tables[t], limits);
    MutexLock lock(&mu);
    ++finished;
    finished_cv.NotifyAll();
  }
};

Result<EdgeTable> ScanParallel(std::vector<std::vector<storage::ScanSpec>> work,
                               const storage::EdgeStore& store, EdgeTablePool* pool,
                               TaskPool* helpers, QueryLimits* limits) {
  auto scan = std::make_shared<ParallelScan>();
  const size_t n = work.size();
  scan->work = std::move(work);
  scan->status.resize(n);
  scan->claimed = std::make_unique<std::atomic<bool>[]>(n);
  for (size_t t = 0; t < n; ++t) {
    scan->tables.push_back(pool ? pool->Take() : EdgeTable());
    scan->tables[t].reserve(4096);
  }
  for (size_t t = 1; t < n && helpers != nullptr; ++t) {
    if (!helpers->TrySubmit([scan, t, &store, limits] { scan->RunPart(t, store, limits); })) break;
  }
  for (size_t t = 0; t < n; ++t) scan->RunPart(t, store, limits);
  {
    MutexLock lock(&scan->mu);
    while (scan->finished != n) scan->finished_cv.Wait(scan->mu);
  }
  for (size_t t = 0; t < n; ++t) EW_RETURN_IF_ERROR(scan->status[t]);
  EdgeTable& merged = scan->tables[0];
  for (size_t t = 1; t < n; ++t) {
    merged.MergeFrom(scan->tables[t]);
    if (pool) pool->Give(std::move(scan->tables[t]));
    if (limits != nullptr) EW_RETURN_IF_ERROR(limits->CheckEdges(merged.size()));
  }
  return std::move(merged);
}

}  // namespace

void EdgeTable::Clear() {
  for (size_t e = 0; e < used_; ++e) entries_[e].second.Clear();
  used_ = 0;
  std::fill(slots_.begin(), slots_.end(), Slot{});
}

EdgeTable EdgeTablePool::Take() {
  MutexLock lock(&mu_);
  if (tables_.empty()) return EdgeTable();
  EdgeTable t = std::move(tables_.back());
  tables_.pop_back();
  return t;
}

void EdgeTablePool::Give(EdgeTable&& table) {
  table.Clear();
  MutexLock lock(&mu_);
  if (tables_.size() < keep_) tables_.push_back(std::move(table));
}

void EdgeTable::MergeFrom(EdgeTable& other) {
  reserve(size() + other.size());
  for (auto& [key, stats] : other) (*this)[key].Merge(stats);
}

int DefaultScanThreads() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
}

Result<EdgeTable> AggregateEdges(const Plan& plan, const storage::EdgeStore& store, Predicate* pred,
                                 int threads, EdgeTablePool* pool, TaskPool* helpers,
                                 QueryLimits* limits) {
  // Scans directly (no RecordSink indirection per record), merging the sketches' stored
  // encodings straight into the edges' counters.
  std::vector<storage::ScanSpec> specs = plan.Specs();
  for (auto& spec : specs) {
    spec.encoded_sketches = true;
    // The edge family's minute tier keeps counts only: its sketches are the sum of the edge's
    // detail_1m records, which storage would add per edge and minute. A table only sums, so it
    // reads those detail records as they are (the same counts, the same sketches in total) and
    // merges their encodings straight into its counters. The plan's family is kEdge only when
    // the predicate names no path, method or status. Not with a filter on `error`: the latency of
    // a selected part is that of the whole edge rollup it came from (docs/query.md), and a detail
    // record would narrow it to the series that had errors.
    if (spec.family == storage::Family::kEdge && spec.tier == storage::Tier::kMinute &&
        !pred->UsesError()) {
      spec.family = storage::Family::kDetail;
    }
    // A table only sums: long day ranges may come as closed blocks of days (docs/query.md).
    spec.coarse_days = true;
  }
  // Predicates cache per-id decisions and are not thread-safe: only a plan that selects every
  // record (the unfiltered map, the biggest reads) is split into parts, by ranges of leading
  // nodes, each part into its own table; the tables merge at the end.
  if (threads > 1 && pred->MatchesAll()) {
    std::vector<std::vector<storage::ScanSpec>> work(static_cast<size_t>(threads));
    size_t parts = 0;
    for (const auto& spec : specs) {
      auto split = store.SplitScan(spec, threads);
      for (size_t i = 0; i < split.size(); ++i) work[i % work.size()].push_back(split[i]);
      parts = std::max(parts, split.size());
    }
    if (parts > 1) return ScanParallel(std::move(work), store, pool, helpers, limits);
  }
  EdgeTable table = pool ? pool->Take() : EdgeTable();
  table.reserve(4096);
  Status s = ScanInto(specs, store, pred, &table, limits);
  if (!s.ok()) {
    if (pool) pool->Give(std::move(table));
    return s;
  }
  return table;
}

std::string NodeIdString(storage::NodeId id) { return "n" + std::to_string(id); }

std::optional<storage::NodeId> ParseNodeId(std::string_view s) {
  if (s.size() < 2 || s[0] != 'n') return std::nullopt;
  storage::NodeId id = 0;
  auto [p, ec] = std::from_chars(s.data() + 1, s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size() || id == 0) return std::nullopt;
  return id;
}

namespace {

// The map identity of a stored node (its namespace group when grouping).
MapNode Identify(storage::NodeId id, Dictionary* dict, bool group) {
  const auto& info = dict->Node(id);
  MapNode n;
  if (group && info.kind == NodeKind::kService) {
    n.id = "ns:" + info.ns;
    n.kind = "namespace";
    n.ns = info.ns;
    n.name = info.ns;
  } else {
    n.id = NodeIdString(id);
    n.kind = std::string(storage::NodeKindName(info.kind));
    n.ns = info.ns;
    n.name = info.name;
  }
  return n;
}

bool BySourceTarget(const MapEdge& a, const MapEdge& b) {
  return std::tie(a.source, a.target) < std::tie(b.source, b.target);
}

}  // namespace

ServiceMap BuildMap(EdgeTable& current, EdgeTable* previous, Dictionary* dict, bool group) {
  ServiceMap map;
  map.compared = previous != nullptr;
  // Map nodes get dense indexes (one string identity per node, built once); edges are keyed by
  // (source index, target index) so no string is hashed or compared per table entry.
  std::unordered_map<storage::NodeId, uint32_t> index_of_node;
  std::unordered_map<std::string, uint32_t> index_of_id;
  std::vector<const MapNode*> identity;
  auto index = [&](storage::NodeId id) -> uint32_t {
    auto [it, fresh] = index_of_node.try_emplace(id, 0);
    if (!fresh) return it->second;
    MapNode n = Identify(id, dict, group);
    auto [jt, new_id] = index_of_id.try_emplace(n.id, static_cast<uint32_t>(identity.size()));
    if (new_id) identity.push_back(&map.node_info.emplace(n.id, std::move(n)).first->second);
    return it->second = jt->second;
  };
  // Per map edge, the table entry its statistics are merged into (grouping folds several).
  std::unordered_map<uint64_t, uint32_t> edge_of;
  edge_of.reserve(current.size());
  std::vector<EdgeStats*> now_of, prev_of;
  std::vector<uint64_t> ends;  // per map edge: (source index << 32) | target index
  now_of.reserve(current.size());
  prev_of.reserve(current.size());
  ends.reserve(current.size());
  auto add = [&](EdgeTable& table, bool prev) {
    for (auto& [key, stats] : table) {
      uint32_t s = index(static_cast<storage::NodeId>(key >> 32));
      uint32_t t = index(static_cast<storage::NodeId>(key & 0xffffffffu));
      auto [it, fresh] = edge_of.try_emplace((static_cast<uint64_t>(s) << 32) | t, 0);
      if (fresh) {
        it->second = static_cast<uint32_t>(ends.size());
        now_of.push_back(nullptr);
        prev_of.push_back(nullptr);
        ends.push_back(it->first);
      }
      EdgeStats*& into = (prev ? prev_of : now_of)[it->second];
      if (into == nullptr) {
        into = &stats;
      } else {
        into->Merge(stats);
      }
    }
  };
  add(current, false);
  if (previous) add(*previous, true);
  // Sorted by (source id, target id) strings through integer ranks: the node ids are ranked
  // once, then the edges are sorted by a pair of ranks and built in that order.
  std::vector<uint32_t> by_id(identity.size());
  for (size_t i = 0; i < by_id.size(); ++i) by_id[i] = static_cast<uint32_t>(i);
  std::sort(by_id.begin(), by_id.end(),
            [&](uint32_t a, uint32_t b) { return identity[a]->id < identity[b]->id; });
  std::vector<uint32_t> rank(identity.size());
  for (size_t r = 0; r < by_id.size(); ++r) rank[by_id[r]] = static_cast<uint32_t>(r);
  std::vector<std::pair<uint64_t, uint32_t>> order(ends.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const uint64_t st = ends[i];
    order[i] = {(static_cast<uint64_t>(rank[st >> 32]) << 32) | rank[st & 0xffffffffu],
                static_cast<uint32_t>(i)};
  }
  std::sort(order.begin(), order.end());
  map.edges.resize(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    const uint32_t i = order[k].second;
    MapEdge& e = map.edges[k];
    e.source = identity[ends[i] >> 32]->id;
    e.target = identity[ends[i] & 0xffffffffu]->id;
    if (now_of[i]) e.stats = now_of[i]->Summarize();
    if (prev_of[i]) e.previous = prev_of[i]->Summarize();
  }
  return map;
}

bool FocusMap(ServiceMap* map, const std::string& focus, int depth) {
  if (!map->node_info.count(focus)) return false;
  std::unordered_map<std::string, std::vector<size_t>> out_edges, in_edges;
  for (size_t i = 0; i < map->edges.size(); ++i) {
    out_edges[map->edges[i].source].push_back(i);
    in_edges[map->edges[i].target].push_back(i);
  }
  std::vector<bool> keep(map->edges.size(), false);
  // One breadth-first walk downstream (along edges) and one upstream (against them).
  for (int dir = 0; dir < 2; ++dir) {
    auto& adj = dir == 0 ? out_edges : in_edges;
    std::unordered_map<std::string, int> dist{{focus, 0}};
    std::deque<std::string> q{focus};
    while (!q.empty()) {
      std::string cur = q.front();
      q.pop_front();
      int d = dist[cur];
      if (d >= depth) continue;
      for (size_t i : adj[cur]) {
        keep[i] = true;
        const std::string& next = dir == 0 ? map->edges[i].target : map->edges[i].source;
        if (dist.try_emplace(next, d + 1).second) q.push_back(next);
      }
    }
  }
  std::vector<MapEdge> kept;
  for (size_t i = 0; i < map->edges.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(map->edges[i]));
  }
  map->edges = std::move(kept);
  return true;
}

void PruneMap(ServiceMap* map, const PruneOptions& o) {
  auto& edges = map->edges;
  bool prev = map->compared;
  auto drop = [&](const MapEdge& e) {
    if (o.min_requests > 0 && e.stats.requests < o.min_requests &&
        !(prev && e.previous.requests >= o.min_requests)) {
      return true;
    }
    return o.errors_only && e.stats.errors == 0 && !(prev && e.previous.errors > 0);
  };
  edges.erase(std::remove_if(edges.begin(), edges.end(), drop), edges.end());
  if (o.top > 0 && edges.size() > o.top) {
    auto rank = [&](const MapEdge& e) {
      const EdgeSummary& s = e.stats;
      return o.top_by_errors ? std::pair{s.errors, s.requests} : std::pair{s.requests, s.errors};
    };
    std::stable_sort(edges.begin(), edges.end(),
                     [&](const MapEdge& a, const MapEdge& b) { return rank(a) > rank(b); });
    edges.resize(o.top);
    std::sort(edges.begin(), edges.end(), BySourceTarget);
  }
}

void FinishNodes(ServiceMap* map) {
  // Keys view the edges' id strings, which outlive this function's use of them.
  std::vector<MapNode> nodes;
  std::vector<std::string_view> keys;
  std::unordered_map<std::string_view, size_t> index_of;
  index_of.reserve(map->node_info.size());
  auto node = [&](const std::string& id) -> MapNode& {
    auto [it, fresh] = index_of.try_emplace(std::string_view(id), nodes.size());
    if (fresh) {
      nodes.push_back(map->node_info[id]);
      keys.push_back(id);
    }
    return nodes[it->second];
  };
  for (const auto& e : map->edges) {
    MapNode& s = node(e.source);
    s.requests_out += e.stats.requests;
    s.errors_out += e.stats.errors;
    s.prev_requests_out += e.previous.requests;
    s.prev_errors_out += e.previous.errors;
    MapNode& t = node(e.target);
    t.requests_in += e.stats.requests;
    t.errors_in += e.stats.errors;
    t.prev_requests_in += e.previous.requests;
    t.prev_errors_in += e.previous.errors;
  }
  std::vector<uint32_t> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  map->nodes.clear();
  map->nodes.reserve(order.size());
  for (uint32_t i : order) map->nodes.push_back(std::move(nodes[i]));
}

std::string_view ChangeOf(uint64_t now, uint64_t prev) {
  if (now > 0 && prev == 0) return "new";
  if (now == 0 && prev > 0) return "gone";
  return "same";
}

}  // namespace ew::query

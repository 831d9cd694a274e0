#include "ingest/pipeline/shard_state.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/hash.h"
#include "base/time.h"

namespace ew::ingest {
namespace {

using storage::EdgeDims;
using storage::ExpiryKind;
using storage::NodeId;
using storage::Protocol;
using storage::StringId;

constexpr uint32_t kTicksPerWait = 64;
constexpr size_t kTickSpace = 1 << 16;
constexpr uint32_t kMaxMinute = (1u << 28) - 1;

uint64_t SketchCount(uint16_t weight) {
  if (weight == 0) return 1;
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(WeightOf(weight))));
}

}  // namespace

void ShardState::DenseBuckets::Add(int32_t index, uint64_t n, storage::LatencySketch* overflow) {
  if (counts.empty()) {
    lo = index;
    counts.assign(1, 0);
  } else if (index < lo) {
    // Grow downwards with some room, so a run of ever smaller values does not copy each time.
    const int32_t room = std::max<int32_t>(16, static_cast<int32_t>(counts.size() / 2));
    const int32_t new_lo = std::max(0, std::min(index, lo - room));
    counts.insert(counts.begin(), static_cast<size_t>(lo - new_lo), 0);
    lo = new_lo;
  } else if (static_cast<size_t>(index - lo) >= counts.size()) {
    counts.resize(static_cast<size_t>(index - lo) + 1, 0);
  }
  uint32_t& c = counts[static_cast<size_t>(index - lo)];
  if (n > UINT32_MAX - c) {  // would overflow: the sketch takes what is here
    overflow->AddToBucket(index, c + n);
    c = 0;
    return;
  }
  c += static_cast<uint32_t>(n);
}

void ShardState::DenseBuckets::MoveInto(storage::LatencySketch* out) {
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] != 0) out->AddToBucket(lo + static_cast<int32_t>(i), counts[i]);
  }
  counts.clear();
}

bool PathCap::Admit(NodeId client, NodeId server, StringId path) {
  uint64_t edge = (static_cast<uint64_t>(client) << 32) | server;
  MutexLock lock(&mu_);
  auto& set = paths_[edge];
  if (set.count(path)) return true;
  if (set.size() >= max_paths_) return false;
  set.insert(path);
  return true;
}

void PathCap::Forget(const std::function<bool(NodeId server)>& drop) {
  MutexLock lock(&mu_);
  std::erase_if(paths_, [&](const auto& kv) { return drop(static_cast<NodeId>(kv.first)); });
}

void EdgeCap::Forget(storage::TenantId tenant) {
  MutexLock lock(&mu_);
  edges_.erase(tenant);
}

std::string_view TenantRefusalReason(TenantRefusal r) {
  switch (r) {
    case TenantRefusal::kPending:
      return "pending";
    case TenantRefusal::kMaxPending:
      return "max_pending";
    case TenantRefusal::kEdges:
      return "edges";
    case TenantRefusal::kPaths:
      return "paths";
    case TenantRefusal::kCount:
      break;
  }
  return "unknown";
}

void EdgeCap::Seed(storage::TenantId tenant, NodeId client, NodeId server) {
  MutexLock lock(&mu_);
  edges_[tenant].insert(uint64_t{client} << 32 | server);
}

bool EdgeCap::Admit(storage::TenantId tenant, NodeId client, NodeId server) {
  const uint64_t edge = uint64_t{client} << 32 | server;
  MutexLock lock(&mu_);
  auto& set = edges_[tenant];
  if (set.count(edge)) return true;
  if (set.size() >= max_edges_) return false;
  set.insert(edge);
  return true;
}

uint64_t EdgeCap::EdgesOf(storage::TenantId tenant) const {
  MutexLock lock(&mu_);
  auto it = edges_.find(tenant);
  return it == edges_.end() ? 0 : it->second.size();
}

size_t ShardState::AggKeyHash::operator()(const AggKey& k) const {
  uint64_t h =
      MixHash(static_cast<uint64_t>(k.minute) ^ (uint64_t{k.dims.client} << 32 | k.dims.server));
  h = MixHash(h ^ (uint64_t{k.dims.path} << 32 | uint64_t{k.dims.method} << 8 |
                   static_cast<uint64_t>(k.dims.protocol)));
  return MixHash(h ^ k.dims.status);
}

size_t ShardState::ExpiryKeyHash::operator()(const ExpiryKey& k) const {
  return MixHash((static_cast<uint64_t>(k.minute) << 8 | k.kind) ^ MixHash(k.node));
}

size_t ShardState::PathKeyHash::operator()(const PathKey& k) const {
  return MixHash((uint64_t{k.client} << 32 | k.server) ^ MixHash(k.path));
}

ShardState::ShardState(const ShardOptions& options)
    : options_(options),
      tick_ms_(std::max<int64_t>(1, options.pair_wait_ms / kTicksPerWait)),
      wait_ticks_(static_cast<uint32_t>((options.pair_wait_ms + tick_ms_ - 1) / tick_ms_)),
      table_(static_cast<size_t>(std::max<uint64_t>(1, options.max_pending))),
      held_(static_cast<size_t>(std::max<uint64_t>(256, options.max_pending / 128))),
      tick_counts_(kTickSpace, 0) {}

uint16_t ShardState::TickOf(int64_t ms) const {
  return static_cast<uint16_t>(FloorDiv(ms, tick_ms_) & 0xFFFF);
}

void ShardState::SetNow(int64_t now_ms) { last_now_ms_ = std::max(last_now_ms_, now_ms); }

size_t ShardState::SweepSlotsPerTick(int64_t tick_ms) const {
  // The whole table is swept every min(pair_wait / 2, kMaxFullSweepMs). Halves that expired but
  // were not swept yet crowd the part of the table just ahead of the cursor; with linear probing
  // a region near full grows probe runs without bound, and with a sweep every pair_wait / 2 (5 s
  // at the default) that region held half again as many halves as the rest: probes and erases
  // there cost ~15x more once expiry began (2.3 us against 0.15 us per record).
  double period = std::clamp<double>(static_cast<double>(options_.pair_wait_ms) / 2, 1.0,
                                     static_cast<double>(kMaxFullSweepMs));
  double slots = static_cast<double>(table_.capacity()) * static_cast<double>(tick_ms) / period;
  return std::max<size_t>(64, static_cast<size_t>(slots) + 1);
}

PendingEntry ShardState::ToEntry(const HalfRecord& r, int64_t arrival_ms) const {
  PendingEntry e;
  e.trace_key = TraceKeyOf(r.TraceLow());
  e.span_key = r.span_key;
  e.node = r.node;
  e.peer = r.peer;
  e.path = r.path;
  int64_t minute = std::clamp<int64_t>(FloorDiv(r.start_ms, kMsPerMinute), 0, kMaxMinute);
  e.minute_method = static_cast<uint32_t>(minute) << 4 | (static_cast<uint32_t>(r.method) & 0xF);
  e.duration_bucket = static_cast<uint16_t>(
      std::clamp(storage::LatencySketch::BucketOfMicros(r.duration_us), 0, 0xFFFF));
  e.bits = PendingEntry::PackBits(r.status, r.error, !IsClientRole(r.role), r.protocol);
  e.weight = r.weight;
  // Arrivals older than now - pair_wait (replayed or loaded halves) are clamped to "just
  // expired", so that 16-bit tick ages never wrap.
  int64_t floor_ms = last_now_ms_ - options_.pair_wait_ms - 2 * tick_ms_;
  e.arrival_tick = TickOf(std::max(arrival_ms, floor_ms));
  return e;
}

const WellKnownIds* ShardState::IdsOf(NodeId node) {
  if (!options_.ids_of_node) return &options_.ids;
  if (node < ids_of_node_.size() && ids_of_node_[node] != nullptr) return ids_of_node_[node];
  const WellKnownIds* ids = options_.ids_of_node(node);
  if (node >= ids_of_node_.size()) ids_of_node_.resize(std::max<size_t>(node + 1, 1024) * 3 / 2);
  ids_of_node_[node] = ids;
  return ids;
}

void ShardState::RefuseAcrossTenants(const HalfRecord& r, const PendingEntry& e) {
  if (e.server()) {
    AddEdge(r.peer, r.node, nullptr, &e, &r);
  } else {
    AddEdge(r.node, r.peer, &e, nullptr, &r);
  }
  const auto kind = e.server() ? ExpiryKind::kServerHalf : ExpiryKind::kClientHalf;
  ++expiries_[ExpiryKey{e.node, e.minute(), static_cast<uint8_t>(kind)}];
  ++counters_.expired[static_cast<size_t>(kind)];
}

StringId ShardState::CapPath(NodeId client, NodeId server, StringId path, const WellKnownIds& ids) {
  if (path == 0) return 0;
  PathKey key{client, server, path};
  StringId out;
  if (last_path_valid_ && key == last_path_key_) {
    out = last_path_out_;
  } else {
    if (auto it = path_cache_.find(key); it != path_cache_.end()) {
      out = it->second;
    } else {
      out = options_.path_cap->Admit(client, server, path) ? path : ids.other_path;
      path_cache_.emplace(key, out);
    }
    last_path_valid_ = true;
    last_path_key_ = key;
    last_path_out_ = out;
  }
  if (out != path) CountRefusal(ids.tenant, TenantRefusal::kPaths);
  return out;
}

bool ShardState::AdmitEdge(storage::TenantId tenant, NodeId client, NodeId server) {
  const uint64_t edge = uint64_t{client} << 32 | server;
  if (edge == last_admitted_edge_) return true;
  if (admitted_edges_.count(edge) == 0) {
    if (!options_.edge_cap->Admit(tenant, client, server)) {
      CountRefusal(tenant, TenantRefusal::kEdges);  // the request is not stored, but counted
      return false;
    }
    admitted_edges_.insert(edge);
  }
  last_admitted_edge_ = edge;
  return true;
}

void ShardState::CountRefusal(storage::TenantId tenant, TenantRefusal reason) {
  if (tenant >= refusals_.size()) refusals_.resize(tenant + 1);
  ++refusals_[tenant].n[static_cast<size_t>(reason)];
  ++refusals_total_;
}

void ShardState::AddEdge(NodeId client, NodeId server, const PendingEntry* c, const PendingEntry* s,
                         const HalfRecord* arriving, const storage::Exemplar* held) {
  EdgeDims dims;
  dims.client = client;
  dims.server = server;
  const PendingEntry* first = s ? s : c;  // the server side names the request where it can
  const PendingEntry* second = s ? c : nullptr;
  auto pick = [&](auto get) {
    auto v = get(*first);
    if (!v && second) v = get(*second);
    return v;
  };
  Protocol proto = first->protocol();
  if (proto == Protocol::kOther && second) proto = second->protocol();
  dims.protocol = proto;
  // The strings are the tenant's own (both nodes are of one tenant).
  const WellKnownIds& ids = *IdsOf(server);
  if (options_.edge_cap != nullptr && !AdmitEdge(ids.tenant, client, server)) return;
  dims.path = CapPath(client, server, pick([](const PendingEntry& e) { return e.path; }), ids);
  uint8_t method = pick([](const PendingEntry& e) { return e.method(); });
  dims.method = ids.methods[method < static_cast<uint8_t>(MethodCode::kCount) ? method : 0];
  dims.status = pick([](const PendingEntry& e) { return e.status(); });
  const bool error = (c && c->error()) || (s && s->error());
  const uint16_t weight = c ? c->weight : s->weight;
  const int64_t minute = c ? c->minute() : s->minute();

  // Consecutive edges of a request are often the same (minute, dims): remember the last one
  // (unordered_map nodes stay put until the table is cleared at TakeFlush).
  const AggKey key{minute, dims};
  if (last_agg_ == nullptr || !(last_agg_key_ == key)) {
    last_agg_ = &agg_[key];
    last_agg_key_ = key;
  }
  AggValue& agg = *last_agg_;
  const uint64_t w = WeightFixedOf(weight);
  agg.requests_fp += w;
  if (error) agg.errors_fp += w;
  const uint64_t n = SketchCount(weight);
  if (s) agg.server_buckets.Add(s->duration_bucket, n, &agg.value.server_latency);
  if (c) agg.client_buckets.Add(c->duration_bucket, n, &agg.value.client_latency);
  if (arriving) {
    agg.value.request_bytes += arriving->request_bytes;
    agg.value.response_bytes += arriving->response_bytes;
    storage::Exemplar ex;
    ex.trace_id = arriving->trace_id;
    // The arriving half's own start (a waiting half keeps only its minute), and the server
    // side's duration where there is one: the arriving half's own when it is that side (or the
    // only one), else the waiting server half's, from its bucket (docs/ingest.md "Exemplars").
    ex.start_ms = arriving->start_ms;
    ex.duration_us =
        !s || !IsClientRole(arriving->role)
            ? arriving->duration_us
            : static_cast<uint32_t>(storage::LatencySketch::BucketValue(s->duration_bucket));
    ex.status = dims.status;
    ex.error = error;
    agg.value.AddExemplar(ex);
  } else if (held != nullptr) {
    agg.value.AddExemplar(*held);
  }
}

void ShardState::Apply(const HalfRecord& r, int64_t arrival_ms) {
  PendingEntry e = ToEntry(r, arrival_ms);
  switch (r.role) {
    case HalfRole::kClientAlone:
      AddEdge(r.node, r.peer, &e, nullptr, &r);
      return;
    case HalfRole::kServerAlone:
      AddEdge(r.peer, r.node, nullptr, &e, &r);
      return;
    case HalfRole::kClientPending:
    case HalfRole::kServerPending:
      break;
  }
  PendingTable::Miss miss;
  PendingEntry* other = table_.Find(e.trace_key, e.span_key, &miss);
  if (other != nullptr && IdsOf(other->node) != IdsOf(e.node)) {
    RefuseAcrossTenants(r, e);
    return;
  }
  if (other != nullptr && other->server() != e.server()) {
    const PendingEntry* c = e.server() ? other : &e;
    const PendingEntry* s = e.server() ? &e : other;
    AddEdge(c->node, s->node, c, s, &r);
    ++counters_.pairs_completed;
    held_.Paired(*other);
    EraseSlot(static_cast<size_t>(other - &table_.Slot(0)));
    return;
  }
  Hold(e, arrival_ms, other, &miss);  // other is null or a waiting half of the same role
  // Its exemplar, should it expire (the arrival clamped as in ToEntry).
  held_.Hold(e, r, std::max(arrival_ms, last_now_ms_ - options_.pair_wait_ms - 2 * tick_ms_));
}

void ShardState::Prefetch(const HalfRecord& r) const {
  if (r.role == HalfRole::kClientPending || r.role == HalfRole::kServerPending) {
    table_.Prefetch(TraceKeyOf(r.TraceLow()), r.span_key);
  }
}

void ShardState::Hold(const PendingEntry& e, int64_t now_ms, PendingEntry* same,
                      const PendingTable::Miss* miss) {
  SetNow(now_ms);
  if (same != nullptr) {  // a resent duplicate of a waiting half: keep one
    --tick_counts_[same->arrival_tick];
    // The store may hold an add of this key: drop it, unless the key is still pending at the
    // next flush (then the new add covers it). Without the drop, a replaced half that pairs
    // before that flush came back at the next start (and later expired: counted twice).
    if (same->persisted()) AppendPendingKey(same->trace_key, same->span_key, &pending_drops_);
    const bool moved = same->arrival_tick != e.arrival_tick;
    *same = e;
    ++tick_counts_[e.arrival_tick];
    // Same tenant (Apply checked): the count stays, the order takes the new arrival.
    if (options_.tenant_max_pending != 0 && moved) {
      PendingOf(TenantOf(e.node)).order.push_back({e.trace_key, e.span_key, e.arrival_tick});
    }
    return;
  }
  if (options_.tenant_max_pending != 0) {
    const storage::TenantId tenant = TenantOf(e.node);
    if (PendingOf(tenant).count >= options_.tenant_max_pending) {
      EvictTenantOldest(tenant);
      miss = nullptr;  // evictions moved entries: probe again
    }
  }
  if (table_.size() >= table_.max_entries()) {
    EvictOldest(last_now_ms_);
    miss = nullptr;  // evictions moved entries: probe again
  }
  if (miss != nullptr) {
    table_.InsertAfterMiss(e, *miss);
  } else {
    table_.Insert(e);
  }
  ++tick_counts_[e.arrival_tick];
  if (options_.tenant_max_pending != 0) NoteHeld(e);
}

ShardState::TenantPending& ShardState::PendingOf(storage::TenantId tenant) {
  if (tenant >= tenant_pending_.size()) tenant_pending_.resize(tenant + 1);
  return tenant_pending_[tenant];
}

void ShardState::NoteHeld(const PendingEntry& e) {
  const storage::TenantId tenant = TenantOf(e.node);
  TenantPending& t = PendingOf(tenant);
  ++t.count;
  t.order.push_back({e.trace_key, e.span_key, e.arrival_tick});
  // Stale references (halves paired or expired since) go once they outnumber the live ones:
  // each compaction visits at most twice the references pushed since the last one.
  if (t.order.size() > 2 * t.count + 1024) CompactOrder(tenant);
}

void ShardState::NoteGone(const PendingEntry& e) {
  TenantPending& t = PendingOf(TenantOf(e.node));
  if (t.count > 0) --t.count;
}

void ShardState::CompactOrder(storage::TenantId tenant) {
  std::deque<PendingRef>& order = tenant_pending_[tenant].order;
  std::deque<PendingRef> kept;
  std::unordered_set<size_t> seen;  // one reference per live half (the oldest that matches)
  for (const PendingRef& ref : order) {
    const PendingEntry* e = table_.Find(ref.trace_key, ref.span_key);
    if (e == nullptr || e->arrival_tick != ref.tick || TenantOf(e->node) != tenant) continue;
    if (seen.insert(static_cast<size_t>(e - &table_.Slot(0))).second) kept.push_back(ref);
  }
  order.swap(kept);
}

void ShardState::EvictTenantOldest(storage::TenantId tenant) {
  // A batch at once, as EvictOldest, so the work is amortized over many inserts.
  const uint64_t target = std::max<uint64_t>(1, options_.tenant_max_pending / 256);
  uint64_t freed = 0;
  while (freed < target && !tenant_pending_[tenant].order.empty()) {
    const PendingRef ref = tenant_pending_[tenant].order.front();
    tenant_pending_[tenant].order.pop_front();
    PendingEntry* e = table_.Find(ref.trace_key, ref.span_key);
    if (e == nullptr || e->arrival_tick != ref.tick || TenantOf(e->node) != tenant) continue;
    CountRefusal(tenant, TenantRefusal::kPending);
    ExpireSlot(static_cast<size_t>(e - &table_.Slot(0)), ExpiryKind::kEvicted);
    ++freed;
  }
}

void ShardState::EraseSlot(size_t i) {
  PendingEntry& e = table_.Slot(i);
  if (options_.tenant_max_pending != 0) NoteGone(e);
  --tick_counts_[e.arrival_tick];
  if (e.persisted()) AppendPendingKey(e.trace_key, e.span_key, &pending_drops_);
  table_.EraseSlot(i);
}

void ShardState::ExpireSlot(size_t i, ExpiryKind kind) {
  PendingEntry e = table_.Slot(i);
  storage::Exemplar ex;
  const storage::Exemplar* held = held_.Expired(e, &ex) ? &ex : nullptr;
  if (e.server()) {
    AddEdge(e.peer, e.node, nullptr, &e, nullptr, held);
  } else {
    AddEdge(e.node, e.peer, &e, nullptr, nullptr, held);
  }
  ++expiries_[ExpiryKey{e.node, e.minute(), static_cast<uint8_t>(kind)}];
  ++counters_.expired[static_cast<size_t>(kind)];
  EraseSlot(i);
}

void ShardState::Expire(int64_t now_ms, size_t max_slots) {
  SetNow(now_ms);
  const uint16_t now_tick = TickOf(last_now_ms_);
  const size_t cap = table_.capacity();
  size_t budget = std::min(max_slots, cap);
  for (size_t visited = 0; visited < budget; ++visited) {
    if (sweep_cursor_ >= table_.capacity()) sweep_cursor_ = 0;
    size_t i = sweep_cursor_;
    // A slot is examined again after an erase: a later entry may have moved back into it.
    while (table_.Occupied(i)) {
      const PendingEntry& e = table_.Slot(i);
      uint16_t age = static_cast<uint16_t>(now_tick - e.arrival_tick);
      if (age <= wait_ticks_) break;
      ExpireSlot(i, e.server() ? ExpiryKind::kServerHalf : ExpiryKind::kClientHalf);
    }
    ++sweep_cursor_;
  }
}

void ShardState::EvictOldest(int64_t now_ms) {
  // Free a small batch at once so eviction work is amortized over many inserts.
  size_t target = std::max<size_t>(1, table_.max_entries() / 256);
  const uint16_t now_tick = TickOf(now_ms);
  size_t freed = 0;
  for (uint32_t age = kTickSpace - 1; freed < target; --age) {
    uint16_t tick = static_cast<uint16_t>(now_tick - age);
    size_t scanned = 0;
    while (tick_counts_[tick] > 0 && freed < target && scanned <= table_.capacity()) {
      if (evict_cursor_ >= table_.capacity()) evict_cursor_ = 0;
      size_t i = evict_cursor_;
      if (table_.Occupied(i) && table_.Slot(i).arrival_tick == tick) {
        CountRefusal(TenantOf(table_.Slot(i).node), TenantRefusal::kMaxPending);
        ExpireSlot(i, ExpiryKind::kEvicted);
        ++freed;
        continue;  // re-examine slot i
      }
      ++evict_cursor_;
      ++scanned;
    }
    if (age == 0) break;
  }
}

Status ShardState::LoadPending(std::string_view key, std::string_view value, int64_t now_ms) {
  SetNow(now_ms);
  PendingEntry e;
  int64_t arrival_ms = 0;
  EW_RETURN_IF_ERROR(DecodePending(key, value, &e, &arrival_ms));
  int64_t floor_ms = last_now_ms_ - options_.pair_wait_ms - 2 * tick_ms_;
  e.arrival_tick = TickOf(std::max(arrival_ms, floor_ms));
  e.set_persisted(true);
  // One probe: a key loaded again (a later flush persisted it anew) replaces its entry, so
  // repeated keys never hold more than one slot.
  PendingTable::Miss miss;
  if (PendingEntry* old = table_.Find(e.trace_key, e.span_key, &miss)) {
    --tick_counts_[old->arrival_tick];
    if (options_.tenant_max_pending != 0) NoteGone(*old);
    *old = e;
  } else if (table_.size() >= table_.max_entries()) {
    // More than reserved (a store whose drops name halves it does not hold): grow as usual.
    table_.SetMaxEntries(table_.max_entries() + table_.max_entries() / 4 + 1024);
    table_.Insert(e);
  } else {
    table_.InsertAfterMiss(e, miss);
  }
  ++tick_counts_[e.arrival_tick];
  if (options_.tenant_max_pending != 0) NoteHeld(e);
  return Status::Ok();
}

void ShardState::FinishLoad() {
  const size_t bound = options_.max_pending;
  while (table_.size() > bound) {
    const size_t before = table_.size();
    EvictOldest(last_now_ms_);
    if (table_.size() == before) break;  // nothing evictable (cannot happen: every half has a tick)
  }
  if (table_.max_entries() != bound) table_.SetMaxEntries(bound);
  if (options_.tenant_max_pending == 0) return;
  // Loaded halves count toward their tenant: put each tenant's in arrival order (oldest first;
  // chunks are in flush order, not arrival order), then expire what is over its bound.
  const uint16_t now_tick = TickOf(last_now_ms_);
  for (storage::TenantId t = 0; t < tenant_pending_.size(); ++t) {
    CompactOrder(t);
    std::deque<PendingRef>& order = tenant_pending_[t].order;
    std::stable_sort(order.begin(), order.end(),
                     [now_tick](const PendingRef& a, const PendingRef& b) {
                       return static_cast<uint16_t>(now_tick - a.tick) >
                              static_cast<uint16_t>(now_tick - b.tick);
                     });
    while (tenant_pending_[t].count > options_.tenant_max_pending &&
           !tenant_pending_[t].order.empty()) {
      EvictTenantOldest(t);
    }
  }
}

void ShardState::TakeFlush(ShardFlush* out, bool full) {
  out->rollups.reserve(out->rollups.size() + agg_.size());
  for (auto& [key, agg] : agg_) {
    storage::MinuteRollup r;
    r.minute = key.minute;
    r.dims = key.dims;
    agg.server_buckets.MoveInto(&agg.value.server_latency);
    agg.client_buckets.MoveInto(&agg.value.client_latency);
    r.value = std::move(agg.value);
    // Weighted counts are summed in 1/65536 units and rounded once per flush (docs/ingest.md).
    r.value.requests = (agg.requests_fp + kWeightOne / 2) >> 16;
    r.value.errors = (agg.errors_fp + kWeightOne / 2) >> 16;
    out->rollups.push_back(std::move(r));
  }
  agg_.clear();
  last_agg_ = nullptr;
  // Holders whose half left unseen; a waiting half expires within pair_wait + 1 s of arrival.
  held_.DropArrivedBefore(last_now_ms_ - 2 * options_.pair_wait_ms - 10'000);
  for (auto& [key, count] : expiries_) {
    out->expiries.push_back(
        storage::ExpiryCount{key.node, key.minute, static_cast<ExpiryKind>(key.kind), count});
  }
  expiries_.clear();
  out->pending_now = table_.size();
  // Drops of keys that are pending again (re-inserted since) are covered by their add; a full
  // flush replaces the whole persisted state and needs none.
  if (!full) {
    for (size_t off = 0; off + kPendingKeyBytes <= pending_drops_.size(); off += kPendingKeyBytes) {
      uint32_t trace_key = 0;
      uint64_t span = 0;
      DecodePendingKey(std::string_view(pending_drops_).substr(off, kPendingKeyBytes), &trace_key,
                       &span);
      if (table_.Find(trace_key, span) == nullptr) {
        out->pending_drops.append(pending_drops_, off, kPendingKeyBytes);
      }
    }
  }
  pending_drops_.clear();
  if (pending_drops_.capacity() > (size_t{4} << 20)) pending_drops_.shrink_to_fit();
  const int64_t tick_base = FloorDiv(last_now_ms_, tick_ms_);
  const uint16_t now_tick = TickOf(last_now_ms_);
  std::string* chunk = nullptr;
  size_t in_chunk = 0;
  for (size_t i = 0; i < table_.capacity(); ++i) {
    PendingEntry& e = table_.Slot(i);
    if (!table_.Occupied(i) || (e.persisted() && !full)) continue;
    if (chunk == nullptr || in_chunk == kPendingChunkAdds) {
      chunk = &out->pending_adds.emplace_back();
      chunk->reserve(1 + kPendingChunkAdds * kPendingRecordBytes);
      chunk->push_back(static_cast<char>(kPendingChunkVersion));
      in_chunk = 0;
    }
    int64_t age = static_cast<uint16_t>(now_tick - e.arrival_tick);
    int64_t arrival_ms = (tick_base - age) * tick_ms_;
    AppendPendingRecord(e, arrival_ms, chunk);
    ++in_chunk;
    e.set_persisted(true);
  }
  if (chunk != nullptr) chunk->shrink_to_fit();
}

size_t ShardState::DropTenant(storage::TenantId tenant) {
  size_t dropped = 0;
  // A pass re-examines a slot after an erase (a later entry may move back into it); an entry
  // that wraps from the table's start to its end can move behind the pass: pass again until
  // one drops nothing.
  for (size_t before = SIZE_MAX; before != dropped;) {
    before = dropped;
    for (size_t i = 0; i < table_.capacity(); ++i) {
      while (table_.Occupied(i) && TenantOf(table_.Slot(i).node) == tenant) {
        held_.Paired(table_.Slot(i));  // gives up its exemplar roles
        EraseSlot(i);
        ++dropped;
      }
    }
  }
  if (tenant < tenant_pending_.size()) tenant_pending_[tenant] = TenantPending{};
  std::erase_if(admitted_edges_,
                [&](uint64_t edge) { return TenantOf(static_cast<NodeId>(edge)) == tenant; });
  std::erase_if(path_cache_, [&](const auto& kv) { return TenantOf(kv.first.server) == tenant; });
  last_admitted_edge_ = 0;
  last_path_valid_ = false;
  return dropped;
}

void ShardState::DropPending(std::string_view key) {
  uint32_t trace_key = 0;
  uint64_t span = 0;
  if (!DecodePendingKey(key, &trace_key, &span)) return;
  PendingEntry* e = table_.Find(trace_key, span);
  if (e == nullptr) return;
  --tick_counts_[e->arrival_tick];
  if (options_.tenant_max_pending != 0) NoteGone(*e);
  table_.Erase(e);
}

}  // namespace ew::ingest

// HeldExemplars: the exemplars of edges completed by expiry. A waiting half keeps no trace id
// (its pending entry has 32 bits of it, docs/ingest.md "Pending table"), so when it expires into
// its unpaired edge (client -> its peer, or peer -> server) nothing could name its trace. This
// side table keeps, per unpaired edge and minute, the waiting halves that hold one of the four
// exemplar roles of storage::RollupValue::AddExemplar (newest/slowest error, newest/slowest
// success) among the halves held for that edge-minute, with their whole trace id, start and
// duration. A half that expires while it holds a role gives its exemplar; a half that pairs
// gives up its roles (the next half held for that edge-minute takes them). For an edge whose
// halves all expire (calls to an external service, requests from External Client whose parent
// span was never sent) the holders are exactly that edge-minute's role holders.
//
// Memory: at most max_sets edge-minutes (new ones are not recorded past it), ~280 B each, plus
// 16 KiB of one-byte counters (per hash of a pending key, the roles its holders hold: a filter
// that spares most pairing and expiring halves the set lookup, small enough to stay in L1).
// Edge-minutes left without holders, and holders whose half left the table unseen (a resent
// duplicate that changed its minute), are dropped by DropArrivedBefore (at every flush).
//
// Thread-safety: none; owned by one ShardState.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ingest/derivation/half_record.h"
#include "ingest/pipeline/pending_table.h"
#include "storage/edge_store.h"

namespace ew::ingest {

class HeldExemplars {
 public:
  explicit HeldExemplars(size_t max_sets);

  // Half r, entry e, starts waiting (or replaces its resent duplicate) at arrival_ms: it takes
  // every role of its unpaired edge-minute that it beats the holder of.
  void Hold(const PendingEntry& e, const HalfRecord& r, int64_t arrival_ms);
  // The waiting half e pairs: it gives up its roles.
  void Paired(const PendingEntry& e);
  // The waiting half e expires into its unpaired edge: true and *out = its exemplar when it
  // holds a role (it gives them up).
  bool Expired(const PendingEntry& e, storage::Exemplar* out);
  // Drops holders that arrived before cutoff_ms (their half cannot be waiting any more), and
  // the edge-minutes left without a holder.
  void DropArrivedBefore(int64_t cutoff_ms);

  size_t sets() const { return sets_.size(); }  // including those left empty since the last drop
  size_t max_sets() const { return max_sets_; }

 private:
  struct Holder {
    storage::Exemplar ex;
    uint64_t span_key = 0;
    uint32_t trace_key = 0;
    bool server = false;
    int64_t arrival_ms = 0;
  };
  struct Set {
    std::array<Holder, storage::kExemplarRoles> role;
    uint8_t used = 0;  // bit r: role r has a holder
  };
  struct SetKey {
    storage::NodeId client, server;
    uint32_t minute;
    bool operator==(const SetKey&) const = default;
  };
  struct SetKeyHash {
    size_t operator()(const SetKey& k) const;
  };
  static SetKey KeyOf(const PendingEntry& e);
  static bool Same(const Holder& h, const PendingEntry& e) {
    return h.span_key == e.span_key && h.trace_key == e.trace_key && h.server == e.server();
  }
  uint8_t& Counter(uint32_t trace_key, uint64_t span_key);
  // The set under key (created when create and under the bound), or nullptr.
  Set* Find(const SetKey& key, bool create);
  void Release(Set& set, size_t role);
  // Releases the roles of e in the set under KeyOf(e); true and *out as Expired when any.
  bool ReleaseAll(const PendingEntry& e, storage::Exemplar* out);

  size_t max_sets_;
  std::unordered_map<SetKey, Set, SetKeyHash> sets_;
  // A direct-mapped cache of recent lookups (by key hash) in front of sets_.
  struct Recent {
    SetKey key{};
    Set* set = nullptr;
  };
  static constexpr size_t kRecent = 256;
  std::array<Recent, kRecent> recent_{};
  // Per hash of a holder's pending key: how many roles such holders hold (saturating at 255).
  std::vector<uint8_t> counters_;
  size_t counter_mask_;
};

}  // namespace ew::ingest

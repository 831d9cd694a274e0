#include "ingest/pipeline/held_exemplars.h"

#include <algorithm>
#include <bit>

#include "base/hash.h"

namespace ew::ingest {

using storage::ExemplarRole;

HeldExemplars::HeldExemplars(size_t max_sets)
    : max_sets_(max_sets), counters_(16384, 0), counter_mask_(counters_.size() - 1) {}

size_t HeldExemplars::SetKeyHash::operator()(const SetKey& k) const {
  return MixHash((uint64_t{k.client} << 32 | k.server) ^ MixHash(k.minute));
}

HeldExemplars::SetKey HeldExemplars::KeyOf(const PendingEntry& e) {
  // The unpaired edge: client -> its peer, or peer -> server.
  return e.server() ? SetKey{e.peer, e.node, e.minute()} : SetKey{e.node, e.peer, e.minute()};
}

uint8_t& HeldExemplars::Counter(uint32_t trace_key, uint64_t span_key) {
  return counters_[MixHash(span_key ^ (uint64_t{trace_key} << 17)) & counter_mask_];
}

void HeldExemplars::Release(Set& set, size_t role) {
  const Holder& h = set.role[role];
  uint8_t& c = Counter(h.trace_key, h.span_key);
  if (c != 0 && c != 255) --c;  // a saturated counter stays (only costs lookups)
  set.used = static_cast<uint8_t>(set.used & ~(1u << role));
}

void HeldExemplars::Hold(const PendingEntry& e, const HalfRecord& r, int64_t arrival_ms) {
  Holder h;
  h.ex.trace_id = r.trace_id;
  h.ex.start_ms = r.start_ms;
  h.ex.duration_us = r.duration_us;
  h.ex.status = e.status();
  h.ex.error = e.error();
  h.span_key = e.span_key;
  h.trace_key = e.trace_key;
  h.server = e.server();
  h.arrival_ms = arrival_ms;
  Set* found = Find(KeyOf(e), /*create=*/true);
  if (found == nullptr) return;  // over the bound: this edge-minute keeps none
  Set& set = *found;
  // The two roles of h's class (errors or successes); the first key decides most comparisons
  // inline, ties go to the storage order.
  const ExemplarRole newest =
      h.ex.error ? ExemplarRole::kNewestError : ExemplarRole::kNewestSuccess;
  const ExemplarRole slowest =
      h.ex.error ? ExemplarRole::kSlowestError : ExemplarRole::kSlowestSuccess;
  for (const ExemplarRole r_role : {newest, slowest}) {
    const auto role = static_cast<size_t>(r_role);
    if ((set.used >> role) & 1) {
      const storage::Exemplar& cur = set.role[role].ex;
      const int64_t mine = r_role == newest ? h.ex.start_ms : int64_t{h.ex.duration_us};
      const int64_t theirs = r_role == newest ? cur.start_ms : int64_t{cur.duration_us};
      if (mine < theirs || (mine == theirs && !storage::ExemplarBeats(r_role, h.ex, cur))) {
        continue;
      }
      Release(set, role);
    }
    set.role[role] = h;
    set.used = static_cast<uint8_t>(set.used | (1u << role));
    uint8_t& c = Counter(h.trace_key, h.span_key);
    if (c != 255) ++c;
  }
}

HeldExemplars::Set* HeldExemplars::Find(const SetKey& key, bool create) {
  const size_t h = SetKeyHash()(key);
  Recent& recent = recent_[h % kRecent];
  if (recent.set != nullptr && recent.key == key) return recent.set;
  auto it = sets_.find(key);
  if (it == sets_.end()) {
    if (!create || sets_.size() >= max_sets_) return nullptr;
    it = sets_.emplace(key, Set{}).first;
  }
  // Element pointers survive rehashing; the cache is cleared whenever sets are erased.
  recent = {key, &it->second};
  return recent.set;
}

bool HeldExemplars::ReleaseAll(const PendingEntry& e, storage::Exemplar* out) {
  Set* s = Find(KeyOf(e), /*create=*/false);
  if (s == nullptr) return false;
  Set& set = *s;
  bool found = false;
  for (size_t role = 0; role < storage::kExemplarRoles; ++role) {
    if (((set.used >> role) & 1) == 0 || !Same(set.role[role], e)) continue;
    if (!found && out != nullptr) *out = set.role[role].ex;
    found = true;
    Release(set, role);
  }
  return found;  // a set left empty stays until DropArrivedBefore (it is often refilled soon)
}

void HeldExemplars::Paired(const PendingEntry& e) {
  if (Counter(e.trace_key, e.span_key) == 0) return;  // holds no role: the common case
  ReleaseAll(e, nullptr);
}

bool HeldExemplars::Expired(const PendingEntry& e, storage::Exemplar* out) {
  if (Counter(e.trace_key, e.span_key) == 0) return false;
  return ReleaseAll(e, out);
}

void HeldExemplars::DropArrivedBefore(int64_t cutoff_ms) {
  recent_.fill(Recent{});
  for (auto it = sets_.begin(); it != sets_.end();) {
    Set& set = it->second;
    for (size_t role = 0; role < storage::kExemplarRoles; ++role) {
      if (((set.used >> role) & 1) != 0 && set.role[role].arrival_ms < cutoff_ms) {
        Release(set, role);
      }
    }
    it = set.used == 0 ? sets_.erase(it) : std::next(it);
  }
}

}  // namespace ew::ingest

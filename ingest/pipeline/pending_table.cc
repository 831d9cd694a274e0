#include "ingest/pipeline/pending_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <random>
#include <type_traits>

#include "base/hash.h"
#include "base/time.h"

namespace ew::ingest {
namespace {

constexpr size_t kInitialCapacity = 1024;
constexpr size_t kSmallPageBytes = 4096;
#ifdef MADV_POPULATE_WRITE
constexpr int kMadvPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kMadvPopulateWrite = 23;  // Linux 5.14
#endif
// Below this many slots (37 MiB) the table doubles; above, it grows by 1/10 at a time, so a
// large table stays between 0.795 and 0.875 full: at most 37 / 0.795 = 46.5 B per half at any
// count, not just at the final capacity (doubling alone leaves it as low as 0.44 full, 85 B per
// half). Each step re-inserts every entry, so an entry is moved ~10 times while the table grows
// from 2^20 slots to its size (with 41-byte slots the steps had to be 1/64: ~64 moves, 5 % of
// the server's CPU in a 10-s protobuf run). A growth step re-inserts the entries in slot order,
// which with the multiplicative home (Home) is nearly home order in the new array too: a sequential
// pass, not random writes.
constexpr size_t kDoublingLimit = size_t{1} << 20;
constexpr size_t kFineGrowthDivisor = 10;
constexpr uint8_t kPendingValueVersion = 1;
constexpr size_t kPendingValueSize = 1 + 4 * 4 + 2 * 3 + 8;  // version, 4 u32, 3 u16, arrival
static_assert(kPendingValueSize == kPendingValueBytes);

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetBe(const char*& p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(*p++);
  return v;
}

}  // namespace

uint16_t PendingEntry::PackBits(uint16_t status, bool error, bool server,
                                storage::Protocol protocol) {
  return static_cast<uint16_t>((status & 0x3FF) | (error ? 1u << 10 : 0u) |
                               (server ? 1u << 11 : 0u) |
                               ((static_cast<unsigned>(protocol) & 7u) << 12));
}

namespace {
// A random seed per table: a random base per process, mixed with a counter.
uint64_t NextTableSeed() {
  static const uint64_t base = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32 | rd()) ^ static_cast<uint64_t>(WallNowNs());
  }();
  static std::atomic<uint64_t> counter{0};
  return MixHash(base + counter.fetch_add(1, std::memory_order_relaxed));
}
}  // namespace

PendingTable::PendingTable(size_t max_entries)
    : seed_(NextTableSeed()),
      max_entries_(std::max<size_t>(max_entries, 1)),
      final_capacity_(static_cast<size_t>(std::ceil(max_entries_ / kPendingMaxLoad)) + 1) {
  capacity_ = std::min(kInitialCapacity, final_capacity_);
  slots_ = MapSlots(capacity_);
  tags_ = TagsOf(slots_, capacity_);
}

void PendingTable::SetMaxEntries(size_t max_entries) {
  max_entries_ = std::max<size_t>(max_entries, 1);
  // Never below the current capacity: lowering the bound does not shrink the array.
  final_capacity_ =
      std::max(capacity_, static_cast<size_t>(std::ceil(max_entries_ / kPendingMaxLoad)) + 1);
}

PendingTable::Slots PendingTable::MapSlots(size_t count) {
  const size_t bytes = count * (sizeof(PendingEntry) + 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // No MADV_HUGEPAGE: probes are prefetched (ShardState), which hides their TLB misses as well,
  // and measured end to end huge pages gained nothing (1,308k vs 1,297k spans per server CPU-s,
  // medians of 6 interleaved runs) while their first touch here ran at ~0.4 GB/s (compaction of
  // cold memory) against ~3 GB/s for small pages.
  // Fault every page in writable now, in one call. Left to the probes, a page's first touch is
  // a read (an empty-slot check) that maps the shared zero page, and the write that follows is
  // a copy-on-write fault whose TLB flush interrupts every other CPU running this process:
  // ~12 % of the server's CPU while the table grew (perf, protobuf ingest). Growth re-inserts
  // the entries over the whole new array, so no page stays untouched for long anyway.
  if (madvise(p, bytes, kMadvPopulateWrite) != 0) {
    // Kernels before 5.14: a write per page faults it in the same way, without the zero page.
    auto* bytes_p = static_cast<volatile char*>(p);
    for (size_t off = 0; off < bytes; off += kSmallPageBytes) bytes_p[off] = 0;
  }
  // PendingEntry is an aggregate of integers (implicit-lifetime): zeroed pages are empty slots.
  static_assert(std::is_aggregate_v<PendingEntry>);
  return Slots(static_cast<PendingEntry*>(p), SlotsUnmapper{bytes});
}

void PendingTable::SlotsUnmapper::operator()(PendingEntry* p) const {
  if (p != nullptr) munmap(p, bytes);
}

PendingEntry* PendingTable::Find(uint32_t trace_key, uint64_t span_key) {
  Miss unused;
  return Find(trace_key, span_key, &unused);
}

PendingEntry* PendingTable::Find(uint32_t trace_key, uint64_t span_key, Miss* miss) {
  const uint64_t h = Hash(trace_key, span_key);
  const uint8_t tag = TagOf(h);
  size_t i = HomeOf(h);
  for (uint8_t t; (t = tags_[i]) != 0;) {
    if (t == tag && slots_[i].span_key == span_key && slots_[i].trace_key == trace_key) {
      return &slots_[i];
    }
    if (++i == capacity_) i = 0;
  }
  miss->slot = i;
  miss->tag = tag;
  return nullptr;
}

PendingEntry* PendingTable::InsertAfterMiss(const PendingEntry& e, const Miss& miss) {
  if (static_cast<double>(size_ + 1) > kPendingMaxLoad * static_cast<double>(capacity_) &&
      capacity_ < final_capacity_) {
    return Insert(e);  // grows first: the slot moves
  }
  slots_[miss.slot] = e;
  tags_[miss.slot] = miss.tag;
  ++size_;
  return &slots_[miss.slot];
}

void PendingTable::Grow() {
  size_t next =
      capacity_ < kDoublingLimit ? capacity_ * 2 : capacity_ + capacity_ / kFineGrowthDivisor;
  next = std::min(next, final_capacity_);
  if (next <= capacity_) return;
  Rehash(next);
}

void PendingTable::Reserve(size_t count) {
  if (count > max_entries_) SetMaxEntries(count);
  const auto needed = static_cast<size_t>(std::ceil(count / kPendingMaxLoad)) + 1;
  if (needed > capacity_) Rehash(needed);
}

void PendingTable::Rehash(size_t capacity) {
  ++grows_;
  auto old = std::move(slots_);
  const uint8_t* old_tags = tags_;
  size_t old_capacity = capacity_;
  capacity_ = capacity;
  final_capacity_ = std::max(final_capacity_, capacity_);
  slots_ = MapSlots(capacity_);
  tags_ = TagsOf(slots_, capacity_);
  // Keys are unique and the new array has room for all: no duplicate check, no growth check,
  // and the tag (the same hash's) is copied.
  for (size_t i = 0; i < old_capacity; ++i) {
    const uint8_t tag = old_tags[i];
    if (tag == 0) continue;
    const PendingEntry& e = old[i];
    size_t j = HomeOf(Hash(e.trace_key, e.span_key));
    while (tags_[j] != 0) {
      if (++j == capacity_) j = 0;
    }
    slots_[j] = e;
    tags_[j] = tag;
  }
}

size_t PendingTable::ProbeLength(uint32_t trace_key, uint64_t span_key) const {
  const uint64_t h = Hash(trace_key, span_key);
  const uint8_t tag = TagOf(h);
  size_t i = HomeOf(h);
  size_t visited = 1;
  for (uint8_t t; (t = tags_[i]) != 0; ++visited) {
    if (t == tag && slots_[i].span_key == span_key && slots_[i].trace_key == trace_key) break;
    if (++i == capacity_) i = 0;
  }
  return visited;
}

PendingEntry* PendingTable::Insert(const PendingEntry& e) {
  if (static_cast<double>(size_ + 1) > kPendingMaxLoad * static_cast<double>(capacity_) &&
      capacity_ < final_capacity_) {
    Grow();
  }
  const uint64_t h = Hash(e.trace_key, e.span_key);
  const uint8_t tag = TagOf(h);
  size_t i = HomeOf(h);
  for (uint8_t t; (t = tags_[i]) != 0;) {
    if (t == tag && slots_[i].span_key == e.span_key && slots_[i].trace_key == e.trace_key) {
      slots_[i] = e;
      return &slots_[i];
    }
    if (++i == capacity_) i = 0;
  }
  slots_[i] = e;
  tags_[i] = tag;
  ++size_;
  return &slots_[i];
}

void PendingTable::EraseSlot(size_t i) {
  // Backward-shift deletion: move later entries of the probe run back into the hole unless
  // their home lies cyclically in (hole, j].
  size_t j = i;
  while (true) {
    if (++j == capacity_) j = 0;
    if (tags_[j] == 0) break;
    size_t k = Home(slots_[j].trace_key, slots_[j].span_key);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    tags_[i] = tags_[j];
    i = j;
  }
  slots_[i] = PendingEntry{};
  tags_[i] = 0;
  --size_;
}

void AppendPendingKey(uint32_t trace_key, uint64_t span_key, std::string* out) {
  PutBe(out, trace_key, 4);
  PutBe(out, span_key, 8);
}

std::string EncodePendingKey(uint32_t trace_key, uint64_t span_key) {
  std::string key;
  key.reserve(kPendingKeyBytes);
  AppendPendingKey(trace_key, span_key, &key);
  return key;
}

namespace {
void AppendPendingValue(const PendingEntry& e, int64_t arrival_ms, std::string* v) {
  v->push_back(static_cast<char>(kPendingValueVersion));
  PutBe(v, e.node, 4);
  PutBe(v, e.peer, 4);
  PutBe(v, e.path, 4);
  PutBe(v, e.minute_method, 4);
  PutBe(v, e.duration_bucket, 2);
  PutBe(v, e.bits & 0x7FFF, 2);
  PutBe(v, e.weight, 2);
  PutBe(v, static_cast<uint64_t>(arrival_ms), 8);
}
}  // namespace

std::string EncodePendingValue(const PendingEntry& e, int64_t arrival_ms) {
  std::string v;
  v.reserve(kPendingValueSize);
  AppendPendingValue(e, arrival_ms, &v);
  return v;
}

void AppendPendingRecord(const PendingEntry& e, int64_t arrival_ms, std::string* out) {
  // Same bytes as AppendPendingKey + AppendPendingValue, written into a local buffer first (a
  // flush encodes millions of these).
  char buf[kPendingRecordBytes];
  char* p = buf;
  auto put = [&p](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) *p++ = static_cast<char>(v >> (8 * i));
  };
  put(e.trace_key, 4);
  put(e.span_key, 8);
  put(kPendingValueVersion, 1);
  put(e.node, 4);
  put(e.peer, 4);
  put(e.path, 4);
  put(e.minute_method, 4);
  put(e.duration_bucket, 2);
  put(e.bits & 0x7FFF, 2);
  put(e.weight, 2);
  put(static_cast<uint64_t>(arrival_ms), 8);
  out->append(buf, kPendingRecordBytes);
}

bool DecodePendingKey(std::string_view key, uint32_t* trace_key, uint64_t* span_key) {
  const char* k = key.data();
  if (key.size() == kPendingKeyBytes) {
    *trace_key = static_cast<uint32_t>(GetBe(k, 4));
  } else if (key.size() == kPendingKeyBytesV2) {
    *trace_key = TraceKeyOf(GetBe(k, 8));
  } else {
    return false;
  }
  *span_key = GetBe(k, 8);
  return true;
}

bool PendingChunkSizes(uint8_t version, size_t* record_bytes, size_t* key_bytes) {
  if (version == kPendingChunkVersion) {
    *record_bytes = kPendingRecordBytes;
    *key_bytes = kPendingKeyBytes;
    return true;
  }
  if (version == kPendingChunkVersionV2) {
    *record_bytes = kPendingRecordBytesV2;
    *key_bytes = kPendingKeyBytesV2;
    return true;
  }
  return false;
}

std::string PendingChunkKey(uint64_t seq, PendingChunkKind kind, uint32_t chunk) {
  std::string key;
  key.reserve(kPendingChunkKeyBytes);
  PutBe(&key, seq, 8);
  key.push_back(static_cast<char>(kind));
  PutBe(&key, chunk, 4);
  return key;
}

bool ParsePendingChunkKey(std::string_view key, uint64_t* seq, PendingChunkKind* kind) {
  if (key.size() != kPendingChunkKeyBytes) return false;
  const char* p = key.data();
  *seq = GetBe(p, 8);
  const char k = *p;
  if (k != static_cast<char>(PendingChunkKind::kAdds) &&
      k != static_cast<char>(PendingChunkKind::kDrops)) {
    return false;
  }
  *kind = static_cast<PendingChunkKind>(k);
  return true;
}

Status DecodePending(std::string_view key, std::string_view value, PendingEntry* e,
                     int64_t* arrival_ms) {
  uint32_t trace_key = 0;
  uint64_t span_key = 0;
  if (!DecodePendingKey(key, &trace_key, &span_key)) {
    return Status::Corruption("pending key: size " + std::to_string(key.size()));
  }
  if (value.size() != kPendingValueSize || static_cast<uint8_t>(value[0]) != kPendingValueVersion) {
    return Status::Corruption("pending value: bad size or version");
  }
  e->trace_key = trace_key;
  e->span_key = span_key;
  if (e->span_key == 0) return Status::Corruption("pending key: zero span id");
  const char* p = value.data() + 1;
  e->node = static_cast<uint32_t>(GetBe(p, 4));
  e->peer = static_cast<uint32_t>(GetBe(p, 4));
  e->path = static_cast<uint32_t>(GetBe(p, 4));
  e->minute_method = static_cast<uint32_t>(GetBe(p, 4));
  e->duration_bucket = static_cast<uint16_t>(GetBe(p, 2));
  e->bits = static_cast<uint16_t>(GetBe(p, 2) & 0x7FFF);
  e->weight = static_cast<uint16_t>(GetBe(p, 2));
  *arrival_ms = static_cast<int64_t>(GetBe(p, 8));
  e->arrival_tick = 0;
  return Status::Ok();
}

}  // namespace ew::ingest

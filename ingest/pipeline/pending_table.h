// PendingTable: the halves that wait for their partner, in one shard. Open addressing with linear
// probing and backward-shift deletion (no tombstones); an entry is 36 bytes of ids and numbers
// (no strings, no pointers), and every slot has a one-byte tag beside it in a dense array (0:
// empty, else 8 bits of the key's hash), so a probe walks tags — 64 to a cache line — and reads
// an entry only where its tag matches. At the 0.875 load the table runs at, a probe for an
// absent key passes ~30 slots: 30 tags instead of 30 entries (~17 cache lines).
// The table doubles up to 2^20 slots, then grows by 1/10 at a time, up to a final capacity of
// exactly max_entries / kMaxLoad: a full table costs 37 / 0.875 = 42.3 bytes per pending half,
// and a large one never more than 37 * 1.1 / 0.875 = 46.5 bytes.
//
// Key: (32-bit trace key, span id of the client half); the trace key is 32 mixed bits of the
// trace id's low half (TraceKeyOf). A client half is stored under its own span id, a server half
// under its parent span id — the same key — so whichever arrives second finds the first. The span
// id is random in W3C trace context, so two different halves collide only when 96 bits agree (for
// 10^7 pending halves, p ~ 10^14 / 2^97 ≈ 10^-15; halves whose span ids are not random still need
// their traces' keys to agree, p = 2^-32 a pair).
//
// Thread-safety: none; owned by one shard worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/hash.h"
#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::ingest {

// The 32-bit trace part of a pending key: the high half of the mixed low 64 bits of the trace id.
// Shards are picked from it too (ShardOfTraceKey), so a persisted key alone names its shard.
inline uint32_t TraceKeyOf(uint64_t trace_lo) {
  return static_cast<uint32_t>(MixHash(trace_lo) >> 32);
}
// The shard (of n) that owns the halves of traces with this key.
inline size_t ShardOfTraceKey(uint32_t trace_key, size_t n) { return trace_key % n; }

// Packed to 4-byte alignment: 36 bytes, so a slot with its tag is 37 (x86 loads the 8-byte span
// id from any address at no cost).
struct __attribute__((packed, aligned(4))) PendingEntry {
  uint64_t span_key = 0;   // span id of the client half (never 0 in a table)
  uint32_t trace_key = 0;  // TraceKeyOf(low 64 bits of the trace id)
  storage::NodeId node = 0;
  storage::NodeId peer = 0;
  storage::StringId path = 0;
  uint32_t minute_method = 0;    // start minute (28 bits) << 4 | MethodCode (4 bits)
  uint16_t duration_bucket = 0;  // LatencySketch bucket index of this half's duration
  uint16_t bits = 0;             // status:10 | error:1 | server:1 | protocol:3 | persisted:1
  uint16_t weight = 0;           // WeightCode
  uint16_t arrival_tick = 0;     // arrival wall time in ticks (see ShardState), mod 2^16

  uint32_t minute() const { return minute_method >> 4; }
  uint8_t method() const { return minute_method & 0xF; }
  uint16_t status() const { return bits & 0x3FF; }
  bool error() const { return (bits >> 10) & 1; }
  bool server() const { return (bits >> 11) & 1; }
  storage::Protocol protocol() const { return static_cast<storage::Protocol>((bits >> 12) & 7); }
  bool persisted() const { return (bits >> 15) & 1; }
  void set_persisted(bool p) { bits = static_cast<uint16_t>((bits & 0x7FFF) | (p ? 0x8000 : 0)); }
  static uint16_t PackBits(uint16_t status, bool error, bool server, storage::Protocol protocol);
};
static_assert(sizeof(PendingEntry) == 36, "a pending half must stay 36 bytes");

// The table's load factor ceiling, and the resulting cost per pending half.
inline constexpr double kPendingMaxLoad = 0.875;
inline constexpr double kPendingBytesPerSlot = sizeof(PendingEntry) + 1;  // entry + tag
inline constexpr double kPendingBytesPerHalfAtMaxLoad = kPendingBytesPerSlot / kPendingMaxLoad;
static_assert(kPendingBytesPerHalfAtMaxLoad <= 48.0, "DESIGN.md: <= 48 B per pending half");

// A prefetch the compiler keeps: GCC 12 at -O1 and above dropped __builtin_prefetch here
// (the whole of Prefetch compiled to a return, so no probe was ever prefetched).
inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

class PendingTable {
 public:
  // max_entries: the most entries the table will hold (the caller evicts before inserting more).
  explicit PendingTable(size_t max_entries);

  // Where a probe for an absent key ended: the empty slot the key would go to, and its tag.
  struct Miss {
    size_t slot = 0;
    uint8_t tag = 0;
  };
  // The entry under key, or nullptr. The pointer is valid until the next Insert or Erase.
  PendingEntry* Find(uint32_t trace_key, uint64_t span_key);
  // The same; on a miss *miss says where the probe ended (for InsertAfterMiss).
  PendingEntry* Find(uint32_t trace_key, uint64_t span_key, Miss* miss);
  // A cache hint only: starts loading the slot where a probe for the key begins.
  void Prefetch(uint32_t trace_key, uint64_t span_key) const {
    const size_t i = HomeOf(Hash(trace_key, span_key));
    PrefetchLine(tags_ + i);
    // The entry is read when a tag matches (a hit, usually at or near home); a 36-byte slot may
    // straddle two cache lines.
    const char* slot = reinterpret_cast<const char*>(slots_.get() + i);
    PrefetchLine(slot);
    PrefetchLine(slot + sizeof(PendingEntry) - 1);
  }
  // Inserts e (or overwrites the entry with the same key). REQUIRES: e.span_key != 0, and
  // size() < max_entries() unless the key is present.
  PendingEntry* Insert(const PendingEntry& e);
  // Insert(e) for the key whose Find(..., &miss) just missed, without probing again. REQUIRES: no
  // Insert or Erase since that Find.
  PendingEntry* InsertAfterMiss(const PendingEntry& e, const Miss& miss);
  // Removes the entry in slot i. Entries behind it may move back into slot i (re-examine it).
  void EraseSlot(size_t i);
  void Erase(PendingEntry* e) { EraseSlot(static_cast<size_t>(e - slots_.get())); }

  size_t size() const { return size_; }
  size_t max_entries() const { return max_entries_; }
  // Lets the table hold up to max_entries (it grows past the constructor's bound as needed);
  // a caller that raises it lowers it again with SetMaxEntries once it evicted what is over.
  void SetMaxEntries(size_t max_entries);
  size_t capacity() const { return capacity_; }
  bool Occupied(size_t i) const { return tags_[i] != 0; }
  PendingEntry& Slot(size_t i) { return slots_[i]; }
  const PendingEntry& Slot(size_t i) const { return slots_[i]; }
  // Bytes held by the slot and tag arrays.
  size_t MemoryBytes() const { return capacity_ * (sizeof(PendingEntry) + 1); }
  // Makes room for `count` entries at once (one new array of ceil(count / kPendingMaxLoad) + 1
  // slots, raising max_entries to count if it is lower), so that `count` Inserts need no Grow:
  // loading a known number of entries moves each once. Never shrinks.
  void Reserve(size_t count);
  // Test and diagnostic hooks: how many times the slot array was replaced (Grow or Reserve), and
  // how many slots a Find for the key visits (1 for an entry in its home slot; for an absent key,
  // the slots up to the empty one that ends the probe, counted).
  uint64_t grows() const { return grows_; }
  size_t ProbeLength(uint32_t trace_key, uint64_t span_key) const;

 private:
  // Seeded per table (a random seed, see the constructor): which keys share a home cannot be
  // worked out from outside, so no chosen set of span and trace ids lines up into one long probe
  // run (hostile input). Keys that are equal are one entry anyway (Insert replaces).
  uint64_t Hash(uint32_t trace_key, uint64_t span_key) const {
    return MixHash(trace_key ^ MixHash(span_key ^ seed_));
  }
  // Multiplicative: the high bits of the hash pick the slot (order-preserving, see Grow).
  size_t HomeOf(uint64_t hash) const {
    __extension__ typedef unsigned __int128 U128;
    return static_cast<size_t>((static_cast<U128>(hash) * capacity_) >> 64);
  }
  // The tag of a hash: its low 8 bits (the home comes from the high ones), never 0.
  static uint8_t TagOf(uint64_t hash) {
    const auto t = static_cast<uint8_t>(hash);
    return t == 0 ? 1 : t;
  }
  size_t Home(uint32_t trace_key, uint64_t span_key) const {
    return HomeOf(Hash(trace_key, span_key));
  }
  void Grow();
  // Moves every entry into a new array of `capacity` slots (> the current one).
  void Rehash(size_t capacity);

  // The slot and tag arrays are one mapping straight from the kernel (zero pages are empty
  // slots), unmapped when the table grows or goes: their memory never stays behind in a malloc
  // arena, whatever the process's malloc thresholds are. Slots first, the tags after them.
  struct SlotsUnmapper {
    size_t bytes;
    void operator()(PendingEntry* p) const;
  };
  using Slots = std::unique_ptr<PendingEntry[], SlotsUnmapper>;
  static Slots MapSlots(size_t count);
  static uint8_t* TagsOf(const Slots& slots, size_t count) {
    return reinterpret_cast<uint8_t*>(slots.get() + count);
  }

  uint64_t seed_;
  size_t max_entries_;
  size_t final_capacity_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  uint64_t grows_ = 0;
  Slots slots_;
  uint8_t* tags_ = nullptr;  // capacity_ tags, inside slots_'s mapping
};

// Persisted form of a pending entry (EdgeStore pending-pair state; opaque to storage): a 12-byte
// big-endian key (trace_key, span_key) and a versioned 31-byte value that carries the absolute
// arrival time in wall milliseconds (ticks are process-relative). Layout: docs/format/storage.md,
// "Pending state". Stores written before version 3 keyed a half by the whole low half of its
// trace id (16-byte keys); those keys are still read, and folded with TraceKeyOf.
inline constexpr size_t kPendingKeyBytes = 12;
inline constexpr size_t kPendingKeyBytesV2 = 16;  // u64 trace_lo | u64 span_key
inline constexpr size_t kPendingValueBytes = 31;
inline constexpr size_t kPendingRecordBytes = kPendingKeyBytes + kPendingValueBytes;
inline constexpr size_t kPendingRecordBytesV2 = kPendingKeyBytesV2 + kPendingValueBytes;
std::string EncodePendingKey(uint32_t trace_key, uint64_t span_key);
std::string EncodePendingValue(const PendingEntry& e, int64_t arrival_ms);
// Appends key and value (one 43-byte record) to *out.
void AppendPendingRecord(const PendingEntry& e, int64_t arrival_ms, std::string* out);
void AppendPendingKey(uint32_t trace_key, uint64_t span_key, std::string* out);
// Fills *e (without arrival_tick and persisted) and *arrival_ms from a key of either form (12 or
// 16 bytes). Corruption when malformed.
Status DecodePending(std::string_view key, std::string_view value, PendingEntry* e,
                     int64_t* arrival_ms);
// The (trace_key, span_key) of a key of either form. False unless key has 12 or 16 bytes.
bool DecodePendingKey(std::string_view key, uint32_t* trace_key, uint64_t* span_key);

// The pending column family is a log of chunks (docs/format/storage.md, "Pending state"): each
// flush that changes the pending state writes chunks under its own sequence number; a chunk of
// kind kAdds holds 43-byte records (halves pending at that flush), one of kind kDrops 12-byte
// keys (persisted halves gone since). Loading applies them in key order (= flush order).
// Chunk key: u64 seq | u8 kind | u32 chunk number, big-endian (13 bytes; keys of the older
// one-record-per-key form are 16 bytes). Chunk value: u8 version | records; version 2 chunks
// (before 36-byte entries) hold 47-byte records and 16-byte keys, and are still read.
inline constexpr size_t kPendingChunkKeyBytes = 13;
inline constexpr uint8_t kPendingChunkVersion = 3;
inline constexpr uint8_t kPendingChunkVersionV2 = 2;
// Records per chunk, at most: ~1.4 MiB chunks (few keys and allocations per flush; with a
// malloc mmap threshold below that they go straight back to the kernel when freed).
inline constexpr size_t kPendingChunkAdds = 32768;    // 43-byte records: 1.34 MiB
inline constexpr size_t kPendingChunkDrops = 131072;  // 12-byte keys: 1.5 MiB
// The record and key sizes of a chunk version; false for an unknown version.
bool PendingChunkSizes(uint8_t version, size_t* record_bytes, size_t* key_bytes);
enum class PendingChunkKind : char { kAdds = 'A', kDrops = 'D' };
std::string PendingChunkKey(uint64_t seq, PendingChunkKind kind, uint32_t chunk);
// False if key is not a well-formed chunk key.
bool ParsePendingChunkKey(std::string_view key, uint64_t* seq, PendingChunkKind* kind);

}  // namespace ew::ingest

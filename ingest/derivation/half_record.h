// HalfRecord: one span reduced to what pairing and aggregation need — ids and numbers only, no
// strings (those were interned to dense ids while deriving). This is the unit that I/O threads
// produce, the ingest log stores (a batch of them per acknowledged request) and shard workers
// consume. Format of a batch in the log: docs/ingest.md ("Log record").
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::ingest {

// How a half takes part in an edge.
enum class HalfRole : uint8_t {
  kClientPending = 0,  // CLIENT/PRODUCER: waits under (trace, span_id) for its server half
  kServerPending = 1,  // SERVER/CONSUMER with a parent: looks up (trace, parent_span_id)
  kClientAlone = 2,    // complete at once, this half is the source: database calls
  kServerAlone = 3,    // complete at once, this half is the target: roots from External Client,
                       // consumers without a parent (from their messaging node)
};

inline bool IsClientRole(HalfRole r) {
  return r == HalfRole::kClientPending || r == HalfRole::kClientAlone;
}

// HTTP methods are normalized to this small set (others are "_OTHER", as OTel does) so that a
// method fits in 4 bits of a pending entry and cannot grow the dictionary.
enum class MethodCode : uint8_t {
  kNone = 0,
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
  kOther,
  kCount
};
std::string_view MethodCodeName(MethodCode m);  // "" for kNone, "GET", ..., "_OTHER"
MethodCode ParseMethod(std::string_view method);

// Sampling weight as the top 16 bits of the 56-bit OTel rejection threshold (tracestate
// ot=th:...). 0 means weight 1. Weight = 2^16 / (2^16 - code).
using WeightCode = uint16_t;
double WeightOf(WeightCode code);
// Weight in 1/65536 units (fixed point), as the aggregation tables add it.
uint64_t WeightFixedOf(WeightCode code);
inline constexpr uint64_t kWeightOne = 1ULL << 16;

// Bytes 8..15 of a trace id, big-endian: its low 64 bits.
inline uint64_t TraceLowOf(const std::array<uint8_t, 16>& trace_id) {
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | trace_id[i];
  return v;
}

// The pairing key of a half of `tenant` (docs/ingest.md "Tenants"): the span key XOR a salt of
// the tenant, so that two tenants sending the same trace and span ids never meet under one key
// (MixHash is a bijection: distinct tenants have distinct salts, so equal span keys of two
// tenants always differ once salted). Tenant 0 ("default") keeps the key as it is, so halves and
// log records written before tenants read unchanged. A salted key is never 0 (the empty-slot
// key): the one span key that would give 0 is mapped to the salt itself; a collision that this
// or a chosen span id could still make between two tenants is caught at pairing time, where a
// waiting half is only ever paired with or replaced by a half of its own tenant (shard_state.h).
inline uint64_t TenantSpanKey(uint64_t span_key, storage::TenantId tenant) {
  if (tenant == storage::kDefaultTenant) return span_key;
  const uint64_t salt = MixHash(0x74656e616e740000ULL ^ tenant);
  const uint64_t salted = span_key ^ salt;
  return salted != 0 ? salted : salt;
}

struct HalfRecord {
  std::array<uint8_t, 16> trace_id{};
  uint64_t span_key = 0;        // kClientPending: span_id; kServerPending: parent_span_id
  int64_t start_ms = 0;         // the span's own start (event time)
  storage::NodeId node = 0;     // this half's own service node
  storage::NodeId peer = 0;     // the node on the other side when no partner comes (or at once)
  storage::StringId path = 0;   // normalized path id (0: none)
  uint32_t duration_us = 0;     // end - start of this half, saturated
  uint32_t request_bytes = 0;   // saturated
  uint32_t response_bytes = 0;  // saturated
  uint16_t status = 0;          // HTTP status (100..599) or gRPC code; 0 none
  WeightCode weight = 0;
  HalfRole role = HalfRole::kClientPending;
  storage::Protocol protocol = storage::Protocol::kOther;
  MethodCode method = MethodCode::kNone;
  bool error = false;

  // The pending key part (TraceLowOf); inline: every record's shard and pending key use it.
  uint64_t TraceLow() const { return TraceLowOf(trace_id); }
  uint64_t TraceHigh() const;  // bytes 0..7
};

// A batch as written to the log: header (version, arrival wall ms, count) + fixed-size records.
struct HalfBatch {
  int64_t arrival_ms = 0;  // wall clock when the request was received (drives pair-wait expiry)
  std::vector<HalfRecord> records;
};

inline constexpr size_t kEncodedHalfRecordSize = 64;

void EncodeHalfBatch(const HalfBatch& batch, std::string* out);
// The encoding of one batch whose records are given in groups (in order: the batch's records are
// the groups' concatenation), in pieces: *head (appended to) then each of *bodies (replaced). On
// little-endian machines *head is the header and *bodies the groups' own memory (valid while the
// groups are unchanged), otherwise *head is the whole encoding and *bodies empty.
void EncodeHalfBatchGroups(int64_t arrival_ms, std::span<const std::vector<HalfRecord>> groups,
                           std::string* head, std::vector<std::string_view>* bodies);
// Fails with Corruption on a record that is not a whole, known-version batch.
Status DecodeHalfBatch(std::string_view data, HalfBatch* out);

}  // namespace ew::ingest

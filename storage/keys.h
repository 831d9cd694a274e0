// Keys of the storage column families: fixed-width, big-endian, so that byte order is numeric
// order and one namespace, one node, or one node's time range is a contiguous key range.
// Layouts (byte offsets) are in docs/format/storage.md. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/edge_store.h"

namespace ew::storage::keys {

// Tier keys: tenant(0..4) ns(4..8) node(8..12) time(12..16) peer(16..20) protocol(20)
//            [path(21..25) method(25..29) status(29..31)] for Family::kDetail.
constexpr size_t kEdgeKeySize = 21;
constexpr size_t kDetailKeySize = 31;
constexpr size_t kTenantPrefixSize = 4;
constexpr size_t kNodePrefixSize = 12;  // tenant + ns + node
constexpr size_t kTimeOffset = 12;
// Schema 1 (before tenants): the same keys without the tenant prefix (read by the upgrade).
constexpr size_t kV1EdgeKeySize = 17;
constexpr size_t kV1DetailKeySize = 27;
constexpr size_t kV1ExemplarKeySize = 12;
constexpr size_t kV1ExpiryKeySize = 9;

constexpr size_t TierKeySize(Family f) {
  return f == Family::kDetail ? kDetailKeySize : kEdgeKeySize;
}

struct TierKey {
  TenantId tenant = 0;
  StringId ns = 0;    // namespace of the leading node
  NodeId node = 0;    // the leading node (server for kEdge/kDetail, client for kEdgeByClient)
  uint32_t time = 0;  // tier units since the epoch
  NodeId peer = 0;    // the other side
  Protocol protocol = Protocol::kOther;
  StringId path = 0;    // kDetail only
  StringId method = 0;  // kDetail only
  uint16_t status = 0;  // kDetail only
};

// Appends the key (TierKeySize(family) bytes) to *out.
void EncodeTierKey(Family family, const TierKey& k, std::string* out);
// False when the key has the wrong size.
bool DecodeTierKey(Family family, std::string_view key, TierKey* k);
// The dims a tier key stands for (leading/peer mapped back to client/server).
EdgeDims DimsOf(Family family, const TierKey& k);
// tenant (4 bytes); tenant + ns (8 bytes); tenant + ns + node (12 bytes), optionally + a time.
std::string TenantPrefix(TenantId tenant);
std::string NsPrefix(TenantId tenant, StringId ns);
std::string NodePrefix(TenantId tenant, StringId ns, NodeId node);
std::string NodeTimePrefix(TenantId tenant, StringId ns, NodeId node, uint32_t time);

// Day blocks (edge_blk): the edge tier key with time = level << 24 | start day; level k in
// 1..kMaxBlockLevel covers the days [start, start + 2^k), start a multiple of 2^k. Per leading
// node the records sort by level, then start. Days past kMaxBlockDay get no blocks.
constexpr int kMaxBlockLevel = 11;
constexpr int kBlockLevelShift = 24;
constexpr int64_t kMaxBlockDay = (int64_t{1} << kBlockLevelShift) - 2;
constexpr uint32_t BlockTime(int level, uint32_t start_day) {
  return static_cast<uint32_t>(level) << kBlockLevelShift | start_day;
}
constexpr uint32_t BlockStartOf(uint32_t time) {
  return time & ((uint32_t{1} << kBlockLevelShift) - 1);
}
constexpr int BlockLevelOf(uint32_t time) { return static_cast<int>(time >> kBlockLevelShift); }

// Exemplars: tenant(0..4) client(4..8) server(8..12) minute(12..16).
constexpr size_t kExemplarKeySize = 16;
constexpr size_t kExemplarTimeOffset = 12;
std::string ExemplarKey(TenantId tenant, NodeId client, NodeId server, uint32_t minute);

// Expiry counters: tenant(0..4) node(4..8) minute(8..12) kind(12).
constexpr size_t kExpiryKeySize = 13;
constexpr size_t kExpiryTimeOffset = 8;
std::string ExpiryKey(TenantId tenant, NodeId node, uint32_t minute, ExpiryKind kind);

// Dictionary: 'N' id(1..5) -> DictNode; 'S' kind(1) id(2..6) -> tenant (4 bytes, big-endian)
// and the string's bytes (schema 1: the string's bytes only, tenant 0); 'T' id(1..5) -> the
// tenant's name (tenant 0, "default", has no entry).
constexpr char kDictNodeTag = 'N';
constexpr char kDictStringTag = 'S';
constexpr char kDictTenantTag = 'T';
std::string DictNodeKey(NodeId id);
std::string DictStringKey(StringKind kind, StringId id);
std::string DictTenantKey(TenantId id);

// Adds one to the big-endian number *key (fixed width, carrying): the first key of the next
// node when *key is a node prefix. False (and *key unchanged) when every byte is 0xFF. Unlike a
// prefix successor it never shortens the key (a node id ending in byte 0xFF has a next node).
bool IncrementFixedWidth(std::string* key);

// Time values outside uint32 are clamped (a key never wraps around).
uint32_t ClampTime(int64_t t);

}  // namespace ew::storage::keys

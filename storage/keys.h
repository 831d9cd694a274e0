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

// Tier keys: ns(0..4) node(4..8) time(8..12) peer(12..16) protocol(16)
//            [path(17..21) method(21..25) status(25..27)] for Family::kDetail.
constexpr size_t kEdgeKeySize = 17;
constexpr size_t kDetailKeySize = 27;
constexpr size_t kNodePrefixSize = 8;  // ns + node
constexpr size_t kTimeOffset = 8;

constexpr size_t TierKeySize(Family f) {
  return f == Family::kDetail ? kDetailKeySize : kEdgeKeySize;
}

struct TierKey {
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
// ns + node (8 bytes), optionally followed by a time.
std::string NodePrefix(StringId ns, NodeId node);
std::string NodeTimePrefix(StringId ns, NodeId node, uint32_t time);

// Exemplars: client(0..4) server(4..8) minute(8..12).
constexpr size_t kExemplarKeySize = 12;
std::string ExemplarKey(NodeId client, NodeId server, uint32_t minute);

// Expiry counters: node(0..4) minute(4..8) kind(8).
constexpr size_t kExpiryKeySize = 9;
std::string ExpiryKey(NodeId node, uint32_t minute, ExpiryKind kind);

// Dictionary: 'N' id(1..5) -> DictNode; 'S' kind(1) id(2..6) -> the string's bytes.
constexpr char kDictNodeTag = 'N';
constexpr char kDictStringTag = 'S';
std::string DictNodeKey(NodeId id);
std::string DictStringKey(StringKind kind, StringId id);

// Adds one to the big-endian number *key (fixed width, carrying): the first key of the next
// node when *key is a node prefix. False (and *key unchanged) when every byte is 0xFF. Unlike a
// prefix successor it never shortens the key (a node id ending in byte 0xFF has a next node).
bool IncrementFixedWidth(std::string* key);

// Time values outside uint32 are clamped (a key never wraps around).
uint32_t ClampTime(int64_t t);

}  // namespace ew::storage::keys

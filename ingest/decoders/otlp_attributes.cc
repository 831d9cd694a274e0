#include "ingest/decoders/otlp_attributes.h"

#include <cstring>
#include <limits>

namespace ew::ingest::internal {
namespace {

constexpr size_t kMaxKeyLen = 32;

// Slots: one per SpanView field filled from attributes.
enum Slot : uint8_t {
  kSlotServiceName,
  kSlotServiceNamespace,
  kSlotK8sNamespace,
  kSlotHttpMethod,
  kSlotHttpStatus,
  kSlotHttpRoute,
  kSlotUrlPath,
  kSlotUrlFull,
  kSlotHttpHost,
  kSlotRequestBytes,
  kSlotResponseBytes,
  kSlotPeerService,
  kSlotServerAddress,
  kSlotNetPeerName,
  kSlotRpcSystem,
  kSlotRpcService,
  kSlotRpcMethod,
  kSlotGrpcStatus,
  kSlotDbSystem,
  kSlotDbNamespace,
  kSlotMessagingSystem,
  kSlotMessagingDestination,
  kSlotCount
};
static_assert(kSlotCount <= kAttributeSlots);

constexpr AttributeSpec Str(std::string_view key, Slot slot, uint8_t rank,
                            std::string_view SpanView::*field) {
  return AttributeSpec{key, slot, rank, false, field, nullptr};
}
constexpr AttributeSpec Int(std::string_view key, Slot slot, uint8_t rank,
                            int64_t SpanView::*field) {
  return AttributeSpec{key, slot, rank, true, nullptr, field};
}

// Rank 0 is the stable semantic convention, 1 the older name (see SpanView comments).
constexpr AttributeSpec kSpecs[] = {
    Str("service.name", kSlotServiceName, 0, &SpanView::service_name),
    Str("service.namespace", kSlotServiceNamespace, 0, &SpanView::service_namespace),
    Str("k8s.namespace.name", kSlotK8sNamespace, 0, &SpanView::k8s_namespace),
    Str("http.request.method", kSlotHttpMethod, 0, &SpanView::http_method),
    Str("http.method", kSlotHttpMethod, 1, &SpanView::http_method),
    Int("http.response.status_code", kSlotHttpStatus, 0, &SpanView::http_status),
    Int("http.status_code", kSlotHttpStatus, 1, &SpanView::http_status),
    Str("http.route", kSlotHttpRoute, 0, &SpanView::http_route),
    Str("url.path", kSlotUrlPath, 0, &SpanView::url_path),
    Str("http.target", kSlotUrlPath, 1, &SpanView::url_path),
    Str("url.full", kSlotUrlFull, 0, &SpanView::url_full),
    Str("http.url", kSlotUrlFull, 1, &SpanView::url_full),
    Str("http.host", kSlotHttpHost, 0, &SpanView::http_host),
    Int("http.request.body.size", kSlotRequestBytes, 0, &SpanView::request_bytes),
    Int("http.request_content_length", kSlotRequestBytes, 1, &SpanView::request_bytes),
    Int("http.response.body.size", kSlotResponseBytes, 0, &SpanView::response_bytes),
    Int("http.response_content_length", kSlotResponseBytes, 1, &SpanView::response_bytes),
    Str("peer.service", kSlotPeerService, 0, &SpanView::peer_service),
    Str("server.address", kSlotServerAddress, 0, &SpanView::server_address),
    Str("net.peer.name", kSlotNetPeerName, 0, &SpanView::net_peer_name),
    Str("rpc.system", kSlotRpcSystem, 0, &SpanView::rpc_system),
    Str("rpc.service", kSlotRpcService, 0, &SpanView::rpc_service),
    Str("rpc.method", kSlotRpcMethod, 0, &SpanView::rpc_method),
    Int("rpc.grpc.status_code", kSlotGrpcStatus, 0, &SpanView::grpc_status),
    Str("db.system", kSlotDbSystem, 0, &SpanView::db_system),
    Str("db.system.name", kSlotDbSystem, 1, &SpanView::db_system),
    Str("db.namespace", kSlotDbNamespace, 0, &SpanView::db_namespace),
    Str("db.name", kSlotDbNamespace, 1, &SpanView::db_namespace),
    Str("messaging.system", kSlotMessagingSystem, 0, &SpanView::messaging_system),
    Str("messaging.destination.name", kSlotMessagingDestination, 0,
        &SpanView::messaging_destination),
    Str("messaging.destination", kSlotMessagingDestination, 1, &SpanView::messaging_destination),
};
constexpr size_t kSpecCount = sizeof(kSpecs) / sizeof(kSpecs[0]);

// Specs bucketed by key length, so a lookup compares against one or a few keys.
struct LengthIndex {
  std::array<uint8_t, kMaxKeyLen + 1> count{};
  std::array<std::array<uint8_t, 6>, kMaxKeyLen + 1> spec{};
};

constexpr LengthIndex BuildIndex() {
  LengthIndex index;
  for (size_t i = 0; i < kSpecCount; ++i) {
    size_t len = kSpecs[i].key.size();
    index.spec[len][index.count[len]++] = static_cast<uint8_t>(i);
  }
  return index;
}
constexpr LengthIndex kIndex = BuildIndex();

constexpr bool IndexFits() {
  for (const auto& spec : kSpecs) {
    if (spec.key.size() > kMaxKeyLen) return false;
  }
  for (uint8_t c : kIndex.count) {
    if (c > 6) return false;
  }
  return true;
}
static_assert(IndexFits());

}  // namespace

namespace {

// Every key of 8 bytes or more as four 8-byte words read at offsets 0, 8, len - 16 and len - 8
// (overlapping for short keys; keys are at most 32 bytes, so the four cover all of it), so a
// lookup, hit or miss, is a few integer compares per candidate and never a memcmp call.
struct KeyWords {
  uint64_t w[4] = {0, 0, 0, 0};
};

uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

KeyWords WordsOf(const char* p, size_t len) {
  KeyWords k;
  k.w[0] = Load8(p);
  k.w[3] = Load8(p + len - 8);
  if (len > 16) {
    k.w[1] = Load8(p + 8);
    k.w[2] = Load8(p + len - 16);
  }
  return k;
}

const std::array<KeyWords, kSpecCount>& Words() {
  static const std::array<KeyWords, kSpecCount> words = [] {
    std::array<KeyWords, kSpecCount> w{};
    for (size_t i = 0; i < kSpecCount; ++i) {
      std::string_view key = kSpecs[i].key;
      if (key.size() >= 8) w[i] = WordsOf(key.data(), key.size());
    }
    return w;
  }();
  return words;
}

}  // namespace

const AttributeSpec* FindAttribute(std::string_view key) {
  const size_t len = key.size();
  if (len > kMaxKeyLen) return nullptr;
  const uint8_t count = kIndex.count[len];
  if (count == 0) return nullptr;
  if (len < 8) {
    for (uint8_t i = 0; i < count; ++i) {
      const AttributeSpec& spec = kSpecs[kIndex.spec[len][i]];
      if (std::memcmp(spec.key.data(), key.data(), len) == 0) return &spec;
    }
    return nullptr;
  }
  const auto& words = Words();
  const KeyWords k = WordsOf(key.data(), len);
  for (uint8_t i = 0; i < count; ++i) {
    const uint8_t at = kIndex.spec[len][i];
    const KeyWords& w = words[at];
    // 8 to 16 bytes: words 0 and 3 cover the key (1 and 2 are 0 on both sides).
    if (((w.w[0] ^ k.w[0]) | (w.w[1] ^ k.w[1]) | (w.w[2] ^ k.w[2]) | (w.w[3] ^ k.w[3])) == 0) {
      return &kSpecs[at];
    }
  }
  return nullptr;
}

bool ParseDecimalInt64(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size() || text.size() - i > 19) return false;
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (value > kMax + (negative ? 1 : 0)) return false;
  if (negative) {
    *out = value == kMax + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(value);
  } else {
    *out = static_cast<int64_t>(value);
  }
  return true;
}

}  // namespace ew::ingest::internal

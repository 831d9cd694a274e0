// Key encoding of the storage column families (see keys.h and docs/format/storage.md).
#include "storage/keys.h"

#include <algorithm>

#include "storage/coding.h"

namespace ew::storage::keys {

using coding::GetBE16;
using coding::GetBE32;
using coding::PutBE16;
using coding::PutBE32;

void EncodeTierKey(Family family, const TierKey& k, std::string* out) {
  char buf[kDetailKeySize];
  PutBE32(buf, k.tenant);
  PutBE32(buf + 4, k.ns);
  PutBE32(buf + 8, k.node);
  PutBE32(buf + 12, k.time);
  PutBE32(buf + 16, k.peer);
  buf[20] = static_cast<char>(k.protocol);
  if (family == Family::kDetail) {
    PutBE32(buf + 21, k.path);
    PutBE32(buf + 25, k.method);
    PutBE16(buf + 29, k.status);
  }
  out->append(buf, TierKeySize(family));
}

bool DecodeTierKey(Family family, std::string_view key, TierKey* k) {
  if (key.size() != TierKeySize(family)) return false;
  const char* p = key.data();
  k->tenant = GetBE32(p);
  k->ns = GetBE32(p + 4);
  k->node = GetBE32(p + 8);
  k->time = GetBE32(p + 12);
  k->peer = GetBE32(p + 16);
  k->protocol = static_cast<Protocol>(static_cast<uint8_t>(p[20]));
  if (family == Family::kDetail) {
    k->path = GetBE32(p + 21);
    k->method = GetBE32(p + 25);
    k->status = GetBE16(p + 29);
  } else {
    k->path = k->method = 0;
    k->status = 0;
  }
  return true;
}

EdgeDims DimsOf(Family family, const TierKey& k) {
  EdgeDims d;
  if (family == Family::kEdgeByClient) {
    d.client = k.node;
    d.server = k.peer;
  } else {
    d.client = k.peer;
    d.server = k.node;
  }
  d.protocol = k.protocol;
  d.path = k.path;
  d.method = k.method;
  d.status = k.status;
  return d;
}

std::string TenantPrefix(TenantId tenant) {
  std::string s(kTenantPrefixSize, '\0');
  PutBE32(s.data(), tenant);
  return s;
}

std::string NsPrefix(TenantId tenant, StringId ns) {
  std::string s(8, '\0');
  PutBE32(s.data(), tenant);
  PutBE32(s.data() + 4, ns);
  return s;
}

std::string NodePrefix(TenantId tenant, StringId ns, NodeId node) {
  std::string s(kNodePrefixSize, '\0');
  PutBE32(s.data(), tenant);
  PutBE32(s.data() + 4, ns);
  PutBE32(s.data() + 8, node);
  return s;
}

std::string NodeTimePrefix(TenantId tenant, StringId ns, NodeId node, uint32_t time) {
  std::string s = NodePrefix(tenant, ns, node);
  s.resize(kNodePrefixSize + 4);
  PutBE32(s.data() + kNodePrefixSize, time);
  return s;
}

std::string ExemplarKey(TenantId tenant, NodeId client, NodeId server, uint32_t minute) {
  std::string s(kExemplarKeySize, '\0');
  PutBE32(s.data(), tenant);
  PutBE32(s.data() + 4, client);
  PutBE32(s.data() + 8, server);
  PutBE32(s.data() + 12, minute);
  return s;
}

std::string ExpiryKey(TenantId tenant, NodeId node, uint32_t minute, ExpiryKind kind) {
  std::string s(kExpiryKeySize, '\0');
  PutBE32(s.data(), tenant);
  PutBE32(s.data() + 4, node);
  PutBE32(s.data() + 8, minute);
  s[12] = static_cast<char>(kind);
  return s;
}

std::string DictNodeKey(NodeId id) {
  std::string s(5, '\0');
  s[0] = kDictNodeTag;
  PutBE32(s.data() + 1, id);
  return s;
}

std::string DictStringKey(StringKind kind, StringId id) {
  std::string s(6, '\0');
  s[0] = kDictStringTag;
  s[1] = static_cast<char>(kind);
  PutBE32(s.data() + 2, id);
  return s;
}

std::string DictTenantKey(TenantId id) {
  std::string s(5, '\0');
  s[0] = kDictTenantTag;
  PutBE32(s.data() + 1, id);
  return s;
}

bool IncrementFixedWidth(std::string* key) {
  for (size_t i = key->size(); i-- > 0;) {
    auto& byte = reinterpret_cast<unsigned char&>((*key)[i]);
    if (byte != 0xff) {
      ++byte;
      std::fill(key->begin() + static_cast<std::ptrdiff_t>(i) + 1, key->end(), '\0');
      return true;
    }
  }
  return false;
}

uint32_t ClampTime(int64_t t) {
  return static_cast<uint32_t>(std::clamp<int64_t>(t, 0, UINT32_MAX));
}

}  // namespace ew::storage::keys

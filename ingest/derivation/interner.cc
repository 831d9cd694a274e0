#include "ingest/derivation/interner.h"

#include <atomic>
#include <string>
#include <unordered_map>

#include "base/hash.h"

namespace ew::ingest {
namespace {

std::atomic<uint64_t> g_next_instance{1};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return Hash64(s); }
};

// One thread's cache. `owner` is the instance number of the interner it belongs to; a thread that
// switches interners (tests with several services) starts over.
struct ThreadCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids;
  std::string scratch;
};

ThreadCache& CacheFor(uint64_t instance) {
  thread_local ThreadCache cache;
  if (cache.owner != instance || cache.ids.size() >= StoreInterner::kMaxCachedPerThread) {
    cache.ids.clear();
    cache.owner = instance;
  }
  return cache;
}

}  // namespace

StoreInterner::StoreInterner(storage::EdgeStore* store)
    : store_(store), instance_(g_next_instance.fetch_add(1, std::memory_order_relaxed)) {}

StoreInterner StoreInterner::ForTenant(storage::TenantId tenant) const {
  StoreInterner out = *this;
  out.tenant_ = tenant;
  return out;
}

namespace {

// The cache key's first bytes: the tenant (so one thread's cache serves every tenant).
void StartKey(storage::TenantId tenant, std::string* key) {
  key->clear();
  key->append(reinterpret_cast<const char*>(&tenant), sizeof(tenant));
}

}  // namespace

Result<storage::NodeId> StoreInterner::Node(storage::NodeKind kind, std::string_view ns,
                                            std::string_view name) {
  ThreadCache& cache = CacheFor(instance_);
  std::string& key = cache.scratch;
  StartKey(tenant_, &key);
  key.push_back(static_cast<char>(kind));
  key.append(ns);
  key.push_back('\0');
  key.append(name);
  if (auto it = cache.ids.find(std::string_view(key)); it != cache.ids.end()) return it->second;
  EW_ASSIGN_OR_RETURN(storage::NodeId id, store_->InternNode(tenant_, kind, ns, name));
  cache.ids.emplace(key, id);
  return id;
}

Result<storage::StringId> StoreInterner::String(storage::StringKind kind, std::string_view s) {
  if (s.empty()) return storage::StringId{0};
  ThreadCache& cache = CacheFor(instance_);
  std::string& key = cache.scratch;
  StartKey(tenant_, &key);
  key.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(kind)));
  key.append(s);
  if (auto it = cache.ids.find(std::string_view(key)); it != cache.ids.end()) return it->second;
  EW_ASSIGN_OR_RETURN(storage::StringId id, store_->InternString(tenant_, kind, s));
  cache.ids.emplace(key, id);
  return id;
}

}  // namespace ew::ingest

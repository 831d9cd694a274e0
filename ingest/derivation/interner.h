// Interner: turns node identities and dimension strings into the store's dense ids.
//
// StoreInterner keeps a cache per thread in front of EdgeStore::InternNode/InternString, so the
// steady-state per-span path is a thread-local hash lookup: no mutex, no shared writes. A miss
// goes to the store (which persists a new entry before returning, so ids may be logged at once).
//
// Thread-safety: StoreInterner may be used from any number of threads at once; each thread has
// its own cache (tagged with the interner's instance number, so a new interner on another store
// never sees stale ids).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::ingest {

class Interner {
 public:
  virtual ~Interner() = default;
  virtual Result<storage::NodeId> Node(storage::NodeKind kind, std::string_view ns,
                                       std::string_view name) = 0;
  virtual Result<storage::StringId> String(storage::StringKind kind, std::string_view s) = 0;
};

// Interns into one tenant's dictionary (tenant "default" unless ForTenant says otherwise).
class StoreInterner final : public Interner {
 public:
  // The store must outlive the interner.
  explicit StoreInterner(storage::EdgeStore* store);
  // The same interner (and per-thread caches, whose keys carry the tenant) for another tenant.
  StoreInterner ForTenant(storage::TenantId tenant) const;
  storage::TenantId tenant() const { return tenant_; }
  Result<storage::NodeId> Node(storage::NodeKind kind, std::string_view ns,
                               std::string_view name) override;
  Result<storage::StringId> String(storage::StringKind kind, std::string_view s) override;

  // Entries per thread before that thread's cache is cleared (bounds memory under hostile input).
  static constexpr size_t kMaxCachedPerThread = 1 << 16;

 private:
  storage::EdgeStore* store_;
  uint64_t instance_;
  storage::TenantId tenant_ = storage::kDefaultTenant;
};

}  // namespace ew::ingest

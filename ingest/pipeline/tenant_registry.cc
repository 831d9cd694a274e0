#include "ingest/pipeline/tenant_registry.h"

#include "base/log.h"

namespace ew::ingest {

TenantRegistry::TenantRegistry(storage::EdgeStore* store, const StoreInterner& interner,
                               const WellKnownIds& default_ids)
    : store_(store), interner_(interner) {
  MutexLock lock(&mu_);
  ids_[storage::kDefaultTenant] = std::make_unique<WellKnownIds>(default_ids);
  by_name_.emplace(std::string(storage::kDefaultTenantName), storage::kDefaultTenant);
}

Result<const WellKnownIds*> TenantRegistry::IdsOf(storage::TenantId tenant) {
  auto it = ids_.find(tenant);
  if (it != ids_.end()) return it->second.get();
  StoreInterner interner = interner_.ForTenant(tenant);
  EW_ASSIGN_OR_RETURN(WellKnownIds ids, InternWellKnown(&interner));
  ids.tenant = tenant;
  auto owned = std::make_unique<WellKnownIds>(ids);
  const WellKnownIds* out = owned.get();
  ids_.emplace(tenant, std::move(owned));
  return out;
}

Result<TenantRegistry::Tenant> TenantRegistry::ByName(const std::string& name) {
  MutexLock lock(&mu_);
  storage::TenantId id;
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    id = it->second;
  } else {
    EW_ASSIGN_OR_RETURN(id, store_->InternTenant(name));
    by_name_.emplace(name, id);
  }
  EW_ASSIGN_OR_RETURN(const WellKnownIds* ids, IdsOf(id));
  return Tenant{id, ids};
}

std::string TenantRegistry::NameOf(storage::TenantId tenant) {
  {
    MutexLock lock(&mu_);
    for (const auto& [name, id] : by_name_) {
      if (id == tenant) return name;
    }
  }
  auto name = store_->GetTenantName(tenant);
  return name ? *name : "tenant-" + std::to_string(tenant);
}

const WellKnownIds* TenantRegistry::IdsOfNode(storage::NodeId node) {
  auto info = store_->GetNode(node);
  const storage::TenantId tenant = info ? info->tenant : storage::kDefaultTenant;
  MutexLock lock(&mu_);
  auto ids = IdsOf(tenant);
  if (ids.ok()) return *ids;
  EW_LOG(kError) << "ingest: interning the well-known ids of tenant " << tenant
                 << " failed: " << ids.status().ToString();
  return ids_[storage::kDefaultTenant].get();
}

}  // namespace ew::ingest

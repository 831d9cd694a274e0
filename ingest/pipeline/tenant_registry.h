// TenantRegistry: what ingest keeps per tenant (docs/ingest.md "Tenants"): the tenant's id in the
// store (interned on its first request) and its well-known ids (External Client, Unknown External
// Service, {other}, the method strings), which — like every node and string — are the tenant's
// own. The I/O threads look tenants up by name; the shard workers look up the ids of a node's
// tenant (a half's tenant is its node's) and cache the answer per node.
//
// Thread-safety: every method may be called from any thread (one mutex; the returned pointers
// stay valid for the registry's life).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "ingest/derivation/derive.h"
#include "ingest/derivation/interner.h"
#include "storage/edge_store.h"

namespace ew::ingest {

class TenantRegistry {
 public:
  struct Tenant {
    storage::TenantId id = storage::kDefaultTenant;
    const WellKnownIds* ids = nullptr;
  };
  // The store and interner must outlive the registry. default_ids: tenant 0's.
  TenantRegistry(storage::EdgeStore* store, const StoreInterner& interner,
                 const WellKnownIds& default_ids);

  // The tenant of this name ("default" is 0), interned with its well-known ids on first use.
  Result<Tenant> ByName(const std::string& name) EXCLUDES(mu_);
  // The tenant's name (for metrics labels); "tenant-N" for an id the store does not know.
  std::string NameOf(storage::TenantId tenant) EXCLUDES(mu_);
  // The well-known ids of the node's tenant; tenant 0's for a node the store does not know or
  // when interning the tenant's ids fails (logged).
  const WellKnownIds* IdsOfNode(storage::NodeId node) EXCLUDES(mu_);

 private:
  Result<const WellKnownIds*> IdsOf(storage::TenantId tenant) REQUIRES(mu_);

  storage::EdgeStore* const store_;
  const StoreInterner interner_;
  Mutex mu_;
  std::map<std::string, storage::TenantId, std::less<>> by_name_ GUARDED_BY(mu_);
  std::map<storage::TenantId, std::unique_ptr<WellKnownIds>> ids_ GUARDED_BY(mu_);
};

}  // namespace ew::ingest

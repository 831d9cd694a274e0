// TenantStore: one tenant's read-only view of an EdgeStore, the store every query endpoint reads
// through (docs/api.md "Tenants and tokens"). Every dictionary call is answered for the view's
// tenant whatever tenant the caller names (the single-tenant wrappers of EdgeStore pass "default"
// and get the view's), every scan reads the tenant's key range, and a node of another tenant is
// unknown: GetNode answers nullopt, exemplars and expiries of its edges are empty — so a node id
// of another tenant is a 404 exactly like an id that does not exist.
//
// A tenant name the store does not know is a view of an empty tenant (kNoTenant: no key has it).
//
// Thread-safety: as the underlying store (all reads); writes are refused.
#pragma once

#include <string>

#include "storage/edge_store.h"

namespace ew::query {

class TenantStore final : public storage::EdgeStore {
 public:
  // A tenant id no key of the store carries (dense ids are far below it).
  static constexpr storage::TenantId kNoTenant = 0xFFFFFFF0u;

  // The view of tenant `name` ("default" is tenant 0). The store must outlive the view.
  TenantStore(const storage::EdgeStore* store, const std::string& name);
  storage::TenantId tenant() const { return tenant_; }
  // True when node belongs to the view's tenant.
  bool Owns(storage::NodeId node) const;

  Result<storage::TenantId> InternTenant(std::string_view) override;
  std::optional<storage::TenantId> FindTenant(std::string_view name) const override;
  std::optional<std::string> GetTenantName(storage::TenantId id) const override;
  std::vector<std::pair<storage::TenantId, std::string>> ListTenants() const override;
  Result<storage::NodeId> InternNode(storage::TenantId, storage::NodeKind, std::string_view,
                                     std::string_view) override;
  Result<storage::StringId> InternString(storage::TenantId, storage::StringKind,
                                         std::string_view) override;
  std::optional<storage::NodeInfo> GetNode(storage::NodeId id) const override;
  std::optional<storage::NodeId> FindNode(storage::TenantId, storage::NodeKind kind,
                                          std::string_view ns,
                                          std::string_view name) const override;
  std::vector<std::pair<storage::NodeId, storage::NodeInfo>> ListNodes(
      storage::TenantId) const override;
  std::optional<std::string> GetString(storage::StringKind kind,
                                       storage::StringId id) const override;
  std::optional<storage::StringId> FindString(storage::TenantId, storage::StringKind kind,
                                              std::string_view s) const override;
  std::vector<std::pair<storage::StringId, std::string>> ListStrings(
      storage::TenantId, storage::StringKind kind) const override;
  Status ApplyFlush(const storage::FlushBatch&) override;
  uint64_t FlushedLogPosition() const override { return store_->FlushedLogPosition(); }
  Status LoadPending(const std::function<void(std::string_view, std::string_view)>&) const override;
  Status Scan(const storage::ScanSpec& spec, const storage::ScanVisitor& visit) const override;
  std::vector<storage::ScanSpec> SplitScan(const storage::ScanSpec& spec, int parts) const override;
  Status ScanExemplars(
      storage::NodeId client, storage::NodeId server, int64_t start_minute, int64_t end_minute,
      const std::function<bool(int64_t, const storage::Exemplar&)>& visit) const override;
  Result<std::array<uint64_t, 3>> SumExpiries(storage::NodeId node, int64_t start_minute,
                                              int64_t end_minute) const override;
  Status Health() const override { return store_->Health(); }
  Status CompactAll() override;
  Status Checkpoint(const std::string&) override;
  storage::StoreStats Stats() const override { return store_->Stats(); }
  std::array<int64_t, 3> RetentionMs() const override { return store_->RetentionMs(); }

 private:
  const storage::EdgeStore* store_;
  storage::TenantId tenant_;
};

}  // namespace ew::query

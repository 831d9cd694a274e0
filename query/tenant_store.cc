#include "query/tenant_store.h"

namespace ew::query {

using storage::NodeId;
using storage::TenantId;

namespace {

Status ReadOnly() { return Status::FailedPrecondition("a tenant's query view is read-only"); }

}  // namespace

TenantStore::TenantStore(const storage::EdgeStore* store, const std::string& name) : store_(store) {
  if (name.empty() || name == storage::kDefaultTenantName) {
    tenant_ = storage::kDefaultTenant;
  } else {
    tenant_ = store->FindTenant(name).value_or(kNoTenant);
  }
}

bool TenantStore::Owns(NodeId node) const {
  auto info = store_->GetNode(node);
  return info && info->tenant == tenant_;
}

Result<TenantId> TenantStore::InternTenant(std::string_view) { return ReadOnly(); }

std::optional<TenantId> TenantStore::FindTenant(std::string_view name) const {
  auto t = store_->FindTenant(name);
  return t == tenant_ ? t : std::nullopt;
}

std::optional<std::string> TenantStore::GetTenantName(TenantId id) const {
  return id == tenant_ ? store_->GetTenantName(id) : std::nullopt;
}

std::vector<std::pair<TenantId, std::string>> TenantStore::ListTenants() const {
  std::vector<std::pair<TenantId, std::string>> out;
  for (auto& t : store_->ListTenants()) {
    if (t.first == tenant_) out.push_back(std::move(t));
  }
  return out;
}

Result<NodeId> TenantStore::InternNode(TenantId, storage::NodeKind, std::string_view,
                                       std::string_view) {
  return ReadOnly();
}

Result<storage::StringId> TenantStore::InternString(TenantId, storage::StringKind,
                                                    std::string_view) {
  return ReadOnly();
}

std::optional<storage::NodeInfo> TenantStore::GetNode(NodeId id) const {
  auto info = store_->GetNode(id);
  if (!info || info->tenant != tenant_) return std::nullopt;
  return info;
}

std::optional<NodeId> TenantStore::FindNode(TenantId, storage::NodeKind kind, std::string_view ns,
                                            std::string_view name) const {
  return store_->FindNode(tenant_, kind, ns, name);
}

std::vector<std::pair<NodeId, storage::NodeInfo>> TenantStore::ListNodes(TenantId) const {
  return store_->ListNodes(tenant_);
}

std::optional<std::string> TenantStore::GetString(storage::StringKind kind,
                                                  storage::StringId id) const {
  return store_->GetString(kind, id);
}

std::optional<storage::StringId> TenantStore::FindString(TenantId, storage::StringKind kind,
                                                         std::string_view s) const {
  return store_->FindString(tenant_, kind, s);
}

std::vector<std::pair<storage::StringId, std::string>> TenantStore::ListStrings(
    TenantId, storage::StringKind kind) const {
  return store_->ListStrings(tenant_, kind);
}

Status TenantStore::ApplyFlush(const storage::FlushBatch&) { return ReadOnly(); }

Status TenantStore::LoadPending(
    const std::function<void(std::string_view, std::string_view)>&) const {
  return ReadOnly();
}

Status TenantStore::Scan(const storage::ScanSpec& spec, const storage::ScanVisitor& visit) const {
  storage::ScanSpec mine = spec;
  mine.tenant = tenant_;
  if (mine.node && !Owns(*mine.node)) return Status::Ok();
  return store_->Scan(mine, visit);
}

std::vector<storage::ScanSpec> TenantStore::SplitScan(const storage::ScanSpec& spec,
                                                      int parts) const {
  storage::ScanSpec mine = spec;
  mine.tenant = tenant_;
  return store_->SplitScan(mine, parts);
}

Status TenantStore::ScanExemplars(
    NodeId client, NodeId server, int64_t start_minute, int64_t end_minute,
    const std::function<bool(int64_t, const storage::Exemplar&)>& visit) const {
  if (!Owns(client) || !Owns(server)) return Status::Ok();
  return store_->ScanExemplars(client, server, start_minute, end_minute, visit);
}

Result<std::array<uint64_t, 3>> TenantStore::SumExpiries(NodeId node, int64_t start_minute,
                                                         int64_t end_minute) const {
  if (!Owns(node)) return std::array<uint64_t, 3>{0, 0, 0};
  return store_->SumExpiries(node, start_minute, end_minute);
}

Status TenantStore::CompactAll() { return ReadOnly(); }

Status TenantStore::Checkpoint(const std::string&) { return ReadOnly(); }

}  // namespace ew::query

// EdgeStore writes: the dictionary (load, intern, lookups) and ApplyFlush (one WriteBatch per
// flush: tier merges of all families, exemplars, expiry counters, pending state, log position).
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "base/time.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/edge_totals.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/rollup_codec.h"

namespace ew::storage {

// ---------------------------------------------------------------------------- dictionary

std::string EdgeStoreImpl::NodeIndexKey(TenantId tenant, NodeKind kind, StringId ns_id,
                                        std::string_view name) {
  std::string k(9, '\0');
  coding::PutBE32(k.data(), tenant);
  k[4] = static_cast<char>(kind);
  coding::PutBE32(k.data() + 5, ns_id);
  k.append(name);
  return k;
}

std::string EdgeStoreImpl::StringIndexKey(TenantId tenant, std::string_view s) {
  std::string k(4, '\0');
  coding::PutBE32(k.data(), tenant);
  k.append(s);
  return k;
}

bool EdgeStoreImpl::TenantExists(TenantId tenant) const { return tenant < tenants_.size(); }

Status EdgeStoreImpl::LoadDictionary() {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handles_[kCfDict]));
  WriterLock lock(&dict_mu_);
  // 'N' sorts before 'S' and 'T', but nodes need their namespace strings and tenants: tenants,
  // then strings, then nodes.
  for (char tag : {keys::kDictTenantTag, keys::kDictStringTag, keys::kDictNodeTag}) {
    for (it->Seek(std::string(1, tag)); it->Valid() && it->key()[0] == tag; it->Next()) {
      EW_RETURN_IF_ERROR(LoadDictEntry({it->key().data(), it->key().size()},
                                       {it->value().data(), it->value().size()}));
    }
  }
  return FromRocks(it->status(), "loading the dictionary");
}

Status EdgeStoreImpl::LoadDictEntry(std::string_view key, std::string_view value) {
  if (key[0] == keys::kDictTenantTag) {
    if (key.size() != 5) return Status::Corruption("dictionary: malformed tenant key");
    TenantId id = coding::GetBE32(key.data() + 1);
    if (id == 0 || id > (1u << 20)) return Status::Corruption("dictionary: bad tenant id");
    if (tenants_.size() <= id) tenants_.resize(id + 1);
    tenants_[id].assign(value);
    tenant_index_.emplace(std::string(value), id);
    return Status::Ok();
  }
  if (key[0] == keys::kDictStringTag) {
    if (key.size() != 6 || static_cast<uint8_t>(key[1]) > 2 || value.size() < 4) {
      return Status::Corruption("dictionary: malformed string entry");
    }
    auto& dict = strings_[static_cast<uint8_t>(key[1])];
    StringId id = coding::GetBE32(key.data() + 2);
    if (id == 0 || id > (1u << 30)) return Status::Corruption("dictionary: bad string id");
    const TenantId tenant = coding::GetBE32(value.data());
    if (!TenantExists(tenant)) return Status::Corruption("dictionary: string of unknown tenant");
    value.remove_prefix(4);
    if (dict.by_id.size() <= id) {
      dict.by_id.resize(id + 1);
      dict.tenant_of.resize(id + 1, kDefaultTenant);
    }
    dict.by_id[id].assign(value);
    dict.tenant_of[id] = tenant;
    dict.index.emplace(StringIndexKey(tenant, value), id);
    return Status::Ok();
  }
  if (key.size() != 5) return Status::Corruption("dictionary: malformed node key");
  NodeId id = coding::GetBE32(key.data() + 1);
  if (id == 0 || id > (1u << 30)) return Status::Corruption("dictionary: bad node id");
  NodeInfo info;
  EW_RETURN_IF_ERROR(DecodeDictNode(value, &info.tenant, &info.kind, &info.ns_id, &info.name));
  const auto& ns_dict = strings_[static_cast<size_t>(StringKind::kNamespace)];
  if (info.ns_id >= ns_dict.by_id.size()) {
    return Status::Corruption("dictionary: node of unknown ns");
  }
  if (!TenantExists(info.tenant)) return Status::Corruption("dictionary: node of unknown tenant");
  info.ns = ns_dict.by_id[info.ns_id];
  if (nodes_.size() <= id) nodes_.resize(id + 1);
  node_index_.emplace(NodeIndexKey(info.tenant, info.kind, info.ns_id, info.name), id);
  nodes_[id] = std::move(info);
  return Status::Ok();
}

Status EdgeStoreImpl::PutDict(const std::string& key, const std::string& value) {
  if (options_.read_only) return Status::FailedPrecondition("storage: opened read-only");
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  rocksdb::Status s = db_->Put(wo, handles_[kCfDict], key, value);
  if (s.IsIOError()) listener_->SetError(FromRocks(s, "storage write"));
  return FromRocks(s, "writing a dictionary entry");
}

Result<TenantId> EdgeStoreImpl::InternTenant(std::string_view name) {
  if (name == kDefaultTenantName) return kDefaultTenant;
  if (name.empty() || name.size() > kMaxTenantNameBytes) {
    return Status::InvalidArgument("tenant name must be 1 to 255 bytes");
  }
  std::string key(name);
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = tenant_index_.find(key); it != tenant_index_.end()) return it->second;
  }
  MutexLock intern(&intern_mu_);
  TenantId id;
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = tenant_index_.find(key); it != tenant_index_.end()) return it->second;
    id = static_cast<TenantId>(tenants_.size());
  }
  EW_RETURN_IF_ERROR(PutDict(keys::DictTenantKey(id), key));
  WriterLock lock(&dict_mu_);
  tenants_.push_back(key);
  tenant_index_.emplace(std::move(key), id);
  return id;
}

std::optional<TenantId> EdgeStoreImpl::FindTenant(std::string_view name) const {
  if (name == kDefaultTenantName) return kDefaultTenant;
  ReaderLock lock(&dict_mu_);
  auto it = tenant_index_.find(std::string(name));
  if (it == tenant_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> EdgeStoreImpl::GetTenantName(TenantId id) const {
  ReaderLock lock(&dict_mu_);
  if (id >= tenants_.size() || (id != 0 && tenants_[id].empty())) return std::nullopt;
  return tenants_[id];
}

std::vector<std::pair<TenantId, std::string>> EdgeStoreImpl::ListTenants() const {
  ReaderLock lock(&dict_mu_);
  std::vector<std::pair<TenantId, std::string>> out;
  for (TenantId id = 0; id < tenants_.size(); ++id) {
    if (id == 0 || !tenants_[id].empty()) out.emplace_back(id, tenants_[id]);
  }
  return out;
}

Result<StringId> EdgeStoreImpl::InternString(TenantId tenant, StringKind kind, std::string_view s) {
  if (s.empty()) return StringId{0};
  if (static_cast<uint8_t>(kind) > 2) return Status::InvalidArgument("unknown string kind");
  if (s.size() > kMaxDictStringBytes) return Status::InvalidArgument("dictionary string too long");
  auto& dict = strings_[static_cast<size_t>(kind)];
  std::string key = StringIndexKey(tenant, s);
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = dict.index.find(key); it != dict.index.end()) return it->second;
    if (!TenantExists(tenant)) return Status::InvalidArgument("unknown tenant");
  }
  MutexLock intern(&intern_mu_);
  StringId id;
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = dict.index.find(key); it != dict.index.end()) return it->second;
    id = static_cast<StringId>(dict.by_id.size());
  }
  EW_RETURN_IF_ERROR(PutDict(keys::DictStringKey(kind, id), key));  // tenant | bytes
  WriterLock lock(&dict_mu_);
  dict.by_id.emplace_back(s);
  dict.tenant_of.push_back(tenant);
  dict.index.emplace(std::move(key), id);
  return id;
}

Result<NodeId> EdgeStoreImpl::InternNode(TenantId tenant, NodeKind kind, std::string_view ns,
                                         std::string_view name) {
  if (ns.empty() && name.empty()) return NodeId{0};
  if (static_cast<uint8_t>(kind) > static_cast<uint8_t>(NodeKind::kMessaging)) {
    return Status::InvalidArgument("unknown node kind");
  }
  if (name.size() > kMaxDictStringBytes) return Status::InvalidArgument("node name too long");
  EW_ASSIGN_OR_RETURN(StringId ns_id, InternString(tenant, StringKind::kNamespace, ns));
  std::string index_key = NodeIndexKey(tenant, kind, ns_id, name);
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = node_index_.find(index_key); it != node_index_.end()) return it->second;
    if (!TenantExists(tenant)) return Status::InvalidArgument("unknown tenant");
  }
  MutexLock intern(&intern_mu_);
  NodeId id;
  {
    ReaderLock lock(&dict_mu_);
    if (auto it = node_index_.find(index_key); it != node_index_.end()) return it->second;
    id = static_cast<NodeId>(nodes_.size());
  }
  std::string value;
  EncodeDictNode(tenant, kind, ns_id, name, &value);
  EW_RETURN_IF_ERROR(PutDict(keys::DictNodeKey(id), value));
  WriterLock lock(&dict_mu_);
  nodes_.push_back(NodeInfo{tenant, kind, std::string(ns), std::string(name), ns_id});
  node_index_.emplace(std::move(index_key), id);
  return id;
}

std::optional<NodeInfo> EdgeStoreImpl::GetNode(NodeId id) const {
  ReaderLock lock(&dict_mu_);
  if (id == 0 || id >= nodes_.size()) return std::nullopt;
  return nodes_[id];
}

std::optional<NodeId> EdgeStoreImpl::FindNode(TenantId tenant, NodeKind kind, std::string_view ns,
                                              std::string_view name) const {
  ReaderLock lock(&dict_mu_);
  StringId ns_id = 0;
  if (!ns.empty()) {
    const auto& idx = strings_[static_cast<size_t>(StringKind::kNamespace)].index;
    auto it = idx.find(StringIndexKey(tenant, ns));
    if (it == idx.end()) return std::nullopt;
    ns_id = it->second;
  }
  auto it = node_index_.find(NodeIndexKey(tenant, kind, ns_id, name));
  if (it == node_index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<NodeId, NodeInfo>> EdgeStoreImpl::ListNodes(TenantId tenant) const {
  ReaderLock lock(&dict_mu_);
  std::vector<std::pair<NodeId, NodeInfo>> out;
  out.reserve(nodes_.size());
  for (NodeId id = 1; id < nodes_.size(); ++id) {
    if (nodes_[id].tenant == tenant) out.emplace_back(id, nodes_[id]);
  }
  return out;
}

std::optional<std::string> EdgeStoreImpl::GetString(StringKind kind, StringId id) const {
  if (static_cast<uint8_t>(kind) > 2) return std::nullopt;
  ReaderLock lock(&dict_mu_);
  const auto& by_id = strings_[static_cast<size_t>(kind)].by_id;
  if (id >= by_id.size() || (id != 0 && by_id[id].empty())) return std::nullopt;
  return by_id[id];
}

std::optional<StringId> EdgeStoreImpl::FindString(TenantId tenant, StringKind kind,
                                                  std::string_view s) const {
  if (s.empty()) return StringId{0};
  if (static_cast<uint8_t>(kind) > 2) return std::nullopt;
  ReaderLock lock(&dict_mu_);
  const auto& idx = strings_[static_cast<size_t>(kind)].index;
  auto it = idx.find(StringIndexKey(tenant, s));
  if (it == idx.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<StringId, std::string>> EdgeStoreImpl::ListStrings(TenantId tenant,
                                                                         StringKind kind) const {
  std::vector<std::pair<StringId, std::string>> out;
  if (static_cast<uint8_t>(kind) > 2) return out;
  ReaderLock lock(&dict_mu_);
  const auto& dict = strings_[static_cast<size_t>(kind)];
  for (StringId id = 1; id < dict.by_id.size(); ++id) {
    if (!dict.by_id[id].empty() && dict.tenant_of[id] == tenant) {
      out.emplace_back(id, dict.by_id[id]);
    }
  }
  return out;
}

StringId EdgeStoreImpl::NsOfNode(NodeId id) const {
  ReaderLock lock(&dict_mu_);
  return id < nodes_.size() ? nodes_[id].ns_id : 0;
}

std::optional<std::pair<TenantId, StringId>> EdgeStoreImpl::TenantNsOfNode(NodeId id) const {
  ReaderLock lock(&dict_mu_);
  if (id >= nodes_.size()) return std::nullopt;
  return std::make_pair(nodes_[id].tenant, nodes_[id].ns_id);
}

// ---------------------------------------------------------------------------- flush

namespace {

// Adds what family f stores of v (never exemplars: they have their own column family).
// kEdge: counts and both sketches (its minute tier drops the client sketch where a server sketch
// exists when it is encoded: WriteFamilyTiers). kEdgeByClient: counts only (an index; scans join
// the sketches from kEdge). kDetail: counts, the server sketch, and the client sketch only for
// requests that have no server-side measurement (the latency the map reports is the server side
// where one exists). See docs/format/storage.md.
void MergeCounts(RollupValue* into, const RollupValue& v, Family f) {
  into->requests += v.requests;
  into->errors += v.errors;
  into->request_bytes += v.request_bytes;
  into->response_bytes += v.response_bytes;
  if (f == Family::kEdgeByClient) return;
  into->server_latency.Merge(v.server_latency);
  if (f == Family::kEdge || v.server_latency.Empty()) into->client_latency.Merge(v.client_latency);
}

}  // namespace

// The rollups' tier keys (one aggregate per key and family) and exemplar lists per minute.
Status EdgeStoreImpl::AggregateRollups(const std::vector<MinuteRollup>& rollups,
                                       FamilyAggregates* minute,
                                       std::map<std::string, RollupValue>* exemplars) {
  std::string key;
  for (const MinuteRollup& r : rollups) {
    const auto server = TenantNsOfNode(r.dims.server);
    const auto client = TenantNsOfNode(r.dims.client);
    if (!server || !client) {
      return Status::InvalidArgument("flush: rollup of an unknown node (" +
                                     std::to_string(r.dims.client) + " -> " +
                                     std::to_string(r.dims.server) + ")");
    }
    // Node 0 ("no node") has no tenant of its own: it takes the other side's.
    if (r.dims.server != 0 && r.dims.client != 0 && server->first != client->first) {
      return Status::InvalidArgument("flush: rollup between nodes of two tenants (" +
                                     std::to_string(r.dims.client) + " -> " +
                                     std::to_string(r.dims.server) + ")");
    }
    const TenantId tenant = r.dims.server != 0 ? server->first : client->first;
    keys::TierKey k{tenant,
                    server->second,
                    r.dims.server,
                    keys::ClampTime(r.minute),
                    r.dims.client,
                    r.dims.protocol,
                    0,
                    0,
                    0};
    for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
      keys::TierKey fk = k;
      if (f == Family::kEdgeByClient) {
        fk.ns = client->second;
        fk.node = r.dims.client;
        fk.peer = r.dims.server;
      } else if (f == Family::kDetail) {
        fk.path = r.dims.path;
        fk.method = r.dims.method;
        fk.status = r.dims.status;
      }
      key.clear();
      keys::EncodeTierKey(f, fk, &key);
      MergeCounts(&(*minute)[static_cast<size_t>(f)][key], r.value, f);
    }
    if (exemplars != nullptr && !r.value.exemplars.empty()) {
      auto& acc = (*exemplars)[keys::ExemplarKey(tenant, r.dims.client, r.dims.server,
                                                 keys::ClampTime(r.minute))];
      for (const auto& e : r.value.exemplars) acc.AddExemplar(e);
    }
  }
  return Status::Ok();
}

// Exemplar lists of each minute, and of each hour (the same role holders, merged by hour).
void EdgeStoreImpl::WriteExemplars(const std::map<std::string, RollupValue>& exemplars,
                                   rocksdb::WriteBatch* wb) {
  std::string value;
  std::map<std::string, RollupValue> hour_exemplars;
  for (const auto& [k, v] : exemplars) {
    const uint32_t minute = coding::GetBE32(k.data() + keys::kExemplarTimeOffset);
    EncodeExemplarList(v.exemplars, int64_t{minute} * kMsPerMinute, &value);
    wb->Merge(handles_[kCfExemplars], k, value).PermitUncheckedError();
    std::string hour_key = k;
    coding::PutBE32(hour_key.data() + keys::kExemplarTimeOffset, minute / 60);
    auto& acc = hour_exemplars[std::move(hour_key)];
    for (const auto& e : v.exemplars) acc.AddExemplar(e);
  }
  for (const auto& [k, v] : hour_exemplars) {
    const uint32_t hour = coding::GetBE32(k.data() + keys::kExemplarTimeOffset);
    EncodeExemplarList(v.exemplars, int64_t{hour} * 60 * kMsPerMinute, &value);
    wb->Merge(handles_[kCfExemplarsHour], k, value).PermitUncheckedError();
  }
}

Status EdgeStoreImpl::BuildFlushBatch(const FlushBatch& batch, rocksdb::WriteBatch* wb) {
  // Pre-aggregate identical keys within the batch: one merge operand per key and column family.
  FamilyAggregates minute;
  std::map<std::string, RollupValue> exemplars;  // ordered: see WriteFamilyTiers
  EW_RETURN_IF_ERROR(AggregateRollups(batch.rollups, &minute, &exemplars));
  std::map<std::string, uint64_t> expiries;
  for (const ExpiryCount& e : batch.expiries) {
    if (e.count == 0) continue;
    const auto node = TenantNsOfNode(e.node);
    if (!node) {
      return Status::InvalidArgument("flush: expiry count of unknown node " +
                                     std::to_string(e.node));
    }
    expiries[keys::ExpiryKey(node->first, e.node, keys::ClampTime(e.minute), e.kind)] += e.count;
  }
  for (Family f : {Family::kEdge, Family::kEdgeByClient, Family::kDetail}) {
    WriteFamilyTiers(f, minute[static_cast<size_t>(f)], wb);
  }
  WriteExemplars(exemplars, wb);
  std::string value;
  for (const auto& [k, n] : expiries) {
    value.clear();
    coding::PutFixed64LE(&value, n);
    wb->Merge(handles_[kCfExpiry], k, value).PermitUncheckedError();
  }
  // Puts before deletes: a key both added and removed since the last flush ends up removed.
  for (const auto& [k, v] : batch.pending_puts) {
    wb->Put(handles_[kCfPending], k, v).PermitUncheckedError();
  }
  for (const auto& k : batch.pending_deletes) {
    wb->Delete(handles_[kCfPending], k).PermitUncheckedError();
  }
  value.clear();
  coding::PutFixed64LE(&value, batch.log_position);
  wb->Put(handles_[kCfMeta], "log_position", value).PermitUncheckedError();
  return Status::Ok();
}

Status EdgeStoreImpl::ApplyFlush(const FlushBatch& batch) {
  if (options_.read_only) return Status::FailedPrecondition("storage: opened read-only");
  MutexLock lock(&flush_mu_);
  const int64_t t0 = MonoNowNs();
  if (Status health = TryResume(); !health.ok()) {
    if (flush_failures_total_ != nullptr) flush_failures_total_->Add();
    return Status::Unavailable("storage unavailable: " + health.message());
  }
  // Sized up front: the pending chunks alone can be tens of MiB, and growing the batch by
  // doubling copies it several times and leaves the intermediate blocks in a malloc arena.
  // Per rollup at most 9 tier records (key, framing, counts) of which 6 carry sketches (a
  // varint or two per bucket), plus exemplars; an overestimate only costs address space.
  size_t reserve = 64;
  int64_t max_day = -1;
  for (const MinuteRollup& r : batch.rollups) {
    max_day = std::max(max_day, FloorDiv(r.minute, 1440));
    reserve +=
        9 * 96 + 200 +
        12 * (r.value.server_latency.Buckets().size() + r.value.client_latency.Buckets().size());
  }
  for (const auto& [k, v] : batch.pending_puts) reserve += k.size() + v.size() + 16;
  for (const auto& k : batch.pending_deletes) reserve += k.size() + 8;
  rocksdb::WriteBatch wb(reserve);
  late_horizon_ = DayHorizon();
  if (Status st = BuildFlushBatch(batch, &wb); !st.ok()) {
    if (flush_failures_total_ != nullptr) flush_failures_total_->Add();
    return st;
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) {
    if (flush_failures_total_ != nullptr) flush_failures_total_->Add();
    Status st = FromRocks(s, "applying a flush");
    if (s.IsIOError()) listener_->SetError(st);
    return st;
  }
  flushed_position_.store(batch.log_position, std::memory_order_release);
  if (options_.totals != nullptr) options_.totals->Add(batch.rollups);
  const int64_t micros = (MonoNowNs() - t0) / 1000;
  if (flushes_total_ != nullptr) {
    flushes_total_->Add();
    flush_bytes_total_->Add(wb.GetDataSize());
    flush_rollups_total_->Add(batch.rollups.size());
    flush_micros_total_->Add(static_cast<uint64_t>(micros));
    last_flush_seconds_->Set(static_cast<double>(micros) / 1e6);
  }
  // Between this flush and the next (flush_mu_ is held): blocks of the days now closed.
  MaybeCloseDays(max_day);
  return Status::Ok();
}

Status EdgeStoreImpl::DeleteTenant(TenantId tenant) {
  if (options_.read_only) return Status::FailedPrecondition("store opened read-only");
  // [tenant, tenant + 1) as 4-byte big-endian prefixes: every key of the tenant, whatever its
  // length; the last tenant id's range ends past every 4-byte prefix.
  const std::string begin = keys::TenantPrefix(tenant);
  const std::string end =
      tenant == UINT32_MAX ? std::string(5, '\xff') : keys::TenantPrefix(tenant + 1);
  rocksdb::WriteBatch wb;
  // Serialized with flushes and the building of day blocks, which must not put blocks read
  // from the tenant's records before the deletion after it.
  MutexLock flush_lock(&flush_mu_);
  std::vector<size_t> cfs;
  for (size_t cf = 0; cf < kCfDict; ++cf) cfs.push_back(cf);  // the tier families
  for (size_t cf :
       {size_t{kCfExemplars}, size_t{kCfExemplarsHour}, size_t{kCfExpiry}, size_t{kCfEdgeBlocks}}) {
    cfs.push_back(cf);
  }
  for (size_t cf : cfs) {
    rocksdb::Status s = wb.DeleteRange(handles_[cf], rocksdb::Slice(begin), rocksdb::Slice(end));
    if (!s.ok()) return FromRocks(s, "deleting tenant " + std::to_string(tenant));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return FromRocks(s, "deleting tenant " + std::to_string(tenant));
  if (options_.totals != nullptr) {
    std::unordered_set<NodeId> nodes;  // looked up first: no dictionary lock under the totals'
    for (const auto& [id, info] : ListNodes(tenant)) nodes.insert(id);
    options_.totals->RemoveIf([&](NodeId server) { return nodes.count(server) != 0; });
  }
  return Status::Ok();
}

}  // namespace ew::storage

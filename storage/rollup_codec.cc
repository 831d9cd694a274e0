// FlatBuffers encoding of rollups, exemplars and dictionary nodes, and the in-memory merge rules
// of RollupValue (the same rules the RocksDB merge operators apply).
#include "storage/rollup_codec.h"

#include <algorithm>
#include <cstdint>

#include "schemas/rollup_generated.h"

namespace ew::storage {

std::string_view NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kService:
      return "service";
    case NodeKind::kExternalClient:
      return "external_client";
    case NodeKind::kExternalService:
      return "external_service";
    case NodeKind::kDatabase:
      return "database";
    case NodeKind::kMessaging:
      return "messaging";
  }
  return "unknown";
}

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kHttp:
      return "http";
    case Protocol::kGrpc:
      return "grpc";
    case Protocol::kDatabase:
      return "database";
    case Protocol::kMessaging:
      return "messaging";
    case Protocol::kOther:
      return "other";
  }
  return "other";
}

bool ExemplarFits(ExemplarRole r, const Exemplar& e) {
  return e.error == (r == ExemplarRole::kNewestError || r == ExemplarRole::kSlowestError);
}

bool ExemplarBeats(ExemplarRole r, const Exemplar& a, const Exemplar& b) {
  const bool newest = r == ExemplarRole::kNewestError || r == ExemplarRole::kNewestSuccess;
  const auto first = [newest](const Exemplar& x) {
    return newest ? x.start_ms : static_cast<int64_t>(x.duration_us);
  };
  const auto second = [newest](const Exemplar& x) {
    return newest ? static_cast<int64_t>(x.duration_us) : x.start_ms;
  };
  if (first(a) != first(b)) return first(a) > first(b);
  if (second(a) != second(b)) return second(a) > second(b);
  if (a.trace_id != b.trace_id) return a.trace_id > b.trace_id;
  if (a.status != b.status) return a.status > b.status;
  return a.error > b.error;
}

bool ExemplarListedBefore(const Exemplar& a, const Exemplar& b) {
  return ExemplarBeats(ExemplarRole::kNewestSuccess, a, b);  // the order alone, not the fit
}

void RollupValue::AddExemplar(const Exemplar& e) {
  // The kept exemplars of e's class (error or success) are the holders of that class's two
  // roles: the new holders are the maxima over them and e. The other class is unaffected.
  const ExemplarRole newest = e.error ? ExemplarRole::kNewestError : ExemplarRole::kNewestSuccess;
  const ExemplarRole slowest =
      e.error ? ExemplarRole::kSlowestError : ExemplarRole::kSlowestSuccess;
  const Exemplar* n = &e;
  const Exemplar* s = &e;
  for (const auto& x : exemplars) {
    if (x == e) return;  // the same exemplar merged twice
    if (x.error != e.error) continue;
    if (ExemplarBeats(newest, x, *n)) n = &x;
    if (ExemplarBeats(slowest, x, *s)) s = &x;
  }
  if (n != &e && s != &e) return;  // e holds no role: nothing changes
  const Exemplar kept_newest = *n;
  const Exemplar kept_slowest = *s;
  std::erase_if(exemplars, [&](const Exemplar& x) { return x.error == e.error; });
  exemplars.push_back(kept_newest);
  if (!(kept_slowest == kept_newest)) exemplars.push_back(kept_slowest);
  std::sort(exemplars.begin(), exemplars.end(), ExemplarListedBefore);
}

void RollupValue::Merge(const RollupValue& other) {
  requests += other.requests;
  errors += other.errors;
  request_bytes += other.request_bytes;
  response_bytes += other.response_bytes;
  server_latency.Merge(other.server_latency);
  client_latency.Merge(other.client_latency);
  for (const auto& e : other.exemplars) AddExemplar(e);
}

void RollupEncoder::Encode(const RollupValue& v, std::string* out, bool client_sketch) {
  fbb_.Clear();
  server_.clear();
  client_.clear();
  v.server_latency.EncodeTo(&server_);
  if (client_sketch) v.client_latency.EncodeTo(&client_);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> server_off, client_off;
  if (!server_.empty()) {
    server_off =
        fbb_.CreateVector(reinterpret_cast<const uint8_t*>(server_.data()), server_.size());
  }
  if (!client_.empty()) {
    client_off =
        fbb_.CreateVector(reinterpret_cast<const uint8_t*>(client_.data()), client_.size());
  }
  auto root = schemas::CreateRollup(fbb_, v.requests, v.errors, v.request_bytes, v.response_bytes,
                                    server_off, client_off);
  fbb_.Finish(root);
  out->assign(reinterpret_cast<const char*>(fbb_.GetBufferPointer()), fbb_.GetSize());
}

namespace {

// FlatBuffers reads scalars in place and needs the buffer 8-byte aligned; RocksDB values (block
// contents, pinned slices) are not. A misaligned value is copied into a per-thread buffer
// (std::string storage is at least 8-byte aligned).
std::string_view Aligned(std::string_view data) {
  if (reinterpret_cast<uintptr_t>(data.data()) % 8 == 0) return data;
  thread_local std::string copy;
  copy.assign(data.data(), data.size());
  return copy;
}

std::string_view BytesOf(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return {reinterpret_cast<const char*>(v->data()), v->size()};
}

}  // namespace

Status DecodeRollup(std::string_view data, RollupValue* out, SketchDecode sketches) {
  data = Aligned(data);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (!schemas::VerifyRollupBuffer(verifier)) {
    return Status::Corruption("rollup value failed FlatBuffers verification");
  }
  const auto* r = schemas::GetRollup(data.data());
  out->requests = r->requests();
  out->errors = r->errors();
  out->request_bytes = r->request_bytes();
  out->response_bytes = r->response_bytes();
  out->exemplars.clear();
  out->encoded = {};
  if (sketches != SketchDecode::kDecode) {
    out->server_latency.Clear();
    out->client_latency.Clear();
    if (sketches == SketchDecode::kEncoded) {
      out->encoded = {BytesOf(r->server_latency()), BytesOf(r->client_latency())};
    }
    return Status::Ok();
  }
  EW_RETURN_IF_ERROR(LatencySketch::DecodeInto(BytesOf(r->server_latency()), &out->server_latency));
  return LatencySketch::DecodeInto(BytesOf(r->client_latency()), &out->client_latency);
}

void EncodeExemplars(const std::vector<Exemplar>& exemplars, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(64 + 40 * exemplars.size());
  std::vector<schemas::ExemplarEntry> entries;
  entries.reserve(exemplars.size());
  for (const auto& e : exemplars) {
    schemas::ExemplarEntry entry(flatbuffers::span<const uint8_t, 16>(e.trace_id.data(), 16),
                                 e.start_ms, e.duration_us, e.status, e.error);
    entries.push_back(entry);
  }
  auto vec = fbb.CreateVectorOfStructs(entries);
  fbb.Finish(schemas::CreateExemplarList(fbb, vec));
  out->assign(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Status DecodeExemplars(std::string_view data, std::vector<Exemplar>* out) {
  out->clear();
  data = Aligned(data);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (!verifier.VerifyBuffer<schemas::ExemplarList>(nullptr)) {
    return Status::Corruption("exemplar list failed FlatBuffers verification");
  }
  const auto* list = flatbuffers::GetRoot<schemas::ExemplarList>(data.data());
  if (list->exemplars() == nullptr) return Status::Ok();
  // The verifier checks a vector of structs for the alignment of its length only; reading
  // ExemplarEntry (8-byte aligned) at a position no builder writes would be undefined behaviour.
  if (reinterpret_cast<uintptr_t>(list->exemplars()->Data()) % alignof(schemas::ExemplarEntry) !=
      0) {
    return Status::Corruption("exemplar list has misaligned entries");
  }
  for (const auto* entry : *list->exemplars()) {
    Exemplar e;
    std::copy(entry->trace_id()->begin(), entry->trace_id()->end(), e.trace_id.begin());
    e.start_ms = entry->start_ms();
    e.duration_us = entry->duration_us();
    e.status = entry->status();
    e.error = entry->error();
    out->push_back(e);
  }
  return Status::Ok();
}

void EncodeDictNode(TenantId tenant, NodeKind kind, StringId ns_id, std::string_view name,
                    std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(64 + name.size());
  auto name_off = fbb.CreateString(name.data(), name.size());
  fbb.Finish(schemas::CreateDictNode(fbb, static_cast<uint8_t>(kind), ns_id, name_off, tenant));
  out->assign(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Status DecodeDictNode(std::string_view data, TenantId* tenant, NodeKind* kind, StringId* ns_id,
                      std::string* name) {
  data = Aligned(data);
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (!verifier.VerifyBuffer<schemas::DictNode>(nullptr)) {
    return Status::Corruption("dictionary node failed FlatBuffers verification");
  }
  const auto* n = flatbuffers::GetRoot<schemas::DictNode>(data.data());
  if (n->kind() > static_cast<uint8_t>(NodeKind::kMessaging)) {
    return Status::Corruption("dictionary node has an unknown kind");
  }
  *tenant = n->tenant();
  *kind = static_cast<NodeKind>(n->kind());
  *ns_id = n->ns_id();
  name->assign(n->name() ? n->name()->str() : std::string());
  return Status::Ok();
}

}  // namespace ew::storage

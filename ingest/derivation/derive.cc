#include "ingest/derivation/derive.h"

#include <algorithm>
#include <limits>

#include "base/hash.h"

namespace ew::ingest {
namespace {

using storage::NodeKind;
using storage::Protocol;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// 8-4-4-4-12 hex digits.
bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

// All digits; or 12+ hex digits with at least one digit (hashes, object ids).
bool IsIdSegment(std::string_view s) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), IsDigit)) return true;
  if (IsUuid(s)) return true;
  return s.size() >= 12 && std::all_of(s.begin(), s.end(), IsHex) &&
         std::any_of(s.begin(), s.end(), IsDigit);
}

// The first of '/' (when slash), '?' or '#' in s at or after from, or npos. (string_view's
// find_first_of calls memchr on the set once per character of s: ~3 % of the server's CPU.)
size_t FindPathEnd(std::string_view s, bool slash, size_t from = 0) {
  for (size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '?' || c == '#' || (slash && c == '/')) return i;
  }
  return std::string_view::npos;
}

std::string_view StripQuery(std::string_view p) {
  size_t cut = FindPathEnd(p, false);
  return cut == std::string_view::npos ? p : p.substr(0, cut);
}

// The path of an absolute URL ("" when none), without query.
std::string_view UrlPath(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return StripQuery(url.substr(0, 1) == "/" ? url : "");
  std::string_view rest = url.substr(scheme + 3);
  size_t slash = FindPathEnd(rest, true);
  if (slash == std::string_view::npos || rest[slash] != '/') return "/";
  return StripQuery(rest.substr(slash));
}

std::string StripPortLower(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));
  }
  std::string out(host);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  while (!out.empty() && out.back() == '.') out.pop_back();  // FQDN trailing dot
  return out;
}

bool IsIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j == i || j - i > 3) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

constexpr int64_t kNsPerMs = 1'000'000;

}  // namespace

bool IsIpLiteral(std::string_view host) {
  if (IsIpv4(host)) return true;
  if (host.find(':') == std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(),
                     [](char c) { return IsHex(c) || c == ':' || c == '.' || c == '%'; });
}

std::string_view UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, FindPathEnd(rest, true));
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  return rest;
}

namespace {

// The attribute a client span's destination comes from: the first present of peer.service,
// server.address, net.peer.name, http.host (0-3) and url.full's host (4); -1 when none. The
// destination depends on that one value only.
int ExternalHostSource(const SpanView& span, std::string_view* raw) {
  const std::string_view candidates[] = {span.peer_service, span.server_address, span.net_peer_name,
                                         span.http_host};
  for (int i = 0; i < 4; ++i) {
    if (!candidates[i].empty()) {
      *raw = candidates[i];
      return i;
    }
  }
  *raw = UrlHost(span.url_full);
  return raw->empty() ? -1 : 4;
}

// The destination named by one attribute value: "" for an IP literal or nothing.
std::string ExternalHostOf(std::string_view raw) {
  std::string host = StripPortLower(raw);
  if (host.empty() || IsIpLiteral(host)) return {};
  if (host.size() > kMaxPathBytes) host.resize(kMaxPathBytes);
  return host;
}

}  // namespace

std::string ExternalHostName(const SpanView& span) {
  std::string_view raw;
  if (ExternalHostSource(span, &raw) < 0) return {};
  return ExternalHostOf(raw);
}

bool NormalizePathSegmentsInto(std::string_view path, std::string* out) {
  out->clear();
  bool replaced = false;
  size_t i = 0;
  while (i < path.size()) {
    size_t slash = path.find('/', i);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    std::string_view seg = path.substr(i, end - i);
    if (IsIdSegment(seg)) {
      out->append("{id}");
      replaced = true;
    } else {
      out->append(seg);
    }
    if (slash == std::string_view::npos) break;
    out->push_back('/');
    i = slash + 1;
  }
  if (out->size() > kMaxPathBytes) out->resize(kMaxPathBytes);
  return replaced;
}

std::string NormalizePathSegments(std::string_view path) {
  std::string out;
  NormalizePathSegmentsInto(path, &out);
  return out;
}

namespace {

// The attribute a span's path comes from: http.route (0), url.path/http.target (1), url.full
// (2); -1 when none (gRPC spans then use rpc.service/method).
int PathSource(const SpanView& span, std::string_view* raw) {
  const std::string_view candidates[] = {span.http_route, span.url_path, span.url_full};
  for (int i = 0; i < 3; ++i) {
    if (!candidates[i].empty()) {
      *raw = candidates[i];
      return i;
    }
  }
  return -1;
}

}  // namespace

bool NormalizePathInto(const SpanView& span, std::string* out) {
  std::string_view raw;
  switch (PathSource(span, &raw)) {
    case 0:
    case 1:
      return NormalizePathSegmentsInto(StripQuery(raw), out);
    case 2:
      return NormalizePathSegmentsInto(UrlPath(raw), out);
    default:
      break;
  }
  out->clear();
  if (span.rpc_system == "grpc" && !span.rpc_service.empty()) {
    std::string p = "/";
    p.append(span.rpc_service);
    if (!span.rpc_method.empty()) p.append("/").append(span.rpc_method);
    return NormalizePathSegmentsInto(p, out);
  }
  return false;
}

std::string NormalizePath(const SpanView& span) {
  std::string out;
  NormalizePathInto(span, &out);
  return out;
}

Protocol ProtocolOf(const SpanView& span) {
  if (span.rpc_system == "grpc") return Protocol::kGrpc;
  if (!span.db_system.empty()) return Protocol::kDatabase;
  if (!span.messaging_system.empty()) return Protocol::kMessaging;
  if (!span.http_method.empty() || span.http_status != 0 || !span.http_route.empty() ||
      !span.url_path.empty() || !span.url_full.empty() || !span.http_host.empty()) {
    return Protocol::kHttp;
  }
  return Protocol::kOther;
}

bool IsErrorSpan(const SpanView& span) {
  if (span.status == SpanStatus::kError) return true;
  if (span.http_status >= 500 && span.http_status <= 599) return true;
  switch (span.grpc_status) {
    case 2:
    case 4:
    case 12:
    case 13:
    case 14:
    case 15:  // clang-format off
      return true;
    default:
      return false;
  }
}

uint16_t StatusOf(const SpanView& span) {
  if (span.http_status >= 100 && span.http_status <= 599) {
    return static_cast<uint16_t>(span.http_status);
  }
  if (span.rpc_system == "grpc" && span.grpc_status >= 0 && span.grpc_status <= 16) {
    return static_cast<uint16_t>(span.grpc_status);
  }
  return 0;
}

WeightCode WeightCodeOf(std::string_view ts) {
  // tracestate: comma-separated "key=value"; the "ot" value is ';'-separated "sub:value".
  while (!ts.empty()) {
    size_t comma = ts.find(',');
    std::string_view member = ts.substr(0, comma);
    ts = comma == std::string_view::npos ? std::string_view() : ts.substr(comma + 1);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    if (member.substr(0, 3) != "ot=") continue;
    std::string_view v = member.substr(3);
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view sub = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      if (sub.substr(0, 3) != "th:") continue;
      std::string_view hex = sub.substr(3);
      if (hex.empty() || hex.size() > 14 || !std::all_of(hex.begin(), hex.end(), IsHex)) return 0;
      // The threshold is the hex digits padded on the right to 14 (56 bits); keep the top 16.
      uint32_t code = 0;
      for (size_t i = 0; i < 4; ++i) {
        char c = i < hex.size() ? hex[i] : '0';
        uint32_t d = IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        code = (code << 4) | d;
      }
      return static_cast<WeightCode>(code);
    }
    return 0;
  }
  return 0;
}

Result<WellKnownIds> InternWellKnown(Interner* interner) {
  WellKnownIds ids;
  EW_ASSIGN_OR_RETURN(ids.external_client,
                      interner->Node(NodeKind::kExternalClient, "", kExternalClientName));
  EW_ASSIGN_OR_RETURN(ids.unknown_external,
                      interner->Node(NodeKind::kExternalService, "", kUnknownExternalName));
  EW_ASSIGN_OR_RETURN(ids.other_path, interner->String(storage::StringKind::kPath, kOtherPath));
  for (size_t m = 1; m < static_cast<size_t>(MethodCode::kCount); ++m) {
    EW_ASSIGN_OR_RETURN(ids.methods[m],
                        interner->String(storage::StringKind::kMethod,
                                         MethodCodeName(static_cast<MethodCode>(m))));
  }
  return ids;
}

void DeriveCache::Reset(uint64_t owner) {
  owner_ = owner;
  for (Entry* table : {paths_, peers_, normalized_, names_}) {
    for (size_t i = 0; i < kSlots; ++i) {
      table[i].hash = 0;
      table[i].source = -2;
      std::string().swap(table[i].raw);
    }
  }
}

DeriveCache::Probe DeriveCache::Find(Entry* table, int source, std::string_view raw) {
  Probe p;
  if (raw.size() > kMaxRawBytes) return p;
  p.hash = Hash64(raw, static_cast<uint64_t>(source + 2));
  p.slot = &table[p.hash & (kSlots - 1)];
  p.hit = p.slot->hash == p.hash && p.slot->source == source && p.slot->raw == raw;
  return p;
}

void DeriveCache::Probe::Fill(int source, std::string_view raw, uint32_t id) const {
  if (slot == nullptr) return;
  slot->hash = hash;
  slot->source = source;
  slot->raw.assign(raw);
  slot->id = id;
}

Result<storage::NodeId> HalfDeriver::ExternalPeer(const SpanView& span) {
  std::string_view raw;
  const int source = ExternalHostSource(span, &raw);
  if (source == last_peer_.source && raw == last_peer_.raw) return last_peer_.id;
  storage::NodeId id = ids_.unknown_external;
  if (source >= 0) {
    const DeriveCache::Probe probe = cache_ != nullptr ? cache_->Peer(source, raw) : DeriveCache::Probe{};
    if (probe.hit) {
      id = probe.slot->id;
    } else {
      if (std::string host = ExternalHostOf(raw); !host.empty()) {
        EW_ASSIGN_OR_RETURN(id, interner_->Node(NodeKind::kExternalService, "", host));
      }
      probe.Fill(source, raw, id);
    }
  }
  last_peer_.source = source;
  last_peer_.raw.assign(raw);
  last_peer_.id = id;
  return id;
}

Result<storage::NodeId> HalfDeriver::NamedNode(NodeKind kind, int cache_kind) {
  const DeriveCache::Probe probe =
      cache_ != nullptr ? cache_->Named(cache_kind, scratch_) : DeriveCache::Probe{};
  if (probe.hit) return probe.slot->id;
  EW_ASSIGN_OR_RETURN(storage::NodeId id, interner_->Node(kind, "", scratch_));
  probe.Fill(cache_kind, scratch_, id);
  return id;
}

Result<storage::NodeId> HalfDeriver::MessagingNode(const SpanView& span) {
  scratch_.assign(span.messaging_system.substr(0, kMaxPathBytes));
  if (!span.messaging_destination.empty()) {
    scratch_.append("/").append(span.messaging_destination.substr(0, kMaxPathBytes));
  }
  return NamedNode(NodeKind::kMessaging, DeriveCache::kMessagingName);
}

Result<storage::StringId> HalfDeriver::PathId(const SpanView& span) {
  std::string_view raw;
  const int source = PathSource(span, &raw);  // gRPC-only paths (-1) are not remembered
  if (source >= 0 && source == last_path_.source && raw == last_path_.raw) return last_path_.id;
  const DeriveCache::Probe probe = cache_ != nullptr && source >= 0 ? cache_->Path(source, raw)
                                                                     : DeriveCache::Probe{};
  storage::StringId id = 0;
  if (probe.hit) {
    id = probe.slot->id;
  } else {
    const bool replaced = NormalizePathInto(span, &path_);
    const DeriveCache::Probe normalized =
        cache_ != nullptr && !path_.empty() ? cache_->Normalized(path_) : DeriveCache::Probe{};
    if (normalized.hit) {
      id = normalized.slot->id;
    } else {
      EW_ASSIGN_OR_RETURN(id, interner_->String(storage::StringKind::kPath, path_));
      normalized.Fill(0, path_, id);
    }
    // A raw path with an id in it is rarely seen again: it would only push out one that is.
    if (!replaced) probe.Fill(source, raw, id);
  }
  if (source >= 0) {
    last_path_.source = source;
    last_path_.raw.assign(raw);
    last_path_.id = id;
  }
  return id;
}

size_t LinkedHalves(const SpanView& span, const HalfRecord& base, HalfRecord* out) {
  if (span.link_count == 0 || base.role != HalfRole::kServerAlone) return 0;
  if (span.kind != SpanKind::kServer && span.kind != SpanKind::kConsumer) return 0;
  size_t n = 0;
  for (uint32_t i = 0; i < span.link_count && i < kMaxSpanLinks; ++i) {
    const SpanLink& link = span.links[i];
    uint64_t key = 0;
    for (uint8_t b : link.span_id) key = (key << 8) | b;
    if (key == 0) continue;
    bool seen = false;  // a link given twice pairs once
    for (size_t j = 0; j < n && !seen; ++j) {
      seen = out[j].span_key == key && out[j].trace_id == link.trace_id;
    }
    if (seen) continue;
    HalfRecord& r = out[n++];
    r = base;
    r.trace_id = link.trace_id;
    r.span_key = key;
    r.role = HalfRole::kServerPending;
  }
  return n;
}

Result<DeriveResult> HalfDeriver::Derive(const SpanView& span, int64_t now_ms, HalfRecord* out) {
  const int64_t start_ms = static_cast<int64_t>(span.start_ns / kNsPerMs);
  if (start_ms < now_ms - limits_.max_span_age_ms) return DeriveResult::kTooOld;
  if (start_ms > now_ms + limits_.max_span_future_ms) return DeriveResult::kTooNew;
  const bool client = span.kind == SpanKind::kClient || span.kind == SpanKind::kProducer;
  const bool server = span.kind == SpanKind::kServer || span.kind == SpanKind::kConsumer;
  if (!client && !server) return DeriveResult::kNoEdge;

  HalfRecord& r = *out;
  r = HalfRecord{};
  r.trace_id = span.trace_id;
  r.start_ms = start_ms;
  uint64_t dur_us = span.end_ns > span.start_ns ? (span.end_ns - span.start_ns) / 1000 : 0;
  r.duration_us = static_cast<uint32_t>(std::min<uint64_t>(dur_us, UINT32_MAX));
  r.request_bytes = static_cast<uint32_t>(std::clamp<int64_t>(span.request_bytes, 0, UINT32_MAX));
  r.response_bytes =
      static_cast<uint32_t>(std::clamp<int64_t>(span.response_bytes, 0, UINT32_MAX));
  r.status = StatusOf(span);
  r.weight = WeightCodeOf(span.trace_state);
  r.protocol = ProtocolOf(span);
  r.method = ParseMethod(span.http_method);
  r.error = IsErrorSpan(span);

  std::string_view ns = !span.k8s_namespace.empty() ? span.k8s_namespace : span.service_namespace;
  std::string_view name = span.service_name.empty() ? kUnknownServiceName : span.service_name;
  ns = ns.substr(0, kMaxPathBytes);
  name = name.substr(0, kMaxPathBytes);
  if (last_service_.id != 0 && ns == last_service_.ns && name == last_service_.name) {
    r.node = last_service_.id;
  } else {
    EW_ASSIGN_OR_RETURN(r.node, interner_->Node(NodeKind::kService, ns, name));
    last_service_.ns.assign(ns);
    last_service_.name.assign(name);
    last_service_.id = r.node;
  }
  EW_ASSIGN_OR_RETURN(r.path, PathId(span));
  const bool messaging = !span.messaging_system.empty();

  if (client) {
    uint64_t key = 0;
    for (uint8_t b : span.span_id) key = (key << 8) | b;
    r.span_key = key;
    if (!span.db_system.empty() && span.kind == SpanKind::kClient) {
      scratch_.assign(span.db_system.substr(0, kMaxPathBytes));
      if (!span.db_namespace.empty()) {
        scratch_.append("/").append(span.db_namespace.substr(0, kMaxPathBytes));
      }
      EW_ASSIGN_OR_RETURN(r.peer, NamedNode(NodeKind::kDatabase, DeriveCache::kDatabaseName));
      r.role = HalfRole::kClientAlone;
      return DeriveResult::kHalf;
    }
    if (messaging) {
      EW_ASSIGN_OR_RETURN(r.peer, MessagingNode(span));
    } else {
      EW_ASSIGN_OR_RETURN(r.peer, ExternalPeer(span));
    }
    r.role = key == 0 ? HalfRole::kClientAlone : HalfRole::kClientPending;
    return DeriveResult::kHalf;
  }
  // Server or consumer.
  if (span.kind == SpanKind::kConsumer && messaging) {
    EW_ASSIGN_OR_RETURN(r.peer, MessagingNode(span));
  } else {
    r.peer = ids_.external_client;
  }
  uint64_t parent = 0;
  for (uint8_t b : span.parent_span_id) parent = (parent << 8) | b;
  r.span_key = parent;
  r.role = (span.has_parent && parent != 0) ? HalfRole::kServerPending : HalfRole::kServerAlone;
  return DeriveResult::kHalf;
}

}  // namespace ew::ingest

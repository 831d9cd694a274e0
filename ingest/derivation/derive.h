// Derivation: one decoded span (SpanView) becomes one HalfRecord by the rules of DESIGN.md
// "What an edge is" — node identity, pairing role, the node on the other side when no partner
// comes (external service by hostname, External Client, database, messaging), protocol, path
// normalization, method, status, error, latency, event time and sampling weight. The rules are
// spelled out in docs/ingest.md.
//
// Thread-safety: HalfDeriver holds scratch memory; use one per thread (or per request). The pure
// helpers are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "ingest/decoders/span_view.h"
#include "ingest/derivation/half_record.h"
#include "ingest/derivation/interner.h"

namespace ew::ingest {

inline constexpr std::string_view kExternalClientName = "External Client";
inline constexpr std::string_view kUnknownExternalName = "Unknown External Service";
inline constexpr std::string_view kUnknownServiceName = "unknown_service";
inline constexpr std::string_view kOtherPath = "{other}";
inline constexpr size_t kMaxPathBytes = 256;

// Ids interned once at start-up (per tenant: TenantRegistry).
struct WellKnownIds {
  storage::TenantId tenant = storage::kDefaultTenant;  // whose ids these are
  storage::NodeId external_client = 0;
  storage::NodeId unknown_external = 0;
  storage::StringId other_path = 0;
  storage::StringId methods[static_cast<size_t>(MethodCode::kCount)] = {};
};
Result<WellKnownIds> InternWellKnown(Interner* interner);

struct DeriveLimits {
  int64_t max_span_age_ms = 24 * 3600'000LL;
  int64_t max_span_future_ms = 10 * 60'000LL;
};

enum class DeriveResult {
  kHalf,    // *out holds a half
  kNoEdge,  // accepted, but the span takes no part in the map (INTERNAL, UNSPECIFIED)
  kTooOld,  // refused: start older than max_span_age
  kTooNew,  // refused: start more than max_span_future ahead
};

// What a thread already derived from raw attribute values, across requests: a raw path (by the
// attribute it came from) to its normalized path's id, and a raw destination to its external
// node's id. Direct-mapped (a new value replaces the one in its slot), each entry verified by its
// full bytes, so a hit is exactly what normalizing and interning would give. Ids are a store's:
// a cache serves one interner, named by owner (see Reset).
class DeriveCache {
 public:
  static constexpr size_t kSlots = 1024;       // per table
  static constexpr size_t kMaxRawBytes = 512;  // longer values are not cached

  struct Entry {
    uint64_t hash = 0;
    int source = -2;  // -2: empty
    uint32_t id = 0;
    std::string raw;
  };
  // A lookup of (source, raw) in one table: its slot (nullptr when raw is too long to cache) and
  // whether the slot holds it (then slot->id is the answer; else Fill the slot once it is known).
  struct Probe {
    Entry* slot = nullptr;
    uint64_t hash = 0;
    bool hit = false;
    void Fill(int source, std::string_view raw, uint32_t id) const;
  };
  uint64_t owner() const { return owner_; }
  // Forgets every entry, and names the interner the ids come from from now on.
  void Reset(uint64_t owner);
  Probe Path(int source, std::string_view raw) { return Find(paths_, source, raw); }
  Probe Peer(int source, std::string_view raw) { return Find(peers_, source, raw); }
  // A normalized path to its id (for raw paths with ids in them: each raw value is new, its
  // normalized form is not).
  Probe Normalized(std::string_view path) { return Find(normalized_, 0, path); }
  // A database or messaging node by its name (kind: kDatabaseName or kMessagingName).
  static constexpr int kDatabaseName = 0;
  static constexpr int kMessagingName = 1;
  Probe Named(int kind, std::string_view name) { return Find(names_, kind, name); }

 private:
  static Probe Find(Entry* table, int source, std::string_view raw);

  uint64_t owner_ = 0;
  Entry paths_[kSlots];
  Entry peers_[kSlots];
  Entry normalized_[kSlots];
  Entry names_[kSlots];
};

class HalfDeriver {
 public:
  // cache (optional): the calling thread's DeriveCache for this interner.
  HalfDeriver(Interner* interner, const WellKnownIds& ids, const DeriveLimits& limits,
              DeriveCache* cache = nullptr)
      : interner_(interner), ids_(ids), limits_(limits), cache_(cache) {}

  // Fails only when interning fails (storage error).
  Result<DeriveResult> Derive(const SpanView& span, int64_t now_ms, HalfRecord* out);

 private:
  Result<storage::NodeId> ExternalPeer(const SpanView& span);
  Result<storage::NodeId> MessagingNode(const SpanView& span);
  // The node of kind named scratch_, through the cache's names (DeriveCache::Named).
  Result<storage::NodeId> NamedNode(storage::NodeKind kind, int cache_kind);
  Result<storage::StringId> PathId(const SpanView& span);

  Interner* interner_;
  WellKnownIds ids_;
  DeriveLimits limits_;
  DeriveCache* cache_;
  std::string scratch_;
  std::string path_;
  // The last lookups, by their raw inputs: consecutive spans of one resource share the service,
  // and often the route or the destination, so most spans skip hashing these strings.
  struct LastService {
    std::string ns, name;
    storage::NodeId id = 0;
  } last_service_;
  struct LastRaw {    // a raw input (which attribute it came from, its bytes) and its id
    int source = -2;  // none yet (the sources are -1 "no attribute" and 0..4)
    std::string raw;
    uint32_t id = 0;
  } last_path_, last_peer_;
};

// Span links (docs/ingest.md, "Span links"): the halves through which a SERVER or CONSUMER span
// without a parent pairs with the spans it links to (a batch consumer with the producer span of
// each message), as if each were its parent. `base` is the span's own half (role kServerAlone);
// each distinct link with a non-zero span id gives a copy with the link's trace id, its span id
// as the pairing key and role kServerPending. Writes up to kMaxSpanLinks halves to out and
// returns how many: 0 when the span keeps its own half — it has a parent (the parent wins), is
// not a server or consumer, or has no usable link.
size_t LinkedHalves(const SpanView& span, const HalfRecord& base, HalfRecord* out);

// --- Pure rules (exposed for tests).

// "" when the span has no path; else the normalized path (query dropped, id segments -> {id},
// at most kMaxPathBytes).
std::string NormalizePath(const SpanView& span);
// The same into *out (replaced), reusing its memory.
// Returns whether an id segment was replaced (such a raw path rarely comes again).
bool NormalizePathInto(const SpanView& span, std::string* out);
// Replaces numeric, UUID and long-hex segments of a path (no query) by {id}.
std::string NormalizePathSegments(std::string_view path);
bool NormalizePathSegmentsInto(std::string_view path, std::string* out);
// The external destination host of a client span, lower-cased and without port, or "" when the
// first present naming attribute is missing or an IP literal.
std::string ExternalHostName(const SpanView& span);
bool IsIpLiteral(std::string_view host);
// Host part of a URL ("https://User@Api.Example.com:443/x" -> "Api.Example.com"); "" if none.
std::string_view UrlHost(std::string_view url);
storage::Protocol ProtocolOf(const SpanView& span);
bool IsErrorSpan(const SpanView& span);
// Status dimension: HTTP status in [100, 599], else gRPC code in [0, 16] for gRPC, else 0.
uint16_t StatusOf(const SpanView& span);
// The sampling weight code of a W3C tracestate (ot=th:<hex>), 0 (weight 1) when absent/invalid.
WeightCode WeightCodeOf(std::string_view trace_state);

}  // namespace ew::ingest

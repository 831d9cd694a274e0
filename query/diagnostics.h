// Missing-edge diagnostics of /api/v1/service: which halves of a node found no partner, and
// which of them point at broken trace-context propagation rather than at the expected outcome.
//
// A client (or producer) half that no server (or consumer) span answers becomes a call to an
// external_service (or messaging) node. Toward a service that is not traced (api.stripe.com)
// that is what should happen; toward a traced service it means the server's span did not get
// the caller's context. So every such destination gets a verdict:
//   - "propagation": the external name is that of a traced service (a service node of the store:
//     the name itself, or `<service>.<namespace>[...]` as Kubernetes DNS names it), or a
//     messaging destination that traced consumers read without a parent span;
//   - "expected": an external service with no traced namesake, a destination nobody consumes;
//   - "unknown": `Unknown External Service` (only an IP address or no name: cannot tell).
// Server halves that expired always point at propagation (a parent span id came, its client span
// never did); evicted halves at the capacity of the pending table.
//
// Thread-safety: functions over values; the store is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "query/json_writer.h"
#include "query/predicate.h"
#include "storage/edge_store.h"

namespace ew::query {

struct UnansweredCalls {
  enum class Verdict : uint8_t { kExpected, kPropagation, kUnknown };
  storage::NodeId node = 0;  // the external_service or messaging node
  uint64_t requests = 0;
  Verdict verdict = Verdict::kExpected;
  std::optional<storage::NodeId> traced_service;  // the traced service the name stands for
};

struct MissingEdges {
  std::array<uint64_t, 3> expired{};  // by storage::ExpiryKind: client, server halves, evicted
  std::vector<UnansweredCalls> destinations;  // most requests first
};

// Classifies the calls of one node (or namespace group; caller_ns is its namespace) to
// unanswered destinations: `calls` maps external_service and messaging node ids to requests over
// [start_minute, end_minute). Storage errors from the consumer lookups are returned.
Result<std::vector<UnansweredCalls>> ClassifyUnanswered(
    const std::map<storage::NodeId, uint64_t>& calls, const std::string& caller_ns,
    int64_t start_minute, int64_t end_minute, const storage::EdgeStore& store, Dictionary* dict);

// "missing_edges": {client_halves_expired, server_halves_expired, evicted, destinations: [...],
// propagation_suspects, expected_unpaired, hint}.
void WriteMissingEdges(JsonWriter& w, const MissingEdges& m, Dictionary* dict);

}  // namespace ew::query

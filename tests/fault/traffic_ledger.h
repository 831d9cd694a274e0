// TrafficLedger: OTLP traffic for fault tests together with the ground truth of what the server
// acknowledged, and the check of a service map against it.
//
// Every request gets edges of its own (service names carry the request's number), so the stored
// count of each edge tells exactly which requests were counted: an acknowledged request must be
// counted exactly once, a refused one (503/429/4xx) never, and one whose answer was lost (the
// server was killed) either once or never — never twice, never in part. Requests are:
//   - root requests: SERVER spans without a parent, External Client -> "root-S-K", some with
//     5xx statuses (errors), some also carrying a complete client/server pair "ic-S-K" -> "is-S-K";
//   - pair halves: the CLIENT half of "pc-S-G" -> "ps-S-G" in one request and the SERVER half in
//     a later one (for odd G the server half comes first), so pending halves live across kills.
//
// Thread-safety: NextRequest/Record/Check may be called from several threads (one mutex); each
// sender thread uses its own `stream` number.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tools/http_client.h"

namespace ew::testing {

enum class Outcome { kUnsent, kAcked, kRefused, kUnknown };

// (source node name, target node name) -> (requests, errors), from /api/v1/map.
using EdgeCounts = std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>>;

struct LedgerSummary {
  uint64_t requests = 0, acked = 0, refused = 0, unknown = 0;
  uint64_t acked_spans = 0;
  uint64_t expected_edges = 0;
};

class TrafficLedger {
 public:
  TrafficLedger(uint64_t seed, int streams);

  // The next request of `stream`: its id (for Record) and protobuf body.
  std::pair<size_t, std::string> NextRequest(int stream);
  void Record(size_t request, Outcome outcome);
  // Mismatches between the map's edges and the ledger (empty when all is right).
  std::vector<std::string> Check(const EdgeCounts& edges) const;
  LedgerSummary Summary() const;

 private:
  struct ExpectedEdge {
    std::string source, target;
    uint64_t requests = 0, errors = 0;
    std::vector<size_t> depends_on;  // request ids that must all be counted for the edge
  };
  struct Stream {
    uint64_t next = 0;        // requests made by this stream
    uint64_t groups = 0;      // pair groups opened
    bool open_group = false;  // a first half was sent, the second is due
    size_t group_edge = 0;    // index in edges_ of the open group
    std::string second_half;  // the body of the open group's second half
  };

  std::string RootRequest(int stream, uint64_t k, size_t id);
  std::string PairRequest(int stream, size_t id);

  const uint64_t seed_;
  mutable std::mutex mu_;
  std::vector<Outcome> outcomes_;     // GUARDED_BY(mu_)
  std::vector<uint64_t> span_count_;  // GUARDED_BY(mu_): spans per request
  std::vector<ExpectedEdge> edges_;   // GUARDED_BY(mu_)
  std::vector<Stream> streams_;       // GUARDED_BY(mu_)
  uint64_t ids_ = 0;                  // GUARDED_BY(mu_): span/trace id counter
};

// Sends one OTLP protobuf body; kAcked for a 200, kRefused for a definite refusal, kUnknown when
// no answer came. *status is the HTTP status (0 without one). A 200 with rejected spans, a 503/429
// without Retry-After or any other status is described in *problem.
Outcome SendTraces(tools::HttpConnection* client, const std::string& body, int* status,
                   std::string* problem);

// GET /api/v1/map over a wide window, as EdgeCounts.
Result<EdgeCounts> FetchMapEdges(tools::HttpConnection* client);

}  // namespace ew::testing

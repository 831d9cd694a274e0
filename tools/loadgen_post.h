// PostTraces: one OTLP/HTTP export with the load generator's retry rules. Internal to tools.
// Thread-safety: one HttpConnection per thread.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "tools/http_client.h"
#include "tools/otlp_encoder.h"

namespace ew::tools {

enum class PostOutcome : uint8_t {
  kAcked,        // 200 and no span refused
  kPartial,      // 200 but partial_success refused some spans (which ones is unknown)
  kRefused,      // a definite error answer: nothing was counted
  kAmbiguous,    // the connection broke after the body was sent
  kUnreachable,  // never reached the server
};

struct PostResult {
  PostOutcome outcome = PostOutcome::kRefused;
  int http_status = 0;
  int64_t rejected = 0;
  std::string message;
};

// Retries 429/503 (after Retry-After, ~30 s in all) and failures where the body was not sent
// (~5 s);
// gives up early when *stop is set.
PostResult PostTraces(HttpConnection* conn, std::string_view body, Encoding encoding,
                      const std::atomic<bool>* stop);

}  // namespace ew::tools

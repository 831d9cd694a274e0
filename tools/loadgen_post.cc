#include "tools/loadgen_post.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

namespace ew::tools {

PostResult PostTraces(HttpConnection* conn, std::string_view body, Encoding encoding,
                      const std::atomic<bool>* stop) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", std::string(ContentType(encoding))}};
  if (IsGzip(encoding)) headers.emplace_back("Content-Encoding", "gzip");
  PostResult pr;
  int waited_ms = 0;
  for (int attempt = 0;; ++attempt) {
    bool maybe_sent = false;
    Result<HttpResponse> r =
        conn->Request("POST", IngestPath(encoding), headers, body, &maybe_sent);
    int sleep_ms = 0;
    if (!r.ok()) {
      pr.message = r.status().message();
      if (maybe_sent) {
        pr.outcome = PostOutcome::kAmbiguous;
        return pr;
      }
      pr.outcome = PostOutcome::kUnreachable;
      sleep_ms = 500;
    } else {
      pr.http_status = r->status;
      if (IsZipkin(encoding) && r->status == 202) {  // Zipkin: no partial success
        pr.outcome = PostOutcome::kAcked;
        return pr;
      }
      if (r->status == 200 && !IsZipkin(encoding)) {
        pr.rejected = RejectedSpans(r->body, IsJson(encoding));
        pr.outcome = pr.rejected > 0 ? PostOutcome::kPartial : PostOutcome::kAcked;
        if (pr.rejected > 0) pr.message = r->body.substr(0, 200);
        return pr;
      }
      pr.message = r->body.substr(0, 300);
      pr.outcome = PostOutcome::kRefused;
      if (r->status != 429 && r->status != 503) return pr;
      int retry_s = 1;
      std::string_view ra = r->Header("retry-after");
      std::from_chars(ra.data(), ra.data() + ra.size(), retry_s);
      sleep_ms = std::clamp(retry_s, 0, 5) * 1000 + 50;
    }
    // Overload is waited out for ~30 s; a server that cannot be reached at all for ~5 s.
    int limit_ms = pr.outcome == PostOutcome::kUnreachable ? 5'000 : 30'000;
    if (waited_ms >= limit_ms || (stop && stop->load() && attempt > 2)) return pr;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    waited_ms += sleep_ms;
  }
}

}  // namespace ew::tools

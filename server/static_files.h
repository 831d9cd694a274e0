// StaticFiles: serves the web UI bundle (web/dist) on the HTTP listener. Paths are decoded,
// checked segment by segment (no "..", no hidden files, no NUL or backslash) and resolved inside
// the root, so no request can read outside it. Unknown paths are 404 (JSON). Without a bundle, "/"
// answers a small built-in page that says so.
//
// Thread-safety: immutable after construction; Serve may be called concurrently.
#pragma once

#include <string>
#include <string_view>

#include "server/http_types.h"

namespace ew::server {

// Picks the UI directory: `configured` when non-empty, else the source tree's web/dist
// (compile definition EW_WEB_DIR) when it holds index.html. Empty when none is found.
std::string FindWebDir(const std::string& configured);

class StaticFiles {
 public:
  explicit StaticFiles(std::string root);  // root may be empty: built-in page only

  // Answers GET/HEAD for `path` (the raw, still-encoded request path).
  Response Serve(std::string_view path) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// "text/html; charset=utf-8" etc. by extension; application/octet-stream when unknown.
std::string ContentTypeForPath(std::string_view path);

}  // namespace ew::server

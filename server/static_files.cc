#include "server/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/url.h"

namespace ew::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBuiltinPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edgewise</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Edgewise</h1>
<p>The server is running, but the web UI bundle is not built (no web/dist directory was found).
Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, or point
<code>--web-dir</code> at it.</p>
<p>The query API is at <a href="/api/v1/map">/api/v1/map</a>; health at
<a href="/healthz">/healthz</a>, metrics at <a href="/metrics">/metrics</a>.</p>
</body></html>
)";

bool ReadWholeFile(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return static_cast<bool>(in) || in.eof();
}

// True when every segment of the decoded path is a plain name.
bool SafeRelativePath(std::string_view decoded) {
  if (decoded.find('\0') != std::string_view::npos) return false;
  if (decoded.find('\\') != std::string_view::npos) return false;
  size_t pos = 0;
  while (pos <= decoded.size()) {
    size_t slash = decoded.find('/', pos);
    std::string_view seg =
        decoded.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    if (!seg.empty() && seg.front() == '.') return false;  // "..", ".", hidden files
    if (slash == std::string_view::npos) break;
    // "//x" would make the joined path absolute; only the leading '/' may precede a segment.
    if (seg.empty() && pos != 0) return false;
    pos = slash + 1;
  }
  return true;
}

}  // namespace

std::string ContentTypeForPath(std::string_view path) {
  size_t dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view() : path.substr(dot);
  struct Entry {
    std::string_view ext, type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  for (const auto& e : kTypes) {
    if (IEquals(e.ext, ext)) return std::string(e.type);
  }
  return "application/octet-stream";
}

std::string FindWebDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  // Next to the binary: <prefix>/web/dist for build/server/edgewise or bin/edgewise.
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"../../web/dist", "../web/dist", "web/dist"}) {
      fs::path dir = exe.parent_path() / rel;
      if (fs::exists(dir / "index.html", ec)) return fs::weakly_canonical(dir, ec).string();
    }
  }
#ifdef EW_WEB_DIR
  if (fs::exists(fs::path(EW_WEB_DIR) / "index.html", ec)) return EW_WEB_DIR;
#endif
  return {};
}

StaticFiles::StaticFiles(std::string root) : root_(std::move(root)) {}

Response StaticFiles::Serve(std::string_view path) const {
  auto decoded = UrlDecode(path, false);
  if (!decoded || decoded->empty() || (*decoded)[0] != '/' || !SafeRelativePath(*decoded)) {
    return ErrorResponse(404, "not found", "static");
  }
  std::string rel = decoded->substr(1);
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  Response r;
  r.route = "static";
  if (root_.empty()) {
    if (rel != "index.html") return ErrorResponse(404, "not found", "static");
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(kBuiltinPage);
    return r;
  }
  if (!fs::path(rel).is_relative()) return ErrorResponse(404, "not found", "static");
  fs::path file = fs::path(root_) / rel;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    if (rel != "index.html") return ErrorResponse(404, "not found", "static");
    r.content_type = "text/html; charset=utf-8";  // a web dir without a built bundle
    r.body = std::string(kBuiltinPage);
    return r;
  }
  if (!ReadWholeFile(file, &r.body)) return ErrorResponse(404, "not found", "static");
  r.content_type = ContentTypeForPath(rel);
  if (rel.rfind("assets/", 0) == 0) {
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    r.headers.emplace_back("Cache-Control", "no-cache");
  }
  return r;
}

}  // namespace ew::server

// The registry of request formats: which decoder a POST to which path with which media type
// reaches. Adding a format: its Decoder in a file of its own, one line in Routes() below (the
// server's ingest listener then serves it, with 404 for other paths and 415 for other types).
#include <algorithm>
#include <string>

#include "ingest/decoders/decoder.h"

namespace ew::ingest {
namespace {

std::span<const DecoderRoute> Routes() {
  static const DecoderRoute routes[] = {
      {"/v1/traces", "application/x-protobuf", &OtlpProtobufDecoder()},
      {"/v1/traces", "application/protobuf", &OtlpProtobufDecoder()},
      {"/v1/traces", "application/json", &OtlpJsonDecoder()},
      {"/api/v2/spans", "application/json", &ZipkinJsonDecoder()},
  };
  return routes;
}

}  // namespace

std::span<const DecoderRoute> DecoderRoutes() { return Routes(); }

const Decoder* FindDecoder(std::string_view path, std::string_view media_type) {
  for (const DecoderRoute& r : Routes()) {
    if (r.path == path && r.media_type == media_type) return r.decoder;
  }
  return nullptr;
}

bool IsDecoderPath(std::string_view path) {
  const std::span<const DecoderRoute> routes = Routes();
  return std::any_of(routes.begin(), routes.end(),
                     [&](const DecoderRoute& r) { return r.path == path; });
}

std::string AcceptedMediaTypes(std::string_view path) {
  std::string out;
  for (const DecoderRoute& r : Routes()) {
    if (r.path != path) continue;
    if (!out.empty()) out += " or ";
    out += r.media_type;
  }
  return out;
}

}  // namespace ew::ingest

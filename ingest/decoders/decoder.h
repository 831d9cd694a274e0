// Decoder: the seam between a request body format and the rest of ingest. A decoder turns one
// (inflated) body into SpanViews for a SpanSink, and says how the request is answered: the status
// of an accepted request, the content type of every answer, the body of a success (with the
// partial-success count and message) and the body of an error. The pipeline (pipeline/) calls
// only this interface; the formats are the files beside it (otlp_protobuf_decoder.cc,
// otlp_json_decoder.cc, zipkin_json.cc), and registry.cc lists them with the HTTP paths and
// media types that reach them. A new format is one new file and one line in registry.cc.
//
// Thread-safety: decoders are immutable singletons; every method may be called from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {

// What became of an export request (the server maps it to its protocol's status).
enum class ExportOutcome {
  kOk,           // the decoder's SuccessStatus (200 OTLP, 202 Zipkin) with its SuccessBody
  kMalformed,    // 400: body is the message
  kTooLarge,     // 413 (also after decompression)
  kUnsupported,  // 415
  kOverloaded,   // 429 with Retry-After
  kUnavailable,  // 503 with Retry-After (storage or log failure, shutting down)
};

class Decoder {
 public:
  virtual ~Decoder() = default;

  // A short stable name: "otlp-protobuf", "otlp-json", "zipkin-json".
  virtual std::string_view Name() const = 0;
  // Decodes the inflated body into sink. May grow body's capacity (JSON padding), never changes
  // its bytes. Malformed input: InvalidArgument with a message that says where.
  virtual Status Decode(std::string& body, SpanSink& sink) const = 0;
  // The HTTP status of an accepted request (200 for OTLP, 202 for Zipkin).
  virtual int SuccessStatus() const = 0;
  // The content type of every answer body (success and error).
  virtual std::string_view ContentType() const = 0;
  // The body of an accepted request; rejected > 0 with a message is a partial success.
  virtual std::string SuccessBody(uint64_t rejected, std::string_view message) const = 0;
  // The body of an error answer (outcome != kOk) carrying message.
  virtual std::string ErrorBody(ExportOutcome outcome, std::string_view message) const = 0;
};

// The formats (registry.cc). The references stay valid for the life of the process.
const Decoder& OtlpProtobufDecoder();  // application/x-protobuf ExportTraceServiceRequest
const Decoder& OtlpJsonDecoder();      // OTLP/JSON
const Decoder& ZipkinJsonDecoder();    // Zipkin v2 JSON list of spans

// Where an HTTP request reaches a decoder: POST to path with this media type.
struct DecoderRoute {
  std::string_view path;        // "/v1/traces"
  std::string_view media_type;  // lower case, without parameters
  const Decoder* decoder;
};
std::span<const DecoderRoute> DecoderRoutes();
// The decoder for a POST to path with media type (lower case, no parameters), or nullptr.
const Decoder* FindDecoder(std::string_view path, std::string_view media_type);
// True when some decoder is reached at path (whatever the media type).
bool IsDecoderPath(std::string_view path);
// The media types accepted at path, for a 415 message: "application/x-protobuf or ...".
std::string AcceptedMediaTypes(std::string_view path);

}  // namespace ew::ingest

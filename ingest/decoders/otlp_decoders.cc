// The two OTLP/HTTP formats behind the Decoder seam: protobuf (otlp_proto.cc) and JSON
// (otlp_json.cc). Both answer 200 with an ExportTraceServiceResponse in the request's content
// type, and errors as a google.rpc.Status (protobuf bytes, or JSON with "code", "message" and
// "error"), as the OTLP specification asks.
#include "ingest/decoders/decoder.h"
#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/otlp_response.h"

namespace ew::ingest {
namespace {

// The gRPC status code the OTLP specification pairs with each outcome.
int RpcCodeFor(ExportOutcome outcome) {
  switch (outcome) {
    case ExportOutcome::kMalformed:
    case ExportOutcome::kUnsupported:
      return 3;  // INVALID_ARGUMENT
    case ExportOutcome::kTooLarge:
    case ExportOutcome::kOverloaded:
      return 8;  // RESOURCE_EXHAUSTED
    case ExportOutcome::kUnavailable:
      return 14;  // UNAVAILABLE
    case ExportOutcome::kOk:
      break;
  }
  return 0;
}

class OtlpProtobuf final : public Decoder {
 public:
  std::string_view Name() const override { return "otlp-protobuf"; }
  Status Decode(std::string& body, SpanSink& sink) const override {
    return DecodeOtlpProtobuf(body, sink);
  }
  int SuccessStatus() const override { return 200; }
  std::string_view ContentType() const override { return "application/x-protobuf"; }
  std::string SuccessBody(uint64_t rejected, std::string_view message) const override {
    return EncodeExportResponseProtobuf(static_cast<int64_t>(rejected), message);
  }
  std::string ErrorBody(ExportOutcome outcome, std::string_view message) const override {
    return EncodeRpcStatusProtobuf(RpcCodeFor(outcome), message);
  }
};

class OtlpJson final : public Decoder {
 public:
  std::string_view Name() const override { return "otlp-json"; }
  Status Decode(std::string& body, SpanSink& sink) const override {
    PadJsonBody(body);
    return DecodeOtlpJson(body, sink);
  }
  int SuccessStatus() const override { return 200; }
  std::string_view ContentType() const override { return "application/json"; }
  std::string SuccessBody(uint64_t rejected, std::string_view message) const override {
    return EncodeExportResponseJson(static_cast<int64_t>(rejected), message);
  }
  std::string ErrorBody(ExportOutcome outcome, std::string_view message) const override {
    return EncodeRpcStatusJson(RpcCodeFor(outcome), message);
  }
};

}  // namespace

const Decoder& OtlpProtobufDecoder() {
  static const OtlpProtobuf decoder;
  return decoder;
}

const Decoder& OtlpJsonDecoder() {
  static const OtlpJson decoder;
  return decoder;
}

}  // namespace ew::ingest

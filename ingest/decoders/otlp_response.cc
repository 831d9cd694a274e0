#include "ingest/decoders/otlp_response.h"

#include "base/json_escape.h"

namespace ew::ingest {
namespace {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace

std::string EncodeExportResponseProtobuf(int64_t rejected_spans, std::string_view error_message) {
  if (rejected_spans == 0 && error_message.empty()) return {};
  std::string partial;
  if (rejected_spans != 0) {
    partial.push_back(0x08);  // field 1, varint
    AppendVarint(static_cast<uint64_t>(rejected_spans), &partial);
  }
  if (!error_message.empty()) {
    partial.push_back(0x12);  // field 2, length-delimited
    AppendVarint(error_message.size(), &partial);
    partial.append(error_message);
  }
  std::string out;
  out.push_back(0x0a);  // field 1 (partial_success), length-delimited
  AppendVarint(partial.size(), &out);
  out.append(partial);
  return out;
}

void AppendJsonString(std::string_view text, std::string* out) { ew::AppendJsonString(text, out); }

std::string EncodeExportResponseJson(int64_t rejected_spans, std::string_view error_message) {
  if (rejected_spans == 0 && error_message.empty()) return "{}";
  std::string out = "{\"partialSuccess\":{";
  bool first = true;
  if (rejected_spans != 0) {
    out += "\"rejectedSpans\":\"" + std::to_string(rejected_spans) + "\"";
    first = false;
  }
  if (!error_message.empty()) {
    if (!first) out += ",";
    out += "\"errorMessage\":";
    AppendJsonString(error_message, &out);
  }
  out += "}}";
  return out;
}

std::string EncodeRpcStatusProtobuf(int code, std::string_view message) {
  std::string out;
  if (code != 0) {
    out.push_back(0x08);  // field 1, varint
    AppendVarint(static_cast<uint64_t>(code), &out);
  }
  if (!message.empty()) {
    out.push_back(0x12);  // field 2, length-delimited
    AppendVarint(message.size(), &out);
    out.append(message);
  }
  return out;
}

std::string EncodeRpcStatusJson(int code, std::string_view message) {
  std::string out = "{\"code\":" + std::to_string(code) + ",\"message\":\"";
  AppendJsonEscaped(message, &out);
  out += "\",\"error\":\"";
  AppendJsonEscaped(message, &out);
  out += "\"}";
  return out;
}

}  // namespace ew::ingest

// Writes the seed corpora of the fuzz targets (fuzz/README.md): real request bodies from
// tests/fixtures, bodies and stored values made with the project's own encoders
// (tools/otlp_encoder.h, storage/rollup_codec.h), and text seeds for the text parsers.
//
// Usage: fuzz_corpus_gen FIXTURES_DIR CORPUS_DIR   (in the repository: tests/fixtures fuzz/corpus)
// Files are named for what they hold; existing files of the same name are replaced, others (such
// as committed crash reproducers) are left alone.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/pipeline/gzip.h"
#include "storage/latency_sketch.h"
#include "storage/rollup_codec.h"
#include "tools/otlp_encoder.h"

namespace ew::fuzz {
namespace {

namespace fs = std::filesystem;
using tools::Attr;
using tools::Encoding;
using tools::JsonStyle;
using tools::OtlpResourceSpans;
using tools::OtlpSpan;

fs::path corpus;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(corpus / target);
  std::ofstream out(corpus / target / name, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

OtlpSpan Span(int n, int kind, std::vector<Attr> attrs) {
  OtlpSpan s;
  s.trace_id = tools::MakeTraceId(7, 1);
  s.span_id = tools::MakeSpanId(7, static_cast<uint64_t>(n));
  if (n > 1) {
    s.parent_span_id = tools::MakeSpanId(7, 1);
    s.has_parent = true;
  }
  s.kind = kind;
  s.start_ns = 1764032400000000000ull + static_cast<uint64_t>(n) * 1000;
  s.end_ns = s.start_ns + 2500000;
  s.name = "span";
  s.attrs = std::move(attrs);
  return s;
}

// Every attribute the decoders map, every AnyValue type, events, links, status and tracestate.
std::vector<OtlpResourceSpans> RichRequest() {
  OtlpResourceSpans frontend;
  frontend.resource = {Attr::Str("service.name", "frontend"),
                       Attr::Str("service.namespace", "shop"),
                       Attr::Str("k8s.namespace.name", "prod"), Attr::Int("process.pid", 42)};
  frontend.scopes.push_back(
      {Span(1, 2,
            {Attr::Str("http.request.method", "GET"), Attr::Int("http.response.status_code", 200),
             Attr::Str("http.route", "/cart/{id}"), Attr::Str("url.path", "/cart/42"),
             Attr::Int("http.request.body.size", 0), Attr::Int("http.response.body.size", 512)}),
       Span(
           2, 3,
           {Attr::Str("http.method", "POST"), Attr::Int("http.status_code", 503),
            Attr::Str("http.url", "http://checkout:8080/checkout?x=1"),
            Attr::Str("http.host", "checkout:8080"), Attr::Str("net.peer.name", "checkout"),
            Attr::Str("http.target", "/checkout?x=1"), Attr::Int("http.request_content_length", 17),
            Attr::Int("http.response_content_length", 9)})});
  frontend.scopes[0][1].status_code = 2;
  frontend.scopes[0][1].status_message = "boom";
  frontend.scopes[0][1].trace_state = "ot=th:8";
  frontend.scopes[0][1].events = {{frontend.scopes[0][1].start_ns + 1, "retry", {}}};
  frontend.scopes.push_back(
      {Span(3, 3,
            {Attr::Str("db.system", "postgresql"), Attr::Str("db.name", "orders"),
             Attr::Str("server.address", "10.0.0.7"), Attr::Bool("db.flag", true)})});
  OtlpResourceSpans payments;
  payments.resource_after_scopes = true;
  payments.resource = {Attr::Str("service.name", "payments")};
  payments.scopes.push_back(
      {Span(4, 2,
            {Attr::Str("rpc.system", "grpc"), Attr::Str("rpc.service", "pay.Payments"),
             Attr::Str("rpc.method", "Charge"), Attr::Int("rpc.grpc.status_code", 14),
             Attr::Double("sampling.ratio", 0.25), Attr::Bytes("blob", std::string("\0\xff", 2)),
             Attr::Array("tags", {Attr::Str("", "a"), Attr::Int("", 2)}),
             Attr::KvList("kv", {Attr::Str("http.route", "/not-this")})}),
       Span(5, 4,
            {Attr::Str("messaging.system", "kafka"),
             Attr::Str("messaging.destination.name", "orders"),
             Attr::Str("peer.service", "kafka-cluster"), Attr::Str("url.full", "https://x/\"q")}),
       Span(6, 5,
            {Attr::Str("messaging.system", "rabbitmq"), Attr::Str("messaging.destination", "jobs"),
             Attr::Str("db.system.name", "redis"), Attr::Str("db.namespace", "0")})});
  payments.scopes[0][0].status_code = 1;
  payments.scopes[0][0].links.push_back(
      {tools::MakeTraceId(8, 1), tools::MakeSpanId(8, 1), "ot=th:1", {Attr::Str("a", "b")}});
  return {frontend, payments};
}

std::vector<OtlpResourceSpans> OneSpan() {
  OtlpResourceSpans r;
  r.resource = {Attr::Str("service.name", "api")};
  r.scopes.push_back({Span(1, 2, {Attr::Str("http.request.method", "GET")})});
  return {r};
}

// A span with unknown fields of every wire type and a group (which only the precise walker reads).
std::string HandMadeWithGroup() {
  std::string span;
  tools::PutLen(1, std::string(16, '\x0a'), &span);
  tools::PutLen(2, std::string(8, '\x0b'), &span);
  tools::PutTag(6, 0, &span);
  tools::PutVarint(2, &span);
  tools::PutTag(40, 3, &span);  // a group with a varint inside
  tools::PutTag(1, 0, &span);
  tools::PutVarint(300, &span);
  tools::PutTag(40, 4, &span);
  tools::PutFixed64(41, 7, &span);
  tools::PutTag(42, 5, &span);
  span.append("\1\2\3\4", 4);
  std::string scope_spans, resource_spans, request;
  tools::PutLen(2, span, &scope_spans);
  tools::PutLen(2, scope_spans, &resource_spans);
  tools::PutLen(1, resource_spans, &request);
  return request;
}

void OtlpSeeds(const fs::path& fixtures) {
  const auto rich = RichRequest();
  Write("otlp_proto_fuzzer", "rich_request.pb", tools::EncodeRequest(rich, Encoding::kProtobuf));
  Write("otlp_proto_fuzzer", "one_span.pb", tools::EncodeRequest(OneSpan(), Encoding::kProtobuf));
  Write("otlp_proto_fuzzer", "group.pb", HandMadeWithGroup());
  Write("otlp_json_fuzzer", "rich_request.json",
        tools::EncodeRequest(rich, Encoding::kJson, JsonStyle{true, false, false, true}));
  Write("otlp_json_fuzzer", "rich_request_enums.json",
        tools::EncodeRequest(rich, Encoding::kJson, JsonStyle{false, true, true, false}));
  Write("otlp_json_fuzzer", "one_span.json", tools::EncodeRequest(OneSpan(), Encoding::kJson));
  Write("gzip_fuzzer", "rich_request.json.gz",
        tools::EncodeRequest(rich, Encoding::kGzipJson, JsonStyle{}));
  Write("gzip_fuzzer", "two_members.gz", tools::Gzip("first member ") + tools::Gzip("second"));
  Write("gzip_fuzzer", "empty.gz", tools::Gzip(""));
  for (const char* name : {"frontend_0.pb", "frontend_1.pb"}) {
    Write("otlp_proto_fuzzer", name, Read(fixtures / name));
  }
  for (const char* name : {"checkout_0.json", "checkout_1.json"}) {
    Write("otlp_json_fuzzer", name, Read(fixtures / name));
  }
  for (const char* name : {"payments_0.pb.gz", "payments_1.pb.gz"}) {
    const std::string gz = Read(fixtures / name);
    Write("gzip_fuzzer", name, gz);
    std::string plain;
    if (ingest::GunzipBody(gz, 1 << 20, &plain).ok()) {
      Write("otlp_proto_fuzzer", std::string(name).substr(0, std::string(name).size() - 3), plain);
    }
  }
}

storage::LatencySketch Sketch(int buckets, uint64_t count) {
  storage::LatencySketch s;
  for (int i = 0; i < buckets; ++i) s.Add(1.0 + i * i * 37.5, count + static_cast<uint64_t>(i));
  return s;
}

void StorageSeeds() {
  const std::vector<std::pair<std::string, storage::LatencySketch>> sketches = {
      {"one_bucket", Sketch(1, 1)},
      {"few_buckets", Sketch(5, 3)},
      {"many_buckets", Sketch(200, 1)},
      {"huge_counts", Sketch(3, uint64_t{1} << 62)}};
  for (const auto& [name, sketch] : sketches) {
    std::string encoded;
    sketch.EncodeTo(&encoded);
    Write("latency_sketch_fuzzer", name, encoded);
  }
  storage::RollupValue v;
  v.requests = 1000;
  v.errors = 17;
  v.request_bytes = 123456;
  v.response_bytes = 654321;
  v.server_latency = Sketch(12, 5);
  v.client_latency = Sketch(7, 2);
  storage::RollupEncoder encoder;
  std::string out;
  encoder.Encode(v, &out);
  Write("stored_value_fuzzer", "rollup", out);
  encoder.Encode(v, &out, /*client_sketch=*/false);
  Write("stored_value_fuzzer", "rollup_no_client_sketch", out);
  encoder.Encode(storage::RollupValue{}, &out);
  Write("stored_value_fuzzer", "rollup_empty", out);
  std::vector<storage::Exemplar> exemplars(4);
  for (size_t i = 0; i < exemplars.size(); ++i) {
    exemplars[i].trace_id = tools::MakeTraceId(3, i + 1);
    exemplars[i].start_ms = 1764032400000 + static_cast<int64_t>(i);
    exemplars[i].duration_us = 2500 * static_cast<uint32_t>(i + 1);
    exemplars[i].status = i == 0 ? 503 : 200;
    exemplars[i].error = i == 0;
  }
  storage::EncodeExemplars(exemplars, &out);
  Write("stored_value_fuzzer", "exemplars", out);
  storage::EncodeDictNode(0, storage::NodeKind::kDatabase, 0, "postgresql/orders", &out);
  Write("stored_value_fuzzer", "dict_node_database", out);
  storage::EncodeDictNode(3, storage::NodeKind::kService, 70000, "checkout", &out);
  Write("stored_value_fuzzer", "dict_node_service", out);
}

void TextSeeds() {
  const std::vector<std::string> queries = {
      "server.namespace = shop",
      "client.namespace in (shop, pay) and not server.kind = database",
      "client.service.name =~ \"^metoro-\" or path =~ \"cart/\\{id\\}$\"",
      "(status >= 500 or error = true) and method != GET",
      "protocol = grpc and status in (2, 14) and server.service.name = \"pay.Payments\"",
      "v1.traces",
      "\"quoted \\\" value\\n\" and not (a or b)",
      "SERVER.KIND = External_Client AND path <= \"/x\"",
      "server.namespace ="};
  for (size_t i = 0; i < queries.size(); ++i) {
    Write("query_language_fuzzer", "query_" + std::to_string(i), queries[i]);
  }
  const std::vector<std::string> urls = {"query=server.namespace%20%3D%20shop&start=-1h&end=now",
                                         "source=12&target=340&errors=true&limit=10",
                                         "focus=ns%3Ashop&depth=2&compare=-1d&top=20&top_by=errors",
                                         "a=1&a=2&b&=c&&d=%zz",
                                         "name=postgresql%2Forders&kind=database&x=%E2%82%AC+euro"};
  for (size_t i = 0; i < urls.size(); ++i) {
    Write("url_fuzzer", "query_string_" + std::to_string(i), urls[i]);
  }
}

}  // namespace
}  // namespace ew::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FIXTURES_DIR CORPUS_DIR\n", argv[0]);
    return 2;
  }
  ew::fuzz::corpus = argv[2];
  ew::fuzz::OtlpSeeds(argv[1]);
  ew::fuzz::StorageSeeds();
  ew::fuzz::TextSeeds();
  return 0;
}

// OTLP decoding micro-benchmarks: a 512-span ExportTraceServiceRequest (half client, half server
// spans with realistic HTTP attributes, 8 services) decoded by the protobuf walker, by the
// simdjson JSON decoder, and gunzipped then decoded. items_per_second is spans per second.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <string>

// GCC 12 reports a false -Wrestrict inside std::string operator+ (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wrestrict
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/otlp_response.h"
#include "ingest/decoders/span_view.h"
#include "ingest/pipeline/gzip.h"

namespace ew::ingest {
namespace {

constexpr int kSpans = 512;
constexpr int kServices = 8;

class CountingSink : public SpanSink {
 public:
  Status OnSpan(const SpanView& span) override {
    ++spans;
    checksum += span.start_ns + span.service_name.size() + span.url_path.size();
    return Status::Ok();
  }
  uint64_t spans = 0;
  uint64_t checksum = 0;
};

void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void Len(uint32_t field, const std::string& payload, std::string* out) {
  Varint(field << 3 | 2, out);
  Varint(payload.size(), out);
  out->append(payload);
}
void Fixed64(uint32_t field, uint64_t v, std::string* out) {
  Varint(field << 3 | 1, out);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
std::string StrAttr(const std::string& key, const std::string& value) {
  std::string any, kv;
  Len(1, value, &any);
  Len(1, key, &kv);
  Len(2, any, &kv);
  return kv;
}
std::string IntAttr(const std::string& key, int64_t value) {
  std::string any, kv;
  Varint(3 << 3, &any);
  Varint(static_cast<uint64_t>(value), &any);
  Len(1, key, &kv);
  Len(2, any, &kv);
  return kv;
}

std::string Id(int n, int bytes) {
  std::string id(static_cast<size_t>(bytes), '\0');
  for (int i = 0; i < bytes; ++i) id[i] = static_cast<char>((n * 131 + i * 17 + 1) & 0xff);
  return id;
}

struct SpanSpec {
  bool client;
  int n;
};

std::string ProtoSpan(const SpanSpec& s) {
  std::string span;
  Len(1, Id(s.n / 2, 16), &span);
  Len(2, Id(s.n, 8), &span);
  Len(4, Id(s.client ? s.n + 7 : s.n - 1, 8), &span);
  Len(5, s.client ? "GET" : "GET /api/orders/{id}", &span);
  Varint(6 << 3, &span);
  Varint(s.client ? 3 : 2, &span);
  Fixed64(7, 1764032400000000000ull + static_cast<uint64_t>(s.n) * 1000, &span);
  Fixed64(8, 1764032400000000000ull + static_cast<uint64_t>(s.n) * 1000 + 1500000, &span);
  Len(9, StrAttr("http.request.method", "GET"), &span);
  Len(9, IntAttr("http.response.status_code", s.n % 50 == 0 ? 503 : 200), &span);
  Len(9, StrAttr("network.protocol.version", "1.1"), &span);
  if (s.client) {
    Len(9, StrAttr("url.full", "http://orders.shop.svc:8080/api/orders/" + std::to_string(s.n)),
        &span);
    Len(9, StrAttr("server.address", "orders.shop.svc"), &span);
    Len(9, IntAttr("server.port", 8080), &span);
  } else {
    Len(9, StrAttr("url.path", "/api/orders/" + std::to_string(s.n)), &span);
    Len(9, StrAttr("http.route", "/api/orders/{id}"), &span);
    Len(9, StrAttr("url.scheme", "http"), &span);
    Len(9, StrAttr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) bench"), &span);
    Len(9, StrAttr("client.address", "10.1.2.3"), &span);
  }
  std::string status;
  Varint(3 << 3, &status);
  Varint(s.n % 50 == 0 ? 2 : 0, &status);
  Len(15, status, &span);
  return span;
}

std::string ProtoBatch() {
  std::string body;
  for (int svc = 0; svc < kServices; ++svc) {
    std::string resource;
    Len(1, StrAttr("service.name", "service-" + std::to_string(svc)), &resource);
    Len(1, StrAttr("service.namespace", "shop"), &resource);
    Len(1, StrAttr("k8s.namespace.name", "prod"), &resource);
    Len(1, StrAttr("telemetry.sdk.language", "nodejs"), &resource);
    Len(1, StrAttr("telemetry.sdk.version", "2.12.0"), &resource);
    std::string scope;
    Len(1, "@opentelemetry/instrumentation-http", &scope);
    std::string ss;
    Len(1, scope, &ss);
    for (int i = 0; i < kSpans / kServices; ++i) {
      int n = svc * (kSpans / kServices) + i;
      Len(2, ProtoSpan({n % 2 == 0, n}), &ss);
    }
    std::string rs;
    Len(1, resource, &rs);
    Len(2, ss, &rs);
    Len(1, rs, &body);
  }
  return body;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string JsonAttr(const std::string& key, const std::string& value) {
  std::string out = "{\"key\":\"" + key + "\",\"value\":{\"stringValue\":";
  AppendJsonString(value, &out);
  return out + "}}";
}
std::string JsonIntAttr(const std::string& key, int64_t value) {
  return "{\"key\":\"" + key + "\",\"value\":{\"intValue\":\"" + std::to_string(value) + "\"}}";
}

std::string JsonSpan(const SpanSpec& s) {
  const uint64_t start = 1764032400000000000ull + static_cast<uint64_t>(s.n) * 1000;
  std::string out =
      "{\"traceId\":\"" + Hex(Id(s.n / 2, 16)) + "\",\"spanId\":\"" + Hex(Id(s.n, 8)) +
      "\",\"parentSpanId\":\"" + Hex(Id(s.client ? s.n + 7 : s.n - 1, 8)) +
      "\",\"name\":\"GET\",\"kind\":" + (s.client ? "3" : "2") + ",\"startTimeUnixNano\":\"" +
      std::to_string(start) + "\",\"endTimeUnixNano\":\"" + std::to_string(start + 1500000) +
      "\",\"attributes\":[" + JsonAttr("http.request.method", "GET") + "," +
      JsonIntAttr("http.response.status_code", s.n % 50 == 0 ? 503 : 200) + "," +
      JsonAttr("network.protocol.version", "1.1");
  if (s.client) {
    out += "," +
           JsonAttr("url.full", "http://orders.shop.svc:8080/api/orders/" + std::to_string(s.n)) +
           "," + JsonAttr("server.address", "orders.shop.svc") + "," +
           JsonIntAttr("server.port", 8080);
  } else {
    out += "," + JsonAttr("url.path", "/api/orders/" + std::to_string(s.n)) + "," +
           JsonAttr("http.route", "/api/orders/{id}") + "," + JsonAttr("url.scheme", "http") + "," +
           JsonAttr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) bench") + "," +
           JsonAttr("client.address", "10.1.2.3");
  }
  out += "],\"droppedAttributesCount\":0,\"events\":[],\"links\":[],\"status\":{\"code\":";
  out += s.n % 50 == 0 ? "2" : "0";
  return out + "},\"flags\":257}";
}

std::string JsonBatch() {
  std::string out = "{\"resourceSpans\":[";
  for (int svc = 0; svc < kServices; ++svc) {
    if (svc > 0) out += ",";
    out += "{\"resource\":{\"attributes\":[" +
           JsonAttr("service.name", "service-" + std::to_string(svc)) + "," +
           JsonAttr("service.namespace", "shop") + "," + JsonAttr("k8s.namespace.name", "prod") +
           "," + JsonAttr("telemetry.sdk.language", "nodejs") + "," +
           JsonAttr("telemetry.sdk.version", "2.12.0") +
           "]},\"scopeSpans\":[{\"scope\":{\"name\":\"@opentelemetry/instrumentation-http\"},"
           "\"spans\":[";
    for (int i = 0; i < kSpans / kServices; ++i) {
      int n = svc * (kSpans / kServices) + i;
      if (i > 0) out += ",";
      out += JsonSpan({n % 2 == 0, n});
    }
    out += "]}]}";
  }
  return out + "]}";
}

std::string Gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void Finish(benchmark::State& state, const CountingSink& sink, size_t bytes) {
  if (sink.spans != static_cast<uint64_t>(kSpans) * state.iterations()) {
    state.SkipWithError("wrong span count");
  }
  state.SetItemsProcessed(static_cast<int64_t>(sink.spans));
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_DecodeProtobuf512(benchmark::State& state) {
  const std::string body = ProtoBatch();
  CountingSink sink;
  for (auto _ : state) {
    Status s = DecodeOtlpProtobuf(body, sink);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  benchmark::DoNotOptimize(sink.checksum);
  Finish(state, sink, body.size());
}
BENCHMARK(BM_DecodeProtobuf512);

void BM_DecodeGzipProtobuf512(benchmark::State& state) {
  const std::string gz = Gzip(ProtoBatch());
  CountingSink sink;
  std::string plain;
  for (auto _ : state) {
    Status s = GunzipBody(gz, 64 << 20, &plain);
    if (s.ok()) s = DecodeOtlpProtobuf(plain, sink);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  benchmark::DoNotOptimize(sink.checksum);
  Finish(state, sink, gz.size());
}
BENCHMARK(BM_DecodeGzipProtobuf512);

// As the server does it: a fresh output string per request (no capacity carried over).
void BM_DecodeGzipProtobuf512FreshBuffer(benchmark::State& state) {
  const std::string gz = Gzip(ProtoBatch());
  CountingSink sink;
  for (auto _ : state) {
    std::string plain;
    Status s = GunzipBody(gz, 64 << 20, &plain);
    if (s.ok()) s = DecodeOtlpProtobuf(plain, sink);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  benchmark::DoNotOptimize(sink.checksum);
  Finish(state, sink, gz.size());
}
BENCHMARK(BM_DecodeGzipProtobuf512FreshBuffer);

void BM_DecodeJson512(benchmark::State& state) {
  const std::string body = PaddedJsonCopy(JsonBatch());
  CountingSink sink;
  for (auto _ : state) {
    Status s = DecodeOtlpJson(body, sink);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  benchmark::DoNotOptimize(sink.checksum);
  Finish(state, sink, body.size());
}
BENCHMARK(BM_DecodeJson512);

}  // namespace
}  // namespace ew::ingest

BENCHMARK_MAIN();

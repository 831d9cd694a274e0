// Gzip inflation with an output limit, and ExportTraceServiceResponse encoding.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>

#include "ingest/gzip.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_response.h"
#include "ingest/span_view.h"
#include "tests/ingest_decode/otlp_test_builder.h"

namespace ew::ingest::testing {
namespace {

// Gzips `size` bytes of `fill` in 1 MiB chunks (a big bomb needs no big input buffer).
std::string GzipFill(size_t size, char fill) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string chunk(1 << 20, fill);
  std::string out;
  std::string buf(1 << 16, '\0');
  size_t left = size;
  do {
    size_t n = std::min(left, chunk.size());
    left -= n;
    z.next_in = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_in = static_cast<uInt>(n);
    int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf.data());
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      out.append(buf.data(), buf.size() - z.avail_out);
    } while (z.avail_out == 0);
  } while (left > 0);
  deflateEnd(&z);
  return out;
}

std::string GzipText(std::string_view text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Gunzip, RoundTripsAndLeavesJsonPadding) {
  std::string text = "{\"resourceSpans\":[]}";
  std::string out;
  ASSERT_TRUE(GunzipBody(GzipText(text), 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
  EXPECT_TRUE(IsJsonPadded(out));
  CollectingSink sink;
  EXPECT_TRUE(DecodeOtlpJson(out, sink).ok());
}

TEST(Gunzip, LargeBodyAcrossManyChunks) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += std::to_string(i * 7919) + ",";
  std::string out;
  ASSERT_TRUE(GunzipBody(GzipText(text), text.size(), &out).ok());
  EXPECT_EQ(out, text);
}

TEST(Gunzip, LimitIsExact) {
  std::string text(100000, 'a');
  std::string gz = GzipText(text);
  std::string out;
  EXPECT_TRUE(GunzipBody(gz, 100000, &out).ok());
  Status s = GunzipBody(gz, 99999, &out);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_TRUE(out.empty());
}

TEST(Gunzip, BombStopsAtTheLimit) {
  std::string bomb = GzipFill(size_t{256} << 20, '\0');  // 256 MiB of zeros, ~250 KiB gzipped
  ASSERT_LT(bomb.size(), 1u << 20);
  std::string out;
  Status s = GunzipBody(bomb, 4 << 20, &out);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_LE(out.capacity(), size_t{8} << 20);  // never grew past the limit
}

TEST(Gunzip, MalformedInput) {
  std::string out;
  for (std::string bad :
       {std::string(), std::string("not gzip at all"), std::string("\x1f\x8b\x08\x00", 4)}) {
    Status s = GunzipBody(bad, 1 << 20, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  }
  std::string gz = GzipText("hello hello hello hello");
  for (size_t n = 0; n < gz.size(); ++n) {
    Status s = GunzipBody(std::string_view(gz.data(), n), 1 << 20, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
  }
  std::string corrupt = gz;
  corrupt[corrupt.size() - 6] ^= 0x55;  // CRC trailer
  EXPECT_EQ(GunzipBody(corrupt, 1 << 20, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GunzipBody(gz + "trailing junk", 1 << 20, &out).code(), StatusCode::kInvalidArgument);
}

TEST(Gunzip, ConcatenatedMembers) {
  std::string out;
  ASSERT_TRUE(GunzipBody(GzipText("abc") + GzipText("def"), 1 << 20, &out).ok());
  EXPECT_EQ(out, "abcdef");
}

TEST(ExportResponse, EmptyWhenNothingRejected) {
  EXPECT_EQ(EncodeExportResponseProtobuf(0, ""), "");
  EXPECT_EQ(EncodeExportResponseJson(0, ""), "{}");
}

TEST(ExportResponse, ProtobufPartialSuccess) {
  std::string expected = std::string("\x0a\x08\x08\x03\x12\x04", 6) + "old!";
  EXPECT_EQ(EncodeExportResponseProtobuf(3, "old!"), expected);
  // 300 rejected: a two-byte varint.
  EXPECT_EQ(EncodeExportResponseProtobuf(300, ""), std::string("\x0a\x03\x08\xac\x02", 5));
  EXPECT_EQ(EncodeExportResponseProtobuf(0, "warn"), std::string("\x0a\x06\x12\x04", 4) + "warn");
  std::string long_message(200, 'm');
  std::string encoded = EncodeExportResponseProtobuf(1, long_message);
  EXPECT_EQ(encoded.substr(0, 3), std::string("\x0a\xcd\x01", 3));  // 205-byte submessage
}

TEST(ExportResponse, JsonPartialSuccess) {
  EXPECT_EQ(
      EncodeExportResponseJson(3, "2 spans too old, 1 \"future\"\n"),
      R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"2 spans too old, 1 \"future\"\n"}})");
  EXPECT_EQ(EncodeExportResponseJson(5, ""), R"({"partialSuccess":{"rejectedSpans":"5"}})");
  EXPECT_EQ(EncodeExportResponseJson(0, std::string("a\x01", 2)),
            R"({"partialSuccess":{"errorMessage":"a\u0001"}})");
}

}  // namespace
}  // namespace ew::ingest::testing

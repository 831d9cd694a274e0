// Gzip inflation with an output limit, and ExportTraceServiceResponse encoding.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/otlp_response.h"
#include "ingest/decoders/span_view.h"
#include "ingest/pipeline/gzip.h"
#include "tests/ingest_decode/owned_span.h"

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

// Sets the trailer's ISIZE (the last four bytes, little-endian) of a gzip member.
std::string WithIsize(std::string gz, uint32_t isize) {
  for (int i = 0; i < 4; ++i) gz[gz.size() - 4 + i] = static_cast<char>(isize >> (8 * i));
  return gz;
}

// A gzip member written by hand: FHCRC set, with the header CRC16 given (or the right one).
std::string GzipWithHeaderCrc(std::string_view text, bool corrupt_header_crc) {
  std::string header("\x1f\x8b\x08\x02\x00\x00\x00\x00\x00\x03", 10);
  uint32_t hcrc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(header.data()), static_cast<uInt>(header.size())));
  if (corrupt_header_crc) hcrc ^= 0x1;
  std::string out = header;
  out.push_back(static_cast<char>(hcrc & 0xff));
  out.push_back(static_cast<char>((hcrc >> 8) & 0xff));
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string raw(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(raw.data());
  z.avail_out = static_cast<uInt>(raw.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  raw.resize(z.total_out);
  deflateEnd(&z);
  out += raw;
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  for (uint32_t v : {crc, static_cast<uint32_t>(text.size())}) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  return out;
}

// ~40 KB of text that compresses about 4:1, like a batch of spans.
std::string SpanLikeText(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "{\"traceId\":\"" + std::to_string(i * 2654435761u) + "\",\"name\":\"GET /api/v" +
            std::to_string(i % 7) + "/items\",\"start\":" + std::to_string(1700000000000 + i * 17) +
            "},";
  }
  return text;
}

void ExpectMalformed(const Status& s, const std::string& context) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << context << ": " << s.ToString();
  EXPECT_EQ(s.message().rfind("gzip: ", 0), 0u) << context << ": " << s.message();
  EXPECT_NE(s.message().find(" at compressed byte "), std::string::npos)
      << context << ": " << s.message();
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
  EXPECT_LE(out.capacity(), (size_t{4} << 20) + 1);  // never grew past the limit
}

// Caught by fuzz/gzip_fuzzer's memory-bound check: on the streaming path (here: two members) a
// body of exactly the limit, once inflated, had its padding reserved by doubling the buffer
// (twice the limit).
TEST(Gunzip, StreamingPathAtTheLimitStaysWithinIt) {
  const std::string text = SpanLikeText(2000);
  const std::string gz = GzipText(text.substr(0, 1000)) + GzipText(text.substr(1000));
  for (size_t limit : {text.size(), text.size() + 30}) {
    std::string out;
    ASSERT_TRUE(GunzipBody(gz, limit, &out).ok()) << limit;
    EXPECT_EQ(out, text);
    EXPECT_TRUE(IsJsonPadded(out));
    EXPECT_LE(out.capacity(), limit + 1 + kGunzipPaddingReserve) << limit;
  }
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

TEST(Gunzip, ManyMembersOfEverySize) {
  const std::string big = SpanLikeText(2000);
  struct Case {
    std::vector<std::string> parts;
  };
  // Members summing past the last member's ISIZE (the usual case), and empty members before a
  // last one that alone fills it.
  for (const Case& c : {Case{{"abc", "", big, "x"}}, Case{{"", "", big}}, Case{{big, big}},
                        Case{{"", ""}}, Case{{big, "", ""}}}) {
    std::string gz;
    std::string expected;
    for (const std::string& part : c.parts) {
      gz += GzipText(part);
      expected += part;
    }
    std::string out;
    Status s = GunzipBody(gz, 1 << 20, &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out, expected);
    EXPECT_TRUE(IsJsonPadded(out));
    // The sum counts against the limit, not one member.
    if (expected.size() > 0) {
      std::string limited;
      EXPECT_EQ(GunzipBody(gz, expected.size() - 1, &limited).code(),
                StatusCode::kResourceExhausted);
      EXPECT_TRUE(GunzipBody(gz, expected.size(), &limited).ok());
    }
  }
}

TEST(Gunzip, EmptyBodies) {
  std::string out = "stale";
  ASSERT_TRUE(GunzipBody(GzipText(""), 1 << 20, &out).ok());
  EXPECT_EQ(out, "");
  EXPECT_TRUE(IsJsonPadded(out));
  ASSERT_TRUE(GunzipBody(GzipText(""), 0, &out).ok());  // zero bytes fit a zero limit
  ExpectMalformed(GunzipBody("", 1 << 20, &out), "no bytes at all");
  EXPECT_EQ(GunzipBody(GzipText("") + GzipText("x"), 0, &out).code(),
            StatusCode::kResourceExhausted);  // one byte past a zero limit
}

TEST(Gunzip, LyingIsizeIsRefusedLikeTheStreamingInflater) {
  const std::string text = SpanLikeText(1000);
  const std::string gz = GzipText(text);
  const uint32_t real = static_cast<uint32_t>(text.size());
  for (uint32_t isize :
       {0u, 1u, real - 1, real + 1, real * 2, uint32_t{1} << 20, uint32_t{4} << 20, 0xffffffffu}) {
    std::string out;
    Status s = GunzipBody(WithIsize(gz, isize), 4 << 20, &out);
    ExpectMalformed(s, "isize " + std::to_string(isize));
    // Whatever the trailer claims, no more than the limit (plus padding) was ever reserved.
    EXPECT_LE(out.capacity(), (size_t{4} << 20) + 2 * kGunzipPaddingReserve) << isize;
  }
}

TEST(Gunzip, ImplausibleIsizeIsNotAllocated) {
  // 20-odd bytes cannot inflate to 60 MiB (deflate expands at most 1032:1), so the claim is
  // not taken at its word even though it is under the limit.
  std::string gz = WithIsize(GzipText("tiny"), 60u << 20);
  std::string out;
  ExpectMalformed(GunzipBody(gz, 64 << 20, &out), "60 MiB claimed");
  EXPECT_EQ(internal::TrustedIsize(gz, 64 << 20), std::nullopt);
  // What is trusted: an ISIZE at most the limit and at most 1032 times the compressed size.
  const std::string zeros = GzipFill(size_t{32} << 20, '\0');
  EXPECT_EQ(internal::TrustedIsize(zeros, 64 << 20), size_t{32} << 20);
  EXPECT_EQ(internal::TrustedIsize(zeros, (size_t{32} << 20) - 1), std::nullopt);
  EXPECT_EQ(internal::TrustedIsize(WithIsize(zeros, 0xffffffffu), size_t{8} << 30), std::nullopt);
  EXPECT_EQ(internal::TrustedIsize(GzipText("tiny"), 64 << 20), 4u);
  EXPECT_EQ(internal::TrustedIsize(std::string(19, '\0'), 64 << 20), std::nullopt);
}

TEST(Gunzip, IsizeOverTheLimit) {
  // True ISIZE over the limit: 413 whichever path runs.
  std::string gz = GzipFill(size_t{1} << 20, 'z');
  std::string out;
  EXPECT_EQ(GunzipBody(gz, (1 << 20) - 1, &out).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(GunzipBody(gz, 1 << 20, &out).ok());
  EXPECT_EQ(out.size(), size_t{1} << 20);
  // A claimed ISIZE over the limit on a body that is really small: the trailer is wrong, 400.
  ExpectMalformed(GunzipBody(WithIsize(GzipText("abc"), 1000), 999, &out), "claim over limit");
  // A small claimed ISIZE on a body over the limit: still stops at the limit, 413.
  Status s = GunzipBody(WithIsize(gz, 10), 1000, &out);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_LE(out.capacity(), size_t{1} << 20);
}

TEST(Gunzip, BombWithHonestTrailerStopsAtTheLimit) {
  // 64 MiB of zeros (ISIZE honest, 64 MiB) against limits just under, at and over it.
  std::string bomb = GzipFill(size_t{64} << 20, '\0');
  ASSERT_LT(bomb.size(), 1u << 20);
  std::string out;
  Status s = GunzipBody(bomb, (size_t{64} << 20) - 1, &out);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_LE(out.capacity(), size_t{64} << 20);  // the limit plus one byte, never twice the limit
  ASSERT_TRUE(GunzipBody(bomb, size_t{64} << 20, &out).ok());
  EXPECT_EQ(out.size(), size_t{64} << 20);
  EXPECT_EQ(out.find_first_not_of('\0'), std::string::npos);
}

TEST(Gunzip, TruncatedAtEveryByte) {
  const std::string text = SpanLikeText(300);
  const std::string gz = GzipText(text);
  ASSERT_GT(gz.size(), 1000u);
  std::string out;
  for (size_t n = 0; n < gz.size(); ++n) {
    Status s = GunzipBody(std::string_view(gz.data(), n), 1 << 20, &out);
    ExpectMalformed(s, "prefix of " + std::to_string(n) + " bytes");
  }
  ASSERT_TRUE(GunzipBody(gz, 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
}

TEST(Gunzip, EveryByteFlippedEitherInflatesTheSameOrIsMalformed) {
  const std::string text = SpanLikeText(60);
  const std::string gz = GzipText(text);
  for (size_t i = 0; i < gz.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = gz;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      std::string out;
      Status s = GunzipBody(bad, 1 << 20, &out);
      if (s.ok()) {
        EXPECT_EQ(out, text) << "byte " << i;  // header bytes no one checks (MTIME, XFL, OS)
      } else {
        ExpectMalformed(s, "byte " + std::to_string(i));
      }
    }
  }
}

TEST(Gunzip, HeaderCrcIsChecked) {
  const std::string text = SpanLikeText(50);
  std::string out;
  ASSERT_TRUE(GunzipBody(GzipWithHeaderCrc(text, false), 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
  ExpectMalformed(GunzipBody(GzipWithHeaderCrc(text, true), 1 << 20, &out), "header crc");
  ExpectMalformed(GunzipBody(GzipText("a") + GzipWithHeaderCrc("b", true), 1 << 20, &out),
                  "second member's header crc");
}

TEST(Gunzip, HonestTrailerGivesAnExactBuffer) {
  // The body inflates straight into a buffer of ISIZE bytes plus the JSON padding: no growth.
  const std::string text = SpanLikeText(3000);
  std::string out;
  ASSERT_TRUE(GunzipBody(GzipText(text), 64 << 20, &out).ok());
  EXPECT_EQ(out, text);
  EXPECT_EQ(out.capacity(), text.size() + kGunzipPaddingReserve);
}

TEST(Gunzip, OutputIsReplacedAndReusable) {
  std::string out(5000, 'q');
  const std::string text = SpanLikeText(100);
  ASSERT_TRUE(GunzipBody(GzipText(text), 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
  ASSERT_TRUE(GunzipBody(GzipText("short"), 1 << 20, &out).ok());
  EXPECT_EQ(out, "short");
  EXPECT_TRUE(IsJsonPadded(out));
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

// The attribute-key lookup shared by both decoders: every mapped key is found, and a key that
// differs from one in any single byte (or in length) is not.
#include <gtest/gtest.h>

#include "ingest/decoders/otlp_attributes.h"

namespace ew::ingest::internal {
namespace {

const char* kMappedKeys[] = {"service.name",
                             "service.namespace",
                             "k8s.namespace.name",
                             "http.request.method",
                             "http.method",
                             "http.response.status_code",
                             "http.status_code",
                             "http.route",
                             "url.path",
                             "http.target",
                             "url.full",
                             "http.url",
                             "http.host",
                             "http.request.body.size",
                             "http.request_content_length",
                             "http.response.body.size",
                             "http.response_content_length",
                             "peer.service",
                             "server.address",
                             "net.peer.name",
                             "rpc.system",
                             "rpc.service",
                             "rpc.method",
                             "rpc.grpc.status_code",
                             "db.system",
                             "db.system.name",
                             "db.namespace",
                             "db.name",
                             "messaging.system",
                             "messaging.destination.name",
                             "messaging.destination"};

TEST(AttributeLookup, FindsEveryMappedKeyAndNoNearMiss) {
  for (std::string_view key : kMappedKeys) {
    const AttributeSpec* spec = FindAttribute(key);
    ASSERT_NE(spec, nullptr) << key;
    EXPECT_EQ(spec->key, key);
    std::string copy(key);
    for (size_t i = 0; i < copy.size(); ++i) {
      std::string miss = copy;
      miss[i] = static_cast<char>(miss[i] ^ 0x20);
      EXPECT_EQ(FindAttribute(miss), nullptr) << miss;
    }
    EXPECT_EQ(FindAttribute(copy + "x"), nullptr);
    EXPECT_EQ(FindAttribute(copy.substr(1)), nullptr);
  }
  EXPECT_EQ(FindAttribute(""), nullptr);
  EXPECT_EQ(FindAttribute("server.port"), nullptr);
  EXPECT_EQ(FindAttribute(std::string(1000, 'a')), nullptr);
}

TEST(AttributeLookup, ParseDecimalInt64) {
  int64_t v = 0;
  EXPECT_TRUE(ParseDecimalInt64("200", &v));
  EXPECT_EQ(v, 200);
  EXPECT_TRUE(ParseDecimalInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(ParseDecimalInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  for (const char* bad :
       {"", "-", "+", "9223372036854775808", "12a", " 1", "1.0", "99999999999999999999"}) {
    EXPECT_FALSE(ParseDecimalInt64(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace ew::ingest::internal

#include "base/json_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace ew {
namespace {

TEST(JsonEscape, PlainTextIsCopied) {
  EXPECT_EQ(JsonQuoted("frontend"), "\"frontend\"");
  EXPECT_EQ(JsonQuoted(""), "\"\"");
  EXPECT_EQ(JsonQuoted("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
}

TEST(JsonEscape, QuotesBackslashesAndControlsAreEscaped) {
  EXPECT_EQ(JsonQuoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuoted("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(JsonQuoted(std::string("x\0y\x1f", 4)), "\"x\\u0000y\\u001f\"");
  std::string out = "pre:";
  AppendJsonEscaped("\"", &out);
  EXPECT_EQ(out, "pre:\\\"");
}

}  // namespace
}  // namespace ew

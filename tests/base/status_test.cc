#include "base/status.h"

#include <gtest/gtest.h>

namespace ew {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status Chain(int x, int* out) {
  EW_ASSIGN_OR_RETURN(int h, Half(x));
  EW_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::IOError("disk");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "IOError: disk");
  EXPECT_EQ(s.WithContext("flush").message(), "flush: disk");
}

TEST(Result, PropagatesThroughMacros) {
  int out = 0;
  EXPECT_TRUE(Chain(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Chain(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

}  // namespace
}  // namespace ew

// The differential test in CI: fixed seeds, each a generated data set (ids past 255 and 65,535,
// history across every tier and the retention, recent traffic over OTLP) loaded into a real
// server and questioned against the reference model. A failure prints the reproducer.
#include <gtest/gtest.h>

#include "tests/model/check.h"

namespace ew::model {
namespace {

class ModelCheckTest : public ::testing::TestWithParam<std::pair<uint64_t, bool>> {};

TEST_P(ModelCheckTest, ServerAgreesWithTheModel) {
  CheckOptions o;
  o.gen.seed = GetParam().first;
  o.gen.short_retention = GetParam().second;
  o.questions = 400;
  CheckResult r = RunSeed(o);
  std::printf("%s", r.Report().c_str());
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.failures.empty()) << r.Report();
  EXPECT_GT(r.questions, 0u);
}

// Seeds that once found a difference stay here (KNOWN.md lists what each found). Seed 3 is
// killed (-9) after its traffic and recovers from the ingest log; 2 and 4 run short retention.
INSTANTIATE_TEST_SUITE_P(Seeds, ModelCheckTest,
                         ::testing::Values(std::pair<uint64_t, bool>{1, false},
                                           std::pair<uint64_t, bool>{2, true},
                                           std::pair<uint64_t, bool>{3, false},
                                           std::pair<uint64_t, bool>{4, true}));

}  // namespace
}  // namespace ew::model

// edgewise-ctl capacity's table (tools/ctl_capacity.h) on a real answer of the ledger's store.
// Apart from capacity_ledger_test: tools/ is built only with EW_TEST_SCOPE=all.
#include <gtest/gtest.h>

#include "tests/capacity/capacity_ledger.h"
#include "tools/ctl_capacity.h"
#include "tools/ctl_render.h"

namespace ew::query::testing {
namespace {

constexpr int64_t kNow = CapacityLedgerTest::kNowMinute;

class CapacityCtlTest : public CapacityLedgerTest {
 protected:
  void SetUp() override {
    CapacityLedgerTest::SetUp();
    Fill({{kNow - 3 * 60, kNow, 0.5}});
  }
};

// `before` + word + ' ' (appended piecewise: GCC 12 misreads the concatenation as overlapping).
std::string Padded(char before, const std::string& word) {
  std::string s(1, before);
  s.append(word);
  s.push_back(' ');
  return s;
}

// edgewise-ctl capacity: one row per service and edge, in the answer's order, with its figures.
TEST_F(CapacityCtlTest, TableFollowsTheAnswer) {
  const ApiResponse r = Raw("/api/v1/capacity", {{"start", "now-2h"}, {"step", "30m"}});
  ASSERT_EQ(r.http_status, 200) << r.body;
  auto text = tools::RenderCapacity(r.body);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const Json j = *Json::Parse(r.body);
  ASSERT_GT(j["edges"].Size(), 10u);
  size_t at = text->find("edges, fastest growth first");
  ASSERT_NE(at, std::string::npos) << *text;
  for (const Json& e : j["edges"].Elements()) {
    // SOURCE TARGET STEPS REQUESTS LATEST PEAK/S AT P99 GROWTH CHANGE, one line.
    const size_t line = text->find(Padded('\n', e["source_name"].String()), at);
    ASSERT_NE(line, std::string::npos) << e["source_name"].String() << " after " << at;
    const std::string row = text->substr(line + 1, text->find('\n', line + 1) - line - 1);
    EXPECT_NE(row.find(Padded(' ', e["target_name"].String())), std::string::npos) << row;
    EXPECT_NE(row.find(tools::Fixed(e["latest_peak_rate_per_s"].Double(), 3)), std::string::npos)
        << row;
    const Json g = e["growth"]["pct_per_day"];
    EXPECT_NE(row.find(g.IsNull() ? " - " : tools::Fixed(g.Double(), 2, true)), std::string::npos)
        << row;
    at = line + 1;
  }
}

}  // namespace
}  // namespace ew::query::testing

// Ranges that reach past a tier's retention: the planner widens ragged pieces to the coarser
// tier that still holds them (and echoes the range it answered), series steps grow to whole
// hours or days, compare keeps both ranges answerable and equally long. A brute-force check of
// WidenForRetention over random ranges and horizons, and a real store compacted under its
// retention, compared with the rollups it was given.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "base/time.h"
#include "query/planner.h"
#include "query/query_service.h"
#include "query/render.h"
#include "storage/edge_store.h"
#include "tests/common/json.h"
#include "tests/common/temp_dir.h"

namespace ew::query {
namespace {

using storage::Tier;
constexpr int64_t kHour = 60;
constexpr int64_t kDay = 1440;

int64_t FloorTo(int64_t m, int64_t unit) { return FloorDiv(m, unit) * unit; }
int64_t CeilTo(int64_t m, int64_t unit) { return -FloorDiv(-m, unit) * unit; }

// Whether the cover of [s, e) reads only units the retention keeps (days are never widened).
bool Answerable(int64_t s, int64_t e, const Horizons& h) {
  for (const TierRange& r : CoverMinutes(s, e)) {
    const int64_t first = r.start * storage::TierUnitMinutes(r.tier);
    if (r.tier == Tier::kMinute && first < h.minute) return false;
    if (r.tier == Tier::kHour && first < h.hour) return false;
  }
  return true;
}

TEST(RetentionWidenTest, NarrowestAnswerableRangeAmongHourAndDayRoundings) {
  std::mt19937_64 rng(7);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 200000; ++i) {
    const int64_t now = 30 * kDay * 60'000LL + uni(0, 40 * kDay) * 60'000LL + uni(0, 59'999);
    const int64_t r1m = uni(1, 10 * kDay) * 60'000LL;
    const int64_t r1h = r1m + (uni(0, 3) == 0 ? 0 : uni(0, 10 * kDay) * 60'000LL);
    const int64_t r1d = r1h + uni(0, 10 * kDay) * 60'000LL;
    const Horizons h = RetentionHorizons({r1m, r1h, r1d}, now);
    const int64_t s = now / 60'000 - uni(0, 30 * kDay);
    const int64_t e = s + 1 + (uni(0, 2) == 0 ? uni(0, 120) : uni(0, 5 * kDay));
    const auto [ws, we] = WidenForRetention(s, e, h);
    ASSERT_TRUE(Answerable(ws, we, h)) << s << " " << e;
    // Brute force: the candidates are the ends themselves or rounded out to hours or days.
    int64_t best = INT64_MAX;
    for (int64_t cs : {s, FloorTo(s, kHour), FloorTo(s, kDay)}) {
      for (int64_t ce : {e, CeilTo(e, kHour), CeilTo(e, kDay)}) {
        if (Answerable(cs, ce, h)) best = std::min(best, ce - cs);
      }
    }
    ASSERT_EQ(we - ws, best) << "range " << s << ".." << e << " widened to " << ws << ".." << we;
    ASSERT_LE(ws, s);
    ASSERT_GE(we, e);
    if (s >= h.minute) {  // inside the minute retention nothing changes
      ASSERT_EQ(ws, s);
    }
  }
}

// A store with short retention (3 d of minutes, 20 d of hours), one request per edge in every
// minute of the last 30 days, compacted so that the retention has dropped what it drops.
class RetentionQueryTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNowMinute = 20500LL * kDay + 13 * kHour + 17;
  static constexpr int64_t kNowMs = kNowMinute * 60'000 + 30'000;

  void SetUp() override {
    storage::StoreOptions o;
    o.dir = dir_.Sub("store");
    o.retention_ms[0] = 3 * kDay * 60'000;
    o.retention_ms[1] = 20 * kDay * 60'000;
    o.retention_ms[2] = 400 * kDay * 60'000;
    o.fixed_now_ms = kNowMs;
    auto s = storage::EdgeStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    a_ = *store_->InternNode(storage::NodeKind::kService, "shop", "frontend");
    b_ = *store_->InternNode(storage::NodeKind::kService, "shop", "cart");
    storage::FlushBatch fb;
    fb.log_position = 1;
    for (int64_t m = kNowMinute - 30 * kDay; m <= kNowMinute; ++m) {
      storage::MinuteRollup r;
      r.minute = m;
      r.dims.client = a_;
      r.dims.server = b_;
      r.dims.protocol = storage::Protocol::kHttp;
      r.value.requests = 1 + static_cast<uint64_t>(m % 7);  // differs from minute to minute
      r.value.server_latency.Add(1000, r.value.requests);
      requests_[m] = r.value.requests;
      fb.rollups.push_back(std::move(r));
    }
    ASSERT_TRUE(store_->ApplyFlush(fb).ok());
    ASSERT_TRUE(store_->CompactAll().ok());
    service_ = QueryService::Create(store_.get(), nullptr);
  }

  ew::testing::Json Get(const std::string& path, std::map<std::string, std::string> params) {
    ApiRequest req;
    req.path = path;
    req.params = std::move(params);
    req.now_ms = kNowMs;
    ApiResponse r = service_->Handle(req);
    EXPECT_EQ(r.http_status, 200) << r.body;
    auto j = ew::testing::Json::Parse(r.body);
    return j.ok() ? *j : ew::testing::Json();
  }
  static std::string Ts(int64_t minute) { return std::to_string(minute * 60); }
  static std::string Id(storage::NodeId n) {
    std::string s = std::to_string(n);
    s.insert(s.begin(), 'n');
    return s;
  }
  uint64_t Sum(int64_t s, int64_t e) const {
    uint64_t n = 0;
    for (auto it = requests_.lower_bound(s); it != requests_.end() && it->first < e; ++it) {
      n += it->second;
    }
    return n;
  }
  uint64_t MapRequests(const ew::testing::Json& map) const {
    uint64_t n = 0;
    for (const auto& e : map["edges"].Elements()) n += e["requests"].Uint();
    return n;
  }

  ew::testing::TempDir dir_{"ew-retention-test-"};
  std::unique_ptr<storage::EdgeStore> store_;
  std::unique_ptr<QueryService> service_;
  storage::NodeId a_ = 0, b_ = 0;
  std::map<int64_t, uint64_t> requests_;
};

TEST_F(RetentionQueryTest, RaggedMinutesPastTheMinuteRetentionWidenToTheirHours) {
  // Five days ago, 10:30 to 12:30: the minutes are gone, the hours are kept.
  const int64_t day = FloorTo(kNowMinute, kDay) - 5 * kDay;
  auto map = Get("/api/v1/map",
                 {{"start", Ts(day + 10 * kHour + 30)}, {"end", Ts(day + 12 * kHour + 30)}});
  EXPECT_EQ(map["start"].String(), MinuteToRfc3339(day + 10 * kHour));
  EXPECT_EQ(map["end"].String(), MinuteToRfc3339(day + 13 * kHour));
  EXPECT_EQ(MapRequests(map), Sum(day + 10 * kHour, day + 13 * kHour));
  // Rates are over the answered three hours.
  const double rate = static_cast<double>(Sum(day + 10 * kHour, day + 13 * kHour)) / (3 * 3600);
  EXPECT_NEAR(map["edges"][0]["rate_per_s"].Double(), rate, rate * 1e-5);
}

TEST_F(RetentionQueryTest, HoursPastTheHourRetentionWidenToTheirDays) {
  const int64_t day = FloorTo(kNowMinute, kDay) - 25 * kDay;
  auto map =
      Get("/api/v1/map", {{"start", Ts(day + 3 * kHour + 5)}, {"end", Ts(day + kDay + 2 * kHour)}});
  EXPECT_EQ(map["start"].String(), MinuteToRfc3339(day));
  EXPECT_EQ(map["end"].String(), MinuteToRfc3339(day + 2 * kDay));
  EXPECT_EQ(MapRequests(map), Sum(day, day + 2 * kDay));
}

TEST_F(RetentionQueryTest, RangesInsideTheMinuteRetentionAreUnchanged) {
  const int64_t s = kNowMinute - 2 * kDay + 13, e = kNowMinute - kDay + 41;
  auto map = Get("/api/v1/map", {{"start", Ts(s)}, {"end", Ts(e)}});
  EXPECT_EQ(map["start"].String(), MinuteToRfc3339(s));
  EXPECT_EQ(map["end"].String(), MinuteToRfc3339(e));
  EXPECT_EQ(MapRequests(map), Sum(s, e));
}

TEST_F(RetentionQueryTest, SeriesStepsGrowToWhatTheRetentionKeeps) {
  const std::string src = Id(a_), dst = Id(b_);
  const int64_t day = FloorTo(kNowMinute, kDay);
  struct Case {
    int64_t start, end, step, want_step;
  };
  for (const Case& c : {Case{day - 5 * kDay + 30, day - 4 * kDay, 5, kHour},
                        Case{day - 25 * kDay, day - 22 * kDay, kHour, kDay},
                        Case{day - 2 * kDay, day - kDay, 5, 5}}) {
    auto series = Get("/api/v1/edge/series", {{"source", src},
                                              {"target", dst},
                                              {"start", Ts(c.start)},
                                              {"end", Ts(c.end)},
                                              {"step", std::to_string(c.step) + "m"}});
    ASSERT_EQ(series["step_s"].Int(), c.want_step * 60) << c.start;
    for (const auto& p : series["points"].Elements()) {
      auto t = ParseTimestampMs(p["time"].String(), 0);
      ASSERT_TRUE(t.ok());
      const int64_t m = *t / 60'000;
      EXPECT_EQ(p["requests"].Uint(), Sum(m, m + c.want_step)) << p["time"].String();
    }
  }
}

TEST_F(RetentionQueryTest, CompareWidensThePreviousRangeOnItsOwn) {
  // A range inside the minute retention compared with 5 days earlier: the earlier range needs
  // whole hours, the current one stays as asked; each range's rates are over its own length.
  const int64_t s = kNowMinute - 2 * kDay + 13, e = kNowMinute - 2 * kDay + 77;
  auto map = Get("/api/v1/map", {{"start", Ts(s)}, {"end", Ts(e)}, {"compare", "-5d"}});
  const int64_t ps = FloorTo(s - 5 * kDay, kHour), pe = CeilTo(e - 5 * kDay, kHour);
  EXPECT_EQ(map["start"].String(), MinuteToRfc3339(s));
  EXPECT_EQ(map["end"].String(), MinuteToRfc3339(e));
  EXPECT_EQ(map["previous_start"].String(), MinuteToRfc3339(ps));
  EXPECT_EQ(map["previous_end"].String(), MinuteToRfc3339(pe));
  ASSERT_EQ(map["edges"].Size(), 1u);
  const auto& edge = map["edges"][0];
  EXPECT_EQ(edge["requests"].Uint(), Sum(s, e));
  EXPECT_EQ(edge["previous"]["requests"].Uint(), Sum(ps, pe));
  const double rate = static_cast<double>(Sum(s, e)) / ((e - s) * 60.0);
  const double prev_rate = static_cast<double>(Sum(ps, pe)) / ((pe - ps) * 60.0);
  EXPECT_NEAR(edge["previous"]["rate_per_s"].Double(), prev_rate, prev_rate * 1e-5);
  EXPECT_NEAR(edge["delta"]["rate_per_s"].Double(), rate - prev_rate, 1e-5);
}

}  // namespace
}  // namespace ew::query

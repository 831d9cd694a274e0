// The ledger file round trip and the comparison verify relies on.
#include "tools/ledger.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "tools/verify.h"

namespace ew::tools {
namespace {

const NodeRef kFront{"service", "shop", "frontend"};
const NodeRef kCart{"service", "shop", "cart"};
const NodeRef kPg{"database", "", "postgresql/orders"};

TEST(Ledger, WritesAndReadsBack) {
  Ledger l;
  l.seed = 9;
  l.Add(100, {true, kFront, kCart, "http", true});
  l.Add(100, {true, kFront, kCart, "http", false});
  l.Add(101, {true, kCart, kPg, "database", false});
  std::string path = (std::filesystem::temp_directory_path() / "ew-ledger-test.json").string();
  ASSERT_TRUE(l.Write(path).ok());
  auto r = Ledger::Read(path);
  std::remove(path.c_str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->seed, 9u);
  EXPECT_EQ(r->requests_counted, 3u);
  ASSERT_EQ(r->rows.size(), 2u);
  const LedgerCounts& c = r->rows.at(LedgerKey{100, kFront, kCart, "http"});
  EXPECT_EQ(c.requests, 2u);
  EXPECT_EQ(c.errors, 1u);
}

TEST(Ledger, CompareFindsMissingExtraAndWrongCounts) {
  LedgerRows rows = {{LedgerKey{1, kFront, kCart, "http"}, {10, 2}},
                     {LedgerKey{1, kCart, kPg, "database"}, {5, 0}}};
  std::vector<MapEdge> same = {{kFront, kCart, "http", 10, 2}, {kCart, kPg, "database", 5, 0}};
  EXPECT_TRUE(CompareWindow(rows, same, false, true).empty());
  std::vector<MapEdge> off = {{kFront, kCart, "http", 10, 3}, {kPg, kCart, "database", 1, 0}};
  auto diffs = CompareWindow(rows, off, false, true);
  ASSERT_EQ(diffs.size(), 3u);  // wrong errors, missing cart->pg, unexpected pg->cart
  EXPECT_TRUE(CompareWindow(rows, off, true, true).size() == 2u);
  std::vector<MapEdge> proto = {{kFront, kCart, "grpc", 10, 2}, {kCart, kPg, "database", 5, 0}};
  EXPECT_EQ(CompareWindow(rows, proto, false, true).size(), 1u);
  EXPECT_TRUE(CompareWindow(rows, proto, false, false).empty());
}

}  // namespace
}  // namespace ew::tools

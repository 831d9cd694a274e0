// Unit tests of server/auth.h: the tokens file format (errors name the line, never the token),
// resolving a request to a tenant and its scopes, the tenant header, and reload keeping the
// previous tokens when the file turns malformed.
#include <gtest/gtest.h>

#include <fstream>

#include "server/auth.h"
#include "tests/common/temp_dir.h"

namespace ew::server {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(TokensFile, ParsesLinesCommentsAndBlankLines) {
  auto t = ParseTokensFile(
      "# team tokens\n\n"
      "tokA  shop   ingest,query   # the shop\n"
      "\ttokB\tbank.prod-1 admin\r\n"
      "tokC default query,ingest,admin",
      "f");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].token, "tokA");
  EXPECT_EQ((*t)[0].principal.tenant, "shop");
  EXPECT_EQ((*t)[0].principal.scopes, kScopeIngest | kScopeQuery);
  EXPECT_EQ((*t)[1].token, "tokB");
  EXPECT_EQ((*t)[1].principal.tenant, "bank.prod-1");
  EXPECT_EQ((*t)[1].principal.scopes, kScopeAdmin);
  EXPECT_EQ((*t)[2].principal.scopes, kScopeAll);
}

TEST(TokensFile, ErrorsNameTheLineAndNotTheToken) {
  struct Case {
    std::string text;
    std::string line;
    std::string says;
  };
  const Case cases[] = {
      {"ok1 t ingest\nsecretX shop\n", "f:2:", "expected 'TOKEN TENANT SCOPES'"},
      {"\n\nsecretX shop ingest query\n", "f:3:", "got 4 fields"},
      {"secretX shop ingest,write\n", "f:1:", "unknown scope 'write'"},
      {"secretX shop ingest,\n", "f:1:", "unknown scope ''"},
      {"secretX sh/op ingest\n", "f:1:", "tenant 'sh/op' is not a valid name"},
      {"secretX " + std::string(65, 'a') + " ingest\n", "f:1:", "is not a valid name"},
      {"secretX a ingest\n# c\nsecretX b query\n", "f:3:", "already on an earlier line"},
  };
  for (const Case& c : cases) {
    auto t = ParseTokensFile(c.text, "f");
    ASSERT_FALSE(t.ok()) << c.text;
    const std::string m = t.status().message();
    EXPECT_EQ(m.rfind(c.line, 0), 0u) << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << m;
    EXPECT_EQ(m.find("secretX"), std::string::npos) << m;
  }
}

TEST(TenantNames, OneToSixtyFourOfTheAllowedCharacters) {
  EXPECT_TRUE(ValidTenantName("a"));
  EXPECT_TRUE(ValidTenantName("Team_A.prod-2"));
  EXPECT_TRUE(ValidTenantName(std::string(64, 'z')));
  EXPECT_FALSE(ValidTenantName(""));
  EXPECT_FALSE(ValidTenantName(std::string(65, 'z')));
  for (std::string bad : {"a b", "a/b", "a:b", "ä", "a\n", "a%20"}) {
    EXPECT_FALSE(ValidTenantName(bad)) << bad;
  }
}

TEST(Authenticator, ResolvesTokensToTenantsAndScopes) {
  testing::TempDir dir;
  const std::string file = dir.Sub("tokens");
  Write(file, "ti shop ingest\ntq shop query\nta ops admin\ntiq bank ingest,query\n");
  auto auth = Authenticator::Create({file, "", false});
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  const Authenticator& a = **auth;
  EXPECT_TRUE(a.TokensRequired());
  auto ok = a.Resolve("Bearer tiq", "", kScopeQuery);
  EXPECT_EQ(ok.outcome, AuthDecision::kOk);
  EXPECT_EQ(ok.principal.tenant, "bank");
  EXPECT_EQ(a.Resolve("bearer ti", "", kScopeIngest).principal.tenant, "shop");
  EXPECT_EQ(a.Resolve("Bearer ti", "", kScopeQuery).outcome, AuthDecision::kForbidden);
  EXPECT_EQ(a.Resolve("Bearer tq", "", kScopeIngest).outcome, AuthDecision::kForbidden);
  EXPECT_EQ(a.Resolve("Bearer tq", "", kScopeAdmin).outcome, AuthDecision::kForbidden);
  EXPECT_EQ(a.Resolve("Bearer ta", "", kScopeAdmin).outcome, AuthDecision::kOk);
  for (std::string_view bad :
       {"", "Bearer ", "Bearer t", "Bearer tiqq", "Basic dGk6", "ti", "Bearer  ti", "Bearer ti "}) {
    EXPECT_EQ(a.Resolve(bad, "", kScopeIngest).outcome, AuthDecision::kUnauthorized) << bad;
  }
  // With a tokens file the header does not choose the tenant.
  EXPECT_EQ(a.Resolve("Bearer ti", "bank", kScopeIngest).principal.tenant, "shop");
}

TEST(Authenticator, AuthTokenIsTheDefaultTenantWithEveryScope) {
  auto auth = Authenticator::Create({"", "s3cret", false});
  ASSERT_TRUE(auth.ok());
  for (Scope s : {kScopeIngest, kScopeQuery, kScopeAdmin}) {
    auto d = (*auth)->Resolve("Bearer s3cret", "", s);
    EXPECT_EQ(d.outcome, AuthDecision::kOk);
    EXPECT_EQ(d.principal.tenant, "default");
  }
  EXPECT_EQ((*auth)->Resolve("Bearer s3cres", "", kScopeQuery).outcome,
            AuthDecision::kUnauthorized);
}

TEST(Authenticator, TenantHeaderWithoutTokens) {
  auto open = Authenticator::Create({"", "", false});
  ASSERT_TRUE(open.ok());
  EXPECT_FALSE((*open)->TokensRequired());
  EXPECT_EQ((*open)->Resolve("", "shop", kScopeQuery).principal.tenant, "default");
  auto header = Authenticator::Create({"", "", true});
  ASSERT_TRUE(header.ok());
  EXPECT_EQ((*header)->Resolve("", "shop", kScopeQuery).principal.tenant, "shop");
  EXPECT_EQ((*header)->Resolve("", "", kScopeQuery).principal.tenant, "default");
  EXPECT_EQ((*header)->Resolve("", "sh op", kScopeQuery).outcome, AuthDecision::kBadTenant);
}

TEST(Authenticator, ReloadKeepsTheOldTokensWhenTheFileIsMalformed) {
  testing::TempDir dir;
  const std::string file = dir.Sub("tokens");
  Write(file, "old shop ingest\n");
  auto auth = Authenticator::Create({file, "", false});
  ASSERT_TRUE(auth.ok());
  Authenticator& a = **auth;
  Write(file, "new shop ingest\n");
  ASSERT_TRUE(a.Reload().ok());
  EXPECT_EQ(a.Resolve("Bearer old", "", kScopeIngest).outcome, AuthDecision::kUnauthorized);
  EXPECT_EQ(a.Resolve("Bearer new", "", kScopeIngest).outcome, AuthDecision::kOk);
  Write(file, "new shop ingest\nbroken\n");
  Status st = a.Reload();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(file + ":2:"), std::string::npos) << st.message();
  EXPECT_EQ(a.Resolve("Bearer new", "", kScopeIngest).outcome, AuthDecision::kOk);
  // A malformed file at start is refused.
  EXPECT_FALSE(Authenticator::Create({file, "", false}).ok());
  EXPECT_FALSE(Authenticator::Create({dir.Sub("absent"), "", false}).ok());
}

TEST(ConstantTime, EqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("ab\0", 3), "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace ew::server

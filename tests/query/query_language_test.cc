// Parser tests: valid queries (canonical form, precedence, case-insensitivity, escapes) and
// invalid ones with the exact error position and message.
#include "query/query_language.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "query/predicate.h"

namespace ew::query {
namespace {

std::string Canon(const std::string& q) {
  size_t pos = 999;
  auto r = ParseQuery(q, &pos);
  EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
  if (!r.ok()) return "<error>";
  return ExprToString(r->root.get());
}

struct Failure {
  std::string message;
  size_t position;
};

Failure Fail(const std::string& q) {
  size_t pos = 999;
  auto r = ParseQuery(q, &pos);
  EXPECT_FALSE(r.ok()) << q;
  if (r.ok()) return {"", 999};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return {r.status().message(), pos};
}

TEST(QueryLanguageTest, ExamplesFromTheApi) {
  EXPECT_EQ(Canon("server.namespace = metoro"), "server.namespace = \"metoro\"");
  EXPECT_EQ(Canon("client.namespace = metoro and not client.service.name = loadgen"),
            "(client.namespace = \"metoro\" and not client.service.name = \"loadgen\")");
  EXPECT_EQ(Canon("server.service.name = api.stripe.com"),
            "server.service.name = \"api.stripe.com\"");
  EXPECT_EQ(Canon("client.service.name =~ \"metoro-.*\""), "client.service.name =~ \"metoro-.*\"");
  EXPECT_EQ(Canon("path =~ \"^/v1/.*\""), "path =~ \"^/v1/.*\"");
  EXPECT_EQ(Canon("method = POST"), "method = \"POST\"");
  EXPECT_EQ(Canon("status >= 500"), "status >= \"500\"");
  EXPECT_EQ(Canon("protocol = grpc"), "protocol = \"grpc\"");
  EXPECT_EQ(Canon("error = true"), "error = \"true\"");
  EXPECT_EQ(Canon("v1.traces"), "path =~ \"v1.traces\"");
  EXPECT_EQ(Canon("\"/v1/(a|b)\""), "path =~ \"/v1/(a|b)\"");
}

TEST(QueryLanguageTest, EveryOperator) {
  EXPECT_EQ(Canon("status = 200"), "status = \"200\"");
  EXPECT_EQ(Canon("status != 200"), "status != \"200\"");
  EXPECT_EQ(Canon("path =~ a"), "path =~ \"a\"");
  EXPECT_EQ(Canon("path !~ a"), "path !~ \"a\"");
  EXPECT_EQ(Canon("status < 1"), "status < \"1\"");
  EXPECT_EQ(Canon("status <= 1"), "status <= \"1\"");
  EXPECT_EQ(Canon("status > 1"), "status > \"1\"");
  EXPECT_EQ(Canon("status >= 1"), "status >= \"1\"");
  EXPECT_EQ(Canon("method in (GET, \"POST\",PUT)"), "method in (\"GET\", \"POST\", \"PUT\")");
  EXPECT_EQ(Canon("status>=500"), "status >= \"500\"");  // no spaces needed
}

TEST(QueryLanguageTest, PrecedenceAndParentheses) {
  EXPECT_EQ(Canon("method = GET or method = PUT and method = POST"),
            "(method = \"GET\" or (method = \"PUT\" and method = \"POST\"))");
  EXPECT_EQ(Canon("(method = GET or method = PUT) and method = POST"),
            "((method = \"GET\" or method = \"PUT\") and method = \"POST\")");
  EXPECT_EQ(Canon("not not error = true"), "not not error = \"true\"");
  EXPECT_EQ(Canon("not (status = 1 or status = 2)"), "not (status = \"1\" or status = \"2\")");
}

TEST(QueryLanguageTest, CaseInsensitiveKeywordsAndFields) {
  EXPECT_EQ(Canon("SERVER.NAMESPACE = Shop AND Not Path =~ X OR STATUS In (1)"),
            "((server.namespace = \"Shop\" and not path =~ \"X\") or status in (\"1\"))");
}

TEST(QueryLanguageTest, StringsAndEscapes) {
  size_t pos = 0;
  auto r = ParseQuery(R"(path = "a\"b\\c\td\.e")", &pos);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root->values[0], "a\"b\\c\td\\.e");  // unknown escapes stay for RE2
  r = ParseQuery(R"(path = "and")", &pos);          // a keyword in quotes is a value
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root->values[0], "and");
}

TEST(QueryLanguageTest, EmptyQuerySelectsEverything) {
  size_t pos = 0;
  auto r = ParseQuery("", &pos);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root, nullptr);
  r = ParseQuery("   \t ", &pos);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root, nullptr);
}

TEST(QueryLanguageTest, ErrorsCarryPositions) {
  auto f = Fail("server.namespace =");
  EXPECT_EQ(f.position, 18u);
  EXPECT_EQ(f.message, "expected a value after '=' at 18");
  f = Fail("server.namespace = )");
  EXPECT_EQ(f.position, 19u);
  EXPECT_EQ(f.message, "expected a value after '=' at 19");
  f = Fail("(status = 500");
  EXPECT_EQ(f.position, 13u);
  EXPECT_EQ(f.message, "expected ')', found end of query at 13");
  f = Fail("status 500");
  EXPECT_EQ(f.position, 7u);
  EXPECT_EQ(f.message, "expected an operator after 'status', found '500' at 7");
  f = Fail("path = \"abc");
  EXPECT_EQ(f.position, 7u);
  f = Fail("status ! 5");
  EXPECT_EQ(f.position, 7u);
  f = Fail("method in GET");
  EXPECT_EQ(f.position, 10u);
  f = Fail("method in (GET,");
  EXPECT_EQ(f.position, 15u);
  f = Fail("method in (GET GET)");
  EXPECT_EQ(f.position, 15u);
  f = Fail("and");
  EXPECT_EQ(f.position, 0u);
  f = Fail("not");
  EXPECT_EQ(f.position, 3u);
  f = Fail("status = 1 status = 2");
  EXPECT_EQ(f.position, 11u);
  f = Fail("a = b");  // a word followed by an operator was meant as a field
  EXPECT_EQ(f.position, 0u);
  f = Fail("x.traces status");  // a path regex, then a second value
  EXPECT_EQ(f.position, 9u);
  f = Fail("status = 1 and");
  EXPECT_EQ(f.position, 14u);
  f = Fail("path = \"x\\");
  EXPECT_EQ(f.position, 9u);
}

TEST(QueryLanguageTest, SingleQuotedStringsAreStrings) {
  EXPECT_EQ(Canon("server.namespace = 'shop'"), "server.namespace = \"shop\"");
  EXPECT_EQ(Canon("client.service.name in ('a b', \"c\")"),
            "client.service.name in (\"a b\", \"c\")");
  EXPECT_EQ(Canon("'^/v1/'"), "path =~ \"^/v1/\"");
  size_t pos = 0;
  auto r = ParseQuery(R"(path = 'it\'s "quoted"')", &pos);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->root->values[0], "it's \"quoted\"");
  auto f = Fail("path = 'open");
  EXPECT_EQ(f.position, 7u);
  EXPECT_EQ(f.message, "unterminated string starting at 7");
}

TEST(QueryLanguageTest, UnknownFieldsAreNamedWithTheFieldList) {
  const std::string fields =
      "fields: server.namespace, client.namespace, server.service.name, client.service.name, "
      "server.kind, client.kind, path, method, status, protocol, error";
  auto f = Fail("service = frontend");
  EXPECT_EQ(f.message, "unknown field 'service' at 0; " + fields);
  EXPECT_EQ(f.position, 0u);
  f = Fail("status = 500 and server.namespce in (a, b)");
  EXPECT_EQ(f.message, "unknown field 'server.namespce' at 17; " + fields);
  EXPECT_EQ(f.position, 17u);
  f = Fail("not \"service\" != x");
  EXPECT_EQ(f.position, 4u);
  EXPECT_EQ(f.message.rfind("unknown field 'service' at 4;", 0), 0u) << f.message;
}

TEST(QueryLanguageTest, ValuesThatCannotBeComparedAsAskedAreErrors) {
  auto f = Fail("status >= 5xx");
  EXPECT_EQ(f.message, "expected a number after '>=', found '5xx' at 10");
  EXPECT_EQ(f.position, 10u);
  f = Fail("status < inf");
  EXPECT_EQ(f.position, 9u);
  f = Fail("status = 5xx");
  EXPECT_EQ(f.message, "expected an integer status code, found '5xx' at 9");
  f = Fail("status in (500, 502, 50x)");
  EXPECT_EQ(f.position, 21u);
  f = Fail("status = 500.0");
  EXPECT_EQ(f.message, "expected an integer status code, found '500.0' at 9");
  f = Fail("status != 70000");
  EXPECT_EQ(f.position, 10u);
  f = Fail("path > a");
  EXPECT_EQ(f.message, "expected a number after '>', found 'a' at 7");
  f = Fail("protocol = htp");
  EXPECT_EQ(f.message,
            "unknown protocol 'htp' at 11; protocols: http, grpc, database, messaging, other");
  EXPECT_EQ(f.position, 11u);
  f = Fail("server.kind in (service, db)");
  EXPECT_EQ(f.message,
            "unknown kind 'db' at 25; kinds: service, external_client, external_service, "
            "database, messaging");
  f = Fail("client.kind != external");
  EXPECT_EQ(f.position, 15u);
  f = Fail("method = GTE");
  EXPECT_EQ(f.message,
            "unknown method 'GTE' at 9; methods: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, "
            "TRACE, PATCH, _OTHER");
  f = Fail("error = yes");
  EXPECT_EQ(f.message, "expected true or false for error, found 'yes' at 8");
  // What stays valid: case-insensitive enumerations, "" for a missing status or method, any
  // regular expression, and status codes in canonical form.
  EXPECT_EQ(Canon("protocol = GRPC and server.kind = Database and error = TRUE"),
            "((protocol = \"GRPC\" and server.kind = \"Database\") and error = \"TRUE\")");
  EXPECT_EQ(Canon("status = \"\" or method = ''"), "(status = \"\" or method = \"\")");
  EXPECT_EQ(Canon("status in (0500, 502) and status < 599.5"),
            "(status in (\"500\", \"502\") and status < \"599.5\")");
  EXPECT_EQ(Canon("protocol =~ ht and status =~ \"^5\""),
            "(protocol =~ \"ht\" and status =~ \"^5\")");
}

// The enumerations the parser accepts are the names storage gives.
TEST(QueryLanguageTest, EnumerationsAgreeWithStorage) {
  for (int p = 0; p <= 4; ++p) {
    std::string q = "protocol = " + std::string(storage::ProtocolName(storage::Protocol(p)));
    Canon(q);
  }
  for (int k = 0; k <= 4; ++k) {
    Canon("server.kind = " + std::string(storage::NodeKindName(storage::NodeKind(k))));
  }
}

TEST(QueryLanguageTest, Limits) {
  std::string long_query(kMaxQueryLength + 1, 'a');
  auto f = Fail(long_query);
  EXPECT_EQ(f.position, kMaxQueryLength);
  std::string deep(200, '(');
  deep += "status = 1";
  f = Fail(deep);
  EXPECT_EQ(f.position, static_cast<size_t>(kMaxDepth));
  std::string many = "status in (";
  for (size_t i = 0; i <= kMaxInValues; ++i) many += (i ? ",1" : "1");
  many += ")";
  Fail(many);
}

TEST(PredicateCompileTest, RegexErrorsCarryPositions) {
  size_t pos = 0;
  auto q = ParseQuery("status = 1 and path =~ \"(\"", &pos);
  ASSERT_TRUE(q.ok());
  auto p = Predicate::Compile(q->root.get(), nullptr, &pos);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(pos, 15u);
  EXPECT_NE(p.status().message().find("invalid regular expression"), std::string::npos);

  std::string big = "path =~ \"" + std::string(kMaxRegexLength + 1, 'a') + "\"";
  q = ParseQuery(big, &pos);
  ASSERT_TRUE(q.ok());
  p = Predicate::Compile(q->root.get(), nullptr, &pos);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(pos, 0u);
  // A pattern within the length limit whose program exceeds the memory budget is refused too.
  q = ParseQuery("path =~ \"((((a{100}){100}){100}){100})\"", &pos);
  ASSERT_TRUE(q.ok());
  p = Predicate::Compile(q->root.get(), nullptr, &pos);
  EXPECT_FALSE(p.ok());
}

// Hostile input: random bytes and random token soup never crash, and every failure carries a
// position inside the text.
TEST(QueryLanguageTest, RandomInputNeverCrashes) {
  static const char* const kPieces[] = {"path",  "status", "server.namespace",
                                        "=",     "!=",     "=~",
                                        "!~",    "<",      ">=",
                                        "in",    "(",      ")",
                                        ",",     "and",    "or",
                                        "not",   "\"",     "\\",
                                        "x",     "500",    " ",
                                        "\"(\"", "[",      "*",
                                        "!"};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string q;
    size_t n = rng() % 24;
    for (size_t j = 0; j < n; ++j) {
      if (i % 2) {
        q.push_back(static_cast<char>(rng() % 256));
      } else {
        q += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
        if (rng() % 2) q.push_back(' ');
      }
    }
    size_t pos = 99999;
    auto r = ParseQuery(q, &pos);
    if (!r.ok()) {
      EXPECT_LE(pos, q.size()) << q;
      continue;
    }
    auto p = Predicate::Compile(r->root.get(), nullptr, &pos);
    if (!p.ok()) {
      EXPECT_LE(pos, q.size()) << q;
    }
  }
}

}  // namespace
}  // namespace ew::query

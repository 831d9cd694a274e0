// The query language on the model side: a random filter (a tree of comparisons drawn from the
// grammar of docs/query.md), its text as a user would type it, and its verdict on one request of
// the model — written from the documented semantics, independently of query/predicate.cc.
//
// Thread-safety: a Filter is immutable once generated (RE2 is thread-safe for matching).
#pragma once

#include <re2/re2.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/model/dataset.h"

namespace ew::model {

enum class FField : uint8_t {
  kServerNs,
  kClientNs,
  kServerName,
  kClientName,
  kServerKind,
  kClientKind,
  kPath,
  kMethod,
  kStatus,
  kProtocol,
  kError,
};
enum class FOp : uint8_t { kEq, kNe, kMatch, kNotMatch, kLt, kLe, kGt, kGe, kIn };

struct Filter {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCompare, kBareRegex };
  Kind kind = Kind::kCompare;
  std::unique_ptr<Filter> a, b;
  FField field = FField::kPath;
  FOp op = FOp::kEq;
  std::vector<std::string> values;
  std::vector<std::unique_ptr<RE2>> regexes;

  bool Matches(const Dataset& d, const Request& r) const;
  // True when a comparison on `f` occurs anywhere.
  bool Uses(FField f) const;
};

// The field's value for a request, as the query language sees it.
std::string FieldValue(const Dataset& d, const Request& r, FField f);
std::string_view FieldView(const Dataset& d, const Request& r, FField f);

class FilterGen {
 public:
  FilterGen(const Dataset& d, std::mt19937_64* rng) : d_(d), rng_(*rng) {}
  // A random filter (depth up to 3) and its text. Null filter and "" for "everything".
  std::unique_ptr<Filter> Make(std::string* text);
  // A comparison on one field (for the metamorphic relations).
  std::unique_ptr<Filter> Leaf();
  // Renders a filter as query text (random spelling: case, quotes, redundant parentheses).
  std::string Render(const Filter& f, int parent_prec);
  static std::unique_ptr<Filter> Combine(Filter::Kind kind, std::unique_ptr<Filter> a,
                                         std::unique_ptr<Filter> b);

 private:
  std::unique_ptr<Filter> Tree(int depth);
  std::unique_ptr<Filter> Prefixed();
  std::string SomeValue(FField f);
  std::string SomeRegex(FField f);
  std::string Quote(const std::string& v, bool force);
  uint64_t U(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  const Dataset& d_;
  std::mt19937_64& rng_;
};

}  // namespace ew::model

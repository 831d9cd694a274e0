// Fuzz target: the filter language (query/query_language.cc) and the predicate compiler that
// runs on its output (query/predicate.cc, RE2 patterns), on any text.
//
// Relations checked: an error's position lies within the text (or at its end); the canonical
// text of a parsed query (ExprToString) parses again, to a tree with the same canonical text,
// unless that text is longer than kMaxQueryLength or nested deeper than kMaxDepth (the canonical
// form parenthesizes every and/or).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "query/predicate.h"
#include "query/query_language.h"

namespace ew::query {
namespace {

int Depth(const Expr* e) {
  if (e == nullptr || e->kind == Expr::Kind::kCompare) return 0;
  // and/or print as "(a and b)": one level for the parenthesis; not: one level.
  const int inner = std::max(Depth(e->lhs.get()), Depth(e->rhs.get()));
  return inner + 1;
}

void CheckQuery(std::string_view text) {
  size_t error_position = SIZE_MAX;
  auto parsed = ParseQuery(text, &error_position);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == StatusCode::kInvalidArgument, parsed.status().ToString());
    FUZZ_CHECK(error_position <= text.size(),
               parsed.status().ToString() + ", position " + std::to_string(error_position));
    return;
  }
  const Expr* root = parsed.value().root.get();
  for (int f = 0; f < kFieldCount; ++f) (void)ExprUses(root, static_cast<Field>(f));

  Dictionary dict(nullptr);  // Compile does not read the store
  size_t compile_position = SIZE_MAX;
  auto predicate = Predicate::Compile(root, &dict, &compile_position);
  if (!predicate.ok()) {
    FUZZ_CHECK(predicate.status().code() == StatusCode::kInvalidArgument,
               predicate.status().ToString());
    FUZZ_CHECK(compile_position <= text.size(), predicate.status().ToString());
  }

  const std::string canonical = ExprToString(root);
  size_t again_position = 0;
  auto again = ParseQuery(canonical, &again_position);
  if (!again.ok()) {
    FUZZ_CHECK(canonical.size() > kMaxQueryLength || Depth(root) >= kMaxDepth,
               "canonical text does not parse: " + again.status().ToString() + "\n" + canonical);
    return;
  }
  FUZZ_CHECK(ExprToString(again.value().root.get()) == canonical,
             "canonical text changes when parsed again:\n" + canonical + "\n" +
                 ExprToString(again.value().root.get()));
}

}  // namespace
}  // namespace ew::query

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ew::query::CheckQuery(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

// The Edgewise filter language: lexer, parser and syntax tree (grammar in docs/query.md).
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := unary ("and" unary)*
//   unary   := "not" unary | "(" expr ")" | compare | value      (a lone value: path =~ value)
//   compare := FIELD op value | FIELD "in" "(" value ("," value)* ")"
//   op      := = | != | =~ | !~ | < | <= | > | >=
//   value   := bare word | "quoted string" | 'quoted string' (escapes \" \' \\ \n \t)
//
// Keywords and field names are case-insensitive. Parsing is pure: no store access, no regex
// compilation (that happens in Predicate, query/predicate.h). Parsing also refuses what could
// never match: an unknown field (a word followed by an operator), `<` `<=` `>` `>=` with a value
// that is not a number, and `=` `!=` `in` values that the field cannot hold (status: an integer
// or ""; protocol, kinds, method: their enumerations; error: true or false). Status values are
// kept in canonical form ("0500" becomes "500").
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ew::query {

constexpr size_t kMaxQueryLength = 4096;  // bytes of query text
constexpr size_t kMaxRegexLength = 1024;  // bytes of one regex pattern
constexpr size_t kMaxInValues = 256;      // values in one `in (...)`
constexpr int kMaxDepth = 64;             // nesting of parentheses / not

enum class Field : uint8_t {
  kServerNamespace,
  kClientNamespace,
  kServerServiceName,
  kClientServiceName,
  kServerKind,
  kClientKind,
  kPath,
  kMethod,
  kStatus,
  kProtocol,
  kError,
};
constexpr int kFieldCount = 11;
std::string_view FieldName(Field f);  // "server.namespace", ...

enum class Op : uint8_t { kEq, kNe, kMatch, kNotMatch, kLt, kLe, kGt, kGe, kIn };
std::string_view OpName(Op op);  // "=", "!=", "=~", ...

struct Expr {
  enum class Kind : uint8_t { kCompare, kAnd, kOr, kNot };
  Kind kind = Kind::kCompare;
  // kCompare:
  Field field = Field::kPath;
  Op op = Op::kEq;
  std::vector<std::string> values;  // one, or several for kIn
  size_t position = 0;              // where the comparison (or its value) starts in the text
  // kAnd / kOr: both; kNot: lhs.
  std::unique_ptr<Expr> lhs;
  std::unique_ptr<Expr> rhs;
};

struct ParsedQuery {
  std::unique_ptr<Expr> root;  // null for an empty query (selects everything)
};

// Parses query text. On error returns InvalidArgument ("expected a value after '=' at 18") and
// sets *error_position (when not null) to the 0-based character offset of the failure.
Result<ParsedQuery> ParseQuery(std::string_view text, size_t* error_position);

// The canonical text of a tree (fields lower-case, values quoted): for explain and tests.
std::string ExprToString(const Expr* e);

// True when the tree refers to field f anywhere.
bool ExprUses(const Expr* e, Field f);

}  // namespace ew::query

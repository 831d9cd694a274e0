// Predicate: a parsed filter compiled for evaluation on rollup records. Every comparison is
// decided once per distinct dictionary id (node, path, method) or value (status, protocol,
// error) and cached, so a regex runs once per distinct string, never once per record.
// Dictionary: the per-query cache of node and string lookups shared by predicate and renderer.
//
// Thread-safety: neither class is thread-safe; each query builds its own and uses it on one
// thread. The store they read is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "query/query_language.h"
#include "storage/edge_store.h"

namespace ew::query {

constexpr int64_t kRegexMaxMem = 1 << 20;  // RE2 max_mem per compiled pattern (bytes)

class Dictionary {
 public:
  explicit Dictionary(const storage::EdgeStore* store) : store_(store) {}
  // Never null: an id the store does not know reads as a service with empty names.
  const storage::NodeInfo& Node(storage::NodeId id);
  // "" for id 0 or unknown ids.
  const std::string& String(storage::StringKind kind, storage::StringId id);
  const storage::EdgeStore* store() const { return store_; }

 private:
  const storage::EdgeStore* store_;
  std::vector<std::unique_ptr<storage::NodeInfo>> nodes_;
  std::vector<std::optional<std::string>> strings_[3];
};

class Predicate {
 public:
  // Compiles root (null: matches everything). Regex errors and oversized patterns return
  // InvalidArgument with *error_position set to the comparison's position.
  static Result<std::unique_ptr<Predicate>> Compile(const Expr* root, Dictionary* dict,
                                                    size_t* error_position);
  ~Predicate();

  // Whether a request with these dimensions and this error flag is selected.
  bool Matches(const storage::EdgeDims& d, bool error);
  // True when the result can differ by the error flag (records must be split).
  bool UsesError() const { return uses_error_; }
  bool MatchesAll() const { return root_node_ < 0; }

  // Selected (requests, errors) of a record with these counts: a filter on `error` selects the
  // error part and/or the non-error part of a record exactly.
  std::pair<uint64_t, uint64_t> Select(const storage::EdgeDims& d, uint64_t requests,
                                       uint64_t errors);

  struct Leaf;

 private:
  Predicate() = default;
  struct Node {
    Expr::Kind kind = Expr::Kind::kCompare;
    int lhs = -1;  // index into nodes_, or into leaves_ for kCompare
    int rhs = -1;
  };
  Result<int> Build(const Expr* e, size_t* error_position);
  bool Eval(int node, const storage::EdgeDims& d, bool error);
  bool EvalLeaf(Leaf& leaf, const storage::EdgeDims& d, bool error);

  Dictionary* dict_ = nullptr;
  bool uses_error_ = false;
  std::vector<Node> nodes_;
  int root_node_ = -1;
  std::vector<std::unique_ptr<Leaf>> leaves_;
};

}  // namespace ew::query

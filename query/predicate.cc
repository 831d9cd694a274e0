#include "query/predicate.h"

#include <re2/re2.h>

#include <cctype>
#include <charconv>
#include <string_view>

namespace ew::query {

using storage::EdgeDims;
using storage::NodeInfo;
using storage::StringKind;

const NodeInfo& Dictionary::Node(storage::NodeId id) {
  if (id >= nodes_.size()) nodes_.resize(static_cast<size_t>(id) + 1);
  auto& slot = nodes_[id];
  if (!slot) {
    slot = std::make_unique<NodeInfo>();
    if (id != 0) {
      if (auto n = store_->GetNode(id)) *slot = std::move(*n);
    }
  }
  return *slot;
}

const std::string& Dictionary::String(StringKind kind, storage::StringId id) {
  static const std::string kEmpty;
  if (id == 0) return kEmpty;
  auto& v = strings_[static_cast<int>(kind)];
  if (id >= v.size()) v.resize(static_cast<size_t>(id) + 1);
  if (!v[id]) v[id] = store_->GetString(kind, id).value_or("");
  return *v[id];
}

namespace {

bool IEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Fields whose values are compared case-insensitively (enumerations and HTTP methods).
bool CaseInsensitive(Field f) {
  return f == Field::kServerKind || f == Field::kClientKind || f == Field::kProtocol ||
         f == Field::kError || f == Field::kMethod;
}

}  // namespace

struct Predicate::Leaf {
  Field field = Field::kPath;
  Op op = Op::kEq;
  std::vector<std::string> values;
  std::optional<double> number;  // the value as a number, for < <= > >=
  std::vector<std::unique_ptr<RE2>> regexes;
  std::vector<int8_t> cache;  // -1 unknown, 0 false, 1 true; indexed by id or value

  bool Decide(std::string_view v) const {
    switch (op) {
      case Op::kEq:
      case Op::kIn:
      case Op::kNe: {
        bool eq = false;
        for (const auto& x : values) {
          if (CaseInsensitive(field) ? IEqual(v, x) : v == x) eq = true;
        }
        return op == Op::kNe ? !eq : eq;
      }
      case Op::kMatch:
      case Op::kNotMatch: {
        bool m = false;
        for (const auto& re : regexes) {
          if (RE2::PartialMatch(v, *re)) m = true;
        }
        return op == Op::kNotMatch ? !m : m;
      }
      default:
        break;
    }
    auto lhs = ParseNumber(v);
    if (!lhs || !number) return false;  // missing or non-numeric: numeric comparisons are false
    switch (op) {
      case Op::kLt:
        return *lhs < *number;
      case Op::kLe:
        return *lhs <= *number;
      case Op::kGt:
        return *lhs > *number;
      default:
        return *lhs >= *number;
    }
  }
};

Predicate::~Predicate() = default;

Result<std::unique_ptr<Predicate>> Predicate::Compile(const Expr* root, Dictionary* dict,
                                                      size_t* error_position) {
  std::unique_ptr<Predicate> p(new Predicate());
  p->dict_ = dict;
  p->uses_error_ = ExprUses(root, Field::kError);
  if (root) {
    EW_ASSIGN_OR_RETURN(p->root_node_, p->Build(root, error_position));
  }
  return p;
}

namespace {

Status CompileRegexes(const Expr* e, std::vector<std::unique_ptr<RE2>>* out, size_t* err_pos) {
  for (const auto& v : e->values) {
    if (v.size() > kMaxRegexLength) {
      if (err_pos) *err_pos = e->position;
      return Status::InvalidArgument("regular expression longer than " +
                                     std::to_string(kMaxRegexLength) + " bytes at " +
                                     std::to_string(e->position));
    }
    RE2::Options opts;
    opts.set_max_mem(kRegexMaxMem);
    opts.set_log_errors(false);
    auto re = std::make_unique<RE2>(v, opts);
    if (!re->ok()) {
      if (err_pos) *err_pos = e->position;
      return Status::InvalidArgument("invalid regular expression (" + re->error() + ") at " +
                                     std::to_string(e->position));
    }
    out->push_back(std::move(re));
  }
  return Status::Ok();
}

}  // namespace

Result<int> Predicate::Build(const Expr* e, size_t* error_position) {
  Node n;
  n.kind = e->kind;
  if (e->kind == Expr::Kind::kCompare) {
    auto leaf = std::make_unique<Leaf>();
    leaf->field = e->field;
    leaf->op = e->op;
    leaf->values = e->values;
    if (!e->values.empty()) leaf->number = ParseNumber(e->values[0]);
    if (e->op == Op::kMatch || e->op == Op::kNotMatch) {
      EW_RETURN_IF_ERROR(CompileRegexes(e, &leaf->regexes, error_position));
    }
    if (e->field == Field::kProtocol) leaf->cache.assign(8, -1);
    if (e->field == Field::kError) leaf->cache.assign(2, -1);
    if (e->field == Field::kStatus) leaf->cache.assign(65536, -1);
    n.lhs = static_cast<int>(leaves_.size());
    leaves_.push_back(std::move(leaf));
  } else {
    EW_ASSIGN_OR_RETURN(n.lhs, Build(e->lhs.get(), error_position));
    if (e->rhs) {
      EW_ASSIGN_OR_RETURN(n.rhs, Build(e->rhs.get(), error_position));
    }
  }
  nodes_.push_back(n);
  return static_cast<int>(nodes_.size() - 1);
}

bool Predicate::Matches(const EdgeDims& d, bool error) {
  return root_node_ < 0 || Eval(root_node_, d, error);
}

std::pair<uint64_t, uint64_t> Predicate::Select(const EdgeDims& d, uint64_t requests,
                                                uint64_t errors) {
  if (root_node_ < 0) return {requests, errors};
  if (!uses_error_) {
    if (Matches(d, false)) return {requests, errors};
    return {0, 0};
  }
  uint64_t err = errors <= requests ? errors : requests;
  uint64_t sel_err = err > 0 && Matches(d, true) ? err : 0;
  uint64_t sel_ok = requests > err && Matches(d, false) ? requests - err : 0;
  return {sel_err + sel_ok, sel_err};
}

bool Predicate::Eval(int idx, const EdgeDims& d, bool error) {
  const Node& n = nodes_[idx];
  switch (n.kind) {
    case Expr::Kind::kAnd:
      return Eval(n.lhs, d, error) && Eval(n.rhs, d, error);
    case Expr::Kind::kOr:
      return Eval(n.lhs, d, error) || Eval(n.rhs, d, error);
    case Expr::Kind::kNot:
      return !Eval(n.lhs, d, error);
    case Expr::Kind::kCompare:
      break;
  }
  return EvalLeaf(*leaves_[n.lhs], d, error);
}

namespace {

// The cache key of a leaf's field in a record: a node id, string id or small value.
uint32_t LeafKey(Field f, const EdgeDims& d, bool error) {
  switch (f) {
    case Field::kServerNamespace:
    case Field::kServerServiceName:
    case Field::kServerKind:
      return d.server;
    case Field::kClientNamespace:
    case Field::kClientServiceName:
    case Field::kClientKind:
      return d.client;
    case Field::kPath:
      return d.path;
    case Field::kMethod:
      return d.method;
    case Field::kStatus:
      return d.status;
    case Field::kProtocol:
      return static_cast<uint32_t>(d.protocol) & 7;
    case Field::kError:
      return error ? 1 : 0;
  }
  return 0;
}

}  // namespace

bool Predicate::EvalLeaf(Leaf& leaf, const EdgeDims& d, bool error) {
  uint32_t key = LeafKey(leaf.field, d, error);
  if (key >= leaf.cache.size()) leaf.cache.resize(static_cast<size_t>(key) + 1, -1);
  int8_t& c = leaf.cache[key];
  if (c >= 0) return c == 1;
  std::string buf;
  std::string_view v;
  switch (leaf.field) {
    case Field::kServerNamespace:
    case Field::kClientNamespace:
      v = dict_->Node(key).ns;
      break;
    case Field::kServerServiceName:
    case Field::kClientServiceName:
      v = dict_->Node(key).name;
      break;
    case Field::kServerKind:
    case Field::kClientKind:
      v = storage::NodeKindName(dict_->Node(key).kind);
      break;
    case Field::kPath:
      v = dict_->String(StringKind::kPath, key);
      break;
    case Field::kMethod:
      v = dict_->String(StringKind::kMethod, key);
      break;
    case Field::kStatus:
      if (key != 0) buf = std::to_string(key);
      v = buf;
      break;
    case Field::kProtocol:
      v = storage::ProtocolName(d.protocol);
      break;
    case Field::kError:
      v = error ? "true" : "false";
      break;
  }
  c = leaf.Decide(v) ? 1 : 0;
  return c == 1;
}

}  // namespace ew::query

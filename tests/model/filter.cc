// Model-side query language (see filter.h).
#include "tests/model/filter.h"

#include <charconv>
#include <optional>

namespace ew::model {
namespace {

constexpr const char* kFieldNames[] = {"server.namespace",
                                       "client.namespace",
                                       "server.service.name",
                                       "client.service.name",
                                       "server.kind",
                                       "client.kind",
                                       "path",
                                       "method",
                                       "status",
                                       "protocol",
                                       "error"};
constexpr const char* kOpText[] = {"=", "!=", "=~", "!~", "<", "<=", ">", ">=", "in"};

bool CaseInsensitive(FField f) {
  return f == FField::kServerKind || f == FField::kClientKind || f == FField::kProtocol ||
         f == FField::kError || f == FField::kMethod;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<double> Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

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

const std::string& StatusText(uint16_t status) {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(1000);
    for (size_t i = 1; i < t.size(); ++i) t[i] = std::to_string(i);
    return t;
  }();
  return table[status < 1000 ? status : 0];
}

bool Compare(FField f, FOp op, const std::vector<std::string>& values,
             const std::vector<std::unique_ptr<RE2>>& regexes, std::string_view v) {
  switch (op) {
    case FOp::kEq:
    case FOp::kNe:
    case FOp::kIn: {
      bool eq = false;
      for (const auto& x : values) {
        eq = eq || (CaseInsensitive(f) ? IEqual(x, v) : x == v);
      }
      return op == FOp::kNe ? !eq : eq;
    }
    case FOp::kMatch:
    case FOp::kNotMatch: {
      bool m = false;
      for (const auto& re : regexes) m = m || RE2::PartialMatch(v, *re);
      return op == FOp::kNotMatch ? !m : m;
    }
    default:
      break;
  }
  auto lhs = Number(v);
  auto rhs = Number(values[0]);
  if (!lhs || !rhs) return false;
  switch (op) {
    case FOp::kLt:
      return *lhs < *rhs;
    case FOp::kLe:
      return *lhs <= *rhs;
    case FOp::kGt:
      return *lhs > *rhs;
    default:
      return *lhs >= *rhs;
  }
}

}  // namespace

std::string_view FieldView(const Dataset& d, const Request& r, FField f) {
  switch (f) {
    case FField::kServerNs:
      return d.nodes[r.server].ns;
    case FField::kClientNs:
      return d.nodes[r.client].ns;
    case FField::kServerName:
      return d.nodes[r.server].name;
    case FField::kClientName:
      return d.nodes[r.client].name;
    case FField::kServerKind:
      return storage::NodeKindName(d.nodes[r.server].kind);
    case FField::kClientKind:
      return storage::NodeKindName(d.nodes[r.client].kind);
    case FField::kPath:
      return d.paths[r.path];
    case FField::kMethod:
      return kMethods[r.method];
    case FField::kStatus:
      return StatusText(r.status);
    case FField::kProtocol:
      return storage::ProtocolName(r.protocol);
    case FField::kError:
      return r.error ? "true" : "false";
  }
  return "";
}

std::string FieldValue(const Dataset& d, const Request& r, FField f) {
  return std::string(FieldView(d, r, f));
}

bool Filter::Matches(const Dataset& d, const Request& r) const {
  switch (kind) {
    case Kind::kAnd:
      return a->Matches(d, r) && b->Matches(d, r);
    case Kind::kOr:
      return a->Matches(d, r) || b->Matches(d, r);
    case Kind::kNot:
      return !a->Matches(d, r);
    case Kind::kBareRegex:
      return Compare(FField::kPath, FOp::kMatch, values, regexes, d.paths[r.path]);
    case Kind::kCompare:
      return Compare(field, op, values, regexes, FieldView(d, r, field));
  }
  return false;
}

bool Filter::Uses(FField f) const {
  if (kind == Kind::kCompare) return field == f;
  if (kind == Kind::kBareRegex) return f == FField::kPath;
  return (a && a->Uses(f)) || (b && b->Uses(f));
}

std::unique_ptr<Filter> FilterGen::Combine(Filter::Kind kind, std::unique_ptr<Filter> a,
                                           std::unique_ptr<Filter> b) {
  auto f = std::make_unique<Filter>();
  f->kind = kind;
  f->a = std::move(a);
  f->b = std::move(b);
  return f;
}

// A value the field can hold (docs/query.md: with =, != and in, a kind, protocol, method, status
// or error value outside its domain is a 400, not an empty answer), sometimes one that no
// request has.
std::string FilterGen::SomeValue(FField f) {
  const uint64_t p = U(100);
  const bool enumerated = f == FField::kServerKind || f == FField::kClientKind ||
                          f == FField::kProtocol || f == FField::kError;
  if (p < 8 && !enumerated) return "";
  if (p < 16) {
    static const char* kKinds[] = {"service", "External_Client", "external_service", "DATABASE",
                                   "messaging"};
    static const char* kProtocols[] = {"http", "GRPC", "database", "Messaging", "other"};
    static const char* kUnusedMethods[] = {"HEAD", "patch", "OPTIONS", "_OTHER", "CONNECT"};
    switch (f) {
      case FField::kStatus:
        return std::to_string(U(600));
      case FField::kError:
        return Chance(0.5) ? "TRUE" : "False";
      case FField::kServerKind:
      case FField::kClientKind:
        return kKinds[U(std::size(kKinds))];
      case FField::kProtocol:
        return kProtocols[U(std::size(kProtocols))];
      case FField::kMethod:
        return kUnusedMethods[U(std::size(kUnusedMethods))];
      default:
        return "nope-" + std::to_string(U(10));
    }
  }
  if ((f == FField::kServerName || f == FField::kClientName) && Chance(0.05)) {
    return d_.nodes[U(5)].name;  // an odd name: quotes, spaces, UTF-8, a keyword
  }
  const Request& r = d_.requests[U(d_.requests.size())];
  std::string v = FieldValue(d_, r, f);
  if (CaseInsensitive(f) && Chance(0.3)) {
    v = Chance(0.5) ? Lower(v) : v;
    if (!v.empty()) v[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  }
  return v;
}

std::string FilterGen::SomeRegex(FField f) {
  static const char* kFixed[] = {".*",         "^$",     "-1[0-9]*$", "^(cart|pay|auth)",
                                 "v[0-3]$",    "^/api/", "Call[1-4]", "[.]com$",
                                 "^ns-[0-3]$", "^5",     "^2"};
  if (Chance(0.25)) return kFixed[U(std::size(kFixed))];
  const Request& r = d_.requests[U(d_.requests.size())];
  std::string v = FieldValue(d_, r, f);
  if (v.size() > 3) {
    // A piece of the name cut at characters, not bytes: a regex of invalid UTF-8 is a 400
    // (found by a random seed cutting a UTF-8 name inside a character, KNOWN.md).
    auto inside = [&](size_t i) { return i < v.size() && (v[i] & 0xC0) == 0x80; };
    size_t a = U(v.size() / 2), e = a + 1 + U(v.size() - a);
    while (a > 0 && inside(a)) --a;
    while (inside(e)) ++e;
    v = v.substr(a, e - a);
  }
  std::string re = RE2::QuoteMeta(v);
  if (Chance(0.3)) re = "^" + re;
  if (Chance(0.2)) re += "$";
  return re;
}

std::unique_ptr<Filter> FilterGen::Leaf() {
  auto f = std::make_unique<Filter>();
  f->field = static_cast<FField>(U(11));
  const uint64_t p = U(100);
  if (f->field == FField::kStatus && p < 35) {
    f->op = static_cast<FOp>(4 + U(4));
    static const char* kNums[] = {"500", "400", "200", "13", "5", "0", "499.5", "204"};
    f->values = {kNums[U(std::size(kNums))]};
    return f;
  }
  if (p < 30) {
    f->op = FOp::kEq;
  } else if (p < 45) {
    f->op = FOp::kNe;
  } else if (p < 65) {
    f->op = FOp::kIn;
  } else if (p < 85) {
    f->op = FOp::kMatch;
  } else if (p < 95) {
    f->op = FOp::kNotMatch;
  } else {
    f->op = static_cast<FOp>(4 + U(4));  // numeric on any field (false unless both numbers)
  }
  const size_t n = f->op == FOp::kIn ? 1 + U(4) : 1;
  for (size_t i = 0; i < n; ++i) {
    const bool regex = f->op == FOp::kMatch || f->op == FOp::kNotMatch;
    f->values.push_back(regex ? SomeRegex(f->field) : SomeValue(f->field));
    if (regex) f->regexes.push_back(std::make_unique<RE2>(f->values.back()));
  }
  if (f->op >= FOp::kLt && f->op <= FOp::kGe) {  // a number (else a 400), on any field
    static const char* kOdd[] = {"-3", "1.5", "0"};
    f->values[0] = Chance(0.8) ? std::to_string(U(600)) : kOdd[U(std::size(kOdd))];
  }
  if (Chance(0.04)) {  // a lone value: a regex on the path
    f->kind = Filter::Kind::kBareRegex;
    f->values = {SomeRegex(FField::kPath)};
    f->regexes.clear();
    f->regexes.push_back(std::make_unique<RE2>(f->values[0]));
  }
  return f;
}

// A top-level conjunct the planner turns into key prefixes, and a random rest.
std::unique_ptr<Filter> FilterGen::Prefixed() {
  auto f = std::make_unique<Filter>();
  const uint64_t p = U(4);
  f->field = p == 0   ? FField::kServerNs
             : p == 1 ? FField::kServerName
             : p == 2 ? FField::kClientNs
                      : FField::kClientName;
  f->op = Chance(0.5) ? FOp::kEq : FOp::kIn;
  const size_t n = f->op == FOp::kIn ? 1 + U(3) : 1;
  for (size_t i = 0; i < n; ++i) f->values.push_back(SomeValue(f->field));
  if (Chance(0.5)) return f;
  return Combine(Filter::Kind::kAnd, std::move(f), Tree(1));
}

std::unique_ptr<Filter> FilterGen::Tree(int depth) {
  const uint64_t p = U(100);
  if (depth >= 3 || p < 50) return Leaf();
  if (p < 65) return Combine(Filter::Kind::kNot, Tree(depth + 1), nullptr);
  return Combine(p < 85 ? Filter::Kind::kAnd : Filter::Kind::kOr, Tree(depth + 1), Tree(depth + 1));
}

std::unique_ptr<Filter> FilterGen::Make(std::string* text) {
  const uint64_t p = U(100);
  std::unique_ptr<Filter> f;
  if (p < 15) {
    text->clear();
    return nullptr;
  }
  f = p < 45 ? Prefixed() : Tree(0);
  *text = Render(*f, 0);
  return f;
}

std::string FilterGen::Quote(const std::string& v, bool force) {
  bool needs = force || v.empty();
  const std::string lower = Lower(v);
  if (lower == "and" || lower == "or" || lower == "not" || lower == "in") needs = true;
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::string_view("(),=!<>\"\\").find(c) != std::string_view::npos) {
      needs = true;
    }
  }
  if (!needs) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      // A regex escape such as "\." is kept as is inside quotes; only \" and \\ need escaping.
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string FilterGen::Render(const Filter& f, int parent_prec) {
  int prec = 4;
  std::string s;
  switch (f.kind) {
    case Filter::Kind::kOr:
      prec = 1;
      s = Render(*f.a, 1) + (Chance(0.2) ? " OR " : " or ") + Render(*f.b, 2);
      break;
    case Filter::Kind::kAnd:
      prec = 2;
      s = Render(*f.a, 2) + (Chance(0.2) ? " AND " : " and ") + Render(*f.b, 3);
      break;
    case Filter::Kind::kNot:
      prec = 3;
      s = std::string(Chance(0.2) ? "NOT " : "not ") + Render(*f.a, 3);
      break;
    case Filter::Kind::kBareRegex:
      s = Quote(f.values[0], Chance(0.3));
      break;
    case Filter::Kind::kCompare: {
      std::string name = kFieldNames[static_cast<int>(f.field)];
      if (Chance(0.1)) {
        for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      s = name + " " + kOpText[static_cast<int>(f.op)] + " ";
      if (f.op == FOp::kIn) {
        s += "(";
        for (size_t i = 0; i < f.values.size(); ++i) {
          s += (i ? ", " : "") + Quote(f.values[i], Chance(0.3));
        }
        s += ")";
      } else {
        s += Quote(f.values[0], Chance(0.3));
      }
      break;
    }
  }
  if (prec < parent_prec || (prec < 4 && Chance(0.15))) return "(" + s + ")";
  return s;
}

}  // namespace ew::model

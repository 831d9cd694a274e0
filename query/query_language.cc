#include "query/query_language.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

namespace ew::query {
namespace {

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {"server.namespace",
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

enum class Tok : uint8_t { kEnd, kWord, kString, kOp, kLParen, kRParen, kComma };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;  // the word, the unescaped string, or the operator
  size_t pos = 0;
};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IsWordChar(char c) {
  if (std::isspace(static_cast<unsigned char>(c))) return false;
  switch (c) {
    case '(':
    case ')':
    case ',':
    case '=':
    case '!':
    case '<':
    case '>':
    case '"':
    case '\'':
      return false;
    default:
      return true;  // any other byte, NUL and control characters included
  }
}

Status ErrorAt(std::string what, size_t pos, size_t* out_pos, std::string_view tail = {}) {
  if (out_pos) *out_pos = pos;
  return Status::InvalidArgument(what + " at " + std::to_string(pos) + std::string(tail));
}

std::string JoinNames(const std::string_view* names, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

// The values an enumerated field can hold (storage::ProtocolName, storage::NodeKindName and the
// methods ingest normalizes to; the query tests check that they agree with storage).
constexpr std::array<std::string_view, 5> kProtocolValues = {"http", "grpc", "database",
                                                             "messaging", "other"};
constexpr std::array<std::string_view, 5> kKindValues = {
    "service", "external_client", "external_service", "database", "messaging"};
constexpr std::array<std::string_view, 10> kMethodValues = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER"};

bool IsNumber(std::string_view v) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  return !v.empty() && ec == std::errc() && p == v.data() + v.size() && std::isfinite(x);
}

// Lexes one quoted string starting at s[*i] (a double or a single quote, which also ends it);
// unescapes into t->text.
Status LexString(std::string_view s, size_t* i, Token* t, size_t* err) {
  const char quote = s[*i];
  ++*i;
  while (*i < s.size()) {
    char d = s[*i];
    if (d == quote) {
      ++*i;
      return Status::Ok();
    }
    if (d == '\\') {
      if (*i + 1 >= s.size()) return ErrorAt("unfinished escape in string", *i, err);
      char e = s[*i + 1];
      switch (e) {
        case '"':
        case '\'':
        case '\\':
          t->text.push_back(e);
          break;
        case 'n':
          t->text.push_back('\n');
          break;
        case 't':
          t->text.push_back('\t');
          break;
        default:  // keep regex escapes such as \d and \. as they are
          t->text.push_back('\\');
          t->text.push_back(e);
      }
      *i += 2;
      continue;
    }
    t->text.push_back(d);
    ++*i;
  }
  return ErrorAt("unterminated string starting", t->pos, err);
}

// Splits the text into tokens; strings are unescaped.
Status Lex(std::string_view s, std::vector<Token>* out, size_t* err) {
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.pos = i;
    if (c == '(' || c == ')' || c == ',') {
      t.type = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      t.text = std::string(1, c);
      ++i;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      t.type = Tok::kOp;
      char n = i + 1 < s.size() ? s[i + 1] : '\0';
      if ((c == '=' || c == '!') && n == '~') {
        t.text = std::string{c, n};
      } else if ((c == '!' || c == '<' || c == '>') && n == '=') {
        t.text = std::string{c, n};
      } else if (c == '!') {
        return ErrorAt("expected '!=' or '!~'", i, err);
      } else {
        t.text = std::string(1, c);
      }
      i += t.text.size();
    } else if (c == '"' || c == '\'') {
      t.type = Tok::kString;
      EW_RETURN_IF_ERROR(LexString(s, &i, &t, err));
    } else {
      t.type = Tok::kWord;
      while (i < s.size() && IsWordChar(s[i])) t.text.push_back(s[i++]);
      if (t.text.empty()) return ErrorAt("unexpected character", i, err);  // never loop
    }
    out->push_back(std::move(t));
  }
  Token end;
  end.pos = s.size();
  out->push_back(end);
  return Status::Ok();
}

// Checks one value of an equality (`=`, `!=`, `in`) on field f, and writes status codes in their
// canonical form: a value the field can never hold is an error, not an empty answer.
Status CheckEqualityValue(Field f, std::string* v, size_t pos, size_t* err) {
  auto one_of = [&](const auto& names, std::string_view what, std::string_view plural) {
    for (std::string_view n : names) {
      if (IEquals(*v, n)) return Status::Ok();
    }
    return ErrorAt("unknown " + std::string(what) + " '" + *v + "'", pos, err,
                   "; " + std::string(plural) + ": " + JoinNames(names.data(), names.size()));
  };
  switch (f) {
    case Field::kStatus: {
      if (v->empty()) return Status::Ok();  // selects the requests without a status
      uint32_t code = 0;
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), code);
      if (ec != std::errc() || p != v->data() + v->size() || code > 65535) {
        return ErrorAt("expected an integer status code, found '" + *v + "'", pos, err);
      }
      *v = std::to_string(code);
      return Status::Ok();
    }
    case Field::kProtocol:
      return one_of(kProtocolValues, "protocol", "protocols");
    case Field::kServerKind:
    case Field::kClientKind:
      return one_of(kKindValues, "kind", "kinds");
    case Field::kMethod:
      if (v->empty()) return Status::Ok();  // selects the requests without a method
      return one_of(kMethodValues, "method", "methods");
    case Field::kError:
      if (IEquals(*v, "true") || IEquals(*v, "false")) return Status::Ok();
      return ErrorAt("expected true or false for error, found '" + *v + "'", pos, err);
    default:
      return Status::Ok();
  }
}

bool IsNumericOp(Op op) { return op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe; }

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kEnd:
      return "end of query";
    case Tok::kString:
      return "a string";
    default:
      return "'" + t.text + "'";
  }
}

class Parser {
 public:
  Parser(std::vector<Token> toks, size_t* err) : toks_(std::move(toks)), err_(err) {}

  Result<std::unique_ptr<Expr>> ParseAll() {
    EW_ASSIGN_OR_RETURN(auto e, ParseOr(0));
    if (Peek().type != Tok::kEnd) {
      return ErrorAt("expected 'and', 'or' or end of query, found " + Describe(Peek()), Peek().pos,
                     err_);
    }
    return e;
  }

 private:
  const Token& Peek() const { return toks_[i_]; }
  const Token& Next() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }
  bool IsKeyword(const Token& t, std::string_view k) const {
    return t.type == Tok::kWord && IEquals(t.text, k);
  }

  static std::unique_ptr<Expr> Join(Expr::Kind k, std::unique_ptr<Expr> a,
                                    std::unique_ptr<Expr> b) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->position = a->position;
    e->lhs = std::move(a);
    e->rhs = std::move(b);
    return e;
  }

  Result<std::unique_ptr<Expr>> ParseOr(int depth) {
    EW_ASSIGN_OR_RETURN(auto lhs, ParseAnd(depth));
    while (IsKeyword(Peek(), "or")) {
      Next();
      EW_ASSIGN_OR_RETURN(auto rhs, ParseAnd(depth));
      lhs = Join(Expr::Kind::kOr, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  Result<std::unique_ptr<Expr>> ParseAnd(int depth) {
    EW_ASSIGN_OR_RETURN(auto lhs, ParseUnary(depth));
    while (IsKeyword(Peek(), "and")) {
      Next();
      EW_ASSIGN_OR_RETURN(auto rhs, ParseUnary(depth));
      lhs = Join(Expr::Kind::kAnd, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  Result<std::unique_ptr<Expr>> ParseUnary(int depth) {
    if (depth >= kMaxDepth) return ErrorAt("query nested too deeply", Peek().pos, err_);
    const Token& t = Peek();
    if (IsKeyword(t, "not")) {
      size_t pos = Next().pos;
      EW_ASSIGN_OR_RETURN(auto inner, ParseUnary(depth + 1));
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::kNot;
      e->position = pos;
      e->lhs = std::move(inner);
      return e;
    }
    if (t.type == Tok::kLParen) {
      Next();
      EW_ASSIGN_OR_RETURN(auto inner, ParseOr(depth + 1));
      if (Peek().type != Tok::kRParen) {
        return ErrorAt("expected ')', found " + Describe(Peek()), Peek().pos, err_);
      }
      Next();
      return inner;
    }
    if (t.type == Tok::kWord) {
      for (int f = 0; f < kFieldCount; ++f) {
        if (IEquals(t.text, kFieldNames[f])) return ParseCompare(static_cast<Field>(f));
      }
      if (IsKeyword(t, "and") || IsKeyword(t, "or") || IsKeyword(t, "in")) {
        return ErrorAt("expected a comparison, found " + Describe(t), t.pos, err_);
      }
    }
    if (t.type == Tok::kWord || t.type == Tok::kString) {
      // A word followed by an operator was meant as a field: name it, with the fields there are.
      const Token& after = toks_[i_ + 1];  // t is not the end token, so one follows
      if (after.type == Tok::kOp || IsKeyword(after, "in")) {
        return ErrorAt("unknown field '" + t.text + "'", t.pos, err_,
                       "; fields: " + JoinNames(kFieldNames.data(), kFieldNames.size()));
      }
    }
    if (t.type == Tok::kWord || t.type == Tok::kString) {  // a lone value: a path regex
      auto e = std::make_unique<Expr>();
      e->field = Field::kPath;
      e->op = Op::kMatch;
      e->position = t.pos;
      e->values.push_back(Next().text);
      return e;
    }
    return ErrorAt("expected a comparison, found " + Describe(t), t.pos, err_);
  }

  Result<std::unique_ptr<Expr>> ParseCompare(Field field) {
    const Token& ft = Next();
    auto e = std::make_unique<Expr>();
    e->field = field;
    e->position = ft.pos;
    const Token& ot = Peek();
    if (IsKeyword(ot, "in")) {
      Next();
      e->op = Op::kIn;
      return ParseInList(std::move(e));
    }
    if (ot.type != Tok::kOp) {
      return ErrorAt("expected an operator after '" + ft.text + "', found " + Describe(ot), ot.pos,
                     err_);
    }
    static constexpr std::array<std::pair<std::string_view, Op>, 8> kOps = {{{"=", Op::kEq},
                                                                             {"!=", Op::kNe},
                                                                             {"=~", Op::kMatch},
                                                                             {"!~", Op::kNotMatch},
                                                                             {"<", Op::kLt},
                                                                             {"<=", Op::kLe},
                                                                             {">", Op::kGt},
                                                                             {">=", Op::kGe}}};
    for (const auto& [text, op] : kOps) {
      if (ot.text == text) e->op = op;
    }
    std::string op_text = Next().text;
    const Token& vt = Peek();
    if (vt.type != Tok::kWord && vt.type != Tok::kString) {
      return ErrorAt("expected a value after '" + op_text + "'", vt.pos, err_);
    }
    const size_t value_pos = vt.pos;
    e->values.push_back(Next().text);
    if (IsNumericOp(e->op) && !IsNumber(e->values[0])) {
      return ErrorAt("expected a number after '" + op_text + "', found '" + e->values[0] + "'",
                     value_pos, err_);
    }
    if (e->op == Op::kEq || e->op == Op::kNe) {
      EW_RETURN_IF_ERROR(CheckEqualityValue(field, &e->values[0], value_pos, err_));
    }
    return e;
  }

  Result<std::unique_ptr<Expr>> ParseInList(std::unique_ptr<Expr> e) {
    if (Peek().type != Tok::kLParen) {
      return ErrorAt("expected '(' after 'in'", Peek().pos, err_);
    }
    Next();
    while (true) {
      const Token& vt = Peek();
      if (vt.type != Tok::kWord && vt.type != Tok::kString) {
        return ErrorAt("expected a value in 'in (...)', found " + Describe(vt), vt.pos, err_);
      }
      if (e->values.size() >= kMaxInValues) {
        return ErrorAt("too many values in 'in (...)'", vt.pos, err_);
      }
      const size_t value_pos = vt.pos;
      e->values.push_back(Next().text);
      EW_RETURN_IF_ERROR(CheckEqualityValue(e->field, &e->values.back(), value_pos, err_));
      if (Peek().type == Tok::kComma) {
        Next();
        continue;
      }
      if (Peek().type == Tok::kRParen) {
        Next();
        return e;
      }
      return ErrorAt("expected ',' or ')', found " + Describe(Peek()), Peek().pos, err_);
    }
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
  size_t* err_;
};

void Quote(std::string_view v, std::string* out) {
  out->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void Print(const Expr* e, std::string* out) {
  switch (e->kind) {
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr:
      out->push_back('(');
      Print(e->lhs.get(), out);
      out->append(e->kind == Expr::Kind::kAnd ? " and " : " or ");
      Print(e->rhs.get(), out);
      out->push_back(')');
      return;
    case Expr::Kind::kNot:
      out->append("not ");
      Print(e->lhs.get(), out);
      return;
    case Expr::Kind::kCompare:
      break;
  }
  out->append(FieldName(e->field));
  out->push_back(' ');
  out->append(OpName(e->op));
  out->push_back(' ');
  if (e->op == Op::kIn) out->push_back('(');
  for (size_t i = 0; i < e->values.size(); ++i) {
    if (i) out->append(", ");
    Quote(e->values[i], out);
  }
  if (e->op == Op::kIn) out->push_back(')');
}

}  // namespace

std::string_view FieldName(Field f) { return kFieldNames[static_cast<int>(f)]; }

std::string_view OpName(Op op) {
  static constexpr std::array<std::string_view, 9> kNames = {"=",  "!=", "=~", "!~", "<",
                                                             "<=", ">",  ">=", "in"};
  return kNames[static_cast<int>(op)];
}

Result<ParsedQuery> ParseQuery(std::string_view text, size_t* error_position) {
  if (text.size() > kMaxQueryLength) {
    return ErrorAt("query longer than " + std::to_string(kMaxQueryLength) + " bytes",
                   kMaxQueryLength, error_position);
  }
  std::vector<Token> toks;
  EW_RETURN_IF_ERROR(Lex(text, &toks, error_position));
  ParsedQuery q;
  if (toks.size() == 1) return q;  // only the end token: selects everything
  Parser p(std::move(toks), error_position);
  EW_ASSIGN_OR_RETURN(q.root, p.ParseAll());
  return q;
}

std::string ExprToString(const Expr* e) {
  std::string out;
  if (e) Print(e, &out);
  return out;
}

bool ExprUses(const Expr* e, Field f) {
  if (!e) return false;
  if (e->kind == Expr::Kind::kCompare) return e->field == f;
  return ExprUses(e->lhs.get(), f) || ExprUses(e->rhs.get(), f);
}

}  // namespace ew::query

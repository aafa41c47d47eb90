#include "libs/aip/filter_parser.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace k8i::aip::internal {
namespace {

struct Token {
  enum class Type { kText, kString, kLParen, kRParen, kComparator, kEnd };
  Type type;
  std::string text;
  int position;
};

bool IsSpecial(char c) {
  return c == '(' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' || c == ':' ||
         c == '"' || c == '\'';
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

absl::Status ErrorAt(int pos, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("filter: ", what, " at position ", pos));
}

absl::StatusOr<std::vector<Token>> Lex(absl::string_view in) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    const int pos = static_cast<int>(i);
    if (IsSpace(c)) {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::Type::kLParen, "(", pos});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::Type::kRParen, ")", pos});
      ++i;
    } else if (c == '=' || c == ':') {
      out.push_back({Token::Type::kComparator, std::string(1, c), pos});
      ++i;
    } else if (c == '!' || c == '<' || c == '>') {
      if (i + 1 < in.size() && in[i + 1] == '=') {
        out.push_back({Token::Type::kComparator, std::string(in.substr(i, 2)), pos});
        i += 2;
      } else if (c == '!') {
        return ErrorAt(pos, "'!' must be followed by '='");
      } else {
        out.push_back({Token::Type::kComparator, std::string(1, c), pos});
        ++i;
      }
    } else if (c == '"' || c == '\'') {
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      while (j < in.size()) {
        if (in[j] == '\\') {
          if (j + 1 >= in.size()) break;
          const char e = in[j + 1];
          text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
        } else if (in[j] == c) {
          closed = true;
          ++j;
          break;
        } else {
          text += in[j++];
        }
      }
      if (!closed) return ErrorAt(pos, "unterminated string");
      out.push_back({Token::Type::kString, std::move(text), pos});
      i = j;
    } else {
      size_t j = i;
      while (j < in.size() && !IsSpace(in[j]) && !IsSpecial(in[j])) ++j;
      out.push_back({Token::Type::kText, std::string(in.substr(i, j - i)), pos});
      i = j;
    }
  }
  out.push_back({Token::Type::kEnd, "", static_cast<int>(in.size())});
  return out;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const FilterLimits& limits)
      : tokens_(std::move(tokens)), limits_(limits) {}

  absl::StatusOr<std::unique_ptr<Node>> ParseAll() {
    auto e = Expression(0);
    if (!e.ok()) return e;
    if (Peek().type != Token::Type::kEnd) {
      return ErrorAt(Peek().position, absl::StrCat("unexpected '", Peek().text, "'"));
    }
    return e;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_++]; }
  bool IsWord(absl::string_view w) const {
    return Peek().type == Token::Type::kText && Peek().text == w;
  }
  bool AtSequenceEnd() const {
    return Peek().type == Token::Type::kEnd || Peek().type == Token::Type::kRParen ||
           IsWord("AND") || IsWord("OR");
  }

  static std::unique_ptr<Node> Combine(Node::Kind kind, std::vector<std::unique_ptr<Node>> parts,
                                       int position) {
    if (parts.size() == 1) return std::move(parts[0]);
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->children = std::move(parts);
    n->position = position;
    return n;
  }

  absl::StatusOr<std::unique_ptr<Node>> Expression(int depth) {
    if (depth > limits_.max_depth) return ErrorAt(Peek().position, "filter nests too deeply");
    const int start = Peek().position;
    std::vector<std::unique_ptr<Node>> parts;
    while (true) {
      auto s = Sequence(depth);
      if (!s.ok()) return s;
      parts.push_back(std::move(*s));
      if (!IsWord("AND")) break;
      Next();
    }
    return Combine(Node::Kind::kAnd, std::move(parts), start);
  }

  absl::StatusOr<std::unique_ptr<Node>> Sequence(int depth) {
    const int start = Peek().position;
    std::vector<std::unique_ptr<Node>> parts;
    do {
      auto f = Factor(depth);
      if (!f.ok()) return f;
      parts.push_back(std::move(*f));
    } while (!AtSequenceEnd());
    return Combine(Node::Kind::kAnd, std::move(parts), start);
  }

  absl::StatusOr<std::unique_ptr<Node>> Factor(int depth) {
    const int start = Peek().position;
    std::vector<std::unique_ptr<Node>> parts;
    while (true) {
      auto t = Term(depth);
      if (!t.ok()) return t;
      parts.push_back(std::move(*t));
      if (!IsWord("OR")) break;
      Next();
    }
    return Combine(Node::Kind::kOr, std::move(parts), start);
  }

  absl::StatusOr<std::unique_ptr<Node>> Term(int depth) {
    const Token& t = Peek();
    bool negate = false;
    if (IsWord("NOT")) {
      Next();
      negate = true;
    } else if (t.type == Token::Type::kText && t.text.size() > 1 && t.text[0] == '-') {
      // "-name = x": negation glued to the member.
      tokens_[pos_].text.erase(0, 1);
      tokens_[pos_].position += 1;
      negate = true;
    }
    auto s = Simple(depth + (negate ? 1 : 0));
    if (!s.ok() || !negate) return s;
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::kNot;
    n->position = t.position;
    n->children.push_back(std::move(*s));
    return n;
  }

  absl::StatusOr<std::unique_ptr<Node>> Simple(int depth) {
    const Token& t = Peek();
    if (t.type == Token::Type::kLParen) {
      Next();
      auto e = Expression(depth + 1);
      if (!e.ok()) return e;
      if (Peek().type != Token::Type::kRParen) return ErrorAt(Peek().position, "missing ')'");
      Next();
      return e;
    }
    if (t.type == Token::Type::kString) {
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::kBareValue;
      n->value = Next().text;
      n->value_quoted = true;
      n->position = t.position;
      return n;
    }
    if (t.type != Token::Type::kText || t.text == "AND" || t.text == "OR" || t.text == "NOT") {
      return ErrorAt(t.position, t.type == Token::Type::kEnd
                                     ? std::string("unexpected end of filter")
                                     : absl::StrCat("unexpected '", t.text, "'"));
    }
    if (++restrictions_ > limits_.max_restrictions) {
      return ErrorAt(t.position, absl::StrCat("more than ", limits_.max_restrictions,
                                              " restrictions"));
    }
    auto n = std::make_unique<Node>();
    n->position = t.position;
    const std::string member = Next().text;
    if (Peek().type != Token::Type::kComparator) {
      n->kind = Node::Kind::kBareValue;
      n->value = member;
      return n;
    }
    n->kind = Node::Kind::kRestriction;
    n->member = absl::StrSplit(member, absl::MaxSplits('.', 1));
    n->comparator = Next().text;
    const Token& v = Peek();
    if (v.type != Token::Type::kText && v.type != Token::Type::kString) {
      return ErrorAt(v.position, absl::StrCat("expected a value after '", n->comparator, "'"));
    }
    n->value = Next().text;
    n->value_quoted = v.type == Token::Type::kString;
    return n;
  }

  std::vector<Token> tokens_;
  const FilterLimits& limits_;
  size_t pos_ = 0;
  int restrictions_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Parse(absl::string_view filter,
                                            const FilterLimits& limits) {
  if (static_cast<int>(filter.size()) > limits.max_length) {
    return absl::InvalidArgumentError(absl::StrCat("filter: longer than ", limits.max_length,
                                                   " characters"));
  }
  auto tokens = Lex(filter);
  if (!tokens.ok()) return tokens.status();
  return Parser(std::move(*tokens), limits).ParseAll();
}

}  // namespace k8i::aip::internal

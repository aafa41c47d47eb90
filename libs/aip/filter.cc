#include "libs/aip/filter.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/aip/filter_parser.h"

namespace k8i::aip {
namespace {

using internal::Node;

absl::Status ErrorAt(int pos, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("filter: ", what, " at position ", pos));
}

bool IsIdentifier(absl::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsBlank(absl::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

std::string SqlComparator(const std::string& c) {
  if (c == ":") return "=";
  if (c == "!=") return "<>";
  return c;
}

// Escapes LIKE metacharacters and turns '*' into '%'.
std::string WildcardToLike(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '*') {
      out += '%';
    } else {
      out += c;
    }
  }
  return out;
}

class Compiler {
 public:
  Compiler(const Schema& schema, int first_param) : schema_(schema), next_(first_param) {}

  absl::StatusOr<std::string> Compile(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        std::vector<std::string> parts;
        for (const auto& c : n.children) {
          auto s = Compile(*c);
          if (!s.ok()) return s;
          parts.push_back(absl::StrCat("(", *s, ")"));
        }
        return absl::StrJoin(parts, n.kind == Node::Kind::kAnd ? " AND " : " OR ");
      }
      case Node::Kind::kNot: {
        auto s = Compile(*n.children[0]);
        if (!s.ok()) return s;
        return absl::StrCat("NOT (", *s, ")");
      }
      case Node::Kind::kBareValue:
        return ErrorAt(n.position, absl::StrCat("\"", n.value,
                                                "\" needs a field and a comparator, e.g. "
                                                "name = \"", n.value, "\""));
      case Node::Kind::kRestriction:
        return Restriction(n);
    }
    return absl::InternalError("unreachable");
  }

  std::vector<std::string> TakeParams() { return std::move(params_); }

 private:
  std::string Param(std::string value, absl::string_view cast) {
    params_.push_back(std::move(value));
    return absl::StrCat("$", next_++, cast);
  }

  absl::StatusOr<std::string> Restriction(const Node& n) {
    const std::string& name = n.member[0];
    auto it = schema_.find(name);
    if (!IsIdentifier(name) || it == schema_.end() || !it->second.filterable) {
      return ErrorAt(n.position, absl::StrCat("unknown field \"", name, "\""));
    }
    const FieldSpec& f = it->second;
    const std::string& op = n.comparator;
    if (f.type == FieldType::kMap) {
      if (n.member.size() < 2 || n.member[1].empty()) {
        if (op != ":") {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is a map: use ", name,
                                                  ".<key> or ", name, ":<key>"));
        }
        return absl::StrCat(f.sql, " ? ", Param(n.value, "::text"));
      }
      if (op != "=" && op != "!=" && op != ":") {
        return ErrorAt(n.position, absl::StrCat("map values support =, != and :, not ", op));
      }
      std::string key = Param(n.member[1], "::text");
      std::string value_expr = absl::StrCat("(", f.sql, " ->> ", key, ")");
      if (op == ":") return absl::StrCat(f.sql, " ? ", key);
      if (op == "=" && n.value.find('*') == std::string::npos) {
        // Containment, which a GIN index on the map answers.
        return absl::StrCat(f.sql, " @> jsonb_build_object(", key, ", ",
                            Param(n.value, "::text"), ")");
      }
      return StringComparison(value_expr, op, n.value);
    }
    if (n.member.size() > 1) {
      return ErrorAt(n.position, absl::StrCat("field \"", name, "\" has no subfields"));
    }
    switch (f.type) {
      case FieldType::kString:
        return StringComparison(f.sql, op, n.value);
      case FieldType::kInt: {
        int64_t v;
        if (!absl::SimpleAtoi(n.value, &v)) {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is an integer; \"", n.value,
                                                  "\" is not"));
        }
        return absl::StrCat(f.sql, " ", SqlComparator(op), " ",
                            Param(absl::StrCat(v), "::bigint"));
      }
      case FieldType::kDouble: {
        double v;
        if (!absl::SimpleAtod(n.value, &v) || !std::isfinite(v)) {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is a number; \"", n.value,
                                                  "\" is not"));
        }
        return absl::StrCat(f.sql, " ", SqlComparator(op), " ",
                            Param(absl::StrCat(v), "::double precision"));
      }
      case FieldType::kBool: {
        if (n.value != "true" && n.value != "false") {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is true or false"));
        }
        if (op != "=" && op != "!=" && op != ":") {
          return ErrorAt(n.position, "booleans support = and != only");
        }
        return absl::StrCat(f.sql, " ", SqlComparator(op), " ", Param(n.value, "::boolean"));
      }
      case FieldType::kTimestamp: {
        absl::Time t;
        std::string err;
        if (!absl::ParseTime(absl::RFC3339_full, n.value, &t, &err)) {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is a timestamp; \"", n.value,
                                                  "\" is not RFC 3339 (2026-01-02T15:04:05Z)"));
        }
        return absl::StrCat(
            f.sql, " ", SqlComparator(op), " ",
            Param(absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()),
                  "::timestamptz"));
      }
      case FieldType::kDuration: {
        absl::Duration d;
        if (!absl::ParseDuration(n.value, &d) || d == absl::InfiniteDuration() ||
            d == -absl::InfiniteDuration()) {
          return ErrorAt(n.position, absl::StrCat("\"", name, "\" is a duration; \"", n.value,
                                                  "\" is not (e.g. 30s, 5m, 2h)"));
        }
        return absl::StrCat(f.sql, " ", SqlComparator(op), " make_interval(secs => ",
                            Param(absl::StrCat(absl::ToDoubleSeconds(d)), "::double precision"),
                            ")");
      }
      case FieldType::kMap:
        break;
    }
    return absl::InternalError("unreachable");
  }

  absl::StatusOr<std::string> StringComparison(const std::string& expr, const std::string& op,
                                               const std::string& value) {
    const bool wildcard = value.find('*') != std::string::npos;
    if ((op == "=" || op == ":" || op == "!=") && wildcard) {
      return absl::StrCat(expr, op == "!=" ? " NOT LIKE " : " LIKE ",
                          Param(WildcardToLike(value), "::text"), " ESCAPE '\\'");
    }
    return absl::StrCat(expr, " ", SqlComparator(op), " ", Param(value, "::text"));
  }

  const Schema& schema_;
  int next_;
  std::vector<std::string> params_;
};

}  // namespace

absl::StatusOr<SqlCondition> CompileFilter(absl::string_view filter, const Schema& schema,
                                           int first_param, const FilterLimits& limits) {
  if (IsBlank(filter)) return SqlCondition{"TRUE", {}};
  auto ast = internal::Parse(filter, limits);
  if (!ast.ok()) return ast.status();
  Compiler compiler(schema, first_param);
  auto sql = compiler.Compile(**ast);
  if (!sql.ok()) return sql.status();
  return SqlCondition{std::move(*sql), compiler.TakeParams()};
}

absl::Status ValidateFilterSyntax(absl::string_view filter, const FilterLimits& limits) {
  if (IsBlank(filter)) return absl::OkStatus();
  return internal::Parse(filter, limits).status();
}

}  // namespace k8i::aip

#include "libs/aip/paging.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/ids.h"

namespace k8i::aip {
namespace {

constexpr char kVersion = 1;
constexpr size_t kMacBytes = 16;
constexpr size_t kFingerprintBytes = 16;

std::string Cast(FieldType t) {
  switch (t) {
    case FieldType::kInt: return "::bigint";
    case FieldType::kDouble: return "::double precision";
    case FieldType::kBool: return "::boolean";
    case FieldType::kTimestamp: return "::timestamptz";
    case FieldType::kDuration: return "::interval";
    default: return "::text";
  }
}

void AppendLengthPrefixed(absl::string_view s, std::string& out) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(s.data(), s.size());
}

}  // namespace

absl::StatusOr<std::vector<OrderField>> ParseOrderBy(absl::string_view order_by,
                                                     const Schema& schema,
                                                     const std::string& tiebreak) {
  std::vector<OrderField> out;
  std::set<std::string> seen;
  if (!absl::StripAsciiWhitespace(order_by).empty()) {
    for (absl::string_view part : absl::StrSplit(order_by, ',')) {
      std::vector<absl::string_view> words =
          absl::StrSplit(absl::StripAsciiWhitespace(part), ' ', absl::SkipEmpty());
      if (words.empty() || words.size() > 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("order_by: \"", absl::StripAsciiWhitespace(part),
                         "\" is not `field` or `field desc`"));
      }
      OrderField f{std::string(words[0]), false};
      if (words.size() == 2) {
        if (words[1] == "desc") {
          f.desc = true;
        } else if (words[1] != "asc") {
          return absl::InvalidArgumentError(
              absl::StrCat("order_by: \"", words[1], "\" is not asc or desc"));
        }
      }
      auto it = schema.find(f.name);
      if (it == schema.end() || !it->second.sortable) {
        return absl::InvalidArgumentError(
            absl::StrCat("order_by: cannot sort by \"", f.name, "\""));
      }
      if (!seen.insert(f.name).second) {
        return absl::InvalidArgumentError(absl::StrCat("order_by: \"", f.name, "\" twice"));
      }
      out.push_back(std::move(f));
    }
  }
  // The tiebreak follows the direction of the last field so that a single btree index on
  // (field, tiebreak) serves the order forwards or backwards.
  if (!seen.contains(tiebreak)) out.push_back({tiebreak, !out.empty() && out.back().desc});
  return out;
}

std::string OrderBySql(const std::vector<OrderField>& order, const Schema& schema) {
  std::vector<std::string> parts;
  for (const auto& f : order) {
    parts.push_back(absl::StrCat(schema.at(f.name).sql, f.desc ? " DESC" : " ASC"));
  }
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<SqlCondition> KeysetCondition(const std::vector<OrderField>& order,
                                             const Schema& schema,
                                             const std::vector<std::string>& values,
                                             int first_param) {
  if (values.size() != order.size()) {
    return absl::InvalidArgumentError("page_token does not match the order of this query");
  }
  SqlCondition out;
  std::vector<std::string> params_sql;
  for (size_t i = 0; i < order.size(); ++i) {
    out.params.push_back(values[i]);
    params_sql.push_back(absl::StrCat("$", first_param + static_cast<int>(i),
                                      Cast(schema.at(order[i].name).type)));
  }
  const bool uniform = std::all_of(order.begin(), order.end(),
                                   [&](const OrderField& f) { return f.desc == order[0].desc; });
  if (uniform) {
    // One direction: a row comparison, which PostgreSQL uses as an index range bound, so a
    // deep page costs the same as the first.
    std::vector<std::string> exprs;
    for (const auto& f : order) exprs.push_back(schema.at(f.name).sql);
    out.sql = absl::StrCat("(", absl::StrJoin(exprs, ", "), ") ", order[0].desc ? "<" : ">",
                           " (", absl::StrJoin(params_sql, ", "), ")");
    return out;
  }
  // Mixed directions: (a > v1) OR (a = v1 AND b > v2) OR ... with > / < per direction, and the
  // implied bound on the first field (a >= v1) stated on its own so an index can start there.
  std::vector<std::string> disjuncts;
  for (size_t i = 0; i < order.size(); ++i) {
    std::vector<std::string> conj;
    for (size_t j = 0; j < i; ++j) {
      conj.push_back(absl::StrCat(schema.at(order[j].name).sql, " = ", params_sql[j]));
    }
    conj.push_back(absl::StrCat(schema.at(order[i].name).sql, order[i].desc ? " < " : " > ",
                                params_sql[i]));
    disjuncts.push_back(absl::StrCat("(", absl::StrJoin(conj, " AND "), ")"));
  }
  out.sql = absl::StrCat(schema.at(order[0].name).sql, order[0].desc ? " <= " : " >= ",
                         params_sql[0], " AND (", absl::StrJoin(disjuncts, " OR "), ")");
  return out;
}

absl::Status AppendKeysetPage(const std::vector<OrderField>& order, const Schema& schema,
                              const std::vector<std::string>& cursor, int limit,
                              std::string& sql, std::vector<std::string>& params) {
  if (!cursor.empty()) {
    auto keyset =
        KeysetCondition(order, schema, cursor, static_cast<int>(params.size()) + 1);
    if (!keyset.ok()) return keyset.status();
    absl::StrAppend(&sql, " AND (", keyset->sql, ")");
    params.insert(params.end(), keyset->params.begin(), keyset->params.end());
  }
  absl::StrAppend(&sql, " ORDER BY ", OrderBySql(order, schema), " LIMIT ", limit + 1);
  return absl::OkStatus();
}

std::string PageTokenCodec::QueryFingerprint(absl::string_view method, absl::string_view parent,
                                             absl::string_view filter,
                                             absl::string_view order_by) {
  std::string data;
  for (absl::string_view s : {method, parent, filter, order_by}) AppendLengthPrefixed(s, data);
  return Sha256Hex(data).substr(0, kFingerprintBytes * 2);
}

std::string PageTokenCodec::Mac(absl::string_view data) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view fingerprint,
                                   const std::vector<std::string>& values) const {
  std::string payload(1, kVersion);
  AppendLengthPrefixed(fingerprint, payload);
  for (const auto& v : values) AppendLengthPrefixed(v, payload);
  payload += Mac(payload);
  std::string out;
  absl::WebSafeBase64Escape(payload, &out);
  return out;
}

absl::StatusOr<std::vector<std::string>> PageTokenCodec::Decode(
    absl::string_view token, absl::string_view fingerprint) const {
  const auto invalid = [] {
    return absl::InvalidArgumentError(
        "page_token is not a token this API issued (altered or truncated)");
  };
  std::string raw;
  if (token.size() > 8192 || !absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < 1 + kMacBytes || raw[0] != kVersion) {
    return invalid();
  }
  const std::string payload = raw.substr(0, raw.size() - kMacBytes);
  const std::string mac = raw.substr(raw.size() - kMacBytes);
  if (CRYPTO_memcmp(Mac(payload).data(), mac.data(), kMacBytes) != 0) return invalid();
  std::vector<std::string> fields;
  size_t i = 1;
  while (i < payload.size()) {
    if (i + 4 > payload.size()) return invalid();
    uint32_t n = 0;
    for (int k = 0; k < 4; ++k) n = (n << 8) | static_cast<unsigned char>(payload[i + k]);
    i += 4;
    if (n > payload.size() - i) return invalid();
    fields.push_back(payload.substr(i, n));
    i += n;
  }
  if (fields.empty()) return invalid();
  if (fields[0] != fingerprint) {
    return absl::InvalidArgumentError(
        "page_token was issued for a different filter, order_by or parent");
  }
  fields.erase(fields.begin());
  return fields;
}

absl::StatusOr<int> ValidatePageSize(int page_size, int default_size, int max_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative (got ", page_size, ")"));
  }
  if (page_size == 0) return default_size;
  return std::min(page_size, max_size);
}

}  // namespace k8i::aip

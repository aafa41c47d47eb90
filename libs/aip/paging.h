// AIP-132 ordering and AIP-158 pagination for List methods: parse `order_by` against a schema,
// and encode/decode opaque page tokens that are keyset cursors — stable while rows are inserted
// or deleted, tamper-evident (HMAC-SHA256), and bound to the query they were issued for.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/aip/filter.h"

namespace k8i::aip {

struct OrderField {
  std::string name;
  bool desc = false;
};

// ParseOrderBy parses "cpu_usage desc, name" (AIP-132) and appends `tiebreak` (a unique,
// sortable field, ascending) unless already present, so the order is total. InvalidArgument
// for unknown or unsortable fields, duplicates, or bad syntax.
absl::StatusOr<std::vector<OrderField>> ParseOrderBy(absl::string_view order_by,
                                                     const Schema& schema,
                                                     const std::string& tiebreak);

// OrderBySql renders "col1 DESC, col2 ASC" from trusted schema SQL.
std::string OrderBySql(const std::vector<OrderField>& order, const Schema& schema);

// KeysetCondition returns the condition "row comes after the cursor" for `order` given the
// cursor's `values` (one per order field, as text), numbering parameters from `first_param`.
absl::StatusOr<SqlCondition> KeysetCondition(const std::vector<OrderField>& order,
                                             const Schema& schema,
                                             const std::vector<std::string>& values,
                                             int first_param);

// AppendKeysetPage appends to a query that already has a WHERE clause (with params bound so
// far in `params`) the "after the cursor" condition (when `cursor` is non-empty), ORDER BY
// `order` and LIMIT limit + 1 (the extra row tells whether another page exists), binding the
// cursor values after the existing parameters.
absl::Status AppendKeysetPage(const std::vector<OrderField>& order, const Schema& schema,
                              const std::vector<std::string>& cursor, int limit,
                              std::string& sql, std::vector<std::string>& params);

// PageTokenCodec is immutable and thread-safe. The key must be secret and shared by every
// replica serving the same API.
class PageTokenCodec {
 public:
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}

  // QueryFingerprint identifies what a token is valid for: the method, parent, filter and
  // order (not page_size, which may change between pages).
  static std::string QueryFingerprint(absl::string_view method, absl::string_view parent,
                                      absl::string_view filter, absl::string_view order_by);

  std::string Encode(absl::string_view fingerprint, const std::vector<std::string>& values) const;
  // Decode returns the cursor values, or InvalidArgument if the token was altered, is not a
  // token, or was issued for another query.
  absl::StatusOr<std::vector<std::string>> Decode(absl::string_view token,
                                                  absl::string_view fingerprint) const;

 private:
  std::string Mac(absl::string_view data) const;
  std::string key_;
};

// ValidatePageSize applies AIP-158: negative → InvalidArgument; 0 → `default_size`; above
// `max_size` → `max_size`.
absl::StatusOr<int> ValidatePageSize(int page_size, int default_size, int max_size);

}  // namespace k8i::aip

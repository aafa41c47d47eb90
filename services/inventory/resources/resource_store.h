// ResourceStore: Get and List over any KindSpec, scoped to the caller's tenant in every query.
// List validates the parent, filter, order_by, page size and token, reads one keyset page and
// issues the next token; the caller converts rows with the kind's to_proto.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/aip/paging.h"
#include "libs/pg/pool.h"
#include "services/inventory/resources/kinds.h"

namespace k8i::inventory::resources {

struct ListArgs {
  std::string parent;
  int32_t page_size = 0;
  std::string page_token;
  std::string filter;
  std::string order_by;
};

struct ListResult {
  std::string next_page_token;
  int64_t total_size = 0;
};

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

using RowSink = std::function<absl::Status(const pqxx::row&)>;

class ResourceStore {
 public:
  // `pool` and `tokens` (not owned) must outlive the store.
  ResourceStore(pg::Pool* pool, const aip::PageTokenCodec* tokens)
      : pool_(pool), tokens_(tokens) {}

  // Get hands the one row named `name` to `sink`; NotFound when it does not exist in `tenant`
  // (including when it exists in another tenant), InvalidArgument for a malformed name.
  absl::Status Get(const std::string& tenant, const KindSpec& kind, const std::string& name,
                   const RowSink& sink) const;

  // List hands at most one page of rows, in order, to `sink`.
  absl::StatusOr<ListResult> List(const std::string& tenant, const KindSpec& kind,
                                  const ListArgs& args, const RowSink& sink) const;

  // ListSql returns the page query List would run (for EXPLAIN in tests) and its parameters.
  absl::StatusOr<std::pair<std::string, std::vector<std::string>>> ListSql(
      const std::string& tenant, const KindSpec& kind, const ListArgs& args) const;

 private:
  struct Plan;
  absl::StatusOr<Plan> Prepare(const std::string& tenant, const KindSpec& kind,
                               const ListArgs& args) const;
  pg::Pool* pool_;
  const aip::PageTokenCodec* tokens_;
};

}  // namespace k8i::inventory::resources

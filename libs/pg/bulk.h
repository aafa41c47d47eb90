// Bulk statements and time parameters shared by the services' stores: a batch of any size is
// one statement, its columns bound as text[] literals and turned back into rows with unnest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "pqxx/pqxx"

namespace k8i::pg {

// Columns of a bulk statement: each one a text[] literal bound as one parameter.
//
// Bytes (protobuf bodies) do not cross as hex in a text[], which doubles them and makes the
// server parse every character twice: AddBytes(i, b) appends b to one binary parameter, the
// blob, and puts b's 1-based offset in column i and its length in column i + 1. The statement
// reads it back with `substring($B::bytea FROM u.o FOR u.l)`, where $B is the parameter after the
// last column.
class Columns {
 public:
  explicit Columns(size_t n) : cols_(n) {}
  void Add(size_t i, std::string v) { cols_[i].push_back(std::move(v)); }
  void AddBytes(size_t i, std::string_view bytes);
  // AddMessage is AddBytes of `m`'s serialization, written straight into the blob.
  void AddMessage(size_t i, const google::protobuf::MessageLite& m);
  size_t rows() const { return cols_.empty() ? 0 : cols_[0].size(); }
  std::vector<std::string> Params() const;
  bool has_blob() const { return has_blob_; }
  const std::string& blob() const { return blob_; }

 private:
  // Records the blob's bytes from `offset` to its end as the slice of columns i and i + 1.
  void AddSlice(size_t i, size_t offset);

  std::vector<std::vector<std::string>> cols_;
  std::string blob_;
  bool has_blob_ = false;
};

// ExecBulk runs `sql` with the tenant, the cluster and then the columns as parameters $3, $4,
// ...; nothing when there are no rows (an empty result). Returns what the statement returned.
pqxx::result ExecBulk(pqxx::work& tx, const std::string& sql, const std::string& tenant,
                      const std::string& cluster, const Columns& cols);

// ExecBulkWith runs `sql` with `params` as $1..$k, then the columns, then the blob when bytes
// were added; nothing when there are no rows (an empty result).
pqxx::result ExecBulkWith(pqxx::work& tx, const std::string& sql, std::vector<std::string> params,
                          const Columns& cols);

// PgTextArray renders a text[] literal (every element quoted and escaped), for binding.
std::string PgTextArray(const std::vector<std::string>& values);

// Times cross SQL as Unix microseconds: MicrosParam(n) is the SQL for bind parameter $n as a
// timestamptz (to_timestamp($n / 1e6)); MicrosOf(column) reads one back. An infinite time is
// NULL.
std::string MicrosParam(int n);
std::string MicrosOf(const std::string& column);
std::optional<int64_t> ToMicros(absl::Time t);
absl::Time FromMicros(const pqxx::field& f, absl::Time if_null);

// Ts renders a time as a timestamptz literal for a `$n::timestamptz` parameter, in UTC to the
// microsecond ("-infinity" / "infinity" for the infinite ones).
std::string Ts(absl::Time t);

// Double renders a double for a text[] column without losing precision.
std::string Double(double v);

}  // namespace k8i::pg

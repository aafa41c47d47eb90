#include "libs/pg/bulk.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace k8i::pg {

std::vector<std::string> Columns::Params() const {
  std::vector<std::string> out;
  out.reserve(cols_.size());
  for (const auto& c : cols_) out.push_back(PgTextArray(c));
  return out;
}

void Columns::AddBytes(size_t i, std::string_view bytes) {
  const size_t offset = blob_.size();
  blob_.append(bytes);
  AddSlice(i, offset);
}

void Columns::AddMessage(size_t i, const google::protobuf::MessageLite& m) {
  const size_t offset = blob_.size();
  m.AppendToString(&blob_);
  AddSlice(i, offset);
}

void Columns::AddSlice(size_t i, size_t offset) {
  has_blob_ = true;
  cols_[i].push_back(absl::StrCat(offset + 1));  // substring() counts from 1
  cols_[i + 1].push_back(absl::StrCat(blob_.size() - offset));
}

pqxx::result ExecBulk(pqxx::work& tx, const std::string& sql, const std::string& tenant,
                      const std::string& cluster, const Columns& cols) {
  return ExecBulkWith(tx, sql, {tenant, cluster}, cols);
}

pqxx::result ExecBulkWith(pqxx::work& tx, const std::string& sql, std::vector<std::string> params,
                          const Columns& cols) {
  if (cols.rows() == 0) return {};
  for (auto& p : cols.Params()) params.push_back(std::move(p));
  if (cols.has_blob()) {
    // Sent in binary format: pqxx marks a binarystring parameter as such.
    return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params),
                          pqxx::binarystring(cols.blob().data(), cols.blob().size()));
  }
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    out += "\"";
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += "\"";
  }
  out += "}";
  return out;
}

std::string MicrosParam(int n) {
  return absl::StrCat("to_timestamp($", n, "::double precision / 1e6)");
}

std::string MicrosOf(const std::string& column) {
  return absl::StrCat("(extract(epoch FROM ", column, ") * 1000000)::bigint");
}

std::optional<int64_t> ToMicros(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  return absl::ToUnixMicros(t);
}

absl::Time FromMicros(const pqxx::field& f, absl::Time if_null) {
  return f.is_null() ? if_null : absl::FromUnixMicros(f.as<int64_t>());
}

std::string Ts(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string Double(double v) { return absl::StrFormat("%.17g", v); }

}  // namespace k8i::pg

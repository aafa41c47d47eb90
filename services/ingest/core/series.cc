#include "services/ingest/core/series.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"

namespace k8i::ingest {
namespace {

void AddIf(LabelSet& out, const char* key, const std::string& value) {
  if (!value.empty()) out.emplace_back(key, value);
}

// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); the well-known
// era-based civil calendar conversion.
void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

void Append2(unsigned v, std::string& out) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

}  // namespace

LabelSet CanonicalLabels(const k8intel::v1::MetricSeries& series) {
  LabelSet out;
  out.reserve(series.labels_size() + 4);
  for (const auto& l : series.labels()) out.emplace_back(l.name(), l.value());
  const auto& r = series.resource();
  AddIf(out, "k8s.node.name", r.node_name());
  AddIf(out, "k8s.namespace.name", r.namespace_name());
  AddIf(out, "k8s.pod.name", r.pod_name());
  AddIf(out, "k8s.pod.uid", r.pod_uid());
  AddIf(out, "k8s.container.name", r.container_name());
  AddIf(out, "k8s.workload.kind", r.workload_kind());
  AddIf(out, "k8s.workload.name", r.workload_name());
  AddIf(out, "k8s.persistentvolumeclaim.name", r.pvc_name());
  AddIf(out, "device", r.device());
  std::sort(out.begin(), out.end());
  return out;
}

int64_t SeriesId(const std::string& tenant, const std::string& cluster, const std::string& name,
                 const LabelSet& labels) {
  std::string key;
  key.reserve(64 + labels.size() * 32);
  absl::StrAppend(&key, tenant, "\x1f", cluster, "\x1f", name);
  for (const auto& [k, v] : labels) absl::StrAppend(&key, "\x1e", k, "\x1f", v);
  return StableId64(key);
}

std::string LabelsJson(const LabelSet& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += '"';
    JsonEscape(k, out);
    out += "\":\"";
    JsonEscape(v, out);
    out += '"';
  }
  out += '}';
  return out;
}

std::string AlertFingerprint(const k8intel::v1::Alert& alert) {
  if (!alert.fingerprint().empty()) return alert.fingerprint();
  LabelSet labels;
  for (const auto& l : alert.labels()) labels.emplace_back(l.name(), l.value());
  std::sort(labels.begin(), labels.end());
  std::string key = alert.name();
  for (const auto& [k, v] : labels) absl::StrAppend(&key, "\x1e", k, "\x1f", v);
  return Sha256Hex(key).substr(0, 16);
}

int64_t DayOf(int64_t unix_ms) {
  int64_t days = unix_ms / 86'400'000;
  if (unix_ms % 86'400'000 < 0) --days;
  return days;
}

void AppendTimestamp(int64_t unix_ms, std::string& out) {
  const int64_t days = DayOf(unix_ms);
  int64_t ms_of_day = unix_ms - days * 86'400'000;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, y);
  out.append(buf, p);
  out += '-';
  Append2(m, out);
  out += '-';
  Append2(d, out);
  out += ' ';
  const unsigned ms = static_cast<unsigned>(ms_of_day % 1000);
  const unsigned secs = static_cast<unsigned>(ms_of_day / 1000);
  Append2(secs / 3600, out);
  out += ':';
  Append2(secs / 60 % 60, out);
  out += ':';
  Append2(secs % 60, out);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += "+00";
}

void AppendSampleRows(const std::string& tenant, int64_t series_id,
                      const k8intel::v1::MetricSeries& series, std::string& out) {
  char id_buf[24];
  auto [id_end, ec] = std::to_chars(id_buf, id_buf + sizeof id_buf, series_id);
  char val_buf[32];
  for (const auto& s : series.samples()) {
    out += tenant;
    out += '\t';
    out.append(id_buf, id_end);
    out += '\t';
    AppendTimestamp(s.time_unix_ms(), out);
    out += '\t';
    auto [v_end, vec] = std::to_chars(val_buf, val_buf + sizeof val_buf, s.value());
    out.append(val_buf, v_end);
    out += '\n';
  }
}

}  // namespace k8i::ingest

#include "services/ingest/core/alertmanager.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/ingest/core/prom_identity.h"
#include "services/ingest/core/validate.h"

namespace k8i::ingest {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxReasons = 10;
// A notification nests four levels (body, alerts, alert, labels); anything much deeper is not
// one, and copying or printing a deep value would recurse once per level.
constexpr int kMaxDepth = 16;

// Depth returns how deeply arrays and objects nest in `body` (outside strings), stopping
// early past `limit`. Linear, no recursion.
int Depth(absl::string_view body, int limit) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
      if (max > limit) return max;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

// Field returns member `key` of object `j`, or null when absent (no copy).
const json* Field(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json& FieldOrNull(const json& j, const char* key) {
  static const json* const kNull = new json();
  const json* f = Field(j, key);
  return f == nullptr ? *kNull : *f;
}

k8intel::v1::Severity SeverityOf(const std::string& s) {
  const std::string v = absl::AsciiStrToLower(s);
  if (v == "critical" || v == "error" || v == "page") return k8intel::v1::SEVERITY_CRITICAL;
  if (v == "warning" || v == "warn") return k8intel::v1::SEVERITY_WARNING;
  if (v == "info" || v == "notice" || v == "none") return k8intel::v1::SEVERITY_INFO;
  return k8intel::v1::SEVERITY_UNSPECIFIED;
}

// StringMap reads a JSON object of strings; false when it is something else.
bool StringMap(const json& j, std::map<std::string, std::string>* out) {
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    (*out)[k] = v.get<std::string>();
  }
  return true;
}

// ParseTime reads an RFC 3339 time; nullopt-like false when it does not parse.
bool ParseTime(const json& j, absl::Time* t) {
  if (!j.is_string()) return false;
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, j.get<std::string>(), t, &err);
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t secs = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(nanos));
}

// MapAlert maps one alert; the reason when it is invalid.
std::string MapAlert(const json& a, k8intel::v1::Alert* out) {
  if (!a.is_object()) return "not an object";
  std::map<std::string, std::string> labels, annotations;
  if (!StringMap(FieldOrNull(a, "labels"), &labels)) return "labels must be an object of strings";
  if (!StringMap(FieldOrNull(a, "annotations"), &annotations)) {
    return "annotations must be an object of strings";
  }
  auto name = labels.find("alertname");
  if (name == labels.end() || name->second.empty()) return "no alertname label";
  const json& status = FieldOrNull(a, "status");
  if (status == "firing") {
    out->set_status(k8intel::v1::ALERT_STATUS_FIRING);
  } else if (status == "resolved") {
    out->set_status(k8intel::v1::ALERT_STATUS_RESOLVED);
  } else {
    return "status must be \"firing\" or \"resolved\"";
  }
  absl::Time starts;
  if (!ParseTime(FieldOrNull(a, "startsAt"), &starts)) return "startsAt is not an RFC 3339 time";
  SetTimestamp(starts, out->mutable_start_time());
  absl::Time ends;
  const json& ends_at = FieldOrNull(a, "endsAt");
  if (!ends_at.is_null()) {
    if (!ParseTime(ends_at, &ends)) return "endsAt is not an RFC 3339 time";
    // Go's zero time (0001-01-01) means "not set".
    if (ends > absl::UnixEpoch()) SetTimestamp(ends, out->mutable_end_time());
  }
  for (const auto& [k, v] : labels) {
    if (!IsValidLabelName(k)) return absl::StrCat("label name \"", k, "\" is not valid");
  }
  const json& fingerprint = FieldOrNull(a, "fingerprint");
  if (fingerprint.is_string()) out->set_fingerprint(fingerprint.get<std::string>());
  out->set_name(name->second);
  if (auto s = labels.find("severity"); s != labels.end()) {
    out->set_severity(SeverityOf(s->second));
  }
  PromLabels identity(labels.begin(), labels.end());
  *out->mutable_resource() = PromIdentity(identity, nullptr);
  for (const auto& [k, v] : labels) {
    auto* l = out->add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  const json& generator = FieldOrNull(a, "generatorURL");
  if (generator.is_string() && !generator.get<std::string>().empty()) {
    annotations.emplace("generatorURL", generator.get<std::string>());
  }
  for (const char* key : {"summary", "description", "message"}) {
    if (auto it = annotations.find(key); it != annotations.end() && !it->second.empty()) {
      out->set_summary(it->second);
      break;
    }
  }
  if (out->summary().empty()) out->set_summary(name->second);
  out->mutable_annotations()->insert(annotations.begin(), annotations.end());
  out->set_source("alertmanager");
  return "";
}

}  // namespace

absl::StatusOr<AlertmanagerResult> MapAlertmanagerWebhook(absl::string_view body,
                                                          const std::string& request_id,
                                                          const Limits& limits) {
  if (Depth(body, kMaxDepth) > kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body nests deeper than ", kMaxDepth, " levels: not a notification"));
  }
  const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  const json& version = FieldOrNull(doc, "version");
  if (version != "4") {
    return absl::InvalidArgumentError(absl::StrCat(
        "payload version ", version.is_string() ? version.get<std::string>() : version.dump(),
        " is not supported (Alertmanager sends \"4\")"));
  }
  const json& alerts = FieldOrNull(doc, "alerts");
  if (!alerts.is_array()) return absl::InvalidArgumentError("alerts must be an array");
  AlertmanagerResult out;
  const json& truncated = FieldOrNull(doc, "truncatedAlerts");
  if (truncated.is_number_integer()) out.truncated = truncated.get<int64_t>();
  k8intel::v1::TelemetryBatch* batch = nullptr;
  for (size_t i = 0; i < alerts.size(); ++i) {
    k8intel::v1::Alert alert;
    const std::string why = MapAlert(alerts[i], &alert);
    if (!why.empty()) {
      ++out.rejected;
      if (out.reasons.size() < kMaxReasons) {
        out.reasons.push_back(absl::StrCat("alerts[", i, "]: ", why));
      }
      continue;
    }
    if (batch == nullptr || batch->alerts_size() >= limits.max_alerts_per_batch) {
      batch = &out.batches.emplace_back();
      batch->set_batch_id(absl::StrCat("am-", request_id.substr(0, 40), "-", out.batches.size()));
    }
    ++out.alerts;
    *batch->add_alerts() = std::move(alert);
  }
  return out;
}

}  // namespace k8i::ingest

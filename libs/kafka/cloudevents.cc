#include "libs/kafka/cloudevents.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace k8i::kafka {
namespace {

constexpr absl::string_view kId = "ce_id";
constexpr absl::string_view kSource = "ce_source";
constexpr absl::string_view kType = "ce_type";
constexpr absl::string_view kSpecVersion = "ce_specversion";
constexpr absl::string_view kTime = "ce_time";
constexpr absl::string_view kContentType = "content-type";
constexpr absl::string_view kSpec = "1.0";

const std::string* Find(const std::vector<Header>& headers, absl::string_view key) {
  for (const Header& h : headers) {
    if (h.key == key) return &h.value;
  }
  return nullptr;
}

absl::StatusOr<std::string> Required(const std::vector<Header>& headers, absl::string_view key) {
  const std::string* value = Find(headers, key);
  if (value == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("CloudEvent header ", key, " is missing"));
  }
  if (value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("CloudEvent header ", key, " is empty"));
  }
  return *value;
}

}  // namespace

std::vector<Header> CloudEventHeaders(const CloudEvent& event) {
  std::vector<Header> headers = {
      {std::string(kId), event.id},
      {std::string(kSource), event.source},
      {std::string(kType), event.type},
      {std::string(kSpecVersion), std::string(kSpec)},
      {std::string(kTime),
       absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", event.time, absl::UTCTimeZone())},
  };
  if (!event.content_type.empty()) {
    headers.push_back({std::string(kContentType), event.content_type});
  }
  return headers;
}

absl::StatusOr<CloudEvent> ParseCloudEventHeaders(const std::vector<Header>& headers) {
  CloudEvent event;
  absl::StatusOr<std::string> value = Required(headers, kSpecVersion);
  if (!value.ok()) return value.status();
  if (*value != kSpec) {
    return absl::InvalidArgumentError(
        absl::StrCat("CloudEvent header ", kSpecVersion, " is \"", *value, "\", want \"1.0\""));
  }
  value = Required(headers, kId);
  if (!value.ok()) return value.status();
  event.id = *std::move(value);
  value = Required(headers, kSource);
  if (!value.ok()) return value.status();
  event.source = *std::move(value);
  value = Required(headers, kType);
  if (!value.ok()) return value.status();
  event.type = *std::move(value);
  value = Required(headers, kTime);
  if (!value.ok()) return value.status();
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, *value, &event.time, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("CloudEvent header ", kTime, " \"", *value, "\" is not RFC 3339: ", err));
  }
  const std::string* content_type = Find(headers, kContentType);
  event.content_type = content_type != nullptr ? *content_type : "";
  return event;
}

}  // namespace k8i::kafka

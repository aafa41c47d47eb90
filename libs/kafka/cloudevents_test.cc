#include "libs/kafka/cloudevents.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::kafka {
namespace {

using ::testing::HasSubstr;

CloudEvent Sample() {
  CloudEvent e;
  e.id = "0123456789abcdef0123456789abcdef";
  e.source = "k8i://cluster/prod-eu-1/collector";
  e.type = "io.k8intel.metrics.v1.Batch";
  e.time = absl::FromUnixMillis(1714564800123);  // 2024-05-01T12:00:00.123Z
  return e;
}

const std::string* Get(const std::vector<Header>& headers, const std::string& key) {
  for (const Header& h : headers) {
    if (h.key == key) return &h.value;
  }
  return nullptr;
}

TEST(CloudEventsTest, HeadersFollowKafkaBinaryMode) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  ASSERT_EQ(headers.size(), 6u);
  EXPECT_EQ(*Get(headers, "ce_id"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(*Get(headers, "ce_source"), "k8i://cluster/prod-eu-1/collector");
  EXPECT_EQ(*Get(headers, "ce_type"), "io.k8intel.metrics.v1.Batch");
  EXPECT_EQ(*Get(headers, "ce_specversion"), "1.0");
  EXPECT_EQ(*Get(headers, "ce_time"), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(*Get(headers, "content-type"), "application/protobuf");
}

TEST(CloudEventsTest, RoundTrip) {
  CloudEvent in = Sample();
  in.content_type = "application/json";
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(CloudEventHeaders(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->id, in.id);
  EXPECT_EQ(out->source, in.source);
  EXPECT_EQ(out->type, in.type);
  EXPECT_EQ(out->time, in.time);
  EXPECT_EQ(out->content_type, "application/json");
}

TEST(CloudEventsTest, TimeIsTruncatedToMilliseconds) {
  CloudEvent in = Sample();
  in.time += absl::Microseconds(456);
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(CloudEventHeaders(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->time, absl::FromUnixMillis(1714564800123));
}

TEST(CloudEventsTest, IgnoresExtensionsAndFirstDuplicateWins) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  headers.push_back({"ce_tenant", "acme"});
  headers.push_back({"ce_id", "second"});
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->id, Sample().id);
}

TEST(CloudEventsTest, ContentTypeIsOptional) {
  CloudEvent in = Sample();
  in.content_type.clear();
  std::vector<Header> headers = CloudEventHeaders(in);
  EXPECT_EQ(Get(headers, "content-type"), nullptr);
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->content_type, "");
}

TEST(CloudEventsTest, AcceptsRfc3339WithOffset) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  for (Header& h : headers) {
    if (h.key == "ce_time") h.value = "2024-05-01T14:00:00.123+02:00";
  }
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->time, Sample().time);
}

class MissingHeaderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MissingHeaderTest, NamesTheMissingHeader) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [](const Header& h) { return h.key == GetParam(); }),
                headers.end());
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
  EXPECT_THAT(out.status().message(), HasSubstr(GetParam()));
  EXPECT_THAT(out.status().message(), HasSubstr("missing"));
}

TEST_P(MissingHeaderTest, NamesTheEmptyHeader) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  for (Header& h : headers) {
    if (h.key == GetParam()) h.value.clear();
  }
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
  EXPECT_THAT(out.status().message(), HasSubstr(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Required, MissingHeaderTest,
                         ::testing::Values("ce_id", "ce_source", "ce_type", "ce_specversion",
                                           "ce_time"));

struct BadHeaderCase {
  std::string key;
  std::string value;
};

class BadHeaderTest : public ::testing::TestWithParam<BadHeaderCase> {};

TEST_P(BadHeaderTest, NamesTheBadHeader) {
  std::vector<Header> headers = CloudEventHeaders(Sample());
  for (Header& h : headers) {
    if (h.key == GetParam().key) h.value = GetParam().value;
  }
  absl::StatusOr<CloudEvent> out = ParseCloudEventHeaders(headers);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
  EXPECT_THAT(out.status().message(), HasSubstr(GetParam().key));
}

INSTANTIATE_TEST_SUITE_P(Values, BadHeaderTest,
                         ::testing::Values(BadHeaderCase{"ce_specversion", "0.3"},
                                           BadHeaderCase{"ce_time", "yesterday"},
                                           BadHeaderCase{"ce_time", "2024-05-01 12:00:00"}));

}  // namespace
}  // namespace k8i::kafka

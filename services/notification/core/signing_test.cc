// Signatures: the Standard Webhooks example from its specification, round trips, rotation,
// replay windows and tampering — table-driven where there are cases.
#include "services/notification/core/signing.h"

#include "gtest/gtest.h"

namespace k8i::notification {
namespace {

TEST(StandardWebhooksTest, MatchesTheSpecificationsExample) {
  auto key = ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(StandardWebhookSignature({*key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                     R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(StandardWebhooksTest, RotationSignsWithEveryKeyAndReceiversAcceptEither) {
  const std::string a = *ParseWebhookSecret(NewWebhookSecret());
  const std::string b = *ParseWebhookSecret(NewWebhookSecret());
  ASSERT_NE(a, b);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::string header = StandardWebhookSignature({a, b}, "id-1", 1'800'000'000, "{}");
  EXPECT_EQ(std::count(header.begin(), header.end(), ' '), 1);
  EXPECT_TRUE(VerifyStandardWebhook(a, "id-1", "1800000000", "{}", header, now).ok());
  EXPECT_TRUE(VerifyStandardWebhook(b, "id-1", "1800000000", "{}", header, now).ok());
  struct Case {
    const char* name;
    const char* id;
    const char* ts;
    const char* body;
    absl::Time now;
  };
  for (const Case& c : std::vector<Case>{
           {"other body", "id-1", "1800000000", "{ }", now},
           {"other id", "id-2", "1800000000", "{}", now},
           {"other timestamp", "id-1", "1800000001", "{}", now},
           {"replayed later", "id-1", "1800000000", "{}", now + absl::Minutes(6)},
           {"timestamp not a number", "id-1", "soon", "{}", now},
       }) {
    EXPECT_FALSE(VerifyStandardWebhook(a, c.id, c.ts, c.body, header, c.now).ok()) << c.name;
  }
}

TEST(StandardWebhooksTest, BadSecretsAreRefused) {
  for (const char* s : {"", "whsec_", "whsec_!!!", "whsec_c2hvcnQ="}) {
    EXPECT_FALSE(ParseWebhookSecret(s).ok()) << s;
  }
  EXPECT_EQ(NewWebhookSecret().substr(0, 6), "whsec_");
}

TEST(SlackSigningTest, VerifiesAndRefusesTamperingAndReplays) {
  const absl::Time now = absl::FromUnixSeconds(1'531'420'618);
  const std::string body = "payload=%7B%22type%22%3A%22block_actions%22%7D";
  const std::string sig = SlackSignature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body);
  EXPECT_EQ(sig.substr(0, 3), "v0=");
  EXPECT_EQ(sig.size(), 3u + 64u);
  EXPECT_TRUE(VerifySlack("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body, sig, now).ok());
  EXPECT_FALSE(VerifySlack("other-secret", "1531420618", body, sig, now).ok());
  EXPECT_FALSE(VerifySlack("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body + "x", sig, now).ok());
  EXPECT_FALSE(VerifySlack("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body, sig,
                           now + absl::Minutes(6))
                   .ok());
}

TEST(PagerDutySigningTest, AnyOfSeveralSignaturesMayMatch) {
  const std::string body = R"({"event":{"event_type":"incident.acknowledged"}})";
  const std::string good = PagerDutySignature("secret-new", body);
  EXPECT_TRUE(VerifyPagerDuty("secret-new", body, good).ok());
  EXPECT_TRUE(
      VerifyPagerDuty("secret-new", body, PagerDutySignature("secret-old", body) + "," + good).ok());
  EXPECT_FALSE(VerifyPagerDuty("secret-new", body, PagerDutySignature("secret-old", body)).ok());
  EXPECT_FALSE(VerifyPagerDuty("secret-new", body + " ", good).ok());
  EXPECT_FALSE(VerifyPagerDuty("secret-new", body, "").ok());
}

}  // namespace
}  // namespace k8i::notification

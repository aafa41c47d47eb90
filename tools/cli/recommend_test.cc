#include "tools/cli/recommend.h"

#include "absl/strings/match.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

v1::Recommendation Prediction(const std::string& title, v1::Severity sev, absl::Time when) {
  v1::Recommendation r;
  r.set_name("recommendations/" + title);
  r.set_title(title);
  r.set_severity(sev);
  r.set_command("kubectl fix " + title);
  *r.mutable_predicted_time() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(when));
  return r;
}

TEST(RecommendFormatTest, PredictionsRankedWithinTheHorizon) {
  const absl::Time now = absl::FromUnixSeconds(1'794'312'000);
  const std::vector<v1::Recommendation> recs = {
      Prediction("later", v1::SEVERITY_WARNING, now + absl::Hours(50)),
      Prediction("sooner", v1::SEVERITY_WARNING, now + absl::Hours(5)),
      Prediction("critical", v1::SEVERITY_CRITICAL, now + absl::Hours(60)),
      Prediction("beyond", v1::SEVERITY_CRITICAL, now + absl::Hours(24 * 9)),
  };
  const std::string out = FormatPredictions(recs, now, absl::Hours(24 * 7));
  EXPECT_TRUE(absl::StartsWith(out, "3 preventable failure(s) in the next 168h")) << out;
  const size_t c = out.find("1. CRITICAL critical"), s = out.find("2. WARNING  sooner"),
               l = out.find("3. WARNING  later");
  EXPECT_NE(c, std::string::npos) << out;
  EXPECT_LT(c, s);
  EXPECT_LT(s, l);
  EXPECT_EQ(out.find("beyond"), std::string::npos);
  EXPECT_TRUE(absl::StrContains(out, "FIX:  kubectl fix sooner")) << out;
}

TEST(RecommendFormatTest, SavingsAddUp) {
  v1::Recommendation a, b;
  a.set_title("a");
  a.set_monthly_impact(10.5);
  b.set_title("b");
  b.set_monthly_impact(2.25);
  EXPECT_TRUE(absl::StrContains(FormatRecommendations({a, b}), "potential savings: $12.75/month"));
}

}  // namespace
}  // namespace k8i::cli

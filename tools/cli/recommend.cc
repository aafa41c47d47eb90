#include "tools/cli/recommend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/recommendations.grpc.pb.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

const char* Sev(v1::Severity s) {
  switch (s) {
    case v1::SEVERITY_CRITICAL: return "CRITICAL";
    case v1::SEVERITY_WARNING: return "WARNING";
    default: return "INFO";
  }
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

absl::Time When(const v1::Recommendation& r) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(r.predicted_time()));
}

}  // namespace

std::string FormatRecommendation(const v1::Recommendation& r) {
  std::string out = absl::StrFormat("%-8s %s\n", Sev(r.severity()), r.title());
  absl::StrAppend(&out, "         ", r.name(), "  ", r.kind(), "/", r.rule(), "  cluster ",
                  r.cluster(), r.has_predicted_time() ? absl::StrCat("  at ", FormatTime(r.predicted_time())) : "",
                  r.confidence() > 0 ? absl::StrFormat("  confidence %.0f%%", r.confidence() * 100) : "",
                  "\n");
  for (const auto& e : r.evidence()) absl::StrAppend(&out, "         - ", e, "\n");
  if (!r.arithmetic().empty()) absl::StrAppend(&out, "         = ", r.arithmetic(), "\n");
  if (!r.command().empty()) absl::StrAppend(&out, "   FIX:  ", r.command(), "\n");
  if (r.state() == v1::RECOMMENDATION_STATE_DISMISSED) {
    absl::StrAppend(&out, "         dismissed by ", r.dismissed_by(), ": ", r.dismiss_reason(), "\n");
  }
  return out;
}

std::string FormatRecommendations(const std::vector<v1::Recommendation>& recs) {
  std::string out;
  double saved = 0;
  for (const auto& r : recs) {
    absl::StrAppend(&out, FormatRecommendation(r), "\n");
    if (r.monthly_impact() > 0) saved += r.monthly_impact();
  }
  if (saved > 0) absl::StrAppend(&out, absl::StrFormat("potential savings: $%.2f/month\n", saved));
  return out;
}

std::string FormatPredictions(const std::vector<v1::Recommendation>& recs, absl::Time now,
                              absl::Duration horizon) {
  std::vector<const v1::Recommendation*> soon;
  for (const auto& r : recs) {
    if (r.has_predicted_time() && When(r) <= now + horizon) soon.push_back(&r);
  }
  std::stable_sort(soon.begin(), soon.end(), [](const auto* a, const auto* b) {
    if (a->severity() != b->severity()) return a->severity() > b->severity();
    return When(*a) < When(*b);
  });
  std::string out = absl::StrFormat("%d preventable failure(s) in the next %s\n\n", soon.size(),
                                    absl::FormatDuration(horizon));
  int i = 0;
  for (const auto* r : soon) absl::StrAppend(&out, ++i, ". ", FormatRecommendation(*r), "\n");
  return out;
}

RecommendCommands::RecommendCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  recommend_ = app.add_subcommand("recommend", "advice with its $ impact and the command that fixes it");
  recommend_->add_option("--kind", kind_,
                         "rightsizing, stability, disk-full, memory-leak, certificate-expiry, "
                         "capacity or forecast");
  recommend_->add_option("--cluster", cluster_, "one cluster");
  recommend_->add_option("-n,--namespace", namespace_, "one namespace");
  recommend_->add_option("--filter", filter_, "AIP-160 filter (replaces the flags above)");
  recommend_->add_flag("--all", all_states_, "dismissed and resolved ones too");
  recommend_->add_option("-o,--output", output_, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  recommend_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  show_ = recommend_->add_subcommand("show", "one recommendation");
  show_->add_option("name", name_, "recommendations/{id}")->required();
  dismiss_ = recommend_->add_subcommand("dismiss", "dismiss one, with a reason (operator)");
  dismiss_->add_option("name", name_, "recommendations/{id}")->required();
  dismiss_->add_option("--reason", reason_, "why it does not apply")->required();
  predict_ = app.add_subcommand("predict", "preventable failures in the next days, ranked");
  predict_->add_option("--days", days_, "horizon in days (default 7)");
  predict_->add_option("--cluster", cluster_, "one cluster");
  predict_->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
}

int RecommendCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*recommend_ && !*predict_) return -1;
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  auto channel = connect();
  if (!channel) return 2;
  using Stub = v1::RecommendationService::Stub;
  Session<Stub> s(v1::RecommendationService::NewStub(channel), api_key_);
  if (*show_) {
    v1::GetRecommendationRequest req;
    req.set_name(name_);
    v1::GetRecommendationResponse resp;
    if (auto st = s.Call(&Stub::GetRecommendation, req, &resp); !st.ok()) return Error(st);
    std::cout << FormatRecommendation(resp.recommendation());
    return 0;
  }
  if (*dismiss_) {
    v1::DismissRecommendationRequest req;
    req.set_name(name_);
    req.set_reason(reason_);
    v1::DismissRecommendationResponse resp;
    if (auto st = s.Call(&Stub::DismissRecommendation, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.recommendation().name() << " dismissed\n";
    return 0;
  }
  std::vector<std::string> conds;
  if (*predict_) {
    conds.push_back("state = \"open\"");
  } else if (!filter_.empty()) {
    conds.push_back(filter_);
  } else {
    if (!all_states_) conds.push_back("state = \"open\"");
    if (!kind_.empty()) conds.push_back(absl::StrCat("kind = ", Quote(kind_)));
    if (!namespace_.empty()) conds.push_back(absl::StrCat("namespace = ", Quote(namespace_)));
  }
  v1::ListRecommendationsRequest req;
  req.set_parent(cluster_.empty() ? "clusters/-" : absl::StrCat("clusters/", cluster_));
  req.set_filter(conds.empty() ? "state != \"\"" : absl::StrJoin(conds, " AND "));
  req.set_page_size(1000);
  std::vector<v1::Recommendation> all;
  for (;;) {
    v1::ListRecommendationsResponse resp;
    if (auto st = s.Call(&Stub::ListRecommendations, req, &resp); !st.ok()) return Error(st);
    for (auto& r : *resp.mutable_recommendations()) all.push_back(std::move(r));
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (*predict_) {
    std::cout << FormatPredictions(all, absl::Now(), absl::Hours(24 * std::clamp(days_, 1, 365)));
    return 0;
  }
  if (output_ == "json") {
    v1::ListRecommendationsResponse resp;
    for (auto& r : all) *resp.add_recommendations() = r;
    PrintJson(resp);
  } else if (all.empty()) {
    std::cerr << "no recommendations\n";
  } else {
    std::cout << FormatRecommendations(all);
  }
  return 0;
}

}  // namespace k8i::cli

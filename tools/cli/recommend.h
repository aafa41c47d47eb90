// k8i recommend and k8i predict (RecommendationService): advice with its $ impact and fix, and
// "preventable failures in the next 7 days", ranked, each with its FIX command; k8i recommend
// show and dismiss.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/recommendations.pb.h"

namespace k8i::cli {

// FormatRecommendations: one block per recommendation (severity, title, then FIX).
std::string FormatRecommendations(const std::vector<k8intel::v1::Recommendation>& recs);
// FormatPredictions: the predictions within `horizon` of `now`, most severe first, then
// soonest, numbered.
std::string FormatPredictions(const std::vector<k8intel::v1::Recommendation>& recs,
                              absl::Time now, absl::Duration horizon);
std::string FormatRecommendation(const k8intel::v1::Recommendation& r);

class RecommendCommands {
 public:
  explicit RecommendCommands(CLI::App& app);
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App *recommend_ = nullptr, *show_ = nullptr, *dismiss_ = nullptr, *predict_ = nullptr;
  std::string api_key_, kind_, cluster_, namespace_, filter_, output_ = "table", name_, reason_;
  int days_ = 7;
  bool all_states_ = false;
};

}  // namespace k8i::cli

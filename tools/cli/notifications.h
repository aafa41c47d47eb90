// `k8i channels [create|delete|test|rotate-secret]`, `k8i routes [create|delete]`, `k8i deliveries`:
// NotificationService from the command line, authenticated with an API key (K8I_API_KEY).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/notifications.pb.h"

namespace k8i::cli {

// ParseMuteWindow reads "mon-fri 22:00-06:00" (days: mon..sun, ranges and commas; times UTC).
absl::StatusOr<k8intel::v1::MuteWindow> ParseMuteWindow(const std::string& text);

// Tables as shown: CHANNEL, TYPE, TARGET, RATE, CREATED / ROUTE, POS, MATCH, CHANNELS, MUTED /
// DELIVERY, INCIDENT, SEQ, CHANGE, CHANNEL, STATE, ATTEMPTS, LAST.
std::string FormatChannels(const std::vector<k8intel::v1::Channel>& channels);
std::string FormatRoutes(const std::vector<k8intel::v1::Route>& routes);
std::string FormatDeliveries(const std::vector<k8intel::v1::Delivery>& deliveries);

class NotificationCommands {
 public:
  explicit NotificationCommands(CLI::App& app);
  // Run executes the parsed subcommand (-1 when none of these was parsed).
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* channels_ = nullptr;
  CLI::App* channel_create_ = nullptr;
  CLI::App* channel_update_ = nullptr;
  CLI::App* channel_delete_ = nullptr;
  CLI::App* channel_test_ = nullptr;
  CLI::App* channel_rotate_ = nullptr;
  CLI::App* routes_ = nullptr;
  CLI::App* route_create_ = nullptr;
  CLI::App* route_update_ = nullptr;
  CLI::App* route_delete_ = nullptr;
  CLI::App* deliveries_ = nullptr;
  std::string api_key_, id_, type_, url_, routing_key_, inbound_secret_, display_name_,
      min_severity_, state_, interactive_text_,
      incident_, output_ = "table";
  std::vector<std::string> channel_ids_, clusters_, namespaces_, kinds_, mutes_, labels_;
  double rate_ = 0;
  bool interactive_ = false, is_default_ = false, continue_ = false, all_ = false,
       drop_previous_ = false;
  int position_ = 0, page_size_ = 0;
};

}  // namespace k8i::cli

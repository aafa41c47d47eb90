#include "tools/cli/notifications.h"

#include <map>

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "k8intel/v1/notifications.grpc.pb.h"
#include "tools/cli/cli_util.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;
using Stub = v1::NotificationService::Stub;
using NotifySession = cli::Session<Stub>;

std::string EnumName(const std::string& full, const std::string& prefix) {
  return absl::AsciiStrToLower(absl::StartsWith(full, prefix) ? full.substr(prefix.size()) : full);
}

std::string WithPrefix(const std::string& id, const std::string& collection) {
  return absl::StartsWith(id, collection + "/") ? id : collection + "/" + id;
}

int Day(absl::string_view d) {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (int i = 0; i < 7; ++i) {
    if (absl::AsciiStrToLower(d) == kDays[i]) return i;
  }
  return -1;
}

int Minute(absl::string_view hhmm) {
  std::vector<absl::string_view> p = absl::StrSplit(hhmm, ':');
  int h = 0, m = 0;
  if (p.size() != 2 || !absl::SimpleAtoi(p[0], &h) || !absl::SimpleAtoi(p[1], &m) || h < 0 ||
      h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) {
    return -1;
  }
  return h * 60 + m;
}

std::string MuteText(const v1::MuteWindow& m) {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  std::vector<std::string> days;
  for (int d : m.days()) days.push_back(d >= 0 && d < 7 ? kDays[d] : "?");
  auto t = [](int minute) { return absl::StrFormat("%02d:%02d", minute / 60, minute % 60); };
  return absl::StrCat(absl::StrJoin(days, ","), " ", t(m.start_minute()), "-", t(m.end_minute()));
}

}  // namespace

absl::StatusOr<v1::MuteWindow> ParseMuteWindow(const std::string& text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  const auto bad = absl::InvalidArgumentError(
      absl::StrCat("mute window \"", text, "\": want DAYS HH:MM-HH:MM, e.g. \"mon-fri 22:00-06:00\""));
  if (parts.size() != 2) return bad;
  v1::MuteWindow w;
  for (absl::string_view item : absl::StrSplit(parts[0], ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(item, '-');
    const int from = Day(range[0]), to = range.size() == 2 ? Day(range[1]) : from;
    if (range.size() > 2 || from < 0 || to < 0) return bad;
    for (int d = from;; d = (d + 1) % 7) {
      w.add_days(d);
      if (d == to) break;
    }
  }
  std::vector<absl::string_view> times = absl::StrSplit(parts[1], '-');
  if (times.size() != 2) return bad;
  const int start = Minute(times[0]), end = Minute(times[1]);
  if (start < 0 || end < 0 || start == end) return bad;
  w.set_start_minute(start);
  w.set_end_minute(end);
  return w;
}

std::string FormatChannels(const std::vector<v1::Channel>& channels) {
  std::vector<std::vector<std::string>> rows = {
      {"CHANNEL", "TYPE", "TARGET", "RATE", "INBOUND", "CREATED"}};
  for (const auto& c : channels) {
    rows.push_back({c.id(), EnumName(v1::ChannelType_Name(c.type()), "CHANNEL_TYPE_"),
                    c.secret_hint(),
                    c.rate_per_second() > 0 ? absl::StrCat(c.rate_per_second(), "/s") : "default",
                    c.inbound_path().empty() ? "-" : c.inbound_path(),
                    FormatTime(c.create_time())});
  }
  return FormatTable(rows);
}

std::string FormatRoutes(const std::vector<v1::Route>& routes) {
  std::vector<std::vector<std::string>> rows = {{"ROUTE", "POS", "MATCH", "CHANNELS", "MUTED"}};
  for (const auto& r : routes) {
    std::vector<std::string> match;
    if (r.is_default()) match.push_back("default");
    if (r.min_severity() != v1::SEVERITY_UNSPECIFIED) {
      match.push_back(absl::StrCat("severity>=", EnumName(v1::Severity_Name(r.min_severity()), "SEVERITY_")));
    }
    if (!r.clusters().empty()) match.push_back(absl::StrCat("cluster=", absl::StrJoin(r.clusters(), "|")));
    if (!r.namespaces().empty()) match.push_back(absl::StrCat("namespace=", absl::StrJoin(r.namespaces(), "|")));
    if (!r.kinds().empty()) match.push_back(absl::StrCat("kind=", absl::StrJoin(r.kinds(), "|")));
    // Sorted: a protobuf map's order is unspecified.
    for (const auto& [k, v] : std::map<std::string, std::string>(r.labels().begin(), r.labels().end())) {
      match.push_back(absl::StrCat("label:", k, "=", v));
    }
    if (r.continue_matching()) match.push_back("continue");
    std::vector<std::string> mutes;
    for (const auto& m : r.mutes()) mutes.push_back(MuteText(m));
    rows.push_back({r.id(), absl::StrCat(r.position()), match.empty() ? "everything" : absl::StrJoin(match, " "),
                    absl::StrJoin(r.channels(), ","), mutes.empty() ? "-" : absl::StrJoin(mutes, "; ")});
  }
  return FormatTable(rows);
}

std::string FormatDeliveries(const std::vector<v1::Delivery>& deliveries) {
  std::vector<std::vector<std::string>> rows = {
      {"DELIVERY", "INCIDENT", "SEQ", "CHANGE", "CHANNEL", "STATE", "ATTEMPTS", "LAST"}};
  for (const auto& d : deliveries) {
    const std::string last = d.attempts().empty() ? "-" : d.attempts(d.attempts_size() - 1).reason();
    rows.push_back({d.name().substr(d.name().find('/') + 1), d.incident_id(), absl::StrCat(d.sequence()),
                    EnumName(v1::IncidentChangeType_Name(d.change_type()), "INCIDENT_CHANGE_TYPE_"),
                    d.channel(), EnumName(v1::DeliveryState_Name(d.state()), "DELIVERY_STATE_"),
                    absl::StrCat(d.attempts_size()), last});
  }
  return FormatTable(rows);
}

NotificationCommands::NotificationCommands(CLI::App& app) {
  api_key_ = Env("K8I_API_KEY");
  channels_ = app.add_subcommand("channels", "notification channels (list; create, delete, test)");
  channel_create_ = channels_->add_subcommand("create", "add a channel (admin)");
  channel_create_->add_option("id", id_, "channel id ([a-z0-9-])")->required();
  channel_create_->add_option("--type", type_, "pagerduty, slack, teams or webhook")
      ->required()
      ->check(CLI::IsMember({"pagerduty", "slack", "teams", "webhook"}));
  channel_create_->add_option("--url", url_, "webhook URL (slack, teams, webhook); stored encrypted");
  channel_create_->add_option("--routing-key", routing_key_, "PagerDuty integration key; stored encrypted");
  channel_create_->add_option("--display-name", display_name_, "display name");
  channel_create_->add_option("--rate", rate_, "messages per second (default: the type's)");
  channel_create_->add_flag("--interactive", interactive_,
                            "take acknowledgements back: Slack buttons, PagerDuty webhooks");
  inbound_secret_ = Env("K8I_INBOUND_SECRET");
  channel_create_->add_option("--inbound-secret", inbound_secret_,
                              "with --interactive: the Slack app's signing secret or the PagerDuty "
                              "webhook subscription's secret (env K8I_INBOUND_SECRET); stored "
                              "encrypted");
  channel_delete_ = channels_->add_subcommand("delete", "delete a channel no route uses (admin)");
  channel_test_ = channels_->add_subcommand("test", "send a test message now (operator)");
  channel_rotate_ = channels_->add_subcommand(
      "rotate-secret", "a new webhook signing secret; the previous one keeps signing too (admin)");
  channel_rotate_->add_flag("--drop-previous", drop_previous_,
                            "sign with the new secret only (receivers have switched)");
  for (CLI::App* c : {channel_delete_, channel_test_, channel_rotate_}) {
    c->add_option("id", id_, "channel id or channels/{id}")->required();
  }
  channel_update_ = channels_->add_subcommand(
      "update", "change a channel's URL, key, name, rate or interactivity (admin)");
  channel_update_->add_option("id", id_, "channel id or channels/{id}")->required();
  channel_update_->add_option("--url", url_, "new webhook URL; stored encrypted");
  channel_update_->add_option("--routing-key", routing_key_, "new PagerDuty integration key");
  channel_update_->add_option("--display-name", display_name_, "display name");
  channel_update_->add_option("--rate", rate_, "messages per second (0: the type's default)");
  channel_update_->add_option("--interactive", interactive_text_, "take actions back: true or false")
      ->check(CLI::IsMember({"true", "false"}));
  channel_update_->add_option("--inbound-secret", inbound_secret_,
                              "new inbound signing secret (env K8I_INBOUND_SECRET is not read "
                              "here: give it to change it)");
  routes_ = app.add_subcommand("routes", "notification routes (list; create, update, delete)");
  route_create_ = routes_->add_subcommand("create", "add a route (admin)");
  route_update_ = routes_->add_subcommand(
      "update", "replace a route with the one these flags describe (admin)");
  for (CLI::App* c : {route_create_, route_update_}) {
    c->add_option("id", id_, "route id ([a-z0-9-]) or routes/{id}")->required();
    c->add_option("--channel", channel_ids_, "channel id (repeatable)")->required();
    c->add_option("--position", position_, "order among routes (lower first)");
    c->add_option("--min-severity", min_severity_, "info, warning or critical")
        ->check(CLI::IsMember({"info", "warning", "critical"}));
    c->add_option("--cluster", clusters_, "only these clusters (repeatable)");
    c->add_option("--namespace", namespaces_, "only these namespaces (repeatable)");
    c->add_option("--kind", kinds_, "only incidents about these kinds (repeatable)");
    c->add_option("--label", labels_,
                  "KEY=VALUE the incident's alerts all carry, e.g. team=payments (repeatable)");
    c->add_option("--mute", mutes_, "mute window, e.g. \"mon-fri 22:00-06:00\" (UTC)");
    c->add_flag("--default", is_default_, "takes what no other route takes");
    c->add_flag("--continue", continue_, "later routes may take the change too");
  }
  route_delete_ = routes_->add_subcommand("delete", "delete a route (admin)");
  route_delete_->add_option("id", id_, "route id or routes/{id}")->required();
  deliveries_ = app.add_subcommand("deliveries", "the delivery log, newest first");
  deliveries_->add_option("--channel", channel_ids_, "only this channel");
  deliveries_->add_option("--incident", incident_, "only this incident id");
  deliveries_->add_option("--state", state_, "pending, delivered, failed, dead_letter or muted")
      ->check(CLI::IsMember({"pending", "delivered", "failed", "dead_letter", "muted"}));
  deliveries_->add_option("--page-size", page_size_, "deliveries per page (default 50)");
  deliveries_->add_flag("--all", all_, "follow every page");
  for (CLI::App* c : {channels_, routes_, deliveries_}) {
    c->add_option("-o,--output", output_, "table or json")->check(CLI::IsMember({"table", "json"}));
  }
  for (CLI::App* c : {channels_, channel_create_, channel_update_, channel_delete_, channel_test_,
                      channel_rotate_, routes_, route_create_, route_update_, route_delete_,
                      deliveries_}) {
    c->add_option("--api-key", api_key_, "API key (env K8I_API_KEY)");
  }
}

int NotificationCommands::Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect) {
  if (!*channels_ && !*routes_ && !*deliveries_) return -1;
  if (api_key_.empty()) return Usage("no API key: set K8I_API_KEY (eval \"$(tools/dev env)\")");
  v1::CreateRouteRequest route_req;
  if (*route_create_ || *route_update_) {
    auto* r = route_req.mutable_route();
    for (const auto& m : mutes_) {
      auto w = ParseMuteWindow(m);
      if (!w.ok()) return Usage(w.status().message());
      *r->add_mutes() = *w;
    }
    route_req.set_route_id(id_);
    for (const auto& c : channel_ids_) r->add_channels(c);
    for (const auto& c : clusters_) r->add_clusters(c);
    for (const auto& n : namespaces_) r->add_namespaces(n);
    for (const auto& k : kinds_) r->add_kinds(k);
    for (const auto& l : labels_) {
      const size_t eq = l.find('=');
      if (eq == std::string::npos || eq == 0) return Usage(absl::StrCat("--label ", l, ": want KEY=VALUE"));
      (*r->mutable_labels())[l.substr(0, eq)] = l.substr(eq + 1);
    }
    r->set_position(position_);
    r->set_is_default(is_default_);
    r->set_continue_matching(continue_);
    if (!min_severity_.empty()) {
      v1::Severity sev = v1::SEVERITY_UNSPECIFIED;
      v1::Severity_Parse("SEVERITY_" + absl::AsciiStrToUpper(min_severity_), &sev);
      r->set_min_severity(sev);
    }
  }
  auto channel = connect();
  if (!channel) return 2;
  NotifySession session(v1::NotificationService::NewStub(channel), api_key_);

  if (*channel_create_) {
    v1::CreateChannelRequest req;
    req.set_channel_id(id_);
    auto* c = req.mutable_channel();
    v1::ChannelType type = v1::CHANNEL_TYPE_UNSPECIFIED;
    v1::ChannelType_Parse("CHANNEL_TYPE_" + absl::AsciiStrToUpper(type_), &type);
    c->set_type(type);
    c->set_url(url_);
    c->set_routing_key(routing_key_);
    c->set_display_name(display_name_);
    c->set_rate_per_second(rate_);
    c->set_interactive(interactive_);
    if (interactive_) c->set_inbound_secret(inbound_secret_);
    v1::CreateChannelResponse resp;
    if (auto st = session.Call(&Stub::CreateChannel, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.channel().name() << " created (" << resp.channel().secret_hint() << ")\n";
    if (!resp.channel().inbound_path().empty()) {
      std::cout << "point the "
                << (type_ == "slack" ? "Slack app's interactivity request URL"
                                     : "PagerDuty webhook subscription")
                << " at https://<k8i-notification inbound address>"
                << resp.channel().inbound_path() << "\n";
    }
    if (!resp.signing_secret().empty()) {
      std::cout << "signing secret (shown once; verify webhook-signature with it): "
                << resp.signing_secret() << "\n";
    }
    return 0;
  }
  if (*channel_update_) {
    v1::UpdateChannelRequest req;
    auto* c = req.mutable_channel();
    c->set_name(WithPrefix(id_, "channels"));
    auto* mask = req.mutable_update_mask();
    const auto given = [&](const char* flag) { return channel_update_->count(flag) > 0; };
    if (given("--url")) c->set_url(url_), mask->add_paths("url");
    if (given("--routing-key")) c->set_routing_key(routing_key_), mask->add_paths("routing_key");
    if (given("--display-name")) c->set_display_name(display_name_), mask->add_paths("display_name");
    if (given("--rate")) c->set_rate_per_second(rate_), mask->add_paths("rate_per_second");
    if (given("--interactive")) c->set_interactive(interactive_text_ == "true"), mask->add_paths("interactive");
    if (given("--inbound-secret")) c->set_inbound_secret(inbound_secret_), mask->add_paths("inbound_secret");
    if (mask->paths().empty()) return Usage("nothing to change: give --url, --routing-key, --display-name, --rate, --interactive or --inbound-secret");
    v1::UpdateChannelResponse resp;
    if (auto st = session.Call(&Stub::UpdateChannel, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.channel().name() << " updated (" << resp.channel().secret_hint() << ")\n";
    return 0;
  }
  if (*channel_rotate_) {
    v1::RotateSigningSecretRequest req;
    req.set_name(WithPrefix(id_, "channels"));
    req.set_drop_previous(drop_previous_);
    v1::RotateSigningSecretResponse resp;
    if (auto st = session.Call(&Stub::RotateSigningSecret, req, &resp); !st.ok()) return Error(st);
    std::cout << "new signing secret (shown once): " << resp.signing_secret() << "\n"
              << resp.active_secrets() << (resp.active_secrets() == 1 ? " secret signs" : " secrets sign")
              << " each delivery\n";
    return 0;
  }
  if (*channel_delete_ || *channel_test_) {
    const std::string name = WithPrefix(id_, "channels");
    if (*channel_delete_) {
      v1::DeleteChannelRequest req;
      req.set_name(name);
      v1::DeleteChannelResponse resp;
      if (auto st = session.Call(&Stub::DeleteChannel, req, &resp); !st.ok()) return Error(st);
      std::cout << name << " deleted\n";
      return 0;
    }
    v1::TestChannelRequest req;
    req.set_name(name);
    v1::TestChannelResponse resp;
    if (auto st = session.Call(&Stub::TestChannel, req, &resp); !st.ok()) return Error(st);
    const auto& a = resp.attempt();
    std::cout << name << ": " << a.reason() << " in " << a.duration_ms() << " ms\n";
    return a.status() >= 200 && a.status() < 300 ? 0 : 1;
  }
  if (*channels_) {
    v1::ListChannelsResponse resp;
    if (auto st = session.Call(&Stub::ListChannels, v1::ListChannelsRequest(), &resp); !st.ok()) {
      return Error(st);
    }
    if (output_ == "json") {
      PrintJson(resp);
    } else if (resp.channels().empty()) {
      std::cerr << "no channels\n";
    } else {
      std::cout << FormatChannels({resp.channels().begin(), resp.channels().end()});
    }
    return 0;
  }
  if (*route_create_) {
    v1::CreateRouteResponse resp;
    if (auto st = session.Call(&Stub::CreateRoute, route_req, &resp); !st.ok()) return Error(st);
    std::cout << resp.route().name() << " created\n";
    return 0;
  }
  if (*route_update_) {
    v1::UpdateRouteRequest req;
    *req.mutable_route() = route_req.route();
    req.mutable_route()->set_name(WithPrefix(id_, "routes"));
    v1::UpdateRouteResponse resp;
    if (auto st = session.Call(&Stub::UpdateRoute, req, &resp); !st.ok()) return Error(st);
    std::cout << resp.route().name() << " updated\n";
    return 0;
  }
  if (*route_delete_) {
    v1::DeleteRouteRequest req;
    req.set_name(WithPrefix(id_, "routes"));
    v1::DeleteRouteResponse resp;
    if (auto st = session.Call(&Stub::DeleteRoute, req, &resp); !st.ok()) return Error(st);
    std::cout << req.name() << " deleted\n";
    return 0;
  }
  if (*routes_) {
    v1::ListRoutesResponse resp;
    if (auto st = session.Call(&Stub::ListRoutes, v1::ListRoutesRequest(), &resp); !st.ok()) {
      return Error(st);
    }
    if (output_ == "json") {
      PrintJson(resp);
    } else if (resp.routes().empty()) {
      std::cerr << "no routes\n";
    } else {
      std::cout << FormatRoutes({resp.routes().begin(), resp.routes().end()});
    }
    return 0;
  }
  v1::ListDeliveriesRequest req;
  if (!channel_ids_.empty()) req.set_channel(channel_ids_.front());
  req.set_incident_id(incident_);
  if (!state_.empty()) {
    v1::DeliveryState st = v1::DELIVERY_STATE_UNSPECIFIED;
    v1::DeliveryState_Parse("DELIVERY_STATE_" + absl::AsciiStrToUpper(state_), &st);
    req.set_state(st);
  }
  req.set_page_size(page_size_);
  std::vector<v1::Delivery> all;
  for (;;) {
    v1::ListDeliveriesResponse resp;
    if (auto st = session.Call(&Stub::ListDeliveries, req, &resp); !st.ok()) return Error(st);
    all.insert(all.end(), resp.deliveries().begin(), resp.deliveries().end());
    if (resp.next_page_token().empty()) break;
    if (!all_) {
      std::cerr << "(" << all.size() << " newest shown; --all for every page)\n";
      break;
    }
    req.set_page_token(resp.next_page_token());
  }
  if (output_ == "json") {
    for (const auto& d : all) PrintJson(d);
  } else if (all.empty()) {
    std::cerr << "no deliveries\n";
  } else {
    std::cout << FormatDeliveries(all);
  }
  return 0;
}

}  // namespace k8i::cli

// Routing of incident state changes to channels (pure). A tenant's routes are tried in order;
// the first whose matchers all hold takes the change (unless it says `continue`, then later
// ones may take it too); a change no route takes goes to the default route's channels. Empty
// matchers match everything. A route's mute windows (weekly, UTC) hold its deliveries back:
// the change is recorded as muted, not sent. Changes with `notify = false` (flapping
// incidents' repeats) are not routed at all.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "k8intel/v1/incidents.pb.h"

namespace k8i::notification {

// Weekly window, UTC: on `days` (0 = Monday), from `start` to `end` minutes after midnight
// (end < start spans midnight into the next day).
struct MuteWindow {
  std::set<int> days;
  int start_minute = 0;
  int end_minute = 0;
  bool Covers(absl::Time t) const;
};

struct Route {
  std::string name;
  k8intel::v1::Severity min_severity = k8intel::v1::SEVERITY_UNSPECIFIED;
  std::set<std::string> clusters;
  std::set<std::string> namespaces;  // the incident subject's namespace
  std::set<std::string> kinds;       // the incident subject's kind (Deployment, Node, ...)
  std::set<k8intel::v1::IncidentScope> scopes;
  // Each must be among the incident's labels (those every member alert shares), equal.
  std::map<std::string, std::string> labels;
  std::vector<std::string> channels;
  std::vector<MuteWindow> mutes;
  bool continue_matching = false;
  bool is_default = false;  // at most one; takes what no other route took
};

// ValidateRoutes: names unique and non-empty, at most one default, every route with a channel,
// mute windows within a day. InvalidArgument naming the route.
absl::Status ValidateRoutes(const std::vector<Route>& routes);

struct Routed {
  std::string route;    // the route that took it ("" when none and no default)
  std::string channel;
  bool muted = false;   // held back by the route's mute window
};

// RouteEvent returns each channel the change goes to (a channel once, by its first route), in
// route order. Empty when the change is not to be notified. `earlier` are the (route, channel)
// pairs earlier changes of the incident went to: they get this one too, after the routes'
// own (muted by that route's windows while it exists) — so whoever got "opened" gets
// "resolved", even after the incident's labels or severity changed, or a route did (and a
// PagerDuty incident triggered is always resolved).
std::vector<Routed> RouteEvent(const std::vector<Route>& routes,
                               const k8intel::v1::IncidentEvent& event,
                               const std::vector<std::pair<std::string, std::string>>& earlier = {});

}  // namespace k8i::notification

// Routing: first match, continue, the default route, severity floors, mute windows.
#include "services/notification/core/routes.h"

#include <map>

#include "gtest/gtest.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

// Monday 2026-11-30 at hh:mm UTC.
absl::Time Monday(int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(2026, 11, 30, hh, mm), absl::UTCTimeZone());
}

v1::IncidentEvent Event(v1::Severity sev, const std::string& cluster, const std::string& ns,
                        const std::string& kind, absl::Time at, bool notify = true,
                        std::map<std::string, std::string> labels = {}) {
  v1::IncidentEvent e;
  e.mutable_incident()->mutable_labels()->insert(labels.begin(), labels.end());
  e.mutable_change()->set_notify(notify);
  e.mutable_change()->mutable_time()->set_seconds(absl::ToUnixSeconds(at));
  e.mutable_incident()->set_severity(sev);
  e.mutable_incident()->set_cluster(cluster);
  e.mutable_incident()->mutable_subject()->set_namespace_(ns);
  e.mutable_incident()->mutable_subject()->set_kind(kind);
  return e;
}

std::vector<Route> Routes() {
  Route pager{.name = "prod-critical",
              .min_severity = v1::SEVERITY_CRITICAL,
              .clusters = {"prod"},
              .channels = {"pagerduty"},
              .continue_matching = true};
  Route team{.name = "team-search",
             .labels = {{"team", "search"}, {"tier", "1"}},
             .channels = {"slack-search"}};
  Route payments{.name = "payments", .namespaces = {"payments"}, .channels = {"slack-payments"}};
  Route nodes{.name = "nodes",
              .kinds = {"Node"},
              .channels = {"slack-infra"},
              .mutes = {{.days = {0, 1, 2, 3, 4}, .start_minute = 22 * 60, .end_minute = 6 * 60}}};
  Route fallback{.name = "everything-else", .channels = {"slack-alerts"}, .is_default = true};
  return {pager, team, payments, nodes, fallback};
}

std::vector<std::string> Channels(const std::vector<Routed>& r) {
  std::vector<std::string> out;
  for (const auto& x : r) out.push_back(x.channel + (x.muted ? " (muted)" : ""));
  return out;
}

TEST(RoutesTest, Table) {
  struct Case {
    const char* name;
    v1::IncidentEvent event;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"critical in prod pages and continues to the namespace route",
       Event(v1::SEVERITY_CRITICAL, "prod", "payments", "Deployment", Monday(12, 0)),
       {"pagerduty", "slack-payments"}},
      {"a warning in prod is not paged", Event(v1::SEVERITY_WARNING, "prod", "payments", "Deployment", Monday(12, 0)),
       {"slack-payments"}},
      {"critical in staging is not paged", Event(v1::SEVERITY_CRITICAL, "staging", "shop", "Deployment", Monday(12, 0)),
       {"slack-alerts"}},
      {"nothing matched: the default route", Event(v1::SEVERITY_INFO, "dev", "shop", "Pod", Monday(12, 0)),
       {"slack-alerts"}},
      {"node incidents at night are muted", Event(v1::SEVERITY_WARNING, "dev", "", "Node", Monday(23, 30)),
       {"slack-infra (muted)"}},
      {"the mute window spans midnight into Tuesday", Event(v1::SEVERITY_WARNING, "dev", "", "Node", Monday(24 + 5, 59)),
       {"slack-infra (muted)"}},
      {"and ends at 06:00", Event(v1::SEVERITY_WARNING, "dev", "", "Node", Monday(24 + 6, 0)), {"slack-infra"}},
      {"Saturday night is not in the window",
       Event(v1::SEVERITY_WARNING, "dev", "", "Node", Monday(24 * 5 + 23, 0)), {"slack-infra"}},
      {"the team's labels take it", Event(v1::SEVERITY_INFO, "dev", "shop", "Pod", Monday(12, 0), true,
                                           {{"team", "search"}, {"tier", "1"}, {"app", "web"}}),
       {"slack-search"}},
      {"every label must match", Event(v1::SEVERITY_INFO, "dev", "shop", "Pod", Monday(12, 0), true,
                                       {{"team", "search"}, {"tier", "2"}}),
       {"slack-alerts"}},
      {"a missing label does not match", Event(v1::SEVERITY_INFO, "dev", "shop", "Pod", Monday(12, 0), true,
                                               {{"team", "search"}}),
       {"slack-alerts"}},
      {"changes not to be notified are not routed",
       Event(v1::SEVERITY_CRITICAL, "prod", "payments", "Deployment", Monday(12, 0), false), {}},
  };
  const auto routes = Routes();
  ASSERT_TRUE(ValidateRoutes(routes).ok());
  for (const auto& c : cases) {
    EXPECT_EQ(Channels(RouteEvent(routes, c.event)), c.want) << c.name;
  }
}

Route& Named(std::vector<Route>& routes, const std::string& name) {
  for (auto& r : routes) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no route " << name;
  return routes.front();
}

TEST(RoutesTest, LaterChangesFollowWhereEarlierOnesWent) {
  const auto routes = Routes();
  // Opened as a critical prod incident: paged. Now a warning: the pager route no longer
  // matches, but the page must be resolved where it was raised.
  auto e = Event(v1::SEVERITY_WARNING, "prod", "payments", "Deployment", Monday(12, 0));
  EXPECT_EQ(Channels(RouteEvent(routes, e, {{"prod-critical", "pagerduty"}})),
            (std::vector<std::string>{"slack-payments", "pagerduty"}));
  // A channel the routes also give is not sent twice; a deleted route still gets follow-ups.
  EXPECT_EQ(Channels(RouteEvent(routes, e, {{"payments", "slack-payments"}, {"gone", "old-hook"}})),
            (std::vector<std::string>{"slack-payments", "old-hook"}));
  // Its route's mute window still holds it back.
  auto night = Event(v1::SEVERITY_WARNING, "dev", "shop", "Deployment", Monday(23, 0));
  EXPECT_EQ(Channels(RouteEvent(routes, night, {{"nodes", "slack-infra"}})),
            (std::vector<std::string>{"slack-alerts", "slack-infra (muted)"}));
  // Not-notified changes go nowhere, earlier channels or not.
  auto quiet = Event(v1::SEVERITY_WARNING, "prod", "payments", "Deployment", Monday(12, 0), false);
  EXPECT_TRUE(RouteEvent(routes, quiet, {{"prod-critical", "pagerduty"}}).empty());
}

TEST(RoutesTest, Validation) {
  auto routes = Routes();
  routes.push_back(routes.back());  // a second default with the same name
  EXPECT_FALSE(ValidateRoutes(routes).ok());
  routes = Routes();
  Named(routes, "payments").channels.clear();
  EXPECT_FALSE(ValidateRoutes(routes).ok());
  routes = Routes();
  ASSERT_EQ(Named(routes, "nodes").mutes.size(), 1u);
  Named(routes, "nodes").mutes[0].days = {7};
  EXPECT_FALSE(ValidateRoutes(routes).ok());
  routes = Routes();
  Named(routes, "nodes").mutes[0].end_minute = Named(routes, "nodes").mutes[0].start_minute;
  EXPECT_FALSE(ValidateRoutes(routes).ok());
}

}  // namespace
}  // namespace k8i::notification

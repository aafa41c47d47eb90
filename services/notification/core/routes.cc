#include "services/notification/core/routes.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;

bool Matches(const Route& r, const v1::Incident& inc) {
  if (inc.severity() < r.min_severity) return false;
  if (!r.clusters.empty() && !r.clusters.contains(inc.cluster())) return false;
  if (!r.namespaces.empty() && !r.namespaces.contains(inc.subject().namespace_())) return false;
  if (!r.kinds.empty() && !r.kinds.contains(inc.subject().kind())) return false;
  if (!r.scopes.empty() && !r.scopes.contains(inc.scope())) return false;
  for (const auto& [k, v] : r.labels) {
    auto it = inc.labels().find(k);
    if (it == inc.labels().end() || it->second != v) return false;
  }
  return true;
}

absl::Time ChangeTime(const v1::IncidentEvent& e) {
  return absl::FromUnixSeconds(e.change().time().seconds()) +
         absl::Nanoseconds(e.change().time().nanos());
}

}  // namespace

bool MuteWindow::Covers(absl::Time t) const {
  const absl::CivilMinute m = absl::ToCivilMinute(t, absl::UTCTimeZone());
  const int day = static_cast<int>(absl::GetWeekday(absl::CivilDay(m)));  // Monday = 0
  const int minute = m.hour() * 60 + m.minute();
  if (start_minute <= end_minute) {
    return days.contains(day) && minute >= start_minute && minute < end_minute;
  }
  // Spans midnight: the evening of a listed day, or the morning after it.
  return (days.contains(day) && minute >= start_minute) ||
         (days.contains((day + 6) % 7) && minute < end_minute);
}

absl::Status ValidateRoutes(const std::vector<Route>& routes) {
  std::set<std::string> names;
  int defaults = 0;
  for (const Route& r : routes) {
    if (r.name.empty()) return absl::InvalidArgumentError("a route has no name");
    if (!names.insert(r.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("route ", r.name, " is defined twice"));
    }
    if (r.channels.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("route ", r.name, " has no channel"));
    }
    defaults += r.is_default ? 1 : 0;
    for (const MuteWindow& m : r.mutes) {
      const bool minutes_ok = m.start_minute >= 0 && m.start_minute < 1440 && m.end_minute >= 0 &&
                              m.end_minute <= 1440 && m.start_minute != m.end_minute;
      bool days_ok = !m.days.empty();
      for (int d : m.days) days_ok = days_ok && d >= 0 && d < 7;
      if (!minutes_ok || !days_ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("route ", r.name, ": a mute window needs days 0-6 and two different "
                         "minutes of the day"));
      }
    }
  }
  if (defaults > 1) return absl::InvalidArgumentError("more than one default route");
  return absl::OkStatus();
}

std::vector<Routed> RouteEvent(const std::vector<Route>& routes, const v1::IncidentEvent& event,
                               const std::vector<std::pair<std::string, std::string>>& earlier) {
  std::vector<Routed> out;
  if (!event.change().notify()) return out;
  const absl::Time at = ChangeTime(event);
  std::set<std::string> seen;
  auto take = [&](const Route& r) {
    bool muted = false;
    for (const MuteWindow& m : r.mutes) muted = muted || m.Covers(at);
    for (const std::string& ch : r.channels) {
      if (seen.insert(ch).second) out.push_back({r.name, ch, muted});
    }
  };
  bool taken = false;
  for (const Route& r : routes) {
    if (r.is_default || !Matches(r, event.incident())) continue;
    take(r);
    taken = true;
    if (!r.continue_matching) break;
  }
  if (!taken) {
    for (const Route& r : routes) {
      if (r.is_default) take(r);
    }
  }
  for (const auto& [route, channel] : earlier) {
    if (!seen.insert(channel).second) continue;
    bool muted = false;
    for (const Route& r : routes) {
      if (r.name != route) continue;
      for (const MuteWindow& m : r.mutes) muted = muted || m.Covers(at);
    }
    out.push_back({route, channel, muted});
  }
  return out;
}

}  // namespace k8i::notification

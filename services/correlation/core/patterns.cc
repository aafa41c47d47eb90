#include "services/correlation/core/patterns.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/common/ids.h"
#include "libs/common/stats.h"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// Weeks start on Monday 00:00 UTC; 1970-01-05 was a Monday.
const absl::Time kMonday = absl::FromUnixSeconds(4 * 86400);
constexpr absl::Duration kWeek = absl::Hours(24 * 7);

int64_t WeekOf(absl::Time t) {
  const int64_t h = absl::ToInt64Hours(absl::Floor(t - kMonday, absl::Hours(1)));
  return h >= 0 ? h / 168 : (h - 167) / 168;
}
absl::Time WeekStart(int64_t week) { return kMonday + week * kWeek; }

void SetKey(const ObjectRef& r, v1::ObjectKey* k) {
  k->set_kind(r.kind);
  k->set_namespace_(r.ns);
  k->set_name(r.name);
}

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

std::string Ago(absl::Duration d) {
  const int64_t m = absl::ToInt64Minutes(d);
  return m < 1 ? absl::StrCat(absl::ToInt64Seconds(d), "s") : absl::StrCat(m, "m");
}

void AddEvidence(v1::Pattern& p, absl::Time at, const char* kind, std::string text) {
  auto* e = p.add_evidence();
  SetProtoTime(at, e->mutable_time());
  e->set_kind(kind);
  e->set_text(std::move(text));
}

void Recurring(const PatternInput& in, const PatternOptions& o, std::vector<v1::Pattern>& out) {
  struct Key {
    std::string name;
    ObjectRef subject;
    auto operator<=>(const Key&) const = default;
  };
  // (name, subject) → first firing in the window; (name, subject, hour) → week → first firing.
  std::map<Key, absl::Time> first;
  std::map<std::pair<Key, int>, std::map<int64_t, const FiringRecord*>> slots;
  for (const FiringRecord& f : in.firings) {
    if (f.at < in.start || f.at > in.end) continue;
    const Key k{f.name, f.workload.empty() ? f.object : f.workload};
    auto [it, added] = first.emplace(k, f.at);
    if (!added) it->second = std::min(it->second, f.at);
    const FiringRecord*& slot = slots[{k, HourOfWeek(f.at)}][WeekOf(f.at)];
    if (slot == nullptr || f.at < slot->at ||
        (f.at == slot->at && f.object < slot->object)) {
      slot = &f;
    }
  }
  for (const auto& [key, weeks] : slots) {
    if (static_cast<int>(weeks.size()) < o.min_weeks) continue;
    const auto& [k, how] = key;
    // Opportunities: the occurrences of this hour from the alert's first firing's hour to end.
    const absl::Time from = absl::FromCivil(absl::ToCivilHour(first.at(k), absl::UTCTimeZone()),
                                            absl::UTCTimeZone());
    std::vector<absl::Time> hours;
    for (int64_t w = WeekOf(from); w <= WeekOf(in.end); ++w) {
      const absl::Time h = WeekStart(w) + absl::Hours(how);
      if (h >= from && h <= in.end) hours.push_back(h);
    }
    const int n = static_cast<int>(weeks.size());
    const int m = std::max(static_cast<int>(hours.size()), n);
    v1::Pattern p;
    p.set_kind(v1::PATTERN_KIND_RECURRING_ALERT);
    p.set_id(Sha256Hex(absl::StrCat("recurring\x1f", k.name, "\x1f", k.subject.Key(), "\x1f", how))
                 .substr(0, 24));
    SetKey(k.subject, p.mutable_subject());
    p.set_alert_name(k.name);
    p.set_hour_of_week(HourOfWeekName(how));
    p.set_occurrences(n);
    p.set_opportunities(m);
    p.set_confidence(static_cast<double>(n) / m);
    p.set_summary(absl::StrFormat("%s on %s started firing in the hour %s in %d of the last %d "
                                  "weeks",
                                  k.name, k.subject.Describe(), HourOfWeekName(how), n, m));
    absl::Time last = absl::InfinitePast();
    for (const absl::Time h : hours) {
      auto it = weeks.find(WeekOf(h));
      if (it == weeks.end()) {
        AddEvidence(p, h, "miss", absl::StrCat("did not fire in the hour from ", Utc(h)));
        continue;
      }
      const FiringRecord& f = *it->second;
      last = std::max(last, f.at);
      AddEvidence(p, f.at, "occurrence",
                  absl::StrCat("fired at ", Utc(f.at), " on ", f.object.Describe()));
    }
    SetProtoTime(last, p.mutable_last_time());
    out.push_back(std::move(p));
  }
}

void CrashAfterChange(const Topology& topology, const PatternInput& in, const PatternOptions& o,
                      std::vector<v1::Pattern>& out) {
  // Per workload: its crashes, in time order, and what it depends on (its pods' ConfigMaps
  // and Secrets now, and itself).
  std::map<ObjectRef, std::vector<const FiringRecord*>> crashes;
  for (const FiringRecord& f : in.firings) {
    if (!IsCrashAlert(f.name) || f.at < in.start || f.at > in.end) continue;
    ObjectRef w = f.workload;
    if (w.empty() && f.object.kind == "Pod") {
      if (const PodFacts* p = topology.Pod(f.object.ns, f.object.name)) w = p->workload;
    }
    if (!w.empty()) crashes[w].push_back(&f);
  }
  std::map<ObjectRef, std::set<ObjectRef>> causes;
  for (auto& [w, list] : crashes) {
    std::sort(list.begin(), list.end(), [](const FiringRecord* a, const FiringRecord* b) {
      return std::tie(a->at, a->object) < std::tie(b->at, b->object);
    });
    causes[w].insert(w);
  }
  for (const auto& [key, pod] : topology.pods()) {
    auto it = causes.find(pod.workload);
    if (it == causes.end()) continue;
    for (const ObjectRef& u : pod.uses) {
      if (u.kind == "ConfigMap" || u.kind == "Secret") it->second.insert(u);
    }
  }
  std::map<ObjectRef, std::vector<const ChangeRecord*>> changes;
  for (const ChangeRecord& c : in.changes) {
    if (c.revision <= 1 || c.at < in.start || c.at > in.end) continue;
    changes[c.object].push_back(&c);
  }
  for (auto& [obj, list] : changes) {
    std::sort(list.begin(), list.end(),
              [](const ChangeRecord* a, const ChangeRecord* b) { return a->revision < b->revision; });
  }
  for (const auto& [w, deps] : causes) {
    const auto& ws = crashes.at(w);
    std::set<const FiringRecord*> explained;
    std::vector<v1::Pattern> found;
    for (const ObjectRef& cause : deps) {
      auto cit = changes.find(cause);
      if (cit == changes.end()) continue;
      const auto& cs = cit->second;
      v1::Pattern p;
      int n = 0;
      absl::Time last = absl::InfinitePast();
      for (size_t i = 0; i < cs.size(); ++i) {
        const absl::Time from = cs[i]->at;
        absl::Time until = from + o.crash_window;
        if (i + 1 < cs.size()) until = std::min(until, cs[i + 1]->at);
        const FiringRecord* hit = nullptr;
        for (const FiringRecord* f : ws) {
          if (f->at < from || f->at > until) continue;
          if (hit == nullptr) hit = f;
          explained.insert(f);
        }
        const std::string what =
            absl::StrCat(cause.Describe(), " changed at ", Utc(from),
                         cs[i]->changes.empty() ? ""
                                                : absl::StrCat(" (", absl::StrJoin(cs[i]->changes, "; "), ")"));
        if (hit != nullptr) {
          ++n;
          last = std::max(last, hit->at);
          AddEvidence(p, from, "occurrence",
                      absl::StrCat(what, "; ", hit->name, " on ", hit->object.Describe(), " ",
                                   Ago(hit->at - from), " later"));
        } else {
          AddEvidence(p, from, "miss",
                      absl::StrCat(what, "; no crash within ", Ago(until - from)));
        }
      }
      if (n < o.min_cases) continue;
      const int m = static_cast<int>(cs.size());
      p.set_kind(v1::PATTERN_KIND_CRASH_AFTER_CHANGE);
      p.set_id(Sha256Hex(absl::StrCat("crash\x1f", w.Key(), "\x1f", cause.Key())).substr(0, 24));
      SetKey(w, p.mutable_subject());
      SetKey(cause, p.mutable_cause());
      p.set_occurrences(n);
      p.set_opportunities(m);
      p.set_confidence(static_cast<double>(n) / m);
      p.set_summary(absl::StrFormat(
          "%s's pods crashed within %s after %d of %d changes of %s", w.Describe(),
          Ago(o.crash_window), n, m, cause == w ? std::string("its own spec") : cause.Describe()));
      SetProtoTime(last, p.mutable_last_time());
      found.push_back(std::move(p));
    }
    // Crashes after no change of anything the workload depends on: the base rate.
    int unexplained = 0;
    for (const FiringRecord* f : ws) unexplained += explained.contains(f) ? 0 : 1;
    for (auto& p : found) {
      if (unexplained > 0) {
        p.set_summary(absl::StrCat(p.summary(), "; ", unexplained,
                                   unexplained == 1 ? " crash" : " crashes",
                                   " in the window followed no change"));
        for (const FiringRecord* f : ws) {
          if (!explained.contains(f)) {
            AddEvidence(p, f->at, "unexplained",
                        absl::StrCat(f->name, " on ", f->object.Describe(), " at ",
                                     Utc(f->at), " followed no change"));
          }
        }
      }
      out.push_back(std::move(p));
    }
  }
}

}  // namespace

bool IsCrashAlert(const std::string& name) {
  static const std::set<std::string>* const kNames = new std::set<std::string>{
      "OOMKilled", "OOMKilling", "CrashLoopBackOff", "KubePodCrashLooping", "PodCrashLooping",
      "ContainerOOMKilled"};
  return kNames->contains(name);
}

std::vector<v1::Pattern> FindPatterns(const Topology& topology, const PatternInput& in,
                                      const PatternOptions& options) {
  std::vector<v1::Pattern> out;
  Recurring(in, options, out);
  CrashAfterChange(topology, in, options, out);
  std::stable_sort(out.begin(), out.end(), [](const v1::Pattern& a, const v1::Pattern& b) {
    if (a.confidence() != b.confidence()) return a.confidence() > b.confidence();
    if (a.occurrences() != b.occurrences()) return a.occurrences() > b.occurrences();
    return a.id() < b.id();
  });
  return out;
}

}  // namespace k8i::correlation

// The correlation engine on labelled scenarios and lifecycle cases: pure logic, event time
// only (no clock, no IO).
#include "services/correlation/core/correlator.h"

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/correlation/core/proto_time.h"
#include "services/correlation/core/scenarios.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using absl::Minutes;
using absl::Seconds;

const absl::Time kStart = absl::FromUnixSeconds(1'780'000'000);

const Scenario& Find(const std::string& name) {
  for (const auto& s : LabelledScenarios()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no scenario " << name;
  static const Scenario empty;
  return empty;
}

// The final incidents (after merges) of a correlator, by id.
std::vector<const IncidentState*> Finals(const ClusterCorrelator& c) {
  std::vector<const IncidentState*> out;
  for (const auto& [id, inc] : c.incidents()) {
    if (inc.merged_into.empty()) out.push_back(&inc);
  }
  return out;
}

struct Expect {
  std::string scenario;
  int incidents;
  double min_precision;
  double min_recall;
};

class ScenarioTest : public ::testing::TestWithParam<Expect> {};

TEST_P(ScenarioTest, GroupsAsLabelled) {
  const Expect& e = GetParam();
  ClusterCorrelator c("t1", "demo");
  const Quality q = Evaluate(Find(e.scenario), c, kStart);
  EXPECT_EQ(q.incidents, e.incidents) << e.scenario;
  EXPECT_GE(q.precision, e.min_precision) << e.scenario;
  EXPECT_GE(q.recall, e.min_recall) << e.scenario;
  for (const IncidentState* inc : Finals(c)) {
    EXPECT_FALSE(inc->title.empty());
    EXPECT_FALSE(inc->explanation.empty());
    EXPECT_FALSE(inc->evidence.empty()) << inc->title;
    EXPECT_FALSE(inc->rule.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Labelled, ScenarioTest,
                         ::testing::Values(Expect{"deployment-cpu-with-noise", 4, 1, 1},
                                           Expect{"node-failure-cascade", 1, 1, 1},
                                           Expect{"crashloop-after-configmap", 1, 1, 1},
                                           Expect{"flapping-probe", 1, 1, 1},
                                           Expect{"unrelated-stay-apart", 6, 1, 1},
                                           Expect{"namespace-wide", 1, 1, 1}),
                         [](const auto& info) {
                           std::string n = info.param.scenario;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

TEST(CorrelatorTest, DeploymentIncidentIsExplained) {
  ClusterCorrelator c("t1", "demo");
  Evaluate(Find("deployment-cpu-with-noise"), c, kStart);
  const IncidentState* checkout = nullptr;
  for (const IncidentState* inc : Finals(c)) {
    if (inc->scope == v1::INCIDENT_SCOPE_WORKLOAD && inc->subject.name == "checkout") checkout = inc;
  }
  ASSERT_NE(checkout, nullptr);
  EXPECT_EQ(checkout->rule, "same-workload");
  EXPECT_EQ(checkout->title, "HighCPU across Deployment payments/checkout: 20 pods");
  EXPECT_EQ(checkout->members.size(), 20u);
  // Breadth raised a warning to critical, with the count as evidence.
  EXPECT_EQ(checkout->severity, v1::SEVERITY_CRITICAL);
  bool breadth = false;
  for (const auto& e : checkout->evidence) breadth |= e.kind() == "breadth";
  EXPECT_TRUE(breadth);
  // Repeats counted on the members, no further incidents or changes.
  const AlertState* m = c.member(checkout->id, checkout->members[0]);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->count, 2);
  EXPECT_EQ(m->fires, 1);
  EXPECT_EQ(m->reason, "Pod payments/checkout-7d9f-0 belongs to Deployment payments/checkout");
}

TEST(CorrelatorTest, WorkloadTitleCountsReplicasFromTopology) {
  ClusterCorrelator c("t1", "demo");
  v1::KubeObject w;
  w.mutable_workload()->set_kind(v1::WORKLOAD_KIND_DEPLOYMENT);
  w.mutable_workload()->mutable_meta()->set_namespace_("payments");
  w.mutable_workload()->mutable_meta()->set_name("checkout");
  w.mutable_workload()->set_desired_replicas(24);
  c.topology().Apply(w);
  Evaluate(Find("deployment-cpu-with-noise"), c, kStart);
  bool found = false;
  for (const IncidentState* inc : Finals(c)) {
    found |= inc->title == "HighCPU across Deployment payments/checkout: 20 of 24 pods";
  }
  EXPECT_TRUE(found);
}

// Every member knows its place in its incident's joining order (what the store writes as ord).
void ExpectOrdsMatch(const ClusterCorrelator& c) {
  for (const auto& [id, inc] : c.incidents()) {
    for (size_t i = 0; i < inc.members.size(); ++i) {
      const AlertState* m = c.member(id, inc.members[i]);
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(m->ord, static_cast<int>(i)) << id << " " << inc.members[i];
    }
  }
}

// The incrementally kept common labels are what a scan of every member finds.
void ExpectCommonLabelsMatch(const ClusterCorrelator& c) {
  for (const auto& [id, inc] : c.incidents()) {
    std::map<std::string, std::string> common;
    for (size_t i = 0; i < inc.members.size(); ++i) {
      const AlertState* m = c.member(id, inc.members[i]);
      ASSERT_NE(m, nullptr);
      if (i == 0) {
        common = m->labels;
        continue;
      }
      std::erase_if(common, [&](const auto& kv) {
        auto o = m->labels.find(kv.first);
        return o == m->labels.end() || o->second != kv.second;
      });
    }
    EXPECT_EQ(inc.common_labels, common) << id;
  }
}

TEST(CorrelatorTest, NodeIncidentAbsorbsEarlierPodIncidents) {
  ClusterCorrelator c("t1", "demo");
  Evaluate(Find("node-failure-cascade"), c, kStart);
  int merged = 0;
  const IncidentState* node = nullptr;
  for (const auto& [id, inc] : c.incidents()) {
    if (!inc.merged_into.empty()) {
      ++merged;
      EXPECT_EQ(inc.state, v1::INCIDENT_STATE_RESOLVED);
    } else {
      node = &inc;
    }
  }
  EXPECT_EQ(merged, 2);  // the two pod incidents opened before NodeNotReady
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->scope, v1::INCIDENT_SCOPE_NODE);
  EXPECT_EQ(node->rule, "node");
  EXPECT_EQ(node->members.size(), 31u);
  EXPECT_TRUE(absl::StartsWith(node->title, "Node node-3: ")) << node->title;
  EXPECT_EQ(node->severity, v1::SEVERITY_CRITICAL);
  ExpectOrdsMatch(c);  // members merged in from the pod incidents included
  ExpectCommonLabelsMatch(c);
}

TEST(CorrelatorTest, FlappingIsMarkedAndNotReannounced) {
  ClusterCorrelator c("t1", "demo");
  Evaluate(Find("flapping-probe"), c, kStart);
  std::vector<Change> changes = c.TakeChanges();
  const auto finals = Finals(c);
  ASSERT_EQ(finals.size(), 1u);
  const IncidentState& inc = *finals[0];
  int reopened = 0, announced_after_flap = 0, flap_started = 0;
  bool flapping = false;
  for (const auto& ch : changes) {
    if (ch.change.type() == v1::INCIDENT_CHANGE_TYPE_REOPENED) ++reopened;
    if (ch.change.type() == v1::INCIDENT_CHANGE_TYPE_FLAPPING_STARTED) {
      ++flap_started;
      flapping = true;
      continue;
    }
    if (ch.change.type() == v1::INCIDENT_CHANGE_TYPE_FLAPPING_STOPPED) flapping = false;
    if (flapping && ch.change.notify()) ++announced_after_flap;
  }
  EXPECT_EQ(reopened, 9);  // resolved after each quiet period, reopened by the next fire
  EXPECT_EQ(inc.reopen_count, 9);
  EXPECT_EQ(flap_started, 1);
  EXPECT_EQ(announced_after_flap, 0);
  // Sequence numbers run from 1 without gaps.
  for (size_t i = 0; i < changes.size(); ++i) EXPECT_EQ(changes[i].change.sequence(), int64_t(i + 1));
  // 30 minutes after the last resolution the trailing hour no longer holds 5 fires.
  EXPECT_EQ(inc.state, v1::INCIDENT_STATE_RESOLVED);
}

TEST(CorrelatorTest, AutoResolvesAfterQuietPeriodAtThatEventTime) {
  ClusterCorrelator c("t1", "demo");
  ScenarioAlert a{Seconds(0), "OOMKilled", "Pod", "a", "x-1", "node-1", "Deployment", "x",
                  v1::SEVERITY_CRITICAL, false, "g"};
  c.OnAlert(ToAlert(a, kStart), kStart);
  a.at = Minutes(2);
  a.resolved = true;
  c.OnAlert(ToAlert(a, kStart), kStart + Minutes(2));
  c.Advance(kStart + Minutes(6));
  const std::string id = c.CurrentIncident(c.Fingerprint("OOMKilled", {"Pod", "a", "x-1"}, ""));
  ASSERT_EQ(c.incident(id)->state, v1::INCIDENT_STATE_OPEN);
  c.Advance(kStart + Minutes(40));  // a late tick: the resolution is still at 2m + 5m
  EXPECT_EQ(c.incident(id)->state, v1::INCIDENT_STATE_RESOLVED);
  EXPECT_EQ(c.incident(id)->resolve_time, kStart + Minutes(7));
  // A fire past the reopen window opens a new incident.
  a.resolved = false;
  a.at = Minutes(7 + 31);
  c.OnAlert(ToAlert(a, kStart), kStart + a.at);
  const std::string id2 = c.CurrentIncident(c.Fingerprint("OOMKilled", {"Pod", "a", "x-1"}, ""));
  EXPECT_NE(id2, id);
  EXPECT_EQ(c.incident(id)->state, v1::INCIDENT_STATE_RESOLVED);
}

TEST(CorrelatorTest, AcknowledgeAndResolveByHand) {
  ClusterCorrelator c("t1", "demo");
  ScenarioAlert a{Seconds(0), "HighCPU", "Pod", "a", "x-1", "node-1", "Deployment", "x",
                  v1::SEVERITY_WARNING, false, "g"};
  c.OnAlert(ToAlert(a, kStart), kStart);
  const std::string id = c.CurrentIncident(c.Fingerprint("HighCPU", {"Pod", "a", "x-1"}, ""));
  c.TakeChanges();
  EXPECT_TRUE(absl::IsNotFound(c.Acknowledge("nope", "alice", kStart, "")));
  ASSERT_TRUE(c.Acknowledge(id, "alice", kStart + Minutes(1), "on it").ok());
  ASSERT_TRUE(c.Acknowledge(id, "alice", kStart + Minutes(1), "again").ok());  // idempotent
  ASSERT_TRUE(c.Resolve(id, "bob", kStart + Minutes(2), "fixed").ok());
  ASSERT_TRUE(c.Resolve(id, "bob", kStart + Minutes(2), "fixed").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(c.Acknowledge(id, "alice", kStart + Minutes(3), "")));
  auto changes = c.TakeChanges();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].change.type(), v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED);
  EXPECT_EQ(changes[0].change.actor(), "alice");
  EXPECT_EQ(changes[0].change.detail(), "on it");
  EXPECT_EQ(changes[1].change.type(), v1::INCIDENT_CHANGE_TYPE_RESOLVED);
  // A repeat of the still-firing alert does not reopen what a person resolved ...
  a.at = Minutes(3);
  c.OnAlert(ToAlert(a, kStart), kStart + a.at);
  EXPECT_EQ(c.incident(id)->state, v1::INCIDENT_STATE_RESOLVED);
  // ... a new firing after it resolved does.
  a.at = Minutes(4);
  a.resolved = true;
  c.OnAlert(ToAlert(a, kStart), kStart + a.at);
  a.at = Minutes(5);
  a.resolved = false;
  c.OnAlert(ToAlert(a, kStart), kStart + a.at);
  EXPECT_EQ(c.incident(id)->state, v1::INCIDENT_STATE_OPEN);
  EXPECT_EQ(c.incident(id)->reopen_count, 1);
}

// Every change of every scenario, serialized: the engine's whole output.
std::string Transcript(ClusterCorrelator& c) {
  std::string out;
  for (const auto& ch : c.TakeChanges()) {
    absl::StrAppend(&out, ch.incident_id, " ", ch.change.ShortDebugString(), "\n");
  }
  for (const auto& [id, inc] : c.incidents()) {
    absl::StrAppend(&out, c.ToProto(inc, true).ShortDebugString(), "\n");
  }
  return out;
}

TEST(CorrelatorTest, ReplayIsDeterministicWhateverTheTicks) {
  // The same stream twice, the second time with wall-clock ticks (never past the next alert)
  // interleaved: identical incidents, ids, sequences and evidence.
  for (const auto& s : LabelledScenarios()) {
    ClusterCorrelator a("t1", "demo"), b("t1", "demo");
    Evaluate(s, a, kStart);
    std::mt19937 rng(7);
    absl::Duration prev = absl::ZeroDuration();
    for (const auto& al : s.alerts) {
      if (al.at > prev) {
        b.Advance(kStart + prev + (al.at - prev) * (static_cast<double>(rng() % 100) / 100.0));
      }
      b.OnAlert(ToAlert(al, kStart), kStart + al.at);
      prev = std::max(prev, al.at);
    }
    b.Advance(kStart + prev + s.tail);
    EXPECT_EQ(Transcript(a), Transcript(b)) << s.name;
  }
}

TEST(CorrelatorTest, RestoredStateContinuesLikeTheOriginal) {
  // Stop half-way, copy incidents and members into a fresh correlator (what a restart reads
  // from storage), feed the rest to both: the same result.
  const Scenario& s = Find("node-failure-cascade");
  ClusterCorrelator a("t1", "demo"), b("t1", "demo");
  const size_t half = s.alerts.size() / 2;
  for (size_t i = 0; i < half; ++i) a.OnAlert(ToAlert(s.alerts[i], kStart), kStart + s.alerts[i].at);
  a.TakeChanges();
  // As LoadCluster does: members without their place (storage keeps it as a column), then the
  // joining order.
  std::map<std::string, std::vector<std::string>> order;
  for (const auto& [id, inc] : a.incidents()) b.Restore(inc);
  for (const auto& [id, inc] : a.incidents()) {
    for (const auto& fp : inc.members) {
      AlertState m = *a.member(id, fp);
      m.ord = -1;
      b.Restore(std::move(m));
      order[id].push_back(fp);
    }
  }
  b.SetMemberOrder(order);
  // The split falls where joins are held back: they must be announced as the original does.
  EXPECT_TRUE(std::any_of(a.incidents().begin(), a.incidents().end(),
                          [](const auto& i) { return i.second.held_joins > 0; }));
  ExpectOrdsMatch(b);
  ExpectCommonLabelsMatch(b);
  b.Advance(a.watermark());
  // What the engine does after loading: changes made by catching up are not stored, so there
  // must be none (no state is saved with a timer due behind its watermark).
  EXPECT_TRUE(b.TakeChanges().empty());
  for (size_t i = half; i < s.alerts.size(); ++i) {
    a.OnAlert(ToAlert(s.alerts[i], kStart), kStart + s.alerts[i].at);
    b.OnAlert(ToAlert(s.alerts[i], kStart), kStart + s.alerts[i].at);
  }
  EXPECT_EQ(Transcript(a), Transcript(b));
  ExpectOrdsMatch(b);
  ExpectCommonLabelsMatch(a);
  ExpectCommonLabelsMatch(b);
}

TEST(CorrelatorTest, JoinsWithinOneMessageMakeOneUpdate) {
  // One agent batch with 5 alerts on pods of one workload: OPENED, then one UPDATED for the
  // other four (and the breadth raise in between); the same alerts one message each: four.
  google::protobuf::RepeatedPtrField<v1::Alert> batch;
  for (int i = 0; i < 5; ++i) {
    ScenarioAlert a{Seconds(i), "HighCPU", "Pod", "a", absl::StrCat("x-", i), "node-1",
                    "Deployment", "x", v1::SEVERITY_CRITICAL, false, "g"};
    *batch.Add() = ToAlert(a, kStart);
  }
  // Every message's joins announced (no update interval), to see the message's effect alone.
  const CorrelatorOptions every{.update_interval = absl::ZeroDuration()};
  ClusterCorrelator one("t1", "demo", every), many("t1", "demo", every);
  one.OnAlerts(batch, kStart + Seconds(5));
  for (const auto& a : batch) many.OnAlert(a, kStart + Seconds(5));
  auto count = [](const std::vector<Change>& cs, v1::IncidentChangeType t) {
    return std::count_if(cs.begin(), cs.end(), [&](const Change& c) { return c.change.type() == t; });
  };
  const auto a = one.TakeChanges(), b = many.TakeChanges();
  EXPECT_EQ(count(a, v1::INCIDENT_CHANGE_TYPE_UPDATED), 1);
  EXPECT_EQ(count(b, v1::INCIDENT_CHANGE_TYPE_UPDATED), 4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].change.sequence(), static_cast<int64_t>(i + 1));
  EXPECT_EQ(a.back().change.detail(), "4 alerts joined, the last: HighCPU on Pod a/x-4 joined");
  EXPECT_EQ(one.incidents().begin()->second.members.size(), 5u);
}

// HighCPU firing at `at` on pod a/x-<pod> of Deployment a/x; critical already, so the breadth of
// three pods raises nothing.
v1::Alert HighCpuOnX(int pod, absl::Duration at) {
  return ToAlert({at, "HighCPU", "Pod", "a", absl::StrCat("x-", pod), "node-1", "Deployment", "x",
                  v1::SEVERITY_CRITICAL, false, "g"},
                 kStart);
}

// Change type, event time after kStart and detail: the changes of a correlator.
std::vector<std::tuple<v1::IncidentChangeType, absl::Duration, std::string>> Changes(
    ClusterCorrelator& c) {
  std::vector<std::tuple<v1::IncidentChangeType, absl::Duration, std::string>> out;
  int64_t seq = 0;
  for (const Change& ch : c.TakeChanges()) {
    EXPECT_EQ(ch.change.sequence(), ++seq);
    out.push_back({ch.change.type(), FromProtoTime(ch.change.time()) - kStart, ch.change.detail()});
  }
  return out;
}

TEST(CorrelatorTest, MemberUpdatesAreAnnouncedAtMostOncePerInterval) {
  using v1::INCIDENT_CHANGE_TYPE_ACKNOWLEDGED;
  using v1::INCIDENT_CHANGE_TYPE_OPENED;
  using v1::INCIDENT_CHANGE_TYPE_UPDATED;
  struct Step {
    absl::Duration at;  // a pod of workload a/x starts firing (one message each); or:
    bool ack = false;   // the incident is acknowledged at `at`
    absl::Duration advance = absl::ZeroDuration();  // or event time advances to this
  };
  struct Case {
    std::string name;
    std::vector<Step> steps;
    std::vector<std::tuple<v1::IncidentChangeType, absl::Duration, std::string>> want;
  };
  const std::string opened = "opened by HighCPU on Pod a/x-0";
  auto joined = [](int pod) { return absl::StrCat("HighCPU on Pod a/x-", pod, " joined"); };
  const Case cases[] = {
      {"joins within the interval wait for the first join after it",
       {{Seconds(0)}, {Seconds(1)}, {Seconds(2)}, {Seconds(3)}, {Seconds(10)}, {Seconds(11)}},
       {{INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), opened},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(10), "4 alerts joined, the last: " + joined(4)}}},
      {"held joins with none after them are announced an interval after the last",
       {{Seconds(0)},
        {Seconds(1)},
        {Seconds(4)},
        {.advance = Seconds(13.999)},
        {.advance = Seconds(14)}},
       {{INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), opened},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(14), "2 alerts joined, the last: " + joined(2)}}},
      {"a join after a quiet interval is announced at once",
       {{Seconds(0)}, {Seconds(30)}, {Seconds(45)}},
       {{INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), opened},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(30), joined(1)},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(45), joined(2)}}},
      {"held joins already due before another change are announced when they fell due",
       {{Seconds(0)}, {Seconds(2)}, {Seconds(20), true}},
       {{INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), opened},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(12), joined(1)},
        {INCIDENT_CHANGE_TYPE_ACKNOWLEDGED, Seconds(20), ""}}},
      {"held joins come before any other change",
       {{Seconds(0)}, {Seconds(2)}, {Seconds(3), true}, {Seconds(4)}, {.advance = Seconds(20)}},
       {{INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), opened},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(2), joined(1)},
        {INCIDENT_CHANGE_TYPE_ACKNOWLEDGED, Seconds(3), ""},
        {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(14), joined(2)}}},
  };
  // The interval alone: no incident's interval stretched (see IncidentsOpenedTogether...).
  const CorrelatorOptions unspread{.update_spread = absl::ZeroDuration()};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    ClusterCorrelator c("t1", "demo", unspread);
    int pod = 0;
    for (const Step& st : tc.steps) {
      if (st.advance > absl::ZeroDuration()) {
        c.Advance(kStart + st.advance);
      } else if (st.ack) {
        ASSERT_EQ(c.incidents().size(), 1u);
        ASSERT_TRUE(c.Acknowledge(c.incidents().begin()->first, "ann", kStart + st.at, "").ok());
      } else {
        c.OnAlert(HighCpuOnX(pod++, st.at), kStart + st.at);
      }
    }
    EXPECT_EQ(Changes(c), tc.want);
  }
}

TEST(CorrelatorTest, IncidentsOpenedTogetherAnnounceTheirMembersSpreadOut) {
  // 40 workloads (in namespaces of their own) start failing in the same second; each gets a pod
  // joining every second for two minutes. Every incident announces at most once per
  // update_interval, at its own interval (update_interval plus its share of update_spread): the
  // first updates spread over the 5 s of spread, not all at 10 s.
  const CorrelatorOptions o;
  ClusterCorrelator c("t1", "demo", o);
  constexpr int kWorkloads = 40;
  for (int s = 0; s <= 120; ++s) {
    for (int w = 0; w < kWorkloads; ++w) {
      c.OnAlert(
          ToAlert({Seconds(s), "HighCPU", "Pod", absl::StrCat("n", w), absl::StrCat("w", w, "-", s),
                   "node-1", "Deployment", absl::StrCat("w", w), v1::SEVERITY_CRITICAL, false, "g"},
                  kStart),
          kStart + Seconds(s));
    }
  }
  ASSERT_EQ(c.incidents().size(), static_cast<size_t>(kWorkloads));
  std::map<std::string, std::vector<absl::Time>> updates;  // by incident
  std::map<int64_t, int> first_per_second;                 // first updates by second
  for (const Change& ch : c.TakeChanges()) {
    if (ch.change.type() != v1::INCIDENT_CHANGE_TYPE_UPDATED) continue;
    auto& times = updates[ch.incident_id];
    if (times.empty()) ++first_per_second[absl::ToUnixSeconds(FromProtoTime(ch.change.time()))];
    times.push_back(FromProtoTime(ch.change.time()));
  }
  ASSERT_EQ(updates.size(), static_cast<size_t>(kWorkloads));
  for (const auto& [id, times] : updates) {
    const absl::Duration interval = UpdateInterval(o, id);
    EXPECT_GE(interval, o.update_interval);
    EXPECT_LT(interval, o.update_interval + o.update_spread);
    absl::Time prev = kStart;  // OPENED
    for (absl::Time t : times) {
      // A pod joins every second: each update is the first join at or after the interval.
      EXPECT_GE(t - prev, interval) << id;
      EXPECT_LT(t - prev, interval + Seconds(1)) << id;
      prev = t;
    }
  }
  // 40 first updates over the 5 s of spread: without it, all 40 come at 10 s.
  EXPECT_GE(first_per_second.size(), 4u);
  for (const auto& [second, n] : first_per_second) EXPECT_LE(n, kWorkloads / 2) << second;
}

TEST(CorrelatorTest, ALateJoinIsNotLeftDueBehindTheWatermark) {
  // x-1 joins at 60 s (announced); x-2 arrives late, started at 5 s: held, and already due
  // (5 + 10 s is behind the watermark). It is announced at once, at the time of the last
  // change (never before it), and a state loaded from what is stored now changes nothing when
  // caught up.
  ClusterCorrelator c("t1", "demo");
  for (auto [pod, at] : {std::pair{0, 0}, {1, 60}, {2, 5}}) {
    c.OnAlert(HighCpuOnX(pod, Seconds(at)), kStart + Seconds(std::max(at, 60)));
  }
  using v1::INCIDENT_CHANGE_TYPE_OPENED;
  using v1::INCIDENT_CHANGE_TYPE_UPDATED;
  const std::vector<std::tuple<v1::IncidentChangeType, absl::Duration, std::string>> want = {
      {INCIDENT_CHANGE_TYPE_OPENED, Seconds(0), "opened by HighCPU on Pod a/x-0"},
      {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(60), "HighCPU on Pod a/x-1 joined"},
      {INCIDENT_CHANGE_TYPE_UPDATED, Seconds(60), "HighCPU on Pod a/x-2 joined"}};
  EXPECT_EQ(Changes(c), want);
  ClusterCorrelator loaded("t1", "demo");
  for (const auto& [id, inc] : c.incidents()) {
    EXPECT_EQ(inc.held_joins, 0);
    loaded.Restore(inc);
  }
  loaded.Advance(c.watermark());
  EXPECT_TRUE(loaded.TakeChanges().empty());
}

TEST(CorrelatorTest, IncidentLabelsAreThoseEveryMemberShares) {
  ClusterCorrelator c("t1", "demo");
  auto fire = [&](const std::string& pod, std::map<std::string, std::string> labels,
                  absl::Duration after) {
    ScenarioAlert s{after, "HighCPU", "Pod", "shop", pod, "node-1", "Deployment", "web",
                    v1::SEVERITY_WARNING, false, "g"};
    v1::Alert a = ToAlert(s, kStart);
    for (const auto& [k, v] : labels) {
      auto* l = a.add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    c.OnAlert(a, kStart + after);
  };
  fire("web-1", {{"team", "payments"}, {"tier", "1"}, {"pod", "web-1"}}, Seconds(0));
  ASSERT_EQ(c.incidents().size(), 1u);
  const IncidentState& inc = c.incidents().begin()->second;
  EXPECT_EQ(c.ToProto(inc, false, 0).labels().at("tier"), "1");  // one member: all of its labels
  fire("web-2", {{"team", "payments"}, {"tier", "2"}, {"pod", "web-2"}}, Seconds(5));
  fire("web-3", {{"team", "payments"}, {"pod", "web-3"}}, Seconds(10));
  ASSERT_EQ(c.incidents().size(), 1u);
  const auto labels = c.ToProto(c.incidents().begin()->second, true, -1).labels();
  using Labels = std::map<std::string, std::string>;
  // The scenario's alerts also carry their kind and namespace: shared as well.
  EXPECT_EQ(Labels(labels.begin(), labels.end()),
            (Labels{{"kind", "Pod"}, {"namespace", "shop"}, {"team", "payments"}}));
  // Members keep their own.
  EXPECT_EQ(c.ToProto(c.incidents().begin()->second, true, -1).members(0).labels().at("pod"),
            "web-1");
  ExpectCommonLabelsMatch(c);
}

TEST(CorrelatorTest, AlertsWithoutNameOrObjectAreIgnored) {
  ClusterCorrelator c("t1", "demo");
  v1::Alert a;
  a.set_status(v1::ALERT_STATUS_FIRING);
  c.OnAlert(a, kStart);
  a.set_name("X");
  c.OnAlert(a, kStart);
  EXPECT_TRUE(c.incidents().empty());
  EXPECT_TRUE(c.TakeChanges().empty());
}

TEST(CorrelatorTest, FingerprintIgnoresText) {
  ClusterCorrelator c("t1", "demo");
  ScenarioAlert s{Seconds(0), "HighCPU", "Pod", "a", "x-1", "node-1", "Deployment", "x",
                  v1::SEVERITY_WARNING, false, "g"};
  v1::Alert one = ToAlert(s, kStart), two = ToAlert(s, kStart);
  two.set_summary("a different text");
  (*two.mutable_annotations())["description"] = "changed";
  c.OnAlert(one, kStart);
  c.OnAlert(two, kStart + Seconds(5));
  ASSERT_EQ(c.incidents().size(), 1u);
  const auto& inc = c.incidents().begin()->second;
  ASSERT_EQ(inc.members.size(), 1u);
  EXPECT_EQ(c.member(inc.id, inc.members[0])->count, 2);
  EXPECT_NE(c.Fingerprint("HighCPU", {"Pod", "a", "x-1"}, ""),
            ClusterCorrelator("t2", "demo").Fingerprint("HighCPU", {"Pod", "a", "x-1"}, ""));
}

TEST(CorrelatorTest, OverallQualityMeetsTheAims) {
  std::vector<Quality> parts;
  for (const auto& s : LabelledScenarios()) {
    ClusterCorrelator c("t1", "demo");
    parts.push_back(Evaluate(s, c, kStart));
  }
  const Quality q = Combine(parts);
  EXPECT_GE(q.precision, 0.95);
  EXPECT_GE(q.recall, 0.9);
  EXPECT_GE(q.noise_reduction, 0.8) << q.incidents << " incidents of " << q.alerts << " alerts";
}

}  // namespace
}  // namespace k8i::correlation

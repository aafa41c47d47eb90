// SimCluster: one simulated cluster as the server sees it — a Simulation writing into an
// ObjectStore, and its usage rendered as metrics.k8s.io lists and kubelet Prometheus text.
// Runner advances clusters with a clock: scenario offset = (now - start) × speed.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "tools/kubesim/api/server.h"
#include "tools/kubesim/api/store.h"
#include "tools/kubesim/core/sim.h"

namespace k8i::kubesim {

class SimCluster final : public ClusterView {
 public:
  SimCluster(Scenario scenario, SimOptions options, StoreOptions store = {});

  const ObjectStore& store() const override { return store_; }
  std::string PodMetrics(absl::string_view ns) const override;
  std::string NodeMetrics() const override;
  std::string KubeletMetrics(absl::string_view node) const override;

  // Start puts the initial objects; AdvanceTo runs the simulation up to `offset`. Both tell
  // the store's watchers afterwards.
  void Start();
  void AdvanceTo(absl::Duration offset);
  absl::Duration offset() const;
  std::vector<std::string> Log() const;
  const std::string& name() const { return name_; }

 private:
  class Sink final : public ObjectSink {
   public:
    explicit Sink(ObjectStore& store) : store_(store) {}
    void Put(const std::string& resource, nlohmann::json object) override {
      store_.Put(resource, std::move(object));
    }
    void Delete(const std::string& resource, const std::string& ns,
                const std::string& name) override {
      store_.Delete(resource, ns, name);
    }
    void SetForbidden(const std::string& resource, bool forbidden) override {
      store_.SetForbidden(resource, forbidden);
    }
    void Compact() override { store_.Compact(); }

   private:
    ObjectStore& store_;
  };

  const std::string name_;
  ObjectStore store_;
  Sink sink_;
  mutable absl::Mutex mu_;
  Simulation sim_ ABSL_GUARDED_BY(mu_);
};

// Runner advances clusters on its own thread, every `step` of real time (at least), to
// (clock.Now() - start) × speed.
class Runner {
 public:
  Runner(std::vector<SimCluster*> clusters, const Clock& clock, absl::Time start, double speed,
         absl::Duration step);
  ~Runner();  // stops and joins
  void Start();

 private:
  const std::vector<SimCluster*> clusters_;
  const Clock& clock_;
  const absl::Time start_;
  const double speed_;
  const absl::Duration step_;
  absl::Notification stop_;
  std::thread thread_;
};

// MetricsQuantity renders cores as nanocores ("1234n") and bytes as KiB ("2048Ki"), the forms
// metrics-server uses.
std::string CpuQuantity(double cores);
std::string MemoryQuantity(double bytes);

}  // namespace k8i::kubesim

// Informer: keeps one Kubernetes resource in view by list + watch. It lists (paginated), then
// watches from the list's resourceVersion with bookmarks; re-lists on 410 Gone (HTTP or a watch
// ERROR event), reconnects with backoff when a stream drops, and reports a 403 once and retries
// it slowly. Everything it sees is pushed to an EventQueue that the collector drains.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "tools/agent/kube/client.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::kube {

// ResourceInfo names a resource and where it is listed.
struct ResourceInfo {
  std::string name;  // "pods", "deployments", ...
  std::string path;  // "/api/v1/pods", "/apis/apps/v1/deployments"
};

// KnownResources lists every resource the collector can watch, in processing order (owners
// before the objects that point at them).
const std::vector<ResourceInfo>& KnownResources();

// InformerEvent is one observation of a resource.
struct InformerEvent {
  enum class Type { kListed, kAdded, kModified, kDeleted, kSynced, kForbidden };
  std::string resource;
  Type type = Type::kListed;
  Json object;  // empty for kSynced / kForbidden
  std::string detail;
};

// EventQueue is a thread-safe FIFO between informers and the collector.
class EventQueue {
 public:
  void Push(InformerEvent e);
  std::vector<InformerEvent> Drain();
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<InformerEvent> events_ ABSL_GUARDED_BY(mu_);
};

struct InformerOptions {
  absl::Duration watch_timeout = absl::Minutes(5);  // timeoutSeconds of each watch
  absl::Duration relist_period = absl::Hours(1);    // full re-list even without errors
  absl::Duration backoff_initial = absl::Seconds(1);
  absl::Duration backoff_max = absl::Seconds(60);
  absl::Duration forbidden_retry = absl::Minutes(5);
  int page_size = 500;
};

// InformerStats counts what happened, for logs, metrics and tests.
struct InformerStats {
  std::atomic<int64_t> lists{0};
  std::atomic<int64_t> watches{0};
  std::atomic<int64_t> gone{0};  // 410s that forced a re-list
  std::atomic<int64_t> bookmarks{0};
  std::atomic<int64_t> errors{0};  // transport errors and unexpected statuses
  std::atomic<int64_t> forbidden{0};
  std::atomic<bool> synced{false};
};

// Informer runs one background thread from Start() until Stop() (or destruction).
class Informer {
 public:
  Informer(ResourceInfo resource, KubeClient* client, EventQueue* queue, InformerOptions options);
  ~Informer();

  void Start();
  // RequestStop asks the thread to end without waiting. Thread-safe.
  void RequestStop();
  // Stop asks the thread to end and joins it; the client must be Cancel()ed for an in-flight
  // watch to end early.
  void Stop();

  const ResourceInfo& resource() const { return resource_; }
  const InformerStats& stats() const { return stats_; }

 private:
  enum class Outcome { kOk, kGone, kForbidden, kError };

  void Run();
  Outcome List();
  Outcome Watch();
  // Sleep waits `d` or until Stop(); false when stopping.
  bool Sleep(absl::Duration d);

  const ResourceInfo resource_;
  KubeClient* const client_;
  EventQueue* const queue_;
  const InformerOptions options_;
  InformerStats stats_;
  absl::Mutex stop_mu_;  // Notify() must be called once
  absl::Notification stop_;
  std::thread thread_;
  // Only touched by the informer thread.
  std::string resource_version_;
  std::map<std::string, std::string> keys_;  // namespace/name -> uid of the known objects
  bool forbidden_reported_ = false;
};

}  // namespace k8i::agent::kube

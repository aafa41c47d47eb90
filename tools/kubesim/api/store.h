// ObjectStore: the objects of one simulated cluster as an API server keeps them — one global,
// increasing resourceVersion (etcd's revision), a bounded history of changes per resource for
// watches, lists in pages that stay consistent with the first page's resourceVersion (as etcd's
// MVCC reads do) until the history they need is compacted, and resources that answer 403.
//
// Objects are kept serialized (with their resourceVersion filled in), so answering many
// watchers or lists costs string copies, not JSON encoding. Thread-safe: the simulation writes,
// the server's thread reads.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/synchronization/mutex.h"
#include "tools/kubesim/api/resources.h"

namespace k8i::kubesim {

struct StoreOptions {
  // Changes kept per resource for watches and consistent continued lists; a watch from an
  // older resourceVersion, or a continue token older than that, gets 410 Gone.
  size_t history = 10000;
};

class ObjectStore {
 public:
  using Text = std::shared_ptr<const std::string>;

  explicit ObjectStore(StoreOptions options = {});

  // Put creates or replaces the object (by metadata.namespace and metadata.name) and gives it
  // the next resourceVersion. Unknown resources are ignored (logged by the caller's tests).
  void Put(const std::string& resource, nlohmann::json object);
  // Delete removes the object, if present, recording a DELETED change.
  void Delete(const std::string& resource, const std::string& ns, const std::string& name);
  // SetForbidden makes lists, gets and watches of `resource` answer 403 (or not).
  void SetForbidden(const std::string& resource, bool forbidden);
  bool Forbidden(const std::string& resource) const;
  // Compact drops every resource's history, as etcd's compaction does: watches behind the
  // current resourceVersion and continue tokens end with 410 Gone.
  void Compact();

  uint64_t resource_version() const;

  // An HTTP answer: status and JSON body.
  struct Answer {
    int status = 200;
    std::string body;
  };

  // List answers a list of `r` (in namespace `ns` when not empty) with at most `limit` items
  // (0: all), continuing after `continue_token` when given. A bad token is 400, an expired
  // one 410.
  Answer List(const ResourceInfo& r, absl::string_view ns, size_t limit,
              absl::string_view continue_token) const;
  // Get answers one object, or 404 in the API's Status form.
  Answer Get(const ResourceInfo& r, absl::string_view ns, absl::string_view name) const;

  // A watch's next lines: the changes of `resource` (in `ns` when not empty) after `after`,
  // at most `max` of them. `gone` when the history no longer reaches back to `after`.
  struct Changes {
    bool gone = false;
    std::vector<Text> lines;  // one {"type":...,"object":...} per line, newline-terminated
    uint64_t last = 0;        // the resourceVersion the watch has now seen up to
  };
  Changes ChangesAfter(const std::string& resource, absl::string_view ns, uint64_t after,
                       size_t max) const;
  // Snapshot returns ADDED lines for every current object (a watch started without a
  // resourceVersion) and the resourceVersion they are current at.
  Changes Snapshot(const std::string& resource, absl::string_view ns) const;

  // AddListener registers a function Flush calls when anything changed since the last Flush.
  void AddListener(std::function<void()> listener) const;
  // Flush tells the listener about changes; the writer calls it after a batch of changes.
  void Flush();

 private:
  struct Entry {
    uint64_t rv = 0;
    std::string ns;
    Text json;  // the object, resourceVersion included
  };
  struct Change {
    uint64_t rv = 0;
    std::string key;
    std::string ns;
    Text line;                  // the watch event line
    std::optional<Entry> prev;  // the object before (absent for ADDED)
  };
  struct Table {
    std::map<std::string, Entry> objects;  // by "<ns>/<name>" (or "<name>"), the API's order
    std::deque<Change> history;
    uint64_t oldest = 0;  // history holds every change with rv > oldest
  };

  void Record(Table& t, Change c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const Table* Find(const std::string& resource) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const StoreOptions options_;
  mutable absl::Mutex mu_;
  uint64_t rv_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, Table> tables_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> forbidden_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  mutable std::vector<std::function<void()>> listeners_ ABSL_GUARDED_BY(mu_);
};

// StatusJson renders a metav1.Status failure as the API server sends it.
std::string StatusJson(int code, absl::string_view reason, absl::string_view message);

}  // namespace k8i::kubesim

#include "tools/agent/kube/informer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

namespace k8i::agent::kube {
namespace {

std::string KeyOf(const Json& obj) {
  const Json& m = Obj(obj, "metadata");
  return absl::StrCat(Str(m, "namespace"), "/", Str(m, "name"));
}

// Code of a watch ERROR event's Status object (410 when the resourceVersion is too old).
int64_t StatusCode(const Json& status) { return Int(status, "code"); }

}  // namespace

const std::vector<ResourceInfo>& KnownResources() {
  static const std::vector<ResourceInfo> kResources = {
      {"namespaces", "/api/v1/namespaces"},
      {"nodes", "/api/v1/nodes"},
      {"deployments", "/apis/apps/v1/deployments"},
      {"replicasets", "/apis/apps/v1/replicasets"},
      {"statefulsets", "/apis/apps/v1/statefulsets"},
      {"daemonsets", "/apis/apps/v1/daemonsets"},
      {"jobs", "/apis/batch/v1/jobs"},
      {"pods", "/api/v1/pods"},
      {"services", "/api/v1/services"},
      {"persistentvolumeclaims", "/api/v1/persistentvolumeclaims"},
      {"poddisruptionbudgets", "/apis/policy/v1/poddisruptionbudgets"},
      {"configmaps", "/api/v1/configmaps"},
      {"secrets", "/api/v1/secrets"},
      {"events", "/api/v1/events"},
  };
  return kResources;
}

void EventQueue::Push(InformerEvent e) {
  absl::MutexLock lock(&mu_);
  events_.push_back(std::move(e));
}

std::vector<InformerEvent> EventQueue::Drain() {
  absl::MutexLock lock(&mu_);
  std::vector<InformerEvent> out(std::make_move_iterator(events_.begin()),
                                 std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

size_t EventQueue::size() const {
  absl::MutexLock lock(&mu_);
  return events_.size();
}

Informer::Informer(ResourceInfo resource, KubeClient* client, EventQueue* queue,
                   InformerOptions options)
    : resource_(std::move(resource)), client_(client), queue_(queue), options_(options) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::RequestStop() {
  absl::MutexLock lock(&stop_mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
}

void Informer::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::Sleep(absl::Duration d) { return !stop_.WaitForNotificationWithTimeout(d); }

void Informer::Run() {
  auto log = Logger("agent.kube");
  absl::Duration backoff = options_.backoff_initial;
  bool need_list = true;
  absl::Time listed_at;
  while (!stop_.HasBeenNotified()) {
    Outcome outcome;
    if (need_list || absl::Now() - listed_at > options_.relist_period) {
      outcome = List();
      if (outcome == Outcome::kOk) {
        need_list = false;
        listed_at = absl::Now();
      }
    } else {
      outcome = Watch();
    }
    switch (outcome) {
      case Outcome::kOk:
        backoff = options_.backoff_initial;
        break;
      case Outcome::kGone:
        ++stats_.gone;
        need_list = true;
        log->info("{}: resourceVersion {} expired (410 Gone); re-listing", resource_.name,
                  resource_version_);
        break;
      case Outcome::kForbidden:
        ++stats_.forbidden;
        need_list = true;
        if (!forbidden_reported_) {
          forbidden_reported_ = true;
          log->warn("{}: forbidden (403); check the agent's ClusterRole; retrying every {}",
                    resource_.name, absl::FormatDuration(options_.forbidden_retry));
          queue_->Push({resource_.name, InformerEvent::Type::kForbidden, Json(), ""});
        }
        if (!Sleep(options_.forbidden_retry)) return;
        break;
      case Outcome::kError:
        ++stats_.errors;
        if (!Sleep(backoff)) return;
        backoff = std::min(backoff * 2, options_.backoff_max);
        break;
    }
  }
}

Informer::Outcome Informer::List() {
  auto log = Logger("agent.kube");
  std::string cont;
  std::vector<Json> items;
  std::string rv;
  do {
    std::string path = absl::StrCat(resource_.path, "?limit=", options_.page_size);
    if (!cont.empty()) absl::StrAppend(&path, "&continue=", cont);
    auto res = client_->Get(path);
    if (!res.ok()) {
      log->warn("{}: list failed: {}", resource_.name, res.status().ToString());
      return Outcome::kError;
    }
    if (res->status == 403 || res->status == 401) return Outcome::kForbidden;
    if (res->status == 410) return Outcome::kGone;  // the continue token expired
    if (res->status != 200) {
      log->warn("{}: list answered HTTP {}", resource_.name, res->status);
      return Outcome::kError;
    }
    Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      log->warn("{}: list answer is not a JSON object", resource_.name);
      return Outcome::kError;
    }
    if (auto it = body.find("items"); it != body.end() && it->is_array()) {
      for (Json& item : *it) {
        if (item.is_object()) items.push_back(std::move(item));
      }
    }
    const Json& meta = Obj(body, "metadata");
    rv = Str(meta, "resourceVersion");
    cont = Str(meta, "continue");
  } while (!cont.empty() && !stop_.HasBeenNotified());
  ++stats_.lists;
  // Objects that disappeared while we were not watching are deletions.
  std::map<std::string, std::string> keys;
  for (const Json& item : items) keys[KeyOf(item)] = Str(Obj(item, "metadata"), "uid");
  for (const auto& [key, uid] : keys_) {
    if (keys.count(key)) continue;
    const size_t slash = key.find('/');
    Json gone = {
        {"metadata",
         {{"namespace", key.substr(0, slash)}, {"name", key.substr(slash + 1)}, {"uid", uid}}}};
    queue_->Push({resource_.name, InformerEvent::Type::kDeleted, std::move(gone), "relist"});
  }
  keys_ = std::move(keys);
  for (Json& item : items) {
    queue_->Push({resource_.name, InformerEvent::Type::kListed, std::move(item), ""});
  }
  queue_->Push({resource_.name, InformerEvent::Type::kSynced, Json(), ""});
  stats_.synced = true;
  resource_version_ = rv;
  return Outcome::kOk;
}

Informer::Outcome Informer::Watch() {
  auto log = Logger("agent.kube");
  const int64_t timeout_s = std::max<int64_t>(1, absl::ToInt64Seconds(options_.watch_timeout));
  const std::string path =
      absl::StrCat(resource_.path, "?watch=1&allowWatchBookmarks=true&timeoutSeconds=", timeout_s,
                   "&resourceVersion=", resource_version_);
  ++stats_.watches;
  Outcome outcome = Outcome::kOk;
  std::string error_body;
  auto status = client_->Stream(
      path, options_.watch_timeout + absl::Seconds(30),
      [&](absl::string_view line) {
        if (line.empty() || stop_.HasBeenNotified()) return !stop_.HasBeenNotified();
        Json ev = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
        const std::string type = Str(ev, "type");
        Json* obj = ev.is_object() && ev.contains("object") ? &ev["object"] : nullptr;
        if (obj == nullptr || !obj->is_object()) {
          log->warn("{}: malformed watch event skipped", resource_.name);
          return true;
        }
        if (type == "ERROR") {
          outcome = StatusCode(*obj) == 410 ? Outcome::kGone : Outcome::kError;
          if (outcome == Outcome::kError) {
            log->warn("{}: watch error: {}", resource_.name, Str(*obj, "message"));
          }
          return false;
        }
        const std::string rv = Str(Obj(*obj, "metadata"), "resourceVersion");
        if (type == "BOOKMARK") {
          ++stats_.bookmarks;
          if (!rv.empty()) resource_version_ = rv;
          return true;
        }
        InformerEvent e{resource_.name, InformerEvent::Type::kAdded, Json(), ""};
        if (type == "MODIFIED") {
          e.type = InformerEvent::Type::kModified;
        } else if (type == "DELETED") {
          e.type = InformerEvent::Type::kDeleted;
        } else if (type != "ADDED") {
          log->warn("{}: unknown watch event type \"{}\" skipped", resource_.name, type);
          return true;
        }
        if (e.type == InformerEvent::Type::kDeleted) {
          keys_.erase(KeyOf(*obj));
        } else {
          keys_[KeyOf(*obj)] = Str(Obj(*obj, "metadata"), "uid");
        }
        if (!rv.empty()) resource_version_ = rv;
        e.object = std::move(*obj);
        queue_->Push(std::move(e));
        return true;
      },
      &error_body);
  if (!status.ok()) {
    if (stop_.HasBeenNotified()) return Outcome::kOk;
    log->info("{}: watch ended: {}; reconnecting", resource_.name, status.status().ToString());
    return Outcome::kError;
  }
  if (*status == 410) return Outcome::kGone;
  if (*status == 403 || *status == 401) return Outcome::kForbidden;
  if (*status != 200) {
    log->warn("{}: watch answered HTTP {}: {}", resource_.name, *status, error_body.substr(0, 200));
    return Outcome::kError;
  }
  return outcome;
}

}  // namespace k8i::agent::kube

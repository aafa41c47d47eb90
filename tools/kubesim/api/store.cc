#include "tools/kubesim/api/store.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace k8i::kubesim {
namespace {

using Json = nlohmann::json;

std::string Key(absl::string_view ns, absl::string_view name) {
  return ns.empty() ? std::string(name) : absl::StrCat(ns, "/", name);
}

std::string WatchLine(absl::string_view type, const std::string& object_json) {
  return absl::StrCat("{\"type\":\"", type, "\",\"object\":", object_json, "}\n");
}

// A continue token: the list's resourceVersion and the last key returned, as the API server's
// (opaque, base64 JSON) tokens carry.
std::string EncodeContinue(uint64_t rv, const std::string& key) {
  return absl::WebSafeBase64Escape(Json{{"rv", rv}, {"start", key}}.dump());
}

bool DecodeContinue(absl::string_view token, uint64_t& rv, std::string& key) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return false;
  Json j = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("rv") || !j["rv"].is_number_unsigned() ||
      !j.contains("start") || !j["start"].is_string()) {
    return false;
  }
  rv = j["rv"].get<uint64_t>();
  key = j["start"].get<std::string>();
  return true;
}

bool InNamespace(absl::string_view want, absl::string_view ns) { return want.empty() || want == ns; }

}  // namespace

std::string StatusJson(int code, absl::string_view reason, absl::string_view message) {
  return Json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", Json::object()},
              {"status", "Failure"},
              {"message", message},
              {"reason", reason},
              {"code", code}}
      .dump();
}

ObjectStore::ObjectStore(StoreOptions options) : options_(options) {}

void ObjectStore::Record(Table& t, Change c) {
  t.history.push_back(std::move(c));
  while (t.history.size() > options_.history) {
    t.oldest = t.history.front().rv;
    t.history.pop_front();
  }
}

void ObjectStore::Put(const std::string& resource, Json object) {
  if (FindResourceByName(resource) == nullptr || !object.is_object()) return;
  Json& meta = object["metadata"];
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  if (name.empty()) return;
  absl::MutexLock lock(&mu_);
  const uint64_t rv = ++rv_;
  meta["resourceVersion"] = std::to_string(rv);
  auto json = std::make_shared<const std::string>(object.dump());
  Table& t = tables_[resource];
  const std::string key = Key(ns, name);
  Change c{rv, key, ns, nullptr, std::nullopt};
  auto it = t.objects.find(key);
  if (it == t.objects.end()) {
    c.line = std::make_shared<const std::string>(WatchLine("ADDED", *json));
    t.objects.emplace(key, Entry{rv, ns, json});
  } else {
    c.line = std::make_shared<const std::string>(WatchLine("MODIFIED", *json));
    c.prev = it->second;
    it->second = Entry{rv, ns, json};
  }
  Record(t, std::move(c));
  dirty_ = true;
}

void ObjectStore::Delete(const std::string& resource, const std::string& ns,
                         const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto tit = tables_.find(resource);
  if (tit == tables_.end()) return;
  Table& t = tit->second;
  const std::string key = Key(ns, name);
  auto it = t.objects.find(key);
  if (it == t.objects.end()) return;
  const uint64_t rv = ++rv_;
  // A DELETED event carries the object's last state at the deletion's resourceVersion.
  Json last = Json::parse(*it->second.json);
  last["metadata"]["resourceVersion"] = std::to_string(rv);
  Change c{rv, key, ns, std::make_shared<const std::string>(WatchLine("DELETED", last.dump())),
           it->second};
  t.objects.erase(it);
  Record(t, std::move(c));
  dirty_ = true;
}

void ObjectStore::SetForbidden(const std::string& resource, bool forbidden) {
  absl::MutexLock lock(&mu_);
  if (forbidden) {
    forbidden_.insert(resource);
  } else {
    forbidden_.erase(resource);
  }
}

bool ObjectStore::Forbidden(const std::string& resource) const {
  absl::ReaderMutexLock lock(&mu_);
  return forbidden_.count(resource) > 0;
}

void ObjectStore::Compact() {
  absl::MutexLock lock(&mu_);
  for (auto& [name, t] : tables_) {
    t.history.clear();
    t.oldest = rv_;
  }
  dirty_ = true;  // watchers behind learn they are gone
}

uint64_t ObjectStore::resource_version() const {
  absl::ReaderMutexLock lock(&mu_);
  return rv_;
}

const ObjectStore::Table* ObjectStore::Find(const std::string& resource) const {
  auto it = tables_.find(resource);
  return it == tables_.end() ? nullptr : &it->second;
}

ObjectStore::Answer ObjectStore::List(const ResourceInfo& r, absl::string_view ns, size_t limit,
                                      absl::string_view continue_token) const {
  absl::ReaderMutexLock lock(&mu_);
  uint64_t at = rv_;
  std::string start;
  const bool continued = !continue_token.empty();
  if (continued && !DecodeContinue(continue_token, at, start)) {
    return {400, StatusJson(400, "BadRequest", "invalid continue token")};
  }
  static const Table kEmpty;
  const Table* found = Find(r.resource);
  const Table& t = found != nullptr ? *found : kEmpty;
  if (continued && (at < t.oldest || at > rv_)) {
    return {410, StatusJson(410, "Expired",
                            "The provided continue parameter is too old to display a consistent "
                            "list result. You can start a new list without the continue "
                            "parameter.")};
  }
  // The state at `at`: the current objects, with every key changed since put back to what it
  // was then (the oldest change after `at` holds it: absent before an ADDED).
  std::map<std::string, std::optional<Entry>> then;
  for (auto it = t.history.rbegin(); it != t.history.rend() && it->rv > at; ++it) {
    then[it->key] = it->prev;
  }
  std::vector<const Entry*> page;
  std::string last_key;
  size_t remaining = 0;
  auto consider = [&](const std::string& key, const Entry* e) {
    if (e == nullptr || !InNamespace(ns, e->ns)) return;
    if (limit == 0 || page.size() < limit) {
      page.push_back(e);
      last_key = key;
    } else {
      ++remaining;
    }
  };
  auto cur = continued ? t.objects.upper_bound(start) : t.objects.begin();
  auto old = continued ? then.upper_bound(start) : then.begin();
  while (cur != t.objects.end() || old != then.end()) {
    if (old == then.end() || (cur != t.objects.end() && cur->first < old->first)) {
      consider(cur->first, &cur->second);
      ++cur;
    } else {
      if (cur != t.objects.end() && cur->first == old->first) ++cur;
      consider(old->first, old->second ? &*old->second : nullptr);
      ++old;
    }
  }
  std::string body = absl::StrCat("{\"kind\":\"", r.ListKind(), "\",\"apiVersion\":\"",
                                  r.group_version, "\",\"metadata\":{\"resourceVersion\":\"", at,
                                  "\"");
  if (remaining > 0) {
    absl::StrAppend(&body, ",\"continue\":\"", EncodeContinue(at, last_key),
                    "\",\"remainingItemCount\":", remaining);
  }
  absl::StrAppend(&body, "},\"items\":[");
  for (size_t i = 0; i < page.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += *page[i]->json;
  }
  body += "]}";
  return {200, std::move(body)};
}

ObjectStore::Answer ObjectStore::Get(const ResourceInfo& r, absl::string_view ns,
                                     absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  if (const Table* t = Find(r.resource)) {
    if (auto it = t->objects.find(Key(ns, name)); it != t->objects.end()) {
      return {200, *it->second.json};
    }
  }
  return {404, StatusJson(404, "NotFound",
                          absl::StrCat(r.resource, " \"", name, "\" not found"))};
}

ObjectStore::Changes ObjectStore::ChangesAfter(const std::string& resource, absl::string_view ns,
                                               uint64_t after, size_t max) const {
  absl::ReaderMutexLock lock(&mu_);
  Changes out;
  out.last = after;
  const Table* t = Find(resource);
  if (t == nullptr) {
    out.last = std::max(after, rv_);
    return out;
  }
  if (after < t->oldest) {
    out.gone = true;
    return out;
  }
  // History is ordered by rv: skip to the first change after `after`.
  auto it = std::upper_bound(t->history.begin(), t->history.end(), after,
                             [](uint64_t rv, const Change& c) { return rv < c.rv; });
  for (; it != t->history.end() && out.lines.size() < max; ++it) {
    if (InNamespace(ns, it->ns)) out.lines.push_back(it->line);
    out.last = it->rv;
  }
  // Caught up: everything of this resource up to the store's revision has been seen.
  if (it == t->history.end()) out.last = std::max(out.last, rv_);
  return out;
}

ObjectStore::Changes ObjectStore::Snapshot(const std::string& resource,
                                           absl::string_view ns) const {
  absl::ReaderMutexLock lock(&mu_);
  Changes out;
  out.last = rv_;
  if (const Table* t = Find(resource)) {
    for (const auto& [key, e] : t->objects) {
      if (InNamespace(ns, e.ns)) {
        out.lines.push_back(std::make_shared<const std::string>(WatchLine("ADDED", *e.json)));
      }
    }
  }
  return out;
}

void ObjectStore::AddListener(std::function<void()> listener) const {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(listener));
}

void ObjectStore::Flush() {
  std::vector<std::function<void()>> listeners;
  {
    absl::MutexLock lock(&mu_);
    if (!dirty_) return;
    dirty_ = false;
    listeners = listeners_;
  }
  for (const auto& listener : listeners) listener();
}

}  // namespace k8i::kubesim

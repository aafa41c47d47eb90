#include "services/inventory/health/pg_health.h"

#include <atomic>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/logging.h"

namespace k8i::inventory {
namespace {

using k8intel::v1::ClusterHealth;

// Stores every KEYS[i] = ARGV[i] with the TTL (ms) in the last ARGV, in one round trip.
constexpr char kSetManyScript[] =
    "for i, k in ipairs(KEYS) do redis.call('SET', k, ARGV[i], 'PX', ARGV[#ARGV]) end "
    "return #KEYS";

// The separator of the names array_to_string returns (Kubernetes names never contain it).
constexpr char kSep[] = "\x1f";

// TextArray renders `values` as a PostgreSQL text[] literal.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::string> SplitNames(const pqxx::field& f) {
  if (f.is_null() || f.size() == 0) return {};
  return absl::StrSplit(f.c_str(), kSep);
}

// WarnRateLimited logs at most one warning per 10 s: Redis down must not flood the log.
void WarnRateLimited(const absl::Status& s) {
  static std::atomic<int64_t> last_warn_s{0};
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  int64_t prev = last_warn_s.load();
  if (now_s - prev >= 10 && last_warn_s.compare_exchange_strong(prev, now_s)) {
    Logger("health")->warn("health cache (Redis) unavailable, computing from PostgreSQL: {}",
                           s.ToString());
  }
}

std::string HeartbeatKey(const std::string& tenant, const std::string& cluster_id) {
  return absl::StrCat("k8i:heartbeat:", tenant, "/", cluster_id);
}

}  // namespace

PgClusterHealth::PgClusterHealth(pg::Pool* pool, redis::Client* redis, const Clock* clock,
                                 PgHealthOptions options, metrics::Registry& registry)
    : pool_(pool),
      redis_(redis),
      clock_(clock),
      options_(std::move(options)),
      cache_(registry.AddCounter(
          "k8i_cluster_health_cache_total",
          "Cluster health lookups in the Redis cache: hit, miss, error (Redis unavailable; "
          "computed from PostgreSQL).",
          {"result"})) {}

std::string PgClusterHealth::CacheKey(const std::string& tenant, const std::string& cluster_id) {
  return absl::StrCat("k8i:health:", tenant, "/", cluster_id);
}

std::vector<std::string> PgClusterHealth::Queries() const {
  const std::string n = absl::StrCat(options_.thresholds.max_names);
  const std::string scope =
      " FROM telemetry.objects WHERE tenant_id = $1 AND cluster_id = ANY($2::text[]) ";
  return {
      "SELECT cluster_id, (extract(epoch FROM last_seen) * 1000000)::bigint "
      "FROM telemetry.cluster_heartbeats WHERE tenant_id = $1 AND cluster_id = ANY($2::text[])",
      absl::StrCat("SELECT cluster_id, count(*), count(*) FILTER (WHERE NOT "
                   "telemetry.k8i_node_ready(object)), "
                   "array_to_string((array_agg(name ORDER BY name) FILTER (WHERE NOT "
                   "telemetry.k8i_node_ready(object)))[1:",
                   n, "], chr(31))", scope,
                   "AND kind = 'Node' AND NOT deleted GROUP BY cluster_id"),
      absl::StrCat("SELECT cluster_id, count(*)", scope,
                   "AND kind = 'Pod' AND NOT deleted GROUP BY cluster_id"),
      absl::StrCat("SELECT cluster_id, count(*), array_to_string((array_agg(namespace || '/' || "
                   "name ORDER BY namespace, name))[1:",
                   n, "], chr(31))", scope,
                   "AND kind = 'Pod' AND NOT deleted AND telemetry.k8i_pod_failing(object) "
                   "GROUP BY cluster_id"),
  };
}

absl::StatusOr<std::vector<ClusterFacts>> PgClusterHealth::Facts(
    const std::string& tenant, const std::vector<std::string>& cluster_ids) {
  std::vector<ClusterFacts> facts;
  absl::flat_hash_map<std::string, size_t> index;
  for (const auto& id : cluster_ids) {
    if (index.emplace(id, facts.size()).second) facts.push_back({.cluster_id = id});
  }
  if (facts.empty()) return facts;
  const std::vector<std::string> queries = Queries();
  const std::string ids = TextArray(cluster_ids);
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    for (auto& f : facts) f = ClusterFacts{.cluster_id = f.cluster_id};
    auto each = [&](const std::string& sql, auto&& fn) {
      for (const auto& row : tx.exec_params(sql, tenant, ids)) {
        auto it = index.find(row[0].as<std::string>());
        if (it != index.end()) fn(facts[it->second], row);
      }
    };
    each(queries[0], [](ClusterFacts& f, const pqxx::row& r) {
      f.last_heartbeat = absl::FromUnixMicros(r[1].as<int64_t>());
    });
    each(queries[1], [](ClusterFacts& f, const pqxx::row& r) {
      f.nodes = r[1].as<int>();
      f.nodes_not_ready = r[2].as<int>();
      f.not_ready_names = SplitNames(r[3]);
    });
    each(queries[2], [](ClusterFacts& f, const pqxx::row& r) { f.pods = r[1].as<int>(); });
    each(queries[3], [](ClusterFacts& f, const pqxx::row& r) {
      f.pods_failing = r[1].as<int>();
      f.failing_names = SplitNames(r[2]);
    });
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return facts;
}

absl::StatusOr<std::vector<ClusterHealth>> PgClusterHealth::Evaluate(
    const std::string& tenant, const std::vector<std::string>& cluster_ids) {
  std::vector<std::string> ids;  // distinct, first-seen order
  {
    absl::flat_hash_set<std::string> seen;
    for (const auto& id : cluster_ids) {
      if (seen.insert(id).second) ids.push_back(id);
    }
  }
  absl::flat_hash_map<std::string, ClusterHealth> result;
  absl::flat_hash_map<std::string, absl::Time> redis_heartbeat;
  const bool use_cache = options_.cache_ttl > absl::ZeroDuration();
  bool redis_ok = redis_ != nullptr;
  if (redis_ok && !ids.empty()) {
    // One MGET: the cached healths (when caching), then the heartbeats.
    std::vector<std::string> argv = {"MGET"};
    if (use_cache) {
      for (const auto& id : ids) argv.push_back(CacheKey(tenant, id));
    }
    for (const auto& id : ids) argv.push_back(HeartbeatKey(tenant, id));
    absl::StatusOr<redis::Reply> reply = redis_->Command(argv);
    if (!reply.ok() || reply->type != redis::Reply::Type::kArray ||
        reply->elements.size() != argv.size() - 1) {
      redis_ok = false;
      cache_.WithLabels({"error"}).Inc();
      WarnRateLimited(reply.ok() ? absl::InternalError("unexpected MGET reply") : reply.status());
    } else {
      const size_t hb_offset = use_cache ? ids.size() : 0;
      for (size_t i = 0; i < ids.size(); ++i) {
        const redis::Reply& cached = reply->elements[i];
        if (use_cache && cached.type == redis::Reply::Type::kString) {
          ClusterHealth h;
          if (h.ParseFromString(cached.str)) {
            result.emplace(ids[i], std::move(h));
            continue;
          }
        }
        const redis::Reply& hb = reply->elements[hb_offset + i];
        int64_t ms = 0;
        if (hb.type == redis::Reply::Type::kString && absl::SimpleAtoi(hb.str, &ms)) {
          redis_heartbeat[ids[i]] = absl::FromUnixMillis(ms);
        }
      }
      if (use_cache) {
        cache_.WithLabels({"hit"}).Inc(static_cast<double>(result.size()));
        cache_.WithLabels({"miss"}).Inc(static_cast<double>(ids.size() - result.size()));
      }
    }
  }

  std::vector<std::string> misses;
  for (const auto& id : ids) {
    if (!result.contains(id)) misses.push_back(id);
  }
  if (!misses.empty()) {
    absl::StatusOr<std::vector<ClusterFacts>> facts = Facts(tenant, misses);
    if (!facts.ok()) return facts.status();
    const absl::Time now = clock_->Now();
    std::vector<std::string> argv = {"EVAL", kSetManyScript, absl::StrCat(misses.size())};
    std::vector<std::string> values;
    for (auto& f : *facts) {
      auto hb = redis_heartbeat.find(f.cluster_id);
      if (hb != redis_heartbeat.end() &&
          (!f.last_heartbeat.has_value() || hb->second > *f.last_heartbeat)) {
        f.last_heartbeat = hb->second;
      }
      ClusterHealth h = Classify(f, options_.thresholds, now);
      argv.push_back(CacheKey(tenant, f.cluster_id));
      values.push_back(h.SerializeAsString());
      result.emplace(f.cluster_id, std::move(h));
    }
    if (redis_ok && use_cache) {
      argv.insert(argv.end(), std::make_move_iterator(values.begin()),
                  std::make_move_iterator(values.end()));
      argv.push_back(absl::StrCat(
          absl::ToInt64Milliseconds(absl::Ceil(options_.cache_ttl, absl::Milliseconds(1)))));
      if (auto r = redis_->Command(argv); !r.ok()) {
        cache_.WithLabels({"error"}).Inc();
        WarnRateLimited(r.status());
      }
    }
  }

  std::vector<ClusterHealth> out;
  out.reserve(cluster_ids.size());
  for (const auto& id : cluster_ids) out.push_back(result.at(id));
  return out;
}

}  // namespace k8i::inventory

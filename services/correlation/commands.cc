#include "services/correlation/commands.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "k8intel/v1/incidents.pb.h"
#include "libs/common/logging.h"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

constexpr size_t kMaxActor = 200;
constexpr size_t kMaxComment = 1024;

}  // namespace

absl::Status ApplyAction(pqxx::work& tx, Engine& engine, const std::string& tenant,
                         const std::string& cluster, const std::string& id, bool resolve,
                         const std::string& actor, absl::Time at, const std::string& comment) {
  // Existence in the tenant first: nothing is created or locked for a stranger.
  const pqxx::result r = tx.exec_params(
      "SELECT cluster_id FROM correlation.incidents WHERE tenant_id = $1 AND id = $2", tenant, id);
  if (r.empty() || (!cluster.empty() && r[0][0].as<std::string>() != cluster)) {
    return absl::NotFoundError(absl::StrCat(
        "incident ", cluster.empty() ? id : absl::StrCat("clusters/", cluster, "/incidents/", id),
        " not found"));
  }
  const std::string in = r[0][0].as<std::string>();
  absl::Status result;
  absl::Status s = engine.WithCluster(tx, tenant, in, false, [&](ClusterCorrelator& c) {
    if (c.incident(id) == nullptr) {
      // Resolved long ago and no longer held in memory.
      result = absl::FailedPreconditionError(
          absl::StrCat("incident clusters/", in, "/incidents/", id, " is resolved and closed"));
      return absl::OkStatus();
    }
    result = resolve ? c.Resolve(id, actor, at, comment) : c.Acknowledge(id, actor, at, comment);
    // A refused action changed nothing: the transaction goes on (other commands of a batch).
    return absl::IsFailedPrecondition(result) || absl::IsNotFound(result) ? absl::OkStatus()
                                                                         : result;
  });
  if (!s.ok()) return s;
  return result;
}

const google::protobuf::Message& CommandHandler::Prototype() const {
  return v1::IncidentCommand::default_instance();
}

absl::Status CommandHandler::Validate(const kit::Delivery& d) const {
  const auto& c = static_cast<const v1::IncidentCommand&>(*d.payload);
  if (c.tenant().empty() || c.incident_id().empty()) {
    return absl::InvalidArgumentError("tenant and incident_id are required");
  }
  if (c.action() != v1::INCIDENT_ACTION_ACKNOWLEDGE && c.action() != v1::INCIDENT_ACTION_RESOLVE) {
    return absl::InvalidArgumentError("action must be ACKNOWLEDGE or RESOLVE");
  }
  if (c.actor().empty() || c.actor().size() > kMaxActor) {
    return absl::InvalidArgumentError("actor is required (at most 200 bytes)");
  }
  if (c.comment().size() > kMaxComment) {
    return absl::InvalidArgumentError("comment is longer than 1024 bytes");
  }
  if (!c.has_time()) return absl::InvalidArgumentError("time is required");
  return absl::OkStatus();
}

absl::Status CommandHandler::Apply(pqxx::work& tx,
                                   const std::vector<const kit::Delivery*>& batch) {
  // Clusters are locked in key order (Engine::WithCluster): commands are applied sorted by
  // their incident's (tenant, cluster), in arrival order within one.
  struct Item {
    std::string tenant, cluster;
    size_t index;
    const v1::IncidentCommand* command;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& c = static_cast<const v1::IncidentCommand&>(*batch[i]->payload);
    const pqxx::result r = tx.exec_params(
        "SELECT cluster_id FROM correlation.incidents WHERE tenant_id = $1 AND id = $2",
        c.tenant(), c.incident_id());
    if (r.empty()) {
      Logger("correlation")
          ->info("{} of incident {} by {} dropped: the tenant {} has no such incident",
                 IncidentAction_Name(c.action()), c.incident_id(), c.actor(), c.tenant());
      continue;
    }
    items.push_back({c.tenant(), r[0][0].as<std::string>(), i, &c});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.tenant, a.cluster, a.index) < std::tie(b.tenant, b.cluster, b.index);
  });
  for (const Item& it : items) {
    const v1::IncidentCommand& c = *it.command;
    const bool resolve = c.action() == v1::INCIDENT_ACTION_RESOLVE;
    absl::Status s = ApplyAction(tx, *engine_, c.tenant(), it.cluster, c.incident_id(), resolve,
                                 c.actor(), FromProtoTime(c.time()), c.comment());
    if (absl::IsFailedPrecondition(s) || absl::IsNotFound(s)) {
      Logger("correlation")
          ->info("{} of incident {} by {} dropped: {}", resolve ? "resolution" : "acknowledgement",
                 c.incident_id(), c.actor(), std::string(s.message()));
      continue;
    }
    if (!s.ok()) return s;
    Logger("correlation")
        ->info("incident clusters/{}/incidents/{} {} by {} (tenant {})", it.cluster,
               c.incident_id(), resolve ? "resolved" : "acknowledged", c.actor(), c.tenant());
  }
  return absl::OkStatus();
}

}  // namespace k8i::correlation

// PgNotificationStore: the notification schema — channels (secrets sealed with the keyring,
// bound to their row), routes and the delivery log — scoped to a tenant in every statement.
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "k8intel/v1/notifications.pb.h"
#include "libs/crypto/keyring.h"
#include "libs/pg/pool.h"
#include "services/notification/core/delivery_policy.h"
#include "services/notification/core/inbound.h"
#include "services/notification/core/routes.h"

namespace k8i::notification {

// What a channel keeps sealed.
struct ChannelSecrets {
  std::string url;
  std::string routing_key;
  std::vector<std::string> signing_keys;  // raw HMAC keys, current first
  // What inbound requests are signed with (Slack signing secret, PagerDuty webhook secret).
  std::string inbound_secret;
};

// Who makes a change, for the tenant's audit log.
struct Actor {
  std::string subject;  // the principal's subject
  std::string peer;     // the client address
};

struct ChannelRecord {
  k8intel::v1::Channel channel;  // as listed (no secrets)
  ChannelSecrets secrets;
};

// What became of one leased delivery: an attempt (when `attempted`) and its next state, or —
// without an attempt — a new time to be due (rate limit, open circuit, unreadable channel).
struct Outcome {
  int64_t id = 0;
  // The lease it was decided under (Claimed::lease_us); a delivery leased again since (its
  // lease expired while this outcome waited) keeps its new state. 0: no check.
  int64_t lease_us = 0;
  bool attempted = false;
  int attempt_number = 0;
  AttemptResult result;
  std::string reason;
  absl::Duration took;
  k8intel::v1::DeliveryState state = k8intel::v1::DELIVERY_STATE_PENDING;
  absl::Time next_at;
};

// A due delivery leased to a worker.
struct Claimed {
  int64_t id = 0;
  int64_t lease_us = 0;  // lease_until, µs since the epoch
  std::string tenant;
  std::string channel_id;
  int attempts = 0;
  k8intel::v1::IncidentEvent event;
};

class PgNotificationStore {
 public:
  // `keyring` may be null: channels then cannot be created or used (FailedPrecondition).
  // Every change is audited — an AuditRecord on `audit_topic` (k8i.audit.v1) written to the
  // outbox in the change's transaction — unless `audit_topic` is "".
  PgNotificationStore(pg::Pool* pool, const crypto::Keyring* keyring, std::string audit_topic = "")
      : pool_(pool), keyring_(keyring), audit_topic_(std::move(audit_topic)) {}

  absl::Status CreateChannel(const std::string& tenant, const k8intel::v1::Channel& channel,
                             const ChannelSecrets& secrets, const Actor& by);
  absl::StatusOr<std::vector<k8intel::v1::Channel>> ListChannels(const std::string& tenant);
  absl::StatusOr<ChannelRecord> GetChannel(const std::string& tenant, const std::string& id);
  // UpdateChannel rewrites a channel's settings and sealed URL, routing key and inbound secret
  // (its type and signing keys stay as stored).
  absl::Status UpdateChannel(const std::string& tenant, const k8intel::v1::Channel& channel,
                             const ChannelSecrets& secrets, const Actor& by);
  // FailedPrecondition while a route sends to it.
  absl::Status DeleteChannel(const std::string& tenant, const std::string& id, const Actor& by);
  // UpdateSecrets re-seals a channel's secrets (NotFound for an unknown channel).
  absl::Status UpdateSecrets(const std::string& tenant, const std::string& id,
                             const ChannelSecrets& secrets, const Actor& by);

  // The routes, in position order (as protos and as the routing core's Routes).
  absl::StatusOr<std::vector<k8intel::v1::Route>> ListRoutes(const std::string& tenant);
  // PutRoute creates (or, with `replace`, replaces) a route. InvalidArgument when the route set
  // with it would not validate (ValidateRoutes) or it names an unknown channel; AlreadyExists
  // for a taken id when creating, NotFound for an unknown one when replacing.
  absl::Status PutRoute(const std::string& tenant, const k8intel::v1::Route& route, bool replace,
                        const Actor& by);
  absl::Status DeleteRoute(const std::string& tenant, const std::string& id, const Actor& by);

  // RecordRouted inserts the deliveries of one state change (in the consumer's transaction);
  // a (change, channel) already there is left as it is.
  static void RecordRouted(pqxx::work& tx, const k8intel::v1::IncidentEvent& event,
                           const std::vector<Routed>& routed);
  // EarlierChannels: the (route, channel) pairs earlier changes of the event's incident were
  // routed to, inside `tx`.
  static std::vector<std::pair<std::string, std::string>> EarlierChannels(
      pqxx::work& tx, const k8intel::v1::IncidentEvent& event);
  // LoadRoutes reads a tenant's routes for the router, inside `tx`.
  static std::vector<Route> LoadRoutes(pqxx::work& tx, const std::string& tenant);

  // Claim leases up to `limit` due pending deliveries (each the earliest pending change of its
  // incident for its channel) for `lease`.
  absl::StatusOr<std::vector<Claimed>> Claim(int limit, absl::Duration lease);
  // FinishAll records outcomes in one transaction (the attempts, and each delivery's next
  // state, releasing its lease; `next_at` is when a pending delivery is due again).
  absl::Status FinishAll(const std::vector<Outcome>& outcomes);
  // NextDue: when the earliest pending delivery is due (nullopt when none).
  absl::StatusOr<std::optional<absl::Time>> NextDue();

  // RecordInbound records the actions of one verified inbound request (in `tx`) and enqueues
  // an IncidentCommand on `topic` (k8i.incident-commands.v1) — and its audit event, as the
  // person, from `peer` — for each one not recorded before. Returns how many were new.
  int RecordInbound(pqxx::work& tx, const std::string& tenant, const std::string& channel,
                    const std::string& source, const std::vector<InboundAction>& actions,
                    absl::Time now, const std::string& topic, const std::string& peer) const;

  // Prune deletes finished deliveries (and their attempts) last updated before `before`,
  // inbound actions received before `before`, and processed-message records older than
  // `dedup_before`. Returns the deliveries deleted.
  static int64_t Prune(pqxx::work& tx, absl::Time before, absl::Time dedup_before);

  struct DeliveryFilter {
    std::string channel;
    std::string incident_id;
    k8intel::v1::DeliveryState state = k8intel::v1::DELIVERY_STATE_UNSPECIFIED;
  };
  // ListDeliveries: newest first, `limit` after id `before` (0: from the newest).
  absl::StatusOr<std::vector<k8intel::v1::Delivery>> ListDeliveries(const std::string& tenant,
                                                                   const DeliveryFilter& filter,
                                                                   int64_t before, int limit);

 private:
  absl::StatusOr<std::string> Seal(const std::string& tenant, const std::string& id,
                                   const ChannelSecrets& secrets) const;
  absl::StatusOr<ChannelSecrets> OpenSecrets(const std::string& tenant, const std::string& id,
                                             const std::string& sealed) const;

  void Audit(pqxx::work& tx, const std::string& tenant, const Actor& by, const std::string& action,
             const std::string& target) const;

  pg::Pool* pool_;
  const crypto::Keyring* keyring_;
  const std::string audit_topic_;
};

// The id of a delivery from its name `deliveries/{id}`.
std::string DeliveryName(int64_t id);

}  // namespace k8i::notification

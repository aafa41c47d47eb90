#include "services/notification/store/pg_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/crypto/envelope.h"
#include "libs/kit/audit.h"
#include "libs/kit/outbox.h"
#include "services/notification/config.h"
#include "nlohmann/json.hpp"

namespace k8i::notification {
namespace {

namespace v1 = ::k8intel::v1;
using nlohmann::json;

constexpr char kNoKeyring[] =
    "no keyring is configured, so channel secrets cannot be stored or read: set "
    "K8I_KEYRING_FILE (or K8I_KEYRING) on k8i-notification";

std::string Aad(const std::string& tenant, const std::string& id) {
  return absl::StrCat(tenant, "/channels/", id);
}

void SetTime(int64_t us, google::protobuf::Timestamp* t) {
  t->set_seconds(us / 1'000'000);
  t->set_nanos(static_cast<int32_t>(us % 1'000'000) * 1000);
}

// Where an interactive channel takes actions back (inbound_endpoint.h).
void SetInboundPath(const std::string& tenant, v1::Channel& c) {
  if (!c.interactive()) return;
  const char* source = c.type() == v1::CHANNEL_TYPE_SLACK       ? "slack"
                       : c.type() == v1::CHANNEL_TYPE_PAGERDUTY ? "pagerduty"
                                                                : nullptr;
  if (source != nullptr) c.set_inbound_path(absl::StrCat("/v1/", source, "/", tenant, "/", c.id()));
}

v1::Channel ChannelFromRow(const pqxx::row& r) {
  v1::Channel c;
  c.set_id(r["id"].as<std::string>());
  c.set_name("channels/" + c.id());
  c.set_type(static_cast<v1::ChannelType>(r["type"].as<int>()));
  c.set_display_name(r["display_name"].as<std::string>());
  c.set_secret_hint(r["secret_hint"].as<std::string>());
  const json settings = json::parse(r["settings"].as<std::string>(), nullptr, false);
  if (settings.is_object()) {
    c.set_interactive(settings.value("interactive", false));
    c.set_rate_per_second(settings.value("rate", 0.0));
  }
  SetTime(r["create_us"].as<int64_t>(), c.mutable_create_time());
  return c;
}

constexpr char kChannelColumns[] =
    "id, type, display_name, settings::text AS settings, secret_hint, secret, "
    "(extract(epoch FROM create_time) * 1000000)::bigint AS create_us";

Route ToCore(const v1::Route& r) {
  Route out;
  out.name = r.id();
  out.min_severity = r.min_severity();
  out.clusters = {r.clusters().begin(), r.clusters().end()};
  out.namespaces = {r.namespaces().begin(), r.namespaces().end()};
  out.kinds = {r.kinds().begin(), r.kinds().end()};
  for (int s : r.scopes()) out.scopes.insert(static_cast<v1::IncidentScope>(s));
  out.labels = {r.labels().begin(), r.labels().end()};
  out.channels = {r.channels().begin(), r.channels().end()};
  for (const auto& m : r.mutes()) {
    out.mutes.push_back({.days = {m.days().begin(), m.days().end()},
                         .start_minute = m.start_minute(),
                         .end_minute = m.end_minute()});
  }
  out.continue_matching = r.continue_matching();
  out.is_default = r.is_default();
  return out;
}

std::vector<v1::Route> ReadRoutes(pqxx::work& tx, const std::string& tenant) {
  std::vector<v1::Route> out;
  for (const auto& r : tx.exec_params(
           "SELECT body FROM notification.routes WHERE tenant_id = $1 ORDER BY position, id",
           tenant)) {
    const pqxx::binarystring b(r[0]);
    v1::Route route;
    if (route.ParseFromArray(b.data(), static_cast<int>(b.size()))) out.push_back(std::move(route));
  }
  return out;
}

}  // namespace

std::string DeliveryName(int64_t id) { return absl::StrCat("deliveries/", id); }

absl::StatusOr<std::string> PgNotificationStore::Seal(const std::string& tenant,
                                                      const std::string& id,
                                                      const ChannelSecrets& secrets) const {
  if (keyring_ == nullptr) return absl::FailedPreconditionError(kNoKeyring);
  json keys = json::array();
  for (const auto& k : secrets.signing_keys) keys.push_back(absl::Base64Escape(k));
  json plain = {{"url", secrets.url}, {"routing_key", secrets.routing_key}, {"signing_keys", keys}};
  if (!secrets.inbound_secret.empty()) plain["inbound_secret"] = secrets.inbound_secret;
  return crypto::Seal(*keyring_, plain.dump(), Aad(tenant, id));
}

absl::Status PgNotificationStore::UpdateSecrets(const std::string& tenant, const std::string& id,
                                                const ChannelSecrets& secrets, const Actor& by) {
  auto sealed = Seal(tenant, id, secrets);
  if (!sealed.ok()) return sealed.status();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    const pqxx::result r = tx.exec_params(
        "UPDATE notification.channels SET secret = $3 WHERE tenant_id = $1 AND id = $2", tenant, id,
        pqxx::binarystring(sealed->data(), sealed->size()));
    if (r.affected_rows() == 0) return absl::NotFoundError(absl::StrCat("channels/", id, " not found"));
    Audit(tx, tenant, by, "RotateSigningSecret", "channels/" + id);
    return absl::OkStatus();
  });
}

absl::Status PgNotificationStore::CreateChannel(const std::string& tenant, const v1::Channel& ch,
                                                const ChannelSecrets& secrets, const Actor& by) {
  auto sealed = Seal(tenant, ch.id(), secrets);
  if (!sealed.ok()) return sealed.status();
  const json settings = {{"interactive", ch.interactive()}, {"rate", ch.rate_per_second()}};
  bool inserted = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    const pqxx::result r = tx.exec_params(
        "INSERT INTO notification.channels (tenant_id, id, type, display_name, settings, "
        "secret_hint, secret) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT DO NOTHING",
        tenant, ch.id(), static_cast<int>(ch.type()), ch.display_name(), settings.dump(),
        ch.secret_hint(), pqxx::binarystring(sealed->data(), sealed->size()));
    inserted = r.affected_rows() == 1;
    if (inserted) Audit(tx, tenant, by, "CreateChannel", "channels/" + ch.id());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!inserted) return absl::AlreadyExistsError(absl::StrCat("channel ", ch.id(), " exists"));
  return absl::OkStatus();
}

absl::Status PgNotificationStore::UpdateChannel(const std::string& tenant, const v1::Channel& ch,
                                                const ChannelSecrets& secrets, const Actor& by) {
  const json settings = {{"interactive", ch.interactive()}, {"rate", ch.rate_per_second()}};
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    // The signing keys are the stored ones, read under the row's lock: a rotation that landed
    // since the caller read the channel is kept.
    const pqxx::result cur = tx.exec_params(
        "SELECT secret FROM notification.channels WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant, ch.id());
    if (cur.empty()) return absl::NotFoundError(absl::StrCat("channels/", ch.id(), " not found"));
    const pqxx::binarystring b(cur[0][0]);
    auto stored = OpenSecrets(tenant, ch.id(),
                              std::string(reinterpret_cast<const char*>(b.data()), b.size()));
    if (!stored.ok()) return stored.status();
    ChannelSecrets next = secrets;
    next.signing_keys = stored->signing_keys;
    auto sealed = Seal(tenant, ch.id(), next);
    if (!sealed.ok()) return sealed.status();
    const pqxx::result r = tx.exec_params(
        "UPDATE notification.channels SET display_name = $3, settings = $4::jsonb, "
        "secret_hint = $5, secret = $6 WHERE tenant_id = $1 AND id = $2",
        tenant, ch.id(), ch.display_name(), settings.dump(), ch.secret_hint(),
        pqxx::binarystring(sealed->data(), sealed->size()));
    if (r.affected_rows() == 0) return absl::NotFoundError(absl::StrCat("channels/", ch.id(), " not found"));
    Audit(tx, tenant, by, "UpdateChannel", "channels/" + ch.id());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::Channel>> PgNotificationStore::ListChannels(const std::string& tenant) {
  std::vector<v1::Channel> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    for (const auto& r : tx.exec_params(absl::StrCat("SELECT ", kChannelColumns,
                                                     " FROM notification.channels WHERE "
                                                     "tenant_id = $1 ORDER BY id"),
                                        tenant)) {
      out.push_back(ChannelFromRow(r));
      SetInboundPath(tenant, out.back());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<ChannelRecord> PgNotificationStore::GetChannel(const std::string& tenant,
                                                              const std::string& id) {
  std::optional<ChannelRecord> rec;
  std::string sealed;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    for (const auto& r : tx.exec_params(absl::StrCat("SELECT ", kChannelColumns,
                                                     " FROM notification.channels WHERE "
                                                     "tenant_id = $1 AND id = $2"),
                                        tenant, id)) {
      rec.emplace();
      rec->channel = ChannelFromRow(r);
      SetInboundPath(tenant, rec->channel);
      const pqxx::binarystring b(r["secret"]);
      sealed.assign(reinterpret_cast<const char*>(b.data()), b.size());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!rec) return absl::NotFoundError(absl::StrCat("channels/", id, " not found"));
  auto secrets = OpenSecrets(tenant, id, sealed);
  if (!secrets.ok()) return secrets.status();
  rec->secrets = *std::move(secrets);
  return *std::move(rec);
}

absl::StatusOr<ChannelSecrets> PgNotificationStore::OpenSecrets(const std::string& tenant,
                                                                const std::string& id,
                                                                const std::string& sealed) const {
  if (keyring_ == nullptr) return absl::FailedPreconditionError(kNoKeyring);
  auto plain = crypto::Open(*keyring_, sealed, Aad(tenant, id));
  if (!plain.ok()) return plain.status();
  const json j = json::parse(*plain, nullptr, false);
  if (!j.is_object()) return absl::DataLossError("channel secrets do not parse");
  ChannelSecrets out;
  out.url = j.value("url", "");
  out.routing_key = j.value("routing_key", "");
  out.inbound_secret = j.value("inbound_secret", "");
  for (const auto& k : j.value("signing_keys", json::array())) {
    std::string raw;
    if (k.is_string() && absl::Base64Unescape(k.get<std::string>(), &raw)) {
      out.signing_keys.push_back(raw);
    }
  }
  return out;
}

absl::Status PgNotificationStore::DeleteChannel(const std::string& tenant, const std::string& id,
                                                const Actor& by) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    for (const auto& r : ReadRoutes(tx, tenant)) {
      for (const auto& c : r.channels()) {
        if (c == id) {
          return absl::FailedPreconditionError(
              absl::StrCat("route ", r.id(), " sends to channel ", id, "; delete the route first"));
        }
      }
    }
    const pqxx::result r = tx.exec_params(
        "DELETE FROM notification.channels WHERE tenant_id = $1 AND id = $2", tenant, id);
    if (r.affected_rows() == 0) return absl::NotFoundError(absl::StrCat("channels/", id, " not found"));
    Audit(tx, tenant, by, "DeleteChannel", "channels/" + id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::Route>> PgNotificationStore::ListRoutes(const std::string& tenant) {
  std::vector<v1::Route> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out = ReadRoutes(tx, tenant);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgNotificationStore::PutRoute(const std::string& tenant, const v1::Route& route,
                                           bool replace, const Actor& by) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    // One writer of a tenant's routes at a time: the set is validated as a whole.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "notification-routes/" + tenant);
    std::vector<v1::Route> all = ReadRoutes(tx, tenant);
    std::vector<Route> core;
    bool found = false;
    for (const auto& r : all) {
      if (r.id() == route.id()) {
        if (!replace) return absl::AlreadyExistsError(absl::StrCat("route ", r.id(), " exists"));
        found = true;
        continue;
      }
      core.push_back(ToCore(r));
    }
    if (replace && !found) return absl::NotFoundError(absl::StrCat("routes/", route.id(), " not found"));
    core.push_back(ToCore(route));
    if (absl::Status v = ValidateRoutes(core); !v.ok()) return v;
    for (const auto& c : route.channels()) {
      if (tx.exec_params("SELECT 1 FROM notification.channels WHERE tenant_id = $1 AND id = $2",
                         tenant, c)
              .empty()) {
        return absl::InvalidArgumentError(absl::StrCat("no channel ", c));
      }
    }
    const std::string body = route.SerializeAsString();
    tx.exec_params(
        "INSERT INTO notification.routes (tenant_id, id, position, body) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant_id, id) DO UPDATE SET position = EXCLUDED.position, body = EXCLUDED.body",
        tenant, route.id(), route.position(), pqxx::binarystring(body.data(), body.size()));
    Audit(tx, tenant, by, replace ? "UpdateRoute" : "CreateRoute", "routes/" + route.id());
    return absl::OkStatus();
  });
}

absl::Status PgNotificationStore::DeleteRoute(const std::string& tenant, const std::string& id,
                                              const Actor& by) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    const pqxx::result r = tx.exec_params(
        "DELETE FROM notification.routes WHERE tenant_id = $1 AND id = $2", tenant, id);
    if (r.affected_rows() == 0) return absl::NotFoundError(absl::StrCat("routes/", id, " not found"));
    Audit(tx, tenant, by, "DeleteRoute", "routes/" + id);
    return absl::OkStatus();
  });
}

std::vector<std::pair<std::string, std::string>> PgNotificationStore::EarlierChannels(
    pqxx::work& tx, const v1::IncidentEvent& event) {
  std::vector<std::pair<std::string, std::string>> out;
  if (event.change().sequence() <= 1) return out;  // the first change has none before it
  // Each channel once, by its first change's route.
  for (const auto& r : tx.exec_params(
           "SELECT DISTINCT ON (channel_id) route_id, channel_id FROM notification.deliveries "
           "WHERE tenant_id = $1 AND incident_id = $2 AND seq < $3 ORDER BY channel_id, seq",
           event.tenant(), event.incident().id(), event.change().sequence())) {
    out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
  }
  return out;
}

std::vector<Route> PgNotificationStore::LoadRoutes(pqxx::work& tx, const std::string& tenant) {
  std::vector<Route> out;
  for (const auto& r : ReadRoutes(tx, tenant)) out.push_back(ToCore(r));
  return out;
}

void PgNotificationStore::RecordRouted(pqxx::work& tx, const v1::IncidentEvent& event,
                                       const std::vector<Routed>& routed) {
  const std::string body = event.SerializeAsString();
  for (const Routed& r : routed) {
    tx.exec_params(
        "INSERT INTO notification.deliveries (tenant_id, incident_id, seq, channel_id, route_id, "
        "change_type, incident_name, state, event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (tenant_id, incident_id, seq, channel_id) DO NOTHING",
        event.tenant(), event.incident().id(), event.change().sequence(), r.channel, r.route,
        static_cast<int>(event.change().type()), event.incident().name(),
        static_cast<int>(r.muted ? v1::DELIVERY_STATE_MUTED : v1::DELIVERY_STATE_PENDING),
        pqxx::binarystring(body.data(), body.size()));
  }
}

absl::StatusOr<std::vector<Claimed>> PgNotificationStore::Claim(int limit, absl::Duration lease) {
  std::vector<Claimed> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    // Due, not leased (or its lease expired: a worker died mid-attempt), and the earliest
    // pending change of its incident for its channel (changes arrive in order).
    for (const auto& r : tx.exec_params(
             "UPDATE notification.deliveries d SET lease_until = now() + make_interval(secs => $2) "
             "WHERE d.id IN (SELECT c.id FROM notification.deliveries c WHERE c.state = 1 AND "
             "c.next_attempt_at <= now() AND (c.lease_until IS NULL OR c.lease_until < now()) AND "
             "NOT EXISTS (SELECT 1 FROM notification.deliveries e WHERE e.tenant_id = c.tenant_id "
             "AND e.incident_id = c.incident_id AND e.channel_id = c.channel_id AND e.seq < c.seq "
             "AND e.state = 1) ORDER BY c.next_attempt_at, c.id LIMIT $1 FOR UPDATE SKIP LOCKED) "
             "RETURNING d.id, d.tenant_id, d.channel_id, d.attempts, d.event, "
             "(extract(epoch FROM d.lease_until) * 1000000)::bigint",
             limit, absl::ToDoubleSeconds(lease))) {
      Claimed c;
      c.id = r[0].as<int64_t>();
      c.tenant = r[1].as<std::string>();
      c.channel_id = r[2].as<std::string>();
      c.attempts = r[3].as<int>();
      const pqxx::binarystring b(r[4]);
      c.event.ParseFromArray(b.data(), static_cast<int>(b.size()));
      c.lease_us = r[5].as<int64_t>();
      out.push_back(std::move(c));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgNotificationStore::FinishAll(const std::vector<Outcome>& outcomes) {
  if (outcomes.empty()) return absl::OkStatus();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    // Two statements for the lot: the attempts, then the deliveries' new states.
    std::string attempts, updates;
    for (const Outcome& o : outcomes) {
      if (o.attempted) {
        absl::StrAppend(&attempts, attempts.empty() ? "" : ", ", "(", o.id, ", ",
                        o.attempt_number, ", ", o.result.status, ", ", tx.quote(o.reason), ", ",
                        absl::ToInt64Milliseconds(o.took), ")");
      }
      absl::StrAppend(&updates, updates.empty() ? "" : ", ", "(", o.id, "::bigint, ",
                      static_cast<int>(o.state), "::smallint, ", o.attempted ? 1 : 0, ", ",
                      absl::ToUnixMicros(o.next_at), "::bigint, ", o.lease_us, "::bigint)");
    }
    if (!attempts.empty()) {
      tx.exec(absl::StrCat(
          "INSERT INTO notification.attempts (delivery_id, n, at, status, reason, duration_ms) "
          "SELECT v.id, v.n, now(), v.status, v.reason, v.ms FROM (VALUES ",
          attempts, ") AS v(id, n, status, reason, ms) ON CONFLICT DO NOTHING"));
    }
    tx.exec(absl::StrCat(
        "UPDATE notification.deliveries d SET state = v.state, attempts = d.attempts + v.inc, "
        "next_attempt_at = to_timestamp(v.next_us::double precision / 1e6), lease_until = NULL, "
        "update_time = CASE WHEN v.inc = 1 OR v.state <> 1 THEN now() ELSE d.update_time END "
        "FROM (VALUES ",
        updates,
        ") AS v(id, state, inc, next_us, lease_us) WHERE d.id = v.id AND (v.lease_us = 0 OR "
        "(extract(epoch FROM d.lease_until) * 1000000)::bigint = v.lease_us)"));
    return absl::OkStatus();
  });
}

int64_t PgNotificationStore::Prune(pqxx::work& tx, absl::Time before, absl::Time dedup_before) {
  const pqxx::result r = tx.exec_params(
      "DELETE FROM notification.deliveries WHERE state <> 1 AND update_time < "
      "to_timestamp($1::double precision / 1e6)",
      absl::ToUnixMicros(before));
  tx.exec_params(
      "DELETE FROM notification.processed_messages WHERE processed_at < "
      "to_timestamp($1::double precision / 1e6)",
      absl::ToUnixMicros(dedup_before));
  tx.exec_params(
      "DELETE FROM notification.inbound_actions WHERE received_at < "
      "to_timestamp($1::double precision / 1e6)",
      absl::ToUnixMicros(before));
  return r.affected_rows();
}

absl::StatusOr<std::optional<absl::Time>> PgNotificationStore::NextDue() {
  std::optional<absl::Time> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    for (const auto& r : tx.exec(
             "SELECT (extract(epoch FROM min(greatest(next_attempt_at, coalesce(lease_until, "
             "next_attempt_at)))) * 1000000)::bigint FROM notification.deliveries WHERE state = 1")) {
      if (!r[0].is_null()) out = absl::FromUnixMicros(r[0].as<int64_t>());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<v1::Delivery>> PgNotificationStore::ListDeliveries(
    const std::string& tenant, const DeliveryFilter& f, int64_t before, int limit) {
  std::vector<v1::Delivery> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.clear();
    const pqxx::result rows = tx.exec_params(
        "SELECT id, incident_name, incident_id, seq, change_type, channel_id, route_id, state, "
        "(extract(epoch FROM create_time) * 1000000)::bigint, "
        "(extract(epoch FROM update_time) * 1000000)::bigint, "
        "(extract(epoch FROM next_attempt_at) * 1000000)::bigint FROM notification.deliveries "
        "WHERE tenant_id = $1 AND id < $2 AND ($3 = '' OR channel_id = $3) AND ($4 = '' OR "
        "incident_id = $4) AND ($5 = 0 OR state = $5) ORDER BY id DESC LIMIT $6",
        tenant, before > 0 ? before : INT64_MAX, f.channel, f.incident_id,
        static_cast<int>(f.state), limit);
    std::vector<std::string> ids;
    for (const auto& r : rows) {
      v1::Delivery d;
      d.set_name(DeliveryName(r[0].as<int64_t>()));
      d.set_incident(r[1].as<std::string>());
      d.set_incident_id(r[2].as<std::string>());
      d.set_sequence(r[3].as<int64_t>());
      d.set_change_type(static_cast<v1::IncidentChangeType>(r[4].as<int>()));
      d.set_channel(r[5].as<std::string>());
      d.set_route(r[6].as<std::string>());
      d.set_state(static_cast<v1::DeliveryState>(r[7].as<int>()));
      SetTime(r[8].as<int64_t>(), d.mutable_create_time());
      SetTime(r[9].as<int64_t>(), d.mutable_update_time());
      if (d.state() == v1::DELIVERY_STATE_PENDING) SetTime(r[10].as<int64_t>(), d.mutable_next_attempt_time());
      ids.push_back(r[0].as<std::string>());
      out.push_back(std::move(d));
    }
    if (ids.empty()) return absl::OkStatus();
    std::map<std::string, v1::Delivery*> by_id;
    for (auto& d : out) by_id[d.name().substr(strlen("deliveries/"))] = &d;
    for (const auto& r : tx.exec_params(
             "SELECT delivery_id, (extract(epoch FROM at) * 1000000)::bigint, status, reason, "
             "duration_ms FROM notification.attempts WHERE delivery_id = ANY($1::bigint[]) "
             "ORDER BY delivery_id, n",
             absl::StrCat("{", absl::StrJoin(ids, ","), "}"))) {
      auto it = by_id.find(r[0].as<std::string>());
      if (it == by_id.end()) continue;
      auto* a = it->second->add_attempts();
      SetTime(r[1].as<int64_t>(), a->mutable_time());
      a->set_status(r[2].as<int>());
      a->set_reason(r[3].as<std::string>());
      a->set_duration_ms(r[4].as<int64_t>());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

void PgNotificationStore::Audit(pqxx::work& tx, const std::string& tenant, const Actor& by,
                                const std::string& action, const std::string& target) const {
  if (audit_topic_.empty()) return;
  kit::EnqueueAudit(tx, kSchema, audit_topic_, "notification",
                    {.tenant = tenant,
                     .actor = by.subject,
                     .action = action,
                     .target = target,
                     .peer = by.peer,
                     .time = absl::Now()});
}

int PgNotificationStore::RecordInbound(pqxx::work& tx, const std::string& tenant,
                                       const std::string& channel, const std::string& source,
                                       const std::vector<InboundAction>& actions, absl::Time now,
                                       const std::string& topic, const std::string& peer) const {
  int recorded = 0;
  for (const InboundAction& a : actions) {
    const pqxx::result r = tx.exec_params(
        "INSERT INTO notification.inbound_actions (tenant_id, event_id, channel_id, source, "
        "action, incident_id, actor, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "to_timestamp($8::double precision / 1e6)) "
        "ON CONFLICT DO NOTHING",
        tenant, a.event_id, channel, source, static_cast<int>(a.action), a.incident_id, a.actor,
        absl::ToUnixMicros(now));
    if (r.affected_rows() == 0) continue;  // a redelivered request
    ++recorded;
    v1::IncidentCommand cmd;
    cmd.set_tenant(tenant);
    cmd.set_incident_id(a.incident_id);
    cmd.set_action(a.action);
    cmd.set_actor(a.actor);
    cmd.set_comment(absl::StrCat("from ", source, " through channels/", channel));
    SetTime(absl::ToUnixMicros(now), cmd.mutable_time());
    kit::OutboxMessage m;
    m.topic = topic;
    m.key = absl::StrCat(tenant, "/", a.incident_id);
    cmd.SerializeToString(&m.value);
    m.event = {.id = a.event_id,
               .source = absl::StrCat("/k8i-notification/", tenant, "/channels/", channel),
               .type = "dev.k8intel.incident-commands.v1",
               .time = now};
    kit::Enqueue(tx, kSchema, m);
    Audit(tx, tenant, {.subject = a.actor, .peer = peer},
          a.action == v1::INCIDENT_ACTION_RESOLVE ? "ResolveIncident" : "AcknowledgeIncident",
          absl::StrCat("incidents/", a.incident_id, " (from ", source, " through channels/",
                       channel, ")"));
  }
  return recorded;
}

}  // namespace k8i::notification

// Acknowledging and resolving incidents by hand: the one path both the API
// (IncidentService.AcknowledgeIncident / ResolveIncident) and the commands that arrive from
// where incidents were delivered (k8i.incident-commands.v1: a Slack button, a PagerDuty
// acknowledgement, verified by k8i-notification) go through, so both record the same state
// change with the person as its actor.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/kit/consumer.h"
#include "pqxx/pqxx"
#include "services/correlation/engine.h"

namespace k8i::correlation {

// ApplyAction acknowledges (or resolves) incident `id` of `tenant` as `actor` at `at`, inside
// `tx`. `cluster` "" looks the incident's cluster up. NotFound when the tenant has no such
// incident (in that cluster); FailedPrecondition when it is resolved and no longer held in
// memory, or to acknowledge a resolved one. Repeating an action changes nothing.
absl::Status ApplyAction(pqxx::work& tx, Engine& engine, const std::string& tenant,
                         const std::string& cluster, const std::string& id, bool resolve,
                         const std::string& actor, absl::Time at, const std::string& comment);

// CommandHandler applies IncidentCommand messages: each at the time the person acted. A
// command for an incident that is unknown, closed or already past the action is logged and
// dropped (the person gets the incident's current state back through the channel), never
// retried.
class CommandHandler final : public kit::Handler {
 public:
  explicit CommandHandler(Engine* engine, std::function<void()> committed = nullptr)
      : engine_(engine), committed_(std::move(committed)) {}
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
  void Committed() override {
    if (committed_) committed_();
  }

 private:
  Engine* engine_;
  std::function<void()> committed_;
};

inline constexpr char kCommandConsumer[] = "k8i-correlation-commands";

}  // namespace k8i::correlation

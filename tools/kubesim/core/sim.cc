#include "tools/kubesim/core/sim.h"

#include <cmath>
#include <map>

#include "tools/kubesim/core/engine.h"

namespace k8i::kubesim {

Simulation::Simulation(Scenario s, SimOptions o, ObjectSink& sink)
    : engine_(std::make_unique<Engine>(std::move(s), std::move(o), sink)) {}
Simulation::~Simulation() = default;
void Simulation::Start() { engine_->Start(); }
void Simulation::AdvanceTo(absl::Duration offset) { engine_->AdvanceTo(offset); }
absl::Duration Simulation::offset() const { return engine_->offset(); }
absl::Time Simulation::TimeAt(absl::Duration offset) const { return engine_->TimeAt(offset); }
std::vector<ContainerUsage> Simulation::ContainerUsages() const {
  return engine_->ContainerUsages();
}
std::vector<NodeUsage> Simulation::NodeUsages() const { return engine_->NodeUsages(); }
std::vector<VolumeStats> Simulation::Volumes() const { return engine_->Volumes(); }
std::vector<NodeFacts> Simulation::Nodes() const { return engine_->Nodes(); }
std::vector<std::string> Simulation::Log() const { return engine_->Log(); }

std::vector<ContainerUsage> Engine::ContainerUsages() const {
  std::vector<ContainerUsage> out;
  for (const auto& [key, p] : pods_) {
    if (p.node.empty() || !p.started || !nodes_.at(p.node).ready) continue;
    for (const auto& c : p.containers) {
      if (c.state != ContainerRun::State::kRunning) continue;
      out.push_back({p.ns, p.name, c.name, p.node, c.cpu, c.memory, c.cpu_seconds, TimeAt(now_)});
    }
  }
  return out;
}

std::vector<NodeUsage> Engine::NodeUsages() const {
  std::map<std::string, NodeUsage> by_node;
  for (const auto& [name, n] : nodes_) {
    if (!n.ready) continue;
    // System overhead: kubelet, container runtime, OS.
    by_node[name] = {name, 0.05 + 0.02 * n.group->cpu, 400.0 * (1 << 20) + 0.03 * n.group->memory,
                     TimeAt(now_)};
  }
  for (const auto& u : ContainerUsages()) {
    auto it = by_node.find(u.node);
    if (it == by_node.end()) continue;
    it->second.cpu_cores += u.cpu_cores;
    it->second.memory_bytes += u.memory_bytes;
  }
  std::vector<NodeUsage> out;
  for (auto& [name, u] : by_node) out.push_back(std::move(u));
  return out;
}

std::vector<VolumeStats> Engine::Volumes() const {
  std::vector<VolumeStats> out;
  for (const auto& [key, c] : claims_) {
    VolumeStats v;
    v.ns = c.ns;
    v.pvc = c.name;
    for (const auto& [pkey, p] : pods_) {
      if (p.ns != c.ns || p.node.empty()) continue;
      for (const auto& claim : p.claims) {
        if (claim == c.name && v.pod.empty()) {
          v.pod = p.name;
          v.node = p.node;
        }
      }
    }
    v.capacity_bytes = c.spec.size;
    v.used_bytes = c.used;
    v.available_bytes = c.spec.size - c.used;
    v.inodes = std::floor(c.spec.size / 16384);
    v.inodes_used = std::floor(c.used / 65536) + 11;
    out.push_back(v);
  }
  return out;
}

std::vector<NodeFacts> Engine::Nodes() const {
  std::vector<NodeFacts> out;
  for (const auto& [name, n] : nodes_) {
    out.push_back({name, n.group->pool, n.group->instance_type, n.group->zone, n.group->hourly_cost,
                   n.ready});
  }
  return out;
}

}  // namespace k8i::kubesim

// What the end-to-end latency benchmarks share: a plain reader of one topic (its own consumer
// group, from the earliest offset) handing each message's value and receive time to a
// callback — both the measurement of what a service publishes and the Kafka floor the
// benchmarks compare it with — and the waits around a spawned service.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace k8i::bench {

using OnMessage = std::function<void(const std::string& value, absl::Time received)>;

// Reader polls `topic` until `stop` is set; fetch_wait_ms is librdkafka's fetch.wait.max.ms.
std::thread Reader(const std::string& bootstrap, const std::string& topic, std::atomic<bool>& stop,
                   const std::string& fetch_wait_ms, OnMessage fn);

// WaitServing polls the gRPC health of `target` until SERVING or `deadline` passes.
bool WaitServing(const std::string& target, absl::Duration deadline);

// WaitDrained polls `count` once a second until it reaches `want` or has not moved for
// `quiet` (at most two minutes): the results of what was sent are in.
void WaitDrained(const std::function<int64_t()>& count, int64_t want, absl::Duration quiet);

inline absl::Time FromTs(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace k8i::bench

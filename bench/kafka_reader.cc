#include "bench/kafka_reader.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "libs/common/ids.h"
#include "libs/grpcx/health_client.h"
#include "libs/kafka/consumer.h"

namespace k8i::bench {

std::thread Reader(const std::string& bootstrap, const std::string& topic, std::atomic<bool>& stop,
                   const std::string& fetch_wait_ms, OnMessage fn) {
  return std::thread([=, &stop] {
    auto c = kafka::Consumer::Create(
        {.bootstrap = bootstrap, .group_id = "bench-" + NewId(), .topics = {topic},
         .auto_offset_reset = "earliest", .extra = {{"fetch.wait.max.ms", fetch_wait_ms}}});
    if (!c.ok()) {
      std::fprintf(stderr, "consumer: %s\n", std::string(c.status().message()).c_str());
      return;
    }
    while (!stop.load()) {
      auto msgs = (*c)->Poll(1000, absl::Milliseconds(50));
      if (!msgs.ok()) break;
      const absl::Time now = absl::Now();
      for (const auto& m : *msgs) fn(m.value, now);
    }
  });
}

bool WaitServing(const std::string& target, absl::Duration deadline) {
  const absl::Time until = absl::Now() + deadline;
  while (absl::Now() < until) {
    auto st = grpcx::CheckHealth(target, "", absl::Seconds(1));
    if (st.ok() && *st == grpc::health::v1::HealthCheckResponse::SERVING) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

void WaitDrained(const std::function<int64_t()>& count, int64_t want, absl::Duration quiet) {
  int64_t last = -1;
  absl::Time moved = absl::Now();
  for (int i = 0; i < 120; ++i) {
    absl::SleepFor(absl::Seconds(1));
    const int64_t n = count();
    if (n >= want) return;
    if (n != last) {
      last = n;
      moved = absl::Now();
    } else if (absl::Now() - moved >= quiet) {
      return;
    }
  }
}

}  // namespace k8i::bench

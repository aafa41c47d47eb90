#include "bench/kafka_reader.h"

#include <cstdio>

#include "libs/common/ids.h"
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

}  // namespace k8i::bench

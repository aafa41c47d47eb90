// Plain message types shared by the Kafka producer, consumer and CloudEvents helpers; no
// librdkafka types leak through them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace k8i::kafka {

// One Kafka record header. Values are arbitrary bytes.
struct Header {
  std::string key;
  std::string value;

  friend bool operator==(const Header&, const Header&) = default;
};

// A record to produce. An empty `key` is sent as a null key (the partitioner then spreads
// records); a non-empty key picks the partition by hash.
struct Message {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<Header> headers;
};

// A record read by a Consumer, with its position. A null key or value reads as "".
struct ConsumedMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = -1;
  // Which assignment of its partition to this member it was read under (Consumer::Poll): every
  // time the group assigns the partition to the member it gets a new number, so a message read
  // before a rebalance is told from one read after it.
  int64_t assignment = 0;
};

}  // namespace k8i::kafka

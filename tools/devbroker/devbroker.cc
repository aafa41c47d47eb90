#include "tools/devbroker/devbroker.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"
#include "libs/common/logging.h"

namespace k8i::devbroker {
namespace {

struct ApiName {
  const char* name;
  int16_t key;
};

// Kafka protocol ApiKeys (rdkafka_protocol.h is not installed).
constexpr ApiName kApis[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},      {"ApiVersions", 18},    {"CreateTopics", 19},
    {"DeleteTopics", 20},    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},         {"TxnOffsetCommit", 28},
};

// The highest ApiKey Reset clears (librdkafka 2.0 knows fewer).
constexpr int16_t kMaxApiKey = 70;

absl::Status BrokerError(rd_kafka_resp_err_t err, absl::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", rd_kafka_err2str(err)));
}

void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  static const auto logger = Logger("devbroker");
  logger->log(level <= 3   ? spdlog::level::err
              : level == 4 ? spdlog::level::warn
                           : spdlog::level::debug,
              "rdkafka {}: {}", fac, buf);
}

bool IsKnownErrorCode(int32_t code) {
  const rd_kafka_err_desc* descs;
  size_t n;
  rd_kafka_get_err_descs(&descs, &n);
  for (size_t i = 0; i < n; ++i) {
    if (descs[i].name != nullptr && descs[i].code == code) return true;
  }
  return false;
}

// NoDelayOnListeners switches Nagle's algorithm off on this process's TCP sockets whose local
// port is one of `bootstrap`'s: the mock cluster's listeners (the connections they accept
// later inherit it) and the connections they accepted already (one may have come in between
// a listener's start and this scan). A Kafka broker answers with TCP_NODELAY; the mock
// cluster does not, so a small response written behind an unacknowledged one waited for the
// client's delayed ACK: a produce to several partitions took ~40 ms instead of a few. Returns
// how many listeners it set.
int NoDelayOnListeners(const std::string& bootstrap) {
  std::set<int> ports;
  for (absl::string_view hp : absl::StrSplit(bootstrap, ',', absl::SkipEmpty())) {
    int port = 0;
    if (size_t colon = hp.rfind(':');
        colon != absl::string_view::npos && absl::SimpleAtoi(hp.substr(colon + 1), &port)) {
      ports.insert(port);
    }
  }
  int set = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  while (const dirent* e = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) continue;
    sockaddr_storage addr{};
    len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    int port = 0;
    if (addr.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    }
    const int one = 1;
    if (ports.count(port) > 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
        listening) {
      ++set;
    }
  }
  closedir(dir);
  return set;
}

}  // namespace

std::vector<std::string> DefaultTopics() {
  std::vector<std::string> topics = {"k8i.metrics.v1", "k8i.inventory.v1", "k8i.events.v1",
                                     "k8i.alerts.v1",  "k8i.incidents.v1",
                                     "k8i.recommendations.v1"};
  // Each topic's dead letters (libs/kit/consumer.h).
  const size_t n = topics.size();
  for (size_t i = 0; i < n; ++i) topics.push_back(topics[i] + ".dlq");
  return topics;
}

absl::StatusOr<int16_t> ApiKeyByName(absl::string_view api) {
  for (const ApiName& a : kApis) {
    if (absl::EqualsIgnoreCase(api, a.name)) return a.key;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown Kafka API \"", api, "\""));
}

absl::StatusOr<std::unique_ptr<MockBroker>> MockBroker::Start(const MockBrokerOptions& options) {
  if (options.brokers < 1 || options.brokers > 16) {
    return absl::InvalidArgumentError("brokers must be in [1, 16]");
  }
  if (options.partitions < 1 || options.partitions > 1000) {
    return absl::InvalidArgumentError("partitions must be in [1, 1000]");
  }
  for (const std::string& t : options.topics) {
    if (t.empty() || t.size() > 249 || !std::all_of(t.begin(), t.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
        })) {
      return absl::InvalidArgumentError(absl::StrCat("bad topic name \"", t, "\""));
    }
  }

  std::unique_ptr<MockBroker> b(new MockBroker());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &LogCallback);
  char errstr[512];
  // A client handle without brokers of its own: it only owns the mock cluster.
  b->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (b->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", errstr));
  }
  b->cluster_ = rd_kafka_mock_cluster_new(b->rk_, options.brokers);
  if (b->cluster_ == nullptr) {
    return absl::InternalError("rd_kafka_mock_cluster_new failed (ports exhausted?)");
  }
  b->brokers_ = options.brokers;
  b->bootstrap_ = rd_kafka_mock_cluster_bootstraps(b->cluster_);
  b->NoDelay();
  int replication = std::min(options.brokers, 3);
  for (const std::string& t : options.topics) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(b->cluster_, t.c_str(), options.partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return BrokerError(err, absl::StrCat("create topic ", t));
    }
  }
  return b;
}

MockBroker::~MockBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

absl::Status MockBroker::BrokerDown(int32_t id) {
  if (id < 1 || id > brokers_) {
    return absl::NotFoundError(absl::StrCat("no broker ", id, " (brokers are 1..", brokers_, ")"));
  }
  return BrokerError(rd_kafka_mock_broker_set_down(cluster_, id),
                     absl::StrCat("broker ", id, " down"));
}

absl::Status MockBroker::BrokerUp(int32_t id) {
  if (id < 1 || id > brokers_) {
    return absl::NotFoundError(absl::StrCat("no broker ", id, " (brokers are 1..", brokers_, ")"));
  }
  absl::Status s =
      BrokerError(rd_kafka_mock_broker_set_up(cluster_, id), absl::StrCat("broker ", id, " up"));
  NoDelay();
  return s;
}

void MockBroker::NoDelay() {
  // A broker taken down may have no listener; none at all means the scan found nothing.
  if (NoDelayOnListeners(bootstrap_) == 0) {
    Logger("devbroker")
        ->warn(
            "TCP_NODELAY set on no broker listener; produce requests to several partitions may "
            "wait "
            "for delayed ACKs");
  }
}

absl::Status MockBroker::PushErrors(absl::string_view api, int32_t code, int count) {
  absl::StatusOr<int16_t> key = ApiKeyByName(api);
  if (!key.ok()) return key.status();
  if (code == 0 || !IsKnownErrorCode(code)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown Kafka error code ", code));
  }
  if (count < 1 || count > 100000) {
    return absl::InvalidArgumentError("count must be in [1, 100000]");
  }
  std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
  rd_kafka_mock_push_request_errors_array(cluster_, *key, errors.size(), errors.data());
  return absl::OkStatus();
}

void MockBroker::Reset() {
  for (int16_t key = 0; key <= kMaxApiKey; ++key) {
    rd_kafka_mock_clear_request_errors(cluster_, key);
  }
  for (int32_t id = 1; id <= brokers_; ++id) rd_kafka_mock_broker_set_up(cluster_, id);
  NoDelay();
}

}  // namespace k8i::devbroker

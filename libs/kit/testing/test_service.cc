#include "libs/kit/testing/test_service.h"

#include "absl/strings/str_cat.h"
#include "libs/kafka/cloudevents.h"
#include "libs/testing/stack.h"

namespace k8i::kit::testing {

std::map<std::string, std::string> StackVars(
    const std::string& db_url, const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> vars = {
      {"K8I_GRPC_ADDR", "127.0.0.1:0"},
      {"K8I_METRICS_ADDR", "127.0.0.1:0"},
      {"K8I_PG_URL", db_url},
      {"K8I_REDIS_URL", k8i::testing::TestEnv("K8I_TEST_REDIS_URL")},
      {"K8I_KAFKA_BOOTSTRAP", k8i::testing::TestEnv("K8I_TEST_KAFKA_BOOTSTRAP")},
      {"K8I_SHUTDOWN_GRACE", "1s"},
  };
  for (const auto& [k, v] : overrides) vars[k] = v;
  return vars;
}

EnvReader MapEnv(const std::map<std::string, std::string>& vars) {
  return EnvReader([&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() || it->second.empty() ? nullptr : it->second.c_str();
  });
}

kafka::ConsumedMessage TestMessage(const std::string& topic, int64_t offset,
                                   const google::protobuf::Message& payload, absl::Time at,
                                   const std::string& key) {
  kafka::ConsumedMessage m;
  m.topic = topic;
  m.partition = 0;
  m.offset = offset;
  m.key = key;
  payload.SerializeToString(&m.value);
  m.headers = kafka::CloudEventHeaders(
      {.id = absl::StrCat("msg-", offset), .source = "/test", .type = "test", .time = at});
  return m;
}

}  // namespace k8i::kit::testing

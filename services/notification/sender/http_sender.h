// HttpSender: one POST per delivery attempt, through libcurl, bounded everywhere: the target
// is checked against the SSRF policy twice — the URL before anything is sent, and every address
// its host resolved to right before the socket is opened (so DNS cannot swap a public name for
// an internal address between the two) — no redirects are followed, no proxy from the
// environment is used, connect and total timeouts apply, and the response body is cut at
// `max_response` bytes. The outcome is an AttemptResult for the retry policy. Thread-safe
// (one curl handle per call).
#pragma once

#include <cstdint>

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/notification/core/delivery_policy.h"
#include "services/notification/core/ssrf.h"

namespace k8i::notification {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type is JSON by default
  std::string body;
};

struct HttpResult {
  AttemptResult attempt;       // status (0: no response), transport error, Retry-After
  std::string body;            // at most max_response bytes
  bool body_truncated = false;
  bool refused = false;        // the SSRF policy refused the target (not retried)
  absl::Duration took;
};

struct HttpSenderOptions {
  TargetPolicy policy;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(10);
  size_t max_response = 64 * 1024;
  std::string user_agent = "k8intel-notification/1";
  // Test hook: "host:port:address" entries answered instead of DNS (curl's CURLOPT_RESOLVE),
  // to show that the address check runs after resolution.
  std::vector<std::string> resolve;
};

class HttpSender {
 public:
  explicit HttpSender(HttpSenderOptions options);
  // Post is thread-safe; each thread keeps its own connections to the targets it posted to.
  HttpResult Post(const HttpRequest& request) const;

 private:
  const HttpSenderOptions options_;
  const uint64_t id_;  // keys the threads' connection caches
};

}  // namespace k8i::notification

#include "services/notification/sender/http_sender.h"

#include <atomic>
#include <map>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace k8i::notification {
namespace {

struct CallState {
  const HttpSenderOptions* options = nullptr;
  bool https = true;
  std::string refused;  // why the address check refused a connection
  std::string body;
  bool truncated = false;
  std::string retry_after;
};

curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* st = static_cast<CallState*>(clientp);
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, text, sizeof text);
  } else if (address->family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, text,
              sizeof text);
  } else {
    st->refused = "not an IP socket";
    return CURL_SOCKET_BAD;
  }
  if (absl::Status s = CheckAddress(text, st->options->policy, st->https); !s.ok()) {
    st->refused = std::string(s.message());
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t OnBody(char* data, size_t size, size_t n, void* userp) {
  auto* st = static_cast<CallState*>(userp);
  const size_t len = size * n;
  const size_t room = st->options->max_response - std::min(st->body.size(), st->options->max_response);
  if (len > room) {
    st->body.append(data, room);
    st->truncated = true;
    return 0;  // stop reading: the rest is not wanted
  }
  st->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* userp) {
  auto* st = static_cast<CallState*>(userp);
  absl::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos &&
      absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(line.substr(0, colon)), "retry-after")) {
    st->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

// Handle returns this thread's curl handle for the sender `sender_id`, reset to no options.
// Keeping it keeps its connections: a channel's next message reuses the open (TLS) connection
// instead of a new handshake. A connection was checked against the sender's target policy
// when it opened (OpenSocket) and curl reuses it only for the same scheme, host and port; a
// handle is never shared between senders (their policies may differ) or threads.
CURL* Handle(uint64_t sender_id) {
  struct Handles {
    std::map<uint64_t, CURL*> by_sender;
    ~Handles() {
      for (auto& [id, h] : by_sender) curl_easy_cleanup(h);
    }
  };
  thread_local Handles handles;
  CURL*& h = handles.by_sender[sender_id];
  if (h == nullptr) {
    h = curl_easy_init();
  } else {
    curl_easy_reset(h);
  }
  return h;
}

std::atomic<uint64_t> next_sender_id{1};

}  // namespace

HttpSender::HttpSender(HttpSenderOptions options)
    : options_(std::move(options)), id_(next_sender_id.fetch_add(1)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpResult HttpSender::Post(const HttpRequest& req) const {
  HttpResult out;
  const absl::Time start = absl::Now();
  auto url = CheckUrl(req.url, options_.policy);
  if (!url.ok()) {
    out.refused = true;
    out.attempt.error = absl::StrCat("refused by the target policy: ", url.status().message());
    return out;
  }
  CallState st;
  st.options = &options_;
  st.https = url->scheme == "https";
  CURL* h = Handle(id_);
  if (h == nullptr) {
    out.attempt.error = "curl_easy_init failed";
    return out;
  }
  curl_slist* headers = nullptr;
  bool content_type = false;
  for (const auto& [k, v] : req.headers) {
    content_type = content_type || absl::EqualsIgnoreCase(k, "content-type");
    headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
  }
  if (!content_type) headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_slist* resolve = nullptr;
  for (const auto& r : options_.resolve) resolve = curl_slist_append(resolve, r.c_str());

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &st);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
  if (resolve != nullptr) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  // The handle outlives the call: nothing of this call may stay set on it.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_RESOLVE, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);

  out.took = absl::Now() - start;
  out.body = std::move(st.body);
  out.body_truncated = st.truncated;
  out.attempt.retry_after = std::move(st.retry_after);
  if (!st.refused.empty()) {
    out.refused = true;
    out.attempt.error = absl::StrCat("refused by the target policy: ", st.refused);
    return out;
  }
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && st.truncated && status > 0)) {
    out.attempt.status = static_cast<int>(status);
    return out;
  }
  out.attempt.error = curl_easy_strerror(rc);
  return out;
}

}  // namespace k8i::notification

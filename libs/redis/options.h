// Options for the Redis client and ParseUrl, which reads redis://[[user]:password@]host[:port][/db]
// URLs into them. Redis is only a cache in k8intel: the timeouts are short so that a slow or
// dead Redis costs callers little.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::redis {

struct Options {
  // redis://[:password@]host:port[/db] or redis://user:password@host:port/db (Redis 6 ACL user).
  // The port defaults to 6379 and the db to 0; user and password may be percent-encoded.
  std::string url;
  // Bound on establishing the TCP connection (name resolution is not covered).
  absl::Duration connect_timeout = absl::Milliseconds(300);
  // Bound on each socket read/write of a command; on expiry the connection is dropped.
  absl::Duration command_timeout = absl::Milliseconds(300);
  // Minimum time between two connection attempts; calls in between fail fast with Unavailable.
  absl::Duration reconnect_backoff = absl::Seconds(1);

  // The fields below are outputs of ParseUrl. Client::Create ignores them and parses `url`.
  std::string host;
  int port = 6379;
  std::string username;  // Empty: AUTH with the password only (or no AUTH at all).
  std::string password;  // Empty: no AUTH.
  int db = 0;            // Non-zero: SELECT after connecting.

  // Endpoint returns "host:port" (IPv6 hosts in brackets) for messages; it never contains the
  // password, unlike `url`.
  std::string Endpoint() const;
};

// ParseUrl parses `url` into Options with default timeouts. Returns InvalidArgument saying what
// is wrong (scheme, host, port, db, userinfo); the message never repeats the password.
absl::StatusOr<Options> ParseUrl(absl::string_view url);

}  // namespace k8i::redis

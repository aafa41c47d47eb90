// Client: a small synchronous Redis client on hiredis for caches, heartbeats and rate limits.
// Redis is only a cache here, so the client fails fast: it connects lazily, bounds every
// connect and command by short timeouts, and after a failure refuses calls with Unavailable
// (without touching the network) until the reconnect backoff has passed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/redis/options.h"

struct redisContext;

namespace k8i::redis {

// Reply is a decoded Redis reply. Error replies never appear here: they become a
// FailedPrecondition status (also when nested in an array, e.g. inside EXEC).
struct Reply {
  enum class Type { kNil, kInteger, kString, kArray, kStatus };
  Type type = Type::kNil;
  int64_t integer = 0;          // kInteger
  std::string str;              // kString (binary-safe) and kStatus ("OK", "PONG", ...)
  std::vector<Reply> elements;  // kArray
};

// Client owns one connection to Redis. Thread-safe: calls are serialized by a mutex around the
// connection, so one slow command delays the others by at most command_timeout.
//
// Errors: Unavailable for I/O errors, timeouts, refused connections and calls refused during
// the reconnect backoff (retry later or degrade); FailedPrecondition for Redis error replies,
// including a failed AUTH or SELECT; InvalidArgument for bad arguments.
//
// The first I/O error of an outage logs one warning (logger "redis"); the reconnect logs one
// info line. Failures are counted in k8i_redis_errors_total{reason} on the default registry.
class Client {
 public:
  // Create validates `options` (parsing options.url) without connecting, so it succeeds while
  // Redis is down. InvalidArgument for a bad URL or non-positive timeouts.
  static absl::StatusOr<std::unique_ptr<Client>> Create(Options options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Command sends `argv` (binary-safe; argv[0] is the command name) and returns the reply.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv);

  // Get returns the value of `key`, or nullopt when it does not exist.
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);

  // Set stores `value` at `key`, expiring after `ttl` (rounded up to whole milliseconds) when
  // positive; zero or InfiniteDuration means no expiry. A negative ttl is InvalidArgument.
  absl::Status Set(const std::string& key, const std::string& value,
                   absl::Duration ttl = absl::ZeroDuration());

  // Ping checks the connection with PING (connecting first if needed and allowed).
  absl::Status Ping();

  // Connected reports whether a connection is currently open, without waiting for a call in
  // flight and without probing the socket (a dead peer shows only on the next call).
  bool Connected() const;

 private:
  explicit Client(Options options);

  // Ensures ctx_ is set, connecting if the backoff allows. May release mu_ while connecting;
  // other callers meanwhile fail fast — except during the client's first connect, which they
  // wait for (up to connect_timeout): a service's first concurrent calls are not an outage.
  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records a failure that takes Redis out of service: logs once per outage.
  void NoteOutageLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropConnectionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::string endpoint_;  // "host:port", safe to log.

  mutable absl::Mutex mu_;
  redisContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool connecting_ ABSL_GUARDED_BY(mu_) = false;
  bool ever_connected_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool in_outage_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time outage_since_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> connected_{false};  // Mirrors ctx_ != nullptr for Connected().
};

}  // namespace k8i::redis

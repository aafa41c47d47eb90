#include "libs/redis/client.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/metrics/metrics.h"

namespace k8i::redis {
namespace {

// Writing to a socket the peer has reset raises SIGPIPE, whose default action kills the
// process, and hiredis uses plain write(). ScopedSigpipeBlock blocks SIGPIPE in this thread
// (it is thread-directed when raised by write) and discards one raised meanwhile, without
// changing the process-wide disposition that the embedding service owns.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    blocked_ = pthread_sigmask(SIG_BLOCK, &block, &old_) == 0;
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
  bool blocked_ = false;
  bool was_pending_ = false;
};

// Probe holds this module's metrics (one place, as STYLE.md asks).
struct Probe {
  metrics::Counter& connect;  // a connection attempt failed
  metrics::Counter& io;       // a command failed on the socket (or timed out)
  metrics::Counter& backoff;  // a call was refused without trying, during the backoff
  metrics::Counter& reply;    // Redis answered with an error reply
};

const Probe& GetProbe() {
  static const Probe probe = [] {
    auto& family = metrics::Registry::Default().AddCounter(
        "k8i_redis_errors_total",
        "Redis client failures: connect, io, backoff (refused without trying), reply (error "
        "reply).",
        {"reason"});
    return Probe{family.WithLabels({"connect"}), family.WithLabels({"io"}),
                 family.WithLabels({"backoff"}), family.WithLabels({"reply"})};
  }();
  return probe;
}

struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};

absl::StatusOr<Reply> Convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_NIL:
      out.type = Reply::Type::kNil;
      return out;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = r.type == REDIS_REPLY_STRING ? Reply::Type::kString : Reply::Type::kStatus;
      out.str.assign(r.str, r.len);
      return out;
    case REDIS_REPLY_ERROR:
      return absl::FailedPreconditionError(std::string(r.str, r.len));
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) {
        absl::StatusOr<Reply> e = Convert(*r.element[i]);
        if (!e.ok()) return e.status();
        out.elements.push_back(*std::move(e));
      }
      return out;
    default:
      return absl::InternalError(absl::StrCat("unknown hiredis reply type ", r.type));
  }
}

// RunCommand sends argv on `ctx`. Unavailable means the connection is unusable (I/O error or
// timeout) and must be dropped; any other error leaves it usable.
absl::StatusOr<Reply> RunCommand(redisContext* ctx, const std::vector<std::string>& argv,
                                 const std::string& endpoint) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  std::unique_ptr<redisReply, ReplyDeleter> reply;
  int saved_errno = 0;
  {
    ScopedSigpipeBlock no_sigpipe;
    reply.reset(static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(args.size()), args.data(), lens.data())));
    saved_errno = errno;
  }
  if (reply == nullptr) {
    const bool timeout =
        ctx->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
    return absl::UnavailableError(
        absl::StrCat("redis ", endpoint, ": ", timeout ? "command timed out" : ctx->errstr));
  }
  return Convert(*reply);
}

// Connect opens a connection and runs AUTH and SELECT as the options ask. Unavailable for
// network failures; FailedPrecondition when Redis rejects AUTH or SELECT.
absl::StatusOr<ContextPtr> Connect(const Options& o, const std::string& endpoint) {
  ContextPtr ctx(
      redisConnectWithTimeout(o.host.c_str(), o.port, absl::ToTimeval(o.connect_timeout)));
  if (ctx == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis ", endpoint, ": out of memory"));
  }
  if (ctx->err != 0) {
    return absl::UnavailableError(absl::StrCat("redis ", endpoint, ": connect: ", ctx->errstr));
  }
  if (redisSetTimeout(ctx.get(), absl::ToTimeval(o.command_timeout)) != REDIS_OK) {
    return absl::UnavailableError(
        absl::StrCat("redis ", endpoint, ": cannot set socket timeout: ", ctx->errstr));
  }
  redisEnableKeepAlive(ctx.get());
  if (!o.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!o.username.empty()) auth.push_back(o.username);
    auth.push_back(o.password);
    absl::StatusOr<Reply> r = RunCommand(ctx.get(), auth, endpoint);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("redis ", endpoint, ": AUTH: ", r.status().message()));
    }
  }
  if (o.db != 0) {
    absl::StatusOr<Reply> r = RunCommand(ctx.get(), {"SELECT", std::to_string(o.db)}, endpoint);
    if (!r.ok()) {
      return absl::Status(r.status().code(), absl::StrCat("redis ", endpoint, ": SELECT ", o.db,
                                                          ": ", r.status().message()));
    }
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(Options options) {
  absl::StatusOr<Options> parsed = ParseUrl(options.url);
  if (!parsed.ok()) return parsed.status();
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis: connect_timeout and command_timeout must be > 0");
  }
  if (options.reconnect_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis: reconnect_backoff must be >= 0");
  }
  parsed->connect_timeout = options.connect_timeout;
  parsed->command_timeout = options.command_timeout;
  parsed->reconnect_backoff = options.reconnect_backoff;
  GetProbe();  // Register the metrics up front so they are exposed before the first failure.
  return std::unique_ptr<Client>(new Client(*std::move(parsed)));
}

Client::Client(Options options) : options_(std::move(options)), endpoint_(options_.Endpoint()) {}

Client::~Client() {
  absl::MutexLock lock(&mu_);
  DropConnectionLocked();
}

bool Client::Connected() const { return connected_.load(std::memory_order_relaxed); }

void Client::DropConnectionLocked() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  connected_.store(false, std::memory_order_relaxed);
}

void Client::NoteOutageLocked(const absl::Status& status) {
  last_error_ = status;
  if (in_outage_) return;
  in_outage_ = true;
  outage_since_ = absl::Now();
  k8i::Logger("redis")->warn(
      "{}; redis is unavailable, calls fail fast and reconnect at most every {}",
      std::string(status.message()), absl::FormatDuration(options_.reconnect_backoff));
}

absl::Status Client::EnsureConnectedLocked() {
  if (ctx_ != nullptr) return absl::OkStatus();
  if (connecting_ && !ever_connected_) {
    const bool done =
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](bool* connecting) { return !*connecting; }, &connecting_),
                             options_.connect_timeout);
    if (done && ctx_ != nullptr) return absl::OkStatus();
  }
  if (connecting_) {
    GetProbe().backoff.Inc();
    return absl::UnavailableError(
        absl::StrCat("redis ", endpoint_, ": another call is connecting"));
  }
  const absl::Time now = absl::Now();
  if (now < next_attempt_) {
    GetProbe().backoff.Inc();
    // last_error_ already names the endpoint.
    return absl::UnavailableError(
        absl::StrCat(last_error_.message(), "; failing fast, next attempt in ",
                     absl::FormatDuration(absl::Ceil(next_attempt_ - now, absl::Milliseconds(1)))));
  }
  connecting_ = true;
  next_attempt_ = now + options_.reconnect_backoff;
  // Connect without the lock so that concurrent callers fail fast instead of queueing behind
  // a connect that may take connect_timeout.
  mu_.Unlock();
  absl::StatusOr<ContextPtr> ctx = Connect(options_, endpoint_);
  mu_.Lock();
  connecting_ = false;
  if (!ctx.ok()) {
    GetProbe().connect.Inc();
    NoteOutageLocked(ctx.status());
    return ctx.status();
  }
  ctx_ = ctx->release();
  ever_connected_ = true;
  connected_.store(true, std::memory_order_relaxed);
  if (in_outage_) {
    in_outage_ = false;
    k8i::Logger("redis")->info(
        "redis {} reconnected after {} unavailable", endpoint_,
        absl::FormatDuration(absl::Trunc(absl::Now() - outage_since_, absl::Milliseconds(1))));
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> Client::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("redis: empty command");
  absl::MutexLock lock(&mu_);
  absl::Status connected = EnsureConnectedLocked();
  if (!connected.ok()) return connected;
  absl::StatusOr<Reply> reply = RunCommand(ctx_, argv, endpoint_);
  if (!reply.ok()) {
    if (absl::IsUnavailable(reply.status())) {
      // The reply stream is now out of sync or the socket is dead: never reuse it.
      GetProbe().io.Inc();
      DropConnectionLocked();
      NoteOutageLocked(reply.status());
    } else {
      GetProbe().reply.Inc();
    }
  }
  return reply;
}

absl::StatusOr<std::optional<std::string>> Client::Get(const std::string& key) {
  absl::StatusOr<Reply> reply = Command({"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->type == Reply::Type::kNil) return std::optional<std::string>();
  if (reply->type != Reply::Type::kString) {
    return absl::InternalError("redis: GET returned a non-string reply");
  }
  return std::optional<std::string>(std::move(reply->str));
}

absl::Status Client::Set(const std::string& key, const std::string& value, absl::Duration ttl) {
  if (ttl < absl::ZeroDuration()) return absl::InvalidArgumentError("redis: negative TTL");
  std::vector<std::string> argv = {"SET", key, value};
  if (ttl > absl::ZeroDuration() && ttl != absl::InfiniteDuration()) {
    argv.push_back("PX");
    argv.push_back(
        std::to_string(absl::ToInt64Milliseconds(absl::Ceil(ttl, absl::Milliseconds(1)))));
  }
  absl::StatusOr<Reply> reply = Command(argv);
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kStatus) {
    return absl::InternalError("redis: SET returned an unexpected reply");
  }
  return absl::OkStatus();
}

absl::Status Client::Ping() {
  absl::StatusOr<Reply> reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kStatus || reply->str != "PONG") {
    return absl::InternalError("redis: PING returned an unexpected reply");
  }
  return absl::OkStatus();
}

}  // namespace k8i::redis

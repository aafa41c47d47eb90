#include "libs/kit/job.h"

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/pg/pool.h"

namespace k8i::kit {

int64_t JobLockKey(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : absl::StrCat("k8i-job:", name)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

// Probe: the jobs' metrics in one place, labelled by job.
struct LeaderJob::Probe {
  Probe(metrics::Registry& r, const std::string& job)
      : runs(r.AddCounter("k8i_job_runs_total",
                          "Runs of a leader-elected job by result: ok, error, follower (another "
                          "replica leads).",
                          {"job", "result"})),
        last_success(r.AddGauge("k8i_job_last_success_timestamp_seconds",
                                "Unix time at which the last successful run of a job started on "
                                "this replica.",
                                {"job"})
                         .WithLabels({job})),
        last_duration(r.AddGauge("k8i_job_last_duration_seconds",
                                 "Duration of the last run (ok or error) of a job on this "
                                 "replica.",
                                 {"job"})
                          .WithLabels({job})),
        leader(r.AddGauge("k8i_job_leader", "1 while this replica holds a job's leader lock.",
                          {"job"})
                   .WithLabels({job})),
        job_(job) {}
  void Run(const char* result) { runs.WithLabels({job_, result}).Inc(); }

  metrics::Family<metrics::Counter>& runs;
  metrics::Gauge& last_success;
  metrics::Gauge& last_duration;
  metrics::Gauge& leader;
  const std::string job_;
};

LeaderJob::LeaderJob(JobOptions options, JobFn fn, metrics::Registry& registry,
                     const Clock* clock)
    : options_(std::move(options)),
      fn_(std::move(fn)),
      clock_(clock),
      lock_key_(options_.lock_key != 0 ? options_.lock_key : JobLockKey(options_.name)),
      probe_(new Probe(registry, options_.name)) {}

LeaderJob::~LeaderJob() { Stop(); }

void LeaderJob::DropConnectionLocked() {
  if (leader_) Logger("jobs")->warn("job {}: leadership lost", options_.name);
  conn_.reset();
  leader_ = false;
  leader_pid_.store(0);
  probe_->leader.Set(0);
}

absl::StatusOr<bool> LeaderJob::EnsureLeaderLocked() {
  if (conn_ != nullptr) {
    try {
      // Checks the lock itself, not just the connection: a session that was silently replaced
      // would no longer hold it.
      pqxx::nontransaction tx(*conn_);
      const bool held =
          tx.exec_params1(
                "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objsubid = 1 "
                "AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid",
                lock_key_)[0]
              .as<bool>();
      if (leader_ && held) return true;
      if (leader_ && !held) DropConnectionLocked();
    } catch (...) {
      Logger("jobs")->warn("job {}: connection lost: {}", options_.name,
                           pg::StatusFromCurrentException("check leadership").ToString());
      DropConnectionLocked();
    }
  }
  try {
    if (conn_ == nullptr) {
      auto conn = std::make_unique<pqxx::connection>(options_.pg_url);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      // A silently re-opened session would not hold the lock (libpqxx 6 reconnects by default).
      conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
      std::string set =
          absl::StrCat("SET application_name = ", conn->quote(options_.app + "-" + options_.name),
                       "; SET statement_timeout = ", absl::ToInt64Milliseconds(options_.timeout));
      for (const auto& [name, value] : options_.settings) {
        absl::StrAppend(&set, "; SET ", conn->quote_name(name), " = ", conn->quote(value));
      }
      pqxx::nontransaction(*conn).exec(set);
      conn_ = std::move(conn);
    }
    pqxx::nontransaction tx(*conn_);
    leader_ = tx.exec_params1("SELECT pg_try_advisory_lock($1)", lock_key_)[0].as<bool>();
  } catch (...) {
    absl::Status s = pg::StatusFromCurrentException(absl::StrCat("job ", options_.name, " election"));
    DropConnectionLocked();
    return s;
  }
  if (leader_) {
    // Another replica may have led since: its last success is read again, and recorded anew.
    last_success_known_ = false;
    recorded_at_.reset();
    leader_pid_.store(conn_->backendpid());
    probe_->leader.Set(1);
    Logger("jobs")->info("this replica leads job {} (backend pid {})", options_.name,
                         conn_->backendpid());
  }
  return leader_;
}

absl::Time LeaderJob::LastSuccessLocked() {
  // Read once per leadership: while this replica leads, only it records successes.
  if (options_.schema.empty() || last_success_known_) return last_success_;
  pqxx::nontransaction tx(*conn_);
  pqxx::result r = tx.exec_params(
      absl::StrCat("SELECT extract(epoch FROM last_success)::float8 FROM ", options_.schema,
                   ".job_runs WHERE job = $1"),
      options_.name);
  last_success_ = r.empty()
                      ? absl::InfinitePast()
                      : absl::FromUnixMicros(static_cast<int64_t>(r[0][0].as<double>() * 1e6));
  last_success_known_ = true;
  return last_success_;
}

void LeaderJob::RecordSuccessLocked(absl::Time started, absl::Duration took) {
  last_success_ = started;
  probe_->last_success.Set(absl::ToDoubleSeconds(started - absl::UnixEpoch()));
  // At most once a second: a job woken after every commit need not write (and flush) a row per
  // run. The next leader may then see a success a second or so old and run once more.
  const Steady::time_point now = Steady::now();
  if (options_.schema.empty() || (recorded_at_ && now - *recorded_at_ < kRecordEvery)) return;
  pqxx::nontransaction tx(*conn_);
  tx.exec_params(absl::StrCat("INSERT INTO ", options_.schema,
                              ".job_runs (job, last_success, last_duration_ms) VALUES ($1, "
                              "to_timestamp($2::float8), $3) ON CONFLICT (job) DO UPDATE SET "
                              "last_success = EXCLUDED.last_success, "
                              "last_duration_ms = EXCLUDED.last_duration_ms"),
                 options_.name, absl::ToDoubleSeconds(started - absl::UnixEpoch()),
                 absl::ToInt64Milliseconds(took));
  recorded_at_ = now;  // only once written: a failed write is tried again next run
}

absl::StatusOr<JobResult> LeaderJob::RunOnce() {
  absl::MutexLock lock(&mu_);
  JobResult result;
  absl::StatusOr<bool> leader = EnsureLeaderLocked();
  if (!leader.ok()) {
    probe_->Run("error");
    return leader.status();
  }
  if (!*leader) {
    probe_->Run("follower");
    return result;
  }
  result.leader = true;
  const absl::Time started = clock_->Now();
  const absl::Time wall_start = absl::Now();
  const absl::Time deadline = options_.timeout > absl::ZeroDuration()
                                  ? wall_start + options_.timeout
                                  : absl::InfiniteFuture();
  absl::Status s;
  try {
    JobRun run{.conn = *conn_,
               .now = started,
               .last_success = LastSuccessLocked(),
               .cancelled = [this, deadline] {
                 return stopping_.load() || absl::Now() >= deadline;
               }};
    s = fn_(run);
  } catch (...) {
    s = pg::StatusFromCurrentException(absl::StrCat("job ", options_.name));
  }
  result.took = absl::Now() - wall_start;
  probe_->last_duration.Set(absl::ToDoubleSeconds(result.took));
  if (s.ok()) {
    try {
      RecordSuccessLocked(started, result.took);
    } catch (...) {
      s = pg::StatusFromCurrentException(absl::StrCat("job ", options_.name, " record"));
    }
  }
  if (!s.ok()) {
    if (absl::IsUnavailable(s) || conn_ == nullptr || !conn_->is_open()) DropConnectionLocked();
    probe_->Run("error");
    return s;
  }
  probe_->Run("ok");
  return result;
}

void LeaderJob::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    std::mt19937_64 rng(std::random_device{}());
    do {
      if (auto r = RunOnce(); !r.ok()) {
        Logger("jobs")->warn("job {}: {}", options_.name, r.status().ToString());
      }
      absl::Duration wait = interval;
      // Jitter never exceeds the period (Start may be given a shorter one than the options).
      const absl::Duration jitter = std::min(options_.jitter, interval);
      if (jitter > absl::ZeroDuration()) {
        wait += absl::Nanoseconds(static_cast<int64_t>(
            rng() % static_cast<uint64_t>(absl::ToInt64Nanoseconds(jitter))));
      }
      absl::MutexLock lock(&wake_mu_);
      wake_mu_.AwaitWithTimeout(absl::Condition(this, &LeaderJob::WokenOrStopping), wait);
      woken_ = false;
    } while (!stopping_.load());
  });
}

bool LeaderJob::WokenOrStopping() const { return woken_ || stopping_.load(); }

void LeaderJob::Wake() {
  absl::MutexLock lock(&wake_mu_);
  woken_ = true;
}

void LeaderJob::Stop() {
  {
    absl::MutexLock lock(&wake_mu_);
    stopping_.store(true);
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  if (conn_ != nullptr) {
    conn_.reset();  // closing the session releases the lock
    leader_ = false;
    leader_pid_.store(0);
    probe_->leader.Set(0);
  }
}

}  // namespace k8i::kit

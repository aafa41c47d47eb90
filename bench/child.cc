#include "bench/child.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/testing/process.h"

namespace k8i::bench {

absl::Status WaitFor(const std::function<bool()>& ready, pid_t pid, const std::string& what,
                     const std::string& log_path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (k8i::testing::Exited(pid, &status)) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " exited (status ", status, "); see ", log_path));
    }
    if (ready()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(what, " not ready after ",
                                                  absl::FormatDuration(timeout), "; see ",
                                                  log_path));
}

int64_t CountLines(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) n += absl::StrContains(line, what);
  return n;
}

int64_t CountLogProblems(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    if (absl::StrContains(line, "\"level\":\"warning\"") ||
        absl::StrContains(line, "\"level\":\"error\"") ||
        absl::StrContains(line, "\"level\":\"critical\"")) {
      ++n;
    }
  }
  return n;
}

}  // namespace k8i::bench

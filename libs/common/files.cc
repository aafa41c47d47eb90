#include "libs/common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace k8i {

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content,
                                 mode_t mode) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("open ", tmp, ": ", std::strerror(errno)));
  }
  bool ok = fchmod(fileno(f), mode) == 0;
  ok = std::fwrite(content.data(), 1, content.size(), f) == content.size() && ok;
  ok = std::fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("write ", path, ": ", std::strerror(e)));
  }
  return absl::OkStatus();
}

}  // namespace k8i

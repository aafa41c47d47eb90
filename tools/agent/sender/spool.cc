#include "tools/agent/sender/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/common/logging.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;
constexpr char kSuffix[] = ".batch";
constexpr char kSeqFile[] = "next-seq";

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("open " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("fsync " + dir);
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::Status WriteFileDurably(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("fsync " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  return SyncDir(fs::path(path).parent_path().string());
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(SpoolOptions options, SpoolObserver* observer) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("K8I_AGENT_SPOOL_DIR: cannot create ", options.dir, ": ", ec.message()));
  }
  std::unique_ptr<Spool> spool(new Spool(options, observer));
  absl::MutexLock lock(&spool->mu_);
  for (fs::directory_iterator it(options.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::EndsWith(name, ".tmp")) {  // a write interrupted by a crash
      fs::remove(it->path(), ec);
      continue;
    }
    absl::string_view stem = name;
    if (!absl::ConsumeSuffix(&stem, kSuffix)) continue;
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(stem, &seq)) continue;
    const auto size = static_cast<int64_t>(it->file_size(ec));
    spool->entries_[seq] = size;
    spool->bytes_ += size;
    spool->next_seq_ = std::max(spool->next_seq_, seq + 1);
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("K8I_AGENT_SPOOL_DIR: cannot read ", options.dir, ": ", ec.message()));
  }
  if (auto text = ReadAll(options.dir + "/" + kSeqFile); text.ok()) {
    uint64_t persisted = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &persisted)) {
      spool->next_seq_ = std::max(spool->next_seq_, persisted);
    }
  }
  if (!spool->entries_.empty()) {
    Logger("agent.spool")
        ->info("spool {} holds {} batches ({} bytes) from a previous run; resending in order",
               options.dir, spool->entries_.size(), spool->bytes_);
  }
  spool->ReportLocked();
  return spool;
}

std::string Spool::PathOf(uint64_t seq) const {
  return absl::StrFormat("%s/%020d%s", options_.dir, seq, kSuffix);
}

absl::StatusOr<uint64_t> Spool::ReserveSeq() {
  absl::MutexLock lock(&mu_);
  const uint64_t seq = next_seq_;
  absl::Status s = WriteFileDurably(options_.dir + "/" + kSeqFile, absl::StrCat(seq + 1, "\n"));
  if (!s.ok()) return s;
  next_seq_ = seq + 1;
  return seq;
}

absl::Status Spool::Append(uint64_t seq, const k8intel::v1::TelemetryBatch& batch) {
  std::string data;
  if (!batch.SerializeToString(&data)) return absl::InternalError("cannot serialize batch");
  const auto size = static_cast<int64_t>(data.size());
  absl::MutexLock lock(&mu_);
  if (size > options_.max_bytes) {
    if (observer_) observer_->SpoolDropped(1, size, "too_large");
    return absl::ResourceExhaustedError(absl::StrCat("batch ", batch.batch_id(), " of ", size,
                                                     " bytes exceeds K8I_AGENT_SPOOL_MAX_BYTES"));
  }
  int64_t dropped = 0;
  while (!entries_.empty() && bytes_ + size > options_.max_bytes) {
    DropLocked(entries_.begin()->first, "spool_full");
    ++dropped;
  }
  if (dropped > 0) {
    Logger("agent.spool")
        ->warn("spool full ({} bytes max): dropped the {} oldest batches", options_.max_bytes,
               dropped);
  }
  if (absl::Status s = WriteFileDurably(PathOf(seq), data); !s.ok()) {
    ReportLocked();
    return s;
  }
  entries_[seq] = size;
  bytes_ += size;
  ReportLocked();
  return absl::OkStatus();
}

std::optional<Spool::Entry> Spool::Oldest() {
  absl::MutexLock lock(&mu_);
  while (!entries_.empty()) {
    const uint64_t seq = entries_.begin()->first;
    auto data = ReadAll(PathOf(seq));
    Entry e;
    e.seq = seq;
    if (data.ok() && e.batch.ParseFromString(*data)) return e;
    Logger("agent.spool")->error("spool entry {} is unreadable; dropping it", PathOf(seq));
    DropLocked(seq, "corrupt");
  }
  return std::nullopt;
}

absl::Status Spool::Remove(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(seq);
  if (it == entries_.end()) return absl::OkStatus();
  if (::unlink(PathOf(seq).c_str()) != 0 && errno != ENOENT) return Errno("unlink");
  bytes_ -= it->second;
  entries_.erase(it);
  ReportLocked();
  return absl::OkStatus();
}

void Spool::DropLocked(uint64_t seq, const char* reason) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return;
  ::unlink(PathOf(seq).c_str());
  if (observer_) observer_->SpoolDropped(1, it->second, reason);
  bytes_ -= it->second;
  entries_.erase(it);
  ReportLocked();
}

void Spool::ReportLocked() {
  if (observer_) observer_->SpoolSize(static_cast<int64_t>(entries_.size()), bytes_);
}

int64_t Spool::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int64_t Spool::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(entries_.size());
}

}  // namespace k8i::agent

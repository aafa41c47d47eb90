#include "bench/util.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"

namespace k8i::bench {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("bind to a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t query = url.find('?');
  const std::string base = url.substr(0, query);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  const size_t slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("//") + 2) return base + "/" + database + rest;
  return base.substr(0, slash + 1) + database + rest;
}

absl::Status Exec(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction(conn).exec(sql);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(sql, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> QueryRow(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    const pqxx::result r = pqxx::nontransaction(conn).exec(sql);
    if (r.empty()) return absl::NotFoundError(absl::StrCat(sql, ": no row"));
    std::vector<std::string> out;
    for (const auto& f : r[0]) out.push_back(f.is_null() ? "" : f.c_str());
    return out;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(sql, ": ", e.what()));
  }
}

std::string Thousands(double v) {
  std::string digits = std::to_string(static_cast<int64_t>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string SelfDir() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
  return path.substr(0, path.rfind('/') + 1);
}

double Latencies::Percentile(double p) const {
  if (ms_.empty()) return 0;
  std::vector<double> sorted = ms_;
  std::sort(sorted.begin(), sorted.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int InScratchDatabase(const std::string& prefix,
                      const std::function<int(const std::string&)>& fn) {
  const std::string pg = Env("K8I_TEST_PG_URL");
  if (pg.empty()) {
    std::fprintf(stderr, "K8I_TEST_PG_URL unset: run the benchmark through `tools/dev bench`\n");
    return 2;
  }
  const std::string db = absl::StrCat(prefix, getpid());
  if (auto s = Exec(pg, "CREATE DATABASE " + db); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const int rc = fn(WithDatabase(pg, db));
  Exec(pg, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)").IgnoreError();
  return rc;
}

}  // namespace k8i::bench

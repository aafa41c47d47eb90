#include "libs/testing/stack.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "pqxx/pqxx"

namespace k8i::testing {

std::string TestEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string WithDatabase(const std::string& url, const std::string& database) {
  auto query = url.find('?');
  std::string base = url.substr(0, query);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  auto slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("//") + 2) return base + "/" + database + rest;
  return base.substr(0, slash + 1) + database + rest;
}

absl::StatusOr<std::unique_ptr<TempDatabase>> TempDatabase::Create() {
  std::string admin = TestEnv("K8I_TEST_PG_URL");
  if (admin.empty()) return absl::FailedPreconditionError("K8I_TEST_PG_URL is not set");
  std::string name = absl::StrCat("k8i_test_", NewId().substr(0, 12));
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction(conn).exec(absl::StrCat("CREATE DATABASE ", name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("create test database: ", e.what()));
  }
  std::string url = WithDatabase(admin, name);
  return std::unique_ptr<TempDatabase>(new TempDatabase(admin, name, url));
}

TempDatabase::~TempDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction(conn).exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_,
                                                 " WITH (FORCE)"));
  } catch (const std::exception&) {
    // Best effort: the test stack is wiped at the next run anyway.
  }
}

int StackCtl(const std::string& args) {
  std::string ctl = TestEnv("K8I_TEST_CTL");
  if (ctl.empty()) return -1;
  int rc = std::system(absl::StrCat(ctl, " ", args, " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace k8i::testing

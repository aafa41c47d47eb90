#include "libs/redis/options.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace k8i::redis {
namespace {

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PercentDecode decodes %XX escapes; returns false on a malformed escape.
bool PercentDecode(absl::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("redis url: ", why));
}

}  // namespace

std::string Options::Endpoint() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<Options> ParseUrl(absl::string_view url) {
  Options opts;
  opts.url = std::string(url);
  constexpr absl::string_view kScheme = "redis://";
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return Invalid("TLS (rediss://) is not supported");
  }
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return Invalid("scheme must be redis://");
  }
  absl::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != absl::string_view::npos) {
    return Invalid("query parameters and fragments are not supported");
  }

  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);

  // Userinfo: split at the last '@' so an unencoded '@' in a password still works.
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) {
      return Invalid("userinfo must be ':password' or 'user:password'");
    }
    if (!PercentDecode(userinfo.substr(0, colon), opts.username) ||
        !PercentDecode(userinfo.substr(colon + 1), opts.password)) {
      return Invalid("bad percent-escape in user or password");
    }
    if (!opts.username.empty() && opts.password.empty()) {
      return Invalid("a user needs a password");
    }
  }

  absl::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Invalid("unterminated '[' in host");
    opts.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid("expected ':port' after ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.rfind(':');
    opts.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (opts.host.empty()) return Invalid("missing host");
  if (has_port) {
    int port = 0;
    if (!AllDigits(port_text) || !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return Invalid(absl::StrCat("bad port \"", port_text, "\" (want 1..65535)"));
    }
    opts.port = port;
  }

  if (!path.empty()) {
    int db = 0;
    if (!AllDigits(path) || !absl::SimpleAtoi(path, &db)) {
      return Invalid(absl::StrCat("bad db \"", path, "\" (want a non-negative integer)"));
    }
    opts.db = db;
  }
  return opts;
}

}  // namespace k8i::redis

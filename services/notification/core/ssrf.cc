#include "services/notification/core/ssrf.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace k8i::notification {
namespace {

using Ip = std::array<unsigned char, 16>;

bool IsMapped(const Ip& ip) {
  static const unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kPrefix, 12) == 0;
}

struct Special {
  const char* cidr;
  const char* why;
};

// Checked in order; IPv4 ranges in mapped form.
const Special kSpecial[] = {
    {"0.0.0.0/8", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"10.0.0.0/8", "private"},
    {"172.16.0.0/12", "private"},
    {"192.168.0.0/16", "private"},
    {"100.64.0.0/10", "carrier-grade NAT"},
    {"169.254.0.0/16", "link-local (cloud metadata lives here)"},
    {"192.0.0.0/24", "reserved"},
    {"198.18.0.0/15", "reserved"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"fc00::/7", "unique-local"},
    {"fe80::/10", "link-local (cloud metadata lives here)"},
    {"ff00::/8", "multicast"},
    {"64:ff9b::/96", "reserved"},
    {"2001:db8::/32", "reserved"},
};

}  // namespace

absl::StatusOr<Ip> ParseIp(absl::string_view text) {
  absl::ConsumePrefix(&text, "[");
  absl::ConsumeSuffix(&text, "]");
  const std::string s(text);
  Ip ip{};
  unsigned char v4[4];
  if (inet_pton(AF_INET, s.c_str(), v4) == 1) {
    ip[10] = ip[11] = 0xff;
    std::memcpy(ip.data() + 12, v4, 4);
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.data()) == 1) return ip;
  return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", text));
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  Cidr c;
  absl::string_view addr = text;
  int bits = -1;
  if (size_t slash = text.find('/'); slash != absl::string_view::npos) {
    addr = text.substr(0, slash);
    if (!absl::SimpleAtoi(text.substr(slash + 1), &bits)) {
      return absl::InvalidArgumentError(absl::StrCat("bad prefix length in ", text));
    }
  }
  auto ip = ParseIp(addr);
  if (!ip.ok()) return ip.status();
  c.addr = *ip;
  const bool v4 = IsMapped(c.addr) && !absl::StrContains(addr, ':');
  const int max = v4 ? 32 : 128;
  if (bits < 0) bits = max;
  if (bits > max) return absl::InvalidArgumentError(absl::StrCat("prefix too long in ", text));
  c.bits = v4 ? bits + 96 : bits;
  return c;
}

bool Cidr::Contains(const Ip& ip) const {
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(ip.data(), addr.data(), full) != 0) return false;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (ip[full] & mask) == (addr[full] & mask);
}

std::string AddressClass(const Ip& ip) {
  static const std::vector<std::pair<Cidr, std::string>>* const kTable = [] {
    auto* t = new std::vector<std::pair<Cidr, std::string>>;
    for (const auto& s : kSpecial) t->push_back({*Cidr::Parse(s.cidr), s.why});
    return t;
  }();
  for (const auto& [cidr, why] : *kTable) {
    if (cidr.Contains(ip)) return why;
  }
  return "";
}

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  Url u;
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return absl::InvalidArgumentError("the URL has no scheme");
  u.scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (u.scheme != "https" && u.scheme != "http") {
    return absl::InvalidArgumentError("the URL must be https://");
  }
  absl::string_view rest = url.substr(sep + 3);
  const size_t path = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, path);
  u.target = path == absl::string_view::npos ? "/" : std::string(rest.substr(path));
  if (!u.target.empty() && u.target[0] != '/') u.target = "/" + u.target;
  if (size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the URL must not carry user information");
  }
  absl::string_view host = authority, port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("bad IPv6 host");
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) port = after;
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError("the URL has no host");
  u.host = absl::AsciiStrToLower(host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty() && (!absl::SimpleAtoi(port, &u.port) || u.port < 1 || u.port > 65535)) {
    return absl::InvalidArgumentError("bad port");
  }
  return u;
}

absl::Status CheckAddress(absl::string_view ip_text, const TargetPolicy& policy, bool https) {
  auto ip = ParseIp(ip_text);
  if (!ip.ok()) return ip.status();
  for (const Cidr& c : policy.allow) {
    if (c.Contains(*ip)) return absl::OkStatus();
  }
  if (!https) {
    return absl::PermissionDeniedError(absl::StrCat(
        "plain http to ", ip_text, " is allowed only to networks in K8I_NOTIFY_ALLOW_CIDRS"));
  }
  if (const std::string why = AddressClass(*ip); !why.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(ip_text, " is a ", why,
                                                    " address; webhook targets must be public "
                                                    "unless K8I_NOTIFY_ALLOW_CIDRS allows it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Url> CheckUrl(absl::string_view url, const TargetPolicy& policy) {
  auto u = ParseUrl(url);
  if (!u.ok()) return u.status();
  if (u->host == "localhost" || absl::EndsWith(u->host, ".localhost")) {
    if (auto s = CheckAddress("127.0.0.1", policy, u->scheme == "https"); !s.ok()) {
      return absl::InvalidArgumentError(s.message());
    }
  }
  if (ParseIp(u->host).ok()) {
    if (auto s = CheckAddress(u->host, policy, u->scheme == "https"); !s.ok()) {
      return absl::InvalidArgumentError(s.message());
    }
  } else if (u->scheme != "https") {
    return absl::InvalidArgumentError("the URL must be https:// (plain http only to allowlisted "
                                      "addresses)");
  }
  return u;
}

}  // namespace k8i::notification

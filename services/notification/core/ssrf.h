// Where a channel may send (pure): webhook URLs are user input, and a notification service
// that posts wherever it is told is a proxy into the cluster's own network. A target must be
// https (http only for allowlisted addresses), and every address its host resolves to must be
// public — not loopback, private (RFC 1918, IPv6 unique-local), link-local (which holds the
// cloud metadata endpoints), carrier-grade NAT, unspecified, multicast or reserved — unless an
// operator allowlisted its network (K8I_NOTIFY_ALLOW_CIDRS). The check runs on the URL when a
// channel is saved and again on the resolved addresses right before each connection, so DNS
// cannot swap a public name for an internal address in between.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::notification {

// An IPv4 or IPv6 network. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one prefix
// comparison covers both.
struct Cidr {
  std::array<unsigned char, 16> addr{};
  int bits = 0;
  static absl::StatusOr<Cidr> Parse(absl::string_view text);  // "10.0.0.0/8", "fd00::/8", "1.2.3.4"
  bool Contains(const std::array<unsigned char, 16>& ip) const;
};

// ParseIp reads an IPv4 or IPv6 literal (brackets allowed) into the mapped form.
absl::StatusOr<std::array<unsigned char, 16>> ParseIp(absl::string_view text);

// AddressClass names why an address is not public ("" when it is): "loopback", "private",
// "link-local (cloud metadata lives here)", "carrier-grade NAT", "unspecified", "multicast",
// "reserved", "unique-local".
std::string AddressClass(const std::array<unsigned char, 16>& ip);

struct TargetPolicy {
  std::vector<Cidr> allow;  // networks allowed although not public (and over http)
};

// The parts of a URL a channel needs.
struct Url {
  std::string scheme;  // http or https
  std::string host;    // without brackets
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path and query, "/" at least
};
absl::StatusOr<Url> ParseUrl(absl::string_view url);

// CheckUrl: parses `url`, requires https unless the host is an allowlisted literal address,
// and checks a literal host address. InvalidArgument with the reason.
absl::StatusOr<Url> CheckUrl(absl::string_view url, const TargetPolicy& policy);

// CheckAddress: an address the host resolved to. PermissionDenied naming the class and the
// setting that would allow it.
absl::Status CheckAddress(absl::string_view ip, const TargetPolicy& policy, bool https);

}  // namespace k8i::notification

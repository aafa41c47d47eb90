#include "tools/kubesim/core/hash.h"

#include "absl/strings/str_format.h"

namespace k8i::kubesim {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t StableHash(uint64_t seed, std::initializer_list<absl::string_view> parts) {
  uint64_t h = 0xcbf29ce484222325ULL ^ SplitMix(seed);
  for (absl::string_view p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0x1f;  // separator
    h *= 0x100000001b3ULL;
  }
  return SplitMix(h);
}

std::string Uuid(uint64_t seed, std::initializer_list<absl::string_view> parts) {
  const uint64_t hi = StableHash(seed, parts);
  const uint64_t lo = SplitMix(hi ^ 0x5bd1e995ULL);
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff,
                         0x8000 | ((lo >> 48) & 0x3fff), lo & 0xffffffffffffULL);
}

std::string NameSuffix(uint64_t h, int n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i % 12 == 0 && i > 0) h = SplitMix(h);
    out.push_back(kAlphabet[h % 27]);
    h /= 27;
  }
  return out;
}

std::string Hex(uint64_t h, int n) {
  std::string out;
  while (static_cast<int>(out.size()) < n) {
    out += absl::StrFormat("%016x", h);
    h = SplitMix(h);
  }
  return out.substr(0, n);
}

double UnitNoise(uint64_t h) {
  return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
}

}  // namespace k8i::kubesim

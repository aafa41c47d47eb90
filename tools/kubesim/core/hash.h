// Deterministic hashing for kubesim: uids, name suffixes, event names and noise all derive from
// a stable 64-bit hash of their parts (FNV-1a mixed with splitmix64), never from process state,
// so two runs of one scenario produce identical objects.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace k8i::kubesim {

// StableHash hashes the parts (separated, so {"ab","c"} != {"a","bc"}) with a seed.
uint64_t StableHash(uint64_t seed, std::initializer_list<absl::string_view> parts);

// Uuid formats 128 hashed bits as a version-4 style UUID ("1b4e28ba-2fa1-41d2-883f-...").
std::string Uuid(uint64_t seed, std::initializer_list<absl::string_view> parts);

// NameSuffix returns `n` characters from Kubernetes' safe alphabet
// ("bcdfghjklmnpqrstvwxz2456789"), as generateName and pod-template-hash use.
std::string NameSuffix(uint64_t h, int n);

// Hex returns `n` lowercase hex digits (up to 64) derived from `h`.
std::string Hex(uint64_t h, int n);

// UnitNoise maps a hash to [-1, 1].
double UnitNoise(uint64_t h);

}  // namespace k8i::kubesim

// Identifiers and hashes: random ids for events and requests, SHA-256 helpers, and the stable
// 64-bit series id derived from a series' identity.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace k8i {

// NewId returns a random 128-bit id as 32 lowercase hex characters. Thread-safe.
std::string NewId();

// RandomToken returns `bytes` random bytes from OpenSSL's CSPRNG, URL-safe base64 without padding.
std::string RandomToken(int bytes = 32);

// Sha256Hex returns the lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// HmacSha256 returns the raw (32-byte) HMAC-SHA256 of `data` under `key`; HmacSha256Hex its
// lowercase hex.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// ConstantTimeEquals compares without leaking where the first difference is (signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// StableId64 returns the first 63 bits of SHA-256(`data`) as a non-negative int64; equal input
// gives equal ids in every process and release.
int64_t StableId64(std::string_view data);

}  // namespace k8i

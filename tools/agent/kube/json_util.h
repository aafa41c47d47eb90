// Checked access to untrusted JSON from the Kubernetes API: every accessor tolerates a missing
// field, a wrong type or an out-of-range number and returns a default instead of throwing, so a
// hostile or buggy API server can never crash the agent.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace k8i::agent::kube {

using Json = nlohmann::json;

// Field returns j[key] when j is an object holding key, else null. Never throws.
inline const Json* Field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// Obj returns j[key] if it is an object, else an empty object.
inline const Json& Obj(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  const Json* f = Field(j, key);
  return f && f->is_object() ? *f : kEmpty;
}

// Arr returns j[key] if it is an array, else an empty array.
inline const Json& Arr(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  const Json* f = Field(j, key);
  return f && f->is_array() ? *f : kEmpty;
}

// Str returns j[key] if it is a string, else "".
inline std::string Str(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f && f->is_string() ? f->get_ref<const std::string&>() : std::string();
}

// OptInt returns j[key] as an integer if it is a number that fits int64 (floats truncated),
// else nullopt: for fields whose absence means "not written".
inline std::optional<int64_t> OptInt(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  if (!f) return std::nullopt;
  if (f->is_number_unsigned()) {
    const uint64_t u = f->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (f->is_number_integer()) return f->get<int64_t>();
  if (f->is_number_float()) {
    const double d = f->get<double>();
    if (!std::isfinite(d) || d >= 9.2e18 || d <= -9.2e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// Int returns j[key] as an integer if it is a number that fits int64 (floats truncated), else
// `def`.
inline int64_t Int(const Json& j, const char* key, int64_t def = 0) {
  return OptInt(j, key).value_or(def);
}

// Int32 is Int clamped to int32 (out of range gives `def`).
inline int32_t Int32(const Json& j, const char* key, int32_t def = 0) {
  const int64_t v = Int(j, key, def);
  return v > std::numeric_limits<int32_t>::max() || v < std::numeric_limits<int32_t>::min()
             ? def
             : static_cast<int32_t>(v);
}

// Bool returns j[key] if it is a boolean, else `def`.
inline bool Bool(const Json& j, const char* key, bool def = false) {
  const Json* f = Field(j, key);
  return f && f->is_boolean() ? f->get<bool>() : def;
}

// OptBool returns j[key] if it is a boolean, else nullopt (not written, or mistyped).
inline std::optional<bool> OptBool(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f && f->is_boolean() ? std::optional<bool>(f->get<bool>()) : std::nullopt;
}

// Strings returns the string elements of j[key] (others skipped); empty when it is no array.
inline std::vector<std::string> Strings(const Json& j, const char* key) {
  std::vector<std::string> out;
  const Json* f = Field(j, key);
  if (f == nullptr || !f->is_array()) return out;
  for (const Json& v : *f) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// CopyStringMap copies the string members of the object `m` into `out` (a protobuf map or any
// map of strings); other members are skipped.
template <typename Map>
void CopyStringMap(const Json& m, Map* out) {
  if (!m.is_object()) return;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it.value().is_string()) (*out)[it.key()] = it.value().template get<std::string>();
  }
}

}  // namespace k8i::agent::kube

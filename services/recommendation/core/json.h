// Reading the facts JSON (core/facts.h) forgivingly: a missing or mistyped field reads as
// empty, so facts written by an older version still evaluate.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace k8i::recommendation::facts {

using Json = nlohmann::json;

inline double Num(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

inline std::string Str(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

inline bool Bool(const Json& j, const char* k, bool otherwise = false) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : otherwise;
}

// The object or array at `k`; an empty one of that shape when absent.
inline const Json& Obj(const Json& j, const char* k) {
  static const Json kEmpty = Json::object();
  auto it = j.find(k);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

inline const Json& Arr(const Json& j, const char* k) {
  static const Json kEmpty = Json::array();
  auto it = j.find(k);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

inline std::map<std::string, std::string> StrMap(const Json& j, const char* k) {
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : Obj(j, k).items()) {
    if (v.is_string()) out[key] = v.get<std::string>();
  }
  return out;
}

inline std::vector<std::string> Strs(const Json& j, const char* k) {
  std::vector<std::string> out;
  for (const Json& v : Arr(j, k)) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace k8i::recommendation::facts

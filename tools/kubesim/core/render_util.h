// Small JSON helpers shared by the engine's rendering files (render.cc, publish.cc). Internal.
#pragma once

#include "tools/kubesim/core/engine.h"

namespace k8i::kubesim {

// Labels renders a string map as a JSON object.
inline Json Labels(const StringMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace k8i::kubesim

// JSON-lines logging on spdlog: one named logger per module, each line an object with ts,
// level, logger and msg, safe to parse whatever the message contains.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "spdlog/spdlog.h"

namespace k8i {

// InitLogging sets the global level ("trace".."off") and JSON (or plain, for humans) output on
// stderr. Call once from main before any Logger().
void InitLogging(std::string_view level, bool json = true);

// Logger returns the process-wide logger of `module`, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> Logger(const std::string& module);

// JsonEscape appends `s` to `out` escaped for a JSON string (no quotes added).
void JsonEscape(std::string_view s, std::string& out);

}  // namespace k8i

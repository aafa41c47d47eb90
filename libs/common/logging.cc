#include "libs/common/logging.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace k8i {
namespace {

std::mutex g_mu;
bool g_json = true;

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(96 + msg.payload.size());
    line += "{\"ts\":\"";
    absl::Time t = absl::FromChrono(msg.time);
    line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
    line += "\",\"level\":\"";
    auto lvl = spdlog::level::to_string_view(msg.level);
    line.append(lvl.data(), lvl.size());
    line += "\",\"logger\":\"";
    JsonEscape(std::string_view(msg.logger_name.data(), msg.logger_name.size()), line);
    line += "\",\"msg\":\"";
    JsonEscape(std::string_view(msg.payload.data(), msg.payload.size()), line);
    line += "\"}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void JsonEscape(std::string_view s, std::string& out) {
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void InitLogging(std::string_view level, bool json) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_json = json;
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

std::shared_ptr<spdlog::logger> Logger(const std::string& module) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (auto existing = spdlog::get(module)) return existing;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(module, sink);
  if (g_json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  }
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace k8i

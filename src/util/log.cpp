// Built as its own library (pft_log) without LibTorch's include path: see log.h.
#include "pft/util/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "pft/util/error.h"

namespace pft::log {
namespace {

constexpr std::size_t kEarlyLines = 512;

spdlog::level::level_enum to_spdlog(Level level) {
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level));
}

std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("pft");
  if (!l) {
    l = spdlog::stderr_color_mt("pft");
    l->set_pattern("%^[%l]%$ %v");
    l->set_level(spdlog::level::info);
    // The start of a run (model and data loading) is logged before the run owns its
    // directory; add_file() writes these lines first.
    l->sinks().push_back(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kEarlyLines));
  }
  return l;
}

}  // namespace

Level parse_level(const std::string& name) {
  static_assert(static_cast<int>(Level::off) == spdlog::level::off, "levels must match spdlog's");
  const char* names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (int i = 0; i < 7; ++i) {
    if (name == names[i]) return static_cast<Level>(i);
  }
  throw Error(ErrorKind::Usage, "--log-level: unknown level '" + name +
                                    "'; expected one of trace, debug, info, warn, error, "
                                    "critical, off");
}

void init(Level level) { logger()->set_level(to_spdlog(level)); }

void add_file(const std::string& path) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  auto& sinks = logger()->sinks();
  for (auto it = sinks.begin(); it != sinks.end(); ++it) {
    if (auto early = std::dynamic_pointer_cast<spdlog::sinks::ringbuffer_sink_mt>(*it)) {
      for (const auto& message : early->last_raw()) sink->log(message);
      sinks.erase(it);
      break;
    }
  }
  sinks.push_back(std::move(sink));
}

void close_files() {
  auto& sinks = logger()->sinks();
  sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                             [](const spdlog::sink_ptr& s) {
                               return std::dynamic_pointer_cast<spdlog::sinks::basic_file_sink_mt>(s) != nullptr;
                             }),
              sinks.end());
}

bool enabled(Level level) { return logger()->should_log(to_spdlog(level)); }

void write(Level level, const std::string& message) { logger()->log(to_spdlog(level), message); }

}  // namespace pft::log

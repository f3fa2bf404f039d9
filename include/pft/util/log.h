#pragma once
// Logging. spdlog lives behind this header only: src/util/log.cpp is compiled apart from
// LibTorch (whose bundled fmt differs from the one Debian's spdlog is built against), and
// callers format with fmt-style "{}" placeholders through the fmt on their include path.

#ifndef FMT_HEADER_ONLY
#define FMT_HEADER_ONLY
#endif
#include <fmt/format.h>

#include <string>
#include <utility>

namespace pft::log {

enum class Level { trace, debug, info, warn, error, critical, off };

/// Parses a level name (trace, debug, info, warn, error, critical, off); throws
/// pft::Error (Usage) naming the accepted values otherwise.
Level parse_level(const std::string& name);

/// Sets up the console logger (stderr) at `level`. Idempotent.
void init(Level level);

/// Adds a file sink that receives every message from now on (RUN_DIR/train.log).
void add_file(const std::string& path);

/// Removes file sinks (at the end of a run, or in tests).
void close_files();

bool enabled(Level level);
void write(Level level, const std::string& message);

template <class... Args>
void emit(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... a) { emit(Level::trace, f, std::forward<Args>(a)...); }
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { emit(Level::debug, f, std::forward<Args>(a)...); }
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { emit(Level::info, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { emit(Level::warn, f, std::forward<Args>(a)...); }
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { emit(Level::error, f, std::forward<Args>(a)...); }

}  // namespace pft::log

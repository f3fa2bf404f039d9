#include "pft/util/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "pft/util/error.h"

namespace fs = std::filesystem;

namespace pft {

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorKind::Input, path + ": is a directory, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::Input, path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Input, path + ": read failed");
  return ss.str();
}

namespace {

std::string temp_name_for(const fs::path& target) {
  std::random_device rd;
  std::ostringstream name;
  name << "." << target.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << rd();
  return (target.parent_path() / name.str()).string();
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      throw Error(ErrorKind::Runtime,
                  path + ": cannot create folder " + target.parent_path().string() + ": " +
                      ec.message());
    }
  }
  const std::string tmp = temp_name_for(target);
  errno = 0;
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw Error(ErrorKind::Runtime,
                    path + ": cannot create " + tmp + ": " + std::strerror(errno));
      write(out);
      out.flush();
      const int flush_error = errno;
      out.close();
      if (!out) {
        throw Error(ErrorKind::Runtime, path + ": write failed (disk full?): " +
                                            std::strerror(flush_error != 0 ? flush_error : errno));
      }
    }
    fsync_path(tmp, O_RDONLY);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw Error(ErrorKind::Runtime,
                  path + ": cannot rename temporary file into place: " + std::strerror(errno));
    }
    const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
    fsync_path(dir, O_RDONLY | O_DIRECTORY);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), bytes.size()); });
}

std::string expand_path(const std::string& path, const std::string& what) {
  std::string out;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '~' && (path.size() == 1 || path[1] == '/')) {
    const char* home = std::getenv("HOME");
    if (home == nullptr) {
      throw Error(ErrorKind::Config, what + ": '" + path + "' starts with ~ but HOME is not set");
    }
    out = home;
    i = 1;
  }
  while (i < path.size()) {
    if (path[i] == '$' && i + 1 < path.size() && path[i + 1] == '{') {
      const std::size_t close = path.find('}', i + 2);
      if (close == std::string::npos) {
        throw Error(ErrorKind::Config, what + ": '" + path + "': unterminated ${ at column " +
                                           std::to_string(i + 1));
      }
      std::string inner = path.substr(i + 2, close - i - 2);
      std::string fallback;
      bool has_fallback = false;
      if (const std::size_t dash = inner.find(":-"); dash != std::string::npos) {
        fallback = inner.substr(dash + 2);
        inner = inner.substr(0, dash);
        has_fallback = true;
      }
      const char* value = std::getenv(inner.c_str());
      if (value != nullptr && *value != '\0') {
        out += value;
      } else if (has_fallback) {
        out += expand_path(fallback, what);
      } else {
        throw Error(ErrorKind::Config, what + ": '" + path + "' uses ${" + inner +
                                           "}, which is not set in the environment");
      }
      i = close + 1;
    } else {
      out += path[i++];
    }
  }
  return out;
}

}  // namespace pft
